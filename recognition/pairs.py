"""Reading two digits that touch or overlap as one candidate: the pair network.

Over-segmentation cannot separate digits whose strokes run through each other (a 3 whose
tail crosses into a 7, a loop of one 0 inside the next): every cut leaves part of one digit
on the other side, and the digit network then reads two wrong halves or one wrong digit.
The pair network reads such a blob whole. Its input is the candidate mask fitted into a
20x48 box (aspect kept) and centred in a 28x56 frame (:func:`recognition.normalise.normalise_pair`); its output is
21 logits: whether the candidate is exactly two digits, and the left and the right digit.
The decoder (:mod:`recognition.decoding`) offers a pair reading for runs of touching atoms
one to two digits wide, next to the readings made of single digits.

The triple network is the same network one digit wider: a run of three digits written into
each other (28x84 input, :func:`recognition.normalise.normalise_triple`; 31 logits: whether
the candidate is exactly three digits, and its three digits), trained on samples of
:func:`triple_sample`.

Training (:func:`pair_sample`, :func:`train_pairs`) composes MNIST train digits, less the
digit network's held-out split; MNIST test is never used for any choice.
"""

from __future__ import annotations

import logging
import pickle
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from numpy.typing import NDArray
from torch import nn

from recognition.calibration import fit_temperature, softmax
from recognition.model import MEAN, REJECT, STD, batched_logits, conv_features, inference_module
from recognition.nondigits import printed_sign
from recognition.normalise import PAIR_SHAPE, TRIPLE_SHAPE, normalise_pair, normalise_triple
from segmentation.cleanup import as_gray
from segmentation.errors import InvalidInput, ModelError

log = logging.getLogger(__name__)

SHAPES = {2: PAIR_SHAPE, 3: TRIPLE_SHAPE}


def digit_head(i: int) -> slice:
    """Output columns of the ``i``-th digit (from the left) of a pair or triple reading."""
    return slice(1 + 10 * i, 11 + 10 * i)


# Output columns of PairClassifier.probabilities: p(two digits), left digit, right digit
# (a triple network: p(three digits) and three digits).
PAIR, LEFT, RIGHT = 0, digit_head(0), digit_head(1)
DEFAULT_PAIR_WEIGHTS = Path(__file__).resolve().parent.parent / "weights" / "pairnet.pt"
# The same network trained with one digit of many samples drawn oversize (``PairData.size_mix``),
# as in comb cells; the comb reader uses it (recognition.combs), free strings use the other.
DEFAULT_COMB_PAIR_WEIGHTS = DEFAULT_PAIR_WEIGHTS.with_name("combpairnet.pt")
# Three digits written into each other, read whole (free strings).
DEFAULT_TRIPLE_WEIGHTS = DEFAULT_PAIR_WEIGHTS.with_name("triplenet.pt")
BATCH = 256


class PairNet(nn.Module):
    """CNN mapping (N, 1, 28, 56) standardised images to (N, 21) logits: pair, left digit, right digit.

    With ``count`` 3, the triple network: (N, 1, 28, 84) to (N, 31), p(three digits) and three digits.
    """

    def __init__(
        self, widths: tuple[int, int, int, int] = (16, 32, 64, 96), dropout: float = 0.25, count: int = 2
    ) -> None:
        super().__init__()
        if count not in SHAPES:
            raise ValueError(f"a pair or triple network reads 2 or 3 digits, not {count}")
        self.widths, self.count = widths, count
        self.features = conv_features(widths)  # the digit network's stack: 28x56 -> 5x12, 28x84 -> 5x19
        cols = SHAPES[count][1] // 4 - 2
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(dropout), nn.Linear(widths[3] * 5 * cols, 1 + 10 * count))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def digit_of_pair(q: NDArray[np.float32], half: slice) -> NDArray[np.float32]:
    """11 probabilities of one digit (``half``: LEFT or RIGHT) of a pair reading ``q`` (21,).

    A digit's probability is p(two digits) x p(that digit); not-a-digit takes the rest.
    """
    p = np.empty(11, np.float32)
    p[:REJECT] = q[PAIR] * q[half]
    p[REJECT] = 1.0 - q[PAIR]
    return p


