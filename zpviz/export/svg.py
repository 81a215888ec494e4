"""SVG stills: the window painted through QSvgGenerator (PySide6.QtSvg, part of PySide6-Essentials).

Qt's SVG paint engine writes text as <text> elements and shapes as paths, so captions, labels
and axes stay text for print and slides; the page grid, which pyqtgraph paints as one image,
is embedded as a PNG <image> (a 262,144-page grid as rectangles would be megabytes).
"""

from __future__ import annotations

from pathlib import Path

from zpviz.export.safe import ExportError


def widget_svg(widget, size: tuple[int, int], path: Path, title: str = "", description: str = "") -> None:
    from PySide6 import QtCore, QtGui, QtSvg, QtWidgets

    w, h = size
    gen = QtSvg.QSvgGenerator()
    gen.setFileName(str(path))
    gen.setSize(QtCore.QSize(w, h))
    gen.setViewBox(QtCore.QRect(0, 0, w, h))
    gen.setResolution(96)
    if title:
        gen.setTitle(title)
    if description:
        gen.setDescription(description)
    p = QtGui.QPainter()
    if not p.begin(gen):
        raise ExportError(f"cannot write {path}: the SVG generator could not open it")
    try:
        p.fillRect(QtCore.QRect(0, 0, w, h), widget.palette().window())
        F = QtWidgets.QWidget.RenderFlag
        widget.render(p, QtCore.QPoint(0, 0), QtGui.QRegion(0, 0, w, h), F.DrawWindowBackground | F.DrawChildren)
    finally:
        p.end()
    if not Path(path).exists() or Path(path).stat().st_size == 0:
        raise ExportError(f"cannot write {path}: nothing was written")
