"""The printed-letter network: a printed letter or currency sign told from handwriting and marks.

A cheque prints its currency before the amount box ("R$", "U$S", "USD"), and a crop of the amount
often catches it. The digit networks never learnt letters, so they read "R$" as 12 and "U$S" as
055. This small network (:class:`PrintedNet`, one logit) answers one question about a piece of
ink: is it a printed letter or sign? In ``line`` mode the reader asks it about the pieces at
the two ends of the line, and paints a run of printed pieces there over before reading
(:func:`printed_ends`); in ``page`` mode it leaves out a free string most of whose pieces are
printed (:func:`printed_texts`: a form's title found as a string).

It learns from letters and signs rendered in the machine's TrueType fonts (DejaVu, Liberation)
and Pillow's own typeface, against MNIST-train digits (the reader's held-out split left out),
alone and touching, the pieces of synthetic lines of them, digits printed in the same fonts,
and the hand-drawn non-digits the digit networks learn (dashes, commas, blobs, halves and pairs
of digits, fences). Letters a digit can look like in
print (I, l, i, j like 1; O, o, Q like 0; Z, z like 2; b, G like 6; g, q like 9) are not taught:
a piece shaped so is left to the digit networks. Every sample is a binary mask made by
:func:`recognition.normalise.normalise_mask`, as the reader makes them of a line's pieces.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np
import torch
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageFont
from torch import nn

from recognition.augment import distort_or_retry
from recognition.mnist import DigitSet
from recognition.model import (
    MEAN,
    REJECT,
    STD,
    batched_logits,
    conv_features,
    inference_module,
    load_network_file,
    save_network,
)
from recognition.nondigits import nondigit_crop
from recognition.normalise import normalise_mask
from segmentation.cleanup import as_gray
from segmentation.elements import GrayImage
from segmentation.errors import InvalidInput, ModelError
from segmentation.fields import line_ink, line_pieces

log = logging.getLogger(__name__)

DEFAULT_PRINTED_WEIGHTS = Path(__file__).resolve().parent.parent / "weights" / "printednet.pt"
WIDTHS = (12, 24, 32, 48)
# Taught as printed: capitals and small letters a digit does not look like, and currency and other
# signs printed before amounts.
LETTERS = "ABCDEFHKLMNPRSTUVWXYacdefhkmnprstuvwxy"
SIGNS = "$$$$€£¥#*%&"
# Not taught at all, either way: printed letters a handwritten digit can look like.
LOOKALIKES = "IlijOoQZzbGgq"
PRINTED_DIGITS = "0123456789"
FONT_DIRS = (Path("/usr/share/fonts/truetype"), Path("/usr/share/fonts/opentype"))
# Share of each kind of sample: printed letters and signs (one, or two run together), and the
# others: handwritten digits, two or three of them touching, the pieces of synthetic hard and cents
# lines as the reader cuts them (line_piece_masks), printed digits, hand-drawn non-digits.
# Without the touching digits, two touching digits looked like a printed letter to the network
# ("14" like a K, "80"): held-out simple lines lost an end digit or two in 4 of 300. With them but
# without the lines' pieces, the hard lines' heavier overlaps did (held out, "4914811" read 4914,
# "197762" 762: 9 of 2,400 hard, cents and shrunk lines changed, 8 for the worse).
SHARES = {
    "letter": 0.35,
    "run": 0.08,
    "digit": 0.17,
    "touching": 0.1,
    "line_piece": 0.2,
    "printed_digit": 0.05,
    "mark": 0.05,
}
# Hand-drawn non-digits taught as not printed (hand-drawn and printed signs are left out: a sign
# is not a digit either way).
MARK_KINDS = ("blob", "dash", "slash", "comma", "corner", "half", "pair", "specks", "fence")


class PrintedNet(nn.Module):
    """CNN mapping (N, 1, 28, 28) standardised masks to (N, 1) logits of "a printed letter or sign"."""

    def __init__(self, widths: tuple[int, int, int, int] = WIDTHS, dropout: float = 0.2) -> None:
        super().__init__()
        self.widths = widths
        self.features = conv_features(widths)
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(dropout), nn.Linear(widths[3] * 5 * 5, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


class PrintedClassifier:
    """A printed-letter network with its calibration temperature, ready for batched CPU inference."""

    def __init__(self, network: PrintedNet, temperature: float = 1.0) -> None:
        self.network = network.eval()
        self.temperature = float(temperature)
        self._module = inference_module(network)

    def probabilities(self, images: NDArray[np.float32]) -> NDArray[np.float32]:
        """p(printed letter or sign) (N,) of normalised masks (N, 28, 28), ink = 1.0."""
        if images.ndim != 3 or images.shape[1:] != (28, 28):
            raise InvalidInput(f"expected normalised images of shape (N, 28, 28), got {images.shape}")
        if images.shape[0] == 0:
            return np.zeros(0, np.float32)
        logits = batched_logits(self._module, images, 1)[:, 0] / self.temperature
        return (1.0 / (1.0 + np.exp(-logits))).astype(np.float32)


def save_printed_weights(path: Path, network: PrintedNet, temperature: float) -> None:
    save_network(path, network, temperature, input="normalise_mask")


def load_printed_classifier(path: Path = DEFAULT_PRINTED_WEIGHTS) -> PrintedClassifier:
    """The classifier in a file written by :func:`save_printed_weights`; ModelError if missing or corrupt."""
    network, payload = load_network_file(path, lambda p: PrintedNet(widths=tuple(p["widths"])), "printed-letter model")
    if payload.get("input") != "normalise_mask":
        raise ModelError(f"{path} was trained with another input normalisation")
    log.info("loaded printed-letter model from %s", path)
    return PrintedClassifier(network, float(payload["temperature"]))  # type: ignore[arg-type]


# --- the reader's use ------------------------------------------------------------------

# A piece is printed when the network gives it at least this; a run of them at either end of a line
# is painted over, at most PRINTED_END_PIECES a side. Held out (bench_reader.py --source val), the
# network shipped read the prefixes R$, U$S and USD alike at 0.95 and 0.98 (hard lines by the
# digits 268 of 300 each, 269 without a prefix), and at 0.95 changed more lines without one
# (touching digits at an end taken for a letter: hard lines 2 against 1 of 900, tilted 7 against 3
# of 300, redrawn with a 3 px pen 2 against 0; measured with the check still made at the writing's
# own scale). The network before it lost U$S at 0.99 (236 of 300: its S is less sure).
PRINTED_P = 0.98
PRINTED_END_PIECES = 4
# A piece the digit classifier calls no digit at least so surely may lie inside a printed run.
NOT_DIGIT_P = 0.9


def _normalised(masks: Sequence[GrayImage]) -> list[NDArray[np.float32]]:
    """The network inputs of pieces' masks (a blank frame for one that cannot be normalised)."""
    out = []
    for mask in masks:
        try:
            out.append(normalise_mask(mask))
        except InvalidInput:
            out.append(np.zeros((28, 28), np.float32))
    return out


