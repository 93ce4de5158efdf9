"""Find the fields of a page: comb fields (a row of boxes) and free digit strings, in reading order.

Interface stub (issue #3): signatures are fixed; bodies come with the page segmentation work.
"""

from __future__ import annotations

from dataclasses import dataclass

from segmentation.elements import Field, GrayImage


@dataclass(frozen=True, slots=True)
class PageParams:
    """Tuning of page preparation and field finding."""

    max_skew_deg: float = 10.0


@dataclass(frozen=True, slots=True)
class PreparedPage:
    """A page ready for field finding; every image has the input's shape.

    ``gray``: deskewed grayscale (dark ink on light paper). ``ink``: binary (ink = 255),
    printed lines removed and strokes that crossed them repaired. ``rules``: binary mask of
    the removed printed lines and boxes. ``skew_deg``: the rotation that was undone.
    All boxes found later are in the deskewed page's coordinates.
    """

    gray: GrayImage
    ink: GrayImage
    rules: GrayImage
    skew_deg: float


def prepare_page(gray: GrayImage, params: PageParams = PageParams()) -> PreparedPage:
    """Flatten illumination, binarise, despeckle, deskew and remove printed structure."""
    raise NotImplementedError


def find_fields(prepared: PreparedPage, params: PageParams = PageParams()) -> list[Field]:
    """Comb and free fields in reading order, named ``field-1``, ``field-2``, ..."""
    raise NotImplementedError


def line_field(gray: GrayImage, params: PageParams = PageParams()) -> Field:
    """The whole image as one free digit string (``line`` mode); guide lines and background removed."""
    raise NotImplementedError


def digit_field(gray: GrayImage) -> Field:
    """The whole image as one digit (``digit`` mode): any ink/background colour pair, e.g. light ink on dark."""
    raise NotImplementedError
