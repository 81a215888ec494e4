"""Render the app's own window offscreen: one picture (RGB array) or one SVG per lesson frame.

The exporter never draws the lesson itself. It drives a window (normally zpviz.gui's MainWindow,
built by `open_window`) to a frame and takes the window's picture, so a frame of an export is
what the window shows at that moment: grid, captions, step counter and variant labels alike.

A window is driven through a small duck-typed interface (see WindowRenderer); anything with
`set_frame(i)` that is a QWidget (or offers `render_image(QSize) -> QImage`) can be exported,
which is how the tests exercise the pipeline without the full app.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np


def ensure_app(offscreen: bool = True):
    """The QApplication, created offscreen when there is none yet (the CLI needs no display)."""
    if offscreen:
        from PySide6 import QtGui

        if QtGui.QGuiApplication.instance() is None:
            os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from PySide6 import QtWidgets

    app = QtWidgets.QApplication.instance()
    if app is None:
        app = QtWidgets.QApplication(["zpviz-export"])
    return app


def qimage_to_rgb(img) -> np.ndarray:
    """(h, w, 3) uint8 RGB copy of a QImage."""
    from PySide6.QtGui import QImage

    if img.format() != QImage.Format.Format_RGB888:
        img = img.convertToFormat(QImage.Format.Format_RGB888)
    w, h, bpl = img.width(), img.height(), img.bytesPerLine()
    buf = np.frombuffer(img.constBits(), np.uint8, count=bpl * h).reshape(h, bpl)
    return buf[:, : w * 3].copy().reshape(h, w, 3)  # a copy: the QImage's memory goes with it


def settle() -> None:
    """Deliver posted layout and update requests so the widgets' geometry matches their content."""
    from PySide6 import QtWidgets

    QtWidgets.QApplication.sendPostedEvents()
    QtWidgets.QApplication.processEvents()


def grab_widget(widget, size: tuple[int, int]):
    """Paint `widget` (resized to `size`) into a new QImage."""
    from PySide6 import QtCore, QtGui

    w, h = size
    if (widget.width(), widget.height()) != (w, h):
        widget.resize(w, h)
        settle()
    img = QtGui.QImage(w, h, QtGui.QImage.Format.Format_RGB32)
    img.setDevicePixelRatio(1.0)
    img.fill(widget.palette().window().color())
    p = QtGui.QPainter(img)
    try:
        p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, True)
        p.setRenderHint(QtGui.QPainter.RenderHint.TextAntialiasing, True)
        widget.render(p, QtCore.QPoint(0, 0), QtGui.QRegion(0, 0, w, h), _flags())
    finally:
        p.end()
    return img


def _flags():
    from PySide6 import QtWidgets

    F = QtWidgets.QWidget.RenderFlag
    return F.DrawWindowBackground | F.DrawChildren


# The window is laid out for a lecture-hall screen: below this it squeezes its panels (and refuses
# to shrink past its minimum size). Smaller exports render at this size, scaled by one constant
# factor for the whole export, so a 960 px GIF is the 1280 px window, smaller.
RENDER_MIN = (1280, 720)


def render_size(size: tuple[int, int]) -> tuple[int, int]:
    """The window size that renders an output picture of `size`: at least RENDER_MIN, same aspect."""
    w, h = size
    s = max(1.0, RENDER_MIN[0] / w, RENDER_MIN[1] / h)
    return round(w * s), round(h * s)


class WindowRenderer:
    """Drives one window for an export: show frame i, then take its picture.

    The window must offer `set_frame(i)` (the leading variant's frame; in compare mode the window
    lines the other variants up itself). `render_image(QSize) -> QImage` is used when present,
    else the window is painted with QWidget.render. SVG stills always paint the widget tree.
    The window gets a fixed size for the whole export, so every picture has the same geometry.
    """

    def __init__(self, window, size: tuple[int, int]):
        from PySide6 import QtCore

        self.window = window
        self.size = (int(size[0]), int(size[1]))
        self.window_size = render_size(self.size)
        self.frame: int | None = None
        self.renders = 0
        window.setAttribute(QtCore.Qt.WidgetAttribute.WA_DontShowOnScreen, True)
        if hasattr(window, "set_output_scale"):  # its grids pool for the picture's pixels, not the window's
            window.set_output_scale(min(self.size[0] / self.window_size[0], self.size[1] / self.window_size[1]))
        window.setFixedSize(*self.window_size)
        window.ensurePolished()
        settle()

    def show_frame(self, frame: int) -> None:
        if frame != self.frame:
            self.window.set_frame(int(frame))
            self.frame = int(frame)

    def image(self):
        """The window's picture (a QImage) at the output size."""
        from PySide6 import QtCore

        self.renders += 1
        render_image = getattr(self.window, "render_image", None)
        if render_image is not None:
            if self.renders == 1:
                # A fresh window's first picture is not yet settled (its charts finish their
                # ranges on the next pass); the room never sees it, so neither does the export.
                render_image(QtCore.QSize(*self.window_size))
            img = render_image(QtCore.QSize(*self.window_size))
        else:
            settle()
            img = grab_widget(self.window, self.window_size)
        if (img.width(), img.height()) != self.size:
            img = img.scaled(*self.size, QtCore.Qt.AspectRatioMode.IgnoreAspectRatio,
                             QtCore.Qt.TransformationMode.SmoothTransformation)
        return img

    def picture(self, frame: int | None = None) -> np.ndarray:
        if frame is not None:
            self.show_frame(frame)
        return qimage_to_rgb(self.image())

    def write_svg(self, path: Path, title: str = "", description: str = "") -> None:
        """The window as SVG, in window coordinates scaled to the output size."""
        from zpviz.export.svg import widget_svg

        self.image()  # settles the window exactly as for a raster picture
        widget_svg(self.window, self.window_size, path, title, description, out_size=self.size)

    def close(self) -> None:
        from zpviz.export.window import dispose_window

        dispose_window(self.window)
