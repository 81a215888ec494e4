"""The Counters dock's content, made when it is first on screen.

Its five pyqtgraph plots cost 0.05-0.07 s of the window's start (docs/startup.md), and the tour
shows the Compare tab over them. Until the dock can be seen this light widget stands in its place
with the view's size hints and least height, so the window's layout, and every picture of it, is
the same; it keeps the latest series, bars, frame and theme and hands them to the view it makes.
The view's module (with its plot and axis classes, ~5 ms of CPU) is imported then too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6 import QtCore, QtWidgets

from zpviz.present.palette import Theme

if TYPE_CHECKING:
    from zpviz.gui.counters import CountersView

# CountersView's own hints (a QGraphicsView's: tests/gui/test_lazy_counters.py checks they match)
VIEW_SIZE_HINT = QtCore.QSize(600, 480)
VIEW_MIN_SIZE_HINT = QtCore.QSize(68, 68)
VIEW_MIN_HEIGHT = 184  # CountersView.height_for_rows(2): two rows of plots (the same test checks it)


class LazyCounters(QtWidgets.QWidget):
    def __init__(self, theme: Theme, parent=None):
        super().__init__(parent)
        self._theme = theme
        self._series = None
        self._bars = None
        self._frame: int | None = None
        self.view: CountersView | None = None
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        pol = QtWidgets.QSizePolicy.Policy.Expanding
        self.setSizePolicy(pol, pol)  # a QGraphicsView's
        self.setMinimumHeight(VIEW_MIN_HEIGHT)

    # the view's own hints, before it is made and after (the layout would count a view made in a
    # window not yet shown as empty until the window shows it)
    def sizeHint(self) -> QtCore.QSize:  # noqa: N802 (Qt's name)
        return self.view.sizeHint() if self.view is not None else QtCore.QSize(VIEW_SIZE_HINT)

    def minimumSizeHint(self) -> QtCore.QSize:  # noqa: N802 (Qt's name)
        return self.view.minimumSizeHint() if self.view is not None else QtCore.QSize(VIEW_MIN_SIZE_HINT)

    # what the window tells the counters: kept until there is a view, passed on once there is
    def set_theme(self, theme: Theme) -> None:
        self._theme = theme
        if self.view is not None:
            self.view.set_theme(theme)

    def set_series(self, s) -> None:
        self._series = s
        if self.view is not None:
            self.view.set_series(s)

    def set_bars(self, b) -> None:
        self._bars = b
        if self.view is not None:
            self.view.set_bars(b)

    def set_frame(self, frame: int) -> None:
        self._frame = frame
        if self.view is not None:
            self.view.set_frame(frame)

    def build(self) -> CountersView:
        """The view, made now if it was not yet, with everything the window has told the counters."""
        if self.view is None:
            from zpviz.gui.counters import CountersView

            v = CountersView(self._theme, self)
            self.view = v
            self.layout().addWidget(v)
            v.setGeometry(self.rect())  # where the layout puts it, without waiting for a layout pass
            if self._series is not None:
                v.set_series(self._series)
            if self._bars is not None:
                v.set_bars(self._bars)
            if self._frame is not None:
                v.set_frame(self._frame)
            if self.isVisible():
                v.show()
        return self.view
