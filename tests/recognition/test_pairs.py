"""The pair network: input normalisation, training samples, inference, weights, and its place in decoding."""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from numpy.typing import NDArray

from formdigits.cli import main as cli_main
from recognition import decoding, fieldsamples
from recognition import pairs as pairs_module
from recognition.classifier import DEFAULT_WEIGHTS, Classifier, load_classifier
from recognition.combs import plan_comb
from recognition.fieldsamples import comb_pair_samples, free_pair_samples
from recognition.mnist import DigitSet, sha256_of
from recognition.model import REJECT
from recognition.normalise import normalise_mask, normalise_pair
from recognition.pairs import (
    DEFAULT_PAIR_WEIGHTS,
    DEFAULT_TRIPLE_WEIGHTS,
    IGNORE,
    KINDS,
    LEFT,
    PAIR,
    RIGHT,
    PairClassifier,
    PairData,
    PairNet,
    PairTrainConfig,
    evaluate_pairs,
    load_pair_classifier,
    pair_batch,
    pair_sample,
    save_pair_weights,
    train_pairs,
)
from recognition.reader import ReadParams, read_fields, read_string
from segmentation.elements import Box, Field
from segmentation.errors import InvalidInput, ModelError


def drawn_digits(count: int = 60) -> tuple[NDArray[np.uint8], NDArray[np.uint8]]:
    """MNIST-like stand-ins (ink bright, 28x28) drawn with a Hershey font, labels 0..9 in turn."""
    images = np.zeros((count, 28, 28), np.uint8)
    labels = (np.arange(count) % 10).astype(np.uint8)
    for image, label in zip(images, labels, strict=True):
        cv2.putText(image, str(label), (6, 23), cv2.FONT_HERSHEY_SIMPLEX, 0.8, 255, 2)
    return images, labels


def test_a_wide_pair_fills_the_box_width_and_keeps_its_aspect() -> None:
    mask = np.zeros((40, 160), np.uint8)
    mask[5:35, 10:150] = 255  # 30 x 140 ink: width bound (48 / 140 < 20 / 30)
    image = normalise_pair(mask)
    assert image.shape == (28, 56) and image.dtype == np.float32
    assert image.min() >= 0.0 and image.max() <= 1.0
    cols = np.flatnonzero(image.max(axis=0) > 0.5)
    rows = np.flatnonzero(image.max(axis=1) > 0.5)
    assert 46 <= cols.size <= 50
    assert abs(rows.size - 30 * 48 / 140) <= 2
    assert abs((cols[0] + cols[-1]) / 2 - 27.5) <= 1.5 and abs((rows[0] + rows[-1]) / 2 - 13.5) <= 1.5


def test_a_tall_candidate_is_fitted_by_its_height() -> None:
    mask = np.zeros((60, 30), np.uint8)
    mask[0:60, 5:25] = 255
    rows = np.flatnonzero(normalise_pair(mask).max(axis=1) > 0.5)
    assert 19 <= rows.size <= 21


@pytest.mark.parametrize("mask", [np.zeros((10, 10), np.uint8), np.full((1, 1), 255, np.uint8)])
def test_an_empty_candidate_is_invalid_input(mask: NDArray[np.uint8]) -> None:
    with pytest.raises(InvalidInput):
        normalise_pair(mask)


@pytest.mark.parametrize("kind", KINDS)
def test_training_samples_carry_their_labels(kind: str) -> None:
    images, labels = drawn_digits()
    rng = np.random.default_rng(5)
    for _ in range(10):
        image, is_pair, left, right = pair_sample(rng, images, labels, kind)
        assert image.shape == (28, 56) and image.max() > 0.5
        if kind == "pair":
            assert is_pair == 1 and 0 <= left <= 9 and 0 <= right <= 9
        else:
            assert (is_pair, left, right) == (0, IGNORE, IGNORE)


