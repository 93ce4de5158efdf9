"""``formdigits train`` and ``formdigits eval``: the command-line side of training and evaluation.

Registering the subcommands imports nothing heavy; torch and the training code are
imported inside the handlers, so other commands (``serve``, ``submit``) stay light.
"""

from __future__ import annotations

import argparse
import json
import logging
import shlex
import sys
import time
from pathlib import Path
from typing import Any

# Defaults shown in --help; they equal recognition.train.TrainConfig's (checked by a test).
DEFAULT_EPOCHS = 30
DEFAULT_BATCH_SIZE = 128
DEFAULT_MAX_LR = 3e-3
DEFAULT_SEED = 0
DEFAULT_VAL_SIZE = 5000
DEFAULT_WIDTHS = (16, 32, 64, 96)
DEFAULT_WEIGHTS = Path(__file__).resolve().parent.parent / "weights" / "digitnet.pt"
DEGRADED_SEED = 77  # the degraded copy of the held-out digits the ensemble temperature is fitted on


def _widths(text: str) -> tuple[int, int, int, int]:
    """``--widths A,B,C,D``: four positive channel counts."""
    try:
        values = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected four integers A,B,C,D, got {text!r}") from None
    if len(values) != 4 or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected four positive integers A,B,C,D, got {text!r}")
    return values[0], values[1], values[2], values[3]


def add_train_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("train", help="train the digit network on MNIST and write weights + model card")
    p.add_argument("--data", type=Path, required=True, help="directory with MNIST idx files (train and t10k)")
    p.add_argument("--out", type=Path, default=DEFAULT_WEIGHTS, help="weights file to write")
    p.add_argument("--epochs", type=int, default=DEFAULT_EPOCHS)
    p.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)
    p.add_argument("--lr", type=float, default=DEFAULT_MAX_LR, help="peak learning rate (one-cycle)")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED)
    p.add_argument(
        "--widths",
        type=_widths,
        default=DEFAULT_WIDTHS,
        metavar="A,B,C,D",
        help=f"channels of the four convolutions (default: {','.join(map(str, DEFAULT_WIDTHS))})",
    )
    p.add_argument("--limit", type=int, default=None, help="train on the first N digits only (smoke runs)")
    p.add_argument("--val-size", type=int, default=DEFAULT_VAL_SIZE)
    p.add_argument("--threads", type=int, default=1, help="torch threads for the training step")
    p.add_argument(
        "--field-samples",
        type=int,
        default=0,
        help="mix in N candidates cut by the page reader from synthetic fields of training digits",
    )
    p.add_argument("--init", type=Path, default=None, help="weights file to start from (fine-tuning)")
    p.add_argument(
        "--checkpoint", type=Path, default=None, help="checkpoint to resume from and write (default: <out>.ckpt)"
    )
    p.add_argument("--no-card", action="store_true", help="skip the evaluation on MNIST test and the model card")
    p.set_defaults(handler=run_train)


def add_eval_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("eval", help="evaluate the digit network on MNIST-format idx files")
    p.add_argument(
        "--data", type=Path, required=True, help="directory with *-images-idx3-ubyte[.gz] and matching labels"
    )
    p.add_argument("--weights", type=Path, default=DEFAULT_WEIGHTS)
    p.add_argument(
        "--alone", action="store_true", help="evaluate the weights file alone, without the ensemble members beside it"
    )
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("--degraded", action="store_true", help="evaluate the degraded copy of the set instead")
    p.add_argument("--errors", type=Path, default=None, metavar="PNG", help="save a grid of the worst mistakes")
    p.set_defaults(handler=run_eval)


def _nondigit_recall(classifier: Any, digits: Any, count: int = 2000) -> float:
    """Share of synthetic non-digits (a fixed seed) that the classifier calls not-a-digit."""
    import numpy as np

    from recognition.model import REJECT
    from recognition.nondigits import nondigit_sample

    rng = np.random.default_rng(777)
    images = np.stack([nondigit_sample(rng, digits) for _ in range(count)])
    return float(np.mean(classifier.probabilities(images).argmax(axis=1) == REJECT))


