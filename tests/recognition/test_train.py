"""Training end to end on a few hundred digits: it runs, it learns, it resumes exactly."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from recognition import cli_train
from recognition.classifier import DEFAULT_WEIGHTS, ENSEMBLE_FILE, load_classifier
from recognition.train import TrainConfig, split_train_val, train

FONTS = (cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_DUPLEX, cv2.FONT_HERSHEY_COMPLEX, cv2.FONT_HERSHEY_TRIPLEX)


def _font_digits(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """MNIST-shaped (ink-bright 28x28) digits drawn with several fonts and thicknesses."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n).astype(np.uint8)
    images = np.zeros((n, 28, 28), np.uint8)
    for i, label in enumerate(labels):
        canvas = np.zeros((60, 60), np.uint8)
        font = FONTS[int(rng.integers(len(FONTS)))]
        cv2.putText(canvas, str(label), (12, 50), font, 1.6, 255, int(rng.integers(2, 5)), cv2.LINE_AA)
        images[i] = cv2.resize(canvas, (28, 28), interpolation=cv2.INTER_AREA)
    return images, labels


def _config(**kw: object) -> TrainConfig:
    base = dict(epochs=1, batch_size=32, val_size=60, loader_workers=0, widths=(8, 16, 16, 16), max_lr=5e-3)
    base.update(kw)
    return TrainConfig(**base)  # type: ignore[arg-type]


def test_smoke_training_learns_and_calibrates() -> None:
    images, labels = _font_digits(400)
    result = train(images, labels, _config(epochs=3))
    assert len(result.history) == 3
    assert result.history[-1].loss < result.history[0].loss
    assert 0.05 < result.temperature < 20.0


class _Interrupted(Exception):
    pass


def _stop_after_first_epoch(stats: object) -> None:
    raise _Interrupted


