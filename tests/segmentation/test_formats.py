"""sniff_format: magic bytes of every upload format, made in code; unknown bytes give None."""

from __future__ import annotations

import io
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from segmentation.formats import IMAGE_FORMATS, SNIFF_BYTES, UPLOAD_FORMATS, sniff_format

ROOT = Path(__file__).resolve().parents[2]

PIL_NAMES = {"png": "PNG", "jpeg": "JPEG", "tiff": "TIFF", "bmp": "BMP", "webp": "WEBP", "gif": "GIF"}


def _image_bytes(fmt: str, **save_args: object) -> bytes:
    buf = io.BytesIO()
    Image.new("L", (8, 6), 200).save(buf, PIL_NAMES[fmt], **save_args)
    return buf.getvalue()


@pytest.mark.parametrize("fmt", IMAGE_FORMATS)
def test_images_written_by_pillow_are_recognised(fmt: str) -> None:
    assert sniff_format(_image_bytes(fmt)[:16]) == fmt


def test_big_endian_tiff_is_recognised() -> None:
    assert sniff_format(b"MM\x00*\x00\x00\x00\x08" + bytes(8)) == "tiff"
    assert sniff_format(_image_bytes("tiff", compression="tiff_lzw")[:16]) == "tiff"


def test_zip_archives_including_empty_ones() -> None:
    full, empty = io.BytesIO(), io.BytesIO()
    with zipfile.ZipFile(full, "w") as zf:
        zf.writestr("a.txt", "x")
    with zipfile.ZipFile(empty, "w"):
        pass
    assert sniff_format(full.getvalue()) == "zip"
    assert empty.getvalue().startswith(b"PK\x05\x06")
    assert sniff_format(empty.getvalue()) == "zip"


def test_pdf_at_offset_zero_and_after_junk() -> None:
    assert sniff_format(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n") == "pdf"
    assert sniff_format(b"\x00" * 100 + b"%PDF-1.4\n") == "pdf"
    assert sniff_format(b"\x00" * SNIFF_BYTES + b"%PDF-1.4\n") is None


@pytest.mark.parametrize(
    "head",
    [
        b"",
        b"\x89PN",
        b"hello, world, this is text",
        b"<!DOCTYPE html><html><body>not an image</body></html>",
        b"RIFF\x10\x00\x00\x00WAVEfmt ",
        b"BM but only text follows here",
        b"PK\x07\x08spanned",
        bytes(64),
    ],
)
def test_unknown_bytes_give_none(head: bytes) -> None:
    assert sniff_format(head) is None


def test_every_answer_is_a_declared_format() -> None:
    heads = [_image_bytes(f)[:32] for f in IMAGE_FORMATS] + [b"%PDF-1.4", b"PK\x03\x04"]
    assert {sniff_format(h) for h in heads} == set(UPLOAD_FORMATS)


def test_formats_imports_no_image_library() -> None:
    code = "import sys, segmentation.formats; print(sorted(m for m in ('cv2', 'PIL', 'numpy', 'pypdfium2') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
