"""Playhead: the counters' vertical line at the current frame, moved at every step for less Python.

pyqtgraph's InfiniteLine works its bounding rectangle out again after every move (the view's
rectangle mapped into the line's coordinates, its pixel vectors: ~30 us a line) and paints its
marker through a dozen Point objects and a new brush made by mkBrush (~60 us a paint); the counters
have three, moved and painted at every step of a one-pane window. A vertical line moved along x
keeps the rectangle pyqtgraph would work out (below), and its paint makes the same painter calls
with plain QPointF and one kept brush: the same pixels.
"""

from __future__ import annotations

import numbers
from math import atan2, degrees, hypot

import pyqtgraph as pg
from pyqtgraph.graphicsItems.GraphicsItem import GraphicsItem
from PySide6 import QtCore, QtGui


class Playhead(pg.InfiniteLine):
    """A vertical InfiniteLine (angle 90) for the frame; other angles behave as pyqtgraph's."""

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self._brush_colour: QtGui.QColor | None = None  # the colour of the kept marker brush
        self._brush = QtGui.QBrush()
        self._moving_along_x = False  # inside setPos, for a move that keeps the rectangle

    def setPos(self, pos) -> None:  # noqa: N802 (Qt's name)
        """InfiniteLine.setPos, keeping the bounding rectangle of a vertical line moved along x.

        In the line's coordinates (rotated by exactly 90 degrees, moved by (x, 0)) the view's
        rectangle spans the view's y range along the line, whatever x is (the inverse transform's
        entries are 0, 1 and -1, so the same floats), the pixel vectors depend on the linear part
        of the device transform alone, and the rest on the pens, markers and the view's size: a
        move along x leaves pyqtgraph's rectangle and end points as they were. A new view range or
        size still drops them (pyqtgraph's viewTransformChanged)."""
        along_x = (self.angle == 90 and isinstance(pos, numbers.Real) and not isinstance(pos, bool)
                   and self.maxRange[0] is None and self.maxRange[1] is None)
        self._moving_along_x = along_x and self._boundingRect is not None
        try:
            super().setPos(pos)
        finally:
            self._moving_along_x = False

    def viewTransformChanged(self) -> None:  # noqa: N802 (pyqtgraph's name)
        """InfiniteLine's (the rectangle dropped), but for a move along x (setPos): there only the
        cached view rectangle, which depends on where the line stands, is dropped."""
        if getattr(self, "_moving_along_x", False):
            GraphicsItem.viewTransformChanged(self)
            return
        super().viewTransformChanged()

    def paint(self, p: QtGui.QPainter, *args) -> None:
        """InfiniteLine.paint's calls, in its order, with the same values."""
        if self.angle % 180 not in (0, 90):
            super().paint(p, *args)
            return
        left, right = self._endPoints
        pen = self.currentPen
        pen.setJoinStyle(QtCore.Qt.PenJoinStyle.MiterJoin)
        p.setPen(pen)
        p.drawLine(QtCore.QPointF(left, 0), QtCore.QPointF(right, 0))
        if len(self.markers) == 0:
            return
        tr = p.transform()  # the markers in the device's coordinates
        p.resetTransform()
        start = tr.map(QtCore.QPointF(left, 0))
        end = tr.map(QtCore.QPointF(right, 0))
        up = tr.map(QtCore.QPointF(left, 1))
        dif = end - start
        length = hypot(dif.x(), dif.y())  # (pyqtgraph's Point.length)
        angle = degrees(atan2(dif.y(), dif.x()))
        p.translate(start)
        p.rotate(angle)
        up = up - start
        det = up.x() * dif.y() - dif.x() * up.y()
        p.scale(1, 1 if det > 0 else -1)
        colour = self.currentPen.color()
        if colour != self._brush_colour:  # (mkBrush(colour): a solid brush of a copy of the colour)
            self._brush_colour, self._brush = QtGui.QColor(colour), QtGui.QBrush(QtGui.QColor(colour))
        p.setBrush(self._brush)
        tr = p.transform()
        for path, pos, size in self.markers:
            p.setTransform(tr)
            p.translate(length * pos, 0)
            p.scale(size, size)
            p.drawPath(path)
