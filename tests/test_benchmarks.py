"""The memory benchmark measures a real reading process (its other benchmarks need MNIST and minutes)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def _bench_memory() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_memory", ROOT / "benchmarks" / "bench_memory.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("bench_memory", module)
    spec.loader.exec_module(module)
    return module


def test_peak_rss_is_a_reading_processs_own(tmp_path: Path) -> None:
    page = np.full((600, 500), 235, np.uint8)
    cv2.putText(page, "2026", (60, 300), cv2.FONT_HERSHEY_SIMPLEX, 3, 20, 8)
    path = tmp_path / "page.png"
    cv2.imwrite(str(path), page)
    kib = _bench_memory().peak_rss_kib([path])
    # A Python with torch, OpenCV and the networks loaded: well above an empty interpreter's ~10 MiB.
    assert 100 * 1024 < kib < 4 * 1024 * 1024