class DigitModel(Protocol):
    """What :func:`printed_ends` needs of the digit classifier: calibrated (N, 11) probabilities, column 10 not a digit."""

    def probabilities(self, images: NDArray[np.float32]) -> NDArray[np.float32]: ...


def printed_ends(
    model: PrintedClassifier,
    masks: Sequence[GrayImage],
    threshold: float = PRINTED_P,
    *,
    digits: DigitModel | None = None,
) -> list[int]:
    """Which of a line's pieces, left to right (``masks``: each piece's ink, 255, cut to its box),
    are a printed prefix or suffix: the runs from either end whose pieces the network calls
    printed, at most ``PRINTED_END_PIECES`` a side. With ``digits`` (the digit classifier), a
    run goes on over a piece that is no digit (``NOT_DIGIT_P``: the ``$`` between "U" and "S"
    when the printed-letter network is less sure of it), but ends on a printed piece. A line
    whose every piece is printed keeps them all (it is printed text, not a prefix to
    handwriting): []."""
    if len(masks) < 2:
        return []
    # The two end pieces first: on a line with no printed run (the common case) nothing more is asked.
    first, last = _normalised([masks[0], masks[-1]])
    ends_printed = model.probabilities(np.stack([first, last])) >= threshold
    if not ends_printed.any():
        return []
    inner = sorted(
        (
            set(range(1, min(PRINTED_END_PIECES, len(masks))))
            | set(range(max(0, len(masks) - PRINTED_END_PIECES), len(masks) - 1))
        )
        - {0, len(masks) - 1}
    )
    ends = [0, len(masks) - 1, *inner]
    batch = np.stack([first, last, *_normalised([masks[k] for k in inner])])
    p_inner = model.probabilities(batch[2:]) >= threshold if inner else np.zeros(0, bool)
    printed = dict(zip(ends, [*ends_printed.tolist(), *p_inner.tolist()], strict=True))
    no_digit = dict.fromkeys(ends, False)
    if digits is not None:
        p_none = digits.probabilities(batch)[:, REJECT].tolist()
        no_digit = {k: v >= NOT_DIGIT_P for k, v in zip(ends, p_none, strict=True)}
    chosen: set[int] = set()
    for order in (range(len(masks)), range(len(masks) - 1, -1, -1)):
        run: list[int] = []
        kept = 0
        for k in order:
            if k not in printed or not (printed[k] or no_digit[k]):
                break
            run.append(k)
            kept = len(run) if printed[k] else kept
        chosen.update(run[:kept])
    return [] if len(chosen) >= len(masks) else sorted(chosen)


