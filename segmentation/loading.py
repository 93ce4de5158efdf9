"""Load uploaded documents as grayscale pages: images of many kinds and PDF pages rasterised at 300 dpi.

Every limit is checked before a pixel buffer is allocated: the byte size first, then the
page count, then width x height as declared by the image header or the PDF page box.
Pillow and pdfium raise a zoo of exceptions on hostile input; each one is translated here
into a :mod:`segmentation.errors` class whose message names the source, so nothing from a
third-party decoder escapes this module.

Pages come out as ``NDArray[np.uint8]`` of shape (height, width): grayscale, dark ink on
light paper as scanned, transparency composited on white.
"""

from __future__ import annotations

import io
import logging
import math
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import cv2
import numpy as np
import pypdfium2 as pdfium
from numpy.typing import NDArray
from PIL import Image, ImageOps, UnidentifiedImageError

from segmentation.elements import Page
from segmentation.errors import FormdigitsError, InvalidInput, LimitExceeded, UnsupportedFormat
from segmentation.formats import SNIFF_BYTES, sniff_format

log = logging.getLogger(__name__)

# Pillow plugin names of the formats we read; Image.open is restricted to the sniffed one so
# that no other plugin (EPS via Ghostscript, ...) ever looks at the bytes.
_PIL_FORMATS = {"png": "PNG", "jpeg": "JPEG", "tiff": "TIFF", "bmp": "BMP", "webp": "WEBP", "gif": "GIF"}
_LABELS = {"webp": "WebP"}
# Formats whose extra frames are animation, not pages: only the first frame is read.
_MULTIPAGE_FORMATS = ("tiff",)
_POINTS_PER_INCH = 72.0
# Declared pixel aspect ratios (x dpi / y dpi, or the inverse) read as square within this much;
# beyond MAX_PIXEL_ASPECT they are taken for broken metadata. Fax modes: 204 x 98 (2.08), 204 x 196.
SQUARE_PIXEL_TOLERANCE = 0.05
MAX_PIXEL_ASPECT = 4.0
_ALPHA_MODES = ("LA", "La", "PA", "RGBA", "RGBa")

# pdfium is not thread-safe: every call into it (open, count, size, render, close) holds this.
_PDFIUM_LOCK = threading.RLock()
_PIL_LIMIT_LOCK = threading.Lock()


@dataclass(frozen=True, slots=True)
class LoadLimits:
    """Ceilings checked before any pixel buffer is allocated."""

    max_file_bytes: int = 64 * 2**20
    max_pixels: int = 40_000_000  # per page: A4 at 600 dpi is ~35 M pixels
    max_pages: int = 200  # per document
    pdf_dpi: int = 300


def count_pages(data: bytes, source: str, limits: LoadLimits = LoadLimits()) -> int:
    """Number of pages in ``data`` (1 for single images); raises UnsupportedFormat / InvalidInput / LimitExceeded."""
    fmt = _document_format(data, source, limits)
    if fmt == "pdf":
        with _pdf_document(data, source, limits) as doc:
            return _pdf_page_count(doc, source, limits)
    with _pil_image(data, source, fmt, limits) as image:
        return _image_page_count(image, source, fmt, limits)


def load_page(data: bytes, source: str, number: int, limits: LoadLimits = LoadLimits()) -> Page:
    """Page ``number`` (from 1) of ``data`` as a grayscale :class:`Page`, dark ink on light paper.

    ``Page.image`` is uint8 of shape (height, width); PDF pages are rendered at ``limits.pdf_dpi``.
    """
    fmt = _document_format(data, source, limits)
    if fmt == "pdf":
        with _pdf_document(data, source, limits) as doc:
            _check_page_number(number, _pdf_page_count(doc, source, limits), source)
            image = _render_pdf_page(doc, number, source, limits)
    else:
        with _pil_image(data, source, fmt, limits) as pil:
            _check_page_number(number, _image_page_count(pil, source, fmt, limits), source)
            image = _decode_frame(pil, number, source, fmt, limits)
    return Page(source=source, number=number, image=image)


