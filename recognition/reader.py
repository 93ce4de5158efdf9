"""Read pages: segmentation proposes, the classifier scores, the best path over the atoms wins.

Three modes (:data:`MODES`): ``digit`` reads the whole image as one digit (any colours),
``line`` reads it as one handwritten digit string, ``page`` finds the comb and free fields
of a scanned form and reads each (free strings that hold no digit, or that look machine
printed, such as titles, are left out). Every candidate crop of an image is classified in
one batched model call. Images are read at the scale the reader is made for (small writing
enlarged, large pages and large line writing reduced) and, in ``page`` mode, turned upright when
read badly as they came. Boxes in the results are the image's own pixels (in ``page`` mode, of
the page turned by ``PageResult.rotation`` and deskewed).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Protocol

import cv2
import numpy as np
from numpy.typing import NDArray

from recognition.combs import CombPlan, decode_comb, judged_comb, plan_comb, worth_judging
from recognition.decoding import (
    LINE_WEIGHT,
    StringPlan,
    decode_string,
    digit_result,
    plan_string,
)
from recognition.model import REJECT
from recognition.normalise import normalise_mask
from recognition.printed import printed_ends, printed_texts
from recognition.results import (
    LINE_NETWORK_DOUBT,
    LOW_CONFIDENCE,
    NO_DIGIT,
    FieldResult,
    PageResult,
    Separator,
    all_reasons,
    reasons,
)
from segmentation.cleanup import rotate, tight_box
from segmentation.cleanup import turn as turn_page
from segmentation.elements import Box, Field, GrayImage, Page
from segmentation.errors import InvalidInput
from segmentation.fields import (
    PageParams,
    PreparedPage,
    digit_field,
    find_fields,
    line_content,
    line_field,
    line_ink,
    line_pieces,
    line_skew,
    painted_over,
    prepare_page,
    without_printed_row,
    writing_height,
)
from segmentation.strings import StringParams, raised_tail

MODES = ("page", "line", "digit")
# A line image whose writing (Otsu's ink rows) is under SMALL_WRITING_PX high, or which is under
# SMALL_LINE_PX high, is read enlarged (cubic) so the writing is LINE_WRITING_PX high, at most
# MAX_LINE_UPSCALE times: see _line_scale. Held-out hard lines (300) shrunk to 80 / 60 / 40 / 30 px:
# 0.803 / 0.830 / 0.717 / 0.403 read as they are, 0.803 / 0.843 / 0.827 / 0.783 so; with 56 / 72 px
# instead of 40 / 60: 0.820 / 0.850 / 0.823 / 0.763 but 1 of 900 full-size hard lines less (the
# 40 / 60 rule leaves those alone). Session 16: writing from 40 to 60 px high (a cheque scanned at
# about 200 dpi) was read as it is, and read worse than smaller writing enlarged to 60: 600
# held-out hard lines (seed 1) shrunk to 0.5 / 0.6 of their size 74.8% / 72.8% exact, 0.4 (all
# enlarged) 81.3% on 300; enlarged to 60 from under 60 (SMALL_WRITING_PX 40 -> 60): 77.0% / 76.2%
# (digits 87.8% -> 87.8%, 83.8% -> 84.8%), cents at 0.6 72.0% -> 74.8%, check and simple lines at
# 0.6 the same; at full size (300 each) hard, simple and cents lines the same, check 84.0% ->
# 84.3% by their digits. Enlarging to 72 or 80 px instead read 0.4 lines 3-7 points worse and
# full-size ones about 1 point worse (docs/reading-history.md, session 16).
SMALL_WRITING_PX = 60
SMALL_LINE_PX = 56
LINE_WRITING_PX = 60
MAX_LINE_UPSCALE = 4.0
# Writing over LARGE_WRITING_PX high (a fine scan: 600 dpi) is read reduced (pixel area) so that it is
# LARGE_LINE_WRITING_PX high, about what the synthetic lines hold (Otsu's ink rows: 57-120 px, median
# 80). 100 held-out hard lines enlarged (cubic) 3x / 4x: 74% / 74% -> 79% / 78% exact (84% at
# full size), 73 / 132 -> 33 / 39 ms a line; enlarged 2x, 80% either way, 51 -> 31 ms. Reduced to
# 80 px from over 130 px, the same within a line or two.
LARGE_WRITING_PX = 130
LARGE_LINE_WRITING_PX = 100
# A page whose handwriting (segmentation.fields.writing_height) is under SMALL_PAGE_WRITING_PX
# high is read enlarged (cubic) so that it is PAGE_WRITING_PX high, as on the synthetic forms at
# the reference scale (150 dpi, 39-51 px), at most MAX_PAGE_UPSCALE times and to at most
# MAX_READ_PAGE_PIXELS (an A4 page at 300 dpi, what the memory budget is measured on): see
# _page_upscale. 100 held-out forms shrunk from 150 dpi to 120 / 100 dpi read 93.0% / 88.1% of
# their fields as they are, 94.6% / 94.0% so (95.6% at 150 dpi; bench_forms.py --shrink);
# drawn at 100 / 80 dpi, 88.5% / 80.8% -> 93.1% / 91.9%. Not kept: under 36 px (120 dpi: 93.8%),
# to 44 or 52 px (100 dpi drawn: 92.7% / 93.3%, digits 98.6% / 98.5% against 98.6%); forms at
# 150 dpi enlarged to 56 or 60 px read worse (94.8% / 94.2%).
SMALL_PAGE_WRITING_PX = 40.0
PAGE_WRITING_PX = 48.0
MAX_PAGE_UPSCALE = 2.0
# A page over MAX_READ_PAGE_PIXELS (a 600 dpi scan) is read reduced to it: an A4 page at 600 dpi
# read whole peaked at 579 MiB RSS (608 MB), over the 500 MB budget.
MAX_READ_PAGE_PIXELS = 2480 * 3508
# Page mode: a page whose reading scores under TURN_BELOW (_reading_score: the mean log-confidence
# of its digits less the share of its fields flagged at a review threshold of TURN_REVIEW) is read
# turned too, by 180 degrees if it has a comb, else by 90, 180 and 270 (clockwise), and the best
# scoring reading is kept. 80 held-out forms read upright scored -1.03 to -0.001 (10 under -0.4),
# turned 90 / 180 / 270 degrees at most -0.005 / -0.405 / -0.004 (mostly under -0.9). Read this
# way, all 240 turned pages were read upright and none of the 80 upright ones turned; under -0.3
# (16 upright pages read twice) the same, under -0.5 one turned page was left as it was.
TURN_BELOW = -0.4
TURN_REVIEW = 0.9
# ... and the reading upside down is kept only when it scores at least TURN_MARGIN above the
# upright one: upside down, handwritten digits still read as digits (6 and 9, 0, 1, 8), and one
# upright page of 200 held-out forms (seed 2028) scored -0.395 upright and -0.368 turned, a
# network change away from being read upside down (with the second digit network fine-tuned on
# field samples, it was). Turned minus upright, that seed's upright pages scored at most +0.027
# (the next -0.39); 100 of them fed upside down at least +0.39. A digit on its side reads as no
# digit, so the sideways readings need no margin: with it on them too, 2 of those 100 forms fed
# turned 270 degrees were left sideways (none at 90; all turned back without it).
TURN_MARGIN = 0.2
# The turned readings are tried on the page reduced to at most this many pixels (an A4 page at 150
# dpi); the upright reading's score, at full size, is what they must beat.
TURN_TRIAL_PIXELS = 1240 * 1754
# Machine print (see looks_printed): this many digits at least, heights within this share of
# their median, tops spread (standard deviation) at most this share of it.
PRINTED_MIN_DIGITS = 4
PRINTED_HEIGHT_RANGE = 0.1
PRINTED_TOP_SPREAD = 0.015
# ... or than half a pixel, whichever is more: small print rounds its tops to two adjacent
# rows (round glyphs overshoot by a pixel).
PRINTED_TOP_SPREAD_PX = 0.5
# ... for at least this share of them (the digits of the common height).
PRINTED_COMMON_SHARE = 0.8


class ProbabilityModel(Protocol):
    """What the reader needs of a classifier: calibrated (N, 11) probabilities of (N, 28, 28) images."""

    def probabilities(self, images: NDArray[np.float32]) -> NDArray[np.float32]: ...


class LineModel(Protocol):
    """What the reader needs of a line network: (T, 14) log-probabilities of a field's ink, or None."""

    def log_probs(self, ink: GrayImage) -> NDArray[np.float32] | None: ...