def run_train(args: argparse.Namespace) -> int:
    """Train, save weights, evaluate on MNIST test (clean and degraded), write the model card."""
    from dataclasses import asdict

    import numpy as np
    import torch
    from tqdm import tqdm

    from recognition.augment import degrade_set
    from recognition.classifier import load_classifier, save_weights
    from recognition.evaluate import evaluate, normalise_set
    from recognition.mnist import load_split, sha256_of
    from recognition.model import count_parameters
    from recognition.modelcard import ModelCard
    from recognition.train import EpochStats, TrainConfig, train

    torch.set_num_threads(args.threads)
    config = TrainConfig(
        epochs=args.epochs,
        batch_size=args.batch_size,
        max_lr=args.lr,
        seed=args.seed,
        widths=args.widths,
        limit=args.limit,
        val_size=args.val_size,
        field_samples=args.field_samples,
        init_weights=None if args.init is None else str(args.init),
    )
    train_set = load_split(args.data, "train")
    checkpoint = args.checkpoint or args.out.with_suffix(".ckpt")
    checkpoint.parent.mkdir(parents=True, exist_ok=True)
    n_samples = (len(train_set) - min(config.val_size, len(train_set) // 5)) if config.limit is None else config.limit
    n_batches = (
        n_samples + int(n_samples * config.nondigit_fraction) + config.field_samples + config.batch_size - 1
    ) // config.batch_size
    bar: Any = None

    def on_batch(epoch: int, batch: int, loss: float, accuracy: float) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=n_batches, desc=f"epoch {epoch + 1}/{config.epochs}", file=sys.stderr, unit="batch")
        bar.update(1)
        if batch % 20 == 0:
            bar.set_postfix(loss=f"{loss:.4f}", acc=f"{accuracy * 100:.2f}%")

    def on_epoch(stats: EpochStats) -> None:
        nonlocal bar
        if bar is not None:
            bar.set_postfix(loss=f"{stats.loss:.4f}", acc=f"{stats.accuracy * 100:.2f}%")
            bar.close()
            bar = None

    result = train(
        train_set.images, train_set.labels, config, checkpoint=checkpoint, on_batch=on_batch, on_epoch=on_epoch
    )
    save_weights(args.out, result.network, result.temperature)
    print(f"wrote {args.out} (T = {result.temperature:.4f})", file=sys.stderr)
    if args.no_card:
        return 0

    start = time.perf_counter()
    classifier = load_classifier(args.out, ensemble=None)  # the card describes this network alone
    classifier.predict(np.zeros((1, 28, 28), dtype=np.float32))
    load_s = time.perf_counter() - start
    test_set = load_split(args.data, "t10k")
    clean, _ = evaluate(classifier, normalise_set(test_set.images), test_set.labels)
    degraded, _ = evaluate(classifier, degrade_set(test_set.images), test_set.labels)
    card = ModelCard(
        weights_path=args.out,
        command="formdigits train " + " ".join(shlex.quote(a) for a in sys.argv[2:]),
        config={k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(config).items()},
        parameters=count_parameters(result.network),
        temperature=result.temperature,
        data_checksums={
            p.name: sha256_of(p)
            for p in (train_set.images_path, train_set.labels_path, test_set.images_path, test_set.labels_path)
        },
        clean=clean,
        degraded=degraded,
        reject_recall=_nondigit_recall(classifier, test_set.images),
        load_and_first_prediction_s=load_s,
        history=[
            {"epoch": h.epoch, "loss": h.loss, "accuracy": h.accuracy, "seconds": h.seconds} for h in result.history
        ],
    )
    paths = card.write()
    print(
        f"MNIST test: {clean.accuracy * 100:.2f}% (ECE {clean.ece * 100:.2f}%), degraded: {degraded.accuracy * 100:.2f}%",
        file=sys.stderr,
    )
    print("wrote " + ", ".join(map(str, paths)), file=sys.stderr)
    return 0


def _error_grid(path: Path, images: Any, mistakes: list[tuple[int, int, int, float]]) -> None:
    """Save the worst mistakes as a grid, each tile labelled 'true>predicted'."""
    import cv2
    import numpy as np

    from recognition.model import REJECT

    tiles = []
    for index, truth, predicted, confidence in mistakes:
        tile = cv2.resize((images[index] * 255).astype(np.uint8), (84, 84), interpolation=cv2.INTER_NEAREST)
        tile = cv2.copyMakeBorder(tile, 0, 18, 0, 0, cv2.BORDER_CONSTANT, value=40)
        label = f"{truth}>{'X' if predicted == REJECT else predicted} {confidence:.2f}"
        cv2.putText(tile, label, (2, 98), cv2.FONT_HERSHEY_SIMPLEX, 0.4, 255, 1, cv2.LINE_AA)
        tiles.append(tile)
    if not tiles:
        tiles = [np.zeros((102, 84), np.uint8)]
    columns = 8
    while len(tiles) % columns:
        tiles.append(np.zeros_like(tiles[0]))
    rows = [np.hstack(tiles[i : i + columns]) for i in range(0, len(tiles), columns)]
    cv2.imwrite(str(path), np.vstack(rows))


def run_eval(args: argparse.Namespace) -> int:
    """Evaluate the weights on an idx set; text or one JSON object on stdout."""
    import torch

    from recognition.augment import degrade_set
    from recognition.classifier import load_classifier
    from recognition.evaluate import evaluate, format_report, normalise_set, worst_mistakes
    from recognition.mnist import load_eval_set

    torch.set_num_threads(1)
    data = load_eval_set(args.data)
    classifier = load_classifier(args.weights, ensemble=None if args.alone else "beside")
    images = degrade_set(data.images) if args.degraded else normalise_set(data.images)
    report, probabilities = evaluate(classifier, images, data.labels)
    if args.errors is not None:
        _error_grid(args.errors, images, worst_mistakes(images, data.labels, probabilities))
    if args.format == "json":
        print(json.dumps({**report.to_dict(), "networks": classifier.size}))
    else:
        print(f"set: {data.images_path.name}{' (degraded)' if args.degraded else ''}")
        print(f"networks: {classifier.size}")
        print(format_report(report))
    return 0


def add_calibrate_ensemble_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "calibrate-ensemble",
        help="fit the temperature of the digit networks' gated combination and write the ensemble file",
    )
    p.add_argument("--data", type=Path, required=True, help="directory with MNIST idx files (train)")
    p.add_argument("--weights", type=Path, default=DEFAULT_WEIGHTS, help="the first network's weights file")
    p.add_argument(
        "--members",
        nargs="+",
        default=["digitnet-b.pt"],
        metavar="FILE",
        help="the other networks' weights files, beside --weights (default: digitnet-b.pt)",
    )
    p.add_argument("--gate", type=float, default=None, help="ask the others below this top probability (0.9)")
    p.add_argument(
        "--out", type=Path, default=None, help="ensemble file to write, beside the weights (default: ensemble.json)"
    )
    p.set_defaults(handler=run_calibrate_ensemble)


