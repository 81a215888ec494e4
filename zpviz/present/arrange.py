"""How to lay out one to five memory views in the window: side by side or stacked, which row
width, and whether each gets its physical-memory panel. Chosen for the biggest cells."""

from __future__ import annotations

from dataclasses import dataclass

from zpviz.present.grid import WIDTHS, grid_height

AXIS_PX = 125  # the address axis and margins
TITLE_PX = 70  # view titles, the top axis, a variant's title and status line
PHYS_SHARE = 5 / 7  # the address space's share of a view that also shows physical memory
PHYS_MIN_PANE_PX = 560  # narrower panes drop the physical-memory panel
# a stacked pane's least height: its title and status lines take 70 px, and the window must never
# grow taller than a 720p projector to fit panes stacked below that (side by side they fit)
MIN_STACKED_PANE_PX = 150


@dataclass(frozen=True)
class Arrangement:
    stacked: bool  # variants one above the other (else side by side)
    width: int  # cells per grid row
    phys: bool  # each view shows physical memory
    cell_px: float  # the resulting cell size

    def key(self) -> tuple:
        return (self.stacked, self.width, self.phys)


def arrange(layout, n: int, area_w: float, area_h: float, phys: bool = True) -> Arrangement:
    """phys=False: no pane gets a physical-memory panel (this machine's pane has none to show, and
    panes side by side must have the same shape to line their cells up)."""
    best: Arrangement | None = None
    allow_phys = phys
    widest = max((v.npages for p in layout.procs for v in p.vmas), default=1)
    for stacked in ((False, True) if n > 1 and area_h / n >= MIN_STACKED_PANE_PX else (False,)):
        pw, ph = (area_w, area_h / n) if stacked else (area_w / n, area_h)
        phys = allow_phys and pw >= PHYS_MIN_PANE_PX
        axis = AXIS_PX if stacked or n == 1 else AXIS_PX / n + 10  # side by side: one address axis, shared
        plot_w = max(40.0, pw * (PHYS_SHARE if phys else 1.0) - axis)
        plot_h = max(40.0, ph - TITLE_PX)
        for w in WIDTHS:
            if w > 16 and widest < w // 2:
                break
            cell = min(plot_w / w, plot_h / grid_height(layout, w))
            a = Arrangement(stacked, w, phys, cell)
            if best is None or cell > best.cell_px * 1.05:  # prefer side by side and narrower rows on ties
                best = a
    return best
