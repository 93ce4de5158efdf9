"""Reading MNIST-format idx files (``*-images-idx3-ubyte[.gz]``, ``*-labels-idx1-ubyte[.gz]``).

File names follow torchvision's raw files: ``train-images-idx3-ubyte.gz``,
``t10k-labels-idx1-ubyte.gz`` and so on. Nothing is downloaded.
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from segmentation.errors import InvalidInput

IMAGE_MAGIC = 2051
LABEL_MAGIC = 2049


@dataclass(frozen=True, slots=True)
class DigitSet:
    """Images (N, H, W) uint8 with ink bright, labels (N,) uint8, and where they came from."""

    images: NDArray[np.uint8]
    labels: NDArray[np.uint8]
    images_path: Path
    labels_path: Path

    def __len__(self) -> int:
        return int(self.labels.shape[0])


def _read_bytes(path: Path) -> bytes:
    data = path.read_bytes()
    return gzip.decompress(data) if path.suffix == ".gz" else data


def read_idx(path: Path) -> NDArray[np.uint8]:
    """Read one idx file (images or labels), gzipped or not, into a uint8 array."""
    data = _read_bytes(path)
    if len(data) < 8:
        raise InvalidInput(f"{path} is too short to be an idx file")
    magic = int.from_bytes(data[0:4], "big")
    if magic == IMAGE_MAGIC:
        n, rows, cols = (int.from_bytes(data[i : i + 4], "big") for i in (4, 8, 12))
        array = np.frombuffer(data, dtype=np.uint8, offset=16)
        if array.size != n * rows * cols:
            raise InvalidInput(f"{path}: expected {n}x{rows}x{cols} pixels, found {array.size}")
        return array.reshape(n, rows, cols)
    if magic == LABEL_MAGIC:
        n = int.from_bytes(data[4:8], "big")
        array = np.frombuffer(data, dtype=np.uint8, offset=8)
        if array.size != n:
            raise InvalidInput(f"{path}: expected {n} labels, found {array.size}")
        return array
    raise InvalidInput(f"{path} is not an idx file (magic number {magic})")


def _find(directory: Path, prefix: str, kind: str) -> Path | None:
    for suffix in (".gz", ""):
        candidate = directory / f"{prefix}-{kind}{suffix}"
        if candidate.exists():
            return candidate
    return None


def load_split(directory: Path, split: str) -> DigitSet:
    """Load ``train`` or ``t10k`` from a directory of idx files."""
    images = _find(directory, split, "images-idx3-ubyte")
    labels = _find(directory, split, "labels-idx1-ubyte")
    if images is None or labels is None:
        raise InvalidInput(f"no {split}-images-idx3-ubyte[.gz] with matching labels in {directory}")
    return _load_pair(images, labels)


def _load_pair(images_path: Path, labels_path: Path) -> DigitSet:
    images = read_idx(images_path)
    labels = read_idx(labels_path)
    if images.ndim != 3 or labels.ndim != 1 or images.shape[0] != labels.shape[0]:
        raise InvalidInput(f"{images_path} and {labels_path} do not match")
    if labels.size and labels.max() > 9:
        raise InvalidInput(f"{labels_path} has labels above 9")
    return DigitSet(images, labels, images_path, labels_path)


def load_eval_set(directory: Path) -> DigitSet:
    """The set ``formdigits eval`` reads from a directory: t10k if present, else the one pair found."""
    if _find(directory, "t10k", "images-idx3-ubyte") is not None:
        return load_split(directory, "t10k")
    pairs = []
    for images in sorted(directory.glob("*-images-idx3-ubyte*")):
        prefix = images.name.split("-images-idx3-ubyte")[0]
        labels = _find(directory, prefix, "labels-idx1-ubyte")
        if labels is not None:
            pairs.append((images, labels))
    if not pairs:
        raise InvalidInput(f"no *-images-idx3-ubyte[.gz] with matching labels in {directory}")
    return _load_pair(*pairs[0])


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, for model cards."""
    return hashlib.sha256(path.read_bytes()).hexdigest()
