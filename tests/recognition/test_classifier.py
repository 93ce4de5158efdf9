"""The batched inference API: shapes, determinism, probabilities, top-3, reject signal, weights loading."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from recognition.calibration import softmax
from recognition.classifier import (
    DEFAULT_WEIGHTS,
    ENSEMBLE_FILE,
    Classifier,
    fit_ensemble_temperature,
    load_classifier,
    save_weights,
    write_ensemble,
)
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


def test_the_combination_has_its_own_temperature_and_it_can_be_fitted() -> None:
    torch.manual_seed(4)
    first, second = DigitNet(widths=(4, 8, 8, 8)), DigitNet(widths=(4, 8, 8, 8))
    images = np.random.default_rng(8).random((2000, 28, 28), dtype=np.float32)
    plain = Classifier(first, 0.01, members=[(second, 0.01)], gate=1.01)
    soft = Classifier(first, 0.01, members=[(second, 0.01)], gate=1.01, combined_temperature=3.0)
    unsure, combined = plain.gated_logits(images)
    assert np.array_equal(unsure, np.arange(len(images)))
    assert np.allclose(plain.probabilities(images), softmax(combined), atol=1e-5)
    assert np.allclose(soft.probabilities(images), softmax(combined, 3.0), atol=1e-5)
    # Labels drawn from softmax(combined / 2.5): the fitted temperature comes back near 2.5.
    truth = softmax(combined, 2.5)
    rng = np.random.default_rng(9)
    labels = np.array([rng.choice(11, p=row / row.sum()) for row in truth.astype(np.float64)])
    assert fit_ensemble_temperature(combined, labels) == pytest.approx(2.5, rel=0.15)
    sure = Classifier(first, 0.01, members=[(second, 0.01)], gate=1e-6)  # the gate passes nothing
    passed, combined = sure.gated_logits(images)
    assert passed.size == 0
    with pytest.raises(InvalidInput, match="too few"):
        fit_ensemble_temperature(combined, labels[passed])


def _saved_pair(directory: Path) -> tuple[Path, Path]:
    torch.manual_seed(2)
    first, second = directory / "digitnet.pt", directory / "digitnet-b.pt"
    save_weights(first, DigitNet(widths=(4, 8, 8, 8)), 1.0)
    save_weights(second, DigitNet(widths=(4, 8, 8, 8)), 2.0)
    return first, second


def test_the_ensemble_file_beside_the_weights_names_members_gate_and_temperature(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    first, second = _saved_pair(tmp_path)
    kw: dict = dict(pair_weights=None, comb_pair_weights=None)
    alone = load_classifier(first, **kw)
    assert alone.size == 1
    assert "no ensemble file at" in caplog.text
    write_ensemble(tmp_path / ENSEMBLE_FILE, first, [second], 0.75, 1.7, {"data": "none"})
    loaded = load_classifier(first, **kw)
    assert (loaded.size, loaded.gate, loaded.combined_temperature) == (2, 0.75, 1.7)
    images = np.random.default_rng(5).random((5, 28, 28), dtype=np.float32)
    assert not np.allclose(loaded.probabilities(images), alone.probabilities(images), atol=1e-4)
    only = load_classifier(first, ensemble=None, **kw)
    assert only.size == 1 and np.allclose(only.probabilities(images), alone.probabilities(images))
    elsewhere = tmp_path / "spec.json"
    (tmp_path / ENSEMBLE_FILE).rename(elsewhere)
    assert load_classifier(first, ensemble=elsewhere, **kw).size == 2


def test_an_ensemble_file_fitted_for_other_weights_is_left_out(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    first, second = _saved_pair(tmp_path)
    write_ensemble(tmp_path / ENSEMBLE_FILE, first, [second], 0.9, 1.4, {})
    save_weights(second, DigitNet(widths=(4, 8, 8, 8)), 2.0)  # retrained: other weights
    assert load_classifier(first, pair_weights=None, comb_pair_weights=None).size == 1
    assert "was fitted for another digitnet-b.pt" in caplog.text
    second.unlink()
    assert load_classifier(first, pair_weights=None, comb_pair_weights=None).size == 1
    assert "no ensemble member at" in caplog.text


@pytest.mark.parametrize("damage", ["member", "json", "keys", "temperature"])
def test_a_corrupt_ensemble_is_a_model_error(tmp_path: Path, damage: str) -> None:
    first, second = _saved_pair(tmp_path)
    spec = tmp_path / ENSEMBLE_FILE
    write_ensemble(spec, first, [second], 0.9, 1.4, {})
    if damage == "member":
        second.write_bytes(b"not weights")
    elif damage == "json":
        spec.write_text("{not json")
    elif damage == "keys":
        spec.write_text('{"members": ["digitnet-b.pt"]}')
    else:
        spec.write_text(spec.read_text().replace('"temperature": 1.4', '"temperature": -1'))
    with pytest.raises(ModelError, match=r"corrupt|temperature"):
        load_classifier(first, pair_weights=None, comb_pair_weights=None)


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
    import json

    spec = json.loads(DEFAULT_WEIGHTS.with_name(ENSEMBLE_FILE).read_text())
    assert spec["members"] == ["digitnet-b.pt"] and classifier.size == 2
    assert (classifier.gate, classifier.combined_temperature) == (spec["gate"], spec["temperature"])
    assert classifier.combined_temperature > 1.0  # the geometric mean is overconfident where the gate passes
    digits = np.stack([normalise_digit(_draw(str(d)), ink_is_bright=False) for d in range(10)])
    noise = np.random.default_rng(7).random((20, 28, 28), dtype=np.float32)  # mostly unsure
    images = np.concatenate([digits, noise])
    alone = Classifier(classifier.network, classifier.temperature).probabilities(images)
    both = classifier.probabilities(images)
    sure = alone.max(axis=1) >= classifier.gate
    assert sure[:10].sum() >= 8 and not sure.all()
    assert np.array_equal(both[sure], alone[sure])
    assert not np.allclose(both[~sure], alone[~sure], atol=1e-3)
