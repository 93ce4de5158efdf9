"""Recognise upload file types from their first bytes (pure Python: no OpenCV, safe for the web process)."""

from __future__ import annotations

# Interface stub: implemented in the loading work (issue #3).

IMAGE_FORMATS = ("png", "jpeg", "tiff", "bmp", "webp", "gif")
DOCUMENT_FORMATS = (*IMAGE_FORMATS, "pdf")
UPLOAD_FORMATS = (*DOCUMENT_FORMATS, "zip")


def sniff_format(head: bytes) -> str | None:
    """The format name (one of ``UPLOAD_FORMATS``) of a file from its first 16+ bytes, or None if unknown."""
    raise NotImplementedError