def test_a_size_mix_draws_one_digit_of_a_pair_oversize(monkeypatch: pytest.MonkeyPatch) -> None:
    images, labels = drawn_digits()
    heights: list[int] = []  # of the ink of each composed mask
    monkeypatch.setattr(
        pairs_module,
        "normalise_pair",
        lambda mask: heights.append(np.ptp(np.flatnonzero(mask.max(axis=1)))) or np.zeros((28, 56)),
    )

    def mean_height(data: PairData) -> float:
        heights.clear()
        rng = np.random.default_rng(3)
        for _ in range(40):
            pair_sample(rng, images, labels, "pair", data)
        return float(np.mean(heights))

    assert mean_height(PairData(size_mix=1.0)) > 1.3 * mean_height(PairData())


def test_a_batch_mixes_pairs_and_non_pairs_reproducibly() -> None:
    images, labels = drawn_digits()
    x1, y1 = pair_batch(np.random.default_rng(1), images, labels, 200)
    x2, y2 = pair_batch(np.random.default_rng(1), images, labels, 200)
    assert x1.shape == (200, 28, 56) and y1.shape == (200, 3)
    assert np.array_equal(x1, x2) and np.array_equal(y1, y2)
    assert 0.4 < float(np.mean(y1[:, 0])) < 0.7  # KIND_SHARES: 55% pairs


def small_pair_classifier(seed: int = 0) -> PairClassifier:
    torch.manual_seed(seed)
    network = PairNet(widths=(4, 8, 8, 8))
    with torch.no_grad():  # non-trivial batch-norm statistics, so folding them is tested
        for module in network.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.5, 2.0)
    return PairClassifier(network, t_pair=0.8, t_digit=1.3)


def test_inference_matches_the_unfused_network_and_gives_calibrated_rows() -> None:
    classifier = small_pair_classifier()
    images = np.random.default_rng(2).random((7, 28, 56), dtype=np.float32)
    with torch.no_grad():
        expected = classifier.network(((torch.from_numpy(images) - 0.1307) / 0.3081).unsqueeze(1)).numpy()
    assert np.allclose(classifier.logits(images), expected, atol=1e-4)
    p = classifier.probabilities(images)
    assert p.shape == (7, 21)
    assert np.allclose(p[:, LEFT].sum(axis=1), 1.0, atol=1e-5) and np.allclose(p[:, RIGHT].sum(axis=1), 1.0, atol=1e-5)
    assert np.allclose(p[:, PAIR], 1 / (1 + np.exp(-expected[:, PAIR] / 0.8)), atol=1e-5)
    assert classifier.probabilities(np.zeros((0, 28, 56), np.float32)).shape == (0, 21)
    with pytest.raises(InvalidInput, match=r"\(N, 28, 56\)"):
        classifier.probabilities(np.zeros((2, 28, 28), np.float32))


def test_pair_weights_round_trip_and_bad_files_are_model_errors(tmp_path: Path) -> None:
    classifier = small_pair_classifier()
    path = tmp_path / "pairs.pt"
    save_pair_weights(path, classifier.network, classifier.t_pair, classifier.t_digit)
    images = np.random.default_rng(4).random((3, 28, 56), dtype=np.float32)
    assert np.allclose(load_pair_classifier(path).probabilities(images), classifier.probabilities(images), atol=1e-6)
    with pytest.raises(ModelError, match="no pair model"):
        load_pair_classifier(tmp_path / "absent.pt")
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(b"not torch")
    with pytest.raises(ModelError, match="corrupt"):
        load_pair_classifier(corrupt)


