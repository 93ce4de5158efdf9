"""Classifier benchmark: speed against a plain reference network, load time, accuracy, calibration.

Run: ``python benchmarks/bench_classifier.py [--data ../shared/datasets/mnist] [--seconds 5]``.
Speed is batch-256 inference in one process with ``torch.set_num_threads(1)``. The
reference is the network of pytorch/examples ``mnist/main.py`` (conv32-conv64-fc128),
run in the same process (ours with batch norm folded into the convolutions, the reference as a
frozen TorchScript trace; both in channels-last memory, which more than doubles the speed of
each here, and the reference also in the default layout, whichever is faster), so the ratio
does not depend on how fast this machine happens to be. With MNIST at hand it also records
the digit candidates the reader hands the classifier on 20 synthetic forms (MNIST test digits)
and reports the share the ensemble's gate passes on to the second network, and digits/s on
those candidates for the first network alone and for the gated ensemble.
"""

from __future__ import annotations

import argparse
import copy
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from recognition.classifier import DEFAULT_WEIGHTS, Classifier, load_classifier  # noqa: E402
from recognition.mnist import DigitSet  # noqa: E402
from recognition.reader import read_image  # noqa: E402
from recognition.synthetic import make_form  # noqa: E402

BATCH = 256


class ReferenceNet(nn.Module):
    """pytorch/examples mnist/main.py's Net (about 12 M multiply-adds per digit)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, 1)
        self.conv2 = nn.Conv2d(32, 64, 3, 1)
        self.fc1 = nn.Linear(9216, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.conv1(x))
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = F.relu(self.fc1(torch.flatten(x, 1)))
        return self.fc2(x)


def digits_per_second(run: object, x: torch.Tensor, seconds: float) -> float:
    with torch.inference_mode():
        for _ in range(3):
            run(x)  # type: ignore[operator]
        done, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            run(x)  # type: ignore[operator]
            done += x.shape[0]
        return done / (time.perf_counter() - start)


def load_time() -> dict[str, float]:
    """Load + first prediction in a fresh interpreter, the pair, triple and line networks included (imports timed separately)."""
    code = (
        "import time; t0=time.perf_counter(); import numpy as np; import torch; torch.set_num_threads(1);"
        "from recognition.classifier import load_classifier; t1=time.perf_counter();"
        "c=load_classifier(); c.predict(np.zeros((1,28,28),np.float32));"
        "[n.probabilities(np.zeros((1,*n.shape),np.float32)) for n in (c.pairs, c.comb_pairs, c.triples) if n is not None];"
        "c.lines and c.lines.log_probs(np.full((20,60),255,np.uint8));"
        "t2=time.perf_counter();"
        "print(t1-t0, t2-t1)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    return {"imports_s": float(out[0]), "load_and_first_prediction_s": float(out[1])}


class _Recorder:
    """The classifier, keeping every batch of digit candidates the reader asks it about."""

    def __init__(self, classifier: Classifier) -> None:
        self.classifier, self.pairs, self.comb_pairs = classifier, classifier.pairs, classifier.comb_pairs
        self.triples, self.lines = classifier.triples, classifier.lines
        self.seen: list[np.ndarray] = []

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        self.seen.append(images)
        return self.classifier.probabilities(images)


def reader_candidates(classifier: Classifier, source: DigitSet, forms: int) -> np.ndarray:
    """The digit candidates (N, 28, 28) the reader hands the classifier on ``forms`` synthetic 150 dpi forms."""
    recorder = _Recorder(classifier)
    rng = np.random.default_rng(2026)
    for _ in range(forms):
        gray, _ = make_form(rng, source)
        read_image(recorder, gray, "page")
    return np.concatenate(recorder.seen)


def gate_share(classifier: Classifier, images: np.ndarray) -> float:
    """The share of ``images`` the ensemble's gate passes on to its other networks (0 for one network)."""
    passed, _ = classifier.gated_logits(images)
    return round(passed.size / max(1, len(images)), 3)


