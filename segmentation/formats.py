"""Recognise upload file types from their first bytes (pure Python: no OpenCV, safe for the web process).

Only magic numbers are trusted: a file name or a declared content type says nothing about the
bytes. The checks are cheap and never decode anything.
"""

from __future__ import annotations

IMAGE_FORMATS = ("png", "jpeg", "tiff", "bmp", "webp", "gif")
DOCUMENT_FORMATS = (*IMAGE_FORMATS, "pdf")
UPLOAD_FORMATS = (*DOCUMENT_FORMATS, "zip")

# PDF readers (pdfium included) accept a "%PDF-" header preceded by junk within the first
# 1024 bytes (ISO 32000-1, Annex H, note 13); some scanners write such files.
PDF_HEADER_WINDOW = 1024
SNIFF_BYTES = PDF_HEADER_WINDOW

_PREFIXES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
    (b"PK\x03\x04", "zip"),
    (b"PK\x05\x06", "zip"),  # an empty archive: only the end-of-central-directory record
    (b"%PDF-", "pdf"),
)


def _is_bmp(head: bytes) -> bool:
    """``BM``, zero reserved bytes and (when present) a known DIB header size; ``BM`` alone matches text."""
    if len(head) < 14 or not head.startswith(b"BM") or head[6:10] != bytes(4):
        return False
    if len(head) < 18:
        return True
    dib_size = int.from_bytes(head[14:18], "little")
    return dib_size in (12, 16, 40, 52, 56, 64, 108, 124)


def sniff_format(head: bytes) -> str | None:
    """The format name (one of ``UPLOAD_FORMATS``) of a file from its first 16+ bytes, or None if unknown.

    Pass at least ``SNIFF_BYTES`` bytes to find a PDF header that follows leading junk.
    """
    for prefix, name in _PREFIXES:
        if head.startswith(prefix):
            return name
    if len(head) >= 12 and head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "webp"
    if _is_bmp(head):
        return "bmp"
    if b"%PDF-" in head[:PDF_HEADER_WINDOW]:
        return "pdf"
    return None