@dataclass(frozen=True, slots=True)
class ReadParams:
    """Reader tuning; ``review_threshold``: a digit below this confidence marks its field ``needs_review``.

    ``string``: over-segmentation of free fields. ``min_margin``: a string whose best reading
    beats the best reading with another text by fewer nats than this is marked
    ``needs_review``. At 1.0 (e times as likely) the shipped model flagged 13% of 200 simple
    MNIST lines catching 8 of 9 misreads, and 70% of hard synthetic lines catching 98 of
    110; at log 4 it flagged 62% of the simple lines, as splitting a digit at a cut costs
    about one nat (``decoding.CUT_PENALTY``). ``mark_margin``: the same for the best reading
    with the same digits and other separators. A missed decimal point is a wrong amount, and
    such errors went unflagged: of 900 held-out hard lines, 32 of the 53 misread with only a
    separator wrong. At 0.5 nats, 13 stay unflagged, for 49% of the hard lines flagged
    instead of 41%, 14.1% of simple lines instead of 13.4%, and 17.3% of right form fields
    instead of 14.6%; at 1.0, 12 stay unflagged for 54%, 16.8% and 19.4%.
    """

    review_threshold: float = 0.90
    max_atoms_per_digit: int = 4
    # Offer runs of touching digits to the model's pair and triple networks (recognition.pairs), if it has them.
    pairs: bool = True
    page: PageParams = field(default_factory=PageParams)
    min_margin: float = 1.0
    mark_margin: float = 0.5
    string: StringParams = field(default_factory=StringParams)
    # Judge free strings' and combs' readings by the model's line network too (recognition.sequence), if it has one.
    lines: bool = True
    line_weight: float = LINE_WEIGHT
    # Line mode: paint over printed letters and signs at the line's ends, if the model has the network for them.
    printed_ends: bool = True
    # Page mode: leave out free fields that are printed text to that network (a title read as a string).
    printed_text: bool = True
    # Page mode: a page read badly is read turned too (a sheet fed upside down or sideways): see TURN_BELOW.
    turn_pages: bool = True
    # Read raised writing ending a free string (cents) as a string of its own, joined on: see read_string.
    raised: bool = True


