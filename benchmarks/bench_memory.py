"""Memory benchmark: peak RSS of a ``formdigits read`` process reading A4 pages at 300 dpi.

Run: ``python benchmarks/bench_memory.py [--data ../shared/datasets/mnist] [--pages 3] [--runs 3] [--seed 7] [--dpi 300]``.
Writes ``--pages`` synthetic A4 forms at 300 dpi (``recognition.synthetic.make_form``, 2480x3508,
MNIST t10k digits, as ``bench_forms.py --dpi 300`` draws them; ``--dpi 600``: the same forms
enlarged twice, cubic, 4960x7016, which the reader reads reduced to 300 dpi) as PNG files in a temporary
directory, then runs ``python -m formdigits.cli read`` on all of them in a child process
``--runs`` times. The child's peak resident set size comes from
``getrusage(RUSAGE_CHILDREN)``, as ``/usr/bin/time -v`` reports it; each run is its own child,
so the figure is that of one reading process (imports, all the networks, the pages one after
another). Prints one JSON object: the peak RSS of each run in MiB and in MB, and the target.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from recognition.synthetic import FormParams, load_digit_source, make_form  # noqa: E402

A4_300_DPI = (2480, 3508)
TARGET_MB = 500


def write_pages(directory: Path, data: Path, count: int, seed: int, factor: float = 1.0) -> list[Path]:
    """``count`` synthetic A4 forms at 300 dpi enlarged ``factor`` times, as PNG files in ``directory``."""
    source = load_digit_source(data)
    rng = np.random.default_rng(seed)
    paths = []
    for index in range(count):
        gray, _ = make_form(rng, source, FormParams(width=A4_300_DPI[0], height=A4_300_DPI[1]))
        if factor != 1.0:
            gray = cv2.resize(gray, None, fx=factor, fy=factor, interpolation=cv2.INTER_CUBIC)
        path = directory / f"page-{index + 1}.png"
        cv2.imwrite(str(path), gray)
        paths.append(path)
    return paths


def peak_rss_kib(pages: list[Path]) -> int:
    """Peak RSS in KiB of a fresh ``formdigits read`` process reading ``pages``.

    ``RUSAGE_CHILDREN`` holds the largest peak of the children waited for so far, so each run
    must not be outdone by an earlier one: it is read in a child of its own (a fresh Python
    that starts the reader and reports its child's figure).
    """
    probe = (
        "import resource, subprocess, sys\n"
        "subprocess.run([sys.executable, '-m', 'formdigits.cli', 'read', *sys.argv[1:]],"
        " check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, *map(str, pages)], check=True, capture_output=True, text=True, cwd=ROOT
    )
    return int(done.stdout.strip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "datasets" / "mnist")
    parser.add_argument("--pages", type=int, default=3)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--dpi", type=int, choices=(300, 600), default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        pages = write_pages(Path(tmp), args.data, args.pages, args.seed, args.dpi / 300)
        runs = [peak_rss_kib(pages) for _ in range(args.runs)]
    mib = [round(kib / 1024, 1) for kib in runs]
    mb = [round(kib * 1024 / 1e6, 1) for kib in runs]
    print(
        json.dumps(
            {
                "pages": args.pages,
                "page_px": [round(side * args.dpi / 300) for side in A4_300_DPI],
                "peak_rss_mib": mib,
                "peak_rss_mb": mb,
                "target_mb": TARGET_MB,
                "met": max(mb) <= TARGET_MB,
                "own_process_peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