def load_pages(data: bytes, source: str, limits: LoadLimits = LoadLimits()) -> Iterator[Page]:
    """Every page of ``data`` in order, decoded one at a time."""
    for number in range(1, count_pages(data, source, limits) + 1):
        yield load_page(data, source, number, limits)


# --- format and byte-level checks -------------------------------------------------------------


def _document_format(data: bytes, source: str, limits: LoadLimits) -> str:
    """The sniffed format of ``data`` if it is a document we read; else the error that explains why not."""
    if len(data) > limits.max_file_bytes:
        raise LimitExceeded(f"{source}: file is {len(data):,} bytes, more than the limit of {limits.max_file_bytes:,}")
    if not data:
        raise InvalidInput(f"{source}: the file is empty")
    fmt = sniff_format(data[:SNIFF_BYTES])
    if fmt == "zip":
        raise UnsupportedFormat(f"{source}: is a ZIP archive inside an archive; nested archives are not supported")
    if fmt is None:
        raise UnsupportedFormat(f"{source}: {_describe_unknown(data)}; expected PNG, JPEG, TIFF, BMP, WebP, GIF or PDF")
    return fmt


def _describe_unknown(data: bytes) -> str:
    head = data[:512].lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html", b"<?xml", b"<svg")):
        return "looks like an HTML/XML document, not an image"
    try:
        text = data[:512].decode("utf-8")
    except UnicodeDecodeError:
        return "not a recognised image or PDF file"
    if any(ord(char) < 32 and char not in "\t\n\r\f" for char in text):
        return "not a recognised image or PDF file"
    return "looks like a text file, not an image"


def _check_page_number(number: int, count: int, source: str) -> None:
    if isinstance(number, bool) or not isinstance(number, int) or not 1 <= number <= count:
        raise InvalidInput(f"{source}: page {number!r} does not exist (the document has {count} page(s))")


def _check_pixels(width: float, height: float, source: str, what: str, limits: LoadLimits) -> None:
    """Refuse empty pages and pages over ``limits.max_pixels``, from declared sizes only."""
    if not (width >= 1 and height >= 1):
        raise InvalidInput(f"{source}: {what} has no pixels ({width} x {height})")
    if width * height > limits.max_pixels:
        raise LimitExceeded(
            f"{source}: {what} is {int(width)} x {int(height)} pixels, more than the limit of {limits.max_pixels:,}"
        )


# --- Pillow images -----------------------------------------------------------------------------


@contextmanager
def _pil_image(data: bytes, source: str, fmt: str, limits: LoadLimits) -> Iterator[Image.Image]:
    """``data`` opened lazily by the one Pillow plugin for ``fmt``; only the header is read here."""
    _raise_pillow_limit(limits.max_pixels)
    with _decoder_errors(source, fmt, limits):
        image = Image.open(io.BytesIO(data), formats=[_PIL_FORMATS[fmt]])
    try:
        # The header alone gives the (first frame's) size: refuse before anything is decoded.
        _check_pixels(*image.size, source, "the image", limits)
        yield image
    finally:
        image.close()


def _raise_pillow_limit(max_pixels: int) -> None:
    """Keep Pillow's bomb check at least as generous as ours, so pages we accept never trip it.

    Pillow warns above ``MAX_IMAGE_PIXELS`` and refuses above twice that; both are translated
    to LimitExceeded, and our own check (same figure) runs right after the header is read.
    The value only ever grows, under a lock, so concurrent callers with other limits agree.
    """
    with _PIL_LIMIT_LOCK:
        current = Image.MAX_IMAGE_PIXELS
        if current is not None and current < max_pixels:
            Image.MAX_IMAGE_PIXELS = max_pixels


def _image_page_count(image: Image.Image, source: str, fmt: str, limits: LoadLimits) -> int:
    """Frames of a TIFF (pages), 1 for everything else (GIF/WebP/PNG animation frames are not pages)."""
    if fmt not in _MULTIPAGE_FORMATS:
        return 1
    count = 1
    with _decoder_errors(source, fmt, limits):
        # Seek frame by frame (as Pillow's n_frames does): each step reads one IFD, no pixels,
        # and we stop one past the limit instead of walking a hostile chain to its end.
        while True:
            try:
                image.seek(count)
            except EOFError:
                break
            count += 1
            if count > limits.max_pages:
                raise LimitExceeded(f"{source}: has more than {limits.max_pages} pages (the limit)")
        image.seek(0)
    return count