def run_calibrate_ensemble(args: argparse.Namespace) -> int:
    """Fit the combined temperature on held-out digits (clean, degraded, non-digits); write the ensemble file."""
    import datetime as dt

    import numpy as np
    import torch

    from recognition.augment import degrade_set
    from recognition.calibration import expected_calibration_error, softmax
    from recognition.classifier import (
        ENSEMBLE_FILE,
        ENSEMBLE_GATE,
        Classifier,
        fit_ensemble_temperature,
        load_network,
        write_ensemble,
    )
    from recognition.train import TrainConfig, held_out_digits, validation_set

    torch.set_num_threads(1)
    gate = ENSEMBLE_GATE if args.gate is None else args.gate
    if not 0 < gate <= 1:
        print("--gate takes a probability in (0, 1]", file=sys.stderr)
        return 2
    out = args.out or args.weights.with_name(ENSEMBLE_FILE)
    if out.resolve().parent != args.weights.resolve().parent:
        print("--out must be beside --weights: the ensemble file names its networks by file name", file=sys.stderr)
        return 2
    members = [args.weights.with_name(m) for m in args.members]
    network, temperature = load_network(args.weights)
    classifier = Classifier(network, temperature, members=[load_network(m) for m in members], gate=gate)
    digits = held_out_digits(args.data)
    clean_x, clean_y = validation_set(digits.images, digits.labels, TrainConfig().seed)
    images = np.concatenate([clean_x, degrade_set(digits.images, seed=DEGRADED_SEED)])
    labels = np.concatenate([clean_y, digits.labels.astype(np.int64)])
    unsure, combined = classifier.gated_logits(images)
    truth = labels[unsure]
    combined_temperature = fit_ensemble_temperature(combined, truth)

    def figures(t: float) -> dict[str, float]:
        p = softmax(combined, t)
        nll = float(-np.log(np.clip(p[np.arange(len(p)), truth], 1e-12, 1.0)).mean())
        return {"nll": round(nll, 4), "ece": round(expected_calibration_error(p, truth), 4)}

    fitted = {
        "date": dt.date.today().isoformat(),
        "command": "formdigits calibrate-ensemble " + " ".join(shlex.quote(a) for a in sys.argv[2:]),
        "data": (
            f"the {len(digits)} held-out MNIST-train digits the networks never trained on, clean with "
            f"{len(clean_y) - len(digits)} synthetic non-digits, and degraded (seed {DEGRADED_SEED})"
        ),
        "images": len(labels),
        "passed_by_gate": int(unsure.size),
        "accuracy_of_passed": round(float(np.mean(combined.argmax(axis=1) == truth)), 4),
        "before": figures(1.0),
        "after": figures(combined_temperature),
    }
    write_ensemble(out, args.weights, members, gate, combined_temperature, fitted)
    print(f"wrote {out}: T = {combined_temperature:.4f}; {json.dumps(fitted)}", file=sys.stderr)
    return 0


def add_train_pairs_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "train-pairs", help="train the pair network (two touching digits read whole) on composed MNIST digits"
    )
    p.add_argument("--data", type=Path, required=True, help="directory with MNIST idx files (train and t10k)")
    p.add_argument(
        "--out", type=Path, default=None, help="weights file to write (default: weights/pairnet.pt, or triplenet.pt)"
    )
    p.add_argument(
        "--count", type=int, choices=(2, 3), default=2, help="digits read whole: 2 (pair network) or 3 (triple network)"
    )
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--samples", type=int, default=60_000, help="composed samples per epoch")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED)
    p.add_argument("--threads", type=int, default=1, help="torch threads for the training step")
    p.add_argument(
        "--shares",
        default=None,
        metavar="P,O,T,S,M",
        help="shares of pairs, one digit, three digits, digit + slice, digit + mark (default 0.5,0.15,0.2,0.1,0.05); "
        "with --count 3 six: three, two, one wide, four, two + slice, two + mark (default 0.5,0.17,0.05,0.13,0.1,0.05)",
    )
    p.add_argument("--three-gap", default=None, metavar="MIN,MAX", help="gaps of three-digit negatives (-0.2,0.3)")
    p.add_argument(
        "--size-mix",
        type=float,
        default=None,
        metavar="SHARE",
        help="share of pair, three and slice samples with one digit drawn 1.2-2x the others' height (default 0)",
    )
    p.add_argument(
        "--sign-share",
        type=float,
        default=0.0,
        metavar="SHARE",
        help="share of samples that are a printed sign, alone or before a digit, not two digits (default 0)",
    )
    p.add_argument("--lr", type=float, default=3e-3, help="peak learning rate (one-cycle)")
    p.add_argument("--init", type=Path, default=None, help="weights file to start from (fine-tuning)")
    p.add_argument(
        "--field-samples",
        type=int,
        default=0,
        metavar="N",
        help="mix into every epoch N pair candidates cut by the page reader from synthetic fields of "
        "training digits (--count 2; which fields: --field-kind)",
    )
    p.add_argument(
        "--field-kind",
        choices=("comb", "free"),
        default="comb",
        help="the field samples' fields: comb (two comb cells joined by ink, for combpairnet.pt) or free "
        "(runs of touching atoms in hard line strings and forms' free strings, for pairnet.pt); default comb",
    )
    p.set_defaults(handler=run_train_pairs)


# Pair candidates cut from MNIST test's digits for the card of a network trained with field samples.
PAIR_TEST_SAMPLES = 2000


def default_pair_out(count: int) -> Path:
    """Where ``train-pairs`` writes by default: the shipped pair (count 2) or triple (3) network's file."""
    return DEFAULT_WEIGHTS.with_name("triplenet.pt" if count == 3 else "pairnet.pt")


