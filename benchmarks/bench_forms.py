"""Page-reading benchmark: synthetic forms from MNIST test digits read end to end in ``page`` mode.

Run: ``python benchmarks/bench_forms.py [--data ../shared/datasets/mnist] [--forms 200] [--dpi D] [--shrink F] [--turn 0|90|180|270] [--scan clean|bed|light|fax] [--weights W]
[--source test|val] [--no-pairs] [--comb-oversize F]``.
Forms come from ``recognition.synthetic.make_form`` (printed title and labels, comb and free
fields, digits touching boxes and each other, skew up to 5 degrees, blur, noise, JPEG
artefacts). Each form is encoded as PNG and read like an upload (``load_page`` then
``read_page``), one process, ``torch.set_num_threads(1)``. A truth field is matched by the read
field holding its centre. Prints one JSON object: field exact match, digit accuracy (1 - edit
distance / truth digits, over all fields), free fields read exactly with their separators
(points, commas, dashes written back in at their positions), share of misread fields flagged ``needs_review``
and share of rightly read fields flagged too (the review work the flag costs), spurious
fields (read fields with digits where the form has no field: printed text read as digits),
wall and CPU ms per page, and the process's peak RSS.

``review_curve`` gives the same two shares for other review thresholds. A field is flagged
when it is doubtful on its own (a close second reading, ink that is no digit nor mark) or a
digit's confidence is below the threshold, so the forms are read once with threshold 0 and
the flags for each threshold follow from the lowest digit confidence of each field.
"""

from __future__ import annotations

import argparse
import io
import json
import resource
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common import add_reading_arguments, digits_for, network_files, text_with_separators  # noqa: E402  (benchmarks/, the script's directory)

