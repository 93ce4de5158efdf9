"""load_page / count_pages / load_pages on every image format and mode, PDFs, and bad input, all made in code."""

from __future__ import annotations

import threading
import time

import numpy as np
import pypdfium2 as pdfium
import pytest
from PIL import Image

from segmentation.errors import InvalidInput, LimitExceeded, UnsupportedFormat
from segmentation.loading import LoadLimits, count_pages, load_page, load_pages
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
)

LOSSLESS = ("png", "tiff", "bmp", "gif")


def _assert_ink_page(image: np.ndarray, width: int = 60, height: int = 40, tolerance: int = 0) -> None:
    """The ``ink_image`` page: uint8 (h, w), the bar dark, the paper light."""
    assert image.dtype == np.uint8 and image.shape == (height, width)
    assert abs(int(image[4, 4]) - 20) <= tolerance + 2  # inside the bar
    assert abs(int(image[height - 3, width - 3]) - 230) <= tolerance + 2  # paper


@pytest.mark.parametrize("fmt", ["png", "jpeg", "tiff", "bmp", "webp", "gif"])
def test_each_image_format_loads_as_one_grayscale_page(fmt: str) -> None:
    data = encode(ink_image(), fmt, **({"quality": 95} if fmt in ("jpeg", "webp") else {}))
    assert count_pages(data, f"form.{fmt}") == 1
    page = load_page(data, f"form.{fmt}", 1)
    assert (page.source, page.number) == (f"form.{fmt}", 1)
    _assert_ink_page(page.image, tolerance=0 if fmt in LOSSLESS else 12)


@pytest.mark.parametrize("mode", ["1", "L", "P", "RGB", "LA", "RGBA", "CMYK", "YCbCr"])
def test_colour_and_palette_modes_become_luminance(mode: str) -> None:
    fmt = {"CMYK": "tiff", "YCbCr": "jpeg", "1": "tiff"}.get(mode, "png")
    page = load_page(encode(ink_image(mode=mode), fmt), f"m.{fmt}", 1).image
    if mode == "1":  # thresholded by Pillow's dither-free conversion: ink 0, paper 255
        assert page[4, 4] == 0 and page[-3, -3] == 255
    else:
        _assert_ink_page(page, tolerance=8 if fmt == "jpeg" else 1)


def test_cmyk_jpeg_black_is_black() -> None:
    data = encode(Image.new("CMYK", (16, 8), (0, 0, 0, 255)), "jpeg", quality=95)
    assert load_page(data, "k.jpg", 1).image.max() < 10


def test_alpha_is_composited_on_white() -> None:
    rgba = Image.new("RGBA", (20, 10), (0, 0, 0, 0))  # transparent black: must read as paper
    rgba.paste((0, 0, 0, 255), (0, 0, 5, 10))  # opaque ink
    rgba.paste((0, 0, 0, 128), (10, 0, 15, 10))  # half-transparent ink
    page = load_page(encode(rgba, "png"), "a.png", 1).image
    assert page[5, 2] == 0 and page[5, 18] == 255 and 120 <= page[5, 12] <= 135
    la = load_page(encode(rgba.convert("LA"), "png"), "la.png", 1).image
    assert np.array_equal(la, page)


def test_palette_transparency_is_white() -> None:
    image = Image.new("P", (10, 10), 0)
    image.putpalette([0, 0, 0] * 256)
    image.info["transparency"] = 0
    assert load_page(encode(image, "png", transparency=0), "p.png", 1).image.min() == 255


def test_16_bit_is_scaled_not_clipped() -> None:
    levels = np.array([[0, 257 * 20, 257 * 128, 65535]], dtype=np.uint16).repeat(3, axis=0)
    for fmt in ("png", "tiff"):
        page = load_page(encode(Image.fromarray(levels), fmt), f"deep.{fmt}", 1).image
        assert page[1].tolist() == [0, 20, 128, 255]


@pytest.mark.parametrize(("orientation", "bar_corner"), [(1, (0, 0)), (3, (-1, -1)), (6, (0, -1)), (8, (-1, 0))])
def test_jpeg_exif_orientation_is_applied(orientation: int, bar_corner: tuple[int, int]) -> None:
    page = load_page(jpeg_with_orientation(ink_image(60, 40), orientation), "rot.jpg", 1).image
    assert page.shape == ((40, 60) if orientation in (1, 3) else (60, 40))
    row = 3 if bar_corner[0] == 0 else page.shape[0] - 4
    col = 3 if bar_corner[1] == 0 else page.shape[1] - 4
    assert page[row, col] < 60, "the dark bar moved with the EXIF rotation"
    assert page[page.shape[0] - 1 - row, page.shape[1] - 1 - col] > 180