def run_train_pairs(args: argparse.Namespace) -> int:
    """Train the pair network on MNIST train less the digit network's held-out split; card on MNIST test pairs."""
    from dataclasses import asdict, replace

    import numpy as np
    import torch

    from recognition.fieldsamples import COMB_PAIR_OVERSIZE, comb_pair_samples, free_pair_samples
    from recognition.mnist import DigitSet, load_split, sha256_of
    from recognition.model import count_parameters
    from recognition.pairs import (
        TRIPLE_DATA,
        PairData,
        PairTrainConfig,
        evaluate_pairs,
        load_pair_classifier,
        pair_batch,
        save_pair_weights,
        train_pairs,
    )
    from recognition.train import TrainConfig, split_train_val

    torch.set_num_threads(args.threads)
    data = TRIPLE_DATA if args.count == 3 else PairData()
    args.out = args.out or default_pair_out(args.count)
    if args.shares:
        shares = [float(v) for v in args.shares.split(",")]
        kinds = len(data.kind_shares)
        if len(shares) != kinds or min(shares) < 0 or abs(sum(shares) - 1.0) > 1e-6:
            print(f"--shares takes {kinds} non-negative shares summing to 1", file=sys.stderr)
            return 2
        data = replace(data, kind_shares=tuple(shares))
    if args.three_gap:
        low, high = (float(v) for v in args.three_gap.split(","))
        data = replace(data, three_gap=(low, high))
    if args.size_mix is not None:
        if not 0.0 <= args.size_mix <= 1.0:
            print("--size-mix takes a share between 0 and 1", file=sys.stderr)
            return 2
        data = replace(data, size_mix=args.size_mix)
    if not 0.0 <= args.sign_share < 1.0 or (args.sign_share and args.count == 3):
        print("--sign-share takes a share from 0 up to 1, for the pair network (--count 2)", file=sys.stderr)
        return 2
    data = replace(data, sign_share=args.sign_share)
    if args.field_samples < 0 or (args.field_samples and args.count == 3):
        print("--field-samples takes a count of 0 or more, for the pair network (--count 2)", file=sys.stderr)
        return 2
    config = PairTrainConfig(
        epochs=args.epochs,
        samples_per_epoch=args.samples,
        seed=args.seed,
        max_lr=args.lr,
        data=data,
        init_weights=None if args.init is None else str(args.init),
        field_samples=args.field_samples,
        field_kind=args.field_kind,
    )
    train_set = load_split(args.data, "train")
    # The same held-out split as the digit network's (TrainConfig's seed and size).
    train_x, train_y, val_x, val_y = split_train_val(train_set.images, train_set.labels, TrainConfig())
    field = None
    cut = comb_pair_samples if args.field_kind == "comb" else free_pair_samples
    if args.field_samples > 0:
        print(
            f"cutting {args.field_samples} {args.field_kind} pair candidates from synthetic fields",
            file=sys.stderr,
            flush=True,
        )
        field = cut(DigitSet(train_x, train_y, Path(), Path()), args.field_samples, args.seed)

    def on_epoch(epoch: int, loss: float, accuracy: float, seconds: float) -> None:
        print(
            f"epoch {epoch}/{config.epochs}: loss {loss:.4f}, pairs read {accuracy * 100:.2f}%, {seconds:.0f} s",
            file=sys.stderr,
            flush=True,
        )

    init_sha256 = None if args.init is None else sha256_of(args.init)  # before --out may overwrite it
    result = train_pairs(train_x, train_y, val_x, val_y, config, on_epoch, field)
    save_pair_weights(args.out, result.network, result.t_pair, result.t_digit)
    classifier = load_pair_classifier(args.out)
    test_set = load_split(args.data, "t10k")
    tx, ty = pair_batch(np.random.default_rng((args.seed, 20_000)), test_set.images, test_set.labels, 10_000, data)
    test = evaluate_pairs(classifier.probabilities(tx), ty)
    extra: dict[str, Any] = {} if init_sha256 is None else {"init_sha256": init_sha256}
    if field is not None:  # what the field samples teach, measured on candidates cut from MNIST test's digits
        cx, cy = cut(test_set, PAIR_TEST_SAMPLES, args.seed + 1)
        extra[f"mnist_test_{args.field_kind}_pairs"] = evaluate_pairs(classifier.probabilities(cx), cy)
        if args.field_kind == "comb":
            extra["field_oversize_share"] = COMB_PAIR_OVERSIZE
    card = {
        **_card_head(args.out, "train-pairs", asdict(config), count_parameters(result.network)),
        "t_pair": result.t_pair,
        "t_digit": result.t_digit,
        "validation": result.metrics,
        "mnist_test_pairs": test,
        "history": [{"epoch": e, "loss": lo, "pairs_read": a, "seconds": s} for e, lo, a, s in result.history],
        "data_checksums": _checksums(train_set, test_set),
        **extra,
    }
    written = _write_card(args.out, card, pair_card_markdown(card))
    print(f"wrote {written}; MNIST test pairs: {json.dumps(test)}", file=sys.stderr)
    return 0


def _card_head(weights: Path, command: str, config: dict[str, Any], parameters: int) -> dict[str, Any]:
    """What every model card begins with: the file, its date and checksum, the command that made it, its configuration."""
    import datetime as dt

    from recognition.mnist import sha256_of

    return {
        "weights": weights.name,
        "date": dt.date.today().isoformat(),
        "sha256": sha256_of(weights),
        "command": f"formdigits {command} " + " ".join(shlex.quote(a) for a in sys.argv[2:]),
        "config": config,
        "parameters": parameters,
    }


def _checksums(train_set: Any, test_set: Any) -> dict[str, str]:
    """sha256 of the MNIST files a network was trained and carded on, by file name."""
    from recognition.mnist import sha256_of

    paths = (train_set.images_path, train_set.labels_path, test_set.images_path, test_set.labels_path)
    return {p.name: sha256_of(p) for p in paths}


def _write_card(weights: Path, card: dict[str, Any], markdown: str) -> str:
    """Write ``card`` as JSON and ``markdown`` beside ``weights``; the three paths, for the log line."""
    json_path, md_path = weights.with_suffix(".card.json"), weights.with_suffix(".card.md")
    json_path.write_text(json.dumps(card, indent=2) + "\n")
    md_path.write_text(markdown)
    return f"{weights}, {json_path}, {md_path}"


# What a pair network's model card says of its field samples (train-pairs --field-kind): how they
# were cut ("trained") and how the network reads such candidates cut from MNIST test ("measured").
_FIELD_SAMPLE_TEXT: dict[str, dict[str, str]] = {
    "comb": {
        "trained": "Every epoch also holds the same {count:,} comb pair candidates cut by the page reader "
        "(`recognition.fieldsamples.comb_pair_samples`: synthetic combs of the same training digits{oversize}, "
        "rules removed, two cells joined by ink), labelled with the two cells' digits, or not a pair when one "
        "cell was left empty (a digit and its spill).",
        "measured": "Comb pair candidates cut by the page reader from synthetic combs of MNIST test digits "
        "({n:,}, `comb_pair_samples`): {exact} of the pairs read exactly, {rejected} of the spills said not a pair.",
    },
    "free": {
        "trained": "Every epoch also holds the same {count:,} free-string pair candidates cut by the page reader "
        "(`recognition.fieldsamples.free_pair_samples`: hard line strings and forms' free strings of the same "
        "training digits, runs of touching atoms one to two digits wide), labelled with their two digits when "
        "they are exactly two neighbouring digits, else not a pair (one character, a digit and a slice of the "
        "next, a digit and a separator).",
        "measured": "Free-string pair candidates cut by the page reader from hard line strings and forms' free "
        "strings of MNIST test digits ({n:,}, `free_pair_samples`): {exact} of the pairs read exactly, {rejected} "
        "of the others said not a pair.",
    },
}

