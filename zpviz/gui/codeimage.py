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

Anything else (other dtypes, levels, downsampling) goes through pyqtgraph unchanged.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui

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
    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self._table_key: bytes | None = None
        self._table: np.ndarray | None = None
        self._pixels: np.ndarray | None = None  # the QImage's memory: it must live as long as the image

    def _fast(self) -> bool:
        img, lut, lv = self.image, self.lut, self.levels
        return (isinstance(img, np.ndarray) and img.dtype == np.uint8 and img.ndim == 2 and img.size > 0
                and self.axisOrder == "row-major" and not self.autoDownsample
                and isinstance(lut, np.ndarray) and lut.shape == (256, 4) and lut.dtype == np.uint8
                and lv is not None and np.ndim(lv) == 1 and len(lv) == 2 and lv[0] == 0 and lv[1] == 255)

    def render(self) -> None:
        if not self._fast():
            self._pixels = None
            super().render()
            return
        key = self.lut.tobytes()
        if key != self._table_key:
            self._table, self._table_key = premultiplied_table(self.lut), key
        h, w = self.image.shape
        self._pixels = np.ascontiguousarray(self._table[self.image])
        self.qimage = QtGui.QImage(self._pixels.data, w, h, w * 4, ARGB32_PM)
        self._renderRequired = False
        self._unrenderable = False

    def paint(self, p: QtGui.QPainter, *args) -> None:
        if self.image is None:
            return
        if self._renderRequired:
            self.render()
            if self._unrenderable:
                return
        engine = p.paintEngine()
        if (self._pixels is None or self.paintMode is not None or self.border is not None or engine is None
                or engine.type() != QtGui.QPaintEngine.Type.Raster):  # SVG and the like: a plain image
            super().paint(p, *args)
            return
        h, w = self._pixels.shape
        p.save()
        p.setBrushOrigin(0, 0)  # texel (0, 0) at the image's corner, in item coordinates
        p.fillRect(QtCore.QRectF(0, 0, w, h), QtGui.QBrush(self.qimage))
        p.restore()
