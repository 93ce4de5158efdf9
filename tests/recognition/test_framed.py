"""The benchmark's printed box around a line (``recognition.synthetic.framed``), on a line drawn in code."""

from __future__ import annotations

import numpy as np
import pytest

from recognition.synthetic import FRAMES, framed


def _line() -> np.ndarray:
    gray = np.full((120, 400), 235, np.uint8)
    gray[30:90, 40:360] = 30  # the writing's extent
    return gray


def _dark(gray: np.ndarray) -> np.ndarray:
    return gray < 160


@pytest.mark.parametrize("kind", FRAMES)
def test_framed_cuts_the_image_out_of_a_box_as_named(kind: str) -> None:
    dark = _dark(framed(_line(), np.random.default_rng(3), kind))
    rows_across = dark.mean(axis=1) > 0.95  # rows dark from side to side: the writing or a rule
    edge_rows = rows_across[0], rows_across[-1]
    sides_run_off = dark[0].any(), dark[-1].any()  # the sides leave through the top or the bottom
    if kind == "box":
        assert edge_rows == (False, False) and sides_run_off == (False, False)
    elif kind == "tight":
        assert edge_rows == (True, True)
    elif kind == "cut":
        assert edge_rows == (False, False) and sides_run_off == (True, True)
        columns = np.flatnonzero(dark[0])
        assert dark[:, columns[0]].all() and dark[:, columns[-1]].all()  # from edge to edge
    else:
        assert edge_rows == (False, False) and sides_run_off == (False, True)


def test_framed_unknown_kind_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown frame"):
        framed(_line(), np.random.default_rng(0), "oval")
