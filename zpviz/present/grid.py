"""The address-space grid: where each virtual page sits, and the address labels of its rows.

Every vma becomes a block of rows `width` cells wide (a row of 512 cells is 2 MiB, one page
table); blocks are stacked per process, with a header row above each vma and an extra gap row
between processes. The layout depends only on the lesson, never on the kernel variant, so
compare mode lines variants up cell for cell.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from zpviz.engine import constants as C
from zpviz.present import codes as K

WIDTHS = (16, 32, 64, 128, 256, 512, 1024)
MAX_RUNS = 64  # GridLayout.codes copies up to this many vma runs one by one, beyond it scatters


@dataclass(frozen=True)
class VmaBlock:
    proc: int
    proc_name: str
    vma: str
    backing: str
    shared: bool
    base: int  # first slot
    npages: int
    vpage0: int
    row0: int  # first row of cells
    nrows: int

    @property
    def header_row(self) -> int:
        return self.row0 - 1

    @property
    def name(self) -> str:
        return f"{self.proc_name} \u00b7 {self.vma}"

    @property
    def title(self) -> str:
        kind = "shared " if self.shared else ""
        return f"{self.name}  ({kind}{self.backing}, {size_text(self.npages)})"


@dataclass(frozen=True, eq=False)
class GridLayout:
    width: int
    height: int
    blocks: tuple[VmaBlock, ...]
    cell_slot: np.ndarray  # (height * width,) int64: slot shown in each cell, -1 for a gap
    slot_cell: np.ndarray  # (n_slots,) int64: flat cell index of each slot

    @property
    def n_slots(self) -> int:
        return len(self.slot_cell)

    def slot_at(self, row: int, col: int) -> int:
        if not (0 <= row < self.height and 0 <= col < self.width):
            return -1
        return int(self.cell_slot[row * self.width + col])

    def cell_of(self, slot: int) -> tuple[int, int]:
        """(row, col) of a slot."""
        i = int(self.slot_cell[slot])
        return divmod(i, self.width)

    def block_of_slot(self, slot: int) -> VmaBlock | None:
        for b in self.blocks:
            if b.base <= slot < b.base + b.npages:
                return b
        return None

    def block_at_row(self, row: int) -> VmaBlock | None:
        for b in self.blocks:
            if b.header_row <= row < b.row0 + b.nrows:
                return b
        return None

    def row_address(self, row: int) -> int | None:
        """The virtual address of the first cell of a row of pages, None for header and gap rows."""
        for b in self.blocks:
            if b.row0 <= row < b.row0 + b.nrows:
                return (b.vpage0 + (row - b.row0) * self.width) << 12
        return None

    def slot_address(self, slot: int) -> int:
        b = self.block_of_slot(slot)
        if b is None:
            raise IndexError(slot)
        return (b.vpage0 + slot - b.base) << 12

    def codes(self, slot_codes: np.ndarray) -> np.ndarray:
        """Scatter per-slot codes into the (height, width) uint8 image; gaps stay GAP."""
        img = np.zeros(self.height * self.width, np.uint8)
        runs = self._runs
        if runs is None:
            img[self.slot_cell] = slot_codes
        else:  # a vma's slots fill consecutive cells: a copy per vma (~5 us the tour's 19, a scatter ~16 us)
            for cell, slot, n in runs:
                img[cell:cell + n] = slot_codes[slot:slot + n]
        return img.reshape(self.height, self.width)

    @cached_property
    def _runs(self) -> tuple[tuple[int, int, int], ...] | None:
        """(first cell, first slot, pages) per block, when slot_cell is exactly those runs and they
        are few; None: codes() scatters through slot_cell."""
        runs = tuple((b.row0 * self.width, b.base, b.npages) for b in self.blocks)
        if len(runs) > MAX_RUNS or sum(n for _, _, n in runs) != self.n_slots:
            return None
        for cell, slot, n in runs:
            if not np.array_equal(self.slot_cell[slot:slot + n], np.arange(cell, cell + n)):
                return None
        return runs


def size_text(npages: int) -> str:
    kb = npages * C.PAGE_KB
    for unit, div in (("GiB", 1 << 20), ("MiB", 1 << 10)):
        if kb >= div:
            v = kb / div
            return f"{v:.0f} {unit}" if v == int(v) else f"{v:.1f} {unit}"
    return f"{kb} KiB"


def address_text(addr: int) -> str:
    return f"0x{addr:012x}"


def grid_height(layout, width: int) -> int:
    """Rows grid_layout(layout, width) will have: a header per vma, a gap between processes."""
    rows = max(0, len(layout.procs) - 1)
    for p in layout.procs:
        for v in p.vmas:
            rows += 1 + max(1, -(-v.npages // width))
    return max(rows, 1)


def choose_width(layout, aspect: float = 0.55) -> int:
    """The row width whose grid comes closest to `aspect` (rows / columns), as a power of two."""
    best, score = WIDTHS[0], float("inf")
    for w in WIDTHS:
        widest = max((v.npages for p in layout.procs for v in p.vmas), default=1)
        if w > 16 and widest < w // 2:
            break  # wider rows than the biggest vma only waste space
        s = abs(np.log((grid_height(layout, w) / w) / aspect))
        if s < score:
            best, score = w, s
    return best


def grid_layout(layout, width: int | None = None, aspect: float = 0.55) -> GridLayout:
    """Lay out every vma of every process (trace.layout) as blocks of rows."""
    w = width or choose_width(layout, aspect)
    blocks: list[VmaBlock] = []
    row = 0
    for p in layout.procs:
        row += 1 if blocks else 0
        for v in p.vmas:
            row += 1  # header
            nrows = max(1, -(-v.npages // w))
            blocks.append(VmaBlock(p.index, p.name, v.name, v.backing, v.shared, v.base, v.npages, v.vpage0,
                                   row, nrows))
            row += nrows
    height = max(row, 1)
    cell_slot = np.full(height * w, -1, np.int64)
    slot_cell = np.zeros(layout.n_slots, np.int64)
    for b in blocks:
        cells = b.row0 * w + np.arange(b.npages, dtype=np.int64)
        cell_slot[cells] = np.arange(b.base, b.base + b.npages, dtype=np.int64)
        slot_cell[b.base:b.base + b.npages] = cells
    cell_slot.flags.writeable = False
    slot_cell.flags.writeable = False
    return GridLayout(w, height, tuple(blocks), cell_slot, slot_cell)


def frame_image(frame, grid: GridLayout, pg_mlocked: bool, flash: tuple[int, ...] = (),
                alert: bool = False) -> np.ndarray:
    """The grid image of one frame: codes per cell, with FLASH (and ALERT) on the slots in `flash`."""
    sc = K.slot_codes(frame, pg_mlocked)
    for s in flash:
        if 0 <= s < len(sc):
            sc[s] |= K.FLASH | (K.ALERT if alert else 0)
    return grid.codes(sc)
