"""Comb cell candidates: rule remnants along cell borders, digits reaching over a wall."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from recognition.classifier import Classifier
from recognition.combs import (
    ALONG_RULE_TRUST,
    CombPlan,
    _best_candidates,
    _fused_with_pairs,
    _pieces,
    _strip_rims,
    _whole_pieces,
    decode_comb,
    judged_comb,
    plan_comb,
    worth_judging,
)
from recognition.ctc import ALPHABET, BLANK
from recognition.decoding import digit_result
from recognition.model import REJECT
from recognition.normalise import normalise_mask
from recognition.pairs import PAIR
from recognition.reader import ReadParams, read_fields
from recognition.results import FieldResult
from segmentation.elements import Box, Field


def test_strip_rims_drops_a_bar_along_a_border_but_keeps_a_crossing_stroke() -> None:
    owned = np.zeros((40, 40), bool)
    cell = Box(5, 5, 30, 30)
    owned[3:8, 10:30] = True  # a bar lying on the top border
    owned[0:20, 20:22] = True  # a stroke crossing the top border
    stripped = _strip_rims(owned, cell, 3)
    assert not stripped[3:8, 12:18].any()
    assert stripped[0:20, 20:22].all()


def test_a_piece_cut_between_cells_is_offered_whole_to_its_main_cell_and_joins_them() -> None:
    ink = np.zeros((30, 90), np.uint8)
    ink[5:25, 8:40] = 255  # one piece filling the first cell and most of the second
    ink[5:25, 70:80] = 255  # a piece of its own in the third
    owners = np.zeros(ink.shape, np.int32)
    owners[:, :30] = 1
    owners[:, 30:60] = 2
    owners[:, 60:] = 3
    owners[ink == 0] = 0
    whole, joined = _whole_pieces(_pieces(ink), owners)
    assert list(whole) == [0]
    assert np.array_equal(whole[0], (ink > 0) & (np.arange(90) < 60))
    assert joined == {0}  # cells 0 and 1 are joined, 1 and 2 are not


def test_plan_comb_adds_candidates_only_for_cells_that_change() -> None:
    ink = np.zeros((40, 80), np.uint8)
    ink[12:30, 18:22] = 255  # a "1" well inside the first cell
    ink[12:30, 58:62] = 255  # another inside the second
    ink[5:7, 45:75] = 255  # plus a bar along the second cell's top border
    field = Field("f", "comb", Box(0, 0, 80, 40), ink, cells=(Box(2, 5, 36, 30), Box(42, 5, 36, 30)))
    plan = plan_comb(field)
    assert plan.cell_index == (0, 1)
    assert plan.entry == (0, 1, 1)
    assert plan.images.shape == (3, 28, 28)


def test_a_cell_is_also_offered_its_own_ink_without_a_neighbours_slice() -> None:
    """A neighbour's oversize piece cut at the wall leaves a slice in the cell: a candidate leaves it out."""
    ink = np.zeros((40, 80), np.uint8)
    ink[8:32, 4:54] = 255  # one wide piece: all of the first cell and 14 px of the second
    ink[8:32, 62:66] = 255  # the second cell's own "1", apart from it
    field = Field("f", "comb", Box(0, 0, 80, 40), ink, cells=(Box(2, 5, 36, 30), Box(42, 5, 36, 30)))
    plan = plan_comb(field)
    assert plan.cell_index == (0, 1)
    own = normalise_mask(ink[8:32, 62:66])
    second = [image for image, entry in zip(plan.images, plan.entry, strict=True) if entry == 1]
    assert any(np.allclose(image, own) for image in second)
    # The first cell: its slice of the piece and the whole piece; none of its ink is its own alone.
    assert plan.entry == (0, 0, 1, 1)


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
    assert result.review == ("low_confidence",)
    assert [s.kind for s in result.separators] == ["point"]


TWO_CELLS = (Box(2, 5, 36, 30), Box(42, 5, 36, 30))


