"""Temperature scaling and ECE on synthetic logits with a known answer."""

from __future__ import annotations

import numpy as np
import pytest

from recognition.calibration import expected_calibration_error, fit_temperature, softmax


def test_softmax_rows_sum_to_one() -> None:
    p = softmax(np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]], np.float32), 2.0)
    assert p.sum(axis=1) == pytest.approx([1.0, 1.0])


def test_fit_temperature_recovers_overconfidence() -> None:
    # Logits drawn from a calibrated model with T=1, then sharpened 3x: the fit must undo it.
    rng = np.random.default_rng(0)
    n, k = 4000, 5
    true_logits = rng.normal(0, 1.5, (n, k)).astype(np.float32)
    probs = softmax(true_logits)
    labels = np.array([rng.choice(k, p=row) for row in probs])
    t = fit_temperature(true_logits * 3.0, labels)
    assert t == pytest.approx(3.0, rel=0.15)


def test_ece_is_zero_for_perfect_calibration_and_large_for_overconfidence() -> None:
    labels = np.zeros(1000, dtype=np.int64)
    honest = np.tile([[0.8, 0.2]], (1000, 1)).astype(np.float32)
    labels[:200] = 1  # 80% of the argmax-0 predictions are right
    assert expected_calibration_error(honest, labels) == pytest.approx(0.0, abs=1e-6)
    overconfident = np.tile([[0.99, 0.01]], (1000, 1)).astype(np.float32)
    assert expected_calibration_error(overconfident, labels) == pytest.approx(0.19, abs=1e-6)
