"""Ring: the pixel-sized ring(s) marking the page (or frame) the current event touches."""

from __future__ import annotations

import pyqtgraph as pg

from zpviz.gui.theme import qcolor


class Ring(pg.ScatterPlotItem):
    """Nearly every frame flashes exactly one page, somewhere else than the last frame's. Giving a
    ScatterPlotItem new spot data (records, symbol lookups, pens) cost ~0.3 ms per view per frame;
    so one ring is one spot at the item's origin, and the item moves (setPos), which costs next to
    nothing and puts the spot on the same device pixels."""

    def __init__(self, size: int):
        super().__init__(pxMode=True, symbol="o", size=size)
        self._one: tuple | None = None  # (colour, size, width) of the single spot at the origin, if that is the data

    def show_one(self, x: float, y: float, colour: str, size: int, width: float) -> None:
        """One ring at (x, y), view coordinates."""
        style = (colour, size, width)
        if style != self._one:
            self.setData([0.0], [0.0], pen=pg.mkPen(qcolor(colour), width=width), brush=pg.mkBrush(None), size=size)
            self._one = style
        self.setPos(x, y)

    def show_many(self, xs: list[float], ys: list[float], colour: str, size: int, width: float) -> None:
        """A ring at each (x, y); none for empty lists."""
        self._one = None
        self.setPos(0, 0)
        if not xs:
            self.setData([], [])
            return
        self.setData(xs, ys, pen=pg.mkPen(qcolor(colour), width=width), brush=pg.mkBrush(None), size=size)
