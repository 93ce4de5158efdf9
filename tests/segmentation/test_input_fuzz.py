"""Fuzz: random and mutated upload bytes through expand_upload / count_pages / load_page.

Whatever the bytes, the only exceptions allowed out are FormdigitsError subclasses; a
Pillow, pdfium or zipfile exception escaping would be a 500 in the web layer.
"""

from __future__ import annotations

import zipfile

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segmentation.archive import ArchiveLimits, expand_upload
from segmentation.errors import FormdigitsError
from segmentation.loading import LoadLimits, count_pages, load_page
from tests.corpus.inputs import PdfPage, encode, ink_image, multipage_tiff, pdf_document, zip_archive

# Small ceilings keep each example fast; the code paths are the same as with the defaults.
LOAD_LIMITS = LoadLimits(max_file_bytes=2**20, max_pixels=2_000_000, max_pages=5, pdf_dpi=72)
ARCHIVE_LIMITS = ArchiveLimits(max_members=20, max_member_bytes=2**20, max_total_bytes=4 * 2**20)

_PNG = encode(ink_image(24, 16), "png")
SEEDS = {
    "png": _PNG,
    "jpeg": encode(ink_image(24, 16), "jpeg"),
    "tiff": multipage_tiff(2, (16, 12)),
    "gif": encode(ink_image(24, 16), "gif"),
    "bmp": encode(ink_image(24, 16), "bmp"),
    "webp": encode(ink_image(24, 16), "webp"),
    "pdf": pdf_document([PdfPage(60, 40), PdfPage(40, 60, rotate=90)]),
    "zip": zip_archive([("a.png", _PNG), ("b/c.pdf", pdf_document([PdfPage(30, 20)]))], zipfile.ZIP_STORED),
    "zip-deflated": zip_archive([("a.png", _PNG)]),
}
FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """A valid seed file with a few bytes overwritten, a slice cut out or junk inserted, maybe truncated."""
    data = bytearray(SEEDS[draw(st.sampled_from(sorted(SEEDS)))])
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["set", "cut", "insert", "truncate"]))
        at = draw(st.integers(0, max(0, len(data) - 1)))
        if kind == "set" and data:
            data[at] = draw(st.integers(0, 255))
        elif kind == "cut":
            del data[at : at + draw(st.integers(1, 64))]
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif kind == "truncate":
            del data[at:]
    return bytes(data)


def _read_everything(data: bytes) -> None:
    """The pipeline's reading path: expand, count, load up to three pages of each file."""
    try:
        for upload in expand_upload("fuzz.zip", data, ARCHIVE_LIMITS):
            try:
                pages = count_pages(upload.data, upload.name, LOAD_LIMITS)
                for number in range(1, min(pages, 3) + 1):
                    page = load_page(upload.data, upload.name, number, LOAD_LIMITS)
                    assert page.image.ndim == 2 and page.image.dtype.name == "uint8"
            except FormdigitsError:
                pass
    except FormdigitsError:
        pass


@FUZZ
@given(st.binary(max_size=4096))
def test_random_bytes_raise_only_our_errors(data: bytes) -> None:
    _read_everything(data)


@FUZZ
@given(mutated())
def test_mutated_files_raise_only_our_errors(data: bytes) -> None:
    _read_everything(data)


@FUZZ
@given(st.sampled_from(sorted(SEEDS)), st.binary(max_size=64))
def test_valid_prefix_with_junk_tail_raises_only_our_errors(seed: str, tail: bytes) -> None:
    head = SEEDS[seed]
    _read_everything(head[: len(head) // 2] + tail)


def test_unmutated_seeds_load() -> None:
    for name, data in SEEDS.items():
        for upload in expand_upload(name, data, ARCHIVE_LIMITS):
            assert count_pages(upload.data, upload.name, LOAD_LIMITS) >= 1
