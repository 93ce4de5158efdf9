"""AtomRuns gives each run of atoms the extent, gaps and candidate worked out afresh."""

from __future__ import annotations

import cv2
import numpy as np

from recognition.atomruns import AtomRuns
from segmentation.strings import segment_string


def _string(seed: int) -> np.ndarray:
    """Digits drawn touching, overlapping and apart, a broken stroke and a point: atoms of every kind."""
    rng = np.random.default_rng(seed)
    ink = np.zeros((90, 460), np.uint8)
    x = 10
    for _ in range(6):
        cv2.putText(ink, str(rng.integers(0, 10)), (x, 75), cv2.FONT_HERSHEY_SIMPLEX, 2.2, 255, int(rng.integers(3, 8)))
        x += int(rng.integers(34, 70))
    cv2.circle(ink, (x, 72), 3, 255, -1)
    ink[:, int(rng.integers(60, 200))] = 0  # a stroke broken by a blank column
    return ink


def test_runs_are_what_the_segmentation_composes() -> None:
    for seed in range(8):
        seg = segment_string(_string(seed))
        runs = AtomRuns(seg)
        assert len(seg.atoms) >= 5
        for start in range(len(seg.atoms)):
            for stop in range(start + 1, len(seg.atoms) + 1):
                atoms = seg.atoms[start:stop]
                assert runs.span(start, stop) == max(a.box.x2 for a in atoms) - min(a.box.x for a in atoms)
                spans = sorted((a.box.x, a.box.x2) for a in atoms)
                widest, total, reach = 0, 0, spans[0][1]
                for x, x2 in spans[1:]:
                    widest, total, reach = max(widest, x - reach), total + max(0, x - reach), max(reach, x2)
                assert runs.gaps(start, stop) == (widest, total)
                for _ in range(2):  # remembered the second time
                    candidate, composed = runs.candidate(start, stop), seg.compose(start, stop)
                    assert candidate.box == composed.box
                    assert candidate.mask.dtype == composed.mask.dtype
                    assert np.array_equal(candidate.mask, composed.mask)