# What the pair and the triple network's model cards say differently, by digits read whole.
_CARD_TEXT: dict[int, dict[str, Any]] = {
    2: {
        "about": [
            "Pair network of formdigits (`recognition.pairs.PairNet`): reads a candidate of two touching or",
            "overlapping handwritten digits whole. Outputs p(the candidate is exactly two digits) and the",
            "left and right digit. The reader offers `pairnet.pt` runs of touching atoms about one to two",
            "digits wide in free strings, next to the readings made of single digits (`recognition.decoding`,",
            "`PAIR_*`), and `combpairnet.pt` comb cells joined by ink across their wall (`recognition.combs`).",
        ],
        "input": "28x56, the candidate mask fitted into 20x48 (aspect kept), centred, edge-blurred (`normalise_pair`)",
        "temperature": "T_pair",
        "sampler": "pair_sample",
        "data": [
            "two digits at a gap",
            "(share of the height) from deep overlap to a hair apart, and, labelled not-a-pair, one",
            "digit (sometimes drawn up to twice as wide), three digits, a digit with a slice of its",
            "neighbour, a digit with a point or dash, in the shares given for pair, one, three, slice,",
            "mark. Heights 22-71 px, slant, thickness, binarised.",
        ],
        "size_mix": " In {:.0%} of the pair, three-digit and slice samples one digit is drawn"
        " 1.2-2 times the others' height and centred on them, like an oversize digit beside its"
        " neighbours in a comb.",
        "rows": (
            "two digits read exactly (said pair, both digits right)",
            "both digits right",
            "non-pairs said not a pair",
        ),
        "stream": "pairs read",
    },
    3: {
        "about": [
            "Triple network of formdigits (`recognition.pairs.PairNet` with `count=3`): reads a candidate of",
            "three handwritten digits written into each other whole. Outputs p(the candidate is exactly three",
            "digits) and its three digits, left to right. The reader offers it runs of touching atoms about",
            "three digits wide in free strings, next to the readings made of single digits and pairs",
            "(`recognition.decoding`, `TRIPLE_*`).",
        ],
        "input": "28x84, the candidate mask fitted into 20x76 (aspect kept), centred, edge-blurred (`normalise_triple`)",
        "temperature": "T_three",
        "sampler": "triple_sample",
        "data": [
            "three digits at gaps",
            "(shares of the height) from deep overlap to a hair apart, and, labelled not three digits,",
            "two digits (one sometimes drawn wide), one digit drawn 1.5-3 times as wide, four digits, two",
            "digits with a slice of a third, two digits with a point or dash, in the shares given for",
            "three, two, one, four, slice, mark. Heights 22-71 px, slant, thickness, binarised.",
        ],
        "size_mix": " In {:.0%} of the samples one digit is drawn 1.2-2 times the others' height and"
        " centred on them, like an oversize digit beside its neighbours in a comb.",
        "rows": (
            "three digits read exactly (said three, all three right)",
            "all three digits right",
            "other candidates said not three digits",
        ),
        "stream": "three digits read",
    },
}


def _card_facts(card: dict[str, Any]) -> list[str]:
    """The first rows of a model card's table: date, checksum, parameters."""
    return [
        "| | |",
        "|---|---|",
        f"| date | {card['date']} |",
        f"| sha256 | `{card['sha256']}` |",
        f"| parameters | {card['parameters']:,} |",
    ]


def pair_card_markdown(card: dict[str, Any]) -> str:
    """The pair (or triple) network's model card in Markdown, from the card dictionary written beside the weights."""

    data = card["config"].get("data", {})
    text = _CARD_TEXT[int(data.get("count", 2))]

    def pct(value: float) -> str:
        return f"{value * 100:.2f}%"

    rows = [
        f"| {name} | {pct(card['validation'][key])} | {pct(card['mnist_test_pairs'][key])} |"
        for name, key in zip(
            text["rows"], ("pairs_read_exactly", "pairs_both_digits_right", "non_pairs_rejected"), strict=True
        )
    ]
    history = [
        f"| {h['epoch']} | {h['loss']:.4f} | {pct(h['pairs_read'])} | {h['seconds']:.0f} s |" for h in card["history"]
    ]
    checksums = [f"| `{name}` | `{digest}` |" for name, digest in card["data_checksums"].items()]
    first, *rest = text["data"]
    share = card.get("field_oversize_share")
    field_kind = card["config"].get("field_kind", "comb")
    field_text = _FIELD_SAMPLE_TEXT[field_kind]
    count = card["config"].get("field_samples", 0)
    field_lines = (
        [field_text["trained"].format(count=count, oversize="" if share is None else f", {share:.0%} of them oversize")]
        if count > 0
        else []
    )
    measured = card.get(f"mnist_test_{field_kind}_pairs")
    test_lines = (
        [
            "",
            field_text["measured"].format(
                n=PAIR_TEST_SAMPLES,
                exact=pct(measured["pairs_read_exactly"]),
                rejected=pct(measured["non_pairs_rejected"]),
            ),
        ]
        if measured
        else []
    )
    return "\n".join(
        [
            f"# Model card: `{card['weights']}`",
            "",
            *text["about"],
            "",
            *_card_facts(card),
            f"| input | {text['input']}, standardised like the digit network's |",
            f"| calibration | temperatures {text['temperature']} = {card['t_pair']:.4f}, T_digit = {card['t_digit']:.4f}, "
            "fitted on samples composed from the digit network's 5,000 held-out MNIST-train digits |",
            "",
            "## Training",
            "",
            f"Command: `{card['command']}`",
            "",
            "Data: samples composed afresh every epoch from MNIST train less the held-out split",
            f"(`recognition.pairs.{text['sampler']}`, `{json.dumps(data)}`): {first}",
            *rest[:-1],
            rest[-1] + (text["size_mix"].format(data["size_mix"]) if data.get("size_mix", 0) > 0 else ""),
            *(
                [
                    f"{data['sign_share'] * 100:.0f}% of samples are a printed sign ($, #, *, %, & in Pillow's typeface), "
                    "alone or before a digit, labelled not a pair."
                ]
                if data.get("sign_share", 0) > 0
                else []
            ),
            *field_lines,
            *(
                [
                    f"Started from the weights `{card['config']['init_weights']}`"
                    + (f" (sha256 `{card['init_sha256']}`)." if card.get("init_sha256") else ".")
                ]
                if card["config"].get("init_weights")
                else []
            ),
            "AdamW, one-cycle learning",
            f"rate (max {card['config']['max_lr']}), {card['config']['epochs']} epochs of "
            f"{card['config']['samples_per_epoch']:,} samples, seed {card['config']['seed']}; "
            "the shipped weights are the exponential moving average (decay 0.999).",
            "",
            "## Metrics",
            "",
            "| | validation (held-out MNIST-train digits) | MNIST test digits (10,000 composed samples) |",
            "|---|---|---|",
            *rows,
            *test_lines,
            "",
            "What it does to whole strings is measured by `benchmarks/bench_reader.py` and",
            "`benchmarks/bench_forms.py` (README).",
            "",
            f"| epoch | loss | {text['stream']} (training stream) | time |",
            "|---|---|---|---|",
            *history,
            "",
            "| file | sha256 |",
            "|---|---|",
            *checksums,
            "",
        ]
    )


