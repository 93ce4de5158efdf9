"""Page segmentation benchmark: time of prepare_page + find_fields on one core, and field recall.

Run: ``python benchmarks/bench_segmentation.py [--data ../shared/datasets/mnist] [--pages 10] [--repeats 5]``.
Synthetic forms (MNIST t10k digits) at 150 and 300 dpi A4; OpenCV is limited to one
thread. Prints the best and median time per page (best-of-``repeats`` for each page)
and the share of truth fields matched by a found field with IoU >= 0.5. The machine's
load average is printed too: wall-clock timings on a busy machine are inflated, the
process CPU time much less so.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from recognition.synthetic import FormParams, load_digit_source, make_form  # noqa: E402
from segmentation.fields import find_fields, prepare_page  # noqa: E402

SIZES = {"150dpi": (1240, 1754), "300dpi": (2480, 3508)}


def _iou(a: list[int], b: list[int]) -> float:
    ix = max(0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / float(a[2] * a[3] + b[2] * b[3] - inter)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # ../shared from the main checkout, ../../shared from a worktree under wt/.
    default_data = next(
        (p for p in (ROOT.parent / "shared", ROOT.parent.parent / "shared") if (p / "datasets" / "mnist").exists()),
        ROOT.parent / "shared",
    )
    parser.add_argument("--data", type=Path, default=default_data / "datasets" / "mnist")
    parser.add_argument("--pages", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    cv2.setNumThreads(1)
    source = load_digit_source(args.data)
    print(f"load average: {' '.join(f'{v:.1f}' for v in os.getloadavg())} on {os.cpu_count()} CPUs")
    for name, (width, height) in SIZES.items():
        rng = np.random.default_rng(args.seed)
        times, cpu_times, found, total = [], [], 0, 0
        for _ in range(args.pages):
            gray, truth = make_form(rng, source, FormParams(width=width, height=height))
            best, best_cpu = float("inf"), float("inf")
            for _ in range(args.repeats):
                start, start_cpu = time.perf_counter(), time.process_time()
                fields = find_fields(prepare_page(gray))
                best = min(best, time.perf_counter() - start)
                best_cpu = min(best_cpu, time.process_time() - start_cpu)
            times.append(best * 1000.0)
            cpu_times.append(best_cpu * 1000.0)
            boxes = [f.box.to_list() for f in fields]
            for expected in truth["fields"]:
                total += 1
                found += any(_iou(b, expected["bbox"]) >= 0.5 for b in boxes)
        print(
            f"{name} ({width}x{height}): best {min(times):.0f} ms, median {np.median(times):.0f} ms, "
            f"max {max(times):.0f} ms per page (CPU: median {np.median(cpu_times):.0f} ms); fields matched {found}/{total} ({100.0 * found / total:.1f}%)"
        )


if __name__ == "__main__":
    main()