def candidate_figures(classifier: Classifier, candidates: np.ndarray, seconds: float) -> dict[str, float]:
    """The share of candidates the ensemble's gate passes on, and digits/s on them (alone and gated)."""
    alone = Classifier(classifier.network, classifier.temperature)
    figures: dict[str, float] = {"reader_candidates": len(candidates)}
    figures["gate_share_of_reader_candidates"] = gate_share(classifier, candidates)
    for name, model in (("first_network", alone), ("ensemble", classifier)):
        start, n = time.perf_counter(), 0
        while time.perf_counter() - start < seconds:
            for i in range(0, len(candidates), BATCH):
                model.probabilities(candidates[i : i + BATCH])
            n += len(candidates)
        figures[f"{name}_digits_per_second_on_reader_candidates"] = round(n / (time.perf_counter() - start))
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "datasets" / "mnist")
    parser.add_argument("--weights", type=Path, default=DEFAULT_WEIGHTS)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    figures: dict[str, object] = {}

    classifier = load_classifier(args.weights)
    x = torch.randn(BATCH, 1, 28, 28)
    x_last = x.contiguous(memory_format=torch.channels_last)
    reference = ReferenceNet().eval()
    reference_forms = [
        (torch.jit.freeze(torch.jit.trace(reference, x)), x),
        (
            torch.jit.freeze(torch.jit.trace(copy.deepcopy(reference).to(memory_format=torch.channels_last), x_last)),
            x_last,
        ),
    ]
    # Interleave them, twice, to even out noise from other processes.
    ours, ref = [], []
    for _ in range(2):
        ours.append(digits_per_second(classifier._module, x_last, args.seconds))
        ref.extend(digits_per_second(net, net_x, args.seconds) for net, net_x in reference_forms)
    figures["digits_per_second"] = round(max(ours))
    figures["reference_digits_per_second"] = round(max(ref))
    figures["speed_ratio_vs_reference"] = round(max(ours) / max(ref), 2)
    figures["reference_eager_digits_per_second"] = round(digits_per_second(reference, x, args.seconds))
    images = np.random.default_rng(0).random((BATCH, 28, 28), dtype=np.float32)
    start, n = time.perf_counter(), 0
    while time.perf_counter() - start < args.seconds:
        classifier.probabilities(images)
        n += BATCH
    figures["api_digits_per_second"] = round(n / (time.perf_counter() - start))
    figures["networks_in_ensemble"] = classifier.size
    figures["gate_share_of_random_images"] = gate_share(classifier, images)
    if classifier.pairs is not None:
        pairs = np.random.default_rng(1).random((BATCH, 28, 56), dtype=np.float32)
        start, n = time.perf_counter(), 0
        while time.perf_counter() - start < args.seconds:
            classifier.pairs.probabilities(pairs)
            n += BATCH
        figures["api_pairs_per_second"] = round(n / (time.perf_counter() - start))
    figures.update(load_time())

    if (args.data / "t10k-images-idx3-ubyte.gz").exists() or (args.data / "t10k-images-idx3-ubyte").exists():
        from recognition.augment import degrade_set
        from recognition.evaluate import evaluate, normalise_set
        from recognition.mnist import load_split

        test = load_split(args.data, "t10k")
        clean, _ = evaluate(classifier, normalise_set(test.images), test.labels)
        degraded, _ = evaluate(classifier, degrade_set(test.images), test.labels)
        figures["mnist_test_accuracy"] = round(clean.accuracy * 100, 2)
        figures["mnist_test_ece"] = round(clean.ece * 100, 2)
        figures["mnist_test_degraded_accuracy"] = round(degraded.accuracy * 100, 2)
        figures["mnist_test_degraded_ece"] = round(degraded.ece * 100, 2)
        figures.update(candidate_figures(classifier, reader_candidates(classifier, test, 20), args.seconds))
    else:
        print(f"MNIST not found at {args.data}: accuracy skipped", file=sys.stderr)

    for key, value in figures.items():
        print(f"{key:34} {value}")
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
