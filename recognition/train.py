"""Training the digit network on MNIST train with distortions and synthetic non-digits.

The last ``val_size`` images of MNIST train (a fixed, seeded permutation) are held out
for the calibration temperature; MNIST test is never used for any choice. Each epoch
draws its distortions from ``(seed, epoch, index)``, so a run is reproducible and a
resumed run continues exactly where the checkpoint stopped.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from numpy.typing import NDArray
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from torch.utils.data import DataLoader, Dataset

from recognition.augment import distort_or_retry
from recognition.calibration import fit_temperature
from recognition.classifier import load_network
from recognition.fieldsamples import field_samples
from recognition.mnist import DigitSet
from recognition.model import REJECT, DigitNet, standardise
from recognition.nondigits import nondigit_sample
from recognition.normalise import normalise_digit
from segmentation.errors import ModelError

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TrainConfig:
    """Hyper-parameters of one training run (the defaults made the shipped weights)."""

    epochs: int = 30
    batch_size: int = 128
    max_lr: float = 3e-3
    weight_decay: float = 5e-4
    label_smoothing: float = 0.05
    ema_decay: float = 0.999
    seed: int = 0
    # The held-out split is drawn from its own seed, so a network trained with another ``seed``
    # (a second ensemble member, say) never sees the digits the others are tuned on.
    split_seed: int = 0
    val_size: int = 5000
    nondigit_fraction: float = 0.1  # synthetic non-digits per real digit in each epoch
    # Share of samples left undistorted: without clean digits the network learnt "clean MNIST
    # texture" as a cue for the reject class (whose shapes were drawn undistorted) and rejected
    # 12% of MNIST test.
    clean_fraction: float = 0.2
    limit: int | None = None  # use only the first N training digits (smoke runs)
    # Candidates cut by the page reader from synthetic fields of training digits
    # (recognition.fieldsamples), mixed into every epoch: box-line remnants, rule bites,
    # neighbours' strokes, wrong cuts. 0 trains on MNIST alone.
    field_samples: int = 0
    # Weights file (as written by save_weights) to start from instead of a random network.
    init_weights: str | None = None
    loader_workers: int = 1
    widths: tuple[int, int, int, int] = (16, 32, 64, 96)


@dataclass(slots=True)
class EpochStats:
    """Loss and accuracy of one epoch on the distorted training stream."""

    epoch: int
    loss: float
    accuracy: float
    seconds: float


@dataclass(slots=True)
class TrainResult:
    """The trained network (EMA weights), its temperature and the per-epoch history."""

    network: DigitNet
    temperature: float
    history: list[EpochStats] = field(default_factory=list)
    val_images: NDArray[np.float32] | None = None
    val_labels: NDArray[np.int64] | None = None


class DistortedDigits(Dataset[tuple[torch.Tensor, int]]):
    """Digits distorted afresh each epoch, then synthetic non-digits (label 10), then field samples as they are."""

    def __init__(
        self,
        images: NDArray[np.uint8],
        labels: NDArray[np.uint8],
        config: TrainConfig,
        field_images: NDArray[np.float32] | None = None,
        field_labels: NDArray[np.int64] | None = None,
    ) -> None:
        self.images = images
        self.labels = labels
        self.seed = config.seed
        self.n_nondigits = int(len(images) * config.nondigit_fraction)
        self.clean_fraction = config.clean_fraction
        self.field_images = field_images if field_images is not None else np.zeros((0, 28, 28), np.float32)
        self.field_labels = field_labels if field_labels is not None else np.zeros(0, np.int64)
        self.epoch = 0

    def __len__(self) -> int:
        return len(self.images) + self.n_nondigits + len(self.field_images)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        field_index = index - len(self.images) - self.n_nondigits
        if field_index >= 0:
            return torch.from_numpy(self.field_images[field_index]), int(self.field_labels[field_index])
        rng = np.random.default_rng((self.seed, self.epoch, index))
        clean = rng.random() < self.clean_fraction
        if index < len(self.images):
            label = int(self.labels[index])
            image = normalise_digit(self.images[index], ink_is_bright=True) if clean else None
            source = self.images[index]
        else:
            # Non-digits go through the same distortions as digits, so texture tells nothing.
            label, image = REJECT, nondigit_sample(rng, self.images)
            source = (image * 255).round().astype(np.uint8)
            if clean:
                return torch.from_numpy(image), label
        if not clean:
            image = distort_or_retry(source, rng)
        return torch.from_numpy(image), label


def split_train_val(
    images: NDArray[np.uint8], labels: NDArray[np.uint8], config: TrainConfig
) -> tuple[NDArray[np.uint8], NDArray[np.uint8], NDArray[np.uint8], NDArray[np.uint8]]:
    """Seeded split of MNIST train into (train images, train labels, val images, val labels)."""
    order = np.random.default_rng(config.split_seed).permutation(len(images))
    val_size = min(config.val_size, len(images) // 5)
    train_idx, val_idx = order[val_size:], order[:val_size]
    if config.limit is not None:
        train_idx = train_idx[: config.limit]
    return images[train_idx], labels[train_idx], images[val_idx], labels[val_idx]


def held_out_digits(directory: Path) -> DigitSet:
    """The held-out split of MNIST train (default :class:`TrainConfig`): for tuning, as no network trains on it."""
    from recognition.mnist import load_split

    full = load_split(directory, "train")
    _, _, images, labels = split_train_val(full.images, full.labels, TrainConfig())
    return DigitSet(images, labels, full.images_path, full.labels_path)


def validation_set(
    images: NDArray[np.uint8], labels: NDArray[np.uint8], seed: int
) -> tuple[NDArray[np.float32], NDArray[np.int64]]:
    """Held-out clean digits plus 10% synthetic non-digits, normalised, for the temperature."""
    rng = np.random.default_rng((seed, 10_000))
    digits = [normalise_digit(img, ink_is_bright=True) for img in images]
    rejects = [nondigit_sample(rng, images) for _ in range(max(1, len(images) // 10))]
    x = np.stack(digits + rejects).astype(np.float32)
    y = np.concatenate([labels.astype(np.int64), np.full(len(rejects), REJECT, dtype=np.int64)])
    return x, y


def _checkpoint(
    path: Path,
    epoch: int,
    network: nn.Module,
    ema: AveragedModel,
    optimiser: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    history: list[EpochStats],
) -> None:
    torch.save(
        {
            "epoch": epoch,
            "network": network.state_dict(),
            "ema": ema.state_dict(),
            "optimiser": optimiser.state_dict(),
            "scheduler": scheduler.state_dict(),
            "history": [[h.epoch, h.loss, h.accuracy, h.seconds] for h in history],
            "torch_rng": torch.get_rng_state(),
        },
        path,
    )


def train(
    images: NDArray[np.uint8],
    labels: NDArray[np.uint8],
    config: TrainConfig,
    *,
    checkpoint: Path | None = None,
    on_batch: Callable[[int, int, float, float], None] | None = None,
    on_epoch: Callable[[EpochStats], None] | None = None,
) -> TrainResult:
    """Train on MNIST train (ink-bright uint8 (N, 28, 28)); resume from ``checkpoint`` if it exists.

    ``on_batch(epoch, batch, loss, accuracy)`` and ``on_epoch(stats)`` report progress.
    """
    torch.manual_seed(config.seed)
    train_x, train_y, val_x, val_y = split_train_val(images, labels, config)
    field_x = field_y = None
    if config.field_samples > 0:
        log.info("cutting %d field samples from synthetic fields of training digits", config.field_samples)
        source = DigitSet(train_x, train_y, Path(), Path())
        field_x, field_y = field_samples(source, config.field_samples, config.seed)
    dataset = DistortedDigits(train_x, train_y, config, field_x, field_y)
    network = DigitNet(widths=config.widths)
    if config.init_weights is not None:
        initial, _ = load_network(Path(config.init_weights))
        if initial.widths != network.widths:
            raise ModelError(f"{config.init_weights} has widths {initial.widths}, the run asks for {network.widths}")
        network.load_state_dict(initial.state_dict(), strict=True)
    ema = AveragedModel(network, multi_avg_fn=get_ema_multi_avg_fn(config.ema_decay), use_buffers=True)
    optimiser = torch.optim.AdamW(network.parameters(), lr=config.max_lr, weight_decay=config.weight_decay)
    steps_per_epoch = (len(dataset) + config.batch_size - 1) // config.batch_size
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimiser, max_lr=config.max_lr, epochs=config.epochs, steps_per_epoch=steps_per_epoch
    )
    loss_fn = nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)
    history: list[EpochStats] = []
    first_epoch = 0

    if checkpoint is not None and checkpoint.exists():
        state = torch.load(checkpoint, map_location="cpu", weights_only=True)
        network.load_state_dict(state["network"])
        ema.load_state_dict(state["ema"])
        optimiser.load_state_dict(state["optimiser"])
        scheduler.load_state_dict(state["scheduler"])
        history = [EpochStats(int(e), float(lo), float(a), float(s)) for e, lo, a, s in state["history"]]
        torch.set_rng_state(state["torch_rng"])
        first_epoch = int(state["epoch"]) + 1
        log.info("resuming from %s at epoch %d", checkpoint, first_epoch + 1)

    for epoch in range(first_epoch, config.epochs):
        dataset.epoch = epoch
        generator = torch.Generator().manual_seed(config.seed * 1000 + epoch)
        loader = DataLoader(
            dataset, batch_size=config.batch_size, shuffle=True, generator=generator, num_workers=config.loader_workers
        )
        network.train()
        start = time.perf_counter()
        total_loss, correct, seen = 0.0, 0, 0
        for batch, (x, y) in enumerate(loader):
            logits = network(standardise(x))
            loss = loss_fn(logits, y)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            scheduler.step()
            ema.update_parameters(network)
            total_loss += float(loss.detach()) * len(y)
            correct += int((logits.argmax(1) == y).sum())
            seen += len(y)
            if on_batch is not None:
                on_batch(epoch, batch, total_loss / seen, correct / seen)
        stats = EpochStats(epoch, total_loss / seen, correct / seen, time.perf_counter() - start)
        history.append(stats)
        if checkpoint is not None:
            _checkpoint(checkpoint, epoch, network, ema, optimiser, scheduler, history)
        if on_epoch is not None:
            on_epoch(stats)

    final = DigitNet(widths=config.widths)
    final.load_state_dict(ema.module.state_dict())
    final.eval()
    vx, vy = validation_set(val_x, val_y, config.seed)
    with torch.inference_mode():
        val_logits = final(standardise(torch.from_numpy(vx))).numpy()
    temperature = fit_temperature(val_logits, vy)
    return TrainResult(final, temperature, history, vx, vy)