def add_train_lines_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "train-lines", help="train the line network (whole digit strings read with CTC) on strings cut by the reader"
    )
    p.add_argument("--data", type=Path, required=True, help="directory with MNIST idx files (train and t10k)")
    p.add_argument("--out", type=Path, default=DEFAULT_WEIGHTS.with_name("linenet.pt"), help="weights file to write")
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--samples", type=int, default=40_000, help="training strings drawn (augmented afresh each epoch)")
    p.add_argument("--val-samples", type=int, default=2_000, help="strings of held-out digits to watch training on")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED)
    p.add_argument("--threads", type=int, default=2, help="torch threads for the training step")
    p.add_argument("--workers", type=int, default=2, help="processes drawing the strings")
    p.add_argument("--no-card", action="store_true", help="skip the MNIST test strings and the model card")
    p.set_defaults(handler=run_train_lines)


def _draw_lines(digits: Any, count: int, seed: int, workers: int) -> list[Any]:
    """``count`` line samples of ``digits`` drawn in ``workers`` processes (deterministic for a seed and worker count)."""
    from concurrent.futures import ProcessPoolExecutor

    from recognition.linesamples import line_samples

    if workers <= 1:
        return line_samples(digits, count, seed)
    parts = [count // workers + (i < count % workers) for i in range(workers)]
    with ProcessPoolExecutor(workers) as pool:
        chunks = pool.map(line_samples, [digits] * workers, parts, [seed * 1000 + i for i in range(workers)])
        return [sample for chunk in chunks for sample in chunk]


def run_train_lines(args: argparse.Namespace) -> int:
    """Train the line network on strings of MNIST train less the held-out split; card on MNIST test strings."""
    from dataclasses import asdict

    import torch

    from recognition.mnist import DigitSet, load_split
    from recognition.model import count_parameters
    from recognition.sequence import LineTrainConfig, evaluate_lines, load_line_reader, save_line_weights, train_lines
    from recognition.train import TrainConfig, split_train_val

    torch.set_num_threads(args.threads)
    config = LineTrainConfig(epochs=args.epochs, seed=args.seed)
    full = load_split(args.data, "train")
    # The same held-out split as the digit network's (TrainConfig's seed and size).
    train_x, train_y, val_x, val_y = split_train_val(full.images, full.labels, TrainConfig())
    start = time.perf_counter()
    train_digits, val_digits = (
        DigitSet(x, y, full.images_path, full.labels_path) for x, y in ((train_x, train_y), (val_x, val_y))
    )
    train = _draw_lines(train_digits, args.samples, args.seed, args.workers)
    val = _draw_lines(val_digits, args.val_samples, args.seed + 1, args.workers)
    print(
        f"drew {len(train)} training and {len(val)} validation strings in {time.perf_counter() - start:.0f} s",
        file=sys.stderr,
    )

    def on_epoch(epoch: int, loss: float, accuracy: float, seconds: float) -> None:
        print(
            f"epoch {epoch}/{config.epochs}: loss {loss:.4f}, held-out strings read exactly {accuracy * 100:.2f}%, "
            f"{seconds:.0f} s",
            file=sys.stderr,
            flush=True,
        )

    network, history = train_lines(train, val, config, on_epoch)
    save_line_weights(args.out, network, {"config": asdict(config)})
    if args.no_card:
        return 0
    reader = load_line_reader(args.out)
    test_set = load_split(args.data, "t10k")
    test = _draw_lines(test_set, args.val_samples, args.seed + 2, args.workers)
    card = {
        **_card_head(args.out, "train-lines", asdict(config), count_parameters(network)),
        "samples": args.samples,
        "validation_exact": history[-1][2],
        "mnist_test_exact": evaluate_lines(reader.network, test),
        "history": [{"epoch": e, "loss": lo, "val_exact": a, "seconds": s} for e, lo, a, s in history],
        "data_checksums": _checksums(full, test_set),
    }
    written = _write_card(args.out, card, line_card_markdown(card))
    print(f"wrote {written}; MNIST test strings read exactly: {card['mnist_test_exact']:.4f}", file=sys.stderr)
    return 0


def line_card_markdown(card: dict[str, Any]) -> str:
    """The line network's model card in Markdown, from the card dictionary written beside the weights
    (its ``note``, if any, says what this network is for beside the other line network)."""

    def pct(value: float) -> str:
        return f"{value * 100:.2f}%"

    config = card["config"]
    history = [
        f"| {h['epoch']} | {h['loss']:.4f} | {pct(h['val_exact'])} | {h['seconds']:.0f} s |" for h in card["history"]
    ]
    checksums = [f"| `{name}` | `{digest}` |" for name, digest in card["data_checksums"].items()]
    return "\n".join(
        [
            f"# Model card: `{card['weights']}`",
            "",
            "Line network of formdigits (`recognition.sequence.LineNet`): reads a whole digit string (a free",
            "field's ink mask) as a sequence, without cutting it: a CNN over the mask scaled to 32 px high,",
            "a bidirectional LSTM over its columns (one step per 4 px), and per step a distribution over the",
            "CTC blank, the ten digits and the marks `, . -`. The reader does not take its reading as the",
            "result: it adds `LINE_WEIGHT` x its log p(digits | line) (marks merged into the blank) to the",
            "score of each of the decoder's best paths (`recognition.decoding._judged`) and of a comb's",
            "readings (`recognition.combs.judged_comb`), so every digit keeps its box and calibrated",
            "confidence from the cuts.",
            *(["", card["note"]] if card.get("note") else []),
            "",
            *_card_facts(card),
            f"| architecture | conv widths {config['widths']}, BiLSTM hidden {config['hidden']} |",
            "| input | the field's ink mask (ink = 1.0) scaled to 32 rows, aspect kept, 4 blank columns either side (`scale_line`, `line_batch`) |",
            "",
            "## Training",
            "",
            f"Command: `{card['command']}`",
            "",
            f"Data: {card['samples']:,} strings drawn once from MNIST train less the digit network's held-out",
            "split and cut by the reader's own segmentation (`recognition.linesamples`: 40% hard line-mode",
            "strings, 35% free strings of synthetic form strips, 10% MNIST digits pasted side by side),",
            "and 15% digit strings in OpenCV's Hershey fonts drawn into each other, cut the same way;",
            "stretched, slanted, thickened or thinned afresh every epoch. CTC loss, AdamW, one-cycle",
            f"learning rate (max {config['max_lr']}), batch {config['batch_size']}, {config['epochs']} epochs, seed {config['seed']}.",
            "",
            "## Metrics (the network alone, greedy decoding, marks included)",
            "",
            "| | strings read exactly |",
            "|---|---|",
            f"| held-out MNIST-train digits, same kinds | {pct(card['validation_exact'])} |",
            f"| MNIST test digits, same kinds | {pct(card['mnist_test_exact'])} |",
            "",
            "What it does to the reader is measured by `benchmarks/bench_reader.py` and",
            "`benchmarks/bench_forms.py` (README).",
            "",
            "| epoch | CTC loss | held-out strings read exactly | time |",
            "|---|---|---|---|",
            *history,
            "",
            "| file | sha256 |",
            "|---|---|",
            *checksums,
            "",
        ]
    )


def add_train_printed_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "train-printed",
        help="train the printed-letter network (a currency printed before an amount) on rendered letters and MNIST",
    )
    p.add_argument("--data", type=Path, required=True, help="directory with MNIST idx files (train and t10k)")
    p.add_argument("--out", type=Path, default=DEFAULT_WEIGHTS.with_name("printednet.pt"), help="weights file to write")
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--samples", type=int, default=120_000, help="training masks drawn once")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1, help="torch threads for the training step")
    p.add_argument(
        "--card-only",
        action="store_true",
        help="measure the weights at --out again and rewrite their card (training facts kept)",
    )
    p.set_defaults(handler=run_train_printed)


