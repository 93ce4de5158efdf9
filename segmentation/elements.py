"""Plain data passed between the segmentation stages.

Coordinates are page pixels with the origin at the top-left corner, x to the right
and y downwards. Images are ``NDArray[np.uint8]``, 2-D; grayscale pages are dark ink
on light paper (as scanned), binary masks have ink = 255.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

GrayImage = NDArray[np.uint8]


@dataclass(frozen=True, slots=True)
class Box:
    """An axis-aligned rectangle in page pixels: top-left corner (x, y), width w, height h."""

    x: int
    y: int
    w: int
    h: int

    @property
    def x2(self) -> int:
        """One past the right-most column."""
        return self.x + self.w

    @property
    def y2(self) -> int:
        """One past the bottom row."""
        return self.y + self.h

    @property
    def area(self) -> int:
        return self.w * self.h

    def union(self, other: Box) -> Box:
        """The smallest box holding both boxes."""
        x, y = min(self.x, other.x), min(self.y, other.y)
        return Box(x, y, max(self.x2, other.x2) - x, max(self.y2, other.y2) - y)

    def x_overlap(self, other: Box) -> int:
        """How many columns the two boxes share (negative: the gap between them)."""
        return min(self.x2, other.x2) - max(self.x, other.x)

    def shifted(self, dx: int, dy: int) -> Box:
        """This box moved by (dx, dy), e.g. from field to page coordinates."""
        return Box(self.x + dx, self.y + dy, self.w, self.h)

    def to_list(self) -> list[int]:
        """``[x, y, w, h]``, the JSON form."""
        return [self.x, self.y, self.w, self.h]

    @classmethod
    def from_list(cls, values: list[int] | tuple[int, int, int, int]) -> Box:
        x, y, w, h = (int(v) for v in values)
        return cls(x, y, w, h)


def union_of(boxes: Iterable[Box]) -> Box:
    """The smallest box holding all of ``boxes`` (at least one)."""
    return functools.reduce(Box.union, boxes)


@dataclass(frozen=True, slots=True)
class Page:
    """One page of an input file as a grayscale image (dark ink on light paper).

    ``number`` counts from 1 within ``source``; ``image`` has shape (height, width).
    """

    source: str
    number: int
    image: GrayImage = field(repr=False)

    @property
    def width(self) -> int:
        return int(self.image.shape[1])

    @property
    def height(self) -> int:
        return int(self.image.shape[0])


@dataclass(frozen=True, slots=True)
class DigitCandidate:
    """A piece of ink that may be (part of) one digit.

    ``mask`` is the binary crop (ink = 255) of ``box`` in the field's binary image,
    holding only this candidate's ink.
    """

    box: Box
    mask: GrayImage = field(repr=False)


@dataclass(frozen=True, slots=True)
class Field:
    """A region of the page holding one digit string.

    ``kind`` is ``"comb"`` (a row of boxes, one digit per cell; ``cells`` lists the
    cell boxes in page coordinates) or ``"free"`` (a handwritten string). ``ink`` is
    the cleaned binary image of the field (ink = 255, printed lines removed) and
    covers exactly ``box``. ``rules``, if known, is the binary mask of the printed rules
    removed from it (same shape): where a stroke ran along a rule, the removed band is thicker.
    """

    name: str
    kind: str
    box: Box
    ink: GrayImage = field(repr=False)
    cells: tuple[Box, ...] = ()
    rules: GrayImage | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON form without the pixels."""
        return {
            "name": self.name,
            "kind": self.kind,
            "bbox": self.box.to_list(),
            "cells": [c.to_list() for c in self.cells],
        }
