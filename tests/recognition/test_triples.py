"""The triple network: three digits written into each other, read whole; samples, inference, weights, decoding."""

from __future__ import annotations

import itertools
import json
import logging
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from formdigits.cli import main as cli_main
from recognition import decoding
from recognition.classifier import DEFAULT_WEIGHTS, Classifier, load_classifier
from recognition.decoding import plan_string
from recognition.normalise import normalise_triple
from recognition.pairs import (
    IGNORE,
    PAIR,
    TRIPLE_DATA,
    TRIPLE_KINDS,
    PairClassifier,
    PairNet,
    PairTrainConfig,
    digit_head,
    evaluate_pairs,
    load_pair_classifier,
    pair_batch,
    save_pair_weights,
    train_pairs,
    triple_sample,
)
from recognition.reader import ReadParams, read_fields, read_string
from segmentation.elements import Box, Field
from segmentation.errors import InvalidInput, ModelError
from tests.recognition.test_pairs import ScriptedReadings, WithPairs, drawn_digits, overlapped


def test_a_wide_triple_fills_the_box_width_and_a_digit_its_height() -> None:
    wide = np.zeros((30, 300), np.uint8)
    wide[5:25, 10:290] = 255
    cols = np.flatnonzero(normalise_triple(wide).max(axis=0) > 0.5)
    assert normalise_triple(wide).shape == (28, 84) and 72 <= cols.size <= 80
    tall = np.zeros((60, 40), np.uint8)
    tall[5:55, 10:30] = 255
    rows = np.flatnonzero(normalise_triple(tall).max(axis=1) > 0.5)
    assert 18 <= rows.size <= 22
    with pytest.raises(InvalidInput):
        normalise_triple(np.zeros((20, 20), np.uint8))


@pytest.mark.parametrize("kind", TRIPLE_KINDS)
def test_triple_samples_carry_their_labels(kind: str) -> None:
    images, labels = drawn_digits()
    rng = np.random.default_rng(5)
    for _ in range(10):
        image, is_three, digits = triple_sample(rng, images, labels, kind)
        assert image.shape == (28, 84) and image.max() > 0.5
        if kind == "three":
            assert is_three == 1 and all(0 <= d <= 9 for d in digits)
        else:
            assert (is_three, digits) == (0, (IGNORE, IGNORE, IGNORE))


def test_a_triple_batch_is_half_positives_and_reproducible() -> None:
    images, labels = drawn_digits()
    x1, y1 = pair_batch(np.random.default_rng(1), images, labels, 200, TRIPLE_DATA)
    x2, y2 = pair_batch(np.random.default_rng(1), images, labels, 200, TRIPLE_DATA)
    assert x1.shape == (200, 28, 84) and y1.shape == (200, 4)
    assert np.array_equal(x1, x2) and np.array_equal(y1, y2)
    assert 0.35 < float(np.mean(y1[:, 0])) < 0.65  # TRIPLE_SHARES: 50% three digits
    positives = y1[y1[:, 0] == 1]
    assert (positives[:, 1:] >= 0).all() and (y1[y1[:, 0] == 0][:, 1:] == IGNORE).all()


def small_triple_classifier(seed: int = 0) -> PairClassifier:
    torch.manual_seed(seed)
    network = PairNet(widths=(4, 8, 8, 8), count=3)
    with torch.no_grad():  # non-trivial batch-norm statistics, so folding them is tested
        for module in network.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.5, 2.0)
    return PairClassifier(network, t_pair=0.8, t_digit=1.3)


def test_triple_inference_matches_the_unfused_network_and_gives_calibrated_rows() -> None:
    classifier = small_triple_classifier()
    images = np.random.default_rng(2).random((5, 28, 84), dtype=np.float32)
    with torch.no_grad():
        expected = classifier.network(((torch.from_numpy(images) - 0.1307) / 0.3081).unsqueeze(1)).numpy()
    assert expected.shape == (5, 31)
    assert np.allclose(classifier.logits(images), expected, atol=1e-4)
    p = classifier.probabilities(images)
    for i in range(3):
        assert np.allclose(p[:, digit_head(i)].sum(axis=1), 1.0, atol=1e-5)
    assert np.allclose(p[:, PAIR], 1 / (1 + np.exp(-expected[:, PAIR] / 0.8)), atol=1e-5)
    assert classifier.probabilities(np.zeros((0, 28, 84), np.float32)).shape == (0, 31)
    with pytest.raises(InvalidInput, match=r"\(N, 28, 84\)"):
        classifier.probabilities(np.zeros((2, 28, 56), np.float32))
    with pytest.raises(ValueError, match="2 or 3"):
        PairNet(count=4)


