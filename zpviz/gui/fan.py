"""FanItem: the mapping lines (PTE -> frame) as one translucent shape, drawn fast.

The lines used to be one QGraphicsPathItem holding every curve. Qt strokes a pen wider than one
pixel by turning the whole path into one outline polygon and filling it once (so where curves
overlap, near the ZERO_PAGE tile, the colour is laid down once and the fan reads as one shape);
with a translucent pen every span of that fill is blended, and 256 curves took ~24 ms a frame,
more than the rest of the window put together.

This item produces the same pixels for a fraction of that: it strokes each curve on its own into
a transparent layer with CompositionMode_Source (a translucent colour *replaces* what is there,
so overlaps still get the colour once, and the raster engine fills such spans with a plain
memory fill), then composites the layer once. Without antialiasing (pyqtgraph's views draw
without it) the result is pixel-identical to the single path; with antialiasing the layer is
drawn opaque and composited at the pen's alpha, which keeps the "laid down once" look (Source
would let a later curve's soft edge cut into an earlier curve). The layer is kept while neither
the curves nor the painter's transform change, so a repaint for another reason (hover, a grab
of the window) only blits it. When the curves change only by curves added (playing forward: a
fault maps one more sampled page) and the layer's place and size stay, the new curves are drawn
onto the kept layer: the same strokes in the same order as a fresh layer would get (without
antialiasing, where a covered pixel just holds the colour, in any order), so the same pixels.

Painters that are not raster (QSvgGenerator for SVG stills) get the single vector path as before.
"""

from __future__ import annotations

import math
from collections import Counter

from PySide6 import QtCore, QtGui, QtWidgets

MAX_LAYER_PX = 4096  # a layer wider or taller than this (a huge render): draw the path directly