def joined_cells() -> Field:
    """Two digit-tall strokes, one per cell, joined by a bar across the (removed) wall."""
    ink = np.zeros((40, 80), np.uint8)
    ink[8:32, 24:28] = 255
    ink[8:32, 52:56] = 255
    ink[18:21, 24:56] = 255
    return Field("f", "comb", Box(0, 0, 80, 40), ink, cells=TWO_CELLS)


class _Reads:
    """A stand-in classifier reading every candidate as ``digit`` with probability ``p``."""

    def __init__(self, digit: int, p: float) -> None:
        self.digit, self.p = digit, p

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        out = np.full((len(images), 11), (1.0 - self.p) / 10, np.float32)
        out[:, self.digit] = self.p
        return out


def _pair_p(left: int, right: int, p_pair: float, p_digit: float = 0.999) -> np.ndarray:
    p = np.full((1, 21), (1.0 - p_digit) / 9, np.float32)
    p[:, PAIR] = p_pair
    p[:, 1 + left] = p[:, 11 + right] = p_digit
    return p


def test_ink_too_small_for_a_digit_is_not_read_as_one_however_sure_the_classifier() -> None:
    """The tip of a neighbour's digit in an empty cell: below MIN_DIGIT_SHARE of the cell height."""
    ink = np.zeros((40, 80), np.uint8)
    ink[8:32, 14:26] = 255  # a digit in the first cell
    ink[6:15, 44:53] = 255  # a 9x9 px tip at the top of the second, 30 px tall
    field = Field("f", "comb", Box(0, 0, 80, 40), ink, cells=TWO_CELLS)
    plan = plan_comb(field)
    result = decode_comb(field, plan, _Reads(4, 0.96).probabilities(plan.images), 0.9)
    assert result.cells == (4, None) and result.text == "4"
    assert result.needs_review  # the tip is ink that is no digit nor known mark
    assert result.review == ("unknown_ink",)
    ink[6:18, 44:56] = 255  # 12 px: 0.4 of the cell, a (small) digit
    plan = plan_comb(Field("f", "comb", Box(0, 0, 80, 40), ink, cells=TWO_CELLS))
    assert decode_comb(field, plan, _Reads(4, 0.96).probabilities(plan.images), 0.9).cells == (4, 4)


def test_cells_joined_across_their_wall_are_a_pair_candidate_and_apart_they_are_not() -> None:
    plan = plan_comb(joined_cells(), pairs=True)
    assert plan.pair_left == (0,)
    assert plan.pair_images.shape == (1, 28, 56)
    assert plan_comb(joined_cells()).pair_left == ()  # pairs off
    apart = joined_cells()
    apart.ink[18:21, 29:51] = 0
    assert plan_comb(apart, pairs=True).pair_left == ()


def test_a_pair_reading_replaces_the_cells_read_alone_when_its_digits_are_surer() -> None:
    field = joined_cells()
    plan = plan_comb(field, pairs=True)
    unsure = _Reads(1, 0.5).probabilities(plan.images)
    pair = decode_comb(field, plan, unsure, 0.9, _pair_p(4, 7, 0.99))
    assert pair.text == "47" and pair.cells == (4, 7)
    assert pair.digits[0].confidence == pytest.approx(0.99 * 0.999, rel=1e-3)
    assert pair.digits[1].box.x >= 40  # each digit keeps its own cell's box
    assert decode_comb(field, plan, unsure, 0.9).text == "11"  # no pair network
    sure = _Reads(1, 0.99).probabilities(plan.images)
    assert decode_comb(field, plan, sure, 0.9, _pair_p(4, 7, 0.99, p_digit=0.6)).text == "11"


