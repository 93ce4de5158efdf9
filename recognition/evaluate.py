"""Measuring a classifier on a labelled digit set: accuracy, confusion, calibration, speed."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from recognition.calibration import expected_calibration_error
from recognition.classifier import Classifier
from recognition.model import NUM_CLASSES, REJECT
from recognition.normalise import normalise_digit


@dataclass(frozen=True, slots=True)
class EvalReport:
    """Figures for one labelled set. A digit read as not-a-digit counts as an error.

    ``confusion[i][j]`` counts true digit i predicted as class j (j = 10: not a digit).
    """

    n: int
    accuracy: float
    per_class_accuracy: tuple[float, ...]
    confusion: tuple[tuple[int, ...], ...]
    ece: float
    reject_rate: float
    digits_per_second: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "accuracy": self.accuracy,
            "per_class_accuracy": list(self.per_class_accuracy),
            "confusion": [list(r) for r in self.confusion],
            "ece": self.ece,
            "reject_rate": self.reject_rate,
            "digits_per_second": self.digits_per_second,
        }


def normalise_set(images: NDArray[np.uint8]) -> NDArray[np.float32]:
    """Pass every image of an ink-bright set (N, H, W) through the shared normaliser."""
    return np.stack([normalise_digit(img, ink_is_bright=True) for img in images])


def evaluate(
    classifier: Classifier, images: NDArray[np.float32], labels: NDArray[np.uint8]
) -> tuple[EvalReport, NDArray[np.float32]]:
    """Evaluate normalised images (N, 28, 28); returns the report and the probabilities (N, 11)."""
    start = time.perf_counter()
    probabilities = classifier.probabilities(images)
    elapsed = time.perf_counter() - start
    predicted = probabilities.argmax(axis=1)
    truth = labels.astype(np.int64)
    confusion = np.zeros((10, NUM_CLASSES), dtype=np.int64)
    np.add.at(confusion, (truth, predicted), 1)
    per_class = tuple(float(confusion[d, d] / max(1, confusion[d].sum())) for d in range(10))
    report = EvalReport(
        n=int(labels.size),
        accuracy=float(np.mean(predicted == truth)),
        per_class_accuracy=per_class,
        confusion=tuple(tuple(int(v) for v in row) for row in confusion),
        ece=expected_calibration_error(probabilities, truth),
        reject_rate=float(np.mean(predicted == REJECT)),
        digits_per_second=float(labels.size / elapsed) if elapsed > 0 else float("inf"),
    )
    return report, probabilities


def format_report(report: EvalReport) -> str:
    """A human-readable report: accuracy, per-class accuracy, confusion matrix, ECE, speed."""
    lines = [
        f"digits:            {report.n}",
        f"accuracy:          {report.accuracy * 100:.2f}%",
        f"ECE:               {report.ece * 100:.2f}%",
        f"read as not-digit: {report.reject_rate * 100:.2f}%",
        f"digits/second:     {report.digits_per_second:,.0f}",
        "per-class accuracy: " + "  ".join(f"{d}:{a * 100:.1f}%" for d, a in enumerate(report.per_class_accuracy)),
        "confusion (rows: true digit, columns: predicted 0-9, X = not a digit):",
        "      " + "".join(f"{c:>6}" for c in [*map(str, range(10)), "X"]),
    ]
    for d, row in enumerate(report.confusion):
        lines.append(f"{d:>6}" + "".join(f"{v:>6}" for v in row))
    return "\n".join(lines)


def worst_mistakes(
    images: NDArray[np.float32], labels: NDArray[np.uint8], probabilities: NDArray[np.float32], count: int = 64
) -> list[tuple[int, int, int, float]]:
    """The most confident errors: (index, true label, predicted class, confidence), worst first."""
    predicted = probabilities.argmax(axis=1)
    wrong = np.nonzero(predicted != labels)[0]
    confidence = probabilities[wrong, predicted[wrong]]
    order = wrong[np.argsort(-confidence)][:count]
    return [(int(i), int(labels[i]), int(predicted[i]), float(probabilities[i, predicted[i]])) for i in order]
