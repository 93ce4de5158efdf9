"""Reading a digit string whole: the line network, a small CNN + BiLSTM trained with CTC.

The decoder (:mod:`recognition.decoding`) reads a string as a path through cuts, each cut
read alone by the digit, pair and triple networks; where digits run into each other it can
only choose among the cuts it was offered, and every choice is scored on its own. The line
network reads the whole string at once, as a sequence, without cutting it: its input is the
field's ink mask scaled to ``LINE_HEIGHT`` pixels (aspect kept), its output one distribution
per four columns over the blank and ``ALPHABET`` (the digits and the marks ``, . -``).

It does not replace the decoder (a result needs a box and a calibrated confidence per digit,
which the cuts give): it judges the decoder's best readings. Each of the k-best paths gets
``weight`` x log p(its digits | the line) added to its score
(:func:`recognition.ctc.sequence_log_likelihoods`, the CTC forward algorithm), so a path that cuts a digit
into two plausible halves loses to one the whole string agrees with.

Training (:mod:`recognition.linesamples`, :func:`train_lines`) draws strings from MNIST
train digits less the digit network's held-out split and cuts them with the reader's own
segmentation; MNIST test is never used for any choice.
"""

from __future__ import annotations

import math
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

from recognition.ctc import ALPHABET, BLANK, LINE_HEIGHT, PAD, STRIDE, encode, greedy_text
from recognition.model import CompactForward, conv_block, fused_layers
from segmentation.errors import ModelError

# Lines wider than this (at LINE_HEIGHT) are not read whole: a string of ~20 digits.
MAX_WIDTH = 640
DEFAULT_LINE_WEIGHTS = Path(__file__).resolve().parent.parent / "weights" / "linenet.pt"
# The line network ``line`` mode reads with (cheque amounts, ZIP codes: images that are one string).
DEFAULT_LINE_MODE_WEIGHTS = DEFAULT_LINE_WEIGHTS.with_name("linenet-line.pt")


