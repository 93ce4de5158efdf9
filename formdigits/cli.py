"""The ``formdigits`` command: one entry point, subcommands registered by each package.

Each package's parser module is imported only to register its subcommands; heavy
imports (torch) happen inside the handlers' modules, so ``formdigits submit`` or
``formdigits --help`` stay light where possible.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

# (module, function) pairs that add subcommands; a package missing here is simply not offered.
REGISTRARS = (
    ("recognition.cli_train", "add_train_parser"),
    ("recognition.cli_train", "add_eval_parser"),
    ("recognition.cli_train", "add_calibrate_ensemble_parser"),
    ("recognition.cli_train", "add_train_pairs_parser"),
    ("recognition.cli_train", "add_train_lines_parser"),
    ("recognition.cli_train", "add_train_printed_parser"),
    ("recognition.cli_read", "add_read_parser"),
    ("recognition.cli_read", "add_sample_parser"),
    ("webui.cli", "add_serve_parser"),
    ("worker.cli", "add_worker_parser"),
    ("worker.cli", "add_submit_parser"),
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="formdigits", description="Read handwritten digits on scanned forms.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log at debug level")
    sub = parser.add_subparsers(dest="command", required=True)
    for module_name, function in REGISTRARS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            # Only a package or module that does not exist (yet) is skipped; a broken import inside it is not.
            if exc.name is None or not module_name.startswith(exc.name):
                raise
            continue
        getattr(module, function)(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        return int(args.handler(args) or 0)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
