"""Reader benchmark: exact-match rate and time per line on digit strings built from MNIST test digits.

Run: ``python benchmarks/bench_reader.py [--data ../shared/datasets/mnist] [--set simple|hard|check|cents] [--lines 300]
[--source test|val] [--no-pairs] [--no-raised] [--weights W] [--scale F] [--pen W] [--frame KIND] [--skew DEG] [--margin F] [--label [above|cut|below]] [--prefix TEXT]``.
``simple``: ``--digits`` MNIST test digits pasted left to right with gaps of -1..6 px (a
gap of 0 or less usually makes two digits touch), 3x upscaled, dark on light paper, about
60 px digit height; the text is digits only. ``hard``: ``recognition.synthetic.make_line``
(3-9 digits overlapping up to 0.3 of their height, broken strokes, guide lines, security
backgrounds, commas, points and dashes); compared with separators written back in. ``check``:
``recognition.synthetic.make_check_line``, a hard line with a printed ``$``, ``#`` or ``*``
before it and/or a hand-drawn fence (a long stroke, ``=``) after it; judge it by
``digits_exact_match`` (the fence may come back as a dash). ``cents``:
``recognition.synthetic.make_cents_line``, 1-6 digits drawn like the hard lines' and two more
half as high with their tops level with theirs (raised cents), underlined half of the time.
``--pen W`` (simple lines only) draws each line again with a round pen ``W`` px wide
(``recognition.synthetic.redraw_with_pen``; the writing is about 60 px high, so 3 px is a
ballpoint's share of it, about 0.05, and the MNIST strokes are about 0.12), before ``--scale``.
``--frame KIND`` draws a printed box around each line's writing and cuts the image out of it as
``recognition.synthetic.framed`` says (``box``, ``tight``, ``cut``, ``cut-bottom``), before ``--scale``.
``--skew DEG`` turns each line by an angle drawn evenly from -DEG..DEG degrees, on a canvas grown
to hold it (``recognition.synthetic.tilted``), after ``--frame``. ``--margin F`` puts F times each
line's height of paper (its median level) on every side, last: a loose crop. ``--label`` puts a
printed "PAY TO THE ORDER OF" right above each line (a crop that caught the payee's label), first;
``--label cut`` only its letters' bottoms, cut by the image's top edge; ``--label below`` the whole
line under it. ``--prefix TEXT`` prints TEXT (a currency: ``R$``, ``U$S``) before each line, before
``--label``; judge it by ``digits_exact_match``.
Each line is read in ``line`` mode (``read_image``: binarisation, guide-line removal,
over-segmentation, one batched model call, best path). Time is wall time per line in one
process with ``torch.set_num_threads(1)``, after a warm-up; the model's share is
reported apart, and CPU time too, which other processes on a busy machine disturb less. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import torch
from numpy.typing import NDArray

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common import add_reading_arguments, digits_for, network_files, text_with_separators  # noqa: E402  (benchmarks/, the script's directory)

from recognition.classifier import DEFAULT_WEIGHTS, load_classifier  # noqa: E402
from recognition.reader import ReadParams, read_image  # noqa: E402
from recognition.results import FieldResult  # noqa: E402
from recognition.synthetic import FRAMES, framed, make_cents_line, make_check_line, redraw_with_pen, tilted  # noqa: E402
from recognition.synthetic import make_line as make_hard_line  # noqa: E402
from segmentation.strings import StringParams  # noqa: E402

UPSCALE = 3


def with_separators(field: FieldResult) -> str:
    """The field's digits with its separators written back in at their positions."""
    return text_with_separators(field.to_dict())


