"""Write a corpus of bad, hostile and merely odd upload files, each with the outcome it must get (issue #4).

Run from the repository root::

    python -m tests.corpus.make_bad_inputs OUT_DIR

or call :func:`build_corpus`. ``expected`` is an error ``code`` from segmentation/errors.py, or
``"ok"`` for valid-but-odd inputs (1x1 pixel, 16-bit, CMYK, ...). The outcome of a file is the
first error met on the reading path ``expand_upload`` -> ``count_pages`` -> ``load_page`` (every
page) with default limits, or ``"ok"`` when there is none. ``OUT_DIR/expected.json`` lists the cases.
"""

from __future__ import annotations

import argparse
import json
import struct
import sys
import zipfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from tests.corpus.inputs import (
    PdfPage,
    animated_gif,
    encode,
    encrypted_pdf,
    ink_image,
    jpeg_with_orientation,
    many_page_pdf,
    multipage_tiff,
    pdf_document,
    png_claiming_size,
    zip_archive,
    zip_bomb,
    zip_with_raw_names,
)

OK, INVALID, UNSUPPORTED, LIMIT = "ok", "invalid_input", "unsupported_format", "limit_exceeded"


@dataclass(frozen=True)
class Case:
    """One corpus file: a short ``name``, its ``filename`` in the corpus directory, the ``expected`` outcome."""

    name: str
    filename: str
    expected: str


def _noise(width: int = 200, height: int = 150) -> Image.Image:
    """Incompressible content, so half a file really is half the pixel data."""
    return Image.fromarray(np.random.default_rng(4).integers(0, 256, (height, width), dtype=np.uint8))


def _gif_claiming(width: int, height: int) -> bytes:
    screen = b"GIF89a" + struct.pack("<HHBBB", width, height, 0, 0, 0)
    return screen + b"\x2c" + struct.pack("<HHHHB", 0, 0, width, height, 0) + b"\x02\x02\x44\x01\x00\x3b"


def _bmp_claiming(width: int, height: int) -> bytes:
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 8, 0, 0, 2835, 2835, 0, 0)
    return b"BM" + struct.pack("<IHHI", 14 + 40 + 1024, 0, 0, 14 + 40 + 1024) + info + bytes(1024)


def _patched(data: bytes, signature: bytes, offset: int, value: bytes) -> bytes:
    """``data`` with ``value`` written ``offset`` bytes after the first ``signature``."""
    at = data.index(signature) + offset
    return data[:at] + value + data[at + len(value) :]


def _encrypted_member_zip() -> bytes:
    data = bytearray(zip_archive([("secret.png", encode(ink_image(), "png"))], zipfile.ZIP_STORED))
    for signature, flag_offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        data[data.index(signature) + flag_offset] |= 0x1
    return bytes(data)


