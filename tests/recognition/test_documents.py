"""Reading whole documents: pages in order, ZIP members, errors recorded per document."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray
from PIL import Image

from recognition.classifier import Classifier
from recognition.documents import read_document, read_paths, read_upload
from recognition.results import PageResult
from segmentation.loading import LoadLimits


def line_image(text: str) -> NDArray[np.uint8]:
    """Dark Hershey digits on light paper, well spaced."""
    image = np.full((100, 60 + 34 * len(text)), 240, np.uint8)
    for i, ch in enumerate(text):
        cv2.putText(image, ch, (30 + 34 * i, 70), cv2.FONT_HERSHEY_SIMPLEX, 1.5, 20, 5)
    return image


def png(image: NDArray[np.uint8]) -> bytes:
    ok, encoded = cv2.imencode(".png", image)
    assert ok
    return encoded.tobytes()


def tiff(images: list[NDArray[np.uint8]]) -> bytes:
    frames = [Image.fromarray(i) for i in images]
    out = io.BytesIO()
    frames[0].save(out, format="TIFF", save_all=True, append_images=frames[1:])
    return out.getvalue()


def test_every_page_is_read_in_order(classifier: Classifier) -> None:
    result = read_document(classifier, "two.tiff", tiff([line_image("2580"), line_image("37")]), "line")
    assert result["source"] == "two.tiff" and result["error"] is None
    pages = [PageResult.from_dict(p) for p in result["pages"]]
    assert [p.page for p in pages] == [1, 2]
    assert [p.fields[0].text for p in pages] == ["2580", "37"]


def test_unreadable_bytes_are_an_error_not_an_exception(classifier: Classifier) -> None:
    result = read_document(classifier, "notes.txt", b"hello, this is not an image\n" * 4, "line")
    assert result["pages"] == [] and result["error"] and "notes.txt" in result["error"]
    assert result["error_code"] == "unsupported_format"


def test_a_blank_page_fails_alone(classifier: Classifier) -> None:
    blank = np.full((100, 200), 240, np.uint8)
    result = read_document(classifier, "mixed.tiff", tiff([line_image("58"), blank, line_image("73")]), "line")
    assert result["error"] is None
    assert [p["page"] for p in result["pages"]] == [1, 2, 3]
    assert result["pages"][1]["error_code"] == "invalid_input" and result["pages"][1]["fields"] == []
    assert [p["error"] for p in (result["pages"][0], result["pages"][2])] == [None, None]
    assert [p["fields"][0]["text"] for p in (result["pages"][0], result["pages"][2])] == ["58", "73"]


def test_limits_are_applied(classifier: Classifier) -> None:
    data = png(line_image("58"))
    result = read_document(classifier, "a.png", data, "digit", limits=LoadLimits(max_file_bytes=len(data) - 1))
    assert result["error_code"] == "limit_exceeded" and result["pages"] == []


def test_zip_members_are_documents(classifier: Classifier) -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("a.png", png(line_image("90")))
        archive.writestr("b.png", png(line_image("623")))
    results = read_upload(classifier, "batch.zip", out.getvalue(), "line")
    assert [r["source"] for r in results] == ["batch.zip/a.png", "batch.zip/b.png"]
    assert [r["pages"][0]["fields"][0]["text"] for r in results] == ["90", "623"]


def test_read_paths_reads_files_from_disk(classifier: Classifier, tmp_path: Path) -> None:
    (tmp_path / "one.png").write_bytes(png(line_image("74")))
    big = tmp_path / "big.png"
    big.write_bytes(png(line_image("74")) + b"\0" * 200)
    small = (tmp_path / "one.png").stat().st_size
    assert big.stat().st_size > small
    limits = LoadLimits(max_file_bytes=max(small, big.stat().st_size - 100))
    results = read_paths(classifier, [tmp_path / "one.png", big], "line", limits=limits)
    assert results[0]["pages"][0]["fields"][0]["text"] == "74"
    assert results[1]["error_code"] == "limit_exceeded" and results[1]["pages"] == []
    (missing,) = read_paths(classifier, [tmp_path / "missing.png"], "line")
    assert missing["error_code"] == "invalid_input" and "missing.png" in missing["error"]
