"""The counters' playhead (gui/playhead.Playhead) draws what pyqtgraph's InfiniteLine draws, and keeps
the bounding rectangle InfiniteLine would work out again after a move along x."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from zpviz.gui.playhead import Playhead


def _plot(line: pg.InfiniteLine) -> tuple[QtWidgets.QGraphicsScene, pg.PlotItem]:
    plot = pg.PlotItem()
    plot.setGeometry(QtCore.QRectF(0, 0, 330, 170))
    plot.setXRange(0, 400, padding=0.02)
    plot.setYRange(0, 37.5, padding=0)
    plot.addItem(line, ignoreBounds=True)
    scene = QtWidgets.QGraphicsScene(0, 0, 330, 170)
    scene.addItem(plot)
    return scene, plot


def _line(cls) -> pg.InfiniteLine:
    line = cls(angle=90, movable=False)
    line.setPen(pg.mkPen(QtGui.QColor("#6b7280"), width=1.5, style=QtCore.Qt.PenStyle.DashLine))
    line.addMarker("v", position=1.0, size=12)
    return line


def _render(scene: QtWidgets.QGraphicsScene) -> np.ndarray:
    img = QtGui.QImage(330, 170, QtGui.QImage.Format.Format_RGB32)
    img.fill(QtGui.QColor("#FFFFFF"))
    p = QtGui.QPainter(img)
    p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, True)
    scene.render(p, QtCore.QRectF(0, 0, 330, 170), QtCore.QRectF(0, 0, 330, 170))
    p.end()
    return np.frombuffer(img.constBits(), np.uint32).reshape(170, -1).copy()


def _fresh_rect(line: pg.InfiniteLine) -> tuple:
    """What InfiniteLine works out from scratch for the line where it stands now."""
    rect = pg.InfiniteLine._computeBoundingRect(line)
    return rect.getRect(), tuple(line._endPoints)


def test_the_playhead_draws_what_an_infinite_line_draws_as_it_moves(qapp):
    ours, ref = _line(Playhead), _line(pg.InfiniteLine)
    scene, plot = _plot(ours)
    ref_scene, ref_plot = _plot(ref)
    pictures = set()
    for frame in (0, 17, 17.25, 133, 250.5, 399, 400, 3):
        ours.setValue(frame)
        ref.setValue(frame)
        picture = _render(scene)
        assert np.array_equal(picture, _render(ref_scene)), frame
        pictures.add(picture.tobytes())
    assert len(pictures) > 5  # the line moved
    # a new range, a new size, a new colour: drawn again as InfiniteLine draws them
    for p in (plot, ref_plot):
        p.setXRange(0, 120, padding=0)
        p.setGeometry(QtCore.QRectF(0, 0, 300, 150))
    for item in (ours, ref):
        item.setPen(pg.mkPen(QtGui.QColor("#D55E00"), width=1.5, style=QtCore.Qt.PenStyle.DashLine))
        item.setValue(60.5)
    assert np.array_equal(_render(scene), _render(ref_scene))


def test_the_playhead_keeps_the_rectangle_infinite_line_would_work_out_again(qapp):
    line = _line(Playhead)
    scene, plot = _plot(line)
    _render(scene)
    worked_out = []
    compute = line._computeBoundingRect
    line._computeBoundingRect = lambda: (worked_out.append(1), compute())[1]
    for frame in (5, 77.5, 300, 12):
        line.setValue(frame)
        kept = (line.boundingRect().getRect(), tuple(line._endPoints))
        assert kept == _fresh_rect(line), frame
    assert not worked_out  # kept through the moves
    plot.setYRange(0, 80, padding=0)  # a new range: worked out again, and right
    plot.getViewBox().updateMatrix()
    assert line.boundingRect().getRect() == _fresh_rect(line)[0]
    assert worked_out
    worked_out.clear()
    plot.setGeometry(QtCore.QRectF(0, 0, 200, 90))  # a new size too
    plot.getViewBox().updateMatrix()
    line.setValue(150)
    assert (line.boundingRect().getRect(), tuple(line._endPoints)) == _fresh_rect(line)
    assert worked_out
