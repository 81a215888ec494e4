"""Transport icons drawn with QPainter paths, so they look the same whatever fonts are installed."""

from __future__ import annotations

from PySide6 import QtCore, QtGui

S = 32.0  # design grid; icons are scaled to the requested size


def _tri(path: QtGui.QPainterPath, x0: float, x1: float, right: bool) -> None:
    """A triangle from x0 to x1, pointing right or left, over the full height."""
    top, bot, mid = 7.0, 25.0, 16.0
    if right:
        path.addPolygon(QtGui.QPolygonF([QtCore.QPointF(x0, top), QtCore.QPointF(x1, mid), QtCore.QPointF(x0, bot)]))
    else:
        path.addPolygon(QtGui.QPolygonF([QtCore.QPointF(x1, top), QtCore.QPointF(x0, mid), QtCore.QPointF(x1, bot)]))
    path.closeSubpath()


def _bar(path: QtGui.QPainterPath, x: float, w: float = 3.5) -> None:
    path.addRect(QtCore.QRectF(x, 7, w, 18))


def _flag(path: QtGui.QPainterPath, x: float) -> None:
    path.addRect(QtCore.QRectF(x, 5, 2.2, 22))
    path.addPolygon(QtGui.QPolygonF([QtCore.QPointF(x + 2, 5), QtCore.QPointF(x + 10, 8.5),
                                     QtCore.QPointF(x + 2, 12)]))
    path.closeSubpath()


def shape(name: str) -> QtGui.QPainterPath:
    p = QtGui.QPainterPath()
    p.setFillRule(QtCore.Qt.FillRule.WindingFill)
    if name == "first":
        _bar(p, 6)
        _tri(p, 10, 26, right=False)
    elif name == "prev_step":
        _tri(p, 3, 16, right=False)
        _tri(p, 15, 28, right=False)
    elif name == "prev":
        _tri(p, 9, 23, right=False)
    elif name == "play":
        _tri(p, 9, 25, right=True)
    elif name == "pause":
        _bar(p, 9, 5)
        _bar(p, 18, 5)
    elif name == "next":
        _tri(p, 9, 23, right=True)
    elif name == "next_step":
        _tri(p, 4, 17, right=True)
        _tri(p, 16, 29, right=True)
    elif name == "last":
        _tri(p, 6, 22, right=True)
        _bar(p, 22.5)
    elif name == "prev_checkpoint":
        _tri(p, 2, 14, right=False)
        _flag(p, 17)
    elif name == "next_checkpoint":
        _flag(p, 4)
        _tri(p, 18, 30, right=True)
    elif name == "slower":
        p.addRect(QtCore.QRectF(7, 14.5, 18, 3.5))
    elif name == "faster":
        p.addRect(QtCore.QRectF(7, 14.5, 18, 3.5))
        p.addRect(QtCore.QRectF(14.25, 7, 3.5, 18))
    return p


def icon(name: str, colour: QtGui.QColor, size: int = 28) -> QtGui.QIcon:
    pm = QtGui.QPixmap(size, size)
    pm.fill(QtCore.Qt.GlobalColor.transparent)
    painter = QtGui.QPainter(pm)
    painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
    painter.scale(size / S, size / S)
    painter.fillPath(shape(name), colour)
    painter.end()
    return QtGui.QIcon(pm)


def app_icon() -> QtGui.QIcon:
    """The window icon: the shipped SVG if Qt can read it, else a drawn one."""
    from importlib import resources

    try:
        path = resources.files("zpviz.resources") / "zpviz.svg"
        if path.is_file():
            ic = QtGui.QIcon(str(path))
            if not ic.isNull():
                return ic
    except (ModuleNotFoundError, FileNotFoundError):
        pass
    pm = QtGui.QPixmap(64, 64)
    pm.fill(QtGui.QColor("#0072B2"))
    return QtGui.QIcon(pm)