def _decode_frame(image: Image.Image, number: int, source: str, fmt: str, limits: LoadLimits) -> NDArray[np.uint8]:
    """Frame ``number`` (from 1) of an open image as a 2-D uint8 grayscale array."""
    with _decoder_errors(source, fmt, limits):
        image.seek(number - 1)
        width, height = image.size
        _check_pixels(width, height, source, f"page {number}", limits)
        image.load()
        dpi = image.info.get("dpi")
        upright = ImageOps.exif_transpose(image) or image
        gray = _to_gray(upright)
    # Turned a quarter by its EXIF orientation, the page's resolutions swap axes too.
    return _square_pixels(gray, dpi, upright.size != image.size, source, f"page {number}", limits)


def _square_pixels(
    gray: NDArray[np.uint8], dpi: object, swapped: bool, source: str, what: str, limits: LoadLimits
) -> NDArray[np.uint8]:
    """``gray`` with its coarser axis stretched to the finer one's resolution, when the file declares
    pixels that are not square (a fax in standard mode is 204 x 98 dpi: its digits come half as tall).

    Ratios within ``SQUARE_PIXEL_TOLERANCE`` of 1 and past ``MAX_PIXEL_ASPECT`` (no scanner or fax
    makes those: broken metadata) are left alone, and so is a declaration that is no pair of
    numbers. ``swapped``: the page was turned a quarter after decoding (``dpi`` is the file's).
    """
    try:
        x_dpi, y_dpi = (float(v) for v in dpi)  # type: ignore[attr-defined]
    except (TypeError, ValueError):
        return gray
    if swapped:
        x_dpi, y_dpi = y_dpi, x_dpi
    if not (x_dpi > 0 and y_dpi > 0):
        return gray
    ratio = max(x_dpi, y_dpi) / min(x_dpi, y_dpi)
    if ratio < 1 + SQUARE_PIXEL_TOLERANCE or ratio > MAX_PIXEL_ASPECT:
        return gray
    height, width = gray.shape
    size = (width, round(height * ratio)) if x_dpi > y_dpi else (round(width * ratio), height)
    _check_pixels(*size, source, f"{what} with square pixels", limits)
    return np.asarray(cv2.resize(gray, size, interpolation=cv2.INTER_LINEAR), np.uint8)