def pair_probabilities(logits: NDArray[np.float32], t_pair: float, t_digit: float) -> NDArray[np.float32]:
    """(N, 21) calibrated probabilities of (N, 21) logits: p(pair), softmax left, softmax right.

    (N, 31) triple logits likewise: p(three digits) and the softmax of each digit.
    """
    out = np.empty_like(logits, dtype=np.float32)
    out[:, PAIR] = 1.0 / (1.0 + np.exp(-logits[:, PAIR].astype(np.float64) / t_pair))
    for i in range((logits.shape[1] - 1) // 10):
        out[:, digit_head(i)] = softmax(logits[:, digit_head(i)], t_digit)
    return out


class PairClassifier:
    """A pair network with its two calibration temperatures, ready for batched CPU inference."""

    def __init__(self, network: PairNet, t_pair: float = 1.0, t_digit: float = 1.0) -> None:
        self.network = network.eval()
        self.t_pair, self.t_digit = float(t_pair), float(t_digit)
        self.count = network.count
        self.shape = SHAPES[network.count]
        self.outputs = 1 + 10 * network.count
        self._module = inference_module(network)

    def logits(self, images: NDArray[np.float32]) -> NDArray[np.float32]:
        if images.ndim != 3 or images.shape[1:] != self.shape:
            raise InvalidInput(
                f"expected normalised candidates of shape (N, {self.shape[0]}, {self.shape[1]}), got {images.shape}"
            )
        return batched_logits(self._module, images, self.outputs, BATCH)

    def probabilities(self, images: NDArray[np.float32]) -> NDArray[np.float32]:
        """(N, 21): column 0 p(exactly two digits), 1..10 the left digit, 11..20 the right digit (triples: (N, 31))."""
        if images.shape[0] == 0:
            return np.zeros((0, self.outputs), np.float32)
        return pair_probabilities(self.logits(images), self.t_pair, self.t_digit)


def save_pair_weights(path: Path, network: PairNet, t_pair: float, t_digit: float) -> None:
    payload = {
        "state_dict": {k: v.detach().cpu() for k, v in network.state_dict().items()},
        "widths": list(network.widths),
        "count": network.count,
        "t_pair": float(t_pair),
        "t_digit": float(t_digit),
        "mean": MEAN,
        "std": STD,
        "input": list(SHAPES[network.count]),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(payload, path)


def load_pair_classifier(path: Path = DEFAULT_PAIR_WEIGHTS) -> PairClassifier:
    """The pair classifier in a file written by :func:`save_pair_weights`; ModelError if missing or corrupt."""
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
        network = PairNet(widths=tuple(payload["widths"]), count=int(payload.get("count", 2)))
        network.load_state_dict(payload["state_dict"], strict=True)
        t_pair, t_digit = float(payload["t_pair"]), float(payload["t_digit"])
    except FileNotFoundError as exc:
        raise ModelError(f"no pair model weights at {path}") from exc
    except (RuntimeError, KeyError, TypeError, ValueError, EOFError, pickle.UnpicklingError) as exc:
        raise ModelError(f"the pair model weights at {path} are corrupt or do not match the network: {exc}") from exc
    if payload.get("mean") != MEAN or payload.get("std") != STD or payload.get("input") != list(SHAPES[network.count]):
        raise ModelError(f"{path} was trained with another input normalisation")
    log.info("loaded pair model from %s", path)
    return PairClassifier(network, t_pair, t_digit)


# --- training data ---------------------------------------------------------------------

MNIST_INK = 60
# Horizontal gap between the two digits of a pair, as a share of the height: from deep
# overlap to a hair apart (the hard test lines use -0.3..0.3; pairs further apart are cut
# cleanly and read digit by digit).
PAIR_GAP = (-0.4, 0.12)
# Kinds of training sample and their shares: two digits (the positives), then candidates
# that are not exactly two digits: one digit (sometimes drawn wide), three digits, a digit
# with a slice of its neighbour, a digit with a comma, point or dash.
KINDS = ("pair", "one", "three", "slice", "mark")
# Measured on lines and forms of held-out digits (30 epochs each): against (0.55, 0.15, 0.1,
# 0.15, 0.05) with three-digit gaps up to 0.12, free form fields 182-184 -> 188 of 207, hard
# lines 0.660-0.668 -> 0.674 of 900, simple lines unchanged (0.93).
KIND_SHARES = (0.5, 0.15, 0.2, 0.1, 0.05)
# Gaps between the digits of a three-digit negative: not so deep that one digit hides behind
# the others (that is a pair to the eye too), and up to well apart (a digit beside a touching
# pair is three digits, not a pair).
THREE_GAP = (-0.2, 0.3)
# Share of the pair, three and slice samples in which one digit is drawn this many times the
# height of the others and centred on them, as an oversize digit in a comb cell beside its
# neighbours (comb digits are 0.55-0.85 of the cell, oversize ones 1.0-1.2).
SIZE_MIX = 0.0
BIG_DIGIT = (1.2, 2.0)
IGNORE = -100


@dataclass(frozen=True, slots=True)
class PairData:
    """The mix of training samples: shares of :data:`KINDS` (summing to 1) and gap ranges (shares of the height)."""

    kind_shares: tuple[float, ...] = KIND_SHARES
    pair_gap: tuple[float, float] = PAIR_GAP
    three_gap: tuple[float, float] = THREE_GAP
    size_mix: float = SIZE_MIX
    # Share of samples that are a printed sign ($, #, ...), alone or before a digit, labelled not
    # exactly two digits (a # as wide as two digits read "78" before): 0 in the shipped mix.
    sign_share: float = 0.0
    # Digits the network reads whole: 2 (pairs, KINDS) or 3 (triples, TRIPLE_KINDS).
    count: int = 2


# The triple network's samples: three digits (the positives), then what is not exactly three
# digits: two digits (one of them sometimes drawn wide), one digit drawn wide, four digits,
# two digits with a slice of a third, two digits with a point or dash. Positives' gaps are
# ``pair_gap``'s, four digits' ``three_gap``'s.
TRIPLE_KINDS = ("three", "two", "one", "four", "slice", "mark")
TRIPLE_SHARES = (0.5, 0.17, 0.05, 0.13, 0.1, 0.05)
TRIPLE_DATA = PairData(kind_shares=TRIPLE_SHARES, count=3)


def _digit_alpha(
    image: NDArray[np.uint8], height: int, rng: np.random.Generator, stretch: float = 1.0
) -> NDArray[np.float32]:
    """An MNIST digit (ink bright) cropped to its ink, ``height`` px tall, slanted and thickened at random."""
    rows = np.flatnonzero(image.max(axis=1) > MNIST_INK)
    cols = np.flatnonzero(image.max(axis=0) > MNIST_INK)
    crop = image[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1].astype(np.float32) / 255.0
    h, w = crop.shape
    width = max(2, round(w * height / h * stretch * rng.uniform(0.85, 1.15)))
    alpha = cv2.resize(crop, (width, height), interpolation=cv2.INTER_CUBIC)
    shear = float(rng.uniform(-0.25, 0.25))
    pad = int(abs(shear) * height) + 2
    matrix = np.array([[1.0, shear, pad - shear * height / 2.0], [0.0, 1.0, 0.0]], np.float32)
    alpha = cv2.warpAffine(alpha, matrix, (width + 2 * pad, height))
    if rng.random() < 0.3:
        size = max(2, height // 20)
        kernel = np.ones((size, size), np.uint8)
        alpha = cv2.dilate(alpha, kernel) if rng.random() < 0.6 else cv2.erode(alpha, kernel)
    cols = np.flatnonzero(alpha.max(axis=0) > 0.3)
    if cols.size == 0:
        return np.asarray(alpha, np.float32)
    return np.asarray(alpha[:, cols[0] : cols[-1] + 1], np.float32)


def _compose(parts: list[tuple[NDArray[np.float32], int]], gaps: list[int], height: int) -> NDArray[np.uint8]:
    """Binary mask (ink = 255) of ``parts`` (alpha, top offset) placed left to right with ``gaps`` px between."""
    xs, x = [], 0
    for i, (alpha, _) in enumerate(parts):
        xs.append(x)
        x = max(0, x + alpha.shape[1] + (gaps[i] if i < len(gaps) else 0))
    x_min = min(xs)
    width = max(x + a.shape[1] for x, (a, _) in zip(xs, parts, strict=True)) - x_min
    top_min = min(t for _, t in parts)
    bottom = max(t + a.shape[0] for a, t in parts)
    canvas = np.zeros((max(height * 2, bottom - top_min), width + 2), np.float32)
    for x, (alpha, top) in zip(xs, parts, strict=True):
        y = top - top_min
        region = canvas[y : y + alpha.shape[0], x - x_min : x - x_min + alpha.shape[1]]
        np.maximum(region, alpha[: region.shape[0], : region.shape[1]], out=region)
    return as_gray(np.where(canvas > 0.5, 255, 0).astype(np.uint8))


def _sample_digit(
    rng: np.random.Generator, images: NDArray[np.uint8], labels: NDArray[np.uint8], height: int, oversize: bool
) -> tuple[int, NDArray[np.float32], int]:
    """(label, alpha, top offset) of a random digit of a sample ``height`` px tall; ``oversize``: 1.2-2x taller."""
    index = int(rng.integers(len(images)))
    h = max(8, round(height * rng.uniform(0.85, 1.12)))
    if oversize:
        h = round(h * rng.uniform(*BIG_DIGIT))
    alpha = _digit_alpha(images[index], h, rng)
    if oversize:  # centred on the others' middle, like a big digit in a comb cell
        return int(labels[index]), alpha, -(height + h) // 2 + int(rng.integers(-height // 10, height // 10 + 1))
    return int(labels[index]), alpha, int(rng.integers(-h // 10, h // 10 + 1)) - h


def _mark(rng: np.random.Generator, height: int) -> tuple[NDArray[np.float32], int]:
    """A point or a dash (alpha, top offset) beside digits ``height`` px tall."""
    size = max(4, height // 4)
    mark = np.zeros((size, size), np.float32)
    cv2.circle(mark, (size // 2, size // 2), max(2, size // 3), 1.0, -1)
    if rng.random() < 0.5:
        mark = np.zeros((max(3, height // 10), height // 2), np.float32) + 1.0
    return mark, -mark.shape[0] - int(rng.integers(0, height // 2))


def pair_sample(
    rng: np.random.Generator,
    images: NDArray[np.uint8],
    labels: NDArray[np.uint8],
    kind: str | None = None,
    data: PairData = PairData(),
) -> tuple[NDArray[np.float32], int, int, int]:
    """One training sample: (normalised 28x56 image, is_pair 0/1, left digit, right digit); IGNORE for non-pairs."""
    if kind is None and data.sign_share and rng.random() < data.sign_share:
        kind = "sign"
    kind = kind or str(rng.choice(KINDS, p=data.kind_shares))
    height = int(rng.integers(22, 72))
    # Which digit of the sample, in drawing order, is drawn oversize (-1: none); no draw at all
    # without a size mix.
    big = -1
    if data.size_mix > 0 and rng.random() < data.size_mix:
        big = int(rng.integers(0, 3)) % (3 if kind == "three" else 2)

    def digit(oversize: bool = False) -> tuple[int, NDArray[np.float32], int]:
        return _sample_digit(rng, images, labels, height, oversize)

    def gap() -> int:
        return round(height * rng.uniform(*data.pair_gap))

    if kind == "pair":
        (a, alpha_a, top_a), (b, alpha_b, top_b) = digit(big == 0), digit(big == 1)
        mask = _compose([(alpha_a, top_a), (alpha_b, top_b)], [gap()], height)
        return normalise_pair(mask), 1, a, b
    if kind == "one":
        index = int(rng.integers(len(images)))
        alpha = _digit_alpha(images[index], height, rng, stretch=float(rng.choice([1.0, rng.uniform(1.2, 2.0)])))
        mask = _compose([(alpha, 0)], [], height)
    elif kind == "three":
        three = [digit(big == i) for i in range(3)]
        gaps = [round(height * rng.uniform(*data.three_gap)) for _ in range(2)]
        mask = _compose([(alpha, top) for _, alpha, top in three], gaps, height)
    elif kind == "slice":
        (_, alpha_a, top_a), (_, alpha_b, top_b) = digit(big == 0), digit(big == 1)
        keep = max(2, round(alpha_b.shape[1] * rng.uniform(0.15, 0.5)))
        sliced = alpha_b[:, :keep] if rng.random() < 0.5 else alpha_b[:, -keep:]
        parts = [(alpha_a, top_a), (sliced, top_b)]
        mask = _compose(parts if rng.random() < 0.5 else parts[::-1], [round(height * rng.uniform(-0.15, 0.1))], height)
    elif kind == "sign":
        sign = _printed_sign(rng, height)
        parts = [(sign, -sign.shape[0] - int(rng.integers(0, max(1, height // 8))))]
        if rng.random() < 0.3:  # the amount's first digit beside it
            _, alpha, top = digit()
            parts.append((alpha, top))
        mask = _compose(parts, [round(height * rng.uniform(-0.05, 0.3))], height)
    else:
        _, alpha_a, top_a = digit(big == 0)
        mark, top = _mark(rng, height)
        mask = _compose([(alpha_a, top_a), (mark, top)], [gap()], height)
    return normalise_pair(mask), 0, IGNORE, IGNORE


def _printed_sign(rng: np.random.Generator, height: int) -> NDArray[np.float32]:
    """A printed sign (:func:`recognition.nondigits.printed_sign`) as an alpha about ``height`` px tall,
    0.8-1.6 times as wide as printed (a typeface's # can be as wide as two digits)."""
    image = printed_sign(rng)
    rows, cols = np.flatnonzero(image.max(axis=1) > 127), np.flatnonzero(image.max(axis=0) > 127)
    crop = image[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1].astype(np.float32) / 255.0
    h = max(8, round(height * rng.uniform(0.8, 1.15)))
    w = max(3, round(crop.shape[1] * h / crop.shape[0] * rng.uniform(0.8, 1.6)))
    return np.asarray(cv2.resize(crop, (w, h), interpolation=cv2.INTER_AREA), np.float32)


def triple_sample(
    rng: np.random.Generator,
    images: NDArray[np.uint8],
    labels: NDArray[np.uint8],
    kind: str | None = None,
    data: PairData = TRIPLE_DATA,
) -> tuple[NDArray[np.float32], int, tuple[int, int, int]]:
    """One training sample of the triple network: (normalised 28x84 image, is_three 0/1, its three digits).

    The digits are IGNORE for samples that are not exactly three digits (:data:`TRIPLE_KINDS`).
    """
    kind = kind or str(rng.choice(TRIPLE_KINDS, p=data.kind_shares))
    height = int(rng.integers(22, 72))
    big = int(rng.integers(0, 4)) if data.size_mix > 0 and rng.random() < data.size_mix else -1

    def digits(n: int) -> list[tuple[int, NDArray[np.float32], int]]:
        return [_sample_digit(rng, images, labels, height, big == i) for i in range(n)]

    def gaps(n: int, bounds: tuple[float, float]) -> list[int]:
        return [round(height * rng.uniform(*bounds)) for _ in range(n)]

    if kind == "three":
        three = digits(3)
        mask = _compose([(alpha, top) for _, alpha, top in three], gaps(2, data.pair_gap), height)
        return normalise_triple(mask), 1, (three[0][0], three[1][0], three[2][0])
    if kind == "one":
        index = int(rng.integers(len(images)))
        mask = _compose(
            [(_digit_alpha(images[index], height, rng, stretch=float(rng.uniform(1.5, 3.0))), 0)], [], height
        )
        return normalise_triple(mask), 0, (IGNORE, IGNORE, IGNORE)
    if kind == "four":
        mask = _compose([(alpha, top) for _, alpha, top in digits(4)], gaps(3, data.three_gap), height)
        return normalise_triple(mask), 0, (IGNORE, IGNORE, IGNORE)
    parts = [(alpha, top) for _, alpha, top in digits(2)]
    if kind == "two" and rng.random() < 0.3:  # one of them drawn wide
        index, wide = int(rng.integers(len(images))), int(rng.integers(2))
        parts[wide] = (_digit_alpha(images[index], height, rng, stretch=float(rng.uniform(1.2, 2.0))), -height)
    between = gaps(1, data.pair_gap)
    if kind == "slice":
        _, alpha, top = _sample_digit(rng, images, labels, height, False)
        keep = max(2, round(alpha.shape[1] * rng.uniform(0.15, 0.5)))
        at_end = rng.random() < 0.5
        sliced = (alpha[:, :keep] if at_end else alpha[:, -keep:], top)
        gap = round(height * rng.uniform(-0.15, 0.1))
        parts, between = ([*parts, sliced], [*between, gap]) if at_end else ([sliced, *parts], [gap, *between])
    elif kind == "mark":
        parts.append(_mark(rng, height))
        between.append(round(height * rng.uniform(*data.pair_gap)))
    return normalise_triple(_compose(parts, between, height)), 0, (IGNORE, IGNORE, IGNORE)


def pair_batch(
    rng: np.random.Generator,
    images: NDArray[np.uint8],
    labels: NDArray[np.uint8],
    count: int,
    data: PairData = PairData(),
) -> tuple[NDArray[np.float32], NDArray[np.int64]]:
    """``count`` samples: images (count, 28, 56) and targets (count, 3) = is_pair, left, right.

    With ``data.count`` 3, triple samples: (count, 28, 84) and (count, 4) = is_three and the digits.
    """
    xs: list[NDArray[np.float32]] = []
    ys: list[tuple[int, ...]] = []
    while len(xs) < count:
        try:
            if data.count == 3:
                image, is_three, three = triple_sample(rng, images, labels, data=data)
                ys.append((is_three, *three))
            else:
                image, is_pair, left, right = pair_sample(rng, images, labels, data=data)
                ys.append((is_pair, left, right))
        except InvalidInput:
            continue
        xs.append(image)
    return np.stack(xs), np.array(ys, np.int64)


# --- training --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PairTrainConfig:
    epochs: int = 30
    samples_per_epoch: int = 60_000
    batch_size: int = 128
    max_lr: float = 3e-3
    weight_decay: float = 5e-4
    seed: int = 0
    val_samples: int = 6000
    widths: tuple[int, int, int, int] = (16, 32, 64, 96)
    data: PairData = PairData()
    # Weights file (save_pair_weights) to start from instead of a random network.
    init_weights: str | None = None
    # How many pair candidates cut by the page reader from synthetic fields of training digits are
    # mixed into every epoch, for the card; the samples themselves are train_pairs' ``field``
    # argument. 0: composed samples only. ``field_kind``: which candidates, "comb"
    # (recognition.fieldsamples.comb_pair_samples) or "free" (free_pair_samples).
    field_samples: int = 0
    field_kind: str = "comb"


@dataclass(slots=True)
class PairTrainResult:
    network: PairNet
    t_pair: float
    t_digit: float
    history: list[tuple[int, float, float, float]]  # epoch, loss, pair accuracy on positives' both digits, seconds
    metrics: dict[str, float]


def _loss(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    loss = nn.functional.binary_cross_entropy_with_logits(logits[:, PAIR], y[:, 0].float())
    for i in range(y.shape[1] - 1):
        loss = loss + nn.functional.cross_entropy(
            logits[:, digit_head(i)], y[:, 1 + i], ignore_index=IGNORE, label_smoothing=0.05
        )
    return loss


def _all_digits_right(
    predicted: NDArray[np.float32] | torch.Tensor, targets: NDArray[np.int64] | torch.Tensor
) -> NDArray[np.bool_]:
    """Per sample: whether every digit head's argmax is its target; logits or probabilities (N, 1 + 10k), targets (N, 1 + k)."""
    ok = np.ones(len(targets), bool)
    for i in range(targets.shape[1] - 1):
        ok &= np.asarray(predicted[:, digit_head(i)].argmax(1) == targets[:, 1 + i])
    return ok


def evaluate_pairs(probabilities: NDArray[np.float32], targets: NDArray[np.int64]) -> dict[str, float]:
    """Pair detection and reading rates of (N, 21) probabilities against (N, 3) targets (triples: (N, 31), (N, 4)).

    The keys say "pairs" for either network: a triple network's rates are of three digits.
    """
    positive = targets[:, 0] == 1
    said_pair = probabilities[:, PAIR] >= 0.5
    both = _all_digits_right(probabilities, targets)
    return {
        "pairs_read_exactly": float(np.mean(both[positive] & said_pair[positive])),
        "pairs_both_digits_right": float(np.mean(both[positive])),
        "non_pairs_rejected": float(np.mean(~said_pair[~positive])),
    }


def train_pairs(
    images: NDArray[np.uint8],
    labels: NDArray[np.uint8],
    val_images: NDArray[np.uint8],
    val_labels: NDArray[np.uint8],
    config: PairTrainConfig,
    on_epoch: Callable[[int, float, float, float], None] | None = None,
    field: tuple[NDArray[np.float32], NDArray[np.int64]] | None = None,
) -> PairTrainResult:
    """Train on samples composed afresh each epoch from ``images``, with the fixed ``field`` samples
    (images, targets as :func:`pair_batch`'s) added to every epoch; calibrate on ``val_images``' samples."""
    torch.manual_seed(config.seed)
    if config.init_weights is None:
        network = PairNet(widths=config.widths, count=config.data.count)
    else:  # fine-tuning: the file's widths and weights
        network = load_pair_classifier(Path(config.init_weights)).network
    ema = torch.optim.swa_utils.AveragedModel(
        network, multi_avg_fn=torch.optim.swa_utils.get_ema_multi_avg_fn(0.999), use_buffers=True
    )
    optimiser = torch.optim.AdamW(network.parameters(), lr=config.max_lr, weight_decay=config.weight_decay)
    per_epoch = config.samples_per_epoch + (0 if field is None else len(field[1]))
    steps = (per_epoch + config.batch_size - 1) // config.batch_size
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimiser, max_lr=config.max_lr, epochs=config.epochs, steps_per_epoch=steps
    )
    history: list[tuple[int, float, float, float]] = []
    for epoch in range(config.epochs):
        start = time.perf_counter()
        rng = np.random.default_rng((config.seed, epoch))
        x_all, y_all = pair_batch(rng, images, labels, config.samples_per_epoch, config.data)
        if field is not None:
            x_all, y_all = np.concatenate([x_all, field[0]]), np.concatenate([y_all, field[1]])
        network.train()
        total, right, seen, positives = 0.0, 0, 0, 0
        order = torch.randperm(len(x_all))
        for b in range(steps):
            idx = order[b * config.batch_size : (b + 1) * config.batch_size]
            x = (torch.from_numpy(x_all[idx.numpy()]) - MEAN) / STD
            y = torch.from_numpy(y_all[idx.numpy()])
            logits = network(x.unsqueeze(1))
            loss = _loss(logits, y)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            scheduler.step()
            ema.update_parameters(network)
            total += float(loss.detach()) * len(y)
            seen += len(y)
            pos = (y[:, 0] == 1).numpy()
            ok = _all_digits_right(logits.detach(), y)
            right += int((ok & pos).sum())
            positives += int(pos.sum())
        history.append((epoch + 1, total / seen, right / max(1, positives), time.perf_counter() - start))
        if on_epoch is not None:
            on_epoch(*history[-1])
    final = PairNet(widths=network.widths, count=network.count)
    final.load_state_dict(ema.module.state_dict())
    final.eval()
    vx, vy = pair_batch(
        np.random.default_rng((config.seed, 10_000)), val_images, val_labels, config.val_samples, config.data
    )
    with torch.inference_mode():
        logits = final(((torch.from_numpy(vx) - MEAN) / STD).unsqueeze(1)).numpy()
    # The pair logit as two-class logits [0, z]; both digit heads of the positives share one temperature.
    t_pair = fit_temperature(np.stack([np.zeros(len(logits), np.float32), logits[:, PAIR]], 1), vy[:, 0])
    positive = vy[:, 0] == 1
    heads = range(config.data.count)
    digit_logits = np.concatenate([logits[positive][:, digit_head(i)] for i in heads])
    t_digit = fit_temperature(digit_logits, np.concatenate([vy[positive, 1 + i] for i in heads]))
    metrics = evaluate_pairs(pair_probabilities(logits, t_pair, t_digit), vy)
    return PairTrainResult(final, t_pair, t_digit, history, metrics)
