"""Training samples cut by the reader from synthetic fields of training digits (needs MNIST)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from recognition.classifier import load_classifier
from recognition.fieldsamples import field_samples
from recognition.mnist import DigitSet, load_split
from recognition.model import REJECT

pytestmark = pytest.mark.mnist


@pytest.fixture(scope="module")
def train_digits(mnist_dir: Path) -> DigitSet:
    digits = load_split(mnist_dir, "train")
    return DigitSet(digits.images[:3000], digits.labels[:3000], digits.images_path, digits.labels_path)


@pytest.fixture(scope="module")
def samples(train_digits: DigitSet) -> tuple[np.ndarray, np.ndarray]:
    return field_samples(train_digits, 300, seed=3)


def test_samples_are_normalised_images_with_labels(samples: tuple[np.ndarray, np.ndarray]) -> None:
    images, labels = samples
    assert images.shape == (300, 28, 28) and images.dtype == np.float32
    assert labels.shape == (300,) and labels.dtype == np.int64
    assert images.min() >= 0.0 and images.max() <= 1.0
    assert set(np.unique(labels).tolist()) <= set(range(REJECT + 1))
    # Mostly digits, with some not-a-digit (wrong cuts, empty cells, separators, letters).
    assert 0.05 < float(np.mean(labels == REJECT)) < 0.5


def test_samples_are_reproducible(train_digits: DigitSet, samples: tuple[np.ndarray, np.ndarray]) -> None:
    images, labels = field_samples(train_digits, 300, seed=3)
    assert np.array_equal(images, samples[0]) and np.array_equal(labels, samples[1])


def test_digit_labels_match_what_the_images_show(samples: tuple[np.ndarray, np.ndarray]) -> None:
    """Labels line up with the crops: the shipped classifier mostly agrees (a shifted cell or
    character would agree about one time in ten)."""
    images, labels = samples
    digits = labels != REJECT
    predicted = load_classifier().probabilities(images[digits]).argmax(axis=1)
    assert float(np.mean(predicted == labels[digits])) > 0.85
