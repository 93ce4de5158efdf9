"""What the reading benchmarks share: where their digits come from, and whether pairs are read."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, Literal

from recognition.mnist import DigitSet
from recognition.synthetic import load_digit_source
from recognition.train import held_out_digits

# No truth text holds a sign; raised cents have no mark of their own.
MARKS = {"comma": ",", "point": ".", "dash": "-", "slash": "/", "sign": "", "raised": "", "other": "?"}


def add_reading_arguments(parser: argparse.ArgumentParser) -> None:
    """``--source test|val``, ``--no-pairs``, ``--no-raised``, ``--weights``, ``--triple-weights``, ``--line-weights``, ``--line-mode-weights`` and ``--printed-weights``."""
    parser.add_argument(
        "--source",
        choices=("test", "val"),
        default="test",
        help="digits from MNIST test, or from the held-out split of MNIST train (for tuning: no network trained on it)",
    )
    parser.add_argument("--no-pairs", action="store_true", help="read without the pair networks (cuts only)")
    parser.add_argument(
        "--no-raised", action="store_true", help="read raised writing ending a string (cents) as part of it"
    )
    parser.add_argument("--weights", type=Path, default=None, help="weights file (default: the shipped weights)")
    parser.add_argument(
        "--triple-weights",
        default="beside",
        help="the triple network's weights file, or 'none' to read without it (default: triplenet.pt beside the weights)",
    )
    parser.add_argument(
        "--line-weights",
        default="beside",
        help="the line network's weights file, or 'none' to read without it (default: linenet.pt beside the weights)",
    )
    parser.add_argument(
        "--line-mode-weights",
        default="beside",
        help="the line network of line mode's weights file, or 'none' for the other line network there"
        " (default: linenet-line.pt beside the weights, if there)",
    )
    parser.add_argument(
        "--printed-weights",
        default="beside",
        help="the printed-letter network's weights file, or 'none' to read line ends without it (default: printednet.pt beside the weights)",
    )


def _weights_file(value: str) -> Path | Literal["beside"] | None:
    return None if value == "none" else "beside" if value == "beside" else Path(value)


def network_files(args: argparse.Namespace) -> dict[str, Path | Literal["beside"] | None]:
    """``--triple-weights``, ``--line-weights``, ``--line-mode-weights`` and ``--printed-weights`` as keyword arguments of :func:`recognition.classifier.load_classifier`."""
    return {
        "triple_weights": _weights_file(str(args.triple_weights)),
        "line_weights": _weights_file(str(args.line_weights)),
        "line_mode_weights": _weights_file(str(args.line_mode_weights)),
        "printed_weights": _weights_file(str(args.printed_weights)),
    }


def digits_for(args: argparse.Namespace, data: Path) -> DigitSet:
    """The digits ``--source`` names: MNIST test, or MNIST train's held-out split."""
    return load_digit_source(data) if args.source == "test" else held_out_digits(data)


def text_with_separators(field: dict[str, Any]) -> str:
    """A read field (its JSON form) as its digits with its separators written back in at their positions."""
    marks: dict[int, str] = {}
    for s in field["separators"]:
        marks[s["position"]] = marks.get(s["position"], "") + MARKS.get(s["kind"], "?")
    out = [marks.get(i, "") + str(d["digit"]) for i, d in enumerate(field["digits"])]
    return "".join(out) + marks.get(len(field["digits"]), "")
