"""The beam search (_search) finds the very paths and scores of the plain search it replaced.

``_reference_search`` is the search as it was: every path spelt out as it is extended. The search
now keeps back-pointers and spells out only the paths that stay in a beam; the scores are added
in the same order, so the paths, their scores and their order (ties included) must be the same.
Plans come from drawn strings, probabilities from a seeded generator: no network is needed.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from recognition.decoding import (
    BEAM,
    StringPlan,
    _edges,
    _search,
    _single_digit,
    _Step,
    _text,
    _two_digit_logp,
    plan_string,
)


def _reference_search(
    plan: StringPlan, outgoing: dict, two_digits: dict, digits: str | None = None
) -> list[tuple[float, tuple[_Step, ...]]]:
    n = len(plan.segmentation.atoms)
    beams: list[list[tuple[float, tuple[_Step, ...]]]] = [[] for _ in range(n + 1)]
    beams[0] = [(0.0, ())]
    for position in range(n):
        if not beams[position]:
            continue
        beams[position].sort(key=lambda item: -item[0])
        del beams[position][BEAM:]
        for stop, choice, score in outgoing.get(position) or [(position + 1, (), 0.0)]:
            digit = two_digits and _single_digit(choice)
            for total, steps in beams[position]:
                if digit and steps and _single_digit(steps[-1:]):
                    total += two_digits.get((plan.groups[steps[-1].index][0], stop), 0.0)
                path = (*steps, *choice)
                if digits is not None and choice and not digits.startswith(_text(plan, path)):
                    continue
                beams[stop].append((total + score, path))
    final = beams[n] if digits is None else [item for item in beams[n] if _text(plan, item[1]) == digits]
    return sorted(final, key=lambda item: -item[0])[:BEAM]


def _string(rng: np.random.Generator) -> np.ndarray:
    """A binary string (ink = 255): digits drawn touching or apart, now and then a point or comma between."""
    ink = np.zeros((90, 420), np.uint8)
    x = 10
    for _ in range(int(rng.integers(3, 7))):
        cv2.putText(ink, str(rng.integers(0, 10)), (x, 75), cv2.FONT_HERSHEY_SIMPLEX, 2.2, 255, int(rng.integers(3, 8)))
        x += int(rng.integers(38, 60))
        if rng.random() < 0.2:
            cv2.circle(ink, (x, 72), 3, 255, -1)
            x += 10
    return ink


@pytest.mark.parametrize("seed", range(6))
def test_search_finds_the_paths_and_scores_of_the_plain_search(seed: int) -> None:
    rng = np.random.default_rng(seed)
    for _ in range(5):
        plan = plan_string(_string(rng), 4, pairs=True, triples=True)
        sharp = rng.uniform(0.05, 1.0)  # from near-ties to confident rows

        coarse = rng.random() < 0.5  # probabilities in quarters: many exact ties, whose order must hold too

        def rows(count: int, width: int, sharp: float = sharp, coarse: bool = coarse) -> np.ndarray:
            p = rng.dirichlet(np.full(width, sharp), size=count)
            return (np.round(p * 4) / 4 if coarse else p).astype(np.float32)

        p = rows(len(plan.groups), 11)
        pairs = np.concatenate([rng.random((len(plan.pair_groups), 1)), rows(len(plan.pair_groups), 20)], axis=1)
        triples = np.concatenate([rng.random((len(plan.triple_groups), 1)), rows(len(plan.triple_groups), 30)], axis=1)
        pairs, triples = pairs.astype(np.float32), triples.astype(np.float32)
        outgoing = _edges(plan, p, pairs, triples)
        two_digits = _two_digit_logp(plan, pairs)
        found = _search(plan, outgoing, two_digits)
        assert found == _reference_search(plan, outgoing, two_digits)
        assert len(found) > 1
        # Imposed readings: the best path's own, and its runner-up's.
        for _, steps in found[:2]:
            wanted = _text(plan, steps)
            assert _search(plan, outgoing, two_digits, wanted) == _reference_search(plan, outgoing, two_digits, wanted)
