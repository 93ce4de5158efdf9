"""Reading idx files, gzipped or not, and finding the evaluation pair in a directory."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from recognition.mnist import load_eval_set, load_split, read_idx
from segmentation.errors import InvalidInput


def _write_idx(directory: Path, prefix: str, images: np.ndarray, labels: np.ndarray, *, gz: bool) -> None:
    n, rows, cols = images.shape
    image_bytes = b"".join(v.to_bytes(4, "big") for v in (2051, n, rows, cols)) + images.tobytes()
    label_bytes = (2049).to_bytes(4, "big") + n.to_bytes(4, "big") + labels.tobytes()
    suffix = ".gz" if gz else ""
    write = gzip.compress if gz else (lambda b: b)
    (directory / f"{prefix}-images-idx3-ubyte{suffix}").write_bytes(write(image_bytes))
    (directory / f"{prefix}-labels-idx1-ubyte{suffix}").write_bytes(write(label_bytes))


@pytest.mark.parametrize("gz", [True, False])
def test_round_trip(tmp_path: Path, gz: bool) -> None:
    images = np.arange(3 * 28 * 28, dtype=np.uint32).astype(np.uint8).reshape(3, 28, 28)
    labels = np.array([7, 0, 9], np.uint8)
    _write_idx(tmp_path, "train", images, labels, gz=gz)
    data = load_split(tmp_path, "train")
    assert np.array_equal(data.images, images) and np.array_equal(data.labels, labels)


def test_eval_prefers_t10k(tmp_path: Path) -> None:
    images = np.zeros((2, 28, 28), np.uint8)
    _write_idx(tmp_path, "train", images, np.array([1, 2], np.uint8), gz=True)
    _write_idx(tmp_path, "t10k", images, np.array([3, 4], np.uint8), gz=True)
    assert list(load_eval_set(tmp_path).labels) == [3, 4]


def test_eval_takes_any_single_pair(tmp_path: Path) -> None:
    _write_idx(tmp_path, "mydigits", np.zeros((1, 28, 28), np.uint8), np.array([5], np.uint8), gz=False)
    assert list(load_eval_set(tmp_path).labels) == [5]


def test_bad_files_raise(tmp_path: Path) -> None:
    bad = tmp_path / "x-images-idx3-ubyte"
    bad.write_bytes(b"not an idx file at all")
    with pytest.raises(InvalidInput, match="not an idx file"):
        read_idx(bad)
    truncated = tmp_path / "y-images-idx3-ubyte"
    truncated.write_bytes(b"".join(v.to_bytes(4, "big") for v in (2051, 10, 28, 28)) + b"\0" * 100)
    with pytest.raises(InvalidInput, match="expected 10x28x28"):
        read_idx(truncated)
    with pytest.raises(InvalidInput, match="no t10k"):
        load_split(tmp_path, "t10k")
