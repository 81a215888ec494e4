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

import math

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from zpviz.present import codes as K
from zpviz.present import pool

ARGB32_PM = QtGui.QImage.Format.Format_ARGB32_Premultiplied
SOURCE_OVER = QtGui.QPainter.CompositionMode.CompositionMode_SourceOver
_NO_EVENT_BITS = np.uint8(~(K.FLASH | K.ALERT) & 0xFF)  # pooled codes leave the event bits to the rings


def premultiplied_table(lut: np.ndarray) -> np.ndarray:
    """(256,) uint32 premultiplied ARGB32 pixels of a (256, 4) uint8 RGBA LUT, as Qt converts them."""
    lut = np.ascontiguousarray(lut, np.uint8)
    index = QtGui.QImage(256, 1, QtGui.QImage.Format.Format_Indexed8)
    index.setColorTable([QtGui.qRgba(int(r), int(g), int(b), int(a)) for r, g, b, a in lut.tolist()])
    row = np.frombuffer(index.bits(), np.uint8, count=index.bytesPerLine())
    row[:256] = np.arange(256, dtype=np.uint8)
    pm = index.convertToFormat(ARGB32_PM)
    return np.frombuffer(pm.constBits(), np.uint32, count=256).copy()



def changed_rows(a: np.ndarray, b: np.ndarray) -> tuple[int, int] | None:
    """(first, past the last) row where two 2-D arrays of one shape and dtype differ; None: equal.
    Rows compared eight bytes at a time where they allow it, the first and last difference found
    in the flat comparison (~3 us for a 204x128 grid; a reduction along the rows took ~6 us, and
    np.nonzero(a != b) ~80-120 us)."""
    if (a.dtype == b.dtype and a.flags.c_contiguous and b.flags.c_contiguous and a.shape[1]
            and (a.shape[1] * a.itemsize) % 8 == 0):
        a, b = a.view(np.uint64), b.view(np.uint64)
    differ = np.not_equal(a, b)
    at = np.flatnonzero(differ)
    if not len(at):
        return None
    w = differ.shape[1]
    return int(at[0]) // w, int(at[-1]) // w + 1


class Colouring:
    """ARGB32 pixels of a code image through a 256-entry table, coloured again only in the rows
    that changed since the last image of the same shape and table (a step changes a few cells; the
    whole take cost ~60-80 us a view). The same values as the whole take: table[codes] row by row."""

    def __init__(self):
        self.codes: np.ndarray | None = None  # a copy of the codes the pixels show
        self.key = None  # the table's key
        self.pixels: np.ndarray | None = None

    def colour(self, codes: np.ndarray, table: np.ndarray, key) -> np.ndarray:
        """The pixels of `codes` (kept by this object: changed in place at the next call)."""
        if self.pixels is None or key != self.key or self.codes.shape != codes.shape:
            self.pixels = np.ascontiguousarray(table[codes])
            self.codes, self.key = codes.copy(), key
            return self.pixels
        rows = changed_rows(self.codes, codes)
        if rows is not None:
            r0, r1 = rows
            self.pixels[r0:r1] = table[codes[r0:r1]]
            self.codes[r0:r1] = codes[r0:r1]
        return self.pixels

