"""MarksItem: mlocked and huge pages as hatching drawn over the cells' fill, at any zoom.

The fill says a page's state; whether it is also mlocked or part of a huge page used to be only a
shade of that colour, invisible at 720p once cells are a pixel or two. Here they are marks: a
hatch in device pixels (so it reads the same at every zoom), "\\" for mlocked and "/" for huge
(both: a cross), over the cells that have the flag, or, in a pooled view, over the blocks in
which any page has it (the image item's own pooled codes), so no flag is sampled away either.

The hatch is a texture brush in the panel's colour: the LUT shades mlocked cells towards the
text colour, so the lines contrast with them in every theme.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui

from zpviz.gui.theme import qcolor
from zpviz.present import codes as K
from zpviz.present.palette import Theme

HATCH_PX = 6  # the hatch's period in device pixels
MAX_RECTS = 20000  # rectangles a mark's region holds at most (a scattered flag over a huge grid)


def hatch_brush(colour: QtGui.QColor, forward: bool, width: float = 1.6) -> QtGui.QBrush:
    """A texture brush of diagonal lines HATCH_PX apart: "/" (forward) or "\\"."""
    n = HATCH_PX * 4
    pm = QtGui.QPixmap(n, n)
    pm.fill(QtCore.Qt.GlobalColor.transparent)
    p = QtGui.QPainter(pm)
    p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
    p.setPen(QtGui.QPen(colour, width))
    for k in range(-n, 2 * n, HATCH_PX):  # lines past the tile's corners, so the tile repeats seamlessly
        if forward:
            p.drawLine(QtCore.QPointF(k, n), QtCore.QPointF(k + n, 0))
        else:
            p.drawLine(QtCore.QPointF(k, 0), QtCore.QPointF(k + n, n))
    p.end()
    return QtGui.QBrush(pm)


def flag_rects(codes: np.ndarray, bit: int) -> list[tuple[int, int, int, int]]:
    """(row, col, rows, cols) rectangles covering the cells with `bit`: runs along each row, a run
    repeated on the rows below merged into one taller rectangle (a whole locked vma is a few)."""
    on = (codes & bit) != 0
    if not on.any():
        return []
    h, w = on.shape
    padded = np.zeros((h, w + 2), np.int8)
    padded[:, 1:-1] = on
    d = np.diff(padded, axis=1)
    starts_r, starts_c = np.nonzero(d == 1)
    _, ends_c = np.nonzero(d == -1)  # row-major, so each row's ends pair with its starts
    open_runs: dict[tuple[int, int], list[int]] = {}  # (c0, c1) -> [row0, rows] of the rectangle growing
    out: list[tuple[int, int, int, int]] = []
    last_row = -1
    for r, c0, c1 in zip(starts_r.tolist(), starts_c.tolist(), ends_c.tolist()):
        if r != last_row:  # rectangles that did not continue onto this row are done
            for key in [k for k, v in open_runs.items() if v[0] + v[1] < r]:
                v = open_runs.pop(key)
                out.append((v[0], key[0], v[1], key[1] - key[0]))
            last_row = r
        v = open_runs.get((c0, c1))
        if v is not None and v[0] + v[1] == r:
            v[1] += 1
        else:
            if v is not None:
                out.append((v[0], c0, v[1], c1 - c0))
            open_runs[(c0, c1)] = [r, 1]
        if len(out) + len(open_runs) > MAX_RECTS:
            break
    out.extend((v[0], k[0], v[1], k[1] - k[0]) for k, v in open_runs.items())
    return out


class MarksItem(pg.GraphicsObject):
    """Hatching over the image item's cells (or pooled blocks) that are mlocked or huge."""

    MARKS = ((K.MLOCKED, False), (K.HUGE, True))  # (bit, forward)
    FLAG_BITS = K.MLOCKED | K.HUGE

    def __init__(self, image, theme: Theme):
        super().__init__()
        self.image = image  # the CodeImageItem whose codes (pooled as it paints them) carry the flags
        self.setAcceptedMouseButtons(QtCore.Qt.MouseButton.NoButton)
        self._brushes: dict[int, QtGui.QBrush] = {}
        self._cache: tuple | None = None  # (codes, fy, fx) -> {bit: QPainterPath}
        self._flags: np.ndarray | None = None  # the flag bits those paths were made from (at the cache's fy, fx)
        self._paths: dict[int, QtGui.QPainterPath] = {}
        self.set_theme(theme)

    def set_theme(self, theme: Theme) -> None:
        ink = qcolor(theme.panel, 230)
        self._brushes = {bit: hatch_brush(ink, forward) for bit, forward in self.MARKS}
        self.update()

    def changed(self) -> None:
        """The image's codes changed: repaint (the region is worked out at paint time)."""
        self.prepareGeometryChange()
        self.update()

    def boundingRect(self) -> QtCore.QRectF:
        img = self.image.image
        if img is None:
            return QtCore.QRectF()
        h, w = img.shape
        return QtCore.QRectF(0, 0, w, h)

    def regions(self, fy: int, fx: int) -> dict[int, QtGui.QPainterPath]:
        """Each mark's region in cell coordinates, at pooling factors (fy, fx); cached per image."""
        img = self.image.image
        key = (fy, fx)
        if self._cache is not None and self._cache[0] is img and self._cache[1:] == key:
            return self._paths
        codes = img if (fy, fx) == (1, 1) else self.image.pooled(fy, fx)
        # the regions depend on the flag bits alone, which a step seldom changes (its image is new
        # at every frame): the paths are kept while those bits are the same
        flags = codes & np.uint8(self.FLAG_BITS)
        if (self._cache is not None and self._cache[1:] == key and self._flags is not None
                and np.array_equal(self._flags, flags)):
            self._cache = (img, *key)
            return self._paths
        paths = {}
        if flags.any():
            for bit, _ in self.MARKS:
                rects = flag_rects(flags, bit)
                if rects:
                    path = QtGui.QPainterPath()
                    for r, c, nr, nc in rects:
                        path.addRect(QtCore.QRectF(c * fx, r * fy, nc * fx, nr * fy))
                    paths[bit] = path
        self._cache, self._paths, self._flags = (img, *key), paths, flags
        return paths

    def paint(self, p: QtGui.QPainter, *args) -> None:
        img = self.image.image
        if img is None or not isinstance(img, np.ndarray) or img.dtype != np.uint8 or self.image.pooling is None:
            return
        fy, fx = self.image.factors_for(p.transform())
        paths = self.regions(fy, fx)
        if not paths:
            return
        tr = p.transform()
        p.save()
        p.resetTransform()  # the hatch in device pixels: the same lines at every zoom
        p.setPen(QtCore.Qt.PenStyle.NoPen)
        p.setBrushOrigin(0, 0)
        for bit, path in paths.items():
            p.fillPath(tr.map(path), self._brushes[bit])
        p.restore()
