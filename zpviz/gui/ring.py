"""Ring: the pixel-sized ring(s) marking the page (or frame) the current event touches."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui

from zpviz.gui.theme import qcolor


class Ring(pg.ScatterPlotItem):
    """Nearly every frame flashes exactly one page, somewhere else than the last frame's. Giving a
    ScatterPlotItem new spot data (records, symbol lookups, pens) cost ~0.3 ms per view per frame;
    so one ring is one spot at the item's origin, and the item moves (setPos), which costs next to
    nothing and puts the spot on the same device pixels."""

    def __init__(self, size: int):
        super().__init__(pxMode=True, symbol="o", size=size)
        self._one: tuple | None = None  # (colour, size, width) of the single spot at the origin, if that is the data
        self._bounds_key: tuple | None = None  # what the last boundingRect was worked out from
        self._bounds = QtCore.QRectF()

    def show_one(self, x: float, y: float, colour: str, size: int, width: float) -> None:
        """One ring at (x, y), view coordinates."""
        style = (colour, size, width)
        if style != self._one:
            self.setData([0.0], [0.0], pen=pg.mkPen(qcolor(colour), width=width), brush=pg.mkBrush(None), size=size)
            self._one = style
        self.setPos(x, y)

    def show_many(self, xs: list[float], ys: list[float], colour: str, size: int, width: float) -> None:
        """A ring at each (x, y); none for empty lists."""
        if not xs and self._one is None and not len(self.data) and self.pos().isNull():
            return  # no ring already (most frames of a physical view: a zero-page tile flashes, not a cell)
        self._one = None
        self.setPos(0, 0)
        if not xs:
            self.setData([], [])
            return
        self.setData(xs, ys, pen=pg.mkPen(qcolor(colour), width=width), brush=pg.mkBrush(None), size=size)

    def boundingRect(self) -> QtCore.QRectF:
        """ScatterPlotItem's, kept while what it depends on stays: the data's bounds, the spots'
        pixel padding and the linear part of the item's device transform (pixelVectors ignores
        the translation; the ring moves by setPos). Qt asks twice a paint, and pyqtgraph's
        pixelVectors cost ~20 us a call; a moved ring keeps its rectangle."""
        view = self.getViewWidget()
        if view is None:
            return super().boundingRect()
        st, vt = self.sceneTransform(), view.viewportTransform()
        key = (st.m11(), st.m12(), st.m21(), st.m22(), vt.m11(), vt.m12(), vt.m21(), vt.m22(),
               self.bounds[0], self.bounds[1], self._maxSpotPxWidth)
        if key != self._bounds_key or None in key:
            self._bounds = super().boundingRect()
            # (bounds as they are after the call: dataBounds fills them in)
            self._bounds_key = (*key[:8], self.bounds[0], self.bounds[1], self._maxSpotPxWidth)
        return QtCore.QRectF(self._bounds)

    def paint(self, p, option, widget) -> None:
        """The one ring: the atlas fragment ScatterPlotItem.paint draws, culled and placed as it
        does, without its numpy coordinate arrays and pixel vectors (~0.2 ms a view a frame)."""
        if (not len(self.data) and self._exportOpts is False and self.opts["pxMode"] is True and self.opts["useCache"]
                and self.opts.get("compositionMode") is None):
            # no spot (a physical view's ring at most frames: the zero-page tile flashes, not a cell):
            # ScatterPlotItem.paint would cull, map and draw zero fragments, ~0.15 ms a step for nothing
            return
        atlas = self.fragmentAtlas
        t = p.transform()
        if (self._one is None or len(self.data) != 1 or self._exportOpts is not False or not self.opts["pxMode"]
                or not self.opts["useCache"] or self.opts.get("compositionMode") is not None
                or t.type().value > QtGui.QTransform.TransformationType.TxScale.value  # rotated, sheared
                or t.m11() == 0 or t.m22() == 0
                or (widget is not None and widget.devicePixelRatioF() != atlas.devicePixelRatio())):
            super().paint(p, option, widget)
            return
        if not self.data["visible"][0]:
            return
        sx, sy, sw, sh = (int(v) for v in np.frombuffer(self.data["sourceRect"], dtype=int))
        # pyqtgraph's culling (ScatterPlotItem._maskAt): the spot's half size, in item units through
        # the pixel vectors (one device pixel's length along x and y), against the visible view
        vr = self.viewRect()
        hw, hh = sw / 2 / abs(t.m11()), sh / 2 / abs(t.m22())
        if not (-hw < vr.right() and hw > vr.left() and -hh < vr.bottom() and hh > vr.top()):
            return
        dpr = atlas.devicePixelRatio()
        x, y = (min(max(v, -2.0 ** 30), 2.0 ** 30) for v in (t.dx(), t.dy()))  # as pyqtgraph clips its points
        frag = QtGui.QPainter.PixmapFragment.create(QtCore.QPointF(x, y), QtCore.QRectF(sx, sy, sw, sh),
                                                     1 / dpr, 1 / dpr)
        p.resetTransform()  # the spot sits at the item's origin: its device point is the translation
        p.drawPixmapFragments(frag, 1, atlas.pixmap)
