"""The digit network: a small CNN for 28x28 normalised digits with an 11th not-a-digit class.

Design (measured on this 2-core CPU, batch 256, one thread; see benchmarks/bench_classifier.py):
four 3x3/5x5 conv blocks with batch norm, two max-pools, no padding in the last conv,
one linear head. About 3 M multiply-adds per digit: a plain pytorch/examples MNIST net
costs 12 M. Class 10 is "not a digit" (specks, punctuation, line remnants, half digits,
merged pairs).
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from segmentation.errors import ModelError

NUM_CLASSES = 11
REJECT = 10
# MNIST's pixel mean and standard deviation (on 0..1); they travel with the weights.
MEAN = 0.1307
STD = 0.3081


def conv_block(c_in: int, c_out: int, kernel: int, padding: int) -> list[nn.Module]:
    """Conv2d (no bias: batch norm follows) + BatchNorm2d + ReLU, the block of every network here."""
    return [
        nn.Conv2d(c_in, c_out, kernel, padding=padding, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    ]


def conv_features(widths: tuple[int, int, int, int]) -> nn.Sequential:
    """The convolutional stack of the digit and pair networks: (N, 1, H, W) -> (N, w4, H/4 - 2, W/4 - 2)."""
    w1, w2, w3, w4 = widths
    return nn.Sequential(
        *conv_block(1, w1, 5, 2),  # 28x28 (pairs: 28x56)
        nn.MaxPool2d(2),  # 14x14
        *conv_block(w1, w2, 3, 1),
        nn.MaxPool2d(2),  # 7x7
        *conv_block(w2, w3, 3, 1),
        *conv_block(w3, w4, 3, 0),  # 5x5 (pairs: 5x12)
    )


class DigitNet(nn.Module):
    """CNN mapping (N, 1, 28, 28) standardised images to (N, 11) logits."""

    def __init__(self, widths: tuple[int, int, int, int] = (16, 32, 64, 96), dropout: float = 0.25) -> None:
        super().__init__()
        self.widths = widths
        self.features = conv_features(widths)
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(dropout), nn.Linear(widths[3] * 5 * 5, NUM_CLASSES))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def save_network(path: Path, network: nn.Module, temperature: float, **extra: Any) -> None:
    """Write a network's weights file: its state_dict, its ``widths``, its calibration temperature, the
    input normalisation (MNIST's mean and std) and ``extra`` (what else rebuilding it needs)."""
    payload = {
        "state_dict": {k: v.detach().cpu() for k, v in network.state_dict().items()},
        "widths": list(network.widths),  # type: ignore[arg-type]
        "temperature": float(temperature),
        "mean": MEAN,
        "std": STD,
        **extra,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(payload, path)


def load_network_file(
    path: Path, build: Callable[[dict[str, Any]], nn.Module], what: str = "model"
) -> tuple[nn.Module, dict[str, Any]]:
    """The network in a weights file written by :func:`save_network`, made by ``build`` from the file's
    payload and given its weights (strict keys, CPU, weights only), and the payload. ``ModelError``
    for a missing, corrupt or mismatched file, or one trained with another input normalisation
    (``what`` names the network in the message)."""
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
        network = build(payload)
        network.load_state_dict(payload["state_dict"], strict=True)
        float(payload["temperature"])
    except FileNotFoundError as exc:
        raise ModelError(f"no {what} weights at {path}") from exc
    except (RuntimeError, KeyError, TypeError, ValueError, EOFError, pickle.UnpicklingError) as exc:
        raise ModelError(f"the {what} weights at {path} are corrupt or do not match the network: {exc}") from exc
    if payload.get("mean") != MEAN or payload.get("std") != STD:
        raise ModelError(f"{path} was trained with another input normalisation")
    return network, payload


def standardise(images: torch.Tensor) -> torch.Tensor:
    """(N, 28, 28) float images in 0..1 (ink = 1) -> (N, 1, 28, 28) network input."""
    return ((images - MEAN) / STD).unsqueeze(1)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def batched_logits(
    module: nn.Module, images: NDArray[np.float32], outputs: int, batch: int = 256
) -> NDArray[np.float32]:
    """Logits (N, ``outputs``) of a frozen network on images (N, H, W), ink = 1.0, standardised here.

    Runs in ``batch``-sized chunks, in channels-last memory (on this CPU the networks' max-pools
    run about 7x faster so), under ``torch.inference_mode()``.
    """
    out = np.empty((images.shape[0], outputs), dtype=np.float32)
    with torch.inference_mode():
        for start in range(0, images.shape[0], batch):
            chunk = torch.from_numpy(np.ascontiguousarray(images[start : start + batch], dtype=np.float32))
            x = ((chunk - MEAN) / STD).unsqueeze(1).contiguous(memory_format=torch.channels_last)
            out[start : start + chunk.shape[0]] = module(x).numpy()
    return out


def inference_module(network: nn.Module, *, fuse: bool = True) -> nn.Module:
    """``network`` in eval mode ready for :func:`batched_logits`: batch norm folded (unless not ``fuse``), channels last.

    Folding batch norm into the convolutions is as fast as a frozen TorchScript trace on this CPU
    and loads in milliseconds instead of the ~0.7-0.9 s that tracing costs. Channels-last memory
    runs the max-pools about 7x and a whole batch about 2x faster than the default layout (same
    logits to 2e-6). torch's stubs do not know Module.to's memory_format. The folded copy runs as
    one :class:`CompactForward`.
    """
    module = fuse_batch_norm(network.eval()) if fuse else network.eval()
    module = module.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
    # Unfused, the module is the network itself, which may yet be trained: left as it is.
    return CompactForward(module) if fuse else module


Step = Callable[[torch.Tensor], torch.Tensor]


class CompactForward(nn.Module):
    """An inference network (nested ``nn.Sequential``s of eval-mode layers) run as the plain list of
    the tensor operations its layers' forwards call, with the same arguments.

    Each nn.Module call costs some microseconds of Python (hooks, dispatch) around its operation:
    a line is read with about 5 network calls of some 15 layers each, and this saves about 0.08 ms
    a call (0.4 ms of a simple line's 20). Conv2d (zero padding), ReLU, MaxPool2d, Flatten, Linear
    and Dropout (the identity in eval mode) run as the very operations their forwards call, so the
    outputs are the same bit for bit; any other layer is called as it is. For inference only: the
    steps hold the layers' weights as they are, and ``train()`` changes nothing.
    """

    def __init__(self, network: nn.Module) -> None:
        super().__init__()
        self.network = network
        self._steps = [_step(layer) for layer in _leaves(network)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for step in self._steps:
            x = step(x)
        return x


def _leaves(module: nn.Module) -> list[nn.Module]:
    """The layers of nested ``nn.Sequential``s in the order they run."""
    if isinstance(module, nn.Sequential):
        return [leaf for child in module for leaf in _leaves(child)]
    return [module]


def _step(layer: nn.Module) -> Step:
    """The operation ``layer``'s forward makes in eval mode (see :class:`CompactForward`)."""
    if isinstance(layer, nn.Conv2d) and layer.padding_mode == "zeros" and not isinstance(layer.padding, str):
        weight, bias = layer.weight, layer.bias
        stride, padding, dilation, groups = layer.stride, layer.padding, layer.dilation, layer.groups
        return lambda x: torch.conv2d(x, weight, bias, stride, padding, dilation, groups)
    if isinstance(layer, nn.ReLU):
        return torch.relu_ if layer.inplace else torch.relu
    if isinstance(layer, nn.MaxPool2d) and not layer.return_indices:
        pool: Any = layer  # its stride is never None: MaxPool2d makes it the kernel size
        return lambda x: torch.max_pool2d(x, pool.kernel_size, pool.stride, pool.padding, pool.dilation, pool.ceil_mode)
    if isinstance(layer, nn.Flatten):
        start, end = layer.start_dim, layer.end_dim
        return lambda x: x.flatten(start, end)
    if isinstance(layer, nn.Linear):
        weight, bias = layer.weight, layer.bias
        return lambda x: torch.nn.functional.linear(x, weight, bias)
    if isinstance(layer, nn.Dropout) and not layer.training:
        return lambda x: x
    return layer


def fuse_batch_norm(network: nn.Module) -> nn.Module:
    """An inference copy of a ``features`` + ``head`` network with every Conv2d + BatchNorm2d pair folded into one Conv2d."""
    return nn.Sequential(fused_layers(network.features), network.head).eval()  # type: ignore[arg-type]


def fused_layers(features: nn.Sequential) -> nn.Sequential:
    """An inference copy of ``features`` with every Conv2d + BatchNorm2d pair folded into one Conv2d."""
    layers = list(features)
    fused: list[nn.Module] = []
    index = 0
    while index < len(layers):
        layer = layers[index]
        following = layers[index + 1] if index + 1 < len(layers) else None
        if isinstance(layer, nn.Conv2d) and isinstance(following, nn.BatchNorm2d):
            fused.append(fuse_conv_bn_eval(layer, following))
            index += 2
        else:
            fused.append(layer)
            index += 1
    return nn.Sequential(*fused).eval()