class LineNet(nn.Module):
    """(N, 1, 32, W) ink masks (ink = 1.0, W a multiple of 4) -> (N, W/4, 14) log-probabilities."""

    def __init__(self, widths: tuple[int, int, int, int] = (24, 48, 64, 64), hidden: int = 96) -> None:
        super().__init__()
        self.widths, self.hidden = widths, hidden
        a, b, c, d = widths
        self.features = nn.Sequential(
            *conv_block(1, a, 3, 1),
            nn.MaxPool2d(2),  # 16 x W/2
            *conv_block(a, b, 3, 1),
            nn.MaxPool2d(2),  # 8 x W/4
            *conv_block(b, c, 3, 1),
            *conv_block(c, d, 3, 1),
            nn.MaxPool2d((2, 1)),  # 4 x W/4
            nn.Conv2d(d, 2 * hidden, (LINE_HEIGHT // 8, 1), bias=False),  # 1 x W/4
            nn.BatchNorm2d(2 * hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(0.2),
        )
        self.rnn = nn.LSTM(2 * hidden, hidden, bidirectional=True, batch_first=True)
        self.head = nn.Linear(2 * hidden, len(ALPHABET) + 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.sequence(self.features(x))

    def sequence(self, features: torch.Tensor) -> torch.Tensor:
        """(N, 2 * hidden, 1, W/4) feature columns -> (N, W/4, 14) log-probabilities: the LSTM and the head."""
        out, _ = self.rnn(features.squeeze(2).transpose(1, 2))
        return torch.log_softmax(self.head(out), dim=-1)  # type: ignore[no-any-return]


def scale_line(ink: NDArray[np.uint8]) -> NDArray[np.uint8] | None:
    """A field's ink mask (ink = 255) cut to its ink and scaled to ``LINE_HEIGHT`` rows, aspect kept;
    None when blank or wider than ``MAX_WIDTH`` once scaled. :func:`line_batch` frames it for the network."""
    rows, cols = np.flatnonzero(ink.max(axis=1, initial=0)), np.flatnonzero(ink.max(axis=0, initial=0))
    if not len(rows):
        return None
    ink = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    h, w = ink.shape
    width = max(STRIDE, round(w * LINE_HEIGHT / h))
    if width > MAX_WIDTH:
        return None
    return np.asarray(cv2.resize(ink, (width, LINE_HEIGHT), interpolation=cv2.INTER_AREA), dtype=np.uint8)


class LineReader:
    """A frozen line network: field ink masks -> per-step log-probabilities."""

    def __init__(self, network: LineNet) -> None:
        self.network = network.eval()
        # Batch norm folded into the convolutions, channels-last memory: as for the digit network.
        fused = fused_layers(self.network.features).to(memory_format=torch.channels_last)  # type: ignore[call-overload]
        self._features = CompactForward(fused)

    def log_probs(self, ink: NDArray[np.uint8]) -> NDArray[np.float32] | None:
        """(T, 14) log-probabilities for one field's ink mask, or None when the line is too wide."""
        scaled = scale_line(ink)
        if scaled is None:
            return None
        with torch.inference_mode():
            x = line_batch([scaled])[0].contiguous(memory_format=torch.channels_last)
            return self.network.sequence(self._features(x))[0].numpy()  # type: ignore[no-any-return]


def save_line_weights(path: Path, network: LineNet, meta: dict[str, object]) -> None:
    """Write the line network's weights with its widths and training facts."""
    torch.save({"kind": "linenet", "widths": list(network.widths), "hidden": network.hidden,
                "state_dict": network.state_dict(), "meta": meta}, path)  # fmt: skip


def load_line_reader(path: Path) -> LineReader:
    """The frozen line network in ``path``; ModelError when it is not one."""
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
        if not isinstance(blob, dict) or blob.get("kind") != "linenet":
            raise ModelError(f"{path} holds no line network")
        network = LineNet(tuple(blob["widths"]), int(blob["hidden"]))  # type: ignore[arg-type]
        network.load_state_dict(blob["state_dict"])
    except (OSError, RuntimeError, KeyError, TypeError, ValueError, EOFError, pickle.UnpicklingError) as exc:
        raise ModelError(f"cannot load the line network {path}: {exc}") from exc
    return LineReader(network)


@dataclass(frozen=True, slots=True)
class LineTrainConfig:
    """Training of the line network; the defaults made the shipped ``linenet.pt``."""

    epochs: int = 8
    batch_size: int = 32
    max_lr: float = 2e-3
    weight_decay: float = 1e-4
    seed: int = 0
    widths: tuple[int, int, int, int] = (24, 48, 64, 64)
    hidden: int = 96


def _augment(mask: NDArray[np.uint8], rng: np.random.Generator) -> NDArray[np.uint8]:
    """A stored sample stretched 0.8-1.2x in width, sometimes slanted, thickened or thinned."""
    h, w = mask.shape
    width = max(STRIDE, round(w * rng.uniform(0.8, 1.2)))
    out = np.asarray(cv2.resize(mask, (width, h), interpolation=cv2.INTER_LINEAR), dtype=np.uint8)
    if rng.random() < 0.3:
        shear = float(rng.uniform(-0.25, 0.25))
        matrix = np.array([[1.0, shear, -shear * h / 2], [0.0, 1.0, 0.0]], dtype=np.float32)
        out = np.asarray(cv2.warpAffine(out, matrix, (width, h)), dtype=np.uint8)
    pick = rng.random()
    if pick < 0.15:
        out = np.asarray(cv2.dilate(out, np.ones((2, 2), np.uint8)), dtype=np.uint8)
    elif pick < 0.3:
        out = np.asarray(cv2.erode(out, np.ones((2, 2), np.uint8)), dtype=np.uint8)
    return out


def line_batch(masks: list[NDArray[np.uint8]]) -> tuple[torch.Tensor, int]:
    """Masks of :func:`scale_line` as one (N, 1, 32, W) batch, ink = 1.0, each framed by ``PAD`` blank
    columns and the width rounded up to a multiple of ``STRIDE``; and its steps, W/4."""
    total = max(m.shape[1] for m in masks) + 2 * PAD
    total += -total % STRIDE
    x = np.zeros((len(masks), 1, LINE_HEIGHT, total), np.float32)
    for row, m in enumerate(masks):
        x[row, 0, :, PAD : PAD + m.shape[1]] = m / np.float32(255.0)
    return torch.from_numpy(x), total // STRIDE


def evaluate_lines(network: LineNet, samples: list[tuple[NDArray[np.uint8], str]]) -> float:
    """Share of ``samples`` the network reads exactly on its own (greedy), marks included."""
    network.eval()
    right = 0
    with torch.inference_mode():
        for start in range(0, len(samples), 64):
            chunk = samples[start : start + 64]
            x, _ = line_batch([m for m, _ in chunk])
            out = network(x).numpy()
            right += sum(greedy_text(out[row]) == text for row, (_, text) in enumerate(chunk))
    return right / max(1, len(samples))


def train_lines(
    train: list[tuple[NDArray[np.uint8], str]],
    val: list[tuple[NDArray[np.uint8], str]],
    config: LineTrainConfig = LineTrainConfig(),
    on_epoch: Callable[[int, float, float, float], None] | None = None,
) -> tuple[LineNet, list[tuple[int, float, float, float]]]:
    """Train with CTC on ``train`` (augmented afresh each epoch); returns the network and (epoch, loss, val exact, seconds) per epoch.

    Batches hold samples of similar width (sorted within chunks of 50 batches) so little is padding.
    """
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    network = LineNet(config.widths, config.hidden)
    batches_per_epoch = math.ceil(len(train) / config.batch_size)
    optimiser = torch.optim.AdamW(network.parameters(), config.max_lr, weight_decay=config.weight_decay)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimiser, config.max_lr, total_steps=config.epochs * batches_per_epoch, pct_start=0.15
    )
    ctc = nn.CTCLoss(blank=BLANK, zero_infinity=True)
    history: list[tuple[int, float, float, float]] = []
    chunk = config.batch_size * 50
    for epoch in range(1, config.epochs + 1):
        network.train()
        start, total, count = time.perf_counter(), 0.0, 0
        order = rng.permutation(len(train))
        for first in range(0, len(order), chunk):
            part = sorted(order[first : first + chunk].tolist(), key=lambda i: train[i][0].shape[1])
            groups = [part[i : i + config.batch_size] for i in range(0, len(part), config.batch_size)]
            for g in rng.permutation(len(groups)):
                items = [train[i] for i in groups[g]]
                x, steps = line_batch([_augment(m, rng) for m, _ in items])
                targets = torch.tensor([label for _, text in items for label in encode(text)], dtype=torch.long)
                lengths = torch.tensor([len(encode(text)) for _, text in items], dtype=torch.long)
                log_probs = network(x).transpose(0, 1)  # (T, N, C) for CTCLoss
                loss = ctc(log_probs, targets, torch.full((len(items),), steps, dtype=torch.long), lengths)
                optimiser.zero_grad()
                loss.backward()  # type: ignore[no-untyped-call]
                nn.utils.clip_grad_norm_(network.parameters(), 5.0)
                optimiser.step()
                scheduler.step()
                total, count = total + float(loss.item()), count + 1
        accuracy = evaluate_lines(network, val)
        history.append((epoch, total / max(1, count), accuracy, time.perf_counter() - start))
        if on_epoch is not None:
            on_epoch(*history[-1])
    return network.eval(), history