def _pair_model(model: ProbabilityModel, params: ReadParams, kind: str = "free") -> ProbabilityModel | None:
    """The model's pair network for ``kind`` fields, (M, 28, 56) -> (M, 21), if it has one and pairs are on.

    ``model.pairs`` reads free strings, ``model.comb_pairs`` comb fields; ``kind`` "triple" is
    ``model.triples``, the triple network of free strings, (K, 28, 84) -> (K, 31).
    """
    if not params.pairs:
        return None
    return getattr(model, {"comb": "comb_pairs", "triple": "triples"}.get(kind, "pairs"), None)


def read_image(
    model: ProbabilityModel, gray: GrayImage, mode: str, params: ReadParams = ReadParams(), *, page_number: int = 1
) -> PageResult:
    """Read one grayscale image (dark ink on light paper, or any colours in ``digit`` mode) in ``mode``.

    ``gray`` is 2-D uint8; in ``digit`` mode ink and background may be any two gray levels.
    Raises ``InvalidInput`` for an unknown mode or an unusable image.
    """
    if mode not in MODES:
        raise InvalidInput(f"unknown mode {mode!r}; expected one of {', '.join(MODES)}")
    height, width = int(gray.shape[0]), int(gray.shape[1])
    fields: tuple[FieldResult, ...]
    skew_deg, rotation = 0.0, 0
    if mode == "digit":
        fields = (read_digit(model, digit_field(gray), params),)
    elif mode == "line":
        field, skew_deg = _read_line(model, gray, params)
        fields = (field,)
    else:
        fields, skew_deg = _read_fields_of_page(model, gray, params)
        score = _reading_score(fields) if params.turn_pages else None
        if score is not None and score < TURN_BELOW:
            # Read so badly that the sheet may have been fed turned: its other ways up compete.
            # Combs are only found upright or upside down, so with one the page is not sideways.
            # The turned readings compete at most at the reference scale (a 300 dpi page at 150 dpi,
            # a quarter of the work); the winner, if any, is read again at full size.
            factor = min(1.0, math.sqrt(TURN_TRIAL_PIXELS / gray.size))
            trial = gray if factor == 1.0 else _resized(gray, factor)
            turns = (180,) if any(f.kind == "comb" for f in fields) else (90, 180, 270)
            best = score
            for quarter in turns:
                turned_score = _reading_score(_read_fields_of_page(model, turn_page(trial, quarter), params)[0])
                needed = max(best, score + (TURN_MARGIN if quarter == 180 else 0.0))
                if turned_score is not None and turned_score > needed:
                    best, rotation = turned_score, quarter
            if rotation:
                fields, skew_deg = _read_fields_of_page(model, turn_page(gray, rotation), params)
    return PageResult(page=page_number, width=width, height=height, fields=fields, skew_deg=skew_deg, rotation=rotation)


