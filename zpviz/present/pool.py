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

Pure numpy: one rank lookup, one reshape and two reductions per image.
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
        blocks = codes.reshape(ph, fy, pw, fx)
        best = self.rank[blocks].max(axis=(1, 3))
        flags = np.bitwise_or.reduce(np.bitwise_or.reduce(blocks & self.flag_mask, axis=3), axis=1)
        return self.kind_of_rank[best] | flags


PAGES = Pooling(_PAGE_ORDER, K.STATE_MASK)
FRAMES = Pooling(_FRAME_ORDER, K.F_KIND_MASK)


def factor(cell_px: float) -> int:
    """Cells per pooled cell along one axis when a cell spans `cell_px` device pixels: 1 when a cell
    has a pixel of its own, else the fewest cells whose block spans MIN_CELL_PX pixels."""
    if cell_px <= 0 or not math.isfinite(cell_px) or cell_px >= OWN_PIXEL_PX:
        return 1
    return max(1, math.ceil(MIN_CELL_PX / cell_px))


def pooled_cell(row: int, col: int, fy: int, fx: int) -> tuple[int, int]:
    """The pooled cell (row, col) that cell (row, col) falls in."""
    return row // fy, col // fx