def _cases() -> list[tuple[str, str, str, Callable[[], bytes]]]:
    """(name, filename, expected, builder) for every case; builders run lazily, one at a time."""
    png = encode(ink_image(), "png")
    pdf = pdf_document([PdfPage(612, 792), PdfPage(612, 792)])
    noise_png, noise_jpeg = encode(_noise(), "png"), encode(_noise(), "jpeg", quality=90)
    webp = encode(_noise(), "webp")
    deep = Image.fromarray(np.asarray(ink_image(), dtype=np.uint16) * 257)
    rgba = ink_image(mode="RGBA")
    rgba.putalpha(Image.linear_gradient("L").resize(rgba.size))
    return [
        # --- valid but odd: must load -------------------------------------------------------
        ("plain PNG", "ok_plain.png", OK, lambda: png),
        ("plain JPEG", "ok_plain.jpg", OK, lambda: encode(ink_image(), "jpeg")),
        ("plain BMP", "ok_plain.bmp", OK, lambda: encode(ink_image(), "bmp")),
        ("plain WebP", "ok_plain.webp", OK, lambda: encode(ink_image(), "webp")),
        ("plain GIF", "ok_plain.gif", OK, lambda: encode(ink_image(), "gif")),
        ("three-page TIFF", "ok_three_pages.tif", OK, lambda: multipage_tiff(3)),
        ("LZW TIFF", "ok_lzw.tif", OK, lambda: encode(ink_image(), "tiff", compression="tiff_lzw")),
        (
            "1-bit Group 4 TIFF",
            "ok_bilevel_g4.tif",
            OK,
            lambda: encode(ink_image(mode="1"), "tiff", compression="group4"),
        ),
        ("1x1 pixel", "ok_one_pixel.png", OK, lambda: encode(Image.new("L", (1, 1), 0), "png")),
        ("20000x20 strip", "ok_strip_20000x20.png", OK, lambda: encode(Image.new("L", (20000, 20), 255), "png")),
        ("animated GIF (first frame)", "ok_animated.gif", OK, lambda: animated_gif(5)),
        ("16-bit gray PNG", "ok_gray16.png", OK, lambda: encode(deep, "png")),
        ("16-bit gray TIFF", "ok_gray16.tif", OK, lambda: encode(deep, "tiff")),
        ("CMYK JPEG", "ok_cmyk.jpg", OK, lambda: encode(ink_image(mode="CMYK"), "jpeg")),
        ("CMYK TIFF", "ok_cmyk.tif", OK, lambda: encode(ink_image(mode="CMYK"), "tiff")),
        ("RGBA with alpha", "ok_alpha.png", OK, lambda: encode(rgba, "png")),
        (
            "palette with transparency",
            "ok_palette_transparent.png",
            OK,
            lambda: encode(ink_image(mode="P"), "png", transparency=0),
        ),
        ("EXIF-rotated JPEG", "ok_exif_rotated.jpg", OK, lambda: jpeg_with_orientation(ink_image(), 6)),
        ("JPEG named .png", "ok_jpeg_named.png", OK, lambda: encode(ink_image(), "jpeg")),
        ("two-page Letter PDF", "ok_two_pages.pdf", OK, lambda: pdf),
        ("rotated PDF page", "ok_rotated.pdf", OK, lambda: pdf_document([PdfPage(612, 792, rotate=90)])),
        ("PDF after leading junk", "ok_junk_before_header.pdf", OK, lambda: b"junk line\n" + pdf),
        ("ZIP of good files", "ok_batch.zip", OK, lambda: zip_archive([("a.png", png), ("b.pdf", pdf)])),
        ("ZIP with duplicate names", "ok_duplicates.zip", OK, lambda: zip_archive([("a.png", png)] * 3)),
        (
            "ZIP with non-UTF-8 names",
            "ok_legacy_names.zip",
            OK,
            lambda: zip_with_raw_names([(b"caf\xe9-1.png", png), (b"\x93\xfa\x96\x7b.png", png)]),
        ),
        (
            "ZIP with macOS junk",
            "ok_macos.zip",
            OK,
            lambda: zip_archive(
                [("__MACOSX/._a.png", b"x"), (".DS_Store", b"y"), ("scans/", b""), ("scans/a.png", png)]
            ),
        ),
        ("stored (uncompressed) ZIP", "ok_stored.zip", OK, lambda: zip_archive([("a.png", png)], zipfile.ZIP_STORED)),
        # --- unreadable bytes ---------------------------------------------------------------
        ("empty PNG", "empty.png", INVALID, lambda: b""),
        ("empty PDF", "empty.pdf", INVALID, lambda: b""),
        ("truncated PNG", "truncated.png", INVALID, lambda: noise_png[: len(noise_png) // 2]),
        ("truncated JPEG", "truncated.jpg", INVALID, lambda: noise_jpeg[: len(noise_jpeg) // 2]),
        ("truncated WebP", "truncated.webp", INVALID, lambda: webp[: len(webp) // 2]),
        ("PNG signature only", "signature_only.png", INVALID, lambda: png[:8]),
        ("PNG with a bad CRC", "bad_crc.png", INVALID, lambda: png[:-20] + bytes([png[-20] ^ 0xFF]) + png[-19:]),
        ("JPEG header only", "header_only.jpg", INVALID, lambda: noise_jpeg[:20]),
        ("text renamed .png", "text_as.png", UNSUPPORTED, lambda: b"Order 1234\nTotal: 56.78\n"),
        (
            "HTML error page",
            "page.html",
            UNSUPPORTED,
            lambda: b"<!DOCTYPE html><html><body>404 Not Found</body></html>",
        ),
        ("HTML renamed .png", "html_as.png", UNSUPPORTED, lambda: b"<html><head><title>x</title></head></html>"),
        ("SVG renamed .png", "svg_as.png", UNSUPPORTED, lambda: b'<svg xmlns="http://www.w3.org/2000/svg"/>'),
        ("random bytes", "random.bin", UNSUPPORTED, lambda: np.random.default_rng(1).bytes(4096)),
        ("zeros renamed .png", "zeros.png", UNSUPPORTED, lambda: bytes(4096)),
        # --- oversized -----------------------------------------------------------------------
        ("PNG header 60000x60000", "header_bomb_60000.png", LIMIT, lambda: png_claiming_size(60000, 60000)),
        ("PNG header 7000x7000", "header_bomb_7000.png", LIMIT, lambda: png_claiming_size(7000, 7000)),
        ("GIF header 65535x65535", "header_bomb.gif", LIMIT, lambda: _gif_claiming(65535, 65535)),
        ("BMP header 50000x50000", "header_bomb.bmp", LIMIT, lambda: _bmp_claiming(50000, 50000)),
        ("file over 64 MB", "oversized_file.png", LIMIT, lambda: png + bytes(64 * 2**20)),
        ("TIFF with 201 pages", "pages_201.tif", LIMIT, lambda: multipage_tiff(201, (8, 8))),
        ("PDF with 2000 pages", "pages_2000.pdf", LIMIT, lambda: many_page_pdf(2000)),
        ("PDF page 200x200 inches", "huge_page.pdf", LIMIT, lambda: pdf_document([PdfPage(14400, 14400)])),
        # --- PDF trouble ---------------------------------------------------------------------
        ("encrypted PDF", "encrypted.pdf", INVALID, lambda: encrypted_pdf(b"secret")),
        ("PDF header only", "header_only.pdf", INVALID, lambda: b"%PDF-1.4\n"),
        ("truncated PDF", "truncated.pdf", INVALID, lambda: pdf[:150]),
        (
            "PDF without pages",
            "no_pages.pdf",
            INVALID,
            lambda: b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF",
        ),
        (
            "PDF header then garbage",
            "garbage.pdf",
            INVALID,
            lambda: b"%PDF-1.5\n" + np.random.default_rng(2).bytes(2000),
        ),
        # --- archives ------------------------------------------------------------------------
        ("zip bomb, 200 MB of zeros", "bomb_200mb.zip", LIMIT, lambda: zip_bomb(200 * 2**20)),
        ("zip bomb under the size limit", "bomb_ratio.zip", LIMIT, lambda: zip_bomb(40 * 2**20)),
        (
            "10,000-file archive",
            "files_10000.zip",
            LIMIT,
            lambda: zip_archive((f"{i:05d}.png", b"x") for i in range(10_000)),
        ),
        ("nested ZIP", "nested.zip", UNSUPPORTED, lambda: zip_archive([("inner.zip", zip_archive([("a.png", png)]))])),
        (
            "ZIP with a text file",
            "with_text.zip",
            UNSUPPORTED,
            lambda: zip_archive([("a.png", png), ("notes.txt", b"hello")]),
        ),
        ("ZIP with ../ name", "traversal.zip", INVALID, lambda: zip_archive([("../../evil.png", png)])),
        ("ZIP with absolute name", "absolute.zip", INVALID, lambda: zip_archive([("/etc/evil.png", png)])),
        ("ZIP with ..\\ name", "backslash.zip", INVALID, lambda: zip_archive([("..\\..\\evil.png", png)])),
        ("ZIP with drive letter", "drive.zip", INVALID, lambda: zip_archive([("C:\\evil.png", png)])),
        ("ZIP with encrypted member", "encrypted_member.zip", INVALID, _encrypted_member_zip),
        ("truncated ZIP", "truncated.zip", INVALID, lambda: zip_archive([("a.png", png)])[:-30]),
        (
            "ZIP needing version 8.2",
            "future_version.zip",
            INVALID,
            lambda: _patched(zip_archive([("a.png", png)]), b"PK\x01\x02", 6, b"\x52\x00"),
        ),
        ("empty ZIP", "empty.zip", INVALID, lambda: zip_archive([])),
        ("ZIP of directories only", "only_dirs.zip", INVALID, lambda: zip_archive([("a/", b""), ("a/b/", b"")])),
        ("ZIP with an empty member", "empty_member.zip", INVALID, lambda: zip_archive([("a.png", b"")])),
    ]


def corpus_cases() -> list[Case]:
    """The cases without writing any file (for test parametrisation)."""
    return [Case(name, filename, expected) for name, filename, expected, _ in _cases()]


def build_corpus(out_dir: Path) -> list[Case]:
    """Write every case into ``out_dir`` (created if needed) plus ``expected.json``; return the cases."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    cases = []
    for name, filename, expected, build in _cases():
        (out_dir / filename).write_bytes(build())
        cases.append(Case(name, filename, expected))
    (out_dir / "expected.json").write_text(json.dumps([asdict(c) for c in cases], indent=1))
    return cases


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out_dir", type=Path, help="directory to write the corpus into")
    args = parser.parse_args(argv)
    cases = build_corpus(args.out_dir)
    for case in cases:
        print(f"{case.expected:20} {case.filename}")
    print(f"{len(cases)} files in {args.out_dir}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