def _read_line(model: ProbabilityModel, gray: GrayImage, params: ReadParams) -> tuple[FieldResult, float]:
    """A ``line`` image read, and the skew undone; boxes in ``gray``'s pixels deskewed about its centre.

    A row of printed text right above or below the writing (a label the crop caught) is painted
    over first (:func:`without_printed_row`). The image is cut to its writing when that fills
    little of it (:func:`line_content`), measured for skew and turned level (:func:`line_skew`),
    scaled when its writing is small or large (:func:`_line_scale`); printed letters and signs at
    the line's ends (a currency printed before the amount) are painted over at that scale
    (:func:`_without_printed_ends`), and it is read. It is binarised once for all that when it
    needs no cut, turn or scaling.
    """
    ink = line_ink(gray, params.page)
    gray, ink = without_printed_row(gray, ink, params.page)
    content = line_content(ink, params.page)
    whole = (gray.shape[1], gray.shape[0])
    if content is not None:
        gray = np.ascontiguousarray(gray[content.y : content.y2, content.x : content.x2])
        ink = line_ink(gray, params.page)
    skew_deg = line_skew(ink, params.page)
    if skew_deg:
        gray = rotate(gray, -skew_deg)
    scale = _line_scale(gray)
    image = gray if scale == 1.0 else _resized(gray, scale)
    as_read = ink if scale == 1.0 and not skew_deg else None
    image, as_read = _without_printed_ends(model, image, as_read, params)
    field = read_string(model, line_field(image, params.page, ink=as_read), params, line_mode=True)
    if scale != 1.0:
        field = _unscaled(field, scale)
    if content is not None:
        dx, dy = _content_shift(content, whole, skew_deg)
        field = _moved(field, lambda box: box.shifted(dx, dy))
    return field, skew_deg


def _without_printed_ends(
    model: ProbabilityModel, gray: GrayImage, ink: GrayImage | None, params: ReadParams
) -> tuple[GrayImage, GrayImage | None]:
    """A ``line`` image, at the scale it is read at, and its ink (:func:`line_ink`, made here if None)
    without the printed letters and signs at either end (a currency printed before the amount, ``R$``,
    ``U$S``, that the crop caught), painted over with the paper around them: the pieces
    (:func:`line_pieces`) the model's printed-letter network calls printed, and signs between them
    (:func:`recognition.printed.printed_ends`). As they are (``ink`` None still) without that network.

    At the writing's own scale, held-out hard lines shrunk to 30 px lost 10 of 300 to it (their
    pieces too coarse for the network); at the reader's, none."""
    network = getattr(model, "printed", None)
    if network is None or not params.printed_ends:
        return gray, ink
    if ink is None:
        ink = line_ink(gray, params.page)
    pieces = line_pieces(ink, params.page)
    chosen = printed_ends(network, pieces, digits=model)
    if not chosen:
        return gray, ink
    printed = np.zeros_like(ink)
    for k in chosen:
        box = pieces.boxes[k]
        printed[box.y : box.y2, box.x : box.x2] |= pieces[k]
    return painted_over(gray, ink, printed)


def _content_shift(content: Box, whole: tuple[int, int], skew_deg: float) -> tuple[int, int]:
    """How far a box read on ``content`` cut out of an image of size ``whole`` (width, height),
    both deskewed about their own centres by ``skew_deg``, lies from where it lies in the whole
    image deskewed: the same turn, so a shift (the crop's offset turned, and the centres' moves)."""
    if not skew_deg:
        return content.x, content.y
    whole_turn = cv2.getRotationMatrix2D((whole[0] / 2.0, whole[1] / 2.0), -skew_deg, 1.0)
    crop_turn = cv2.getRotationMatrix2D((content.w / 2.0, content.h / 2.0), -skew_deg, 1.0)
    shift = whole_turn[:, 2] - crop_turn[:, 2] + whole_turn[:, :2] @ np.array([content.x, content.y], np.float64)
    return round(float(shift[0])), round(float(shift[1]))


def _read_fields_of_page(
    model: ProbabilityModel, gray: GrayImage, params: ReadParams
) -> tuple[tuple[FieldResult, ...], float]:
    """The handwritten fields of a page and the skew undone, read at the scale the reader is made for.

    A page over ``MAX_READ_PAGE_PIXELS`` is read reduced to it, one with small writing enlarged
    (:func:`_page_upscale`); boxes come back in ``gray``'s pixels.
    """
    scale = min(1.0, math.sqrt(MAX_READ_PAGE_PIXELS / gray.size))
    prepared = prepare_page(gray if scale == 1.0 else _resized(gray, scale), params.page)
    if scale == 1.0:
        scale = _page_upscale(gray, prepared)
        if scale != 1.0:
            del prepared  # one prepared page at a time: peak memory is the budget
            prepared = prepare_page(_resized(gray, scale), params.page)
    found = _without_printed_text(model, find_fields(prepared, params.page), params)
    fields = digit_fields(read_fields(model, found, params))
    if scale != 1.0:
        fields = tuple(_unscaled(f, scale) for f in fields)
    return fields, prepared.skew_deg


