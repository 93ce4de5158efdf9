"""The printed-letter network: its file, what it says of letters and digits, and the runs the reader paints over."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from numpy.typing import NDArray

from recognition.normalise import normalise_mask
from recognition.printed import (
    DEFAULT_PRINTED_WEIGHTS,
    PRINTED_P,
    PrintedClassifier,
    PrintedNet,
    load_printed_classifier,
    printed_ends,
    printed_texts,
    render_text,
    save_printed_weights,
)
from segmentation.errors import ModelError


class ByPiece:
    """A model that answers for the pieces it was told of, found by the index each test piece carries
    (see ``_ends``): p(printed) for a printed-letter model, and with ``columns`` 11, p(no digit) in
    column 10 for a digit model. ``asked`` records which pieces it was asked about."""

    def __init__(self, marked: set[int], columns: int = 0) -> None:
        self.marked, self.columns = marked, columns
        self.asked: list[int] = []

    def probabilities(self, images: NDArray[np.float32]) -> NDArray[np.float32]:
        pieces = [round(float(image[0, 0]) * 100) for image in images]
        self.asked += pieces
        p = np.array([0.99 if k in self.marked else 0.01 for k in pieces], np.float32)
        if not self.columns:
            return p
        out = np.zeros((len(images), self.columns), np.float32)
        out[:, 10], out[:, 3] = p, 1.0 - p
        return out


def _ends(
    count: int, printed: set[int], signs: set[int] | None = None, *, monkeypatch: pytest.MonkeyPatch
) -> tuple[list[int], list[int]]:
    """printed_ends of ``count`` pieces, those in ``printed`` printed and those in ``signs`` no digit;
    and which pieces the printed-letter network was asked about. Each piece's network input carries
    its index (the mask's one pixel value)."""
    import recognition.printed as printed_module

    def normalised(masks: list[NDArray[np.uint8]]) -> list[NDArray[np.float32]]:
        return [np.full((28, 28), float(mask.max()) / 100, np.float32) for mask in masks]

    monkeypatch.setattr(printed_module, "_normalised", normalised)
    model = ByPiece(printed)
    digits = None if signs is None else ByPiece(signs, columns=11)
    masks = [np.full((4, 4), k, np.uint8) for k in range(count)]
    return printed_ends(model, masks, digits=digits), model.asked  # type: ignore[arg-type]


def test_printed_ends_are_the_runs_of_printed_pieces_from_either_end(monkeypatch: pytest.MonkeyPatch) -> None:
    def ends(count: int, printed: set[int]) -> list[int]:
        return _ends(count, printed, monkeypatch=monkeypatch)[0]

    assert ends(8, {0, 1}) == [0, 1]  # "R$" before six digits
    assert ends(8, {0, 1, 2, 7}) == [0, 1, 2, 7]  # "U$S" before, one printed piece after
    assert ends(8, {1, 2}) == []  # a run that does not begin at an end is the writing's
    assert ends(8, {0, 2}) == [0]  # the run stops at the first piece not printed
    assert ends(3, {0, 1, 2}) == []  # all printed: printed text, not a prefix to handwriting
    assert ends(1, {0}) == [] and ends(0, set()) == []
    assert ends(12, {0, 1, 2, 3, 4, 5}) == [0, 1, 2, 3]  # at most four pieces a side are asked about


def test_only_the_two_end_pieces_are_asked_about_when_neither_is_printed(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _ends(9, {1, 2, 3}, monkeypatch=monkeypatch) == ([], [0, 8])
    assert sorted(_ends(9, {0}, monkeypatch=monkeypatch)[1]) == [0, 1, 2, 3, 5, 6, 7, 8]


def test_a_printed_run_goes_on_over_a_piece_that_is_no_digit_but_ends_on_a_printed_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def ends(count: int, printed: set[int], signs: set[int]) -> list[int]:
        return _ends(count, printed, signs, monkeypatch=monkeypatch)[0]

    assert ends(8, {0, 2}, signs={1}) == [0, 1, 2]  # "U$S" with the $ only known as no digit
    assert ends(8, {0, 2}, signs=set()) == [0]
    assert ends(8, {0}, signs={1, 2}) == [0]  # "R" and then a sign and a comma: they stay
    assert ends(8, {1}, signs={0}) == []  # no run begins at a sign alone
    assert ends(8, {7}, signs={5, 6}) == [7]


def test_weights_round_trip_and_a_corrupt_file_is_a_model_error(tmp_path: Path) -> None:
    network = PrintedNet((4, 4, 8, 8))
    save_printed_weights(tmp_path / "p.pt", network, 1.7)
    loaded = load_printed_classifier(tmp_path / "p.pt")
    assert loaded.temperature == pytest.approx(1.7)
    images = np.random.default_rng(0).random((3, 28, 28)).astype(np.float32)
    assert np.allclose(loaded.probabilities(images), PrintedClassifier(network, 1.7).probabilities(images), atol=1e-5)
    (tmp_path / "bad.pt").write_bytes(b"not a model")
    with pytest.raises(ModelError):
        load_printed_classifier(tmp_path / "bad.pt")
    with pytest.raises(ModelError):
        load_printed_classifier(tmp_path / "missing.pt")


def _hershey_mask(text: str, face: int = cv2.FONT_HERSHEY_SIMPLEX) -> NDArray[np.uint8]:
    canvas = np.zeros((120, 60 + 60 * len(text)), np.uint8)
    cv2.putText(canvas, text, (20, 90), face, 2.0, 255, 4)
    rows, cols = np.flatnonzero(canvas.any(axis=1)), np.flatnonzero(canvas.any(axis=0))
    return canvas[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def test_the_shipped_network_calls_letters_in_a_font_it_never_saw_printed_and_digits_not() -> None:
    model = load_printed_classifier(DEFAULT_PRINTED_WEIGHTS)
    letters = np.stack([normalise_mask(_hershey_mask(c)) for c in "RUSD$EKM"])
    assert (model.probabilities(letters) >= PRINTED_P).mean() >= 0.75
    # Digits drawn by a pen (a stroke along MNIST-like shapes) are not letters.
    digits = np.stack([normalise_mask(_hershey_mask(c, cv2.FONT_HERSHEY_SCRIPT_SIMPLEX)) for c in "0123456789"])
    assert (model.probabilities(digits) < PRINTED_P).all()


def test_render_text_prints_ink_about_the_middle() -> None:
    image = render_text(np.random.default_rng(0), "R$", [])  # no fonts given: Pillow's own
    rows, cols = np.flatnonzero(image.any(axis=1)), np.flatnonzero(image.any(axis=0))
    assert rows.size and cols.size
    assert abs((rows[0] + rows[-1]) / 2 - image.shape[0] / 2) < image.shape[0] / 4


def test_a_field_is_printed_text_when_enough_of_its_pieces_are_printed(monkeypatch: pytest.MonkeyPatch) -> None:
    import recognition.printed as printed_module

    monkeypatch.setattr(
        printed_module,
        "_normalised",
        lambda masks: [np.full((28, 28), float(mask.max()) / 100, np.float32) for mask in masks],
    )

    def field(count: int) -> list[NDArray[np.uint8]]:
        return [np.full((4, 4), k, np.uint8) for k in range(count)]

    model = ByPiece({0, 1, 2, 3, 4, 5})
    # 6 of 10 printed: text; 3 of 3: text; 2 of 2: too few pieces to tell; 6 of 11: handwriting with a label.
    assert printed_texts(model, [field(10), field(3), field(2), field(11)]) == [  # type: ignore[arg-type]
        True,
        True,
        False,
        False,
    ]
    assert printed_texts(model, []) == []  # type: ignore[arg-type]


def test_a_printed_title_found_as_a_free_field_is_left_out_and_handwriting_kept(classifier) -> None:  # type: ignore[no-untyped-def]
    from recognition.reader import ReadParams, _without_printed_text
    from segmentation.elements import Box, Field

    def free(text: str, face: int) -> Field:
        canvas = np.zeros((70, 40 + 34 * len(text)), np.uint8)
        cv2.putText(canvas, text, (10, 55), face, 1.4, 255, 3)
        return Field("field-1", "free", Box(0, 0, canvas.shape[1], canvas.shape[0]), canvas)

    title, digits = free("SURVEY", cv2.FONT_HERSHEY_SIMPLEX), free("47031", cv2.FONT_HERSHEY_SCRIPT_SIMPLEX)
    assert _without_printed_text(classifier, [title, digits], ReadParams()) == [digits]
    assert _without_printed_text(classifier, [title, digits], ReadParams(printed_text=False)) == [title, digits]


def test_training_sets_hold_every_kind_of_sample_with_their_labels() -> None:
    from recognition.mnist import DigitSet
    from recognition.printed import SHARES, line_piece_masks, printed_set
    from tests.recognition.test_pairs import drawn_digits

    images, labels = drawn_digits(60)
    digits = DigitSet(images, labels, Path("drawn"), Path("drawn"))
    pieces = line_piece_masks(np.random.default_rng(0), digits, 12)
    assert len(pieces) == 12 and all(p.shape == (28, 28) and p.max() > 0.5 for p in pieces)
    masks, printed = printed_set(np.random.default_rng(1), 200, digits, [])
    assert masks.shape == (200, 28, 28) and masks.dtype == np.uint8 and (masks.reshape(200, -1).max(axis=1) > 127).all()
    share = SHARES["letter"] + SHARES["run"]
    assert abs(float(printed.mean()) - share) < 0.12