class CodeImageItem(pg.ImageItem):
    def __init__(self, *args, pooling: pool.Pooling | None = None, **kw):
        super().__init__(*args, **kw)
        self._table_key: bytes | None = None
        self._table: np.ndarray | None = None
        self._pixels: np.ndarray | None = None  # the QImage's memory: it must live as long as the image
        # (the pixels are kept from image to image and coloured again where the codes changed; each
        # new image gets a new QImage over them)
        self._colouring, self._pool_colouring = Colouring(), Colouring()
        self._fast_ready = False  # render() took the fast path: paint colours the codes itself
        self.pooling = pooling
        # the pooled picture: (source image, fy, fx) -> codes, ARGB32 pixels and their QImage
        self._pool_key: tuple | None = None
        self._pool_codes: np.ndarray | None = None
        self._pool_pixels: np.ndarray | None = None
        self._pool_qimage: QtGui.QImage | None = None
        self._pool_source: tuple | None = None  # (a copy of the image last pooled, fy, fx, its pooled codes)
        self.last_factors = (1, 1)  # the (fy, fx) of the last paint, for tests and the marks layer
        self.min_px = pool.MIN_CELL_PX  # device pixels a cell or pooled block spans at least
        self.layer = DeviceLayer()  # the filled picture at device resolution (raster paints)

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
            codes = self._repool(fy, fx)
            self._pool_key = (self.image, *key)
            self._pool_codes = codes
            self._pool_pixels = None
        return self._pool_codes

    def _repool(self, fy: int, fx: int) -> np.ndarray:
        """The image pooled fy x fx, event bits cleared: made again only in the blocks of rows that
        hold the rows changed since the last image pooled at these factors (a block of pooled rows
        is made from its fy rows of cells alone). A step changes a few rows, a scrub's seek a band;
        pooling the whole 262,144-page grid cost ~0.3 ms a view at every frame. A new array each
        time (the last one may be held by a colouring or a layer), equal to a pooling of the whole."""
        image = self.image
        last = self._pool_source
        codes = None
        if last is not None and last[1:3] == (fy, fx) and last[0].shape == image.shape and last[0].dtype == image.dtype:
            rows = changed_rows(last[0], image)
            if rows is None:
                codes = last[3].copy()
            else:
                b0, b1 = rows[0] // fy, -(-rows[1] // fy)  # the pooled rows those cells fall in
                if (b1 - b0) * 2 <= last[3].shape[0]:  # (else the whole, in one pass)
                    codes = last[3].copy()
                    codes[b0:b1] = self.pooling.pool(image[b0 * fy:b1 * fy], fy, fx) & _NO_EVENT_BITS
        if codes is None:
            codes = self.pooling.pool(image, fy, fx) & _NO_EVENT_BITS
        self._pool_source = (image.copy(), fy, fx, codes)  # (a copy: an image changed in place must differ)
        return codes

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
            self._pixels = self._colouring.colour(self.image, self._table, self._table_key)
            self.qimage = QtGui.QImage(self._pixels.data, w, h, w * 4, ARGB32_PM)

    def _pooled_qimage(self, fy: int, fx: int) -> tuple[int, int]:
        """Colour the pooled codes into self._pool_qimage (once per image and factors); its (h, w)."""
        codes = self.pooled(fy, fx)
        if self._pool_pixels is None:
            ph, pw = codes.shape
            self._pool_pixels = self._pool_colouring.colour(codes, self._table, self._table_key)
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
        if (fy, fx) == (1, 1):
            self._full_image()
            codes, texture, (th, tw) = self.image, self.qimage, self.image.shape
        else:
            th, tw = self._pooled_qimage(fy, fx)
            codes, texture = self._pool_codes, self._pool_qimage
        vb = self.getViewBox()  # the layer covers what the view box shows, whatever region this paint exposes
        bounds = self.mapRectFromItem(vb, vb.rect()) if isinstance(vb, QtWidgets.QGraphicsItem) else None
        if not self.layer.paint(p, codes, texture, tw, th, fx, fy, self._table_key, bounds):
            fill_texture(p, texture, tw, th, fx, fy)


def fill_texture(p: QtGui.QPainter, texture: QtGui.QImage, tw: int, th: int, fx: int, fy: int) -> None:
    """The texture over the image's rectangle, one texel a (pooled) cell: every device pixel takes
    the texel its centre falls in."""
    p.save()
    p.setRenderHint(QtGui.QPainter.RenderHint.SmoothPixmapTransform, False)  # blending invents colours
    p.setBrushOrigin(0, 0)  # texel (0, 0) at the image's corner, in item coordinates
    if (fx, fy) != (1, 1):
        p.scale(fx, fy)  # one texel per block of cells (a brush transform instead is 5x slower in Qt)
    p.fillRect(QtCore.QRectF(0, 0, tw, th), QtGui.QBrush(texture))
    p.restore()