def _without_printed_text(model: ProbabilityModel, fields: list[Field], params: ReadParams) -> list[Field]:
    """A page's fields without the free ones that are printed text (a form's title or a label found as
    a string: :func:`recognition.printed.printed_texts`), if the model has the printed-letter network."""
    network = getattr(model, "printed", None)
    if network is None or not params.printed_text:
        return fields
    free = [k for k, f in enumerate(fields) if f.kind == "free"]
    pieces = [line_pieces(fields[k].ink, params.page, rules=False) for k in free]
    dropped = {k for k, printed in zip(free, printed_texts(network, pieces), strict=True) if printed}
    return [f for k, f in enumerate(fields) if k not in dropped]


def _reading_score(fields: tuple[FieldResult, ...]) -> float | None:
    """How well a page was read: the mean log-confidence of its digits less the share of its fields
    flagged (:func:`_flagged_for_turn`, or a digit under ``TURN_REVIEW``); None for a page without fields."""
    if not fields:
        return None
    confidences = [d.confidence for f in fields for d in f.digits]
    mean_log = float(np.mean(np.log(np.maximum(confidences, 1e-6)))) if confidences else 0.0
    flagged = sum(_flagged_for_turn(f) or any(d.confidence < TURN_REVIEW for d in f.digits) for f in fields)
    return mean_log - flagged / len(fields)


def _flagged_for_turn(field: FieldResult) -> bool:
    """Whether ``field``'s flag counts against its page's reading (:func:`_reading_score`): a comb
    flagged only as the line network nearly read it otherwise does not. Upright, that is a doubt
    about a digit; counted, it turned one held-out page of 200 upside down (seed 2028, session 21)."""
    return field.needs_review and set(field.review) != {LINE_NETWORK_DOUBT}


def _line_scale(gray: GrayImage) -> float:
    """How much to scale a ``line`` image before reading it: above 1 for small writing, below 1 for
    large writing (``LARGE_WRITING_PX``), 1.0 to read it as it is.

    The cleanup's kernels and size limits are in pixels, made for writing some 25-80 px high:
    printed digits 13 px high read as 102361, 9 px high as no ink at all. The writing's height is
    taken from the rows holding Otsu's ink; an image shorter than ``SMALL_LINE_PX`` holds nothing
    taller, whatever Otsu makes of its background.
    """
    height = gray.shape[0]
    _, ink = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    rows = np.flatnonzero(np.count_nonzero(ink, axis=1) >= 2)
    writing = min(height, int(rows[-1] - rows[0] + 1)) if rows.size else height
    if writing > LARGE_WRITING_PX:
        return LARGE_LINE_WRITING_PX / writing
    if writing >= SMALL_WRITING_PX and height >= SMALL_LINE_PX:
        return 1.0
    return min(MAX_LINE_UPSCALE, max(1.0, LINE_WRITING_PX / max(1, writing)))


def _page_upscale(gray: GrayImage, prepared: PreparedPage) -> float:
    """How much to enlarge a page whose handwriting is small before reading it (1.0: not at all).

    Writing under ``SMALL_PAGE_WRITING_PX`` high (:func:`segmentation.fields.writing_height`) is
    read enlarged so that it is ``PAGE_WRITING_PX`` high, at most ``MAX_PAGE_UPSCALE`` times and
    to at most ``MAX_READ_PAGE_PIXELS``.
    """
    room = math.sqrt(MAX_READ_PAGE_PIXELS / gray.size)
    if room <= 1.0:
        return 1.0
    writing = writing_height(prepared)
    if writing is None or writing >= SMALL_PAGE_WRITING_PX:
        return 1.0
    return min(MAX_PAGE_UPSCALE, room, PAGE_WRITING_PX / max(1.0, writing))


def _resized(gray: GrayImage, factor: float) -> GrayImage:
    """``gray`` scaled ``factor`` times: enlarged cubic, reduced by pixel area (as a coarser scan would see it)."""
    method = cv2.INTER_CUBIC if factor > 1.0 else cv2.INTER_AREA
    return np.asarray(cv2.resize(gray, None, fx=factor, fy=factor, interpolation=method), np.uint8)


