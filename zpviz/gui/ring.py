"""Ring: the pixel-sized ring(s) marking the page (or frame) the current event touches."""

from __future__ import annotations

import numpy as np
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

    def paint(self, p, option, widget) -> None:
        """The one ring: the atlas fragment ScatterPlotItem.paint draws, culled and placed as it
        does, without its coordinate arrays (~0.1 ms a view a frame, in Python)."""
        atlas = self.fragmentAtlas
        if (self._one is None or len(self.data) != 1 or self._exportOpts is not False or not self.opts["pxMode"]
                or not self.opts["useCache"] or self.opts.get("compositionMode") is not None
                or (widget is not None and widget.devicePixelRatioF() != atlas.devicePixelRatio())):
            super().paint(p, option, widget)
            return
        if not self._maskAt(self.viewRect())[0]:  # wholly outside the view: pyqtgraph draws nothing
            return
        dpr = atlas.devicePixelRatio()
        t = p.transform()  # the spot sits at the item's origin: its device point is the translation
        p.resetTransform()
        self._pixmapFragments.resize(1)
        frags = self._pixmapFragments.ndarray()
        frags[0, 0:2] = np.clip((t.dx(), t.dy()), -2 ** 30, 2 ** 30)  # as pyqtgraph clips its points
        frags[0, 2:6] = np.frombuffer(self.data["sourceRect"], dtype=int)
        frags[0, 6:10] = (1 / dpr, 1 / dpr, 0.0, 1.0)
        p.drawPixmapFragments(*self._pixmapFragments.drawargs(), atlas.pixmap)
