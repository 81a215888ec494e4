"""The timeline: a slider over every frame with markers for faults, COWs, bad page maps and checkpoints."""

from __future__ import annotations

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from zpviz.gui.theme import qcolor
from zpviz.present import timeline as TL
from zpviz.present.palette import Theme


class TimelineWidget(QtWidgets.QWidget):
    seekRequested = QtCore.Signal(int)

    def __init__(self, theme: Theme, parent=None):
        super().__init__(parent)
        self.theme = theme
        self.marks: TL.Marks | None = None
        self.frame = 0
        self._bins: dict[str, np.ndarray] = {}
        self._bins_width = -1
        self._layer = QtGui.QPixmap()
        self._layer_key: tuple | None = None
        self._veil_key: tuple | None = None  # the track the veil's marks were worked out for
        self._veil: tuple[list, list] = ([], [])
        self.setMinimumHeight(46)
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Expanding, QtWidgets.QSizePolicy.Policy.Fixed)
        self.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)  # arrow keys belong to the transport
        self.setCursor(QtCore.Qt.CursorShape.PointingHandCursor)
        self.setToolTip("Timeline: click or drag to seek.\nticks up to the playhead: faults (top), COW (middle), "
                        "Bad page map (red); flags: checkpoints")

    def sizeHint(self) -> QtCore.QSize:
        return QtCore.QSize(600, 46)

    def set_marks(self, marks: TL.Marks) -> None:
        self.marks = marks
        self._bins_width = -1
        self._layer_key = self._veil_key = None
        self.update()

    def set_frame(self, frame: int) -> None:
        self.frame = frame
        self.update()

    def set_theme(self, theme: Theme) -> None:
        self.theme = theme
        self._layer_key = None
        self.update()

    def _track(self) -> QtCore.QRectF:
        return QtCore.QRectF(10, 6, max(1, self.width() - 20), self.height() - 12)

    def x_of(self, frame: int) -> float:
        tr = self._track()
        return tr.left() + TL.frac(self.marks, frame) * tr.width() if self.marks else tr.left()

    def frame_at_x(self, x: float) -> int:
        tr = self._track()
        return TL.frame_at(self.marks, (x - tr.left()) / tr.width()) if self.marks else 0

    def paintEvent(self, ev) -> None:
        p = QtGui.QPainter(self)
        engine = p.paintEngine()
        if engine is not None and engine.type() == QtGui.QPaintEngine.Type.Raster:
            p.drawPixmap(0, 0, self._static_layer())
        else:  # an SVG still: the track as lines, not as a picture of them
            p.save()
            self._paint_static(p)
            p.restore()
        if self.marks is None:
            return
        th = self.theme
        tr = self._track()
        x = self.x_of(self.frame)
        self._veil_future(p, tr, x)
        p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, True)
        p.setPen(QtGui.QPen(qcolor(th.fg), 3))
        p.drawLine(QtCore.QPointF(x, tr.top() - 4), QtCore.QPointF(x, tr.bottom() + 4))
        p.setBrush(qcolor(th.accent))
        p.setPen(QtGui.QPen(qcolor(th.fg), 1.5))
        p.drawEllipse(QtCore.QPointF(x, tr.bottom() - 2), 6, 6)

    def _veil_future(self, p: QtGui.QPainter, tr: QtCore.QRectF, x: float) -> None:
        """Hide the fault, COW and Bad page map ticks past the playhead (a predict question must not
        be answered by a red tick ahead); the steps and checkpoints stay, to seek by."""
        th = self.theme
        rest = QtCore.QRectF(x + 2, tr.top() + 1, tr.right() - x - 2, tr.height() - 1)
        if rest.width() <= 0:
            return
        steps, flags = self._veil_marks(tr)
        p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, False)
        p.fillRect(rest, qcolor(th.panel))
        p.setPen(QtGui.QPen(qcolor(th.grid), 1))
        for sx, line in steps:
            if sx > x + 2:
                p.drawLine(line)
        p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, True)
        for cx, flag in flags:
            if cx > x + 2:
                p.setPen(QtGui.QPen(qcolor(th.fg), 1.5))
                p.setBrush(qcolor(th.accent))
                p.drawPolygon(flag)

    def _veil_marks(self, tr: QtCore.QRectF) -> tuple[list, list]:
        """The step lines and checkpoint flags the veil draws again, each with its x: worked out once
        per track and lesson (a paint only picks those past the playhead; ~0.1 ms a paint before)."""
        key = (tr.left(), tr.top(), tr.width(), tr.height())  # set_marks clears it
        if self._veil_key != key:
            steps = [(sx, QtCore.QLineF(sx, tr.top(), sx, tr.bottom()))
                     for sx in (self.x_of(s) for s in self.marks.step_ends[:-1])]
            flags = [(cx, QtGui.QPolygonF([QtCore.QPointF(cx, tr.bottom()), QtCore.QPointF(cx, tr.top() + 8),
                                           QtCore.QPointF(cx + 9, tr.top() + 12), QtCore.QPointF(cx, tr.top() + 16)]))
                     for cx in (self.x_of(c) for c in self.marks.checkpoints)]
            self._veil_key, self._veil = key, (steps, flags)
        return self._veil

    def _static_layer(self) -> QtGui.QPixmap:
        """Everything but the position marker, drawn once per size, theme and lesson: a step only
        moves the marker, and redrawing the track's hundreds of tick lines cost ~1 ms a frame."""
        dpr = self.devicePixelRatioF()
        key = (self.width(), self.height(), dpr)  # set_marks and set_theme clear the key
        if key == self._layer_key:
            return self._layer
        layer = QtGui.QPixmap(max(1, round(self.width() * dpr)), max(1, round(self.height() * dpr)))
        layer.setDevicePixelRatio(dpr)
        layer.fill(QtCore.Qt.GlobalColor.transparent)  # the parent's background shows around the track
        p = QtGui.QPainter(layer)
        self._paint_static(p)
        p.end()
        self._layer, self._layer_key = layer, key
        return layer

    def _paint_static(self, p: QtGui.QPainter) -> None:
        p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, False)
        th = self.theme
        tr = self._track()
        p.fillRect(tr, qcolor(th.panel))
        p.setPen(qcolor(th.grid))
        p.drawRect(tr)
        m = self.marks
        if m is None:
            return
        w = int(tr.width())
        if self._bins_width != w:
            self._bins = TL.binned(m, w)
            self._bins_width = w
        for s in m.step_ends[:-1]:
            x = self.x_of(s)
            p.setPen(QtGui.QPen(qcolor(th.grid), 1))
            p.drawLine(QtCore.QPointF(x, tr.top()), QtCore.QPointF(x, tr.bottom()))
        lanes = (("fault", th.series[0], 0.0, 0.3), ("cow", th.series[1], 0.35, 0.62), ("bad", th.alert, 0.67, 1.0))
        for name, colour, a, b in lanes:
            counts = self._bins.get(name)
            if counts is None:
                continue
            pen = QtGui.QPen(qcolor(colour), 2 if name == "bad" else 1)
            p.setPen(pen)
            y0, y1 = tr.top() + 2 + a * (tr.height() - 4), tr.top() + 2 + b * (tr.height() - 4)
            for x in np.flatnonzero(counts).tolist():
                p.drawLine(QtCore.QPointF(tr.left() + x, y0), QtCore.QPointF(tr.left() + x, y1))
        p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, True)
        for c in m.checkpoints:
            x = self.x_of(c)
            flag = QtGui.QPolygonF([QtCore.QPointF(x, tr.bottom()), QtCore.QPointF(x, tr.top() + 8),
                                    QtCore.QPointF(x + 9, tr.top() + 12), QtCore.QPointF(x, tr.top() + 16)])
            p.setPen(QtGui.QPen(qcolor(th.fg), 1.5))
            p.setBrush(qcolor(th.accent))
            p.drawPolygon(flag)

    def mousePressEvent(self, ev) -> None:
        if self.marks is not None and ev.button() == QtCore.Qt.MouseButton.LeftButton:
            self.seekRequested.emit(self.frame_at_x(ev.position().x()))

    def mouseMoveEvent(self, ev) -> None:
        if self.marks is not None and ev.buttons() & QtCore.Qt.MouseButton.LeftButton:
            self.seekRequested.emit(self.frame_at_x(ev.position().x()))
