"""OverviewItem: while the address space is zoomed, a small picture of the whole grid in the view's
corner with an outline where the zoom is, so the room knows which part of the table it sees.

It is the grid's own codes, max pooled (present.pool) to fit the inset, so a sparse state still
shows in it; it lives in the ViewBox's own (pixel) coordinates, so it stays put as the view pans.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui

from zpviz.gui.theme import qcolor
from zpviz.present import codes as K
from zpviz.present import pool
from zpviz.present.palette import Theme

MAX_SHARE = 0.3  # of the view's width and height, at most
MAX_PX = 160
MARGIN_PX = 6


class OverviewItem(pg.GraphicsObject):
    def __init__(self, view_box: pg.ViewBox, image, theme: Theme):
        super().__init__(view_box)  # a child of the ViewBox itself, not of its panning child group
        self.vb = view_box
        self.image = image  # the grid's CodeImageItem: its codes and colour table
        self.setZValue(1000)
        self.setAcceptedMouseButtons(QtCore.Qt.MouseButton.NoButton)
        self._cache: tuple | None = None  # (codes, pooled ARGB32 array, QImage)
        self.enabled = True  # compare: only the first pane shows one
        self.set_theme(theme)
        view_box.sigRangeChanged.connect(self.refresh)
        view_box.sigResized.connect(self.refresh)

    def set_theme(self, theme: Theme) -> None:
        self.theme = theme
        self._cache = None
        self.update()

    def refresh(self, *args) -> None:
        self.prepareGeometryChange()
        self.update()

    def zoomed(self) -> bool:
        """True while the view does not show the whole grid."""
        img = self.image.image
        if img is None or not self.enabled:
            return False
        h, w = img.shape
        vr = self.vb.viewRect()
        return not (vr.left() <= 0.5 and vr.top() <= 0.5 and vr.right() >= w - 0.5 and vr.bottom() >= h - 0.5)

    def inset(self) -> QtCore.QRectF:
        """Where the overview is drawn, in the ViewBox's pixels (empty when it is not shown)."""
        img = self.image.image
        if img is None or not self.zoomed():
            return QtCore.QRectF()
        h, w = img.shape
        room_w = min(MAX_PX, self.vb.width() * MAX_SHARE)
        room_h = min(MAX_PX, self.vb.height() * MAX_SHARE)
        s = min(room_w / w, room_h / h)
        if s * w < 16 or s * h < 12:
            return QtCore.QRectF()
        return QtCore.QRectF(self.vb.width() - MARGIN_PX - w * s, MARGIN_PX, w * s, h * s)

    def boundingRect(self) -> QtCore.QRectF:
        r = self.inset()
        return r.adjusted(-3, -3, 3, 3) if not r.isEmpty() else QtCore.QRectF()

    def outline(self) -> QtCore.QRectF:
        """The view's range drawn in the inset (ViewBox pixels), clipped to it."""
        r = self.inset()
        img = self.image.image
        if r.isEmpty() or img is None:
            return QtCore.QRectF()
        h, w = img.shape
        vr = self.vb.viewRect()
        sx, sy = r.width() / w, r.height() / h
        o = QtCore.QRectF(r.left() + vr.left() * sx, r.top() + vr.top() * sy, vr.width() * sx, vr.height() * sy)
        return o.intersected(r)

    def _picture(self, r: QtCore.QRectF) -> QtGui.QImage | None:
        img = self.image.image
        table = getattr(self.image, "_table", None)
        if img is None or table is None:
            return None
        if self._cache is not None and self._cache[0] is img and self._cache[3] is table:
            return self._cache[2]
        h, w = img.shape
        f = max(1, math.ceil(max(w / max(r.width(), 1.0), h / max(r.height(), 1.0))))
        codes = pool.PAGES.pool(img, f, f) & np.uint8(~(K.FLASH | K.ALERT) & 0xFF)
        pixels = np.ascontiguousarray(table[codes])
        ph, pw = codes.shape
        q = QtGui.QImage(pixels.data, pw, ph, pw * 4, QtGui.QImage.Format.Format_ARGB32_Premultiplied)
        self._cache = (img, pixels, q, table)
        return q

    def paint(self, p: QtGui.QPainter, *args) -> None:
        r = self.inset()
        if r.isEmpty():
            return
        q = self._picture(r)
        if q is None:
            return
        t = self.theme
        p.save()
        p.setRenderHint(QtGui.QPainter.RenderHint.SmoothPixmapTransform, False)
        p.fillRect(r.adjusted(-2, -2, 2, 2), qcolor(t.panel))
        p.drawImage(r, q)
        p.setPen(pg.mkPen(qcolor(t.muted), width=1))
        p.drawRect(r.adjusted(-2, -2, 2, 2))
        o = self.outline()
        if not o.isEmpty():
            p.setPen(pg.mkPen(qcolor(t.accent), width=2.5))
            p.setBrush(QtCore.Qt.BrushStyle.NoBrush)
            p.drawRect(o.adjusted(-1, -1, 1, 1))  # at least a few pixels, however small the zoom
        p.restore()