# A free field of a page is printed text (a title, a label read as a field) when at least
# PRINTED_TEXT_MIN_PIECES of its pieces, and at least PRINTED_TEXT_SHARE of them, are printed
# letters or signs to the network; at most PRINTED_TEXT_MAX_PIECES of a field are asked about.
# The first values tried, measured on the held-out forms of bench_forms.py's rows (150 and 300 dpi,
# coarser, on a scanner bed, light, a fax): printed text read as a field 77 -> 40, every field read
# the same (docs/reading-history.md). A handwritten string with a printed label run into it ("Amount
# 1234": at most 5 of its 10 pieces letters, o not taught) is under the share.
PRINTED_TEXT_MIN_PIECES = 3
PRINTED_TEXT_SHARE = 0.6
PRINTED_TEXT_MAX_PIECES = 24


def printed_texts(
    model: PrintedClassifier, fields: Sequence[Sequence[GrayImage]], threshold: float = PRINTED_P
) -> list[bool]:
    """Which of a page's free fields (each its pieces' masks, left to right) are printed text: see
    ``PRINTED_TEXT_SHARE``. One network call for the page."""
    asked = [
        list(pieces[:PRINTED_TEXT_MAX_PIECES]) if len(pieces) >= PRINTED_TEXT_MIN_PIECES else [] for pieces in fields
    ]
    images = [image for pieces in asked for image in _normalised(pieces)]
    if not images:
        return [False] * len(fields)
    printed = model.probabilities(np.stack(images)) >= threshold
    out, start = [], 0
    for pieces in asked:
        share = float(printed[start : start + len(pieces)].mean()) if pieces else 0.0
        out.append(bool(pieces) and share >= PRINTED_TEXT_SHARE)
        start += len(pieces)
    return out


# --- training data ---------------------------------------------------------------------


@dataclass(frozen=True)
class PrintedConfig:
    samples: int = 120_000
    epochs: int = 8
    batch: int = 256
    lr: float = 2e-3
    seed: int = 0
    widths: tuple[int, int, int, int] = WIDTHS
    threads: int = 1


def training_fonts() -> list[Path]:
    """The TrueType fonts of the machine (sorted, so a seed draws the same ones); Pillow's own is added in sampling."""
    found = {p for d in FONT_DIRS if d.is_dir() for p in d.rglob("*") if p.suffix.lower() in (".ttf", ".otf")}
    # A font of symbols or mathematics has no letters to speak of.
    return sorted(p for p in found if "Math" not in p.name and "Symbol" not in p.name)


@lru_cache(maxsize=512)
def _font(path: str, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size) if not path else ImageFont.truetype(path, size)


def render_text(rng: np.random.Generator, text: str, fonts: Sequence[Path]) -> NDArray[np.uint8]:
    """``text`` printed in a font drawn from ``fonts`` (or Pillow's own), regular to bold, upright or
    slanted, a little turned: an ink-bright uint8 image, the text about its middle."""
    choice = int(rng.integers(len(fonts) + 1))
    path = str(fonts[choice]) if choice < len(fonts) else ""
    size = int(rng.integers(28, 72))
    canvas = 3 * size + 40 * len(text)
    image = Image.new("L", (canvas, canvas), 0)
    weight = int(rng.integers(0, 3)) if rng.random() < 0.4 else 0
    spacing = float(rng.uniform(-0.12, 0.02)) * size  # letters run together, as tight print does
    draw = ImageDraw.Draw(image)
    x = canvas / 2 - draw.textlength(text, font=_font(path, size)) / 2
    for char in text:
        draw.text(
            (x, canvas / 2), char, font=_font(path, size), fill=255, anchor="lm", stroke_width=weight, stroke_fill=255
        )
        x += draw.textlength(char, font=_font(path, size)) + spacing
    shear = float(rng.uniform(-0.25, 0.1)) if rng.random() < 0.4 else 0.0
    angle = float(rng.uniform(-5, 5))
    matrix = cv2.getRotationMatrix2D((canvas / 2, canvas / 2), angle, 1.0)
    matrix[0, 1] += shear
    matrix[0, 2] -= shear * canvas / 2
    return np.asarray(cv2.warpAffine(np.asarray(image), matrix, (canvas, canvas)), dtype=np.uint8)


