"""Comb cell candidates: rule remnants along cell borders, digits reaching over a wall."""

from __future__ import annotations

import numpy as np
import pytest

from recognition.combs import _strip_rims, _whole_pieces, decode_comb, plan_comb
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


class _SaysNotADigit:
    """A stand-in classifier that calls everything not-a-digit, with 3 as the likeliest digit."""

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        p = np.full((len(images), 11), 0.01, np.float32)
        p[:, 3] = 0.1
        p[:, 10] = 1.0 - p[:, :10].sum(axis=1)
        return p


def test_digit_tall_ink_in_a_cell_is_read_as_a_digit_for_review_and_small_ink_as_a_mark() -> None:
    ink = np.zeros((40, 80), np.uint8)
    ink[8:32, 14:26] = 255  # digit-tall ink in the first cell
    ink[26:30, 58:62] = 255  # a point in the second
    field = Field("f", "comb", Box(0, 0, 80, 40), ink, cells=(Box(2, 5, 36, 30), Box(42, 5, 36, 30)))
    plan = plan_comb(field)
    result = decode_comb(field, plan, _SaysNotADigit().probabilities(plan.images), 0.9)
    assert result.text == "3" and result.cells == (3, None)
    assert result.needs_review and result.digits[0].confidence == pytest.approx(0.1)
    assert [s.kind for s in result.separators] == ["point"]
