"""Max pooling of cell codes, so a view with more cells than pixels loses no page's state.

When a device pixel spans several cells, nearest sampling keeps one cell and drops the rest:
1,024 read pages (every 64th of 65,536) left a few hundred coloured pixels. Here a block of
fy x fx cells becomes one cell whose state is the HIGHEST kind present in the block

    zero > anon > shared > file > not observed > not present > unmapped > gap

(the huge zero page's pages are zero pages), and whose flag bits (huge, mlocked, special, this
event, Bad page map) are OR-ed: a flag any page of the block has, the pooled cell has. Views
draw the event bits and the mlocked and huge flags as marks over the fill, so the fill is always
a state's own colour.

Physical frames pool the same way, by kind: zero > huge zero > anon > shmem > file > page table
> kernel > free.

Pure numpy: one rank lookup and strided max / OR reductions per image.
"""

from __future__ import annotations

import math

import numpy as np

from zpviz.engine import constants as C
from zpviz.present import codes as K

# the page states (code & STATE_MASK) from the least to the most important
_PAGE_ORDER = (K.GAP, 1 + C.ST_UNMAPPED, 1 + C.ST_NONE, K.UNKNOWN, 1 + C.ST_FILE, 1 + C.ST_SHARED,
               1 + C.ST_ANON, 1 + C.ST_ZERO)
# the frame kinds (code & F_KIND_MASK, kind + 1; 0 is no frame) from the least to the most important
_FRAME_ORDER = tuple(0 if n is None else 1 + K.FRAME_KIND_NAMES.index(n) for n in
                     (None, "free", "kernel", "page table", "file", "shmem", "anon", "huge zero", "zero"))
# a cell (or pooled block) spans at least this many device pixels: a 1-in-64 state reads as a
# stripe on a projector, not a hairline, and an axis line or tick a pixel wide cannot hide it
MIN_CELL_PX = 2.0
OWN_PIXEL_PX = MIN_CELL_PX  # a cell this big is drawn as it is


class Pooling:
    """How one kind of code image pools: a rank per code and the code of each rank."""

    def __init__(self, order: tuple[int, ...], kind_mask: int):
        self.kind_mask = kind_mask
        rank = np.zeros(kind_mask + 1, np.uint8)
        for r, kind in enumerate(order):
            rank[kind] = r
        self.rank = rank[np.arange(256) & kind_mask].astype(np.uint8)  # (256,) rank of a code's kind
        self.rank.flags.writeable = False
        self.kind_of_rank = np.asarray(order, np.uint8)
        self.flag_mask = np.uint8(0xFF & ~kind_mask)

    def pool(self, codes: np.ndarray, fy: int, fx: int) -> np.ndarray:
        """(ceil(h / fy), ceil(w / fx)) codes: each block's highest kind with its flags OR-ed.

        Missing cells at the right and bottom edges count as gaps (the lowest rank, no flags).
        """
        codes = np.asarray(codes, np.uint8)
        if fy <= 1 and fx <= 1:
            return codes
        h, w = codes.shape
        ph, pw = -(-h // fy), -(-w // fx)
        if (ph * fy, pw * fx) != (h, w):
            padded = np.zeros((ph * fy, pw * fx), np.uint8)
            padded[:h, :w] = codes
            codes = padded
        rank = np.take(self.rank, codes)
        flags = codes & self.flag_mask
        # reduce the rows of each block, then its columns: strided slices, each op one pass over
        # contiguous rows (a reshape to (ph, fy, pw, fx) and .max(axis=(1, 3)) is 5x slower)
        best, fl = _reduce(rank, flags, fy, axis=0)
        best, fl = _reduce(best, fl, fx, axis=1)
        return np.take(self.kind_of_rank, best) | fl


def _reduce(rank: np.ndarray, flags: np.ndarray, f: int, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """Max of rank and OR of flags over every f consecutive rows (axis 0) or columns (axis 1)."""
    if f <= 1:
        return rank, flags

    def part(a, k):
        return a[k::f] if axis == 0 else a[:, k::f]

    best, fl = part(rank, 0).copy(), part(flags, 0).copy()
    for k in range(1, f):
        np.maximum(best, part(rank, k), out=best)
        np.bitwise_or(fl, part(flags, k), out=fl)
    return best, fl


PAGES = Pooling(_PAGE_ORDER, K.STATE_MASK)
FRAMES = Pooling(_FRAME_ORDER, K.F_KIND_MASK)


def factor(cell_px: float, min_px: float = MIN_CELL_PX) -> int:
    """Cells per pooled cell along one axis when a cell spans `cell_px` device pixels: 1 when a cell
    spans min_px pixels itself, else the fewest cells whose block does. (An export drawn at 1280x720
    and scaled to 960x540 pools to MIN_CELL_PX / 0.75 window pixels: 2 pixels in the picture.)"""
    if cell_px <= 0 or not math.isfinite(cell_px) or cell_px >= min_px:
        return 1
    return max(1, math.ceil(min_px / cell_px))


def pooled_cell(row: int, col: int, fy: int, fx: int) -> tuple[int, int]:
    """The pooled cell (row, col) that cell (row, col) falls in."""
    return row // fy, col // fx
