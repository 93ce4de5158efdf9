"""Group ink components into free digit strings and put fields in reading order.

Component boxes are ``(N, 4)`` int64 arrays of ``x, y, w, h`` rows in page pixels (as
from :func:`segmentation.cleanup.component_boxes`); results are :class:`Box` objects.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from segmentation.elements import Box

# Two components of one string have heights within this ratio of each other ...
MIN_HEIGHT_RATIO = 0.5
# ... and overlap vertically by this share of the shorter one.
MIN_VERTICAL_OVERLAP = 0.5
# A small group (separator, detached stroke) has at most this many components and is lower
# than this share of the string it joins; it joins within this gap (share of the string height).
SMALL_GROUP_COMPONENTS = 2
SMALL_GROUP_HEIGHT_SHARE = 0.6
SMALL_GROUP_GAP_SHARE = 0.6
# Pairwise tests run on blocks of this many rows to bound memory on text-heavy pages.
BLOCK_ROWS = 1024

Boxes = NDArray[np.int64]


def inside_share(boxes: Boxes, box: Box) -> NDArray[np.float64]:
    """Share of each box's area (``(N,)`` in 0..1) that lies inside ``box``."""
    if boxes.size == 0:
        return np.zeros(0)
    x0 = np.maximum(boxes[:, 0], box.x)
    y0 = np.maximum(boxes[:, 1], box.y)
    x1 = np.minimum(boxes[:, 0] + boxes[:, 2], box.x2)
    y1 = np.minimum(boxes[:, 1] + boxes[:, 3], box.y2)
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    return inter / np.maximum(boxes[:, 2] * boxes[:, 3], 1)


def grow_box(box: Box, members: Boxes, margin_px: int, shape: tuple[int, ...]) -> Box:
    """``box`` grown to hold ``members``, by at most ``margin_px`` on each side and inside the image."""
    x0, y0, x1, y1 = box.x, box.y, box.x2, box.y2
    if members.size:
        x0 = max(min(x0, int(members[:, 0].min())), box.x - margin_px, 0)
        y0 = max(min(y0, int(members[:, 1].min())), box.y - margin_px, 0)
        x1 = min(max(x1, int((members[:, 0] + members[:, 2]).max())), box.x2 + margin_px, int(shape[1]))
        y1 = min(max(y1, int((members[:, 1] + members[:, 3]).max())), box.y2 + margin_px, int(shape[0]))
    return Box(x0, y0, x1 - x0, y1 - y0)


def _find(parent: list[int], i: int) -> int:
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = parent[i]
    return i


def _join_pairs(boxes: Boxes, join_gap_share: float) -> list[int]:
    """Group label of each component after joining similar-height neighbours on one line."""
    n = boxes.shape[0]
    parent = list(range(n))
    x0, y0 = boxes[:, 0], boxes[:, 1]
    x1, y1 = x0 + boxes[:, 2], y0 + boxes[:, 3]
    h = boxes[:, 3].astype(np.float64)
    for start in range(0, n, BLOCK_ROWS):
        rows = slice(start, min(n, start + BLOCK_ROWS))
        lo = np.minimum(h[rows, None], h[None, :])
        hi = np.maximum(h[rows, None], h[None, :])
        overlap_y = np.minimum(y1[rows, None], y1[None, :]) - np.maximum(y0[rows, None], y0[None, :])
        gap_x = np.maximum(x0[rows, None], x0[None, :]) - np.minimum(x1[rows, None], x1[None, :])
        joined = (lo >= MIN_HEIGHT_RATIO * hi) & (overlap_y >= MIN_VERTICAL_OVERLAP * lo)
        joined &= gap_x <= join_gap_share * hi
        for a, b in zip(*np.nonzero(joined), strict=True):
            ra, rb = _find(parent, int(a) + start), _find(parent, int(b))
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)
    return [_find(parent, i) for i in range(n)]