@pytest.mark.parametrize(
    ("dpi", "shape"),
    [
        ((204, 98), (83, 60)),
        ((98, 204), (40, 125)),
        ((204, 196), (40, 60)),
        ((300, 300), (40, 60)),
        ((400, 50), (40, 60)),
    ],
)
def test_pixels_declared_not_square_are_made_square(dpi: tuple[int, int], shape: tuple[int, int]) -> None:
    """A fax in standard mode (204 x 98 dpi) comes half as tall: its coarse axis is stretched.
    Near-square (204 x 196) and absurd (8:1, broken metadata) declarations are left alone."""
    image = load_page(encode(ink_image(60, 40), "tiff", dpi=dpi), "fax.tif", 1).image
    assert image.shape == shape
    assert image[8, 8] < 60 and image[-3, -3] > 200  # the bar still top left, the paper light


def test_a_page_made_square_is_checked_against_the_pixel_limit() -> None:
    data = encode(ink_image(60, 40), "tiff", dpi=(200, 100))
    with pytest.raises(LimitExceeded, match="square pixels"):
        load_page(data, "fax.tif", 1, LoadLimits(max_pixels=3000))


def test_multipage_tiff_frames_are_pages_in_order() -> None:
    data = multipage_tiff(3)
    assert count_pages(data, "scan.tif") == 3
    pages = list(load_pages(data, "scan.tif"))
    assert [p.number for p in pages] == [1, 2, 3]
    # frame i has a dark bar i + 2 pixels wide
    assert [int((p.image[5] < 128).sum()) for p in pages] == [2, 3, 4]
    assert load_page(data, "scan.tif", 2).image.tobytes() == pages[1].image.tobytes()


def test_tiff_over_page_limit() -> None:
    with pytest.raises(LimitExceeded, match=r"scan\.tif"):
        count_pages(multipage_tiff(5), "scan.tif", LoadLimits(max_pages=4))
    assert count_pages(multipage_tiff(4), "scan.tif", LoadLimits(max_pages=4)) == 4


def test_animated_gif_is_its_first_frame() -> None:
    data = animated_gif(3)
    assert count_pages(data, "a.gif") == 1
    first = load_page(data, "a.gif", 1).image
    assert first.shape == (20, 30) and abs(int(first.mean()) - 60) <= 2
    with pytest.raises(InvalidInput, match="page 2"):
        load_page(data, "a.gif", 2)


