"""Read pages: segmentation proposes, the classifier scores, the best path over the atoms wins.

Interface stub (issue #3): signatures are fixed; bodies come with the reader work.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from recognition.results import PageResult
from segmentation.elements import GrayImage, Page
from segmentation.fields import PageParams

MODES = ("page", "line", "digit")


class ProbabilityModel(Protocol):
    """What the reader needs of a classifier: calibrated (N, 11) probabilities of (N, 28, 28) images."""

    def probabilities(self, images: NDArray[np.float32]) -> NDArray[np.float32]: ...


@dataclass(frozen=True, slots=True)
class ReadParams:
    """Reader tuning; ``review_threshold``: a digit below this confidence marks its field ``needs_review``."""

    review_threshold: float = 0.90
    max_atoms_per_digit: int = 4
    page: PageParams = field(default_factory=PageParams)


def read_image(
    model: ProbabilityModel, gray: GrayImage, mode: str, params: ReadParams = ReadParams(), *, page_number: int = 1
) -> PageResult:
    """Read one grayscale image (dark ink on light paper, or any colours in ``digit`` mode) in ``mode``."""
    raise NotImplementedError


def read_page(model: ProbabilityModel, page: Page, mode: str, params: ReadParams = ReadParams()) -> PageResult:
    """Read a loaded :class:`Page`; the result carries its page number."""
    return read_image(model, page.image, mode, params, page_number=page.number)
