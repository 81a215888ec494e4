"""Cell outlines and glyphs over the address-space image, drawn only once cells are big enough.

One ImageItem paints every cell's colour; this item adds, for the visible cells only, thin gaps
between cells (so they read as cells, not a slab) and a letter per state plus corner badges for
mlocked / huge / special, so a grey-scale projector still tells zero from anon from file.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui

from zpviz.gui.theme import qcolor
from zpviz.present.palette import Glyph, Theme, glyph_table

OUTLINE_PX = 5  # cells at least this big get gaps between them
GLYPH_PX = 15  # ... and at least this big get a letter
MAX_CELLS = 12000  # never draw more glyphs than this in one paint


class GlyphItem(pg.GraphicsObject):
    def __init__(self, theme: Theme):
        super().__init__()
        self._codes: np.ndarray | None = None
        self._glyphs: tuple[Glyph, ...] = ()
        self._gap = QtGui.QColor()
        self.set_theme(theme)
        self.setAcceptedMouseButtons(QtCore.Qt.MouseButton.NoButton)

    def set_theme(self, theme: Theme) -> None:
        self._glyphs = glyph_table(theme)
        self._gap = qcolor(theme.panel)
        self.update()

    def set_codes(self, codes: np.ndarray) -> None:
        resized = self._codes is None or self._codes.shape != codes.shape
        if resized:
            self.prepareGeometryChange()
        self._codes = codes
        self.update()

    def boundingRect(self) -> QtCore.QRectF:
        if self._codes is None:
            return QtCore.QRectF()
        h, w = self._codes.shape
        return QtCore.QRectF(0, 0, w, h)

    def cell_px(self) -> float:
        """How many device pixels one cell spans now."""
        v = self.pixelVectors()
        if v is None or v[0] is None:
            return 0.0
        length = math.hypot(v[0].x(), v[0].y())
        return 1.0 / length if length > 0 else 0.0

    def paint(self, p: QtGui.QPainter, *args) -> None:
        codes = self._codes
        if codes is None:
            return
        t = p.transform()
        if t.m12() == 0 and t.m21() == 0 and abs(t.m11()) < OUTLINE_PX * 0.99:
            # cells well under the outline size: nothing to draw. The painter's scale is the view's
            # (the window, its grabs and exports all paint the scene through its view at 1:1), so
            # this is cell_px's answer without pyqtgraph's pixelVectors (~40 us a paint); near the
            # size, or turned, cell_px decides
            return
        px = self.cell_px()
        if px < OUTLINE_PX:
            return
        vr = self.viewRect()
        if vr is None:
            return
        h, w = codes.shape
        c0, c1 = max(0, int(vr.left())), min(w, int(math.ceil(vr.right())))
        r0, r1 = max(0, int(vr.top())), min(h, int(math.ceil(vr.bottom())))
        if c1 <= c0 or r1 <= r0:
            return
        tr = p.transform()
        p.save()
        p.resetTransform()
        pen = QtGui.QPen(self._gap)
        pen.setWidthF(max(1.0, px * 0.07))
        p.setPen(pen)
        for c in range(c0, c1 + 1):
            p.drawLine(tr.map(QtCore.QPointF(c, r0)), tr.map(QtCore.QPointF(c, r1)))
        for r in range(r0, r1 + 1):
            p.drawLine(tr.map(QtCore.QPointF(c0, r)), tr.map(QtCore.QPointF(c1, r)))
        if px >= GLYPH_PX and (c1 - c0) * (r1 - r0) <= MAX_CELLS:
            self._paint_glyphs(p, tr, codes, px, c0, c1, r0, r1)
        p.restore()

    def _paint_glyphs(self, p, tr, codes, px, c0, c1, r0, r1) -> None:
        big = QtGui.QFont("DejaVu Sans")
        big.setPixelSize(int(min(48, max(8, px * 0.5))))
        big.setBold(True)
        small = QtGui.QFont("DejaVu Sans")
        small.setPixelSize(int(min(20, max(7, px * 0.26))))
        small.setBold(True)
        ink = (QtGui.QColor(20, 20, 20), QtGui.QColor(250, 250, 250))
        block = codes[r0:r1, c0:c1]
        rows, cols = np.nonzero(block)
        for code in np.unique(block[rows, cols]).tolist():
            g = self._glyphs[code]
            if not g.text and not g.badges:
                continue
            p.setPen(ink[0] if g.dark_ink else ink[1])
            sel = block[rows, cols] == code
            for r, c in zip((rows[sel] + r0).tolist(), (cols[sel] + c0).tolist()):
                tl = tr.map(QtCore.QPointF(c, r))
                br = tr.map(QtCore.QPointF(c + 1, r + 1))
                rect = QtCore.QRectF(tl, br).normalized()
                if g.text:
                    p.setFont(big)
                    p.drawText(rect, QtCore.Qt.AlignmentFlag.AlignCenter, g.text)
                if g.badges and px >= GLYPH_PX * 1.4:
                    p.setFont(small)
                    inner = rect.adjusted(2, 1, -3, -1)
                    p.drawText(inner, QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignTop,
                               g.badges)