class FanItem(QtWidgets.QGraphicsItem):
    def __init__(self, parent=None):
        super().__init__(parent)
        self._ends: list[tuple[float, float, float, float]] = []
        self._path: QtGui.QPainterPath | None = QtGui.QPainterPath()  # the union, built on demand
        self._bounds = QtCore.QRectF()
        self._pen = QtGui.QPen()
        self._layer: QtGui.QImage | None = None
        self._layer_key: tuple | None = None
        self._version = 0  # bumped on every change of what is drawn: the layer's cache key
        # curves added since the layer was drawn, in the order a fresh layer would draw them after
        # the rest (None: something else changed, the layer must be drawn afresh)
        self._added: list | None = None
        self._added_in_order = True  # appended at the end, not inserted (antialiased layers need that)
        self.setAcceptedMouseButtons(QtCore.Qt.MouseButton.NoButton)

    # ------------------------------------------------------------------ content
    def set_curves(self, ends: list[tuple[float, float, float, float]]) -> None:
        """One curve per (ax, ay, bx, by), in scene coordinates: a horizontal S from a to b
        (control points at the horizontal midpoint, on each end's height)."""
        ends = list(ends)
        if ends == self._ends:  # a view signal that moved nothing: keep the layer
            return
        old = self._ends
        if self._added is not None:
            if ends[:len(old)] == old:
                self._added += ends[len(old):]
            else:
                gone = Counter(old)
                gone.subtract(ends)
                if any(v > 0 for v in gone.values()):
                    self._added = None  # a curve went: only a fresh layer loses it
                else:
                    extra = Counter(ends)
                    extra.subtract(old)
                    self._added += [e for e, k in extra.items() for _ in range(k)]
                    self._added_in_order = False
        self.prepareGeometryChange()
        self._ends = ends
        self._path = None
        if ends:  # each curve stays inside the box of its control points, i.e. of its two ends
            xs = [e[0] for e in ends] + [e[2] for e in ends]
            ys = [e[1] for e in ends] + [e[3] for e in ends]
            self._bounds = QtCore.QRectF(min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys))
        self._changed()

    def _curves(self, ends=None):
        """Each curve (of `ends`, all by default) as a path, one at a time (the same path object, refilled)."""
        c = QtGui.QPainterPath()
        for ax, ay, bx, by in self._ends if ends is None else ends:
            mid = (ax + bx) / 2
            c.clear()
            c.moveTo(ax, ay)
            c.cubicTo(mid, ay, mid, by, bx, by)
            yield c

    def clear(self) -> None:
        self.set_curves([])

    def path(self) -> QtGui.QPainterPath:
        """Every curve in one path (what the vector fallback draws; tests read it)."""
        if self._path is None:
            p = QtGui.QPainterPath()
            for c in self._curves():
                p.addPath(c)
            self._path = p
        return self._path

    def pen(self) -> QtGui.QPen:
        return QtGui.QPen(self._pen)

    def setPen(self, pen: QtGui.QPen) -> None:
        if pen == self._pen:
            return
        self.prepareGeometryChange()  # the width is part of the bounding rect
        self._pen = QtGui.QPen(pen)
        self._added = None
        self._changed()

    def _changed(self) -> None:
        self._version += 1
        self.update()

    # ------------------------------------------------------------------ painting
    def boundingRect(self) -> QtCore.QRectF:
        if not self._ends:
            return QtCore.QRectF()
        m = max(self._pen.widthF(), 1.0) + 2  # half the pen, square caps and bevel joins, rounded up
        return self._bounds.adjusted(-m, -m, m, m)

    def paint(self, p: QtGui.QPainter, option=None, widget=None) -> None:
        if not self._ends:
            return
        t = p.transform()
        raster = p.paintEngine() is not None and p.paintEngine().type() == QtGui.QPaintEngine.Type.Raster
        if not raster or t.type().value > QtGui.QTransform.TransformationType.TxScale.value:
            p.setPen(self._pen)
            p.setBrush(QtCore.Qt.BrushStyle.NoBrush)
            p.drawPath(self.path())
            return
        dpr = p.device().devicePixelRatio() if p.device() is not None else 1.0
        box = t.mapRect(self.boundingRect()).toAlignedRect()  # painter (logical) coordinates
        w, h = math.ceil(box.width() * dpr), math.ceil(box.height() * dpr)
        if w <= 0 or h <= 0:
            return
        if w > MAX_LAYER_PX or h > MAX_LAYER_PX:
            p.setPen(self._pen)
            p.setBrush(QtCore.Qt.BrushStyle.NoBrush)
            p.drawPath(self.path())
            return
        aa = bool(p.renderHints() & QtGui.QPainter.RenderHint.Antialiasing)
        place = (t.m11(), t.m22(), t.dx() - box.x(), t.dy() - box.y(), w, h, dpr, aa)
        key = (self._version,) + place
        if key != self._layer_key:
            kept = self._layer_key is not None and self._layer_key[1:] == place
            adds = self._added is not None and (self._added_in_order or not aa)
            if kept and adds:
                self._draw_curves(self._layer, t, box, aa, self._added)
            elif adds and self._grows(t, box, dpr, aa):
                self._layer = self._grown_layer(box, w, h, dpr)
                self._draw_curves(self._layer, t, box, aa, self._added)
            else:
                self._layer = self._render_layer(t, box, w, h, dpr, aa)
            self._layer_key = key
            self._layer_at = (t.m11(), t.m22(), t.dx(), t.dy(), dpr, aa, box)
            self._added, self._added_in_order = [], True
        p.save()
        p.resetTransform()
        if aa:
            p.setOpacity(p.opacity() * self._pen.color().alphaF())
        p.drawImage(QtCore.QPointF(box.x(), box.y()), self._layer)
        p.restore()

    def _grows(self, t: QtGui.QTransform, box: QtCore.QRect, dpr: float, aa: bool) -> bool:
        """Whether the kept layer, drawn through this very transform, lies inside the new box: the
        curves added since reached out past its edges (a seek down the grid maps pages further on,
        and a new fault's line can too), so the box grew where nothing of the layer moved."""
        at = getattr(self, "_layer_at", None)
        return (self._layer is not None and dpr == 1.0 and at is not None
                and at[:6] == (t.m11(), t.m22(), t.dx(), t.dy(), dpr, aa) and box.contains(at[6]))

    def _grown_layer(self, box: QtCore.QRect, w: int, h: int, dpr: float) -> QtGui.QImage:
        """A layer for the larger box holding the kept layer's pixels where they were on the device
        (copied as they are: CompositionMode_Source), transparent elsewhere: what a fresh layer of
        the same curves holds there. The curves added are then drawn onto it, as onto a kept layer."""
        old, at = self._layer, self._layer_at[6]
        layer = QtGui.QImage(w, h, QtGui.QImage.Format.Format_ARGB32_Premultiplied)
        layer.setDevicePixelRatio(dpr)
        layer.fill(0)
        q = QtGui.QPainter(layer)
        q.setCompositionMode(QtGui.QPainter.CompositionMode.CompositionMode_Source)
        q.drawImage(QtCore.QPoint(at.x() - box.x(), at.y() - box.y()), old)
        q.end()
        return layer

    def _render_layer(self, t: QtGui.QTransform, box: QtCore.QRect, w: int, h: int, dpr: float,
                      aa: bool) -> QtGui.QImage:
        layer = self._layer
        if layer is None or (layer.width(), layer.height(), layer.devicePixelRatio()) != (w, h, dpr):
            layer = QtGui.QImage(w, h, QtGui.QImage.Format.Format_ARGB32_Premultiplied)
            layer.setDevicePixelRatio(dpr)
        layer.fill(0)  # the same size as last frame (the usual case): reuse its memory
        self._draw_curves(layer, t, box, aa, self._ends)
        return layer

    def _draw_curves(self, layer: QtGui.QImage, t: QtGui.QTransform, box: QtCore.QRect, aa: bool, ends) -> None:
        q = QtGui.QPainter(layer)
        q.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, aa)
        q.setTransform(t * QtGui.QTransform.fromTranslate(-box.x(), -box.y()))
        pen = QtGui.QPen(self._pen)
        if aa:  # opaque, SourceOver: soft edges add up; the alpha comes at compositing
            c = QtGui.QColor(pen.color())
            c.setAlpha(255)
            pen.setColor(c)
        else:  # exact: each covered pixel holds the translucent colour once
            q.setCompositionMode(QtGui.QPainter.CompositionMode.CompositionMode_Source)
        q.setPen(pen)
        q.setBrush(QtCore.Qt.BrushStyle.NoBrush)
        for c in self._curves(ends):
            q.drawPath(c)
        q.end()