def _mask(image: NDArray[np.uint8], rng: np.random.Generator) -> NDArray[np.float32] | None:
    """An ink-bright image as the reader would see a piece of it: scanned (blurred, noisy),
    binarised, a pixel thinner or thicker now and then, normalised; None for no ink."""
    img = image.astype(np.float32)
    if rng.random() < 0.6:
        img = np.asarray(cv2.GaussianBlur(img, (0, 0), float(rng.uniform(0.5, 2.0))), np.float32)
    if rng.random() < 0.4:
        img = img + rng.normal(0, rng.uniform(5, 30), img.shape).astype(np.float32)
    level = float(rng.uniform(0.35, 0.65)) * float(img.max())
    mask = np.where(img > level, 255, 0).astype(np.uint8)
    if rng.random() < 0.3:
        kernel = np.ones((3, 3), np.uint8)
        mask = as_gray(cv2.erode(mask, kernel) if rng.random() < 0.5 else cv2.dilate(mask, kernel))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    if count < 2:
        return None
    # The reader asks about pieces: keep the largest and what lies over it in x (a $'s bar, a dot).
    big = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    x0, x1 = stats[big, cv2.CC_STAT_LEFT], stats[big, cv2.CC_STAT_LEFT] + stats[big, cv2.CC_STAT_WIDTH]
    keep = [
        k
        for k in range(1, count)
        if min(x1, stats[k, 0] + stats[k, 2]) - max(x0, stats[k, 0]) > 0 and stats[k, cv2.CC_STAT_AREA] >= 8
    ]
    piece = np.where(np.isin(labels, [big, *keep]), 255, 0).astype(np.uint8)
    rows, cols = np.flatnonzero(piece.any(axis=1)), np.flatnonzero(piece.any(axis=0))
    try:
        return normalise_mask(piece[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1])
    except InvalidInput:
        return None


def printed_sample(
    rng: np.random.Generator, kind: str, digits: NDArray[np.uint8], fonts: Sequence[Path]
) -> NDArray[np.float32] | None:
    """One training mask (28, 28) of ``kind`` (a key of ``SHARES``), or None when a draw left no ink."""
    if kind == "letter":
        text = (LETTERS + SIGNS)[int(rng.integers(len(LETTERS) + len(SIGNS)))]
        return _mask(render_text(rng, text, fonts), rng)
    if kind == "run":
        pool = LETTERS + SIGNS
        text = "".join(pool[int(i)] for i in rng.integers(len(pool), size=2))
        return _mask(render_text(rng, text, fonts), rng)
    if kind == "printed_digit":
        return _mask(render_text(rng, PRINTED_DIGITS[int(rng.integers(10))], fonts), rng)
    if kind == "digit":
        digit = distort_or_retry(digits[int(rng.integers(len(digits)))], rng)
        big = cv2.resize((digit * 255).astype(np.uint8), None, fx=3, fy=3, interpolation=cv2.INTER_CUBIC)
        return _mask(as_gray(big), rng)
    if kind == "touching":
        pair = nondigit_crop(rng, digits, "pair")
        return _mask(as_gray(cv2.resize(pair, None, fx=3, fy=3, interpolation=cv2.INTER_CUBIC)), rng)
    crop = nondigit_crop(rng, digits, MARK_KINDS[int(rng.integers(len(MARK_KINDS)))])
    return _mask(crop, rng)


def line_piece_masks(rng: np.random.Generator, digits: DigitSet, count: int) -> list[NDArray[np.float32]]:
    """``count`` normalised masks of the pieces (:func:`segmentation.fields.line_pieces`) of synthetic
    hard and cents lines of ``digits`` (:func:`recognition.synthetic.make_line`, ``make_cents_line``:
    digits overlapping, broken strokes, separators, guide lines, security backgrounds), as line mode
    sees the ends of a line with no printed letter."""
    from recognition.synthetic import make_cents_line, make_line

    out: list[NDArray[np.float32]] = []
    while len(out) < count:
        gray, _ = (make_line if rng.random() < 0.75 else make_cents_line)(rng, digits)
        for mask in line_pieces(line_ink(gray)):
            try:
                out.append(normalise_mask(mask))
            except InvalidInput:
                continue
    order = rng.permutation(len(out))[:count]
    return [out[int(k)] for k in order]