def test_triple_weights_round_trip_and_load_beside_the_digit_weights(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    classifier = small_triple_classifier()
    digits = tmp_path / "digitnet.pt"
    shutil.copy(DEFAULT_WEIGHTS, digits)
    with caplog.at_level(logging.WARNING, logger="recognition.classifier"):
        assert load_classifier(digits).triples is None
    assert "no triple model" in caplog.text
    save_pair_weights(tmp_path / "triplenet.pt", classifier.network, classifier.t_pair, classifier.t_digit)
    images = np.random.default_rng(4).random((3, 28, 84), dtype=np.float32)
    loaded = load_classifier(digits).triples
    assert isinstance(loaded, PairClassifier) and loaded.count == 3
    assert np.allclose(loaded.probabilities(images), classifier.probabilities(images), atol=1e-6)
    assert load_classifier(digits, triple_weights=None).triples is None
    # A pair network where the triple network belongs is refused, not read with the wrong meaning.
    save_pair_weights(tmp_path / "triplenet.pt", PairNet(widths=(4, 8, 8, 8)), 1.0, 1.0)
    with pytest.raises(ModelError, match="reads 2 digits whole, not 3"):
        load_classifier(digits)


def test_triple_rates_count_all_three_digits() -> None:
    p = np.zeros((3, 31), np.float32)
    p[0, PAIR], p[0, 1 + 4], p[0, 11 + 2], p[0, 21 + 7] = 0.9, 1, 1, 1  # 4, 2, 7 read right
    p[1, PAIR], p[1, 1 + 4], p[1, 11 + 2], p[1, 21 + 1] = 0.9, 1, 1, 1  # 4, 2, 7 read 4, 2, 1
    p[2, PAIR] = 0.2  # not three digits, rejected
    targets = np.array([[1, 4, 2, 7], [1, 4, 2, 7], [0, IGNORE, IGNORE, IGNORE]])
    assert evaluate_pairs(p, targets) == {
        "pairs_read_exactly": 0.5,
        "pairs_both_digits_right": 0.5,
        "non_pairs_rejected": 1.0,
    }


class ScriptedTriples(ScriptedReadings):
    """A triple network reading every candidate as ``digits`` (each with ``p_digit``) with probability ``p_three``."""

    def __init__(self, digits: tuple[int, int, int], p_three: float, p_digit: float = 0.999) -> None:
        super().__init__(digits, p_three, p_digit)


def with_triples(classifier: Classifier, triples: ScriptedTriples) -> WithPairs:
    """The shipped digit classifier with a scripted triple network and no pair networks."""
    return WithPairs(classifier, triples=triples)


def touching_triple() -> Field:
    """Three zeros, each written into the one before: one piece of ink."""
    ink = np.zeros((64, 120), np.uint8)
    for x in (10, 30, 50):
        layer = np.zeros_like(ink)
        cv2.putText(layer, "0", (x, 48), cv2.FONT_HERSHEY_SIMPLEX, 1.3, 255, 4)
        ink[layer > 127] = 255
    ink = ink[:, : int(np.flatnonzero(ink.max(axis=0))[-1]) + 8]
    assert cv2.connectedComponents(ink)[0] - 1 == 1, "the zeros must touch"
    return Field("field-1", "free", Box(100, 200, ink.shape[1], ink.shape[0]), ink)


def test_a_triple_candidate_spans_three_touching_digits_and_not_one() -> None:
    field = touching_triple()
    plan = plan_string(field.ink, 4, triples=True)
    atoms = len(plan.segmentation.atoms)
    assert (0, atoms) in plan.triple_groups
    assert plan.triple_images.shape == (len(plan.triple_groups), 28, 84)
    height = plan.segmentation.height
    for candidate in plan.triple_candidates:  # every one about three digits wide, not one
        assert candidate.box.w >= decoding.TRIPLE_MIN_WIDTH_SHARE * height
    assert plan_string(field.ink, 4).triple_groups == ()


def test_a_confident_triple_reading_replaces_the_cut_reading(classifier: Classifier) -> None:
    triples = ScriptedTriples((4, 2, 7), p_three=0.99)
    result = read_string(with_triples(classifier, triples), touching_triple())
    assert triples.calls == 1 and triples.seen > 0
    assert result.text == "427"
    boxes = [d.box for d in result.digits]
    assert all(a.x2 <= b.x + 1 for a, b in itertools.pairwise(boxes))  # three boxes, left to right
    assert boxes[0].x >= 100 and boxes[-1].x2 <= 100 + touching_triple().box.w and boxes[0].y >= 200
    assert result.digits[1].confidence == pytest.approx(0.99 * 0.999, rel=1e-3)
    assert result.digits[1].alternatives[0] == (2, pytest.approx(0.99 * 0.999, rel=1e-3))


def test_an_unsure_triple_network_leaves_the_cut_reading(classifier: Classifier) -> None:
    cut = read_string(classifier, touching_triple(), ReadParams(pairs=False)).text
    assert cut != "427"
    unsure = ScriptedTriples((4, 2, 7), p_three=0.99, p_digit=0.2)
    assert read_string(with_triples(classifier, unsure), touching_triple()).text == cut
    off = ScriptedTriples((4, 2, 7), p_three=0.99)
    assert read_string(with_triples(classifier, off), touching_triple(), ReadParams(pairs=False)).text == cut
    assert off.seen == 0


def test_a_page_asks_the_triple_network_once_per_free_field(classifier: Classifier) -> None:
    triples = ScriptedTriples((4, 2, 7), p_three=0.99)
    results = read_fields(with_triples(classifier, triples), [touching_triple(), touching_triple()])
    assert [r.text for r in results] == ["427", "427"]
    assert triples.calls == 2


def test_smoke_triple_training_learns_and_calibrates() -> None:
    images, labels = drawn_digits(200)
    config = PairTrainConfig(
        epochs=3, samples_per_epoch=1200, val_samples=300, widths=(8, 16, 16, 16), data=TRIPLE_DATA
    )
    result = train_pairs(images[:150], labels[:150], images[150:], labels[150:], config)
    losses = [loss for _, loss, _, _ in result.history]
    assert losses[-1] < losses[0]
    assert result.network.count == 3 and result.t_pair > 0 and result.t_digit > 0


def test_cli_train_pairs_with_count_3_writes_a_triple_network_and_its_card(tmp_path: Path, mnist_dir: Path) -> None:
    out = tmp_path / "triples.pt"
    argv = ["train-pairs", "--count", "3", "--data", str(mnist_dir), "--out", str(out), "--epochs", "1"]
    assert cli_main([*argv, "--samples", "300"]) == 0
    assert load_pair_classifier(out).probabilities(np.zeros((1, 28, 84), np.float32)).shape == (1, 31)
    card = json.loads(out.with_suffix(".card.json").read_text())
    assert card["config"]["data"]["count"] == 3
    assert "Triple network" in out.with_suffix(".card.md").read_text()
    assert cli_main([*argv, "--shares", "0.5,0.15,0.2,0.1,0.05"]) == 2  # five shares are a pair network's


def test_the_shipped_triple_network_reads_three_digits_written_into_each_other(classifier: Classifier) -> None:
    assert isinstance(classifier.triples, PairClassifier) and classifier.triples.count == 3

    def read(count: int, overlap: int) -> tuple[int, int]:
        rng = np.random.default_rng(0)
        texts = ["".join(str(d) for d in rng.integers(0, 10, count)) for _ in range(120)]
        fields = [overlapped(text, overlap) for text in texts]
        cuts = ReadParams(lines=False)  # the triple network's own effect, without the line network's judgement
        with_triples = sum(read_string(classifier, f, cuts).text == t for f, t in zip(fields, texts, strict=True))
        without = sum(
            read_string(WithPairs(classifier, classifier.pairs, classifier.comb_pairs), f, cuts).text == t
            for f, t in zip(fields, texts, strict=True)
        )
        return with_triples, without

    # Measured with the shipped weights: three script digits each drawn 12 px into the one before,
    # 55 of 120 read with the triple network, 29 without; four digits 8 px into each other, 102
    # and 90 (69 when triple candidates could be 3.5 heights wide: four narrow digits read as three).
    with_triples, without = read(3, 12)
    assert with_triples >= 45 and with_triples >= without + 15
    with_triples, without = read(4, 8)
    assert with_triples >= without
