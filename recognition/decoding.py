"""Read a digit string: group atoms into candidate digits, score them, keep the best path.

Segmentation over-cuts a string into atoms (:mod:`segmentation.strings`); every run of
1..k consecutive atoms is a candidate digit. All candidates of a string (or of a page) are
normalised and classified in one batch, then a k-best dynamic programme over the atom
positions picks the path maximising the sum of log probabilities plus small geometric
priors. A candidate judged not-a-digit becomes a separator whose kind (point, comma, dash,
slash, other) is read from its shape and position. No torch here: the probabilities come in.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from operator import itemgetter

import numpy as np
from numpy.typing import NDArray

from recognition.atomruns import AtomRuns
from recognition.ctc import digits_only, greedy_text, sequence_log_likelihoods, steps_of_columns
from recognition.model import REJECT
from recognition.normalise import PAIR_SHAPE, TRIPLE_SHAPE, normalise_mask, normalise_pair, normalise_triple
from recognition.pairs import PAIR, digit_head, digit_of_pair
from recognition.results import (
    CLOSE_MARKS,
    CLOSE_READING,
    LINE_NETWORK,
    LOW_CONFIDENCE,
    UNKNOWN_INK,
    DigitResult,
    FieldResult,
    Separator,
    reasons,
)
from segmentation.elements import Box, DigitCandidate, GrayImage, union_of
from segmentation.errors import InvalidInput
from segmentation.strings import StringParams, StringSegmentation, segment_string

TOP_K = 3
# Paths kept per atom position; enough for the runner-up with another text.
BEAM = 8
# Floor of a probability before its log (the calibrated model never says exactly 0).
P_FLOOR = 1e-6
# Candidates wider than this share of the string height are never one digit.
MAX_WIDTH_SHARE = 1.3
# ... unless the middle of their ink (all but CORE_TRIM of it at either side) is at most
# CORE_WIDTH_SHARE of the height wide and the whole at most FLOURISH_WIDTH_SHARE: a 5 with a
# long top bar or a 2 with a loop at its foot is one digit. Measured against 1.3 alone: free
# strings of 100 forms 175 -> 178 of 201, of 60 forms at 300 dpi 99 -> 102 of 121, hard lines
# 0.527 -> 0.54 of 300, simple lines unchanged (0.937); core share 1.0 gained nothing.
FLOURISH_WIDTH_SHARE = 1.7
CORE_WIDTH_SHARE = 1.2
CORE_TRIM = 0.1
# Atoms of one digit are never further apart than this share of the height, and joining
# atoms across a gap costs JOIN_GAP_PENALTY nats per string height of empty columns (a comma
# 4 px right of an 8 read as part of it, at 27 px height, cost 1.2 nats; slices of a cut
# piece have no gap).
MAX_GAP_SHARE = 0.35
JOIN_GAP_PENALTY = 12.0
# Digit prior: a digit covers most of the string's band (handwritten digits of one string
# vary by about +-25% in height) and is not much wider than high.
MIN_COVER = 0.6
COVER_PENALTY = 20.0
WIDE_SHARE = 1.1
WIDE_PENALTY = 4.0
# Separator prior: ink that is no punctuation by its shape (kind "other") and of digit size
# is more likely a badly written digit or a wrong grouping; it pays this many nats
# (a smaller mark pays SMALL_REJECT_PENALTY).
BIG_REJECT_PENALTY = 3.0
SMALL_REJECT_PENALTY = 0.5
# ... except ink that begins or ends the string set apart from the rest by at least
# SIGN_GAP_SHARE of the height of empty columns: before or after an amount that is a currency
# sign ($, #, *) or a fence, which the digit network knows as no digit. It pays
# EDGE_SIGN_PENALTY instead, when the digit network is that sure of it (p >= exp(SIGN_MIN_LOGP))
# and it is at most SIGN_MAX_WIDTH_SHARE of the height wide: two digits run together are no digit
# to that network either. Such ink is not offered to the pair and triple networks, which never
# saw a sign and read a # as two digits. Held-out lines (--source val; simple 300, hard 900,
# check 300 judged by their digits), with the digit networks' first fine-tune on hand-drawn signs
# (thinner dollar signs than the shipped one's, which reads 0.943, 0.848, 0.620 with the rule):
# without the rule 0.947, 0.852, 0.523 (the networks before: 0.947, 0.847, 0.217); with it at widths up to
# 0.8 heights 0.947, 0.850, 0.580; 0.9: 0.940, 0.842, 0.640; 1.0: 0.937, 0.833, 0.680 (merged
# pairs at the ends dropped). So a printed # as wide as the digits are high still reads as two
# digits. A gate of p >= 0.3 instead of 0.9: 0.943, 0.848, 0.590.
SIGN_GAP_SHARE = 0.15
SIGN_MAX_WIDTH_SHARE = 0.8
EDGE_SIGN_PENALTY = 0.5
SIGN_MIN_LOGP = math.log(0.9)
# Such a sign is reported as kind "sign", which does not flag the field, unless the pair network
# gives the same ink p(two digits), or the triple network p(three), of at least this (_no_digits):
# two narrow digits run together (a 31, a 14) are no digit to the digit network either, and
# dropping them must not go unflagged. Held-out lines: misreads flagged as when every sign flagged
# its field (simple 15 of 17, hard 102 of 137; without this condition 14 and 101), check lines
# flagged 98% -> 81%. As a condition of the rule itself (at 0.5 and 0.9) it read 1 simple and 3
# hard lines more but 12-16 check lines fewer: the pair network takes many a $ for two digits.
SIGN_MAX_PAIR_LOGP = math.log(0.5)
# Wider ink at an end is reported as a sign on the same terms, after decoding (no reading changes;
# the decoder's rule above keeps SIGN_MAX_WIDTH_SHARE): a printed $ or # as wide as the digits are
# high is cut in two and read as no digit whole, an = or a long stroke after the amount is wider
# still or cut in pieces; as "other" ink each flagged its amount. Held-out check lines (300):
# flagged 77.7% -> 49.7%, exact with their separators 36.3% -> 72.0% (before the amount only, up
# to 1.1 heights: 61.7%, 57.7%; a trailing limit of 1.3: fewer; 2.0 and 3.0 alike), read the same;
# misread by their digits and unflagged 4 -> 7: in the three new ones the sign or fence was
# rightly read and had flagged a digit lost inside its neighbour (a 1 in a 5 or a 0, an 8 in an
# 8). Simple, hard (900), cents lines and forms flagged as before. Session 16.
LEADING_SIGN_MAX_WIDTH_SHARE = 1.1
TRAILING_SIGN_MAX_WIDTH_SHARE = 2.0
# A slash's top quarter lies right of its bottom quarter by at least this share of its height.
SLASH_LEAN = 0.2
# ... and is one stroke: at least this share of its rows hold a single run of ink (a "10"
# whose 1 leans onto its 0 has two or three runs along the 0).
SLASH_SINGLE_RUN_ROWS = 0.8
# A mark reaching below the baseline is a comma only if it is also taller than wide by this
# factor: a round point under a baseline that the digits' jitter put high stays a point
# (held-out hard lines 0.690 -> 0.697, simple lines unchanged).
COMMA_LOW_ASPECT = 1.15
# ... and is at least this share of the band tall. A point on a guide line keeps the line's
# thickness under it when the line is removed (its columns hold ink thicker than the line),
# so it comes out taller than wide, but smaller than a comma: held-out hard lines 0.722 ->
# 0.740 (16 lines better, none worse; 0.3 turned 20 of the generator's commas into points).
COMMA_MIN_HEIGHT_SHARE = 0.2
BIG_HEIGHT_SHARE = 0.6
BIG_WIDTH_SHARE = 0.4
# A path that separates two digits at a cut through ink (not between pieces) pays this many
# nats: a slice of a digit often looks like a 1 to the classifier. 0.5 read a few more
# overlapping digits (bench_reader --set hard 0.475 -> 0.50) but left alternative cuts so
# close that 82% of simple lines were flagged for review (13% at 1.0), so 1.0 stays.
CUT_PENALTY = 1.0
# A single small atom shaped and placed like a point, comma or dash is punctuation with at
# least this log probability, whatever the network says of its normalised (magnified) image
# (0.25 -> 0.7: bench_reader --set hard 0.435 -> 0.46, fewer points read as a 1 or
# swallowed; simple and form free fields unchanged).
MARK_KINDS = ("point", "comma", "dash")
# A digit or pair candidate that takes in a lone point or comma at one of its ends (an atom of
# its own, at most LONE_MARK_SHARE of the string's height, beside the candidate's other ink:
# overlapping it by at most ABSORBED_MARK_OVERLAP of its own width) pays this many nats for
# each: normalised, the mark is a few pixels at a corner and the network reads the digit
# beside it as if it were not there, so the separator was lost. Held-out hard lines (900,
# --source val): exact 0.698 -> 0.722 (26 lines better, 4 worse: a fragment of a digit read
# as a mark), digits alone 0.798 -> 0.799; simple lines: one line gains a point, its digits
# unchanged; 200 held-out forms: 916 -> 917 fields. Without the size bound, pieces of small
# 5s in simple lines became marks (3 lines); without the overlap bound, 16 hard lines got worse.
ABSORBED_MARK_PENALTY = 0.5
LONE_MARK_SHARE = 0.35
ABSORBED_MARK_OVERLAP = 0.3
EDGE_MARKS = ("point", "comma")
MARK_LOG_FLOOR = math.log(0.7)
# Rejected ink smaller than this share of the height, and not shaped or placed like
# punctuation, is dust: dropped without a separator (a binarised point can be 0.09 high).
TINY_SHARE = 0.1
DEFAULT_STRING = StringParams()
# Pair candidates (recognition.pairs): runs of atoms with no empty column wider than
# PAIR_MAX_GAP_SHARE of the height between them (touching or overlapping ink), between
# PAIR_MIN_WIDTH_SHARE and PAIR_MAX_WIDTH_SHARE of the height wide, of at most
# PAIR_MAX_ATOMS atoms. Reading one pays PAIR_PENALTY nats on top of its probabilities.
# Held-out lines (900) with the shipped pair weights: widths up to 2.0 -> 2.5 heights read
# hard lines 0.674 -> 0.687 (15.0 -> 16.2 pair candidates per line), simple 0.932 -> 0.931,
# free form fields 188 -> 189 of 207; a minimum of 0.5 as well added 0.004 at 33% more candidates.
# One atom (a single piece of ink, uncut) is a pair candidate from PAIR_MIN_ATOM_WIDTH_SHARE: two
# digits written into one piece narrower than 0.7 heights (a 91, a 1 inside an 8) were no
# digit to the digit network and were dropped as unknown ink (session 14). Held-out: simple
# lines 283 -> 284 of 300, hard 763 -> 767 of 900, check lines by their digits 62.0% -> 62.7%,
# forms 951 -> 957 of 998 (free fields 377 -> 383). From 0.4: the same on every set; from 0.6:
# forms 953, check 62.3%.
PAIR_MIN_WIDTH_SHARE = 0.7
PAIR_MIN_ATOM_WIDTH_SHARE = 0.5
PAIR_MAX_WIDTH_SHARE = 2.5
PAIR_MAX_GAP_SHARE = 0.1
PAIR_MAX_ATOMS = 6
PAIR_PENALTY = 0.0
# Two digits read side by side whose atoms together are a pair candidate also pay the pair
# network's log p(two digits) of that candidate: it judges a split as well as reading a pair.
# Held-out lines (900): hard 0.687 -> 0.696, simple 0.931 -> 0.934; free fields of 200
# held-out forms 349 -> 358 of 401. Charging a single digit over a pair candidate log(1 -
# p(two digits)) as well: hard 0.694, simple 0.928; that charge alone: 0.692, 0.924.
# Triple candidates (the triple network, recognition.pairs): runs of atoms touching as pairs'
# do, between TRIPLE_MIN_WIDTH_SHARE and TRIPLE_MAX_WIDTH_SHARE of the height wide, of at most
# TRIPLE_MAX_ATOMS atoms: three digits written into each other, which no cut separates and
# a pair reading loses one of. Reading one pays TRIPLE_PENALTY nats on top of its probabilities.
# From 1.2 heights wide (0.796 held-out hard lines), the network read two touching Hershey
# zeros (1.56 heights wide; the pair network gives them p(two digits) 0.21) as "000" with
# p(three digits) 0.99; from 1.6, 0.791 (1.5: 0.790, 1.7: 0.784), simple lines and free form
# fields as without triples (0.939, 364 of 401).
TRIPLE_MIN_WIDTH_SHARE = 1.6
TRIPLE_MAX_WIDTH_SHARE = 2.5
TRIPLE_MAX_ATOMS = 9
# Held-out lines (900, --source val) with the shipped triple weights and candidates 1.2 to 2.5
# heights wide, from 0.772 hard lines and 0.939 simple ones without the triple network (14.1%
# flagged): at 0 nats 0.800 and 0.941
# (16.9% flagged), at 0.5 0.796 and 0.939 (14.9%), at 1.0 0.788 and 0.939 (14.1%); free fields
# of 200 held-out forms 364, 365 and 365 of 401 (364 without). Up to 3.5 heights wide, the
# network took four narrow digits written into each other for three (120 four-digit script
# strings overlapping by 8 px: 69 read against 90 without it; at 2.5 heights, 101) and read
# hard lines 0.784 at 1.0 nats; at 2.2 heights, 0.786. Letting it also judge three digits read
# from cuts and pairs over its candidate's atoms (charging log p(three digits), as the pair
# network judges two) read fewer hard lines at 3.5 heights (0.782 at full weight, 0.787 at
# half, against 0.789 at 0 nats): not kept.
TRIPLE_PENALTY = 0.5
# Weight of the line network's log p(digits | line) in a path's score (recognition.sequence).
# Chosen with the first line network (no font strings in its data, judging marks too), on
# held-out digits (900 hard lines / 300 simple lines / free fields of 200 forms, exact with
# separators): without the network 0.791 / 0.947 / 339 of 401; weight 0.3: 0.860 / - / -;
# 0.5: 0.861 / 0.957 / 356; 1.0: 0.863 / 0.957 / 357; 2.0: 0.862 / - / -. Without the paths cut
# into the network's own reading (weight 1.0): hard 0.856. Chosen again with the shipped network
# (session 11; the same held-out sets, hard lines exact / digits alone, free fields exact / with
# separators): 0.3: 0.8467 / 0.8922, 375 / 349; 0.5: 0.8478 / 0.8922, 376 / 350; 0.7: 0.8467 /
# 0.8911; 1.0: 0.8444 / 0.8889, 375 / 349; simple lines 0.9467 at 0.5 and 1.0. The same weight
# judges comb readings (recognition.combs.judged_comb: combs 575 of 597 at 0.25, 0.5 and 1.0).
LINE_WEIGHT = 0.5
# The network judges digits only, its mark outputs merged into the blank; the separators are the
# decoder's own. Judging marks too, the shipped network read more held-out strings (0.863 hard /
# 0.950 simple / free fields 375 of 401, 359 with separators, against 0.844 (0.889 without
# separators) / 0.947 / 375, 349) but dropped points and commas drawn unlike its synthetic ones:
# the reader's own separator tests lost a point beside a 0 and stopped flagging doubtful points.


@dataclass(frozen=True, slots=True)
class StringPlan:
    """Candidate digits of one string, ready for one batched model call.

    ``groups[i] = (start, stop)`` is the atom run of ``candidates[i]`` (boxes in field
    coordinates) whose normalised image is ``images[i]``, shape (28, 28), float32, ink = 1;
    ``gaps[i]`` is the total width in px of empty columns between its atoms. ``pair_groups``,
    ``pair_candidates`` and ``pair_images`` (M, 28, 56) are the runs offered to the pair
    network (:mod:`recognition.pairs`) as two touching digits; none unless asked for.
    ``triple_groups``, ``triple_candidates`` and ``triple_images`` (K, 28, 84) likewise for
    the triple network.
    """

    segmentation: StringSegmentation
    groups: tuple[tuple[int, int], ...]
    candidates: tuple[DigitCandidate, ...]
    images: NDArray[np.float32] = field(repr=False)
    gaps: tuple[int, ...] = ()
    pair_groups: tuple[tuple[int, int], ...] = ()
    pair_candidates: tuple[DigitCandidate, ...] = ()
    pair_images: NDArray[np.float32] = field(repr=False, default_factory=lambda: np.zeros((0, *PAIR_SHAPE), np.float32))
    triple_groups: tuple[tuple[int, int], ...] = ()
    triple_candidates: tuple[DigitCandidate, ...] = ()
    triple_images: NDArray[np.float32] = field(
        repr=False, default_factory=lambda: np.zeros((0, *TRIPLE_SHAPE), np.float32)
    )


def log_p(p: float | np.floating) -> float:
    """The log of a calibrated probability, floored at ``P_FLOOR`` (the model never says exactly 0)."""
    return float(np.log(max(float(p), P_FLOOR)))


def _core_width(seg: StringSegmentation, start: int, stop: int) -> int:
    """Columns holding the middle of the ink of atoms ``start..stop-1`` (all but CORE_TRIM at each side)."""
    atoms = seg.atoms[start:stop]
    x0 = min(a.box.x for a in atoms)
    profile = np.zeros(max(a.box.x2 for a in atoms) - x0, np.float64)
    for a in atoms:
        profile[a.box.x - x0 : a.box.x2 - x0] += np.count_nonzero(a.mask, axis=0)
    cum = np.cumsum(profile)
    lo, hi = np.searchsorted(cum, [CORE_TRIM * cum[-1], (1.0 - CORE_TRIM) * cum[-1]])
    return int(hi - lo + 1)


def _touching_runs(
    atom_runs: AtomRuns, max_atoms: int, min_width: float, max_width: float, atom_min_width: float = math.inf
) -> list[tuple[int, int]]:
    """Runs of atoms with no empty column wider than PAIR_MAX_GAP_SHARE of the height, ``min_width``
    (a single atom: ``atom_min_width``, if less) to ``max_width`` heights wide, of at most ``max_atoms`` atoms."""
    seg = atom_runs.segmentation
    height = seg.height
    runs: list[tuple[int, int]] = []
    for start in range(len(seg.atoms)):
        for stop in range(start + 1, min(len(seg.atoms), start + max_atoms) + 1):
            width = atom_runs.span(start, stop)
            if atom_runs.gaps(start, stop)[0] > PAIR_MAX_GAP_SHARE * height or width > max_width * height:
                break
            if width >= (min_width if stop - start > 1 else min(min_width, atom_min_width)) * height:
                runs.append((start, stop))
    return runs


def plan_string(
    ink: GrayImage,
    max_atoms: int,
    string_params: StringParams = DEFAULT_STRING,
    *,
    pairs: bool = False,
    triples: bool = False,
) -> StringPlan:
    """Segment a binary string (ink = 255, field coordinates) and normalise every plausible atom run.

    With ``pairs``, runs of touching or overlapping atoms one to two digits wide are also
    normalised for the pair network; with ``triples``, runs about three digits wide for the
    triple network.
    """
    seg = segment_string(ink, string_params)
    atom_runs = AtomRuns(seg)  # the runs' extents, gaps and candidates, each worked out once
    height = seg.height
    runs: list[tuple[int, int]] = []
    gaps: dict[tuple[int, int], int] = {}
    for start in range(len(seg.atoms)):
        for stop in range(start + 1, min(len(seg.atoms), start + max_atoms) + 1):
            widest, gaps[start, stop] = atom_runs.gaps(start, stop)
            if stop - start > 1:
                width = atom_runs.span(start, stop)
                if widest > MAX_GAP_SHARE * height or width > FLOURISH_WIDTH_SHARE * height:
                    break
                if width > MAX_WIDTH_SHARE * height and _core_width(seg, start, stop) > CORE_WIDTH_SHARE * height:
                    continue
            runs.append((start, stop))
    groups, candidates, images = _normalised(atom_runs, runs, normalise_mask, (0, 28, 28))
    plan = StringPlan(seg, groups, candidates, images, tuple(gaps[g] for g in groups))
    if pairs:
        pair_runs = _touching_runs(
            atom_runs, PAIR_MAX_ATOMS, PAIR_MIN_WIDTH_SHARE, PAIR_MAX_WIDTH_SHARE, PAIR_MIN_ATOM_WIDTH_SHARE
        )
        pair_groups, pair_candidates, pair_images = _normalised(atom_runs, pair_runs, normalise_pair, (0, *PAIR_SHAPE))
        plan = replace(plan, pair_groups=pair_groups, pair_candidates=pair_candidates, pair_images=pair_images)
    if triples:
        runs = _touching_runs(atom_runs, TRIPLE_MAX_ATOMS, TRIPLE_MIN_WIDTH_SHARE, TRIPLE_MAX_WIDTH_SHARE)
        groups3, candidates3, images3 = _normalised(atom_runs, runs, normalise_triple, (0, *TRIPLE_SHAPE))
        plan = replace(plan, triple_groups=groups3, triple_candidates=candidates3, triple_images=images3)
    return plan


def _normalised(
    atom_runs: AtomRuns,
    runs: list[tuple[int, int]],
    normalise: Callable[[GrayImage], NDArray[np.float32]],
    empty_shape: tuple[int, int, int],
) -> tuple[tuple[tuple[int, int], ...], tuple[DigitCandidate, ...], NDArray[np.float32]]:
    """The runs that ``normalise`` accepts, their composed candidates and their stacked images."""
    groups: list[tuple[int, int]] = []
    candidates: list[DigitCandidate] = []
    images: list[NDArray[np.float32]] = []
    for start, stop in runs:
        candidate = atom_runs.candidate(start, stop)
        try:
            images.append(normalise(candidate.mask))
        except InvalidInput:
            continue
        groups.append((start, stop))
        candidates.append(candidate)
    stacked = np.stack(images) if images else np.zeros(empty_shape, np.float32)
    return tuple(groups), tuple(candidates), stacked


def _leans_right(mask: GrayImage) -> bool:
    """Whether the ink's top quarter lies clearly right of its bottom quarter (a slash, not a bracket)."""
    h = mask.shape[0]
    quarter = max(1, h // 4)
    cols = np.arange(mask.shape[1], dtype=np.float32)
    top, bottom = mask[:quarter].sum(axis=0), mask[h - quarter :].sum(axis=0)
    if top.sum() == 0 or bottom.sum() == 0:
        return False
    shift = float((top * cols).sum() / top.sum() - (bottom * cols).sum() / bottom.sum())
    return shift >= SLASH_LEAN * h


def _one_stroke(mask: GrayImage) -> bool:
    """Whether most rows of the mask hold a single run of ink (one stroke across them)."""
    ink = mask > 0
    starts = ink[:, 1:] & ~ink[:, :-1]
    runs = starts.sum(axis=1) + ink[:, 0]
    rows = runs > 0
    return bool(rows.any()) and float(np.mean(runs[rows] == 1)) >= SLASH_SINGLE_RUN_ROWS


def separator_kind(box: Box, mask: GrayImage, top: int, baseline: int) -> str:
    """Kind of a non-digit mark from its box and mask (field coordinates) and the string band ``top..baseline``.

    point: small round blob near the baseline; comma: small and in the lower half, at least
    ``COMMA_MIN_HEIGHT_SHARE`` of the band tall, reaching below the baseline and taller than
    wide, or clearly taller than wide; dash: wide and flat
    at mid-height; slash: tall, its top right of its bottom; anything else is ``other``.
    """
    height = max(1, baseline - top)
    centre = (box.y + box.h / 2.0 - top) / height  # 0 at the top of the band, 1 at the baseline
    if box.h >= 0.6 * height and box.w < box.h and _leans_right(mask) and _one_stroke(mask):
        return "slash"
    if box.w >= 1.5 * box.h and box.h < 0.35 * height and 0.2 < centre < 0.85:
        return "dash"
    if max(box.w, box.h) <= 0.5 * height and centre > 0.5:
        below = box.y2 > baseline + 0.1 * height and box.h > COMMA_LOW_ASPECT * box.w
        if (below or box.h > 1.4 * box.w) and box.h >= COMMA_MIN_HEIGHT_SHARE * height:
            return "comma"
        return "point"
    return "other"


def _cover_prior(box: Box, top: int, baseline: int) -> float:
    """Log prior (<= 0) of a candidate box's rows: digits cover most of the band ``top..baseline``."""
    cover = max(0, min(box.y2, baseline) - max(box.y, top)) / max(1, baseline - top)
    return -COVER_PENALTY * max(0.0, MIN_COVER - cover)


def _digit_prior(box: Box, top: int, baseline: int) -> float:
    """Log prior (<= 0) of a candidate box being a digit of the band ``top..baseline``: cover and width."""
    return _cover_prior(box, top, baseline) - WIDE_PENALTY * max(0.0, box.w / max(1, baseline - top) - WIDE_SHARE)


def _reject_prior(kind: str, box: Box, height: int, atoms: int) -> float:
    """Log prior (<= 0) of a candidate of separator ``kind`` made of ``atoms`` atoms being punctuation or dust."""
    if atoms > 1:
        return -BIG_REJECT_PENALTY  # a mark is one stroke; several atoms are digits or their parts
    if kind != "other":
        return 0.0
    big = box.h >= BIG_HEIGHT_SHARE * height or box.w >= BIG_WIDTH_SHARE * height
    return -BIG_REJECT_PENALTY if big else -SMALL_REJECT_PENALTY


def _edge_sign(plan: StringPlan, index: int, reject_logp: float) -> bool:
    """Whether candidate ``index``, read as no digit, is a sign at an end of its string (``SIGN_GAP_SHARE``)."""
    seg, (start, stop) = plan.segmentation, plan.groups[index]
    narrow = plan.candidates[index].box.w <= SIGN_MAX_WIDTH_SHARE * seg.height
    return reject_logp >= SIGN_MIN_LOGP and narrow and _set_apart(seg, start, stop)


def _no_digits(
    plan: StringPlan,
    index: int,
    reject_p: float,
    two_digits: dict[tuple[int, int], float],
    three_digits: dict[tuple[int, int], float],
) -> bool:
    """Whether candidate ``index`` holds no digit to the digit network at ``exp(SIGN_MIN_LOGP)``,
    nor two or three digits to the pair and triple networks (``SIGN_MAX_PAIR_LOGP``)."""
    group = plan.groups[index]
    doubt = max(two_digits.get(group, -math.inf), three_digits.get(group, -math.inf))
    return reject_p >= math.exp(SIGN_MIN_LOGP) and doubt < SIGN_MAX_PAIR_LOGP


def _end_sign(plan: StringPlan, index: int) -> bool:
    """Whether candidate ``index``, read as no digit by every network (:func:`_no_digits`), is reported
    as a sign: set apart at an end of its string (``SIGN_GAP_SHARE``), at most
    ``LEADING_SIGN_MAX_WIDTH_SHARE`` (before the amount) or ``TRAILING_SIGN_MAX_WIDTH_SHARE`` (after
    it) of the height wide. The decoder's own rule (:func:`_edge_sign`) is narrower: it decides readings."""
    seg, group = plan.segmentation, plan.groups[index]
    limit = LEADING_SIGN_MAX_WIDTH_SHARE if group[0] == 0 else TRAILING_SIGN_MAX_WIDTH_SHARE
    return plan.candidates[index].box.w <= limit * seg.height and _set_apart(seg, *group)


def _set_apart(seg: StringSegmentation, start: int, stop: int) -> bool:
    """Whether atoms ``start..stop-1`` begin or end the string (not both) with ``SIGN_GAP_SHARE`` of its height of
    empty columns between them and the rest."""
    atoms = seg.atoms
    if (start == 0) == (stop == len(atoms)):
        return False
    inside, rest = (atoms[:stop], atoms[stop:]) if start == 0 else (atoms[start:], atoms[:start])
    if start == 0:
        gap = min(a.box.x for a in rest) - max(a.box.x + a.box.w for a in inside)
    else:
        gap = min(a.box.x for a in inside) - max(a.box.x + a.box.w for a in rest)
    return gap >= SIGN_GAP_SHARE * seg.height


@dataclass(frozen=True, slots=True)
class _Step:
    """One choice of the path: candidate ``index`` read as ``digit`` (None = not a digit).

    ``half`` is -1 for a single-digit candidate; 0 or 1 for the left or right digit of pair
    candidate ``index`` (an index into ``StringPlan.pair_groups``); with ``triple``, 0, 1 or 2
    for a digit of triple candidate ``index`` (into ``StringPlan.triple_groups``).
    """

    index: int
    digit: int | None
    half: int = -1
    triple: bool = False


Edge = tuple[int, tuple[_Step, ...], float]  # (atom position reached, choices (none to skip), score in nats)


def _lone_marks(seg: StringSegmentation) -> list[bool]:
    """Per atom: whether it is a point or comma on its own (small, not cut from other ink)."""
    return [
        not (a.cut_before or a.cut_after)
        and max(a.box.w, a.box.h) <= LONE_MARK_SHARE * seg.height
        and separator_kind(a.box, a.mask, seg.top, seg.baseline) in ("point", "comma")
        for a in seg.atoms
    ]


def _absorbed_marks(seg: StringSegmentation, lone_marks: list[bool], start: int, stop: int) -> int:
    """How many lone marks a run of atoms ``start..stop-1`` takes in at its ends, beside (not under) its other ink."""
    if stop - start < 2:
        return 0
    count = 0
    for end, rest in ((start, range(start + 1, stop)), (stop - 1, range(start, stop - 1))):
        if not lone_marks[end]:
            continue
        box = seg.atoms[end].box
        x0, x1 = min(seg.atoms[i].box.x for i in rest), max(seg.atoms[i].box.x2 for i in rest)
        count += min(box.x2, x1) - max(box.x, x0) <= ABSORBED_MARK_OVERLAP * box.w
    return count


def _pair_edges(
    plan: StringPlan, pair_probabilities: NDArray[np.float32], lone_marks: list[bool], *, triple: bool = False
) -> list[tuple[int, Edge]]:
    """(start, edge) for each pair candidate's best two readings of its left and right digit;
    ``lone_marks`` from :func:`_lone_marks`. With ``triple``, the same for the triple
    candidates and their three digits (``pair_probabilities`` are then the triple network's)."""
    seg = plan.segmentation
    groups, candidates = (
        (plan.triple_groups, plan.triple_candidates) if triple else (plan.pair_groups, plan.pair_candidates)
    )
    count, penalty = (3, TRIPLE_PENALTY) if triple else (2, PAIR_PENALTY)
    edges: list[tuple[int, Edge]] = []
    # Every candidate's digit log-probabilities and each digit's best two at once: np.log is the
    # same per element over the whole array as over one head (both contiguous float32), and a
    # stable sort of a row is the same in a batch of rows. As Python floats and ints, read
    # without NumPy scalars.
    logs = np.log(np.maximum(pair_probabilities, P_FLOOR))
    heads = logs[:, 1 : 1 + 10 * count].reshape(len(logs), count, 10)
    best_two = np.argsort(-heads, axis=2, kind="stable")[:, :, :2].tolist()
    head_logs = heads.tolist()
    for index, (start, stop) in enumerate(groups):
        box = candidates[index].box
        p = pair_probabilities[index]
        cut_cost = CUT_PENALTY / 2 * (seg.atoms[start].cut_before + seg.atoms[stop - 1].cut_after)
        # Its width is bounded by PAIR_MAX_WIDTH_SHARE when planned; only its cover is a prior.
        cover = _cover_prior(box, seg.top, seg.baseline)
        prior = log_p(p[PAIR]) + cover - cut_cost - penalty
        prior -= ABSORBED_MARK_PENALTY * _absorbed_marks(seg, lone_marks, start, stop)
        readings: list[tuple[tuple[_Step, ...], float]] = [((), prior)]
        for part in range(count):
            logp, best = head_logs[index][part], best_two[index][part]
            readings = [
                ((*steps, _Step(index, d, part, triple)), score + logp[d]) for steps, score in readings for d in best
            ]
        edges.extend((start, (stop, steps, score)) for steps, score in readings)
    return edges


def _edges(
    plan: StringPlan,
    probabilities: NDArray[np.float32],
    pair_probabilities: NDArray[np.float32] | None = None,
    triple_probabilities: NDArray[np.float32] | None = None,
) -> dict[int, list[Edge]]:
    """Per start position, the scored ways to read the next candidates: best digit, runner-up digit, mark, pairs, triples."""
    seg = plan.segmentation
    logp = np.log(np.maximum(probabilities, P_FLOOR))
    # As in _pair_edges: each candidate's best two digits (a stable sort, as row by row) and its
    # log-probabilities, as Python ints and floats, at once.
    best_two = np.argsort(-probabilities[:, :REJECT], axis=1, kind="stable")[:, :2].tolist()
    log_rows = logp.tolist()
    outgoing: dict[int, list[Edge]] = {}
    lone_marks = _lone_marks(seg)
    signs: set[tuple[int, int]] = set()  # atom runs read as a sign at an end: no pair or triple either
    for index, (start, stop) in enumerate(plan.groups):
        box, mask = plan.candidates[index].box, plan.candidates[index].mask
        cut_cost = CUT_PENALTY / 2 * (seg.atoms[start].cut_before + seg.atoms[stop - 1].cut_after)
        digit_prior = _digit_prior(box, seg.top, seg.baseline) - cut_cost
        digit_prior -= ABSORBED_MARK_PENALTY * _absorbed_marks(seg, lone_marks, start, stop)
        digit_prior -= JOIN_GAP_PENALTY * plan.gaps[index] / seg.height
        # Several atoms are never punctuation (see _reject_prior): their shape is not looked at.
        kind = separator_kind(box, mask, seg.top, seg.baseline) if stop - start == 1 else "other"
        reject_logp = log_rows[index][REJECT]
        if kind in MARK_KINDS:
            # The network sees a normalised comma as a 1 too often; the shape and place decide.
            reject_logp = max(reject_logp, MARK_LOG_FLOOR)
        edges = outgoing.setdefault(start, [])
        # The runner-up digit keeps another reading alive for the review margin.
        for digit in best_two[index]:
            edges.append((stop, (_Step(index, digit),), log_rows[index][digit] + digit_prior))
        reject_prior = _reject_prior(kind, box, seg.height, stop - start) - cut_cost
        sign = kind == "other" and _edge_sign(plan, index, reject_logp)
        if sign:
            reject_prior = max(reject_prior, -EDGE_SIGN_PENALTY)
            signs.add((start, stop))
        edges.append((stop, (_Step(index, None),), reject_logp + reject_prior))
    if pair_probabilities is not None and len(plan.pair_groups):
        for start, edge in _pair_edges(plan, pair_probabilities, lone_marks):
            if (start, edge[0]) not in signs:
                outgoing.setdefault(start, []).append(edge)
    if triple_probabilities is not None and len(plan.triple_groups):
        for start, edge in _pair_edges(plan, triple_probabilities, lone_marks, triple=True):
            if (start, edge[0]) not in signs:
                outgoing.setdefault(start, []).append(edge)
    return outgoing


def _single_digit(steps: tuple[_Step, ...]) -> bool:
    """Whether ``steps`` is one digit read from a single-digit candidate (not a mark, not half a pair)."""
    return len(steps) == 1 and steps[0].digit is not None and steps[0].half < 0


def _two_digit_logp(plan: StringPlan, pair_probabilities: NDArray[np.float32] | None) -> dict[tuple[int, int], float]:
    """Per pair candidate's atom run (start, stop): the pair network's log p(two digits), which judges
    splits (:func:`_search`) and a sign's doubt (:func:`decode_string`).

    A single atom narrower than ``PAIR_MIN_WIDTH_SHARE`` (a pair candidate by
    ``PAIR_MIN_ATOM_WIDTH_SHARE`` only) is left out: no split covers one atom, and the network
    takes many a narrow $ for two digits (held-out check lines flagged 81% -> 87% with it).
    """
    if pair_probabilities is None:
        return {}
    narrow = PAIR_MIN_WIDTH_SHARE * plan.segmentation.height
    return {
        group: log_p(pair_probabilities[k, PAIR])
        for k, group in enumerate(plan.pair_groups)
        if group[1] - group[0] > 1 or plan.pair_candidates[k].box.w >= narrow
    }


def best_paths(
    plan: StringPlan,
    probabilities: NDArray[np.float32],
    pair_probabilities: NDArray[np.float32] | None = None,
    triple_probabilities: NDArray[np.float32] | None = None,
    digits: str | None = None,
) -> list[tuple[float, tuple[_Step, ...]]]:
    """The k-best paths (score in nats, steps) over all atoms, best first.

    With ``digits``, only paths reading exactly those digits (separators aside) are kept: the
    best ways of cutting the string into a given reading, none when it cannot be so cut.

    ``probabilities`` is (len(plan.groups), 11); ``pair_probabilities`` (len(plan.pair_groups),
    21) or None, ``triple_probabilities`` (len(plan.triple_groups), 31) or None. An atom with no readable candidate is skipped at no cost (dust that
    normalisation refused). Two single digits read side by side over the atoms of a pair
    candidate also pay its log p(two digits).
    """
    outgoing = _edges(plan, probabilities, pair_probabilities, triple_probabilities)
    return _search(plan, outgoing, _two_digit_logp(plan, pair_probabilities), digits)


def _search(
    plan: StringPlan,
    outgoing: dict[int, list[Edge]],
    two_digits: dict[tuple[int, int], float],
    digits: str | None = None,
) -> list[tuple[float, tuple[_Step, ...]]]:
    """:func:`best_paths` over scored edges already made (:func:`_edges`, :func:`_two_digit_logp`).

    A path reaching an atom position is kept as its score, the position and rank it extends and
    its last choice; only those among the ``BEAM`` best at that position (sorted stably, so ties
    keep the order they came in) are spelt out as steps, as are the best that reach the end.
    """
    n = len(plan.segmentation.atoms)
    # Per position: the paths reaching it as (score, position extended, rank there, choice) ...
    beams: list[list[tuple[float, int, int, tuple[_Step, ...]]]] = [[] for _ in range(n + 1)]
    # ... and, once the position is reached, its best paths' steps and texts (with ``digits`` only).
    paths: list[list[tuple[_Step, ...]]] = [[] for _ in range(n + 1)]
    texts: list[list[str]] = [[] for _ in range(n + 1)]
    beams[0] = [(0.0, 0, 0, ())]
    paths[0], texts[0] = [()], [""]
    wanted = "" if digits is None else digits
    for position in range(n):
        beam = beams[position]
        if not beam:
            continue
        # Best first, stable: ties keep their order (reverse=True keeps it too, as key -score did).
        beam.sort(key=itemgetter(0), reverse=True)
        del beam[BEAM:]
        if position:
            paths[position] = [paths[back][rank] + choice for _, back, rank, choice in beam]
            if digits is not None:
                texts[position] = [texts[back][rank] + _text(plan, choice) for _, back, rank, choice in beam]
        # What each path's extensions look at, worked out once per path rather than once per edge:
        # the first atom of its last step if that is a single digit (the pair network's verdict on
        # it and a digit after it, below), and its text when only paths reading ``digits`` count.
        starts = [
            plan.groups[steps[-1].index][0] if steps and _single_digit(steps[-1:]) else None
            for steps in paths[position]
        ]
        totals = [item[0] for item in beam]
        skip: list[Edge] = [(position + 1, (), 0.0)]
        for stop, choice, score in outgoing.get(position) or skip:
            digit = two_digits and _single_digit(choice)
            check = digits is not None and bool(choice)
            choice_text = _text(plan, choice) if check else ""
            target = beams[stop]
            for k, total in enumerate(totals):
                start = starts[k]
                if digit and start is not None:
                    # Two digits side by side: the pair network's verdict on their atoms, if a candidate.
                    total += two_digits.get((start, stop), 0.0)
                if check and not wanted.startswith(texts[position][k] + choice_text):
                    continue
                target.append((total + score, position, k, choice))
    final = beams[n]
    if digits is not None:
        final = [item for item in final if texts[item[1]][item[2]] + _text(plan, item[3]) == digits]
    best = sorted(final, key=itemgetter(0), reverse=True)[:BEAM]
    return [(score, paths[back][rank] + choice) for score, back, rank, choice in best]


def _reading(plan: StringPlan, steps: tuple[_Step, ...]) -> str:
    """The digits of a path with the marks it reads between them (as the result's separators)."""
    seg = plan.segmentation
    out: list[str] = []
    for step in steps:
        if step.digit is not None:
            out.append(str(step.digit))
            continue
        if step.half >= 0:  # pair steps always hold digits; their index is into the pair candidates
            continue
        candidate = plan.candidates[step.index]
        kind = separator_kind(candidate.box, candidate.mask, seg.top, seg.baseline)
        if kind != "other":
            out.append(kind[0] if kind != "dash" else "-")
    while out and out[0] in "pc":
        out.pop(0)
    # Dashes after the last digit are reported as a fence (one sign, see decode_string), whatever
    # their pieces: readings differing only there are no doubt about the marks. Held-out check
    # lines flagged 49.7% -> 38.7% (misread and unflagged 7 -> 9: two a digit misread elsewhere that
    # this doubt had flagged by chance), simple 11.3% -> 10.7%, hard 37.3% -> 37.2%, none more
    # misread unflagged; MNIST test check lines 54.3% -> 42.7%, misread unflagged 7 either way.
    while out and out[-1] in "pc-":
        out.pop()
    return "".join(out)


def _judged(
    plan: StringPlan,
    paths: list[tuple[float, tuple[_Step, ...]]],
    line_log_probs: NDArray[np.float32],
    weight: float,
    reading: Callable[[str], list[tuple[float, tuple[_Step, ...]]]],
) -> list[tuple[float, tuple[_Step, ...]]]:
    """``paths`` judged by the line network too, best first: each score plus ``weight`` x log p(its digits | line).

    The network's marks are merged into its blank, so it judges digits only; the separators stay
    the decoder's (``LINE_WEIGHT``). When no path reads the digits the network reads on its own,
    ``reading(those digits)``, the best paths that cut the string so, join the list first.
    """
    line_log_probs = digits_only(line_log_probs)
    own = greedy_text(line_log_probs)
    if own and all(_text(plan, steps) != own for _, steps in paths):
        paths = paths + reading(own)
    keys = [(_text(plan, steps), _digit_steps(plan, steps, len(line_log_probs))) for _, steps in paths]
    likelihood: dict[tuple[str, tuple[int, int]], float] = {}
    for span in sorted({span for _, span in keys}):
        texts = sorted({t for t, s in keys if s == span})
        scores = sequence_log_likelihoods(line_log_probs[span[0] : span[1]], texts)
        likelihood.update({(t, span): score for t, score in zip(texts, scores, strict=True)})
    scored = [(score + weight * likelihood[key], steps) for (score, steps), key in zip(paths, keys, strict=True)]
    return sorted(scored, key=lambda item: -item[0])


def _step_candidate(plan: StringPlan, step: _Step) -> DigitCandidate:
    """The candidate a step reads: a single one, or the pair or triple its digit is part of."""
    if step.half < 0:
        return plan.candidates[step.index]
    return (plan.triple_candidates if step.triple else plan.pair_candidates)[step.index]


def _digit_steps(plan: StringPlan, steps: tuple[_Step, ...], count: int) -> tuple[int, int]:
    """The line network's output steps a path's digits are judged on: all ``count`` of them, less
    those over ink the path reads as no digit before its first digit or after its last.

    A currency sign before an amount or a stroke after it is ink the line network never learnt
    to leave out: it reads a $ as an 8. The path that reads such ink as no digit (and pays the
    digit network's verdict and the decoder's prior for it) is judged on its digits' span alone,
    with a step of slack either side. (Held-out lines, the networks before currency signs:
    simple 0.947 and hard 0.848 -> 0.947 and 0.847 with this alone; check lines 0.217. With the
    networks' first fine-tune and the sign rule, check lines 0.363 without this, 0.580 with it.)
    """
    first = next((i for i, s in enumerate(steps) if s.digit is not None), None)
    if first is None:
        return 0, count
    last = max(i for i, s in enumerate(steps) if s.digit is not None)
    if first == 0 and last == len(steps) - 1:
        return 0, count
    boxes = [_step_candidate(plan, s).box for s in steps[first : last + 1]]
    left, right = steps_of_columns(plan.segmentation.ink, min(b.x for b in boxes), max(b.x2 for b in boxes))
    start = max(0, math.floor(left) - 1) if first > 0 else 0
    stop = min(count, math.ceil(right) + 1) if last < len(steps) - 1 else count
    return (start, stop) if start < stop else (0, count)


def _text(plan: StringPlan, steps: tuple[_Step, ...]) -> str:
    return "".join(str(s.digit) for s in steps if s.digit is not None)


def decode_string(
    plan: StringPlan,
    probabilities: NDArray[np.float32],
    *,
    name: str,
    offset: Box,
    review_threshold: float,
    min_margin: float,
    mark_margin: float = 0.0,
    pair_probabilities: NDArray[np.float32] | None = None,
    triple_probabilities: NDArray[np.float32] | None = None,
    line_log_probs: NDArray[np.float32] | None = None,
    line_weight: float = LINE_WEIGHT,
) -> FieldResult:
    """The :class:`FieldResult` of the best path; boxes shifted from field to page by ``offset``'s corner.

    With ``line_log_probs`` (the line network's reading of the whole string, (T, 14)), the
    paths are judged by it too (:func:`_judged`).

    ``needs_review`` is set when a digit's confidence is below ``review_threshold``, when
    the best reading with another text scores within ``min_margin`` nats of the best, when
    the line network overruled the cuts' best reading, when
    the best reading with the same digits but other separators (a point more or less, a
    comma for a point) scores within ``mark_margin`` nats of it, or when some ink was neither
    a digit nor a recognisable mark (kind ``other``); ``review`` names which.
    """
    seg = plan.segmentation
    paths: list[tuple[float, tuple[_Step, ...]]] = [(0.0, ())]
    cut_text = ""
    two_digits: dict[tuple[int, int], float] = {}
    three_digits: dict[tuple[int, int], float] = {}
    if seg.atoms:
        outgoing = _edges(plan, probabilities, pair_probabilities, triple_probabilities)
        two_digits = _two_digit_logp(plan, pair_probabilities)
        if triple_probabilities is not None:
            three_digits = {g: log_p(triple_probabilities[k, PAIR]) for k, g in enumerate(plan.triple_groups)}
        paths = _search(plan, outgoing, two_digits)
        cut_text = _text(plan, paths[0][1])
        if line_log_probs is not None:
            paths = _judged(
                plan, paths, line_log_probs, line_weight, lambda digits: _search(plan, outgoing, two_digits, digits)
            )
    best_score, steps = paths[0]
    text = _text(plan, steps)
    runner_up = next((score for score, other in paths[1:] if _text(plan, other) != text), None)
    # The line network overruling the cuts' own best reading is a disagreement worth a look.
    overruled = text != cut_text
    close = runner_up is not None and best_score - runner_up < min_margin
    reading = _reading(plan, steps)
    other_marks = next((score for score, other in paths[1:] if _reading(plan, other) != reading), None)
    close_marks = other_marks is not None and best_score - other_marks < mark_margin

    digits: list[DigitResult] = []
    separators: list[Separator] = []
    sure_no_digit: list[Separator] = []  # "other" ink the networks are sure holds no digit
    for step in steps:
        if step.half >= 0 and step.digit is not None:  # a digit of a pair or triple
            multi = triple_probabilities if step.triple else pair_probabilities
            assert multi is not None  # a path holds such steps only with their network's probabilities
            box, p = _pair_half(plan, multi, step)
            digits.append(digit_result(step.digit, p, box.shifted(offset.x, offset.y)))
            continue
        box = plan.candidates[step.index].box
        page_box = box.shifted(offset.x, offset.y)
        p = probabilities[step.index]
        if step.digit is None:
            kind = separator_kind(box, plan.candidates[step.index].mask, seg.top, seg.baseline)
            no_digits = kind not in EDGE_MARKS and _no_digits(
                plan, step.index, float(p[REJECT]), two_digits, three_digits
            )
            if no_digits and _end_sign(plan, step.index):
                kind = "sign"  # a currency sign or fence: no doubt about the digits
            if kind != "other" or max(box.w, box.h) >= TINY_SHARE * seg.height:
                separators.append(Separator(position=len(digits), kind=kind, box=page_box))
                if no_digits and kind == "other":
                    sure_no_digit.append(separators[-1])  # perhaps a piece of a fence: see below
            continue
        digits.append(digit_result(step.digit, p, page_box))
    # A point or comma before the first digit or after the last is a speck or a remnant of a
    # removed line: no amount or code begins or ends with one.
    separators = [s for s in separators if s.kind not in EDGE_MARKS or 0 < s.position < len(digits)]
    # Dashes after the last digit end nothing an amount or code goes on with: they are the fence
    # drawn after an amount (a long stroke cut in pieces, an = read as two dashes), reported as one
    # sign like a $ before it.
    fence = [s for s in separators if s.kind == "dash" and s.position == len(digits) > 0]
    # So are pieces of other ink there (an = or a long stroke cut in pieces) when the networks are
    # sure each holds no digit and together they are set apart and no wider than a trailing sign.
    pieces = [s for s in separators if s.position == len(digits) > 0 and s.kind in ("dash", "other")]
    if any(s.kind == "other" for s in pieces) and all(s.kind == "dash" or s in sure_no_digit for s in pieces):
        whole = union_of(s.box for s in pieces)
        gap = whole.x - max(d.box.x2 for d in digits)
        if gap >= SIGN_GAP_SHARE * seg.height and whole.w <= TRAILING_SIGN_MAX_WIDTH_SHARE * seg.height:
            fence = pieces
    if fence:
        separators = [s for s in separators if s not in fence]
        separators.append(Separator(len(digits), "sign", union_of(s.box for s in fence)))
    confidence = math.prod(d.confidence for d in digits)
    review = reasons(
        (LOW_CONFIDENCE, any(d.confidence < review_threshold for d in digits)),
        (CLOSE_READING, close),
        (CLOSE_MARKS, close_marks),
        (LINE_NETWORK, overruled),
        (UNKNOWN_INK, any(s.kind == "other" for s in separators)),  # ink that is no digit nor mark
    )
    return FieldResult(
        name=name,
        box=offset,
        text=text,
        confidence=confidence,
        needs_review=bool(review),
        digits=tuple(digits),
        separators=tuple(separators),
        kind="free",
        review=review,
    )


def _pair_half(
    plan: StringPlan, pair_probabilities: NDArray[np.float32], step: _Step
) -> tuple[Box, NDArray[np.float32]]:
    """Box (field coordinates) and 11 probabilities of one digit of a pair (or triple) candidate.

    The pair is split at the column of least ink in its middle third (a triple at the columns of
    least ink within a sixth of its width of its thirds); the probabilities are
    :func:`recognition.pairs.digit_of_pair`'s.
    """
    candidate = _step_candidate(plan, step)
    count = 3 if step.triple else 2
    box, mask = candidate.box, candidate.mask
    profile = np.count_nonzero(mask, axis=0)
    # Window of each split: the middle third of a pair; for a triple, a sixth of its width either side of each third.
    windows = [(box.w // 3, max(box.w // 3 + 1, 2 * box.w // 3))]
    if count == 3:
        windows = [(max(1, i * box.w // 3 - box.w // 6), max(2, i * box.w // 3 + box.w // 6)) for i in (1, 2)]
    splits = [0]
    for lo, hi in windows:
        lo = max(lo, splits[-1] + 1)
        split = lo + int(np.argmin(profile[lo : max(lo + 1, hi)])) if lo < box.w else box.w - 1
        splits.append(max(1, min(box.w - 1, split)))
    splits.append(box.w)
    x0, x1 = splits[step.half], max(splits[step.half] + 1, splits[step.half + 1])
    part = mask[:, x0:x1]
    rows = np.flatnonzero(part.max(axis=1))
    y0, y1 = (int(rows[0]), int(rows[-1]) + 1) if rows.size else (0, box.h)
    half = Box(box.x + x0, box.y + y0, part.shape[1], y1 - y0)
    return half, digit_of_pair(pair_probabilities[step.index], digit_head(step.half))


def digit_result(digit: int, p: NDArray[np.float32], box: Box) -> DigitResult:
    """A :class:`DigitResult` for ``digit`` from one row of 11 calibrated probabilities; ``box`` in page pixels."""
    order = np.argsort(-p[:REJECT], kind="stable")[:TOP_K]
    return DigitResult(
        digit=digit,
        confidence=float(p[digit]),
        box=box,
        alternatives=tuple((int(d), float(p[d])) for d in order),
        probabilities=tuple(float(v) for v in p[:REJECT]),
    )