def test_pdf_pages_render_at_the_configured_dpi() -> None:
    data = pdf_document([PdfPage(200, 100), PdfPage(144, 72, rotate=90)])
    assert count_pages(data, "doc.pdf") == 2
    first, second = load_pages(data, "doc.pdf")
    assert first.image.shape == (417, 834)  # 200 x 100 pt at 300 dpi, rounded up
    assert second.image.shape == (600, 300)  # rotated page: 72 x 144 pt
    assert first.image.dtype == np.uint8 and first.image[5, 5] == 255
    # the black rectangle sits 10..50 pt above the bottom-left corner
    assert first.image[417 - 30 * 300 // 72, 40 * 300 // 72] == 0
    small = load_page(data, "doc.pdf", 1, LoadLimits(pdf_dpi=72)).image
    assert small.shape == (100, 200)


def test_pdf_page_size_is_checked_before_rendering() -> None:
    data = pdf_document([PdfPage(14400, 14400)])  # 200 x 200 inches: 3.7 G pixels at 300 dpi
    start = time.perf_counter()
    assert count_pages(data, "huge.pdf") == 1
    with pytest.raises(LimitExceeded, match=r"huge\.pdf: page 1 is 60000 x 60000"):
        load_page(data, "huge.pdf", 1)
    assert time.perf_counter() - start < 1.0


def test_many_page_pdf_is_refused_without_rendering() -> None:
    data = many_page_pdf(2000)
    start = time.perf_counter()
    with pytest.raises(LimitExceeded, match="2,000 pages"):
        count_pages(data, "long.pdf")
    with pytest.raises(LimitExceeded):
        load_page(data, "long.pdf", 1)
    assert time.perf_counter() - start < 1.0
    assert count_pages(many_page_pdf(5), "short.pdf") == 5


def test_encrypted_pdf_is_invalid_input_with_a_clear_message() -> None:
    data = encrypted_pdf(b"secret")
    doc = pdfium.PdfDocument(data, password="secret")  # the fixture is a real, openable encrypted PDF
    assert len(doc) == 1
    doc.close()
    for call in (lambda: count_pages(data, "locked.pdf"), lambda: load_page(data, "locked.pdf", 1)):
        with pytest.raises(InvalidInput, match=r"locked\.pdf: is an encrypted PDF"):
            call()


@pytest.mark.parametrize(
    "data",
    [
        b"%PDF-1.4\n",
        b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF",
        pdf_document([PdfPage()])[:150],
    ],
    ids=["header-only", "no-pages", "truncated"],
)
def test_malformed_pdf_is_invalid_input(data: bytes) -> None:
    with pytest.raises(InvalidInput, match=r"bad\.pdf"):
        for page in load_pages(data, "bad.pdf"):
            assert page.image.size > 0


def test_header_bomb_is_refused_quickly() -> None:
    start = time.perf_counter()
    for size in (60000, 7000):  # above Pillow's own threshold, and above only ours
        with pytest.raises(LimitExceeded, match=r"bomb\.png"):
            count_pages(png_claiming_size(size, size), "bomb.png")
        with pytest.raises(LimitExceeded):
            load_page(png_claiming_size(size, size), "bomb.png", 1)
    assert time.perf_counter() - start < 1.0
    with pytest.raises(LimitExceeded, match="40 x 30"):
        load_page(encode(ink_image(40, 30), "png"), "x.png", 1, LoadLimits(max_pixels=1000))


def test_file_size_limit() -> None:
    data = encode(ink_image(), "png")
    with pytest.raises(LimitExceeded, match=r"big\.png: file is"):
        count_pages(data, "big.png", LoadLimits(max_file_bytes=len(data) - 1))
    assert count_pages(data, "big.png", LoadLimits(max_file_bytes=len(data))) == 1


@pytest.mark.parametrize("fmt", ["png", "jpeg"])
def test_truncated_image_is_invalid_input(fmt: str) -> None:
    noisy = Image.fromarray(np.random.default_rng(0).integers(0, 255, (120, 160), dtype=np.uint8))
    data = encode(noisy, fmt)
    with pytest.raises(InvalidInput, match=rf"cut\.{fmt}: corrupt or truncated"):
        load_page(data[: len(data) // 2], f"cut.{fmt}", 1)


@pytest.mark.parametrize(
    ("data", "error", "words"),
    [
        (b"", InvalidInput, "empty"),
        (b"just some notes, renamed to .png\n", UnsupportedFormat, "text file"),
        (b"<!DOCTYPE html><html><body>404</body></html>", UnsupportedFormat, "HTML"),
        (bytes(range(256)) * 4, UnsupportedFormat, "not a recognised"),
        (bytes(4096), UnsupportedFormat, "not a recognised"),
        (zip_archive([("a.png", b"x")]), UnsupportedFormat, "nested archives are not supported"),
    ],
    ids=["empty", "text", "html", "binary", "zeros", "zip"],
)
def test_unreadable_bytes_name_the_source(data: bytes, error: type[Exception], words: str) -> None:
    for call in (lambda: count_pages(data, "upload.png"), lambda: load_page(data, "upload.png", 1)):
        with pytest.raises(error, match=rf"^upload\.png: .*{words}"):
            call()


def test_tiny_and_strip_images_load() -> None:
    assert load_page(encode(Image.new("L", (1, 1), 0), "png"), "dot.png", 1).image.shape == (1, 1)
    assert load_page(encode(Image.new("L", (20000, 20), 255), "png"), "strip.png", 1).image.shape == (20, 20000)


@pytest.mark.parametrize("number", [0, -1, 2, True, 1.0])
def test_page_number_out_of_range(number: object) -> None:
    with pytest.raises(InvalidInput, match="does not exist"):
        load_page(encode(ink_image(), "png"), "one.png", number)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="does not exist"):
        load_page(pdf_document([PdfPage()]), "one.pdf", number)  # type: ignore[arg-type]


def test_concurrent_pdf_rendering_matches_serial() -> None:
    data = pdf_document([PdfPage(300, 200), PdfPage(200, 300)])
    expected = [p.image.tobytes() for p in load_pages(data, "t.pdf")]
    results: list[list[bytes]] = []
    errors: list[BaseException] = []

    def render() -> None:
        try:
            results.append([p.image.tobytes() for p in load_pages(data, "t.pdf")])
        except BaseException as exc:  # collected and re-raised in the test thread
            errors.append(exc)

    threads = [threading.Thread(target=render) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors and results == [expected] * 4