def _hershey_letters(rng: Any, count: int) -> Any:
    """Letters and signs the printed-letter network is taught, printed in OpenCV's Hershey fonts (which
    it never saw), as normalised masks: how it does on a typeface of its own."""
    import cv2
    import numpy as np

    from recognition.normalise import normalise_mask
    from recognition.printed import LETTERS, SIGNS

    faces = (cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_DUPLEX, cv2.FONT_HERSHEY_COMPLEX, cv2.FONT_HERSHEY_TRIPLEX)
    pool = LETTERS + "".join(s for s in SIGNS if s.isascii())
    out: list[Any] = []
    while len(out) < count:
        char = pool[int(rng.integers(len(pool)))]
        scale = float(rng.uniform(1.0, 2.5))
        face = faces[int(rng.integers(len(faces)))] | (cv2.FONT_ITALIC if rng.random() < 0.2 else 0)
        canvas = np.zeros((160, 160), np.uint8)
        cv2.putText(
            canvas, char, (30, 110), face, scale, 255, max(1, round(scale * float(rng.uniform(1, 3)))), cv2.LINE_AA
        )
        mask = np.where(canvas > 127, 255, 0).astype(np.uint8)
        rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
        if rows.size:
            out.append(normalise_mask(mask[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]))
    return np.stack(out)


def _digit_masks(images: Any, rng: Any, degraded: bool) -> Any:
    """MNIST digits as the reader sees a line's pieces: enlarged 3x, binarised, normalised (distorted first if ``degraded``)."""
    import cv2
    import numpy as np

    from recognition.augment import DEGRADED, distort_or_retry
    from recognition.normalise import normalise_mask

    out = []
    for image in images:
        digit = distort_or_retry(image, rng, DEGRADED) if degraded else image.astype(np.float32) / 255.0
        big = cv2.resize((digit * 255).astype(np.uint8), None, fx=3, fy=3, interpolation=cv2.INTER_CUBIC)
        mask = np.where(big > 127, 255, 0).astype(np.uint8)
        rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
        out.append(
            normalise_mask(mask[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1])
            if rows.size
            else np.zeros((28, 28), np.float32)
        )
    return np.stack(out)


