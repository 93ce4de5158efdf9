"""Synthetic forms and lines: shapes, truth consistency, determinism (needs MNIST)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from recognition.mnist import DigitSet
from recognition.synthetic import (
    FormParams,
    digit_alpha,
    load_digit_source,
    make_cents_line,
    make_check_line,
    make_form,
    make_line,
)

pytestmark = pytest.mark.mnist

STRING = re.compile(r"^[0-9]([0-9]|[,.\-](?=[0-9]))*$")


@pytest.fixture(scope="module")
def source(mnist_dir: Path) -> DigitSet:
    return load_digit_source(mnist_dir)


def test_digit_source_is_the_test_split(source: DigitSet) -> None:
    assert source.images.shape == (10000, 28, 28)
    assert source.images_path.name.startswith("t10k")
    assert set(np.unique(source.labels).tolist()) == set(range(10))


def test_digit_alpha_is_ink_of_the_requested_height(source: DigitSet) -> None:
    rng = np.random.default_rng(0)
    alpha = digit_alpha(source, 7, 55, rng)
    assert alpha.shape[0] == 55
    assert alpha.dtype == np.float32
    assert alpha.min() >= 0.0 and alpha.max() <= 1.0 and alpha.max() > 0.8
    # Cropped to the ink: the first and last columns hold ink.
    assert alpha[:, 0].max() > 0.1 and alpha[:, -1].max() > 0.1


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_make_form_truth_is_consistent(source: DigitSet, seed: int) -> None:
    params = FormParams()
    gray, truth = make_form(np.random.default_rng(seed), source, params)
    assert gray.shape == (params.height, params.width) and gray.dtype == np.uint8
    fields = truth["fields"]
    kinds = [f["kind"] for f in fields]
    assert 2 <= kinds.count("comb") <= 4 and 1 <= kinds.count("free") <= 3
    assert [f["name"] for f in fields] == [f"field-{i}" for i in range(1, len(fields) + 1)]
    assert abs(truth["skew_deg"]) <= params.max_skew_deg
    tops = [f["bbox"][1] for f in fields]
    assert tops == sorted(tops)  # reading order: one field per row
    for f in fields:
        x, y, w, h = f["bbox"]
        assert x >= 0 and y >= 0 and x + w <= params.width and y + h <= params.height and w > 0 and h > 0
        if f["kind"] == "comb":
            assert len(f["cells"]) >= 4
            assert f["text"] == "".join(c["text"] for c in f["cells"])
            for cell in f["cells"]:
                cx, cy, cw, ch = cell["bbox"]
                assert x <= cx and cx + cw <= x + w and cy == y and ch == h
                assert cell["text"] in {""} | set("0123456789")
        else:
            assert STRING.match(f["text"]), f["text"]


def test_make_form_is_deterministic_per_seed(source: DigitSet) -> None:
    a, truth_a = make_form(np.random.default_rng(7), source)
    b, truth_b = make_form(np.random.default_rng(7), source)
    c, _ = make_form(np.random.default_rng(8), source)
    assert np.array_equal(a, b) and truth_a == truth_b
    assert not np.array_equal(a, c)


def test_make_form_scales_to_300_dpi(source: DigitSet) -> None:
    gray, truth = make_form(np.random.default_rng(3), source, FormParams(width=2480, height=3508))
    assert gray.shape == (3508, 2480)
    heights = [f["bbox"][3] for f in truth["fields"]]
    assert min(heights) > 70  # digits ~80-140 px tall at 300 dpi


@pytest.mark.parametrize("seed", range(6))
def test_make_line_text_and_image(source: DigitSet, seed: int) -> None:
    gray, text = make_line(np.random.default_rng(seed), source)
    assert gray.dtype == np.uint8 and gray.shape[0] == 120
    assert STRING.match(text), text
    digits = sum(ch.isdigit() for ch in text)
    assert 3 <= digits <= 9
    # Dark ink is present and the width fits the string.
    assert gray.min() < 120
    assert gray.shape[1] >= digits * 20


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_make_check_line_is_the_hard_line_with_a_sign_or_fence_beside_it(source: DigitSet, seed: int) -> None:
    line, text = make_line(np.random.default_rng(seed), source)
    check, check_text = make_check_line(np.random.default_rng(seed), source)
    assert check_text == text  # the sign and the fence are not part of the amount
    assert check.dtype == np.uint8 and check.shape[0] == line.shape[0] and check.shape[1] > line.shape[1]
    # The amount itself is drawn as make_line drew it, somewhere along the cheque line (noise aside).
    offsets = range(check.shape[1] - line.shape[1] + 1)
    best = min(np.abs(check[:, x : x + line.shape[1]].astype(int) - line).mean() for x in offsets)
    assert best < 6


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_make_cents_line_ends_in_two_raised_digits(source: DigitSet, seed: int) -> None:
    gray, text = make_cents_line(np.random.default_rng(seed), source)
    assert STRING.match(text), text
    assert gray.dtype == np.uint8 and gray.shape[0] == 120
    assert text[-2:].isdigit()
    ink = gray < np.median(gray) - 60
    ink[ink.mean(axis=1) > 0.8] = False  # the guide line, if any
    columns, rows = np.flatnonzero(ink.any(axis=0)), np.flatnonzero(ink.any(axis=1))
    # The last columns (the cents, perhaps underlined) hold no ink in the band's lower quarter.
    assert not ink[rows[-1] - (rows[-1] - rows[0]) // 4 :, columns[-1] - 5 : columns[-1] + 1].any()
    again, same = make_cents_line(np.random.default_rng(seed), source)
    assert same == text and np.array_equal(again, gray)
