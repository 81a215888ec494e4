"""CodeImageItem: an ImageItem for uint8 cell codes coloured by a 256-entry LUT, cheap to repaint.

pyqtgraph turns such an image into an Indexed8 QImage, rebuilding its 256-colour table in Python
on every new frame, and Qt has no scaling blit for Indexed8: every paint goes through its generic
transformed-texture fill, looking each pixel up in the colour table (0.3-0.6 ms per view per paint,
more than the rest of the grid). Here the LUT becomes a table of 256 premultiplied ARGB32 pixels
once per LUT (made by Qt's own conversion of that colour table, so the colours are the same), and
a frame is one numpy take into an ARGB32_Premultiplied image.

That image is painted as a texture brush over the image's rectangle: the same transformed-texture
fill as before, so every device pixel samples the same cell (pixel-identical output), only without
the colour-table lookups. (QPainter.drawImage of an ARGB32 image would take Qt's scaling blit
instead, faster still, but it snaps the image to whole device pixels: cells move by up to half a
pixel and the first column comes out a pixel narrower beside the axis.)

When a cell spans less than a device pixel, nearest sampling would drop whole rows and columns
(and the page states in them); an item given a present.pool.Pooling paints instead the codes max
pooled into blocks of at least one pixel each (the highest state of each block, its flags OR-ed,
the event bits left to the view's rings), computed with numpy once per image and pooling factor.

Anything else (other dtypes, levels, downsampling) goes through pyqtgraph unchanged.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui

from zpviz.present import codes as K
from zpviz.present import pool

ARGB32_PM = QtGui.QImage.Format.Format_ARGB32_Premultiplied


def premultiplied_table(lut: np.ndarray) -> np.ndarray:
    """(256,) uint32 premultiplied ARGB32 pixels of a (256, 4) uint8 RGBA LUT, as Qt converts them."""
    lut = np.ascontiguousarray(lut, np.uint8)
    index = QtGui.QImage(256, 1, QtGui.QImage.Format.Format_Indexed8)
    index.setColorTable([QtGui.qRgba(int(r), int(g), int(b), int(a)) for r, g, b, a in lut.tolist()])
    row = np.frombuffer(index.bits(), np.uint8, count=index.bytesPerLine())
    row[:256] = np.arange(256, dtype=np.uint8)
    pm = index.convertToFormat(ARGB32_PM)
    return np.frombuffer(pm.constBits(), np.uint32, count=256).copy()


class CodeImageItem(pg.ImageItem):
    def __init__(self, *args, pooling: pool.Pooling | None = None, **kw):
        super().__init__(*args, **kw)
        self._table_key: bytes | None = None
        self._table: np.ndarray | None = None
        self._pixels: np.ndarray | None = None  # the QImage's memory: it must live as long as the image
        self._fast_ready = False  # render() took the fast path: paint colours the codes itself
        self.pooling = pooling
        # the pooled picture: (source image, fy, fx) -> codes, ARGB32 pixels and their QImage
        self._pool_key: tuple | None = None
        self._pool_codes: np.ndarray | None = None
        self._pool_pixels: np.ndarray | None = None
        self._pool_qimage: QtGui.QImage | None = None
        self.last_factors = (1, 1)  # the (fy, fx) of the last paint, for tests and the marks layer
        self.min_px = pool.MIN_CELL_PX  # device pixels a cell or pooled block spans at least

    def factors_for(self, transform: QtGui.QTransform) -> tuple[int, int]:
        """(fy, fx): cells per pooled cell down and across, for a paint through `transform`."""
        if self.pooling is None:
            return 1, 1
        sx = (transform.m11() ** 2 + transform.m12() ** 2) ** 0.5
        sy = (transform.m21() ** 2 + transform.m22() ** 2) ** 0.5
        return pool.factor(sy, self.min_px), pool.factor(sx, self.min_px)

    def pooled(self, fy: int, fx: int) -> np.ndarray:
        """The image's codes pooled fy x fx (cached per image and factors), event bits cleared."""
        key = (fy, fx)
        if self._pool_key is None or self._pool_key[0] is not self.image or self._pool_key[1:] != key:
            codes = self.pooling.pool(self.image, fy, fx) & np.uint8(~(K.FLASH | K.ALERT) & 0xFF)
            self._pool_key = (self.image, *key)
            self._pool_codes = codes
            self._pool_pixels = None
        return self._pool_codes

    def _fast(self) -> bool:
        img, lut, lv = self.image, self.lut, self.levels
        return (isinstance(img, np.ndarray) and img.dtype == np.uint8 and img.ndim == 2 and img.size > 0
                and self.axisOrder == "row-major" and not self.autoDownsample
                and isinstance(lut, np.ndarray) and lut.shape == (256, 4) and lut.dtype == np.uint8
                and lv is not None and np.ndim(lv) == 1 and len(lv) == 2 and lv[0] == 0 and lv[1] == 255)

    def render(self) -> None:
        if not self._fast():
            self._fast_ready = False
            self._pixels = None
            super().render()
            return
        key = self.lut.tobytes()
        if key != self._table_key:
            self._table, self._table_key = premultiplied_table(self.lut), key
        # a new image or LUT: both pictures are coloured again, when a paint needs them (a pooled
        # view never needs the full-size one, which costs as much as the pooling)
        self._fast_ready = True
        self._pixels = None
        self._pool_pixels = None
        self.qimage = None
        self._renderRequired = False
        self._unrenderable = False

    def _full_image(self) -> None:
        """The image's ARGB32 pixels and their QImage, one pixel per cell."""
        if self._pixels is None:
            h, w = self.image.shape
            self._pixels = np.ascontiguousarray(self._table[self.image])
            self.qimage = QtGui.QImage(self._pixels.data, w, h, w * 4, ARGB32_PM)

    def _pooled_qimage(self, fy: int, fx: int) -> tuple[int, int]:
        """Colour the pooled codes into self._pool_qimage (once per image and factors); its (h, w)."""
        codes = self.pooled(fy, fx)
        if self._pool_pixels is None:
            ph, pw = codes.shape
            self._pool_pixels = np.ascontiguousarray(self._table[codes])
            self._pool_qimage = QtGui.QImage(self._pool_pixels.data, pw, ph, pw * 4, ARGB32_PM)
        return self._pool_pixels.shape

    def _paint_pooled_image(self, p: QtGui.QPainter, fy: int, fx: int) -> None:
        """The pooled picture as one image stretched over the cells (vector output: SVG)."""
        self.last_factors = (fy, fx)
        ph, pw = self._pooled_qimage(fy, fx)
        p.save()
        p.setRenderHint(QtGui.QPainter.RenderHint.SmoothPixmapTransform, False)
        p.drawImage(QtCore.QRectF(0, 0, pw * fx, ph * fy), self._pool_qimage)
        p.restore()

    def paint(self, p: QtGui.QPainter, *args) -> None:
        if self.image is None:
            return
        if self._renderRequired:
            self.render()
            if self._unrenderable:
                return
        engine = p.paintEngine()
        if (not self._fast_ready or self.paintMode is not None or self.border is not None or engine is None
                or engine.type() != QtGui.QPaintEngine.Type.Raster):  # SVG and the like: a plain image
            fy, fx = self.factors_for(p.transform()) if self._fast_ready else (1, 1)
            if (fy, fx) != (1, 1) and self.paintMode is None and self.border is None:
                self._paint_pooled_image(p, fy, fx)  # an SVG viewer would average the full image's cells away
                return
            if self._fast_ready:
                self._full_image()
            super().paint(p, *args)
            return
        fy, fx = self.factors_for(p.transform())
        self.last_factors = (fy, fx)
        h, w = self.image.shape
        p.save()
        p.setRenderHint(QtGui.QPainter.RenderHint.SmoothPixmapTransform, False)  # blending invents colours
        p.setBrushOrigin(0, 0)  # texel (0, 0) at the image's corner, in item coordinates
        if (fy, fx) == (1, 1):
            self._full_image()
            p.fillRect(QtCore.QRectF(0, 0, w, h), QtGui.QBrush(self.qimage))
        else:
            ph, pw = self._pooled_qimage(fy, fx)
            p.scale(fx, fy)  # one texel per block of cells (a brush transform instead is 5x slower in Qt)
            p.fillRect(QtCore.QRectF(0, 0, pw, ph), QtGui.QBrush(self._pool_qimage))
        p.restore()