class DeviceLayer:
    """The filled texture kept at device resolution, so a paint is one unscaled blit, and a new frame
    fills again only the device pixels of the cells whose codes changed (a step changes a few).

    The layer is what fill_texture drew into a transparent image with the painter's transform moved
    by a whole number of pixels (the same texels land on the same pixels), over the part of the image
    inside the painter's clip; blitted over the destination, it gives the pixels the fill gave. Kept
    per transform (scale and the fraction of its offset), clip, texture size, pooling and colour
    table; only for raster devices at device pixel ratio 1 without rotation (else: the plain fill).
    """

    def __init__(self):
        self.key: tuple | None = None
        self.image: QtGui.QImage | None = None
        self.codes: np.ndarray | None = None  # the codes the layer shows
        self.origin = QtCore.QPoint()  # the layer's top left, device pixels from the transform's whole offset
        self.rebuilt = 0  # (for tests) layers made from scratch
        self.patched = 0  # (for tests) partial fills
        self._geometry: tuple | None = None  # what _place was worked out from
        self._place: tuple | None = None  # (ox, oy, rect, layer transform): see _placed

    def clear(self) -> None:
        self.key = self.image = self.codes = None
        self._geometry = self._place = None

    def paint(self, p: QtGui.QPainter, codes: np.ndarray, texture: QtGui.QImage, tw: int, th: int, fx: int, fy: int,
              table_key, bounds: QtCore.QRectF | None = None) -> bool:
        """Blit the layer (made or patched first); False: not for this painter (fill instead).
        `bounds` (item coordinates): the part that can show, else the painter's clip; the layer
        covers the image inside it, so a paint of a small exposed region keeps the layer whole."""
        t = p.transform()
        dev = p.device()
        if (t.type().value > QtGui.QTransform.TransformationType.TxScale.value or dev is None
                or dev.devicePixelRatioF() != 1 or p.compositionMode() != SOURCE_OVER or p.opacity() != 1.0):
            return False
        # the layer's place from the transform's scale and offset, the device's size and the bounds (or the
        # clip): worked out again only when one of those floats differs (a step keeps them all; the
        # rectangles' own == is fuzzy, so they are compared as numbers)
        area = bounds if bounds is not None else p.clipBoundingRect() if p.hasClipping() else None
        geometry = (t.m11(), t.m22(), t.dx(), t.dy(), dev.width(), dev.height(),
                    None if area is None else area.getRect(), bounds is None, tw, th, fx, fy)
        if geometry != self._geometry:
            self._geometry, self._place = geometry, self._placed(t, dev, area, tw, th, fx, fy)
        ox, oy, rect, lt = self._place
        if rect is None:
            return True
        key = (*geometry[:2], t.dx() - ox, t.dy() - oy, rect.getRect(), tw, th, fx, fy, table_key,
               int(p.renderHints().value))
        if key != self.key or self.codes is None or self.codes.shape != codes.shape:
            self._build(p, key, rect, codes, texture, tw, th, fx, fy, None, lt)
            self.rebuilt += 1
        else:
            changed = changed_rows(self.codes, codes)
            if changed is not None:
                r0, r1 = changed
                band = lt.mapRect(QtCore.QRectF(0, r0 * fy, 1, (r1 - r0) * fy)).toAlignedRect()
                # whole rows of the layer: Qt steps the texture along a span from where the span
                # starts, so a span started elsewhere can pick the other texel where a pixel's
                # centre falls on a cell's edge; rows are computed each on its own
                dirty = QtCore.QRect(0, band.top() - 1, self.image.width(), band.height() + 2).intersected(
                    self.image.rect())
                self._build(p, key, rect, codes, texture, tw, th, fx, fy, dirty, lt)
                self.patched += 1
        p.resetTransform()  # (only the transform changes: put back, without a save of the whole state)
        p.drawImage(QtCore.QPoint(rect.x() + ox, rect.y() + oy), self.image)
        p.setTransform(t)
        return True

    @classmethod
    def _placed(cls, t: QtGui.QTransform, dev, area: QtCore.QRectF | None, tw: int, th: int, fx: int,
                fy: int) -> tuple:
        """(ox, oy, the layer's rectangle in device pixels from (ox, oy), the layer's transform); the
        rectangle None when no part of the image can show."""
        ox, oy = math.floor(t.dx()), math.floor(t.dy())
        whole = QtCore.QRect(0, 0, dev.width(), dev.height())
        if area is not None:
            whole = whole.intersected(t.mapRect(area).toAlignedRect())
        rect = t.mapRect(QtCore.QRectF(0, 0, tw * fx, th * fy)).toAlignedRect().intersected(whole)
        if rect.isEmpty():
            return ox, oy, None, None
        rect.translate(-ox, -oy)
        return ox, oy, rect, cls._layer_transform(t, rect)

    @staticmethod
    def _layer_transform(t: QtGui.QTransform, rect: QtCore.QRect) -> QtGui.QTransform:
        ox, oy = math.floor(t.dx()), math.floor(t.dy())
        return QtGui.QTransform(t.m11(), 0, 0, t.m22(), t.dx() - ox - rect.x(), t.dy() - oy - rect.y())

    def _build(self, p, key, rect, codes, texture, tw, th, fx, fy, dirty: QtCore.QRect | None,
               lt: QtGui.QTransform) -> None:
        if dirty is None:
            self.image = QtGui.QImage(rect.width(), rect.height(), ARGB32_PM)
            self.image.fill(0)
        lp = QtGui.QPainter(self.image)
        lp.setRenderHints(p.renderHints())
        if dirty is not None:  # those pixels afresh: cleared, then filled as the whole layer was
            lp.setCompositionMode(QtGui.QPainter.CompositionMode.CompositionMode_Clear)
            lp.fillRect(dirty, QtCore.Qt.GlobalColor.transparent)
            lp.setCompositionMode(SOURCE_OVER)
            lp.setClipRect(dirty)  # (device pixels: the layer painter has no transform yet)
        lp.setTransform(lt)
        fill_texture(lp, texture, tw, th, fx, fy)
        lp.end()
        self.key, self.codes = key, codes.copy()  # (a copy: an array changed in place must still differ)