def ink_crop(image: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """An MNIST digit (ink bright) cut to its ink."""
    rows, cols = np.flatnonzero(image.max(axis=1) > 60), np.flatnonzero(image.max(axis=0) > 60)
    return image[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def with_margin(image: NDArray[np.uint8], share: float) -> NDArray[np.uint8]:
    """``image`` with ``share`` of its height of paper (its median level) on every side."""
    pad = round(share * image.shape[0])
    paper = float(np.median(image))
    return np.asarray(cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=paper), np.uint8)


# Where --label puts the printed line: (strip height, baseline in it, rows kept from), and whether below.
LABELS = {
    "above": (40, 52, 18, False),  # the letters' tops (~17 px) right above the line
    "cut": (14, 8, 0, False),  # the letters' bottoms (8 px) cut by the image's top edge
    "below": (40, 32, 0, True),  # whole letters under the line, 8 px from its bottom edge
}


def with_label(image: NDArray[np.uint8], where: str = "above") -> NDArray[np.uint8]:
    """``image`` with a printed "PAY TO THE ORDER OF" (letters ~29 px high, partly shown) in a strip
    above or below it, as ``LABELS[where]`` says."""
    rows, baseline, first, below = LABELS[where]
    strip = np.full((rows, image.shape[1]), round(float(np.median(image))), np.uint8)
    cv2.putText(strip, "PAY TO THE ORDER OF", (5, baseline), cv2.FONT_HERSHEY_SIMPLEX, 1.3, 40, 3)
    return np.vstack([image, strip[first:]] if below else [strip[first:], image])


def with_prefix(image: NDArray[np.uint8], text: str) -> NDArray[np.uint8]:
    """``image`` with ``text`` printed before it (OpenCV's simplex font, 0.9 of the writing's height:
    Otsu's ink rows), centred on the line's middle, a gap of 0.4 of that height after it."""
    _, ink = cv2.threshold(image, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    rows = np.flatnonzero(ink.any(axis=1))
    writing = int(rows[-1] - rows[0] + 1) if rows.size else image.shape[0] // 2
    scale = writing * 0.9 / 24.0  # a scale of 1 prints capitals about 22 px high
    thickness = max(1, round(2.0 * scale))
    (w, h), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
    printed = np.full((image.shape[0], w + round(0.4 * writing) + 8), round(float(np.median(image))), np.uint8)
    baseline = min(image.shape[0] - 4, (image.shape[0] + h) // 2)
    cv2.putText(printed, text, (4, baseline), cv2.FONT_HERSHEY_SIMPLEX, scale, 30, thickness, cv2.LINE_AA)
    return np.hstack([printed, image])


def make_line(images: NDArray[np.uint8], gaps: list[int]) -> NDArray[np.uint8]:
    """A grayscale line (dark ink on light paper) of MNIST digits with ``gaps`` px between them."""
    crops = [ink_crop(i) for i in images]
    width = sum(c.shape[1] for c in crops) + sum(gaps) + 24
    canvas = np.zeros((36, width), np.uint8)
    x = 12
    for crop, gap in zip(crops, [*gaps, 0], strict=True):
        y = 30 - crop.shape[0]
        region = canvas[y : y + crop.shape[0], x : x + crop.shape[1]]
        np.maximum(region, crop, out=region)
        x += crop.shape[1] + gap
    big = cv2.resize(canvas, None, fx=UPSCALE, fy=UPSCALE, interpolation=cv2.INTER_CUBIC)
    return (235 - (big.astype(np.float32) * (200 / 255))).clip(0, 255).astype(np.uint8)


# The classifier's other networks, by the names the reader looks them up by.
NETWORKS = ("pairs", "comb_pairs", "triples", "lines", "line_mode_lines", "printed")


class TimedModel:
    """The classifier, with the time spent inside it and inside each of its other networks (``NETWORKS``) it has."""

    pairs: TimedModel | None
    comb_pairs: TimedModel | None
    triples: TimedModel | None
    lines: TimedModel | None
    line_mode_lines: TimedModel | None
    printed: TimedModel | None

    def __init__(self, model: object, owner: TimedModel | None = None) -> None:
        self.model = model
        self.owner = owner or self
        self.seconds = 0.0
        for name in NETWORKS:
            network = getattr(model, name, None) if owner is None else None
            setattr(self, name, None if network is None else TimedModel(network, self))

    def probabilities(self, images: NDArray[np.float32]) -> NDArray[np.float32]:
        start = time.perf_counter()
        out = self.model.probabilities(images)  # type: ignore[attr-defined]
        self.owner.seconds += time.perf_counter() - start
        return out  # type: ignore[no-any-return]

    def log_probs(self, ink: NDArray[np.uint8]) -> NDArray[np.float32] | None:
        start = time.perf_counter()
        out = self.model.log_probs(ink)  # type: ignore[attr-defined]
        self.owner.seconds += time.perf_counter() - start
        return out  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "datasets" / "mnist")
    parser.add_argument("--set", choices=("simple", "hard", "check", "cents"), default="simple")
    parser.add_argument("--lines", type=int, default=300)
    parser.add_argument("--digits", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--scale", type=float, default=1.0, help="shrink (or enlarge) every line image by this factor")
    parser.add_argument(
        "--pen", type=int, default=0, help="simple lines: draw them again with a round pen this many px wide"
    )
    parser.add_argument("--frame", choices=FRAMES, help="cut each line out of a printed box drawn around it")
    parser.add_argument("--skew", type=float, default=0.0, help="turn each line by up to this many degrees either way")
    parser.add_argument("--margin", type=float, default=0.0, help="paper around each line, in line heights")
    parser.add_argument(
        "--label",
        nargs="?",
        const="above",
        choices=tuple(LABELS),
        help="a printed line right above each line (or its letters' bottoms on the image's top edge: cut; under it: below)",
    )
    parser.add_argument("--prefix", help="print this before each line, as a cheque prints its currency (R$, U$S, USD)")
    parser.add_argument("--max-cuts", type=int, default=StringParams().max_cuts_per_component)
    add_reading_arguments(parser)
    args = parser.parse_args()
    if args.pen and args.set != "simple":
        parser.error(
            "--pen redraws clean lines only (--set simple): a background or guide line would be redrawn as strokes"
        )
    torch.set_num_threads(1)
    cv2.setNumThreads(1)  # one core: OpenCV would otherwise use every core

    digits = digits_for(args, args.data)
    rng = np.random.default_rng(args.seed)
    model = TimedModel(load_classifier(args.weights or DEFAULT_WEIGHTS, **network_files(args)))
    params = ReadParams(
        string=StringParams(max_cuts_per_component=args.max_cuts), pairs=not args.no_pairs, raised=not args.no_raised
    )
    lines = []
    if args.set in ("hard", "check", "cents"):
        make = {"hard": make_hard_line, "check": make_check_line, "cents": make_cents_line}[args.set]
        lines = [make(rng, digits) for _ in range(args.lines)]
    for _ in range(args.lines if args.set == "simple" else 0):
        picks = rng.choice(len(digits), size=args.digits, replace=False)
        gaps = [int(g) for g in rng.integers(-1, 7, size=args.digits - 1)]
        lines.append((make_line(digits.images[picks], gaps), "".join(str(d) for d in digits.labels[picks])))
    if args.pen:
        lines = [(redraw_with_pen(image, args.pen), text) for image, text in lines]
    if args.prefix:
        lines = [(with_prefix(image, args.prefix), text) for image, text in lines]
    if args.label:
        lines = [(with_label(image, args.label), text) for image, text in lines]
    if args.frame:
        frame_rng = np.random.default_rng(args.seed + 1)  # the lines stay those of --seed
        lines = [(framed(image, frame_rng, args.frame), text) for image, text in lines]
    if args.skew:
        skew_rng = np.random.default_rng(args.seed + 2)
        lines = [(tilted(image, float(skew_rng.uniform(-args.skew, args.skew))), text) for image, text in lines]
    if args.margin:
        lines = [(with_margin(image, args.margin), text) for image, text in lines]
    if args.scale != 1.0:
        method = cv2.INTER_AREA if args.scale < 1.0 else cv2.INTER_CUBIC  # a coarser or a finer scan
        lines = [
            (cv2.resize(image, None, fx=args.scale, fy=args.scale, interpolation=method), text) for image, text in lines
        ]
    for image, _ in lines[:10]:
        read_image(model, image, "line", params)  # warm-up: the traced model specialises on first calls

    model.seconds = 0.0
    start, cpu_start = time.perf_counter(), time.process_time()
    fields = [read_image(model, image, "line", params).fields[0] for image, _ in lines]
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    truths = [truth for _, truth in lines]
    right = sum(with_separators(f) == t for f, t in zip(fields, truths, strict=True))
    digit_truths = ["".join(c for c in t if c.isdigit()) for t in truths]
    digits_right = sum(f.text == t for f, t in zip(fields, digit_truths, strict=True))
    same_length = [(f.text, t) for f, t in zip(fields, digit_truths, strict=True) if len(f.text) == len(t)]
    digit_right = sum(a == b for text, t in same_length for a, b in zip(text, t, strict=True))
    review = sum(f.needs_review for f in fields)
    wrong_flagged = sum(f.needs_review for f, t in zip(fields, truths, strict=True) if with_separators(f) != t)
    # Digit mode: one drawn digit per image, either polarity; the non-model part must stay < 5 ms.
    digit_images = [line[0][:, : line[0].shape[0]] for line in lines[:50]]
    line_model_seconds, model.seconds = model.seconds, 0.0
    start = time.perf_counter()
    for image in digit_images:
        read_image(model, image, "digit")
    digit_ms = 1000 * (time.perf_counter() - start - model.seconds) / len(digit_images)
    print(
        json.dumps(
            {
                "lines": args.lines,
                "set": args.set,
                "exact_match": round(right / args.lines, 4),
                "digits_exact_match": round(digits_right / args.lines, 4),
                "right_length": round(len(same_length) / args.lines, 4),
                "digit_accuracy_when_length_right": round(digit_right / max(1, sum(len(t) for _, t in same_length)), 4),
                "needs_review_share": round(review / args.lines, 4),
                "wrong_lines_flagged_for_review": f"{wrong_flagged}/{args.lines - right}",
                "ms_per_line": round(1000 * elapsed / args.lines, 2),
                "cpu_ms_per_line": round(1000 * cpu / args.lines, 2),
                "model_ms_per_line": round(1000 * line_model_seconds / args.lines, 2),
                "line_image_px": list(lines[0][0].shape),
                "digit_mode_ms_without_model": round(digit_ms, 2),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
