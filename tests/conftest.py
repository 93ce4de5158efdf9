"""Shared fixtures: the shipped classifier (once per session) and small image factories."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# ../shared from the main checkout, ../../shared from a worktree under wt/.
MNIST_DIR = next(
    (
        d
        for d in (ROOT.parent / "shared" / "datasets" / "mnist", ROOT.parent.parent / "shared" / "datasets" / "mnist")
        if (d / "t10k-images-idx3-ubyte.gz").exists()
    ),
    ROOT.parent / "shared" / "datasets" / "mnist",
)


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    """The shared MNIST directory; tests that need it skip cleanly when it is absent."""
    if not (MNIST_DIR / "t10k-images-idx3-ubyte.gz").exists():
        pytest.skip(f"MNIST not found at {MNIST_DIR}")
    return MNIST_DIR


@pytest.fixture(scope="session")
def classifier():  # type: ignore[no-untyped-def]
    """The shipped, trained classifier, loaded once for the whole session."""
    from recognition.classifier import load_classifier

    return load_classifier()