def _to_gray(image: Image.Image) -> NDArray[np.uint8]:
    """Any Pillow mode as uint8 (height, width) luminance: alpha over white, 16-bit scaled, CMYK via RGB."""
    mode = image.mode
    if mode == "P" and "transparency" in image.info:
        image, mode = image.convert("RGBA"), "RGBA"
    if mode in _ALPHA_MODES:
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return np.asarray(Image.alpha_composite(white, rgba).convert("L"), dtype=np.uint8)
    if mode.startswith("I;16") or mode == "I":
        # 16-bit samples span 0..65535; 65535 / 257 = 255 keeps black black and white white.
        # Mode "I" (32-bit ints, rare in scans) is read as 16-bit only when values exceed 8 bits.
        wide = np.asarray(image, dtype=np.int64)
        if mode == "I" and (wide.size == 0 or wide.max() <= 255):
            return np.clip(wide, 0, 255).astype(np.uint8)
        return ((np.clip(wide, 0, 65535) + 128) // 257).astype(np.uint8)
    if mode == "F":
        floats = np.asarray(image, dtype=np.float64)
        scale = 255.0 if floats.size and np.nanmax(floats) <= 1.0 else 1.0
        return np.clip(np.nan_to_num(floats * scale), 0, 255).round().astype(np.uint8)
    if mode == "L":
        return np.asarray(image, dtype=np.uint8)
    if mode in ("1", "P", "RGB", "RGBX", "CMYK", "YCbCr"):
        # CMYK converts through RGB in Pillow; "1" becomes 0/255.
        return np.asarray(image.convert("RGB").convert("L") if mode == "CMYK" else image.convert("L"), dtype=np.uint8)
    if mode == "LAB":
        return np.asarray(image.getchannel("L"), dtype=np.uint8)
    raise UnsupportedFormat(f"image mode {mode} is not supported")


@contextmanager
def _decoder_errors(source: str, fmt: str, limits: LoadLimits) -> Iterator[None]:
    """Translate anything a third-party decoder raises into our errors, naming the source.

    This is the edge between formdigits and Pillow/pdfium: hostile bytes make them raise
    OSError, ValueError, SyntaxError, struct.error, EOFError, warnings promoted to errors, ...,
    so the catch is deliberately broad. Our own errors pass through, prefixed with the source.
    """
    label = _LABELS.get(fmt, fmt.upper())
    try:
        yield
    except FormdigitsError as exc:
        if exc.message.startswith(f"{source}:"):
            raise
        raise type(exc)(f"{source}: {exc.message}") from exc
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        # Pillow's threshold is never below ours (see _raise_pillow_limit): this is over our limit too.
        raise LimitExceeded(
            f"{source}: {label} image is larger than the limit of {limits.max_pixels:,} pixels"
        ) from exc
    except UnidentifiedImageError as exc:
        raise InvalidInput(f"{source}: not a readable {label} file (damaged or incomplete header)") from exc
    except MemoryError as exc:
        raise LimitExceeded(f"{source}: {label} file needs more memory than is available") from exc
    except Exception as exc:
        log.debug("decoder error on %s: %r", source, exc)
        raise InvalidInput(f"{source}: corrupt or truncated {label} file ({_short(exc)})") from exc


def _short(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text if len(text) <= 120 else text[:117] + "..."


# --- PDF via pdfium ----------------------------------------------------------------------------


@contextmanager
def _pdf_document(data: bytes, source: str, limits: LoadLimits) -> Iterator[pdfium.PdfDocument]:
    """An open pdfium document, always closed; opening and closing hold the pdfium lock."""
    with _PDFIUM_LOCK, _decoder_errors(source, "pdf", limits):
        try:
            doc = pdfium.PdfDocument(data)
        except pdfium.PdfiumError as exc:
            if getattr(exc, "err_code", None) in (pdfium.raw.FPDF_ERR_PASSWORD, pdfium.raw.FPDF_ERR_SECURITY):
                raise InvalidInput(f"{source}: is an encrypted PDF (password protected); remove the password") from exc
            raise InvalidInput(f"{source}: corrupt or malformed PDF ({_short(exc)})") from exc
    try:
        yield doc
    finally:
        with _PDFIUM_LOCK:
            doc.close()


def _pdf_page_count(doc: pdfium.PdfDocument, source: str, limits: LoadLimits) -> int:
    with _PDFIUM_LOCK, _decoder_errors(source, "pdf", limits):
        count = len(doc)
    if count < 1:
        raise InvalidInput(f"{source}: the PDF has no pages")
    if count > limits.max_pages:
        raise LimitExceeded(f"{source}: has {count:,} pages, more than the limit of {limits.max_pages}")
    return count


def _render_pdf_page(doc: pdfium.PdfDocument, number: int, source: str, limits: LoadLimits) -> NDArray[np.uint8]:
    """Page ``number`` rendered in grayscale at ``limits.pdf_dpi`` on white, after a size check."""
    scale = limits.pdf_dpi / _POINTS_PER_INCH
    with _PDFIUM_LOCK, _decoder_errors(source, "pdf", limits):
        # Page size in points from the page tree (rotation applied) without loading content.
        width_pt, height_pt = doc.get_page_size(number - 1)
        # pdfium rounds the bitmap size up; round first so 14400 pt at 300 dpi is 60000 px, not 60001.
        width_px, height_px = (math.ceil(round(abs(side) * scale, 6)) for side in (width_pt, height_pt))
        _check_pixels(width_px, height_px, source, f"page {number}", limits)
        page = doc[number - 1]
        try:
            bitmap = page.render(scale=scale, grayscale=True)
            try:
                pixels = np.array(bitmap.to_numpy(), dtype=np.uint8, copy=True)
            finally:
                bitmap.close()
        finally:
            page.close()
    if pixels.ndim == 3:
        pixels = pixels[:, :, 0]
    return pixels