def test_resume_continues_exactly(tmp_path: Path) -> None:
    images, labels = _font_digits(200, seed=1)
    straight = train(images, labels, _config(epochs=2))
    checkpoint = tmp_path / "run.ckpt"
    with pytest.raises(_Interrupted):
        train(images, labels, _config(epochs=2), checkpoint=checkpoint, on_epoch=_stop_after_first_epoch)
    assert torch.load(checkpoint, map_location="cpu", weights_only=True)["epoch"] == 0
    resumed = train(images, labels, _config(epochs=2), checkpoint=checkpoint)
    assert [h.epoch for h in resumed.history] == [0, 1]
    for a, b in zip(resumed.network.state_dict().values(), straight.network.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    assert resumed.temperature == pytest.approx(straight.temperature)


def test_cli_train_writes_loadable_weights(tmp_path: Path, mnist_dir: Path) -> None:
    out = tmp_path / "w.pt"
    code = cli_train_main(
        [
            "train",
            "--data",
            str(mnist_dir),
            "--out",
            str(out),
            "--epochs",
            "1",
            "--limit",
            "300",
            "--val-size",
            "200",
            "--seed",
            "3",
            "--widths",
            "8,16,16,24",
            "--no-card",
        ]
    )
    assert code == 0
    loaded = load_classifier(out)
    assert loaded.network.widths == (8, 16, 16, 24)
    assert loaded.probabilities(np.zeros((1, 28, 28), np.float32)).shape == (1, 11)


def test_cli_rejects_bad_widths(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli_train_main(["train", "--data", ".", "--widths", "8,16,16"])
    assert "four positive integers" in capsys.readouterr().err


def test_held_out_split_does_not_follow_the_training_seed() -> None:
    """Networks trained with other seeds hold out the same digits, which tuning uses."""
    images, labels = _font_digits(100)
    _, _, held, held_labels = split_train_val(images, labels, _config(val_size=20))
    _, _, other, other_labels = split_train_val(images, labels, _config(val_size=20, seed=7))
    assert np.array_equal(held, other) and np.array_equal(held_labels, other_labels)
    _, _, moved, _ = split_train_val(images, labels, _config(val_size=20, split_seed=7))
    assert not np.array_equal(held, moved)


def test_cli_eval_json(tmp_path: Path, mnist_dir: Path, capsys: object) -> None:
    from recognition.mnist import load_split

    test = load_split(mnist_dir, "t10k")
    _write_pair(tmp_path, "t10k", test.images[:200], test.labels[:200])
    code = cli_train_main(
        ["eval", "--data", str(tmp_path), "--format", "json", "--errors", str(tmp_path / "errors.png")]
    )
    assert code == 0
    report = json.loads(capsys.readouterr().out)  # type: ignore[attr-defined]
    assert report["n"] == 200 and report["accuracy"] > 0.95
    assert {"ece", "digits_per_second", "confusion", "per_class_accuracy"} <= report.keys()
    assert report["networks"] == 2  # the shipped ensemble
    cli_train_main(["eval", "--data", str(tmp_path), "--format", "json", "--alone"])
    assert json.loads(capsys.readouterr().out)["networks"] == 1  # type: ignore[attr-defined]
    assert (tmp_path / "errors.png").exists()


def test_cli_calibrate_ensemble_reproduces_the_shipped_ensemble_file(tmp_path: Path, mnist_dir: Path) -> None:
    """The command in the shipped ``ensemble.json`` fits the temperature it holds."""
    import shutil

    shipped = json.loads(DEFAULT_WEIGHTS.with_name(ENSEMBLE_FILE).read_text())
    for name in ["digitnet.pt", *shipped["members"]]:
        shutil.copy(DEFAULT_WEIGHTS.with_name(name), tmp_path / name)
    code = cli_train_main(["calibrate-ensemble", "--data", str(mnist_dir), "--weights", str(tmp_path / "digitnet.pt")])
    assert code == 0
    written = json.loads((tmp_path / ENSEMBLE_FILE).read_text())
    assert written["temperature"] == pytest.approx(shipped["temperature"], rel=1e-6)
    assert written["sha256"] == shipped["sha256"] and written["gate"] == shipped["gate"]
    assert written["fitted"]["after"]["nll"] < written["fitted"]["before"]["nll"]
    assert load_classifier(tmp_path / "digitnet.pt").combined_temperature == written["temperature"]


def test_cli_calibrate_ensemble_refuses_a_bad_gate_or_an_ensemble_file_away_from_its_weights(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    weights = str(DEFAULT_WEIGHTS)
    assert cli_train_main(["calibrate-ensemble", "--data", ".", "--weights", weights, "--gate", "1.5"]) == 2
    assert "--gate" in capsys.readouterr().err
    away = str(tmp_path / "ensemble.json")
    assert cli_train_main(["calibrate-ensemble", "--data", ".", "--weights", weights, "--out", away]) == 2
    assert "beside --weights" in capsys.readouterr().err


def _write_pair(directory: Path, prefix: str, images: np.ndarray, labels: np.ndarray) -> None:
    n, rows, cols = images.shape
    (directory / f"{prefix}-images-idx3-ubyte").write_bytes(
        b"".join(v.to_bytes(4, "big") for v in (2051, n, rows, cols)) + images.tobytes()
    )
    (directory / f"{prefix}-labels-idx1-ubyte").write_bytes(
        (2049).to_bytes(4, "big") + n.to_bytes(4, "big") + labels.tobytes()
    )


def cli_train_main(argv: list[str]) -> int:
    from formdigits.cli import main

    return main(argv)


def test_cli_defaults_match_train_config() -> None:
    config = TrainConfig()
    assert (
        config.epochs,
        config.batch_size,
        config.max_lr,
        config.seed,
        config.val_size,
        config.widths,
    ) == (
        cli_train.DEFAULT_EPOCHS,
        cli_train.DEFAULT_BATCH_SIZE,
        cli_train.DEFAULT_MAX_LR,
        cli_train.DEFAULT_SEED,
        cli_train.DEFAULT_VAL_SIZE,
        cli_train.DEFAULT_WIDTHS,
    )


def test_field_samples_and_warm_start(tmp_path: Path) -> None:
    """Field samples join the epoch; a run starting from weights at a vanishing rate keeps them."""
    from recognition.classifier import save_weights
    from recognition.train import DistortedDigits

    images, labels = _font_digits(200, seed=2)
    first = train(images, labels, _config(epochs=1))
    start = tmp_path / "start.pt"
    save_weights(start, first.network, first.temperature)
    config = _config(epochs=1, field_samples=40, init_weights=str(start), max_lr=1e-12)
    tuned = train(images, labels, config)
    # Parameters only: batch-norm statistics follow the data even at a zero rate.
    for a, b in zip(tuned.network.parameters(), first.network.parameters(), strict=True):
        assert torch.allclose(a, b, atol=1e-6)
    x = np.zeros((10, 28, 28), np.float32)
    y = np.full(10, 3, np.int64)
    dataset = DistortedDigits(images[:50], labels[:50], _config(), x, y)
    assert len(dataset) == 50 + int(50 * _config().nondigit_fraction) + 10
    image, label = dataset[len(dataset) - 1]
    assert label == 3 and image.shape == (28, 28)


def test_warm_start_from_weights_of_another_shape_is_a_model_error(tmp_path: Path) -> None:
    from recognition.classifier import save_weights
    from recognition.model import DigitNet
    from segmentation.errors import ModelError

    other = tmp_path / "other.pt"
    save_weights(other, DigitNet(widths=(8, 8, 8, 8)), 1.0)
    images, labels = _font_digits(60, seed=3)
    with pytest.raises(ModelError, match="widths"):
        train(images, labels, _config(init_weights=str(other)))