def test_the_pair_weights_are_found_beside_the_digit_weights(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    digits = tmp_path / "digitnet.pt"
    shutil.copy(DEFAULT_WEIGHTS, digits)
    with caplog.at_level(logging.WARNING, logger="recognition.classifier"):
        alone = load_classifier(digits)
    assert alone.pairs is None and alone.comb_pairs is None
    assert "no pair model" in caplog.text and "comb cells" in caplog.text
    save_pair_weights(tmp_path / "pairnet.pt", small_pair_classifier().network, 1.0, 1.0)
    save_pair_weights(tmp_path / "combpairnet.pt", small_pair_classifier().network, 2.0, 1.0)
    beside = load_classifier(digits)
    assert isinstance(beside.pairs, PairClassifier) and beside.pairs.network.widths == (4, 8, 8, 8)
    assert isinstance(beside.comb_pairs, PairClassifier) and beside.comb_pairs.t_pair == 2.0
    assert beside.pairs.t_pair == 1.0
    only_free = load_classifier(digits, comb_pair_weights=None)
    assert only_free.comb_pairs is None and only_free.pairs is not None
    assert load_classifier(digits, pair_weights=None).pairs is None


def test_pair_rates_count_reads_and_rejections() -> None:
    p = np.zeros((3, 21), np.float32)
    p[0, PAIR], p[0, 1 + 4], p[0, 11 + 2] = 0.9, 1.0, 1.0  # pair 4,2 read right
    p[1, PAIR], p[1, 1 + 4], p[1, 11 + 3] = 0.9, 1.0, 1.0  # pair 4,2 read 4,3
    p[2, PAIR] = 0.2  # a non-pair rejected
    targets = np.array([[1, 4, 2], [1, 4, 2], [0, IGNORE, IGNORE]])
    rates = evaluate_pairs(p, targets)
    assert rates == {"pairs_read_exactly": 0.5, "pairs_both_digits_right": 0.5, "non_pairs_rejected": 1.0}


class ScriptedReadings:
    """A pair (or triple) network reading every candidate as ``digits`` (each with ``p_digit``), as that
    many digits with probability ``p_whole``; it checks it is given images of its own width."""

    def __init__(self, digits: tuple[int, ...], p_whole: float, p_digit: float = 0.999) -> None:
        self.digits, self.p_whole, self.p_digit = digits, p_whole, p_digit
        self.seen = self.calls = 0

    def probabilities(self, images: NDArray[np.float32]) -> NDArray[np.float32]:
        assert images.shape[1:] == (28, 28 * len(self.digits))
        self.seen += len(images)
        self.calls += 1
        p = np.full((len(images), 1 + 10 * len(self.digits)), (1.0 - self.p_digit) / 9, np.float32)
        p[:, PAIR] = self.p_whole
        for i, d in enumerate(self.digits):
            p[:, 1 + 10 * i + d] = self.p_digit
        return p


class ScriptedPairs(ScriptedReadings):
    """A pair network that reads every candidate as the pair ``left``, ``right`` (each with ``p_digit``) with probability ``p_pair``."""

    def __init__(self, left: int, right: int, p_pair: float, p_digit: float = 0.999) -> None:
        super().__init__((left, right), p_pair, p_digit)


class WithPairs:
    """The shipped digit classifier with given (scripted or shipped) pair, triple and line networks
    (``line_mode_lines``: the line network of ``line`` mode)."""

    def __init__(
        self,
        classifier: Classifier,
        pairs: object | None = None,
        comb_pairs: object | None = None,
        triples: object | None = None,
        lines: object | None = None,
        line_mode_lines: object | None = None,
    ) -> None:
        self.classifier, self.pairs, self.comb_pairs, self.triples = classifier, pairs, comb_pairs, triples
        self.lines, self.line_mode_lines = lines, line_mode_lines

    def probabilities(self, images: NDArray[np.float32]) -> NDArray[np.float32]:
        return self.classifier.probabilities(images)


def touching_zeros() -> Field:
    ink = np.zeros((64, 90), np.uint8)
    for x in (10, 30):
        layer = np.zeros_like(ink)
        cv2.putText(layer, "0", (x, 48), cv2.FONT_HERSHEY_SIMPLEX, 1.3, 255, 4)
        ink[layer > 127] = 255
    assert cv2.connectedComponents(ink)[0] - 1 == 1, "the zeros must touch"
    return Field("field-1", "free", Box(100, 200, ink.shape[1], ink.shape[0]), ink)


def test_a_confident_pair_reading_replaces_the_cut_reading(
    classifier: Classifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without the tuned penalty a sure pair beats two sure digits that pay for their cut.
    monkeypatch.setattr(decoding, "PAIR_PENALTY", 0.0)
    pairs = ScriptedPairs(4, 2, p_pair=0.99)
    result = read_string(WithPairs(classifier, pairs), touching_zeros())
    assert pairs.seen > 0
    assert result.text == "42"
    left, right = result.digits
    assert left.box.x2 <= right.box.x + 1  # the pair is split into two boxes, left to right
    assert left.box.x >= 100 and right.box.x2 <= 190 and left.box.y >= 200  # page coordinates
    assert left.confidence == pytest.approx(0.99 * 0.999, rel=1e-3)
    assert result.digits[0].alternatives[0] == (4, pytest.approx(0.99 * 0.999, rel=1e-3))


def test_a_pair_reading_of_unsure_digits_leaves_the_cut_reading(classifier: Classifier) -> None:
    pairs = ScriptedPairs(4, 2, p_pair=0.9, p_digit=0.3)
    assert read_string(WithPairs(classifier, pairs), touching_zeros()).text == "00"
    off = ScriptedPairs(4, 2, p_pair=0.99)
    assert read_string(WithPairs(classifier, off), touching_zeros(), ReadParams(pairs=False)).text == "00"
    assert off.seen == 0


def test_a_pair_network_sure_of_one_digit_vetoes_the_split_into_two(classifier: Classifier) -> None:
    # Two digits read side by side over a pair candidate's atoms pay its log p(two digits).
    assert (
        read_string(WithPairs(classifier, ScriptedPairs(4, 2, p_pair=0.5, p_digit=0.3)), touching_zeros()).text == "00"
    )
    assert (
        read_string(WithPairs(classifier, ScriptedPairs(4, 2, p_pair=1e-4, p_digit=0.3)), touching_zeros()).text == "0"
    )


def test_the_shipped_classifier_carries_both_pair_networks(classifier: Classifier) -> None:
    assert isinstance(classifier.pairs, PairClassifier)
    assert isinstance(classifier.comb_pairs, PairClassifier)
    assert classifier.comb_pairs is not classifier.pairs


def test_smoke_training_learns_and_calibrates() -> None:
    images, labels = drawn_digits(200)
    config = PairTrainConfig(epochs=3, samples_per_epoch=1500, val_samples=400, widths=(8, 16, 16, 16))
    result = train_pairs(images[:150], labels[:150], images[150:], labels[150:], config)
    losses = [loss for _, loss, _, _ in result.history]
    assert [epoch for epoch, *_ in result.history] == [1, 2, 3]
    assert losses[-1] < losses[0]
    assert result.t_pair > 0 and result.t_digit > 0
    assert set(result.metrics) == {"pairs_read_exactly", "pairs_both_digits_right", "non_pairs_rejected"}


def test_cli_train_pairs_writes_loadable_weights_and_a_card(tmp_path: Path, mnist_dir: Path) -> None:
    out = tmp_path / "pairs.pt"
    argv = ["train-pairs", "--data", str(mnist_dir), "--out", str(out), "--epochs", "1", "--samples", "300"]
    assert cli_main(argv) == 0
    assert load_pair_classifier(out).probabilities(np.zeros((1, 28, 56), np.float32)).shape == (1, 21)
    card = json.loads(out.with_suffix(".card.json").read_text())
    assert card["config"]["samples_per_epoch"] == 300 and len(card["history"]) == 1
    assert "# Model card: `pairs.pt`" in out.with_suffix(".card.md").read_text()


def test_cli_train_pairs_with_field_samples_cards_them_and_its_start(
    tmp_path: Path, mnist_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from recognition import cli_train

    monkeypatch.setattr(cli_train, "PAIR_TEST_SAMPLES", 30)  # holds a spill (seed 1)
    start, out = tmp_path / "start.pt", tmp_path / "pairs.pt"
    save_pair_weights(start, PairNet().eval(), 1.0, 1.0)
    argv = ["train-pairs", "--data", str(mnist_dir), "--out", str(out), "--epochs", "1", "--samples", "100"]
    assert cli_main([*argv, "--field-samples", "10", "--init", str(start)]) == 0
    card = json.loads(out.with_suffix(".card.json").read_text())
    assert card["config"]["field_samples"] == 10 and card["init_sha256"] == sha256_of(start)
    assert card["field_oversize_share"] == fieldsamples.COMB_PAIR_OVERSIZE
    assert set(card["mnist_test_comb_pairs"]) == {"pairs_read_exactly", "pairs_both_digits_right", "non_pairs_rejected"}
    markdown = out.with_suffix(".card.md").read_text()
    assert "same 10 comb pair candidates" in markdown and card["init_sha256"] in markdown


def test_cli_train_pairs_with_free_field_samples_cards_them(
    tmp_path: Path, mnist_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from recognition import cli_train

    monkeypatch.setattr(cli_train, "PAIR_TEST_SAMPLES", 30)
    out = tmp_path / "pairs.pt"
    argv = ["train-pairs", "--data", str(mnist_dir), "--out", str(out), "--epochs", "1", "--samples", "100"]
    assert cli_main([*argv, "--field-samples", "10", "--field-kind", "free"]) == 0
    card = json.loads(out.with_suffix(".card.json").read_text())
    assert card["config"]["field_samples"] == 10 and card["config"]["field_kind"] == "free"
    assert "field_oversize_share" not in card and "mnist_test_comb_pairs" not in card
    assert set(card["mnist_test_free_pairs"]) == {"pairs_read_exactly", "pairs_both_digits_right", "non_pairs_rejected"}
    markdown = out.with_suffix(".card.md").read_text()
    assert "same 10 free-string pair candidates" in markdown and "Free-string pair candidates cut" in markdown
    assert "comb pair candidates" not in markdown


def overlapped(text: str, overlap: int) -> Field:
    """``text`` in a script-like Hershey font, each digit drawn ``overlap`` px into the one before."""
    canvas = np.zeros((80, 40 + 40 * len(text)), np.uint8)
    x = 10
    for ch in text:
        layer = np.zeros_like(canvas)
        cv2.putText(layer, ch, (x, 60), cv2.FONT_HERSHEY_SCRIPT_SIMPLEX, 1.6, 255, 4)
        canvas[layer > 127] = 255
        x = int(np.flatnonzero(layer.max(axis=0))[-1]) + 1 - overlap
    ink = canvas[:, : int(np.flatnonzero(canvas.max(axis=0))[-1]) + 10]
    return Field("field-1", "free", Box(0, 0, ink.shape[1], ink.shape[0]), ink)


def test_the_shipped_pair_network_reads_digits_drawn_into_each_other(classifier: Classifier) -> None:
    rng = np.random.default_rng(0)
    texts = ["".join(str(d) for d in rng.integers(0, 10, 4)) for _ in range(120)]
    fields = [overlapped(text, 8) for text in texts]
    cuts = ReadParams(lines=False)  # the pair network's own effect, without the line network's judgement
    with_pairs = sum(read_string(classifier, f, cuts).text == t for f, t in zip(fields, texts, strict=True))
    cuts_only = sum(
        read_string(classifier, f, replace(cuts, pairs=False)).text == t for f, t in zip(fields, texts, strict=True)
    )
    # Measured with the shipped weights: 102 of 120 with pairs and triples (90 with pairs alone,
    # session 8's reader; 89 in session 7's), 60 by cuts alone (55 with the first digit network
    # alone). On the first 40 strings: 25 and 20-21, too few to tell one or two digits of change from noise.
    assert with_pairs >= 80
    assert with_pairs >= cuts_only + 20


def test_a_page_reads_pairs_field_by_field_and_combs_only_where_ink_joins_two_cells(
    classifier: Classifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(decoding, "PAIR_PENALTY", 0.0)
    cells = tuple(Box(300 + 40 * i, 50, 40, 64) for i in range(2))
    comb_ink = np.zeros((64, 80), np.uint8)
    cv2.putText(comb_ink, "7", (8, 48), cv2.FONT_HERSHEY_SIMPLEX, 1.3, 255, 4)
    comb = Field("field-1", "comb", Box(300, 50, 80, 64), comb_ink, cells)
    joined_ink = comb_ink.copy()
    joined_ink[20:44, 56:60] = 255  # a stroke in the second cell...
    joined_ink[30:33, 20:60] = 255  # ...joined to the 7 across the wall
    joined = Field("field-1", "comb", Box(300, 50, 80, 64), joined_ink, cells)
    free, second = touching_zeros(), touching_zeros()
    scripted, for_combs = ScriptedPairs(4, 2, p_pair=0.99), ScriptedPairs(4, 2, p_pair=0.99)
    results = read_fields(WithPairs(classifier, scripted, for_combs), [free, comb, second, joined])
    assert [r.text for r in results[:3]] == ["42", "7", "42"]
    assert results[1].kind == "comb" and results[1].cells == (7, None)
    assert scripted.calls == 2  # one call per free field
    assert (for_combs.calls, for_combs.seen) == (1, 1)  # the comb pair network: the joined cells only


def test_train_pairs_cli_defaults_match_the_config() -> None:
    from formdigits.cli import build_parser

    args = build_parser().parse_args(["train-pairs", "--data", "x"])
    config = PairTrainConfig()
    assert (args.epochs, args.samples, args.seed) == (config.epochs, config.samples_per_epoch, config.seed)
    assert (args.lr, args.init, args.sign_share) == (config.max_lr, config.init_weights, config.data.sign_share)
    from recognition.cli_train import default_pair_out

    assert args.out is None and args.count == 2
    assert default_pair_out(2) == DEFAULT_PAIR_WEIGHTS and default_pair_out(2).parent == DEFAULT_WEIGHTS.parent
    assert default_pair_out(3) == DEFAULT_TRIPLE_WEIGHTS


def test_train_pairs_refuses_a_size_mix_that_is_no_share(tmp_path: Path) -> None:
    argv = ["train-pairs", "--data", str(tmp_path), "--out", str(tmp_path / "p.pt"), "--size-mix", "1.5"]
    assert cli_main(argv) == 2
    assert not (tmp_path / "p.pt").exists()


@pytest.mark.parametrize("extra", [["--sign-share", "1.0"], ["--sign-share", "0.1", "--count", "3"]])
def test_train_pairs_refuses_a_sign_share_it_cannot_draw(tmp_path: Path, extra: list[str]) -> None:
    argv = ["train-pairs", "--data", str(tmp_path), "--out", str(tmp_path / "p.pt"), *extra]
    assert cli_main(argv) == 2
    assert not (tmp_path / "p.pt").exists()


def test_train_pairs_refuses_shares_that_do_not_sum_to_one(tmp_path: Path) -> None:
    argv = ["train-pairs", "--data", str(tmp_path), "--out", str(tmp_path / "p.pt"), "--shares", "0.5,0.5,0.5,0,0"]
    assert cli_main(argv) == 2
    assert not (tmp_path / "p.pt").exists()


def _one_piece(width_share: float) -> NDArray[np.uint8]:
    """One piece of ink (a Hershey 9 squeezed or stretched) ``width_share`` of its height wide, binary 255."""
    canvas = np.zeros((90, 90), np.uint8)
    cv2.putText(canvas, "9", (10, 70), cv2.FONT_HERSHEY_SIMPLEX, 2.0, 255, 5)
    rows, cols = np.flatnonzero(canvas.any(axis=1)), np.flatnonzero(canvas.any(axis=0))
    crop = canvas[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    piece = cv2.resize(crop, (round(width_share * crop.shape[0]), crop.shape[0]), interpolation=cv2.INTER_NEAREST)
    ink = np.pad(np.where(piece > 127, 255, 0).astype(np.uint8), 10)
    assert cv2.connectedComponents(ink)[0] - 1 == 1
    return ink


@pytest.mark.parametrize(("share", "offered"), [(0.55, True), (0.65, True), (0.45, False)])
def test_one_piece_narrower_than_a_pair_run_is_offered_to_the_pair_network(share: float, offered: bool) -> None:
    # Two digits written into one piece 0.5-0.7 heights wide (a 91) are no digit to the digit network.
    plan = decoding.plan_string(_one_piece(share), 4, pairs=True)
    assert len(plan.segmentation.atoms) == 1
    assert ((0, 1) in plan.pair_groups) is offered


def test_sign_samples_are_printed_signs_and_no_pair() -> None:
    images, labels = drawn_digits()
    rng = np.random.default_rng(4)
    for _ in range(10):
        image, is_pair, left, right = pair_sample(rng, images, labels, "sign")
        assert image.shape == (28, 56) and image.max() > 0.5
        assert (is_pair, left, right) == (0, IGNORE, IGNORE)
    # With a sign share, that share of a batch is signs (all labelled no pair); without one, none.
    _, signs = pair_batch(np.random.default_rng(1), images, labels, 300, PairData(sign_share=0.5))
    _, plain = pair_batch(np.random.default_rng(1), images, labels, 300)
    assert float(np.mean(signs[:, 0])) < float(np.mean(plain[:, 0])) - 0.15


def test_pair_training_starts_from_given_weights(tmp_path: Path) -> None:
    images, labels = drawn_digits(200)
    start = small_pair_classifier(seed=3)
    save_pair_weights(tmp_path / "start.pt", start.network, 1.0, 1.0)
    config = PairTrainConfig(
        epochs=1,
        samples_per_epoch=64,
        batch_size=64,
        val_samples=100,
        max_lr=1e-9,
        init_weights=str(tmp_path / "start.pt"),
    )
    result = train_pairs(images[:150], labels[:150], images[150:], labels[150:], config)
    assert result.network.widths == (4, 8, 8, 8)  # the file's, not the config's default
    # The learnt parameters, not batch norm's running statistics, which the epoch moves.
    before, after = dict(start.network.named_parameters()), dict(result.network.named_parameters())
    assert all(torch.allclose(before[k], after[k], atol=1e-5) for k in before)
    # ... which a network of another seed does not share: the check above says something.
    assert not torch.allclose(
        before["head.2.weight"], dict(small_pair_classifier(seed=4).network.named_parameters())["head.2.weight"]
    )


@pytest.mark.parametrize("font", [cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_TRIPLEX])
@pytest.mark.parametrize(("sign", "stretch"), [("#", 1.0), ("#", 1.5), ("$", 1.0), ("*", 1.0)])
def test_the_shipped_networks_take_a_printed_sign_for_no_digit(
    classifier: Classifier, font: int, sign: str, stretch: float
) -> None:
    """A sign printed in a font no network trained on: no digit, and no pair (session 14's pair
    network gave a Hershey # p(two digits) 0.99 and read it "78")."""
    canvas = np.zeros((90, 90), np.uint8)
    cv2.putText(canvas, sign, (10, 70), font, 2.0, 255, 4)
    ys, xs = np.nonzero(canvas > 127)
    crop = canvas[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    crop = cv2.resize(crop, (round(crop.shape[1] * stretch), crop.shape[0]), interpolation=cv2.INTER_NEAREST)
    mask = np.where(crop > 127, 255, 0).astype(np.uint8)
    assert classifier.probabilities(normalise_mask(mask)[None])[0].argmax() == REJECT
    assert classifier.pairs is not None
    assert classifier.pairs.probabilities(normalise_pair(mask)[None])[0, PAIR] < 0.5


@pytest.mark.parametrize(("cut", "count"), [(comb_pair_samples, 24), (free_pair_samples, 40)])
def test_pair_candidates_are_cut_by_the_reader_and_labelled_from_the_drawing(cut: Callable, count: int) -> None:
    """Candidates as the reader plans them (two comb cells joined by ink; runs of touching atoms in
    hard lines and forms' free strings), here of Hershey digits so that the main suite needs no
    MNIST: pairs take two digits, the others (a digit and its spill, one character, a slice) none."""
    images, labels = drawn_digits(200)
    source = DigitSet(images, labels, Path(), Path())
    x, y = cut(source, count, seed=5)
    assert x.shape == (count, 28, 56) and x.dtype == np.float32 and y.shape == (count, 3) and y.dtype == np.int64
    assert x.min() >= 0.0 and x.max() <= 1.0 and x.reshape(count, -1).max(axis=1).min() > 0.5
    pairs, others = y[y[:, 0] == 1], y[y[:, 0] == 0]
    assert len(pairs) > 0
    assert set(pairs[:, 1:].ravel().tolist()) <= set(range(10))
    assert (others[:, 1:] == IGNORE).all()
    again = cut(source, count, seed=5)
    assert np.array_equal(again[0], x) and np.array_equal(again[1], y)


def test_a_comb_pair_candidate_is_labelled_with_the_digits_drawn_in_its_two_cells() -> None:
    """Two cells joined by ink across their wall (a third apart): the reader's one pair candidate
    takes the two cells' digits, in order; no pair where one cell was drawn empty (a spill); none
    at all where the drawing has no single cell under a read cell (a misfound wall) or nothing in either."""
    cells = (Box(2, 5, 36, 30), Box(42, 5, 36, 30), Box(82, 5, 36, 30))
    ink = np.zeros((40, 120), np.uint8)
    for x in (24, 52, 100):
        ink[8:32, x : x + 4] = 255
    ink[18:21, 24:56] = 255  # the first two cells' strokes joined
    comb = Field("f", "comb", Box(0, 0, 120, 40), ink, cells=cells)

    def truth(*texts: str, shift: int = 0) -> dict:
        return {"cells": [{"bbox": [c.x + shift, c.y, c.w, c.h], "text": t} for c, t in zip(cells, texts, strict=True)]}

    images, targets = fieldsamples._comb_pair_samples([comb], truth("4", "7", "1"))
    assert targets == [(1, 4, 7)]
    assert np.array_equal(images[0], plan_comb(comb, pairs=True).pair_images[0])
    assert fieldsamples._comb_pair_samples([comb], truth("4", "", "1"))[1] == [(0, IGNORE, IGNORE)]
    assert fieldsamples._comb_pair_samples([comb], truth("", "", "1"))[1] == []
    assert fieldsamples._comb_pair_samples([comb], truth("4", "7", "1", shift=30))[1] == []  # walls 30 px off


def test_a_free_pair_candidate_is_labelled_with_its_two_drawn_digits(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two rings joined by a bar and a third apart: the run of the first two is the pair of their
    drawn digits; each ring alone is not a pair; a run of a ring and a slice of the first, matching
    no character well, is left out; a digit joined to a separator is not a pair."""
    monkeypatch.setattr(fieldsamples, "FREE_PAIR_KEEP_SINGLE", 1.0)
    ink = np.zeros((40, 130), np.uint8)
    for x in (6, 30, 84):
        cv2.rectangle(ink, (x, 6), (x + 18, 34), 255, 3)
    ink[18:21, 22:32] = 255
    string = Field("f", "free", Box(0, 0, 130, 40), ink)
    plan = decoding.plan_string(ink, fieldsamples.READ.max_atoms_per_digit, fieldsamples.READ.string, pairs=True)
    boxes = [[4, 4, 23, 33], [27, 4, 24, 33], [82, 4, 23, 33]]

    def truth(text: str) -> dict:
        return {"text": text, "bbox": [4, 4, 101, 33], "chars": boxes}

    rng = np.random.default_rng(0)
    images, targets = fieldsamples._free_pair_samples([string], truth("471"), rng)
    assert targets == [(1, 4, 7), (0, IGNORE, IGNORE), (0, IGNORE, IGNORE)]
    assert [c.box.x for c in plan.pair_candidates] == [4, 11, 18, 27, 82]  # 11 and 18: a slice and a ring
    assert np.array_equal(images[0], plan.pair_images[0]) and np.array_equal(images[1], plan.pair_images[3])
    assert fieldsamples._free_pair_samples([string], truth("4.1"), rng)[1][0] == (0, IGNORE, IGNORE)


def test_pair_training_mixes_the_field_samples_into_every_epoch() -> None:
    """The training stream holds the field samples: one image labelled (3, 7), 8 of every 9 samples,
    is soon read right on the stream, which the composed samples alone are not."""
    images, labels = drawn_digits(200)
    image = np.zeros((28, 56), np.float32)
    cv2.circle(image, (28, 14), 9, 1.0, 3)
    field = (np.repeat(image[None], 512, axis=0), np.repeat(np.array([[1, 3, 7]], np.int64), 512, axis=0))
    config = PairTrainConfig(epochs=4, samples_per_epoch=64, val_samples=100, widths=(8, 16, 16, 16))
    with_field = train_pairs(images[:150], labels[:150], images[150:], labels[150:], config, field=field)
    without = train_pairs(images[:150], labels[:150], images[150:], labels[150:], config)
    assert with_field.history[-1][2] > 0.8
    assert without.history[-1][2] < 0.5


def test_train_pairs_refuses_field_samples_for_the_triple_network(tmp_path: Path) -> None:
    argv = ["train-pairs", "--data", str(tmp_path), "--out", str(tmp_path / "p.pt"), "--count", "3"]
    assert cli_main([*argv, "--field-samples", "100"]) == 2
    assert not (tmp_path / "p.pt").exists()