def test_cells_of_a_likely_pair_are_read_from_their_own_ink_and_the_pair_networks_reading_together() -> None:
    """Three cells joined by ink. The first cell's own ink, cut at the wall, reads 8 (0.9); the pair
    network, reading the first two cells whole, is sure of "62" (a 6 with its neighbour's oversize 2
    run through it). Read apart, the best path takes the first cell alone (its 8) and the other two
    as a pair; read from both views, the first cell is a 6."""
    ink = np.zeros((40, 120), np.uint8)
    for x in (24, 64, 104):
        ink[8:32, x : x + 4] = 255
    ink[18:21, 24:108] = 255
    cells = (*TWO_CELLS, Box(82, 5, 36, 30))
    field = Field("f", "comb", Box(0, 0, 120, 40), ink, cells=cells)
    plan = plan_comb(field, pairs=True)
    assert plan.pair_left == (0, 1)
    cut = np.zeros((len(plan.images), 11), np.float32)
    for row, entry in enumerate(plan.entry):
        digit, p = ((8, 0.9), (2, 0.999), (1, 0.6))[entry]
        cut[row] = (1.0 - p) / 10
        cut[row, digit] = p
    pairs = np.concatenate([_pair_p(6, 2, 0.999, 0.98), _pair_p(2, 1, 0.8, 0.99)])
    result = decode_comb(field, plan, cut, 0.9, pairs)
    assert result.text == "621"
    assert 0.5 < result.digits[0].confidence < 0.98  # between its two views
    # Ink the pair network does not take for two digits leaves the cells' own readings as they are.
    singles = _best_candidates(plan, cut)
    unsure = pairs.copy()
    unsure[:, PAIR] = 0.45
    assert np.array_equal(_fused_with_pairs(plan, singles, unsure), singles)
    # A cell its own ink reads as no digit (a mark, a neighbour's spill) stays one beside a pair
    # network only fairly sure of two digits: its doubt speaks for not-a-digit too.
    marked = singles.copy()
    marked[2] = 0.002
    marked[2, REJECT] = 0.98
    doubtful = pairs.copy()
    doubtful[1, PAIR] = 0.6
    assert int(np.argmax(_fused_with_pairs(plan, marked, doubtful)[2])) == REJECT


def spilled_digit() -> Field:
    """A digit in the first cell whose stroke reaches over the wall into the otherwise empty second cell."""
    ink = np.zeros((40, 80), np.uint8)
    ink[8:32, 14:30] = 255
    ink[8:24, 30:56] = 255  # the spill: over a third of the second cell's width
    return Field("f", "comb", Box(0, 0, 80, 40), ink, cells=TWO_CELLS)


