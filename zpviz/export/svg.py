"""SVG stills: the window painted through QSvgGenerator (PySide6.QtSvg, part of PySide6-Essentials).

Qt's SVG paint engine writes text as <text> elements and shapes as paths, so captions, labels
and axes stay text for print and slides; the page grid, which pyqtgraph paints as one image,
is embedded as a PNG <image> (a 262,144-page grid as rectangles would be megabytes).
"""

from __future__ import annotations

from pathlib import Path

from zpviz.export.safe import ExportError


def widget_svg(widget, size: tuple[int, int], path: Path, title: str = "", description: str = "",
               out_size: tuple[int, int] | None = None) -> None:
    """Paint `widget` (at `size`) into an SVG file whose nominal size is `out_size` (default: `size`)."""
    from PySide6 import QtCore, QtGui, QtSvg, QtWidgets

    w, h = size
    ow, oh = out_size or size
    gen = QtSvg.QSvgGenerator(QtSvg.QSvgGenerator.SvgVersion.Svg11)  # SVG 1.1: clip paths (Tiny has none)
    gen.setFileName(str(path))
    gen.setSize(QtCore.QSize(ow, oh))
    gen.setViewBox(QtCore.QRect(0, 0, w, h))  # the drawing keeps window coordinates; viewers scale it
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
