"""``formdigits read`` and ``formdigits sample`` end to end: files on disk in, JSON / CSV / overlays out."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest
from numpy.typing import NDArray

from formdigits.cli import main
from recognition.classifier import Classifier
from recognition.synthetic import field_at, truth_digits

ROOT = Path(__file__).resolve().parents[2]


def line_image(text: str) -> NDArray[np.uint8]:
    """Dark Hershey digits on light paper, well spaced."""
    image = np.full((100, 60 + 34 * len(text)), 240, np.uint8)
    for i, ch in enumerate(text):
        cv2.putText(image, ch, (30 + 34 * i, 70), cv2.FONT_HERSHEY_SIMPLEX, 1.5, 20, 5)
    return image


def write_png(path: Path, image: NDArray[np.uint8]) -> Path:
    assert cv2.imwrite(str(path), image)
    return path


def run_read(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["read", *args])
    return code, capsys.readouterr().out


def test_read_json_lines_with_a_bad_file_among_good_ones(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], classifier: Classifier
) -> None:
    good = write_png(tmp_path / "a.png", line_image("2580"))
    bad = tmp_path / "notes.png"
    bad.write_text("this is not an image")
    other = write_png(tmp_path / "b.png", line_image("731"))
    code, out = run_read(capsys, str(good), str(bad), str(other), "--mode", "line")
    assert code == 0
    results = json.loads(out)["results"]
    assert [r["source"] for r in results] == [str(good), str(bad), str(other)]
    assert results[1]["error"] and "notes.png" in results[1]["error"] and results[1]["pages"] == []
    assert [r["pages"][0]["fields"][0]["text"] for r in (results[0], results[2])] == ["2580", "731"]
    page = results[0]["pages"][0]
    assert (page["page"], page["width"], page["height"]) == (1, 60 + 34 * 4, 100)


def test_read_review_threshold(tmp_path: Path, capsys: pytest.CaptureFixture[str], classifier: Classifier) -> None:
    """``--review-threshold``: at 1 every digit is below it, at 0 none; out of range is refused."""
    line = write_png(tmp_path / "a.png", line_image("7"))
    flags = {}
    for threshold in ("0", "1"):
        code, out = run_read(capsys, str(line), "--mode", "digit", "--review-threshold", threshold)
        assert code == 0
        (field,) = json.loads(out)["results"][0]["pages"][0]["fields"]
        assert field["text"] == "7"
        flags[threshold] = field["needs_review"]
    assert flags == {"0": False, "1": True}
    with pytest.raises(SystemExit):
        main(["read", str(line), "--review-threshold", "2"])
    assert "from 0 to 1" in capsys.readouterr().err


def test_read_fails_only_when_every_file_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "empty.png"
    bad.write_bytes(b"")
    code, out = run_read(capsys, str(bad), str(tmp_path / "missing.png"))
    assert code == 1
    results = json.loads(out)["results"]
    assert [r["source"] for r in results] == [str(bad), str(tmp_path / "missing.png")]
    assert all(r["error"] for r in results)


def test_read_csv_and_overlays_of_a_zip(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], classifier: Classifier
) -> None:
    archive = tmp_path / "batch.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for name, text in (("one.png", "46"), ("two.png", "905")):
            ok, data = cv2.imencode(".png", line_image(text))
            assert ok
            zf.writestr(name, data.tobytes())
    overlays = tmp_path / "overlays"
    code, out = run_read(capsys, str(archive), "--mode", "line", "--format", "csv", "--overlay", str(overlays))
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [(r["source"], r["page"], r["text"]) for r in rows] == [
        (f"{archive}/one.png", "1", "46"),
        (f"{archive}/two.png", "1", "905"),
    ]
    pictures = sorted(overlays.glob("*.png"))
    assert len(pictures) == 2
    overlay = cv2.imread(str(pictures[0]))
    assert overlay is not None and overlay.shape[2] == 3


def test_sample_then_read_pages_matches_the_ground_truth(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], classifier: Classifier, mnist_dir: Path
) -> None:
    forms = tmp_path / "forms"
    assert main(["sample", "--out", str(forms), "--count", "3", "--seed", "5", "--data", str(mnist_dir)]) == 0
    images = sorted(forms.glob("*.png"))
    assert len(images) == 3 and len(list(forms.glob("*.json"))) == 3
    capsys.readouterr()
    code, out = run_read(capsys, *map(str, images))
    assert code == 0
    right = total = 0
    for image, result in zip(images, json.loads(out)["results"], strict=True):
        truth = json.loads(image.with_suffix(".json").read_text())
        fields = result["pages"][0]["fields"]
        for expected in truth["fields"]:
            found = field_at(expected, fields)
            total += 1
            right += found is not None and found["text"] == truth_digits(expected)
    assert total >= 6 and right / total >= 0.6


def test_the_installed_command_runs(tmp_path: Path, classifier: Classifier) -> None:
    image = write_png(tmp_path / "d.png", line_image("7"))
    done = subprocess.run(
        [sys.executable, "-m", "formdigits.cli", "read", str(image), "--mode", "digit"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["results"][0]["pages"][0]["fields"][0]["text"] == "7"
