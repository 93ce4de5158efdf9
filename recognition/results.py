"""Result types of reading: one JSON shape for ``formdigits read``, the job store and the API.

Boxes are ``[x, y, w, h]`` in page pixels. ``to_dict()`` / ``from_dict()`` round-trip
exactly, so a result stored by a worker reads back equal.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

from segmentation.elements import Box


@dataclass(frozen=True, slots=True)
class DigitPrediction:
    """The classifier's verdict on one normalised crop.

    ``digit`` is 0-9, or ``None`` when the crop is judged not to be a digit (speck,
    punctuation, line remnant, half digit). ``confidence`` is the calibrated
    probability of ``digit`` (or of not-a-digit when ``digit`` is None).
    ``alternatives`` are the top-3 digits with their probabilities, best first.
    ``reject_p`` is the calibrated probability of the not-a-digit class and
    ``probabilities`` those of the digits 0-9 (together with ``reject_p`` they sum to 1).
    """

    digit: int | None
    confidence: float
    alternatives: tuple[tuple[int, float], ...]
    reject_p: float
    probabilities: tuple[float, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "digit": self.digit,
            "confidence": round(self.confidence, 6),
            "alternatives": [[d, round(p, 6)] for d, p in self.alternatives],
            "reject_p": round(self.reject_p, 6),
            "probabilities": [round(p, 6) for p in self.probabilities],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DigitPrediction:
        return cls(
            digit=data["digit"],
            confidence=float(data["confidence"]),
            alternatives=tuple((int(d), float(p)) for d, p in data["alternatives"]),
            reject_p=float(data["reject_p"]),
            probabilities=tuple(float(p) for p in data.get("probabilities", ())),
        )


@dataclass(frozen=True, slots=True)
class DigitResult:
    """One digit read in a field: its value, calibrated confidence, box, top-3 and the ten probabilities."""

    digit: int
    confidence: float
    box: Box
    alternatives: tuple[tuple[int, float], ...]
    probabilities: tuple[float, ...] = ()

    @property
    def not_a_digit(self) -> float:
        """The probability that the crop is no digit at all: what the ten digits leave (0 when the
        probabilities are not known, as in a result stored without them)."""
        return max(0.0, 1.0 - sum(self.probabilities)) if self.probabilities else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "digit": self.digit,
            "confidence": round(self.confidence, 6),
            "bbox": self.box.to_list(),
            "alternatives": [[d, round(p, 6)] for d, p in self.alternatives],
            "probabilities": [round(p, 6) for p in self.probabilities],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DigitResult:
        return cls(
            digit=int(data["digit"]),
            confidence=float(data["confidence"]),
            box=Box.from_list(data["bbox"]),
            alternatives=tuple((int(d), float(p)) for d, p in data["alternatives"]),
            probabilities=tuple(float(p) for p in data.get("probabilities", ())),
        )


@dataclass(frozen=True, slots=True)
class Separator:
    """A non-digit mark inside a digit string: ``kind`` is comma, point, dash, slash, sign (a currency
    sign or fence at an end of the string), raised (no mark: the digits from here on are written
    small and raised, an amount's cents; the box is theirs) or other.

    ``position`` is the number of digits of the field's text that come before it.
    """

    position: int
    kind: str
    box: Box

    def to_dict(self) -> dict[str, Any]:
        return {"position": self.position, "kind": self.kind, "bbox": self.box.to_list()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Separator:
        return cls(int(data["position"]), str(data["kind"]), Box.from_list(data["bbox"]))


# Why a field needs review (``FieldResult.review``).
LOW_CONFIDENCE = "low_confidence"  # a digit's confidence is below the review threshold
CLOSE_READING = "close_reading"  # a reading with other digits scores nearly as well
CLOSE_MARKS = "close_marks"  # the same digits with other separators score nearly as well
LINE_NETWORK = "line_network"  # the line network changed the reading of the cuts or cells
LINE_NETWORK_DOUBT = "line_network_doubt"  # it kept a comb's cells' reading, but nearly read other digits
UNKNOWN_INK = "unknown_ink"  # ink that is neither a digit nor a recognisable mark
NO_DIGIT = "no_digit"  # ``digit`` mode: a blank drawing or a not-a-digit verdict
REVIEW_REASONS = (LOW_CONFIDENCE, CLOSE_READING, CLOSE_MARKS, LINE_NETWORK, LINE_NETWORK_DOUBT, UNKNOWN_INK, NO_DIGIT)


def reasons(*flags: tuple[str, bool]) -> tuple[str, ...]:
    """The reasons of ``(reason, holds)`` pairs that hold, each once, in the order given."""
    return tuple(dict.fromkeys(reason for reason, holds in flags if holds))


def all_reasons(*groups: tuple[str, ...]) -> tuple[str, ...]:
    """The reasons of several fields' (or steps') ``review`` in one, each once, in the order given."""
    return tuple(dict.fromkeys(reason for group in groups for reason in group))


@dataclass(frozen=True, slots=True)
class FieldResult:
    """One field read: its text (digits only), separators, confidence and digits.

    ``confidence`` is the product of the digit confidences (1.0 for an empty field).
    ``needs_review`` is set when any digit is below the review threshold or the
    segmentation was doubtful; a fresh reading sets it exactly when ``review`` names a reason. ``kind`` is ``"free"``, ``"comb"`` or ``"digit"`` (``digit``
    mode). ``cells`` is set for comb fields only: per cell, left to right, the digit read
    or ``None`` for an empty cell or one holding a mark. ``review`` says why the field needs
    review (``REVIEW_REASONS``); a result stored before reasons were kept has none.
    """

    name: str
    box: Box
    text: str
    confidence: float
    needs_review: bool
    digits: tuple[DigitResult, ...]
    separators: tuple[Separator, ...] = ()
    kind: str = "free"
    cells: tuple[int | None, ...] = ()
    review: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.review and not self.needs_review:
            raise ValueError(f"field {self.name} has reasons for review {self.review} but needs none")

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "bbox": self.box.to_list(),
            "text": self.text,
            "separators": [s.to_dict() for s in self.separators],
            "confidence": round(self.confidence, 6),
            "needs_review": self.needs_review,
            "review": list(self.review),
            "digits": [d.to_dict() for d in self.digits],
            "cells": list(self.cells),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FieldResult:
        return cls(
            name=str(data["name"]),
            kind=str(data.get("kind", "free")),
            box=Box.from_list(data["bbox"]),
            text=str(data["text"]),
            confidence=float(data["confidence"]),
            needs_review=bool(data["needs_review"]),
            digits=tuple(DigitResult.from_dict(d) for d in data["digits"]),
            separators=tuple(Separator.from_dict(s) for s in data["separators"]),
            cells=tuple(None if c is None else int(c) for c in data.get("cells", ())),
            review=tuple(str(r) for r in data.get("review", ())),
        )


@dataclass(frozen=True, slots=True)
class PageResult:
    """All fields read on one page, in reading order (top to bottom, left to right).

    ``rotation`` (0, 90, 180 or 270, ``page`` mode) is how far the reader turned the page
    clockwise before reading it (a sheet fed upside down or sideways) and ``skew_deg`` the skew
    it then undid: the boxes are in the frame of the page turned by ``rotation`` and rotated by
    ``-skew_deg`` about its centre. ``width`` and ``height`` are the page's as it came.
    """

    page: int
    width: int
    height: int
    fields: tuple[FieldResult, ...]
    skew_deg: float = 0.0
    rotation: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "page": self.page,
            "width": self.width,
            "height": self.height,
            "skew_deg": round(self.skew_deg, 3),
            "rotation": self.rotation,
            "fields": [f.to_dict() for f in self.fields],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PageResult:
        return cls(
            page=int(data["page"]),
            width=int(data["width"]),
            height=int(data["height"]),
            fields=tuple(FieldResult.from_dict(f) for f in data["fields"]),
            skew_deg=float(data.get("skew_deg", 0.0)),
            rotation=int(data.get("rotation", 0)),
        )


def page_record(result: PageResult) -> dict[str, Any]:
    """A page that was read, as it stands in read-shaped results (``error`` None)."""
    return {**result.to_dict(), "error": None}


def failed_page(number: int, message: str, code: str) -> dict[str, Any]:
    """A page that could not be read, as it stands in read-shaped results, with its reason."""
    return {"page": number, "width": 0, "height": 0, "error": message, "error_code": code, "fields": []}


# The CSV of read-shaped results (``{"source", "error", "pages": [...]}`` dicts), shared by
# ``formdigits read --format csv``, the API's results.csv and ``formdigits submit --format csv``.
CSV_COLUMNS = (
    "source",
    "page",
    "field",
    "kind",
    "text",
    "separators",
    "confidence",
    "needs_review",
    "review",
    "error",
)


def _csv_safe(value: Any) -> Any:
    """Defuse spreadsheet formulas in user-supplied strings (file names)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def csv_rows(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per field, and one per failed file or page, in reading order."""
    rows: list[dict[str, Any]] = []
    for doc in results:
        if doc.get("error"):
            rows.append({"source": doc["source"], "error": doc["error"]})
        for page in doc.get("pages", []):
            if page.get("error"):
                rows.append({"source": doc["source"], "page": page["page"], "error": page["error"]})
            for f in page["fields"]:
                rows.append(
                    {
                        "source": doc["source"],
                        "page": page["page"],
                        "field": f["name"],
                        "kind": f.get("kind", ""),
                        "text": f["text"],
                        "separators": " ".join(f"{s['position']}:{s['kind']}" for s in f["separators"]),
                        "confidence": f"{f['confidence']:.4f}",
                        "needs_review": "true" if f["needs_review"] else "false",
                        "review": " ".join(f.get("review", ())),
                    }
                )
    return rows


def results_csv(results: list[dict[str, Any]]) -> str:
    """The CSV text (header first, ``\\n`` line ends) of read-shaped results."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in csv_rows(results):
        writer.writerow({k: _csv_safe(row.get(k, "")) for k in CSV_COLUMNS})
    return buffer.getvalue()
