"""The model card written next to the shipped weights: data, training, measured figures."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from recognition.evaluate import EvalReport


@dataclass(frozen=True, slots=True)
class ModelCard:
    """Everything needed to reproduce and judge the weights file."""

    weights_path: Path
    command: str
    config: dict[str, Any]
    parameters: int
    temperature: float
    data_checksums: dict[str, str]
    clean: EvalReport
    degraded: EvalReport
    reject_recall: float
    load_and_first_prediction_s: float
    history: list[dict[str, float]]

    def to_dict(self) -> dict[str, Any]:
        return {
            "weights": self.weights_path.name,
            "weights_sha256": hashlib.sha256(self.weights_path.read_bytes()).hexdigest(),
            "date": dt.date.today().isoformat(),
            "command": self.command,
            "config": self.config,
            "parameters": self.parameters,
            "temperature": self.temperature,
            "data_sha256": self.data_checksums,
            "mnist_test": self.clean.to_dict(),
            "mnist_test_degraded": self.degraded.to_dict(),
            "nondigit_recall": self.reject_recall,
            "load_and_first_prediction_s": self.load_and_first_prediction_s,
            "history": self.history,
        }

    def write(self) -> tuple[Path, Path]:
        """Write ``<weights>.card.json`` and ``<weights>.card.md``; return both paths."""
        data = self.to_dict()
        json_path = self.weights_path.with_suffix(".card.json")
        md_path = self.weights_path.with_suffix(".card.md")
        json_path.write_text(json.dumps(data, indent=2) + "\n")
        md_path.write_text(render_markdown(data))
        return json_path, md_path


def _field_samples(config: dict[str, Any]) -> str:
    count = int(config.get("field_samples", 0))
    if count <= 0:
        return ""
    return (
        f"\nPlus {count:,} candidates that the page reader itself cut from synthetic comb fields, free"
        "\nstrings, hard line strings and printed title lines drawn with the *training* digits and labelled"
        "\nfrom the drawing (`recognition/fieldsamples.py`): rule remnants, bites, neighbours' strokes,"
        "\nwrong cuts and printed letters as not-a-digit; the same every epoch."
    )


def _init(config: dict[str, Any]) -> str:
    start = config.get("init_weights")
    return f"Started from the weights `{start}`. " if start else ""


def render_markdown(card: dict[str, Any]) -> str:
    """The human-readable model card."""
    clean, degraded = card["mnist_test"], card["mnist_test_degraded"]
    config = card["config"]
    checksums = "\n".join(f"| `{name}` | `{digest}` |" for name, digest in card["data_sha256"].items())
    history = "\n".join(
        f"| {h['epoch'] + 1} | {h['loss']:.4f} | {h['accuracy'] * 100:.2f}% | {h['seconds']:.0f} s |"
        for h in card["history"]
    )
    return f"""# Model card: `{card["weights"]}`

Handwritten digit classifier of formdigits: 10 digit classes plus class 10, *not a digit*.

| | |
|---|---|
| date | {card["date"]} |
| sha256 | `{card["weights_sha256"]}` |
| architecture | `recognition.model.DigitNet`, widths {config["widths"]}: conv5x5-BN-ReLU, maxpool, conv3x3-BN-ReLU, maxpool, conv3x3-BN-ReLU, conv3x3(valid)-BN-ReLU, dropout, linear(11) |
| parameters | {card["parameters"]:,} |
| input | 28x28, ink = 1.0, made by `recognition.normalise.normalise_digit` (MNIST's recipe: 20x20 box, centre of mass at 14,14), standardised with mean 0.1307, std 0.3081 |
| calibration | temperature scaling, T = {card["temperature"]:.4f}, fitted on {config["val_size"]} MNIST-train digits held out from training (plus synthetic non-digits) |

## Training

Command: `{card["command"]}`

Data: MNIST train less the held-out split, distorted afresh every epoch (affine with slant,
elastic, stroke thickness, broken strokes, border cuts, blur, noise: `recognition/augment.py`;
{config.get("clean_fraction", 0.0) * 100:.0f}% of samples left undistorted),
plus {config["nondigit_fraction"] * 100:.0f}% synthetic non-digits (blobs, dashes, slashes, commas,
box-line corners, flat slices of digits, merged pairs, hand-drawn currency signs and marks, printed signs,
hand-drawn fences: `recognition/nondigits.py`), distorted like the digits.{_field_samples(config)}
{_init(config)}AdamW, one-cycle
learning rate (max {config["max_lr"]}), label smoothing {config["label_smoothing"]}, batch {config["batch_size"]},
{config["epochs"]} epochs, seed {config["seed"]}; the shipped weights are the exponential moving average (decay {config["ema_decay"]}).

| file | sha256 |
|---|---|
{checksums}

| epoch | loss | accuracy (distorted stream) | time |
|---|---|---|---|
{history}

## Measured (MNIST test, never used for training or calibration)

| set | n | accuracy | ECE (15 bins) | read as not-a-digit | digits/s (1 thread) |
|---|---|---|---|---|---|
| MNIST test, clean | {clean["n"]} | {clean["accuracy"] * 100:.2f}% | {clean["ece"] * 100:.2f}% | {clean["reject_rate"] * 100:.2f}% | {clean["digits_per_second"]:,.0f} |
| MNIST test, degraded (`recognition.augment.degrade_set`, seed 2026) | {degraded["n"]} | {degraded["accuracy"] * 100:.2f}% | {degraded["ece"] * 100:.2f}% | {degraded["reject_rate"] * 100:.2f}% | {degraded["digits_per_second"]:,.0f} |

Per-class accuracy on clean MNIST test: {", ".join(f"{d}: {a * 100:.2f}%" for d, a in enumerate(clean["per_class_accuracy"]))}.

Synthetic non-digits recognised as not-a-digit: {card["nondigit_recall"] * 100:.1f}%.
Load plus first prediction: {card["load_and_first_prediction_s"]:.2f} s.
Digits/s above is the whole 10,000-digit set classified in batches of 256 on one thread
during evaluation; `benchmarks/bench_classifier.py` measures speed against a reference
network in the same process (figures in the README; they depend on the machine).
"""
