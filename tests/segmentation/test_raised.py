"""Raised writing at the end of a string (cents written small and high) on strings drawn in code."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from numpy.typing import NDArray

from segmentation.strings import raised_tail

BASE_Y, THICK = 60, 4


def drawn(text: str, *, cents: str = "", underline: str = "", fence: bool = False) -> NDArray[np.uint8]:
    """Binary ink (255) of Hershey digits ``text`` on a baseline, then ``cents`` at half their size with
    their tops at the digits' tops; ``underline`` is "" (none), "apart" or "touching" (under the cents);
    ``fence`` draws a flat stroke at mid-height after the digits instead."""
    canvas = np.zeros((90, 60 + 30 * (len(text) + len(cents))), np.uint8)
    cv2.putText(canvas, text, (8, BASE_Y), cv2.FONT_HERSHEY_SIMPLEX, 1.4, 255, THICK)
    cols = np.flatnonzero(canvas.any(axis=0))
    rows = np.flatnonzero(canvas.any(axis=1))
    x = int(cols[-1]) + 8
    if cents:
        layer = np.zeros_like(canvas)
        cv2.putText(layer, cents, (x, 0), cv2.FONT_HERSHEY_SIMPLEX, 0.7, 255, 3)
        small = np.zeros_like(canvas)
        height = int(rows[-1] - rows[0] + 1)
        size, _ = cv2.getTextSize(cents, cv2.FONT_HERSHEY_SIMPLEX, 0.7, 3)
        cv2.putText(small, cents, (x, int(rows[0]) + size[1]), cv2.FONT_HERSHEY_SIMPLEX, 0.7, 255, 3)
        canvas[small > 127] = 255
        cents_rows = np.flatnonzero(small.any(axis=1))
        cents_cols = np.flatnonzero(small.any(axis=0))
        if underline:
            y = int(cents_rows[-1]) + (2 if underline == "touching" else 6)
            cv2.line(canvas, (int(cents_cols[0]) - 3, y), (int(cents_cols[-1]) + 3, y), 255, 3)
        assert cents_rows[-1] < rows[0] + 0.7 * height
    if fence:
        mid = int(rows[0] + rows[-1]) // 2
        cv2.line(canvas, (x, mid), (x + 40, mid), 255, 4)
    return np.where(canvas > 127, 255, 0).astype(np.uint8)  # putText anti-aliases thick strokes


def test_raised_cents_are_split_from_the_amount() -> None:
    ink = drawn("125", cents="50")
    split = raised_tail(ink)
    assert split is not None
    main, tail = split
    assert np.array_equal(np.maximum(main, tail), ink), "every ink pixel goes to one of the parts"
    assert not (main & tail).any()
    main_cols, tail_cols = np.flatnonzero(main.any(axis=0)), np.flatnonzero(tail.any(axis=0))
    assert tail_cols[0] > main_cols[-1], "the tail is the 50, after the whole of 125"
    assert np.array_equal(tail[:, main_cols[-1] + 1 :], ink[:, main_cols[-1] + 1 :]), "and all of it"


@pytest.mark.parametrize("underline", ["apart", "touching"])
def test_underlined_cents_are_split_and_lose_their_underline(underline: str) -> None:
    ink = drawn("125", cents="50", underline=underline)
    split = raised_tail(ink)
    assert split is not None
    main, tail = split
    main_cols = np.flatnonzero(main.any(axis=0))
    assert main_cols[-1] < np.flatnonzero(tail.any(axis=0))[0]
    # The underline is gone: the tail's lowest rows are the digits' own bottoms, not a long run.
    bottom = tail[np.flatnonzero(tail.any(axis=1))[-1]]
    tail_cols = np.flatnonzero(tail.any(axis=0))
    assert np.count_nonzero(bottom) < 0.6 * (tail_cols[-1] - tail_cols[0] + 1)


@pytest.mark.parametrize("text", ["12550", "7", "40", "4703", "1001", "2121"])
def test_a_string_of_one_height_has_no_raised_tail(text: str) -> None:
    assert raised_tail(drawn(text)) is None


def test_a_fence_after_an_amount_is_no_raised_writing() -> None:
    assert raised_tail(drawn("125", fence=True)) is None


def test_a_detached_flag_over_the_last_digit_is_no_raised_writing() -> None:
    ink = drawn("125")
    cols = np.flatnonzero(ink.any(axis=0))
    rows = np.flatnonzero(ink.any(axis=1))
    ink[int(rows[0]) : int(rows[0]) + 6, int(cols[-1]) - 14 : int(cols[-1]) + 8] = 255  # a flag over the 5
    ink[int(rows[0]) + 6 : int(rows[0]) + 9, int(cols[-1]) - 30 : int(cols[-1]) + 9] = 0  # apart from it
    assert raised_tail(ink) is None


@pytest.mark.parametrize(
    "ink",
    [
        np.zeros((40, 80), np.uint8),
        np.pad(np.full((4, 50), 255, np.uint8), 10),  # a dash alone
        np.pad(np.full((30, 8), 255, np.uint8), 10),  # a stroke alone
    ],
)
def test_no_tail_without_digits_around(ink: NDArray[np.uint8]) -> None:
    assert raised_tail(ink) is None


def test_the_detached_flag_of_the_last_digit_stays_with_the_amount() -> None:
    ink = drawn("125", cents="50")
    n_before = cv2.connectedComponents(ink)[0]
    five = cv2.connectedComponentsWithStats(ink, connectivity=8)[2][1:]
    x, y = (int(v) for v in five[np.argmax(five[:, cv2.CC_STAT_LEFT] * (five[:, cv2.CC_STAT_HEIGHT] > 20)), :2])
    ink[y : y + 6, x + 7 : x + 10] = 0  # the 5's top bar cut off its stem ...
    ink[y : y + 4, x + 10 : x + 27] = 255  # ... and reaching right past its body: a flat piece before the cents
    assert cv2.connectedComponents(ink)[0] == n_before + 1
    split = raised_tail(ink)
    assert split is not None
    main, tail = split
    assert np.flatnonzero(tail.any(axis=0))[0] > x + 20, "the flag is not taken for part of the cents"
    assert main[y : y + 4, x + 10 : x + 27].all(), "it stays with the 5"
