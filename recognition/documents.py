"""Read whole documents: every page of a file (or every file of a ZIP) into the JSON of ``formdigits read``.

One document gives ``{"source", "error", "error_code", "pages": [page, ...]}``, each page being
``PageResult.to_dict()`` plus ``"error": None``, or a failed page
``{"page", "width": 0, "height": 0, "error", "error_code", "fields": []}``.
A user's bad input is recorded instead of raised: a file that cannot be opened at all
(unreadable, wrong type, limit exceeded) in the document's ``error`` / ``error_code``; a page
that cannot be read (corrupt, no ink in ``line`` mode) in that page's record, the other pages
still read. Anything else is a bug and propagates.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from recognition.overlay import render_overlay_png
from recognition.reader import ProbabilityModel, ReadParams, read_page
from recognition.results import failed_page, page_record
from segmentation.archive import ArchiveLimits, expand_upload
from segmentation.errors import FormdigitsError, InvalidInput, LimitExceeded
from segmentation.loading import LoadLimits, count_pages, load_page

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
    *,
    overlays: dict[int, bytes] | None = None,
) -> dict[str, Any]:
    """Read every page of one file's bytes in ``mode``; ``source`` names it in the result and in errors.

    When ``overlays`` is a dict it is filled with page number -> overlay PNG of the pages read.
    """
    try:
        total = count_pages(data, source, limits)
    except FormdigitsError as exc:
        log.info("source=%s: %s (%s)", source, exc.message, exc.code)
        return _document(source, [], exc)
    pages: list[dict[str, Any]] = []
    for number in range(1, total + 1):
        try:
            record, overlay = read_one_page(
                model, source, data, number, mode, params, limits, overlay=overlays is not None
            )
        except FormdigitsError as exc:
            log.info("source=%s page=%d: %s (%s)", source, number, exc.message, exc.code)
            pages.append(failed_page(number, exc.message, exc.code))
            continue
        pages.append(record)
        if overlays is not None and overlay is not None:
            overlays[number] = overlay
    return _document(source, pages)


def read_one_page(
    model: ProbabilityModel,
    source: str,
    data: bytes,
    number: int,
    mode: str,
    params: ReadParams = DEFAULT_PARAMS,
    limits: LoadLimits = DEFAULT_LIMITS,
    *,
    overlay: bool = True,
) -> tuple[dict[str, Any], bytes | None]:
    """Load page ``number`` (from 1) of one file's bytes and read it: (its page record, its overlay PNG or None).

    Bad input raises :class:`FormdigitsError` (the caller records it as a failed page).
    """
    page = load_page(data, source, number, limits)
    result = read_page(model, page, mode, params)
    return page_record(result), render_overlay_png(page.image, result) if overlay else None


def read_upload(
    model: ProbabilityModel,
    name: str,
    data: bytes,
    mode: str,
    params: ReadParams = DEFAULT_PARAMS,
    limits: LoadLimits = DEFAULT_LIMITS,
    archive_limits: ArchiveLimits = DEFAULT_ARCHIVE_LIMITS,
    *,
    overlays: dict[str, dict[int, bytes]] | None = None,
) -> list[dict[str, Any]]:
    """Read one uploaded file: a document, or each document inside a ZIP (sources ``name/member``).

    When ``overlays`` is a dict it is filled with source -> {page number -> overlay PNG}.
    """
    try:
        files = expand_upload(name, data, archive_limits)
    except FormdigitsError as exc:
        return [_document(name, [], exc)]
    plain = len(files) == 1 and files[0].name == name
    documents = []
    for upload in files:
        source = name if plain else f"{name}/{upload.name}"
        pages: dict[int, bytes] | None = None if overlays is None else overlays.setdefault(source, {})
        documents.append(read_document(model, source, upload.data, mode, params, limits, overlays=pages))
    return documents


def read_paths(
    model: ProbabilityModel,
    paths: Iterable[Path],
    mode: str,
    params: ReadParams = DEFAULT_PARAMS,
    limits: LoadLimits = DEFAULT_LIMITS,
    archive_limits: ArchiveLimits = DEFAULT_ARCHIVE_LIMITS,
    *,
    overlays: dict[str, dict[int, bytes]] | None = None,
) -> list[dict[str, Any]]:
    """Read files from disk in order; ZIP files are expanded. One result dict per document.

    A file larger than ``limits.max_file_bytes`` is refused before it is read; a file that
    cannot be opened is recorded as an error document like any other unreadable input.
    """
    results: list[dict[str, Any]] = []
    for path in paths:
        try:
            size = path.stat().st_size
            if size > limits.max_file_bytes:
                raise LimitExceeded(f"{path}: {size:,} bytes, more than the limit of {limits.max_file_bytes:,}")
            data = path.read_bytes()
        except OSError as exc:
            results.append(_document(str(path), [], InvalidInput(f"cannot read {path}: {exc.strerror}")))
            continue
        except LimitExceeded as exc:
            results.append(_document(str(path), [], exc))
            continue
        results.extend(read_upload(model, str(path), data, mode, params, limits, archive_limits, overlays=overlays))
    return results