def _scaled(box: Box, factor: float) -> Box:
    return Box(
        round(box.x / factor), round(box.y / factor), max(1, round(box.w / factor)), max(1, round(box.h / factor))
    )


def _unscaled(field: FieldResult, factor: float) -> FieldResult:
    """``field`` read on an image enlarged ``factor`` times, its boxes back in the original image's pixels."""
    return _moved(field, lambda box: _scaled(box, factor))


def _moved(field: FieldResult, move: Callable[[Box], Box]) -> FieldResult:
    """``field`` with ``move`` applied to its box and to every digit's and separator's box."""
    return replace(
        field,
        box=move(field.box),
        digits=tuple(replace(d, box=move(d.box)) for d in field.digits),
        separators=tuple(replace(s, box=move(s.box)) for s in field.separators),
    )


def digit_fields(fields: tuple[FieldResult, ...]) -> tuple[FieldResult, ...]:
    """The handwritten fields of a page, renamed ``field-1``... in reading order.

    A free string read as no digit at all is printed text (a title, a label) or a stray
    mark, not a field: it is left out, and so is one that :func:`looks_printed`. Comb fields
    are kept even when empty.
    """
    kept = [f for f in fields if f.kind != "free" or (f.text and not looks_printed(f))]
    return tuple(replace(f, name=f"field-{number}") for number, f in enumerate(kept, start=1))


def looks_printed(string: FieldResult) -> bool:
    """Whether a string read as digits is machine print (a form's printed title read as digits, say).

    Printed capitals and digits share one height and one top line to a pixel; handwritten
    digits do not. Needs at least ``PRINTED_MIN_DIGITS`` digits, their heights within half of
    ``PRINTED_HEIGHT_RANGE`` of the median height either way and the standard deviation of their tops
    at most ``PRINTED_TOP_SPREAD`` of it or ``PRINTED_TOP_SPREAD_PX``, whichever is more. On
    100 synthetic forms no handwritten string came closer than 0.017 of its height; on 200,
    printed titles read as fields fell from 201 to 6 with no field read right lost. The rule
    holds for the digits of the common height, at least ``PRINTED_COMMON_SHARE`` of them: with
    the pair network, titles read as digits with one short glyph among them came back as 11
    fields on the 200 forms, 3 with this (none read right lost).
    """
    if len(string.digits) < PRINTED_MIN_DIGITS:
        return False
    heights = np.array([d.box.h for d in string.digits], dtype=np.float64)
    tops = np.array([d.box.y for d in string.digits], dtype=np.float64)
    height = float(np.median(heights))
    # Printed text read as digits has a stray short glyph now and then (a lower-case letter,
    # a piece of one): the rule holds for the digits of the common height.
    common = np.abs(heights - height) < PRINTED_HEIGHT_RANGE / 2 * height
    if common.sum() < max(PRINTED_MIN_DIGITS, PRINTED_COMMON_SHARE * len(heights)):
        return False
    spread = max(PRINTED_TOP_SPREAD * height, PRINTED_TOP_SPREAD_PX)
    return bool(tops[common].std() <= spread)


def read_page(model: ProbabilityModel, page: Page, mode: str, params: ReadParams = ReadParams()) -> PageResult:
    """Read a loaded :class:`Page`; the result carries its page number."""
    return read_image(model, page.image, mode, params, page_number=page.number)


def read_digit(model: ProbabilityModel, digit: Field, params: ReadParams = ReadParams()) -> FieldResult:
    """Read a field holding one digit (``digit`` mode): at most one digit, never a separator.

    A blank field or a not-a-digit verdict gives an empty text marked ``needs_review``.
    """
    tight = tight_box(digit.ink)
    empty = FieldResult(digit.name, digit.box, "", 1.0, True, (), kind="digit", review=(NO_DIGIT,))
    if tight is None:
        return empty
    box = Box(*tight)
    try:
        image = normalise_mask(digit.ink[box.y : box.y2, box.x : box.x2])
    except InvalidInput:
        return empty
    p = model.probabilities(image[np.newaxis])[0]
    best = int(np.argmax(p))
    if best == REJECT:
        return empty
    result = digit_result(best, p, box.shifted(digit.box.x, digit.box.y))
    review = reasons((LOW_CONFIDENCE, result.confidence < params.review_threshold))
    return FieldResult(
        name=digit.name,
        box=digit.box,
        text=str(best),
        confidence=result.confidence,
        needs_review=bool(review),
        digits=(result,),
        kind="digit",
        review=review,
    )