from recognition.classifier import DEFAULT_WEIGHTS, load_classifier  # noqa: E402
from recognition.reader import ReadParams, read_page  # noqa: E402
from recognition.synthetic import COMB_OVERSIZE, FormParams, field_at, make_form, truth_digits  # noqa: E402
from segmentation.cleanup import turn  # noqa: E402
from segmentation.loading import load_page  # noqa: E402


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance between two digit strings."""
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (ca != cb))
    return row[-1]


REVIEW_CURVE = (0.5, 0.8, 0.9, 0.95, 0.99)


def flagged(field: dict[str, Any] | None, threshold: float) -> bool:
    """Whether ``field``, read with review threshold 0, is flagged at ``threshold``."""
    if field is None:
        return False
    return bool(field["needs_review"]) or any(d["confidence"] < threshold for d in field["digits"])


def score(truth: dict[str, Any], fields: list[dict[str, Any]], threshold: float) -> Counter[str]:
    """Counts for one form, its fields read with review threshold 0: fields, exact, digits,
    errors, flagged (misread but marked ``needs_review`` at ``threshold``), right_flagged
    (read right and marked), spurious, spurious_flagged, ``<kind>_fields`` / ``<kind>_exact``
    per truth field kind (comb, free), ``free_with_separators`` (free fields read exactly with
    their separators), and ``flagged@t`` / ``right_flagged@t`` for each
    threshold t of ``REVIEW_CURVE``.

    A spurious field is a read field with digits that no truth field maps to (printed text
    read as digits, say).
    """
    counts: Counter[str] = Counter()
    matched: set[int] = set()
    for expected in truth["fields"]:
        found = field_at(expected, fields)
        if found is not None:
            matched.add(id(found))
        want = truth_digits(expected)
        got = found["text"] if found else ""
        right = got == want
        counts.update(
            fields=1,
            exact=right,
            digits=len(want),
            errors=min(len(want), edit_distance(got, want)),
            flagged=not right and flagged(found, threshold),
            right_flagged=right and flagged(found, threshold),
        )
        for t in REVIEW_CURVE:
            counts[f"flagged@{t}" if not right else f"right_flagged@{t}"] += flagged(found, t)
        counts[f"{expected['kind']}_fields"] += 1
        counts[f"{expected['kind']}_exact"] += right
        if expected["kind"] == "free":
            counts["free_with_separators"] += found is not None and text_with_separators(found) == expected["text"]
    spurious = [f for f in fields if id(f) not in matched and f["text"]]
    counts.update(spurious=len(spurious), spurious_flagged=sum(flagged(f, threshold) for f in spurious))
    return counts


def shrunk(gray: np.ndarray, truth: dict[str, Any], factor: float) -> tuple[np.ndarray, dict[str, Any]]:
    """A form and its truth scaled by ``factor`` (area resampling, as a coarser scan would see it)."""
    small = cv2.resize(gray, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
    fields = [{**f, "bbox": [round(v * factor) for v in f["bbox"]]} for f in truth["fields"]]
    return small, {**truth, "fields": fields}


SCANS = ("clean", "bed", "light", "fax")
BED_LEVEL, BED_TILT_DEG, LIGHT_CONTRAST = 12, 2.0, 0.35


def scanned(gray: np.ndarray, truth: dict[str, Any], scan: str, dpi: int) -> tuple[bytes, str, dict[str, Any]]:
    """A form's file as ``scan`` makes it (see ``--scan``), its extension, and its truth in the
    frame the reader reports (the bed's margin added; the fax's square pixels at 204 dpi)."""
    if scan == "bed":
        pad = round(0.05 * gray.shape[1])
        bed = cv2.copyMakeBorder(gray, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=BED_LEVEL)
        matrix = cv2.getRotationMatrix2D((bed.shape[1] / 2, bed.shape[0] / 2), BED_TILT_DEG, 1.0)
        gray = cv2.warpAffine(bed, matrix, (bed.shape[1], bed.shape[0]), borderValue=BED_LEVEL)
        # The reader deskews about the page's centre, which is the bed's: boxes come back unrotated.
        fields = [{**f, "bbox": [f["bbox"][0] + pad, f["bbox"][1] + pad, *f["bbox"][2:]]} for f in truth["fields"]]
        truth = {**truth, "fields": fields}
    elif scan == "light":
        gray = (255 - (255 - gray.astype(np.float32)) * LIGHT_CONTRAST).round().astype(np.uint8)
    elif scan == "fax":
        factor = 204 / dpi
        size = (round(gray.shape[1] * factor), round(gray.shape[0] * 98 / dpi))
        out = io.BytesIO()
        Image.fromarray(cv2.resize(gray, size, interpolation=cv2.INTER_AREA)).save(out, format="TIFF", dpi=(204, 98))
        fields = [{**f, "bbox": [round(v * factor) for v in f["bbox"]]} for f in truth["fields"]]
        return out.getvalue(), "tif", {**truth, "fields": fields}
    ok, png = cv2.imencode(".png", gray)
    assert ok
    return png.tobytes(), "png", truth


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "datasets" / "mnist")
    parser.add_argument("--forms", type=int, default=200)
    parser.add_argument(
        "--dpi", type=int, default=150, help="page resolution; sizes scale from 150 dpi (A4: 1240 x 1754 px)"
    )
    parser.add_argument(
        "--shrink",
        type=float,
        default=1.0,
        help="scale each form by this factor (area resampling) before reading: the same forms scanned coarser",
    )
    parser.add_argument(
        "--turn",
        type=int,
        choices=(0, 90, 180, 270),
        default=0,
        help="feed each form turned counter-clockwise by this much: the reader should turn it back",
    )
    parser.add_argument(
        "--scan",
        choices=SCANS,
        default="clean",
        help="how each form comes from the scanner: as drawn; on a black bed, tilted 2 degrees; so light "
        "that the ink is 0.35 of its contrast; as a fax in standard mode (204 x 98 dpi TIFF)",
    )
    parser.add_argument(
        "--comb-oversize",
        type=float,
        default=COMB_OVERSIZE,
        help=f"share of comb digits drawn oversize, 1.0-1.2 cells high and over their walls (default {COMB_OVERSIZE}); "
        "the forms are otherwise the same",
    )
    parser.add_argument("--seed", type=int, default=2026)
    add_reading_arguments(parser)
    args = parser.parse_args()
    torch.set_num_threads(1)
    cv2.setNumThreads(1)  # one core: OpenCV would otherwise use every core

    model = load_classifier(args.weights or DEFAULT_WEIGHTS, **network_files(args))
    source = digits_for(args, args.data)
    threshold = ReadParams().review_threshold
    read_params = ReadParams(pairs=not args.no_pairs, raised=not args.no_raised, review_threshold=0.0)  # flags: score()
    rng = np.random.default_rng(args.seed)
    params = FormParams(
        width=round(1240 * args.dpi / 150), height=round(1754 * args.dpi / 150), comb_oversize=args.comb_oversize
    )
    totals: Counter[str] = Counter()
    wall: list[float] = []
    cpu: list[float] = []
    for index in range(args.forms + 1):
        gray, truth = make_form(rng, source, params)
        if args.shrink != 1.0:
            gray, truth = shrunk(gray, truth, args.shrink)
        if args.turn:
            gray = turn(gray, 360 - args.turn)  # truth boxes stay upright: the reader reports them so
        data, name, truth = scanned(gray, truth, args.scan, args.dpi)
        start_wall, start_cpu = time.perf_counter(), time.process_time()
        page = load_page(data, f"form-{index}.{name}", 1)
        result = read_page(model, page, "page", read_params).to_dict()
        if index == 0:
            continue  # warm-up
        wall.append(time.perf_counter() - start_wall)
        cpu.append(time.process_time() - start_cpu)
        totals += score(truth, result["fields"], threshold)
        totals["pages_turned"] += result["rotation"] != 0
    n, exact = totals["fields"], totals["exact"]
    print(
        json.dumps(
            {
                "forms": args.forms,
                "page_px": [round(params.width * args.shrink), round(params.height * args.shrink)],
                "fields": n,
                "field_exact_match": round(exact / n, 4),
                "field_exact_by_kind": {k: [totals[f"{k}_exact"], totals[f"{k}_fields"]] for k in ("comb", "free")},
                "free_exact_with_separators": [totals["free_with_separators"], totals["free_fields"]],
                "digit_accuracy": round(1 - totals["errors"] / max(1, totals["digits"]), 4),
                "review_threshold": threshold,
                "misread_fields_flagged": round(totals["flagged"] / max(1, n - exact), 4),
                "right_fields_flagged": round(totals["right_flagged"] / max(1, exact), 4),
                "review_curve": {
                    str(t): {
                        "misread_flagged": [totals[f"flagged@{t}"], n - exact],
                        "right_flagged": [totals[f"right_flagged@{t}"], exact],
                    }
                    for t in REVIEW_CURVE
                },
                "pages_read_turned": totals["pages_turned"],
                "spurious_fields": totals["spurious"],
                "spurious_fields_flagged": totals["spurious_flagged"],
                "ms_per_page_wall_median": round(1000 * float(np.median(wall)), 1),
                "ms_per_page_wall_mean": round(1000 * float(np.mean(wall)), 1),
                "ms_per_page_wall_p90": round(1000 * float(np.percentile(wall, 90)), 1),
                "ms_per_page_cpu_median": round(1000 * float(np.median(cpu)), 1),
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