def printed_set(
    rng: np.random.Generator, count: int, digits: DigitSet, fonts: Sequence[Path]
) -> tuple[NDArray[np.uint8], NDArray[np.float32]]:
    """``count`` masks (N, 28, 28) uint8 (0..255) and labels (N,) 1.0 printed, 0.0 not."""
    kinds = list(SHARES)
    shares = np.array([SHARES[k] for k in kinds])
    drawn = [kinds[int(k)] for k in rng.choice(len(kinds), size=count, p=shares / shares.sum())]
    pieces = line_piece_masks(rng, digits, drawn.count("line_piece"))
    images = np.zeros((count, 28, 28), np.uint8)
    labels = np.zeros(count, np.float32)
    n = 0
    while n < count:
        kind = drawn[n]
        sample = pieces.pop() if kind == "line_piece" else printed_sample(rng, kind, digits.images, fonts)
        if sample is None:
            continue
        images[n] = np.round(sample * 255)
        labels[n] = kind in ("letter", "run")
        n += 1
    return images, labels


def fit_binary_temperature(logits: NDArray[np.float32], labels: NDArray[np.float32]) -> float:
    """The temperature minimising the binary log loss of held-out ``logits``."""
    best, best_loss = 1.0, float("inf")
    for t in np.exp(np.linspace(np.log(0.25), np.log(4.0), 81)):
        z = logits / t
        loss = float(np.mean(np.logaddexp(0.0, z) - labels * z))
        if loss < best_loss:
            best, best_loss = float(t), loss
    return best


def validation_masks(
    val_digits: DigitSet, config: PrintedConfig = PrintedConfig()
) -> tuple[NDArray[np.uint8], NDArray[np.float32]]:
    """The held-out masks of :func:`train_printed` (its temperature is fitted on them): a tenth as many
    as the training masks, drawn from ``val_digits`` (the held-out split) with a seed of their own."""
    return printed_set(np.random.default_rng((config.seed, 1)), config.samples // 10, val_digits, training_fonts())


def train_printed(
    digits: DigitSet, val_digits: DigitSet, out: Path, config: PrintedConfig = PrintedConfig()
) -> list[float]:
    """Train :class:`PrintedNet` on ``config.samples`` fresh masks (``digits``: MNIST train less the
    held-out split), fit its temperature on :func:`validation_masks` of ``val_digits`` (the held-out
    split), save it to ``out``; returns the loss of each epoch."""
    torch.manual_seed(config.seed)
    torch.set_num_threads(config.threads)
    fonts = training_fonts()
    if not fonts:
        log.warning("no TrueType fonts found in %s: letters are drawn in Pillow's own typeface only", FONT_DIRS)
    rng = np.random.default_rng(config.seed)
    start = time.perf_counter()
    images, labels = printed_set(rng, config.samples, digits, fonts)
    val_images, val_labels = validation_masks(val_digits, config)
    log.info("made %d training masks in %.0f s", len(images), time.perf_counter() - start)
    network = PrintedNet(config.widths)
    optimiser = torch.optim.AdamW(network.parameters(), lr=config.lr, weight_decay=1e-4)
    steps = config.epochs * ((len(images) + config.batch - 1) // config.batch)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=config.lr, total_steps=steps)
    x_all = torch.from_numpy(images)
    y_all = torch.from_numpy(labels)
    loss_fn = nn.BCEWithLogitsLoss()
    losses = []
    for epoch in range(config.epochs):
        network.train()
        order = torch.randperm(len(images))
        total, began = 0.0, time.perf_counter()
        for i in range(0, len(order), config.batch):
            idx = order[i : i + config.batch]
            x = ((x_all[idx].float() / 255.0 - MEAN) / STD).unsqueeze(1)
            loss = loss_fn(network(x)[:, 0], y_all[idx])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
            total += loss.item() * len(idx)
        losses.append(total / len(images))
        log.info("epoch %d: loss %.4f, %.0f s", epoch + 1, losses[-1], time.perf_counter() - began)
    network.eval()
    logits = batched_logits(inference_module(network, fuse=False), val_images.astype(np.float32) / 255.0, 1)[:, 0]
    save_printed_weights(out, network, fit_binary_temperature(logits, val_labels))
    return losses


def held_out_figures(
    model: PrintedClassifier, val_digits: DigitSet, config: PrintedConfig = PrintedConfig()
) -> dict[str, float]:
    """Shares of the held-out masks (:func:`validation_masks`) called printed at ``PRINTED_P``: of the
    printed letters and signs, and of the others."""
    images, labels = validation_masks(val_digits, config)
    p = model.probabilities(images.astype(np.float32) / 255.0)
    return {
        "val_printed_recall": float((p[labels == 1] >= PRINTED_P).mean()),
        "val_others_called_printed": float((p[labels == 0] >= PRINTED_P).mean()),
    }
