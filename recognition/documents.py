"""Read whole documents: every page of a file (or every file of a ZIP) into the JSON of ``formdigits read``.

One document gives ``{"source", "error", "error_code", "pages": [PageResult.to_dict(), ...]}``.
A user's bad input (unreadable file, limit exceeded, a page with no ink in ``line`` mode)
is recorded in ``error`` (its message) and ``error_code`` (the stable code) instead of
raised, with the pages read before it kept; anything else is a bug and propagates.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from recognition.reader import ProbabilityModel, ReadParams, read_page
from segmentation.archive import ArchiveLimits, expand_upload
from segmentation.errors import FormdigitsError, LimitExceeded
from segmentation.loading import LoadLimits, load_pages

log = logging.getLogger(__name__)

DEFAULT_PARAMS = ReadParams()
DEFAULT_LIMITS = LoadLimits()
DEFAULT_ARCHIVE_LIMITS = ArchiveLimits()


def _document(source: str, pages: list[dict[str, Any]], error: FormdigitsError | None = None) -> dict[str, Any]:
    return {
        "source": source,
        "error": None if error is None else error.message,
        "error_code": None if error is None else error.code,
        "pages": pages,
    }


def read_document(
    model: ProbabilityModel,
    source: str,
    data: bytes,
    mode: str,
    params: ReadParams = DEFAULT_PARAMS,
    limits: LoadLimits = DEFAULT_LIMITS,
) -> dict[str, Any]:
    """Read every page of one file's bytes in ``mode``; ``source`` names it in the result and in errors."""
    pages: list[dict[str, Any]] = []
    try:
        for page in load_pages(data, source, limits):
            pages.append(read_page(model, page, mode, params).to_dict())
    except FormdigitsError as exc:
        log.info("source=%s page=%d: %s (%s)", source, len(pages) + 1, exc.message, exc.code)
        return _document(source, pages, exc)
    return _document(source, pages)


def read_upload(
    model: ProbabilityModel,
    name: str,
    data: bytes,
    mode: str,
    params: ReadParams = DEFAULT_PARAMS,
    limits: LoadLimits = DEFAULT_LIMITS,
    archive_limits: ArchiveLimits = DEFAULT_ARCHIVE_LIMITS,
) -> list[dict[str, Any]]:
    """Read one uploaded file: a document, or each document inside a ZIP (sources ``name/member``)."""
    try:
        files = expand_upload(name, data, archive_limits)
    except FormdigitsError as exc:
        return [_document(name, [], exc)]
    if len(files) == 1 and files[0].name == name:
        return [read_document(model, name, data, mode, params, limits)]
    return [read_document(model, f"{name}/{f.name}", f.data, mode, params, limits) for f in files]


def read_paths(
    model: ProbabilityModel,
    paths: Iterable[Path],
    mode: str,
    params: ReadParams = DEFAULT_PARAMS,
    limits: LoadLimits = DEFAULT_LIMITS,
    archive_limits: ArchiveLimits = DEFAULT_ARCHIVE_LIMITS,
) -> list[dict[str, Any]]:
    """Read files from disk in order; ZIP files are expanded. One result dict per document.

    A file larger than ``limits.max_file_bytes`` is refused before it is read; a file that
    cannot be opened is a ``FileNotFoundError`` / ``OSError`` for the caller (a CLI typo).
    """
    results: list[dict[str, Any]] = []
    for path in paths:
        size = path.stat().st_size
        if size > limits.max_file_bytes:
            error = LimitExceeded(f"{path}: {size:,} bytes, more than the limit of {limits.max_file_bytes:,}")
            results.append(_document(str(path), [], error))
            continue
        results.extend(read_upload(model, str(path), path.read_bytes(), mode, params, limits, archive_limits))
    return results