def _union(boxes: Boxes) -> NDArray[np.int64]:
    """``[x0, y0, x1, y1]`` of the union of boxes."""
    return np.array(
        [boxes[:, 0].min(), boxes[:, 1].min(), (boxes[:, 0] + boxes[:, 2]).max(), (boxes[:, 1] + boxes[:, 3]).max()]
    )


def group_strings(boxes: Boxes, *, join_gap_share: float) -> list[Box]:
    """Boxes of free strings: similar-height components on one line with small gaps, plus their small parts.

    Pass 1 joins components of similar height that overlap vertically and are at most
    ``join_gap_share`` x the taller one apart, so printed labels (small letters) do not
    merge with big handwritten digits. Pass 2 attaches small groups (separators such as
    ``,`` ``.`` ``-``, detached strokes) to the nearest big string next to them. Pass 3
    joins the resulting strings by the rule of pass 1, applied to their whole boxes.
    """
    if boxes.shape[0] == 0:
        return []
    labels = np.array(_join_pairs(boxes, join_gap_share))
    keys = np.unique(labels)
    spans = np.array([_union(boxes[labels == k]) for k in keys])
    sizes = np.array([int(np.count_nonzero(labels == k)) for k in keys])
    heights = spans[:, 3] - spans[:, 1]
    target = np.arange(keys.size)
    for i in np.flatnonzero(sizes <= SMALL_GROUP_COMPONENTS):
        centre_y = (spans[i, 1] + spans[i, 3]) / 2.0
        big = (heights[i] < SMALL_GROUP_HEIGHT_SHARE * heights) & (sizes > 0)
        margin = 0.25 * heights
        big &= (centre_y >= spans[:, 1] - margin) & (centre_y <= spans[:, 3] + margin)
        gap = np.maximum(spans[:, 0], spans[i, 0]) - np.minimum(spans[:, 2], spans[i, 2])
        big &= gap <= SMALL_GROUP_GAP_SHARE * heights
        if big.any():
            candidates = np.flatnonzero(big)
            target[i] = candidates[int(np.argmin(gap[candidates]))]
    # Follow attachments to a group that stays put (a small group may attach to another small one).
    for _ in range(keys.size):
        nxt = target[target]
        if np.array_equal(nxt, target):
            break
        target = nxt
    grouped = np.array([_union(_as_boxes(spans[target == t])) for t in np.unique(target)])
    # Pass 3: join whole strings the same way. A gap measured between components can be wider
    # than the string's real gap, which a detached stroke or a separator bridges (the top bar
    # of a 5 reaching towards "." and "78" in "5.78").
    merged = np.array(_join_pairs(_as_boxes(grouped), join_gap_share))
    result = []
    for m in np.unique(merged):
        span = _union(_as_boxes(grouped[merged == m]))
        result.append(Box(int(span[0]), int(span[1]), int(span[2] - span[0]), int(span[3] - span[1])))
    return result


def _as_boxes(spans: NDArray[np.int64]) -> Boxes:
    """``[x0, y0, x1, y1]`` rows back to ``[x, y, w, h]`` rows."""
    return np.stack([spans[:, 0], spans[:, 1], spans[:, 2] - spans[:, 0], spans[:, 3] - spans[:, 1]], axis=1)


def reading_order(boxes: list[Box]) -> list[int]:
    """Indices of ``boxes`` in reading order: lines top to bottom, left to right within a line.

    Boxes are taken by their vertical centre; a box starts a new line when its centre lies
    below the first box of the current line.
    """
    order = sorted(range(len(boxes)), key=lambda i: boxes[i].y + boxes[i].h / 2.0)
    lines: list[list[int]] = []
    line_bottom = -1.0
    for i in order:
        centre = boxes[i].y + boxes[i].h / 2.0
        if not lines or centre > line_bottom:
            lines.append([i])
            line_bottom = float(boxes[i].y2)
        else:
            lines[-1].append(i)
    return [i for line in lines for i in sorted(line, key=lambda j: boxes[j].x)]