def test_a_digit_spilling_into_an_empty_cell_and_touching_its_other_neighbour_is_read_with_its_spill_alone() -> None:
    """An oversize digit in the middle cell reaches over the left wall into an empty cell and
    touches the digit on its right: one piece over three cells. Its spill is read as the middle
    cell's ink with the left cell's, without the right cell's digit."""
    ink = np.zeros((40, 120), np.uint8)
    ink[8:32, 60:64] = 255  # the middle digit
    ink[8:12, 16:64] = 255  # its bar, reaching far into the empty first cell
    ink[8:32, 100:104] = 255  # the last cell's digit
    ink[28:31, 62:102] = 255  # touching it
    cells = (*TWO_CELLS, Box(82, 5, 36, 30))
    field = Field("f", "comb", Box(0, 0, 120, 40), ink, cells=cells)
    plan = plan_comb(field, pairs=True)
    assert plan.cell_index == (0, 1, 2)
    covered = {}
    for row, cell in plan.absorbs:
        covered.setdefault(cell, []).append(row)
    assert sorted(covered) == [0, 2] and all(len(rows) == 2 for rows in covered.values())
    spill_alone = max(covered[0])  # the new row comes after the whole piece's
    expected = np.zeros_like(ink)
    expected[:, :80] = ink[:, :80]  # the first two cells' ink (the wall between cells 1 and 2 is at x = 80)
    rows, cols = np.flatnonzero(expected.any(axis=1)), np.flatnonzero(expected.any(axis=0))
    tight = expected[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    assert np.allclose(plan.images[spill_alone], normalise_mask(tight))
    # Read: the whole piece is no digit, the middle digit with its spill alone is a sure 5.
    reads = np.full((len(plan.images), 11), 0.01, np.float32)
    reads[:, REJECT] = 0.91
    reads[spill_alone] = 0.001
    reads[spill_alone, 5] = 0.99
    for row, entry in enumerate(plan.entry):
        if entry == 2 and row not in {r for r, _ in plan.absorbs}:
            reads[row] = 0.001
            reads[row, 4] = 0.99
    result = decode_comb(field, plan, reads, 0.9, np.concatenate([_pair_p(5, 5, 0.01), _pair_p(5, 4, 0.99)]))
    assert result.cells == (None, 5, 4)


def test_ink_that_is_wholly_a_neighbours_spilled_digit_leaves_its_cell_empty() -> None:
    field = spilled_digit()
    plan = plan_comb(field, pairs=True)
    assert plan.cell_index == (0, 1)  # the spill is cut at the wall like two touching digits...
    whole = [row for row, covered in plan.absorbs]
    assert [covered for _, covered in plan.absorbs] == [1]  # ...and the whole piece holds it all
    singles = _Reads(1, 0.8).probabilities(plan.images)
    singles[whole[0]] = _Reads(5, 0.99).probabilities(plan.images[:1])[0]
    # The pair network says the joined ink is not two digits: one digit, the spill is part of it.
    result = decode_comb(field, plan, singles, 0.9, _pair_p(1, 1, 0.02))
    assert result.text == "5" and result.cells == (5, None)
    assert result.separators == ()
    assert result.digits[0].box == Box(14, 8, 42, 24)  # the digit with its spill
    # Sure of two digits, it reads the spill as the second cell's digit.
    assert decode_comb(field, plan, singles, 0.9, _pair_p(3, 1, 0.99)).cells == (3, 1)


def test_remnants_of_the_top_rule_above_an_empty_cell_are_no_ones_ink() -> None:
    ink = np.zeros((40, 80), np.uint8)
    ink[10:30, 18:22] = 255  # a "1" in the first cell
    ink[1:4, 46:74] = 255  # pieces of the rule left above the second cell
    ink[36:39, 46:60] = 255  # and below it
    field = Field("f", "comb", Box(0, 0, 80, 40), ink, cells=TWO_CELLS)
    assert plan_comb(field).cell_index == (0,)


def comb_page_with_a_seven_on_the_top_rule() -> np.ndarray:
    """A 150 dpi page with a comb of four cells: a 7 whose bar lies on the top rule, a 1 touching it, a 3, a 4."""
    import cv2

    page = np.full((700, 1240), 235, np.uint8)
    x0, y0, cw, ch = 200, 300, 56, 70
    cv2.rectangle(page, (x0, y0), (x0 + 4 * cw, y0 + ch), 40, 2)
    for i in range(1, 4):
        cv2.line(page, (x0 + i * cw, y0), (x0 + i * cw, y0 + ch), 40, 2)
    cv2.line(page, (x0 + 12, y0 + 1), (x0 + 42, y0 + 1), 30, 4)  # the 7's bar, 4 px thick on the 2 px rule
    cv2.line(page, (x0 + 42, y0 + 1), (x0 + 24, y0 + 55), 30, 4)
    cv2.line(page, (x0 + cw + 28, y0 + 2), (x0 + cw + 24, y0 + 55), 30, 4)  # a 1 reaching the rule
    cv2.putText(page, "3", (x0 + 2 * cw + 12, y0 + 52), cv2.FONT_HERSHEY_SIMPLEX, 1.4, 30, 4)
    cv2.putText(page, "4", (x0 + 3 * cw + 12, y0 + 52), cv2.FONT_HERSHEY_SIMPLEX, 1.4, 30, 4)
    return page


def test_a_stroke_along_the_top_rule_is_put_back_and_a_digit_reaching_the_rule_gains_nothing(
    classifier: Classifier,
) -> None:
    from dataclasses import replace

    from recognition.combs import _along_rules
    from recognition.reader import read_fields
    from segmentation.fields import find_fields, prepare_page

    prepared = prepare_page(comb_page_with_a_seven_on_the_top_rule())
    (comb,) = [f for f in find_fields(prepared) if f.kind == "comb"]
    assert comb.rules is not None and comb.rules.shape == comb.ink.shape
    along = _along_rules(comb)
    cells = [c.shifted(-comb.box.x, -comb.box.y) for c in comb.cells]
    # Rule removal took the bar with the rule; the band is thicker there, over the first cell only.
    bar_columns = np.flatnonzero(along[0].any(axis=0))
    assert bar_columns.size >= 20 and cells[0].x <= bar_columns[0] and bar_columns[-1] <= cells[0].x2
    assert not along[1].any() and not along[2].any() and not along[3].any()
    assert [plan_comb(comb).entry[row] for row in plan_comb(comb).along] == [0]  # one such candidate, the 7's
    (read,) = read_fields(classifier, [comb])
    assert read.cells == (7, 1, 3, 4)
    # Without the rule mask the 7 is a 1, as before.
    (blind,) = read_fields(classifier, [replace(comb, rules=None)])
    assert blind.cells == (1, 1, 3, 4)


def test_a_cell_is_read_from_its_ink_with_the_rule_stroke_put_back_when_that_reads_surely() -> None:
    """A 7 whose bar went with the rule is a sure 1 alone and a sure 7 with the bar put back: the 7.
    The same candidate read less surely than ALONG_RULE_TRUST leaves the surest reading."""

    def reading(digit: int, p: float) -> np.ndarray:
        row = np.full(11, (1.0 - p) / 10, np.float32)
        row[digit] = p
        return row

    images = np.zeros((3, 28, 28), np.float32)
    plan = CombPlan((0,), (Box(0, 0, 20, 30),), (np.zeros((30, 20), np.uint8),), images, (0, 0, 0), along=(2,))
    sure_one = [reading(1, 0.9999), reading(1, 0.998)]
    assert _best_candidates(plan, np.stack([*sure_one, reading(7, 0.999)]))[0].argmax() == 7
    assert _best_candidates(plan, np.stack([*sure_one, reading(7, ALONG_RULE_TRUST - 0.01)]))[0].argmax() == 1
    plain = CombPlan((0,), plan.boxes, plan.masks, images, (0, 0, 0))
    assert _best_candidates(plain, np.stack([*sure_one, reading(7, 0.999)]))[0].argmax() == 1


def _line_reading(text: str, sure: float = 0.98) -> np.ndarray:
    """(T, 14) log-probabilities of a line network reading ``text`` surely: each label then a blank."""
    steps = []
    for label in [ALPHABET.index(c) + 1 for c in text]:
        steps += [label, BLANK]
    rows = np.full((len(steps), len(ALPHABET) + 1), (1 - sure) / len(ALPHABET), np.float32)
    rows[np.arange(len(steps)), steps] = sure
    return np.log(rows)


def _comb_read(*rows: dict[int, float], second_x: int = 60) -> FieldResult:
    """A comb of three cells, the middle one empty, its digits (20 px wide, the second at
    ``second_x``) read with these probabilities; what they leave is not-a-digit."""
    digits = []
    for x, spread in zip((0, second_x), rows, strict=True):
        p = np.full(11, 1e-6, np.float32)
        for digit, value in spread.items():
            p[digit] = value
        digits.append(digit_result(int(np.argmax(p[:10])), p, Box(x, 0, 20, 30)))
    return FieldResult(
        "field-1",
        Box(0, 0, 90, 30),
        "".join(str(d.digit) for d in digits),
        0.5,
        False,
        tuple(digits),
        kind="comb",
        cells=(digits[0].digit, None, digits[1].digit),
    )


def test_the_line_network_changes_a_doubtful_cell_to_the_alternative_it_reads() -> None:
    comb = _comb_read({3: 0.99}, {7: 0.55, 1: 0.45})
    judged = judged_comb(comb, _line_reading("31"))
    assert judged.text == "31" and judged.cells == (3, None, 1)
    assert judged.digits[1].digit == 1 and judged.digits[1].confidence == pytest.approx(0.45)
    assert judged.digits[0] == comb.digits[0]
    assert judged.needs_review  # the cells and the row disagreed
    assert judged.review == (*comb.review, "line_network")


def test_a_comb_the_line_network_agrees_with_or_cannot_read_is_left_as_read() -> None:
    comb = _comb_read({3: 0.99}, {7: 0.55, 1: 0.45})
    assert judged_comb(comb, _line_reading("37")) is comb
    assert judged_comb(comb, None) is comb


def test_a_sure_cell_is_not_overruled_by_a_doubtful_line_reading() -> None:
    comb = _comb_read({3: 0.99}, {7: 0.999, 1: 1e-3})
    assert judged_comb(comb, _line_reading("31", sure=0.6)).text == "37"


def test_the_line_network_drops_a_digit_cut_from_its_neighbours_ink_as_its_spill() -> None:
    # A "1" cut at the wall from the left edge of an oversize 0: its box abuts the 0's.
    spill = _comb_read({1: 0.6}, {0: 0.99}, second_x=20)
    judged = judged_comb(spill, _line_reading("0"))
    assert judged.text == "0" and judged.cells == (None, None, 0) and judged.needs_review
    assert "line_network" in judged.review
    assert judged.digits == spill.digits[1:]
    kept = judged_comb(spill, _line_reading("10"))
    assert (kept.text, kept.digits, kept.cells) == (spill.text, spill.digits, spill.cells)
    assert judged_comb(spill, _line_reading("10"), review_margin=None) is spill


def test_a_comb_the_line_network_nearly_reads_otherwise_is_kept_and_flagged() -> None:
    comb = _comb_read({3: 0.99}, {7: 0.55, 1: 0.45})
    # Reading "37" but nearly as surely "31": the cells' reading stands, with a doubt.
    doubt = _line_reading("37")
    doubt[2, ALPHABET.index("1") + 1] = doubt[2, ALPHABET.index("7") + 1] - 0.5
    judged = judged_comb(comb, doubt)
    assert judged.text == "37" and judged.digits == comb.digits and judged.cells == comb.cells
    assert judged.needs_review and judged.review == ("line_network_doubt",)
    assert judged_comb(comb, doubt, review_margin=0.1) is comb
    assert judged_comb(comb, doubt, review_margin=None) is comb


def test_a_digit_apart_from_its_neighbours_or_sure_of_itself_is_not_dropped() -> None:
    apart = _comb_read({1: 0.6}, {0: 0.99}, second_x=22)  # 2 px of gap: ink of its own
    assert judged_comb(apart, _line_reading("0")).text == "10"
    sure = _comb_read({1: 0.99995}, {0: 0.99}, second_x=20)  # p(not a digit) under COMB_ALTERNATIVE_FLOOR
    assert judged_comb(sure, _line_reading("0")).text == "10"
    # A digit whose probabilities are not known (a result stored without them) is no spill.
    unknown = _comb_read({1: 0.6}, {0: 0.99}, second_x=20)
    unknown = replace(unknown, digits=tuple(replace(d, probabilities=()) for d in unknown.digits))
    assert judged_comb(unknown, _line_reading("0")).text == "10"


def test_only_a_comb_with_a_doubtful_digit_is_worth_judging() -> None:
    assert worth_judging(_comb_read({3: 0.99}, {7: 0.55, 1: 0.45}))
    assert not worth_judging(_comb_read({3: 0.999}, {7: 0.995}))


class _ReadsWithLines(_Reads):
    """``_Reads`` with a line network sure the row reads ``text``; it counts its calls."""

    def __init__(self, digit: int, p: float, text: str) -> None:
        super().__init__(digit, p)
        self.lines = self
        self.text, self.calls = text, 0

    def log_probs(self, ink: np.ndarray) -> np.ndarray:
        self.calls += 1
        return _line_reading(self.text)


def test_the_reader_offers_the_line_network_only_combs_with_a_doubtful_digit() -> None:
    ink = np.zeros((40, 80), np.uint8)
    ink[8:32, 14:26] = 255  # a digit in the first cell
    field = Field("f", "comb", Box(0, 0, 80, 40), ink, cells=TWO_CELLS)
    doubtful = _ReadsWithLines(4, 0.6, "0")  # 0 is the runner-up: the others share 0.4 evenly
    (result,) = read_fields(doubtful, [field])
    assert doubtful.calls == 1 and result.text == "0" and result.cells == (0, None) and result.needs_review
    sure = _ReadsWithLines(4, 0.999, "0")
    (result,) = read_fields(sure, [field])
    assert sure.calls == 0 and result.text == "4"
    (result,) = read_fields(doubtful, [field], ReadParams(lines=False))
    assert doubtful.calls == 1 and result.text == "4"
