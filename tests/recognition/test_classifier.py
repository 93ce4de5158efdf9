"""The batched inference API: shapes, determinism, probabilities, top-3, reject signal, weights loading."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from recognition.classifier import ENSEMBLE_MEMBERS, Classifier, load_classifier, save_weights
from recognition.model import REJECT, DigitNet
from recognition.nondigits import nondigit_sample
from recognition.normalise import normalise_digit
from segmentation.errors import InvalidInput, ModelError


@pytest.fixture(scope="module")
def small() -> Classifier:
    """An untrained network: enough to test the plumbing, not the accuracy."""
    torch.manual_seed(0)
    return Classifier(DigitNet(widths=(4, 8, 8, 8)), temperature=1.5)


def test_shapes_and_probabilities(small: Classifier) -> None:
    images = np.random.default_rng(0).random((300, 28, 28), dtype=np.float32)  # more than one batch
    p = small.probabilities(images)
    assert p.shape == (300, 11)
    assert np.allclose(p.sum(axis=1), 1.0, atol=1e-5)
    assert small.probabilities(np.zeros((0, 28, 28), np.float32)).shape == (0, 11)


def test_deterministic(small: Classifier) -> None:
    images = np.random.default_rng(1).random((40, 28, 28), dtype=np.float32)
    assert np.array_equal(small.probabilities(images), small.probabilities(images))
    # A digit's result does not depend on what else is in the batch.
    alone = small.probabilities(images[:1])
    assert np.allclose(alone, small.probabilities(images)[:1], atol=1e-5)


def test_predictions_top3_sorted_and_consistent(small: Classifier) -> None:
    images = np.random.default_rng(2).random((20, 28, 28), dtype=np.float32)
    probabilities = small.probabilities(images)
    for p, prediction in zip(probabilities, small.predict(images), strict=True):
        assert len(prediction.alternatives) == 3
        values = [v for _, v in prediction.alternatives]
        assert values == sorted(values, reverse=True)
        assert prediction.alternatives[0][0] == int(np.argmax(p[:REJECT]))
        assert len(prediction.probabilities) == 10
        assert sum(prediction.probabilities) + prediction.reject_p == pytest.approx(1.0, abs=1e-5)
        if prediction.digit is None:
            assert prediction.confidence == pytest.approx(prediction.reject_p)
        else:
            assert prediction.confidence == pytest.approx(p[prediction.digit])


def test_wrong_shape_is_a_clear_error(small: Classifier) -> None:
    with pytest.raises(InvalidInput, match=r"\(N, 28, 28\)"):
        small.probabilities(np.zeros((2, 32, 32), np.float32))


def test_weights_round_trip(tmp_path: Path, small: Classifier) -> None:
    path = tmp_path / "w.pt"
    save_weights(path, small.network, small.temperature)
    loaded = load_classifier(path)
    images = np.random.default_rng(3).random((5, 28, 28), dtype=np.float32)
    assert np.allclose(loaded.probabilities(images), small.probabilities(images), atol=1e-5)


def test_missing_or_corrupt_weights_are_model_errors(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="no model weights"):
        load_classifier(tmp_path / "absent.pt")
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(b"definitely not a torch file")
    with pytest.raises(ModelError, match="corrupt"):
        load_classifier(corrupt)


def test_ensemble_is_the_normalised_geometric_mean_of_its_members() -> None:
    torch.manual_seed(1)
    first, second = DigitNet(widths=(4, 8, 8, 8)), DigitNet(widths=(4, 8, 8, 8))
    images = np.random.default_rng(4).random((30, 28, 28), dtype=np.float32)
    p1 = Classifier(first, 1.5).probabilities(images)
    p2 = Classifier(second, 0.7).probabilities(images)
    both = Classifier(first, 1.5, members=[(second, 0.7)], gate=1.01)  # every image asks both
    assert both.size == 2
    geometric = np.sqrt(p1.astype(np.float64) * p2)
    assert np.allclose(both.probabilities(images), geometric / geometric.sum(axis=1, keepdims=True), atol=1e-5)
    # Agreeing members are one network.
    twice = Classifier(first, 1.5, members=[(first, 1.5)], gate=1.01)
    assert np.allclose(twice.probabilities(images), p1, atol=1e-5)


def test_ensemble_members_are_asked_only_where_the_first_network_is_unsure() -> None:
    torch.manual_seed(3)
    first, second = DigitNet(widths=(4, 8, 8, 8)), DigitNet(widths=(4, 8, 8, 8))
    images = np.random.default_rng(6).random((40, 28, 28), dtype=np.float32)
    # A low temperature makes the first network sure of some images and not of others.
    alone = Classifier(first, 0.05).probabilities(images)
    gate = float(np.median(alone.max(axis=1)))
    gated = Classifier(first, 0.05, members=[(second, 1.0)], gate=gate).probabilities(images)
    always = Classifier(first, 0.05, members=[(second, 1.0)], gate=1.01).probabilities(images)
    sure = alone.max(axis=1) >= gate
    assert 0 < sure.sum() < len(images)
    assert np.array_equal(gated[sure], alone[sure])
    assert np.allclose(gated[~sure], always[~sure], atol=1e-6)
    assert not np.allclose(gated[~sure], alone[~sure], atol=1e-4)


def test_ensemble_members_load_from_beside_the_weights(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    torch.manual_seed(2)
    save_weights(tmp_path / "digitnet.pt", DigitNet(widths=(4, 8, 8, 8)), 1.0)
    alone = load_classifier(tmp_path / "digitnet.pt", pair_weights=None, comb_pair_weights=None)
    assert alone.size == 1
    assert "no ensemble member at" in caplog.text
    for name in ENSEMBLE_MEMBERS:
        save_weights(tmp_path / name, DigitNet(widths=(4, 8, 8, 8)), 2.0)
    loaded = load_classifier(tmp_path / "digitnet.pt", pair_weights=None, comb_pair_weights=None)
    assert loaded.size == 1 + len(ENSEMBLE_MEMBERS)
    images = np.random.default_rng(5).random((5, 28, 28), dtype=np.float32)
    assert not np.allclose(loaded.probabilities(images), alone.probabilities(images), atol=1e-4)
    only = load_classifier(tmp_path / "digitnet.pt", members=(), pair_weights=None, comb_pair_weights=None)
    assert only.size == 1 and np.allclose(only.probabilities(images), alone.probabilities(images))
    (tmp_path / ENSEMBLE_MEMBERS[0]).write_bytes(b"not weights")
    with pytest.raises(ModelError, match="corrupt"):
        load_classifier(tmp_path / "digitnet.pt", pair_weights=None, comb_pair_weights=None)


# The shipped model.


def _draw(text: str) -> np.ndarray:
    image = np.full((100, 80), 255, np.uint8)
    cv2.putText(image, text, (12, 80), cv2.FONT_HERSHEY_SIMPLEX, 2.6, 0, 9, cv2.LINE_AA)
    return image


def test_shipped_model_reads_printed_digits(classifier: Classifier) -> None:
    predictions = classifier.predict_crops([_draw(str(d)) for d in range(10)])
    read = [p.digit for p in predictions]
    # Hershey digits are not handwriting; most must still read right.
    assert sum(r == d for r, d in zip(read, range(10), strict=True)) >= 8, read


@pytest.mark.parametrize("kind", ["blob", "dash", "comma", "specks"])
def test_shipped_model_rejects_specks_and_punctuation(classifier: Classifier, kind: str) -> None:
    rng = np.random.default_rng(42)
    digits = np.zeros((1, 28, 28), np.uint8)  # only 'half' and 'pair' need real digits
    images = np.stack([nondigit_sample(rng, digits, kind) for _ in range(50)])
    rejected = np.mean(classifier.probabilities(images).argmax(axis=1) == REJECT)
    assert rejected >= 0.9


def test_shipped_model_rejects_a_hand_drawn_dash_and_point(classifier: Classifier) -> None:
    dash = np.full((40, 90), 250, np.uint8)
    cv2.line(dash, (10, 22), (80, 19), 30, 6)
    point = np.full((40, 40), 250, np.uint8)
    cv2.circle(point, (20, 20), 6, 30, -1)
    assert [p.digit for p in classifier.predict_crops([dash, point])] == [None, None]


def test_the_shipped_classifier_is_the_gated_ensemble(classifier: Classifier) -> None:
    """``weights/digitnet-b.pt`` ships beside ``digitnet.pt`` and is asked only about unsure digits."""
    assert classifier.size == 1 + len(ENSEMBLE_MEMBERS)
    digits = np.stack([normalise_digit(_draw(str(d)), ink_is_bright=False) for d in range(10)])
    noise = np.random.default_rng(7).random((20, 28, 28), dtype=np.float32)  # mostly unsure
    images = np.concatenate([digits, noise])
    alone = Classifier(classifier.network, classifier.temperature).probabilities(images)
    both = classifier.probabilities(images)
    sure = alone.max(axis=1) >= classifier.gate
    assert sure[:10].sum() >= 8 and not sure.all()
    assert np.array_equal(both[sure], alone[sure])
    assert not np.allclose(both[~sure], alone[~sure], atol=1e-3)
