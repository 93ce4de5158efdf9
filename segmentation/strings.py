"""Over-segment a digit string into atoms; the reader groups consecutive atoms into digits.

Interface stub (issue #3): signatures are fixed; bodies come with the page segmentation work.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from segmentation.elements import Box, DigitCandidate, GrayImage


@dataclass(frozen=True, slots=True)
class StringParams:
    """Tuning of string over-segmentation."""

    max_cuts_per_component: int = 3


@dataclass(frozen=True, slots=True)
class Segment:
    """An atom: a connected piece of ink or a slice of a touching group, in field coordinates (ink = 255)."""

    box: Box
    mask: GrayImage = field(repr=False)


@dataclass(frozen=True, slots=True)
class StringSegmentation:
    """The atoms of one string, left to right; a digit is the union of 1..k consecutive atoms."""

    ink: GrayImage = field(repr=False)
    atoms: tuple[Segment, ...]

    def compose(self, start: int, stop: int) -> DigitCandidate:
        """The candidate made of atoms ``start .. stop-1``: their union box and only their ink."""
        raise NotImplementedError


def segment_string(ink: GrayImage, params: StringParams = StringParams()) -> StringSegmentation:
    """Atoms of a binary string image (ink = 255): components, merged broken strokes, cuts of touching digits."""
    raise NotImplementedError
