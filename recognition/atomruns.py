"""Runs of consecutive atoms of one segmented string: their extent, their gaps and their candidates.

Planning a string (:func:`recognition.decoding.plan_string`) looks at the same runs of atoms up
to three times (as digit candidates, as pair runs and as triple runs) and composes the same
candidates for the digit and the pair networks. :class:`AtomRuns` works each out once per string
and remembers it; the values are those of computing them afresh (integers, and the candidates
:meth:`segmentation.strings.StringSegmentation.compose` makes, shared: nothing writes to them).
"""

from __future__ import annotations

from segmentation.elements import DigitCandidate
from segmentation.strings import StringSegmentation


class AtomRuns:
    """The runs of consecutive atoms of ``segmentation``: ``start..stop-1`` for ``start < stop``."""

    def __init__(self, segmentation: StringSegmentation) -> None:
        self.segmentation = segmentation
        self._x = [a.box.x for a in segmentation.atoms]
        self._x2 = [a.box.x2 for a in segmentation.atoms]
        self._gaps: dict[tuple[int, int], tuple[int, int]] = {}
        self._candidates: dict[tuple[int, int], DigitCandidate] = {}

    def span(self, start: int, stop: int) -> int:
        """Width in px of the columns from the first to the last ink of atoms ``start..stop-1``."""
        return max(self._x2[start:stop]) - min(self._x[start:stop])

    def gaps(self, start: int, stop: int) -> tuple[int, int]:
        """The widest and the total empty column run inside the x-span of atoms ``start..stop-1``."""
        found = self._gaps.get((start, stop))
        if found is None:
            spans = sorted(zip(self._x[start:stop], self._x2[start:stop], strict=True))
            widest, total, reach = 0, 0, spans[0][1]
            for x, x2 in spans[1:]:
                gap = max(0, x - reach)
                widest, total = max(widest, gap), total + gap
                reach = max(reach, x2)
            found = self._gaps[start, stop] = (widest, total)
        return found

    def candidate(self, start: int, stop: int) -> DigitCandidate:
        """The candidate made of atoms ``start..stop-1`` (:meth:`StringSegmentation.compose`)."""
        found = self._candidates.get((start, stop))
        if found is None:
            found = self._candidates[start, stop] = self.segmentation.compose(start, stop)
        return found