def read_string(
    model: ProbabilityModel, string: Field, params: ReadParams = ReadParams(), *, line_mode: bool = False
) -> FieldResult:
    """Read a free field (binary ink = 255 covering ``string.box``) as a digit string.

    Raised writing at its end (cents written small and high) is read as a string of its own and
    joined on (:func:`split_raised`, :func:`join_raised`). ``line_mode``: the field is a ``line``
    image, judged by the model's line network of line mode if it has one (:func:`_line_model`).
    """
    parts = _parts(string, params)
    line_model = _line_model(model, params, line_mode=line_mode)
    return _joined(model, string, [_read_string(model, part, params, line_model) for part in parts], params, line_model)


def _parts(field: Field, params: ReadParams) -> tuple[Field, ...]:
    """What of ``field`` is read as a string of its own: the field, or a free field's main writing
    and the raised writing ending it (:func:`split_raised`)."""
    split = split_raised(field) if field.kind == "free" and params.raised else None
    return split or (field,)


def _joined(
    model: ProbabilityModel,
    field: Field,
    reads: list[FieldResult],
    params: ReadParams,
    line_model: LineModel | None,
) -> FieldResult:
    """``field``'s reading from the readings of its :func:`_parts`; raised writing that reads no digit
    was no cents, and the field is read whole."""
    if len(reads) == 1:
        return reads[0]
    main, tail = reads
    return join_raised(field, main, tail) if tail.text else _read_string(model, field, params, line_model)


def split_raised(string: Field) -> tuple[Field, Field] | None:
    """A free field split into its main writing and the raised writing ending it, each cropped to
    its ink (:func:`segmentation.strings.raised_tail`), or None when it ends in none."""
    split = raised_tail(string.ink)
    if split is None:
        return None
    parts = []
    for ink in split:
        found = tight_box(ink)
        if found is None:
            return None
        x, y, w, h = found
        box = Box(string.box.x + x, string.box.y + y, w, h)
        parts.append(replace(string, box=box, ink=np.ascontiguousarray(ink[y : y + h, x : x + w]), rules=None))
    return parts[0], parts[1]


def join_raised(string: Field, main: FieldResult, tail: FieldResult) -> FieldResult:
    """One field of ``string`` read as ``main`` followed by the raised ``tail``: a separator of kind
    ``raised`` marks where the raised digits begin (an amount's cents: 125 and a raised 50 is 125.50)."""
    position = len(main.digits)
    shifted = tuple(replace(s, position=s.position + position) for s in tail.separators)
    return replace(
        main,
        box=string.box,
        text=main.text + tail.text,
        confidence=main.confidence * tail.confidence,
        needs_review=main.needs_review or tail.needs_review,
        review=all_reasons(main.review, tail.review),
        digits=main.digits + tail.digits,
        separators=(*main.separators, Separator(position, "raised", tail.box), *shifted),
    )


def _read_string(
    model: ProbabilityModel, string: Field, params: ReadParams, line_model: LineModel | None
) -> FieldResult:
    """Read a free field as one digit string, judged by ``line_model`` if any; one model call."""
    plan, pair_p, triple_p = _plan_free(
        string, params, _pair_model(model, params), _pair_model(model, params, "triple")
    )
    line_p = _line_log_probs(line_model, string)
    return _decode(plan, _probabilities(model, plan.images), string, params, pair_p, triple_p, line_p)


def _plan_free(
    string: Field, params: ReadParams, pair_model: ProbabilityModel | None, triple_model: ProbabilityModel | None
) -> tuple[StringPlan, NDArray[np.float32] | None, NDArray[np.float32] | None]:
    """A free field's plan, with its pair and triple candidates read by those networks at once.

    The plan keeps its digit images for the one batched digit-model call but lets the pair and
    triple images go: a page dense with handwriting has thousands of them.
    """
    plan = plan_string(
        string.ink,
        params.max_atoms_per_digit,
        params.string,
        pairs=pair_model is not None,
        triples=triple_model is not None,
    )
    pair_p = _pair_probabilities(pair_model, plan.pair_images)
    triple_p = _pair_probabilities(triple_model, plan.triple_images)
    plan = replace(plan, pair_images=plan.pair_images[:0].copy(), triple_images=plan.triple_images[:0].copy())
    return plan, pair_p, triple_p


def _line_model(model: ProbabilityModel, params: ReadParams, *, line_mode: bool = False) -> LineModel | None:
    """The model's line network (``model.lines``, :mod:`recognition.sequence`), if it has one and ``params.lines``;
    for ``line_mode``, its line network of line mode (``model.line_mode_lines``) when it has that one."""
    if not params.lines:
        return None
    special = getattr(model, "line_mode_lines", None) if line_mode else None
    return special if special is not None else getattr(model, "lines", None)


