"""The networks run as plain lists of operations (CompactForward) give their layers' outputs bit for bit."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from recognition.model import CompactForward, DigitNet, inference_module
from recognition.pairs import PairNet
from recognition.sequence import LineNet, LineReader


def _randomised(network: nn.Module, seed: int) -> nn.Module:
    """``network`` with random weights and batch-norm statistics, in eval mode (folding has something to fold)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for tensor in [*network.parameters(), *network.buffers()]:
            if tensor.is_floating_point():
                tensor.copy_(torch.rand(tensor.shape, generator=generator) * 0.5 + 0.1)
    return network.eval()


@pytest.mark.parametrize(
    ("network", "shape"),
    [(DigitNet(widths=(4, 8, 8, 8)), (28, 28)), (PairNet(widths=(4, 8, 8, 8)), (28, 56)), (PairNet(count=3), (28, 84))],
)
def test_compact_forward_is_the_folded_network_bit_for_bit(network: nn.Module, shape: tuple[int, int]) -> None:
    compact = inference_module(_randomised(network, 0))
    assert isinstance(compact, CompactForward)
    # Every layer runs as its operation: none is left to nn.Module's call (which would prove nothing).
    assert not any(isinstance(step, nn.Module) for step in compact._steps)
    for batch in (5, 200):
        x = torch.rand((batch, 1, *shape), generator=torch.Generator().manual_seed(1)).contiguous(
            memory_format=torch.channels_last
        )
        with torch.inference_mode():
            assert torch.equal(compact(x), compact.network(x))


def test_line_reader_features_are_the_folded_layers_bit_for_bit() -> None:
    reader = LineReader(_randomised(LineNet(widths=(4, 8, 8, 8), hidden=8), 2))  # type: ignore[arg-type]
    x = (torch.rand((1, 1, 32, 96), generator=torch.Generator().manual_seed(3)) > 0.6).float()
    x = x.contiguous(memory_format=torch.channels_last)
    with torch.inference_mode():
        assert torch.equal(reader._features(x), reader._features.network(x))


def test_an_unfused_network_is_left_as_it_is() -> None:
    """Unfused, the inference module is the network itself (it may be trained on): no compact copy."""
    network = DigitNet(widths=(4, 8, 8, 8))
    assert inference_module(network, fuse=False) is network
