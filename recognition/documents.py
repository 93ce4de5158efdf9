"""Read whole documents: load every page of one file and read it, one page's failure not stopping the rest.

The dict returned is one entry of ``formdigits read``'s ``results`` list:
``{"source", "error": None | message, "pages": [PageResult.to_dict() | {"page", "error", "fields": []}]}``.
"""

from __future__ import annotations

import logging
from typing import Any

from recognition.overlay import overlay_png
from recognition.reader import ProbabilityModel, ReadParams, read_page
from segmentation.errors import FormdigitsError
from segmentation.loading import LoadLimits, count_pages, load_page

log = logging.getLogger(__name__)


def failed_page(number: int, message: str) -> dict[str, Any]:
    """The record of a page that could not be read, with its reason."""
    return {"page": number, "width": 0, "height": 0, "error": message, "fields": []}


def read_document(
    model: ProbabilityModel,
    source: str,
    data: bytes,
    mode: str,
    params: ReadParams = ReadParams(),
    limits: LoadLimits = LoadLimits(),
    *,
    overlays: dict[int, bytes] | None = None,
) -> dict[str, Any]:
    """Read every page of one file's bytes; when ``overlays`` is a dict, fill it with page number -> PNG."""
    try:
        total = count_pages(data, source, limits)
    except FormdigitsError as exc:
        return {"source": source, "error": exc.message, "pages": []}
    pages: list[dict[str, Any]] = []
    for number in range(1, total + 1):
        try:
            page = load_page(data, source, number, limits)
            result = read_page(model, page, mode, params)
        except FormdigitsError as exc:
            log.info("source=%s page=%d failed: %s", source, number, exc.message)
            pages.append(failed_page(number, exc.message))
            continue
        pages.append({**result.to_dict(), "error": None})
        if overlays is not None:
            overlays[number] = overlay_png(page.image, result)
    return {"source": source, "error": None, "pages": pages}