def _line_log_probs(line_model: LineModel | None, string: Field) -> NDArray[np.float32] | None:
    """The line network's (T, 14) log-probabilities of a field's ink (free or comb), or None (no network, a line too wide)."""
    return None if line_model is None else line_model.log_probs(string.ink)


def _probabilities(model: ProbabilityModel, images: NDArray[np.float32]) -> NDArray[np.float32]:
    """The model's (N, 11) probabilities; no call at all for an empty batch."""
    return model.probabilities(images) if len(images) else np.zeros((0, 11), np.float32)


def _pair_probabilities(pair_model: ProbabilityModel | None, images: NDArray[np.float32]) -> NDArray[np.float32] | None:
    """The pair network's (M, 21) probabilities of (M, 28, 56) images (a triple network's: (K, 31)
    of (K, 28, 84)), or None without such a network; no call for no candidate."""
    if pair_model is None:
        return None
    digits = images.shape[2] // images.shape[1]  # the frame is one 28-px square per digit
    return pair_model.probabilities(images) if len(images) else np.zeros((0, 1 + 10 * digits), np.float32)


def _decode(
    plan: StringPlan,
    probabilities: NDArray[np.float32],
    string: Field,
    params: ReadParams,
    pair_probabilities: NDArray[np.float32] | None = None,
    triple_probabilities: NDArray[np.float32] | None = None,
    line_log_probs: NDArray[np.float32] | None = None,
) -> FieldResult:
    return decode_string(
        plan,
        probabilities,
        name=string.name,
        offset=string.box,
        review_threshold=params.review_threshold,
        min_margin=params.min_margin,
        mark_margin=params.mark_margin,
        pair_probabilities=pair_probabilities,
        triple_probabilities=triple_probabilities,
        line_log_probs=line_log_probs,
        line_weight=params.line_weight,
    )


def read_fields(
    model: ProbabilityModel, fields: list[Field], params: ReadParams = ReadParams()
) -> tuple[FieldResult, ...]:
    """Read comb and free fields of one page with a single batched model call, in the given order.

    The pair and triple networks, if any, read each field's candidates as the field is planned
    (free strings: ``model.pairs`` and ``model.triples``, combs: ``model.comb_pairs``), and
    their images are let go at once: a page dense with handwriting has thousands of them.
    The line network, if any, judges each free string's readings and each comb's that it is
    worth judging (:func:`recognition.combs.judged_comb`, :func:`recognition.combs.worth_judging`).
    """
    wholes, parts = fields, [_parts(f, params) for f in fields]
    fields = [part for group in parts for part in group]
    pair_model, comb_pair_model = _pair_model(model, params), _pair_model(model, params, "comb")
    triple_model = _pair_model(model, params, "triple")
    line_model = _line_model(model, params)
    plans: list[StringPlan | CombPlan] = []
    pair_rows: list[NDArray[np.float32] | None] = []
    triple_rows: list[NDArray[np.float32] | None] = []
    for f in fields:
        if f.kind == "comb":
            comb = plan_comb(f, pairs=comb_pair_model is not None)
            pair_rows.append(_pair_probabilities(comb_pair_model, comb.pair_images))
            triple_rows.append(None)
            plans.append(replace(comb, pair_images=comb.pair_images[:0].copy()))
            continue
        string, pair_p, triple_p = _plan_free(f, params, pair_model, triple_model)
        plans.append(string)
        pair_rows.append(pair_p)
        triple_rows.append(triple_p)
    sizes = [p.images.shape[0] for p in plans]
    images = np.concatenate([p.images for p in plans]) if plans else np.zeros((0, 28, 28), np.float32)
    probabilities = _probabilities(model, images)
    results: list[FieldResult] = []
    start = 0
    for f, plan, size, pair_p, triple_p in zip(fields, plans, sizes, pair_rows, triple_rows, strict=True):
        rows = probabilities[start : start + size]
        start += size
        if isinstance(plan, CombPlan):
            read = decode_comb(f, plan, rows, params.review_threshold, pair_p)
            results.append(
                judged_comb(read, _line_log_probs(line_model, f), params.line_weight) if worth_judging(read) else read
            )
        else:
            results.append(_decode(plan, rows, f, params, pair_p, triple_p, _line_log_probs(line_model, f)))
    ends = np.cumsum([len(group) for group in parts])
    return tuple(
        _joined(model, whole, results[end - len(group) : end], params, line_model)
        for whole, group, end in zip(wholes, parts, ends, strict=True)
    )
