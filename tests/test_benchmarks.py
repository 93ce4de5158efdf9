"""The memory benchmark measures a real reading process (its other benchmarks need MNIST and minutes)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def _bench_script(name: str) -> ModuleType:
    """``benchmarks/<name>.py`` imported as a module (the scripts import their sibling common.py)."""
    if str(ROOT / "benchmarks") not in sys.path:
        sys.path.insert(0, str(ROOT / "benchmarks"))
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(name, module)
    spec.loader.exec_module(module)
    return module


def _bench_memory() -> ModuleType:
    return _bench_script("bench_memory")


def test_peak_rss_is_a_reading_processs_own(tmp_path: Path) -> None:
    page = np.full((600, 500), 235, np.uint8)
    cv2.putText(page, "2026", (60, 300), cv2.FONT_HERSHEY_SIMPLEX, 3, 20, 8)
    path = tmp_path / "page.png"
    cv2.imwrite(str(path), page)
    kib = _bench_memory().peak_rss_kib([path])
    # A Python with torch, OpenCV and the networks loaded: well above an empty interpreter's ~10 MiB.
    assert 100 * 1024 < kib < 4 * 1024 * 1024


def test_the_line_benchmark_reads_line_mode_with_the_line_network_of_line_mode() -> None:
    """Its timing wrapper hands the reader every network the classifier has, line mode's own too."""
    from recognition.reader import ReadParams, _line_model

    class Lines:
        def log_probs(self, ink: np.ndarray) -> None:
            return None

    general, line_mode = Lines(), Lines()
    with_both = type("WithBoth", (), {"lines": general, "line_mode_lines": line_mode})()
    timed = _bench_script("bench_reader").TimedModel(with_both)
    chosen = _line_model(timed, ReadParams(), line_mode=True)
    assert chosen is timed.line_mode_lines and chosen.model is line_mode  # type: ignore[union-attr]
    assert _line_model(timed, ReadParams()).model is general  # type: ignore[union-attr]


def test_bench_reader_puts_the_printed_label_where_asked() -> None:
    bench_reader = _bench_script("bench_reader")
    line = np.full((100, 400), 230, np.uint8)
    for where, (rows, _, first, below) in bench_reader.LABELS.items():
        out = bench_reader.with_label(line, where)
        assert out.shape == (100 + rows - first, 400)
        strip = out[100:] if below else out[: rows - first]
        assert (strip < 128).any(), where  # the letters are in the strip ...
        assert np.array_equal(out[:100] if below else out[rows - first :], line)  # ... and the line is as it was
    cut = bench_reader.with_label(line, "cut")
    assert (cut[0] < 128).any()  # the letters run off the image's top edge


def test_bench_reader_prints_the_prefix_before_the_line() -> None:
    bench_reader = _bench_script("bench_reader")
    line = np.full((100, 400), 230, np.uint8)
    cv2.putText(line, "1234", (20, 80), cv2.FONT_HERSHEY_SIMPLEX, 2.0, 20, 6)
    out = bench_reader.with_prefix(line, "R$")
    width = out.shape[1] - 400
    assert out.shape[0] == 100 and width > 50
    assert np.array_equal(out[:, width:], line)
    assert (out[:, :width] < 128).any()
