"""Temperature scaling and expected calibration error.

Guo et al., "On Calibration of Modern Neural Networks" (2017): one scalar T divides the
logits; it is fitted by minimising the negative log-likelihood on held-out data (a
validation split of MNIST train, never the test set).
"""

from __future__ import annotations

import itertools

import numpy as np
import torch
from numpy.typing import NDArray

ECE_BINS = 15  # the bin count used by Guo et al.


def fit_temperature(logits: NDArray[np.float32], labels: NDArray[np.int64]) -> float:
    """The temperature T > 0 minimising NLL of softmax(logits / T) on (logits, labels)."""
    z = torch.as_tensor(logits, dtype=torch.float64)
    y = torch.as_tensor(labels, dtype=torch.long)
    log_t = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    optimiser = torch.optim.LBFGS([log_t], lr=0.1, max_iter=200, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimiser.zero_grad()
        loss = torch.nn.functional.cross_entropy(z / log_t.exp(), y)
        loss.backward()
        return loss

    optimiser.step(closure)
    return float(log_t.exp().item())


def softmax(logits: NDArray[np.float32], temperature: float = 1.0) -> NDArray[np.float32]:
    """Row-wise softmax of logits / temperature."""
    z = logits.astype(np.float64) / temperature
    z -= z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)


def expected_calibration_error(
    probabilities: NDArray[np.float32], labels: NDArray[np.int64], bins: int = ECE_BINS
) -> float:
    """ECE of the top-1 prediction: sum over confidence bins of |accuracy - confidence| x share."""
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == labels
    edges = np.linspace(0.0, 1.0, bins + 1)
    ece = 0.0
    for low, high in itertools.pairwise(edges):
        in_bin = (confidence > low) & (confidence <= high)
        if in_bin.any():
            ece += abs(float(correct[in_bin].mean()) - float(confidence[in_bin].mean())) * float(in_bin.mean())
    return ece
