"""Comb cell candidates: rule remnants along cell borders, digits reaching over a wall."""

from __future__ import annotations

import numpy as np

from recognition.combs import _strip_rims, _whole_pieces, plan_comb
from segmentation.elements import Box, Field


def test_strip_rims_drops_a_bar_along_a_border_but_keeps_a_crossing_stroke() -> None:
    owned = np.zeros((40, 40), bool)
    cell = Box(5, 5, 30, 30)
    owned[3:8, 10:30] = True  # a bar lying on the top border
    owned[0:20, 20:22] = True  # a stroke crossing the top border
    stripped = _strip_rims(owned, cell, 3)
    assert not stripped[3:8, 12:18].any()
    assert stripped[0:20, 20:22].all()


def test_a_piece_cut_between_cells_is_offered_whole_to_its_main_cell() -> None:
    ink = np.zeros((30, 60), np.uint8)
    ink[5:25, 8:40] = 255  # one piece filling the first cell and most of the second
    owners = np.zeros(ink.shape, np.int32)
    owners[:, :30] = 1
    owners[:, 30:] = 2
    owners[ink == 0] = 0
    whole = _whole_pieces(ink, owners)
    assert list(whole) == [0]
    assert np.array_equal(whole[0], ink > 0)


def test_plan_comb_adds_candidates_only_for_cells_that_change() -> None:
    ink = np.zeros((40, 80), np.uint8)
    ink[12:30, 18:22] = 255  # a "1" well inside the first cell
    ink[12:30, 58:62] = 255  # another inside the second
    ink[4:6, 45:75] = 255  # plus a bar along the second cell's top border
    field = Field("f", "comb", Box(0, 0, 80, 40), ink, cells=(Box(2, 5, 36, 30), Box(42, 5, 36, 30)))
    plan = plan_comb(field)
    assert plan.cell_index == (0, 1)
    assert plan.entry == (0, 1, 1)
    assert plan.images.shape == (3, 28, 28)
