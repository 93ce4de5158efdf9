"""Load uploaded documents as grayscale pages: images of many kinds and PDF pages rasterised at 300 dpi.

Interface stub (issue #3): signatures are fixed; bodies come with the loading work.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from segmentation.elements import Page


@dataclass(frozen=True, slots=True)
class LoadLimits:
    """Ceilings checked before any pixel buffer is allocated."""

    max_file_bytes: int = 64 * 2**20
    max_pixels: int = 40_000_000  # per page: A4 at 600 dpi is ~35 M pixels
    max_pages: int = 200  # per document
    pdf_dpi: int = 300


def count_pages(data: bytes, source: str, limits: LoadLimits = LoadLimits()) -> int:
    """Number of pages in ``data`` (1 for single images); raises UnsupportedFormat / InvalidInput / LimitExceeded."""
    raise NotImplementedError


def load_page(data: bytes, source: str, number: int, limits: LoadLimits = LoadLimits()) -> Page:
    """Page ``number`` (from 1) of ``data`` as a grayscale :class:`Page`, dark ink on light paper."""
    raise NotImplementedError


def load_pages(data: bytes, source: str, limits: LoadLimits = LoadLimits()) -> Iterator[Page]:
    """Every page of ``data`` in order, decoded one at a time."""
    raise NotImplementedError
