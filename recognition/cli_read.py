"""``formdigits read`` and ``formdigits sample``: in-process reading (no queue) and synthetic forms.

Registering the subcommands imports nothing heavy; torch, OpenCV and the reader are
imported inside the handlers.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

DEFAULT_WEIGHTS = Path(__file__).resolve().parent.parent / "weights" / "digitnet.pt"
DEFAULT_MNIST = Path(__file__).resolve().parent.parent.parent / "shared" / "datasets" / "mnist"


def add_read_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("read", help="read digits in image, PDF or ZIP files in-process (no queue)")
    p.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    p.add_argument("--mode", choices=("page", "line", "digit"), default="page", help="what each image holds")
    p.add_argument("--format", choices=("json", "csv"), default="json")
    p.add_argument("--overlay", type=Path, default=None, metavar="DIR", help="write a PNG per page with what was read")
    p.add_argument("--weights", type=Path, default=DEFAULT_WEIGHTS)
    p.add_argument(
        "--review-threshold",
        type=_probability,
        default=None,
        metavar="P",
        help="mark a field needs_review when a digit's confidence is below P (default 0.9)",
    )
    p.set_defaults(handler=run_read)


def add_sample_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("sample", help="write synthetic forms (MNIST test digits) with ground-truth JSON")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--count", type=int, default=10)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data", type=Path, default=DEFAULT_MNIST, help="directory with MNIST t10k idx files")
    p.set_defaults(handler=run_sample)


def _overlay_name(source: str, page: int) -> str:
    """A safe file name for a page's overlay, derived from the source label."""
    stem = "".join(c if c.isalnum() or c in "-_." else "_" for c in Path(source).name) or "page"
    return f"{stem}-p{page}.png"


def _probability(text: str) -> float:
    """``--review-threshold P``: a number from 0 to 1."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number from 0 to 1, got {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a number from 0 to 1, got {text!r}")
    return value


def run_read(args: argparse.Namespace) -> int:
    """Read each path (a ZIP's members each count as one document); print one JSON document or CSV."""
    from tqdm import tqdm

    from recognition.classifier import load_classifier
    from recognition.documents import read_paths
    from recognition.reader import ReadParams
    from recognition.results import results_csv

    classifier = load_classifier(args.weights)
    params = ReadParams() if args.review_threshold is None else ReadParams(review_threshold=args.review_threshold)
    if args.overlay is not None:
        args.overlay.mkdir(parents=True, exist_ok=True)

    results: list[dict[str, Any]] = []
    failed_inputs = 0
    bar = tqdm(args.paths, desc="reading", unit="file", file=sys.stderr, disable=len(args.paths) < 2)
    for path in bar:
        overlays: dict[str, dict[int, bytes]] | None = {} if args.overlay is not None else None
        documents = read_paths(classifier, [path], args.mode, params, overlays=overlays)
        results.extend(documents)
        # An input failed when none of its documents gave a single page.
        failed_inputs += all(d["error"] or all(p["error"] for p in d["pages"]) for d in documents)
        for source, pages in (overlays or {}).items():
            for number, png in pages.items():
                (args.overlay / _overlay_name(source, number)).write_bytes(png)

    if args.format == "json":
        json.dump({"results": results}, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(results_csv(results))
    return 1 if failed_inputs == len(args.paths) else 0


def run_sample(args: argparse.Namespace) -> int:
    """Write ``count`` synthetic forms as PNG with a ``.json`` ground truth beside each."""
    import cv2
    import numpy as np
    from tqdm import tqdm

    from recognition.synthetic import load_digit_source, make_form

    source = load_digit_source(args.data)
    args.out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    for index in tqdm(range(args.count), desc="forms", unit="form", file=sys.stderr, disable=args.count < 2):
        image, truth = make_form(rng, source)
        stem = f"form-{index + 1:04d}"
        cv2.imwrite(str(args.out / f"{stem}.png"), image)
        (args.out / f"{stem}.json").write_text(json.dumps(truth, indent=2) + "\n")
    print(f"wrote {args.count} forms to {args.out}", file=sys.stderr)
    return 0