def run_train_printed(args: argparse.Namespace) -> int:
    """Train the printed-letter network; card on MNIST test digits and letters in fonts it never saw.
    With ``--card-only``, the figures of the weights at ``--out`` are measured again (at today's
    threshold) and their card rewritten, its training facts kept."""
    from dataclasses import asdict

    import numpy as np

    from recognition.mnist import DigitSet, load_split
    from recognition.model import count_parameters
    from recognition.printed import (
        LETTERS,
        LOOKALIKES,
        PRINTED_P,
        SIGNS,
        PrintedConfig,
        held_out_figures,
        load_printed_classifier,
        train_printed,
        training_fonts,
    )
    from recognition.train import TrainConfig, split_train_val

    logging.getLogger("recognition.printed").setLevel(logging.INFO)
    config = PrintedConfig(samples=args.samples, epochs=args.epochs, seed=args.seed, threads=args.threads)
    full = load_split(args.data, "train")
    train_x, train_y, val_x, val_y = split_train_val(full.images, full.labels, TrainConfig())
    train_digits, val_digits = (
        DigitSet(x, y, full.images_path, full.labels_path) for x, y in ((train_x, train_y), (val_x, val_y))
    )
    if args.card_only:
        old = json.loads(args.out.with_suffix(".card.json").read_text())
        config = PrintedConfig(**{**old["config"], "widths": tuple(old["config"]["widths"])})
        training = {k: old[k] for k in ("date", "command", "config", "training_seconds", "losses")}
    else:
        start = time.perf_counter()
        losses = train_printed(train_digits, val_digits, args.out, config)
        training = {"training_seconds": round(time.perf_counter() - start), "losses": losses}
    model = load_printed_classifier(args.out)
    test_set = load_split(args.data, "t10k")
    rng = np.random.default_rng(2026)
    figures = {
        **held_out_figures(model, val_digits, config),
        "mnist_test_called_printed": float(
            (model.probabilities(_digit_masks(test_set.images, rng, False)) >= PRINTED_P).mean()
        ),
        "mnist_test_degraded_called_printed": float(
            (model.probabilities(_digit_masks(test_set.images, rng, True)) >= PRINTED_P).mean()
        ),
        "hershey_letters_called_printed": float((model.probabilities(_hershey_letters(rng, 2000)) >= PRINTED_P).mean()),
    }
    card = {
        **_card_head(args.out, "train-printed", asdict(config), count_parameters(model.network)),
        **training,
        "temperature": model.temperature,
        "threshold": PRINTED_P,
        "letters": LETTERS,
        "signs": SIGNS,
        "lookalikes_not_taught": LOOKALIKES,
        "fonts": [p.name for p in training_fonts()] + ["Pillow's own (Aileron)"],
        **figures,
        "data_checksums": _checksums(full, test_set),
    }
    written = _write_card(args.out, card, printed_card_markdown(card))
    print(f"wrote {written}; {json.dumps(figures)}", file=sys.stderr)
    return 0


def printed_card_markdown(card: dict[str, Any]) -> str:
    """The printed-letter network's model card in Markdown, from the card dictionary written beside the weights."""

    def pct(value: float) -> str:
        return f"{value * 100:.2f}%"

    config = card["config"]
    checksums = [f"| `{name}` | `{digest}` |" for name, digest in card["data_checksums"].items()]
    return "\n".join(
        [
            f"# Model card: `{card['weights']}`",
            "",
            "Printed-letter network of formdigits (`recognition.printed.PrintedNet`): one logit, is this",
            "piece of ink a printed letter or sign? `line` mode asks it about the pieces at either end of",
            "a line and paints a run of printed ones over before reading (a currency printed before the",
            "amount, `R$`, `U$S`, `USD`, that the crop caught).",
            "",
            *_card_facts(card),
            f"| architecture | conv widths {list(config['widths'])} (the digit network's blocks), dropout, linear(1) |",
            "| input | a piece's binary mask made by `recognition.normalise.normalise_mask` (28x28, ink = 1.0) |",
            f"| calibration | temperature {card['temperature']:.3f}, fitted on held-out masks; a piece is printed at p >= {card['threshold']} |",
            "",
            "## Training",
            "",
            f"Command: `{card['command']}`",
            "",
            f"Data: {config['samples']:,} masks drawn once: printed letters `{card['letters']}` and signs",
            f"`{card['signs']}` (35%), two of them run together (8%), against MNIST train digits less the",
            "held-out split, distorted (17%), two or three of them touching (10%), the pieces of synthetic hard",
            "and cents lines of those digits as line mode cuts them (`line_piece_masks`: overlaps, broken",
            "strokes, separators, guide lines, security backgrounds; 20%), digits printed in the same fonts",
            "(5%) and hand-drawn non-digits (dashes, slashes, commas, blobs, box corners, halves and pairs of",
            "digits, specks, fences: 5%).",
            f"Printed letters a handwritten digit can look like (`{card['lookalikes_not_taught']}`) are taught",
            "neither way. Printed in regular to bold weight, upright or slanted, turned up to 5 degrees,",
            "blurred, noised, binarised at 35-65% of the ink's level, a pixel thinner or thicker now and then.",
            f"Fonts: {', '.join(card['fonts'])}.",
            f"AdamW, one-cycle learning rate (max {config['lr']}), batch {config['batch']}, {config['epochs']} epochs,",
            f"seed {config['seed']}, {card['training_seconds']} s on {config['threads']} thread(s). Loss by epoch:",
            ", ".join(f"{loss:.4f}" for loss in card["losses"]) + ".",
            "",
            "## Measured",
            "",
            f"| set | called printed (p >= {card['threshold']}) |",
            "|---|---|",
            f"| held-out masks: printed letters and signs | {pct(card['val_printed_recall'])} |",
            f"| held-out masks: the others (held-out MNIST digits, alone and touching, the pieces of lines of them, printed digits, marks) | {pct(card['val_others_called_printed'])} |",
            f"| MNIST test digits, clean (10,000) | {pct(card['mnist_test_called_printed'])} |",
            f"| MNIST test digits, degraded (`augment.DEGRADED`, 10,000) | {pct(card['mnist_test_degraded_called_printed'])} |",
            f"| letters and ASCII signs in OpenCV's Hershey fonts, never seen (2,000) | {pct(card['hershey_letters_called_printed'])} |",
            "",
            "What it does to the reader is measured by `benchmarks/bench_reader.py --prefix` (README).",
            "",
            "| file | sha256 |",
            "|---|---|",
            *checksums,
            "",
        ]
    )
