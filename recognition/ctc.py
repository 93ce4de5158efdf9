"""What the decoder needs of the line network's output, in NumPy: its alphabet and CTC scores.

The line network (:mod:`recognition.sequence`) gives one distribution per step over the blank
(index 0) and ``ALPHABET``. No torch here, as in :mod:`recognition.decoding`.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

ALPHABET = "0123456789,.-"
BLANK = 0
# The network's input geometry: the string's ink cut to its ink box and scaled to LINE_HEIGHT
# rows (aspect kept), PAD blank columns either side; one output step per STRIDE columns.
LINE_HEIGHT = 32
STRIDE = 4
PAD = 4


def steps_of_columns(ink: NDArray[np.uint8], *columns: float) -> list[float]:
    """The output steps (fractional) over field ``columns`` of the line network's reading of ``ink``."""
    rows, cols = np.flatnonzero(ink.max(axis=1, initial=0)), np.flatnonzero(ink.max(axis=0, initial=0))
    if not len(rows):
        return [0.0] * len(columns)
    scale = LINE_HEIGHT / (rows[-1] - rows[0] + 1)
    return [float((PAD + (column - cols[0]) * scale) / STRIDE) for column in columns]


def encode(text: str) -> list[int]:
    """``text`` as label indices (1..13); characters outside ``ALPHABET`` (a slash) are left out."""
    return [ALPHABET.index(c) + 1 for c in text if c in ALPHABET]


def greedy_text(log_probs: NDArray[np.float32]) -> str:
    """The best label per step, repeats merged and blanks dropped: the line network's own reading."""
    out: list[str] = []
    previous = BLANK
    for label in np.argmax(log_probs, axis=1).tolist():
        if label not in (previous, BLANK):
            out.append(ALPHABET[label - 1])
        previous = label
    return "".join(out)


def digits_only(log_probs: NDArray[np.float32]) -> NDArray[np.float32]:
    """(T, 14) log-probabilities as (T, 11): the marks merged into the blank, so texts are judged by their digits alone."""
    merged = np.logaddexp.reduce(log_probs[:, [BLANK, *range(11, len(ALPHABET) + 1)]], axis=1)
    return np.concatenate([merged[:, None], log_probs[:, 1:11]], axis=1).astype(np.float32)


def sequence_log_likelihoods(log_probs: NDArray[np.float32], texts: list[str]) -> list[float]:
    """log p(text | the line) of each of ``texts``, summed over all alignments (the CTC forward algorithm).

    ``log_probs`` is (T, 14), blank at 0. ``-inf`` for a text that cannot be aligned to T
    steps. Characters outside ``ALPHABET`` are left out. All texts run through one recurrence
    over the steps, each padded with blanks it cannot reach.
    """
    if not texts:
        return []
    steps = log_probs.shape[0]
    if steps == 0:
        return [-math.inf] * len(texts)
    labels = [encode(t) for t in texts]
    size = 2 * max(len(x) for x in labels) + 1
    extended = np.zeros((len(texts), size), dtype=np.int64)  # blank, label, blank, label, ..., blank
    for row, x in enumerate(labels):
        extended[row, 1 : 2 * len(x) : 2] = x
    ends = np.asarray([2 * len(x) for x in labels])  # index of each text's last blank
    lp = np.take_along_axis(log_probs.astype(np.float64)[:, None, :], extended[None], axis=2)  # (T, P, S)
    # A label may follow the label two back, skipping the blank between, unless the two are equal.
    skip = np.zeros((len(texts), size), dtype=bool)
    skip[:, 2:] = (extended[:, 2:] != BLANK) & (extended[:, 2:] != extended[:, :-2])
    alpha = np.full((len(texts), size), -np.inf)
    alpha[:, : min(2, size)] = lp[0, :, : min(2, size)]
    one_back = np.full_like(alpha, -np.inf)
    two_back = np.full_like(alpha, -np.inf)
    merged = np.empty_like(alpha)
    # Written in place (the same operations, no temporaries): two_back keeps -inf wherever it may
    # not skip, as np.where(skip, ..., -inf) made it.
    allowed = skip[:, 2:]
    with np.errstate(invalid="ignore"):
        for t in range(1, steps):
            one_back[:, 1:] = alpha[:, :-1]
            np.copyto(two_back[:, 2:], alpha[:, :-2], where=allowed)
            np.logaddexp(alpha, one_back, out=merged)
            np.logaddexp(merged, two_back, out=merged)
            np.add(merged, lp[t], out=alpha)
    rows = np.arange(len(texts))
    last = alpha[rows, ends]
    before = np.where(ends > 0, alpha[rows, np.maximum(ends - 1, 0)], -np.inf)
    total = np.logaddexp(last, before)
    return [float(v) if np.isfinite(v) else -math.inf for v in total]
