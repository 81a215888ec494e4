"""A stand-in window for the export tests: the interface the exporter drives, and nothing more.

It shows what an exported frame must show (step counter, variant, caption, one page grid per
variant) from the same present/ view-models as the app, and knows where each page's cell is,
so tests can check a pixel against the palette. The real window is exercised by test_window.py.
"""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

from zpviz.present.captions import caption_at
from zpviz.present.grid import frame_image
from zpviz.present.palette import page_lut, theme


class GridPane(QtWidgets.QWidget):
    CELL = 12

    def __init__(self, lesson, variant: int, t, parent=None):
        super().__init__(parent)
        self.lesson, self.variant = lesson, variant
        self.grid = lesson.grid
        lut = page_lut(t)
        self.colours = [QtGui.qRgb(int(r), int(g), int(b)) for r, g, b, _ in lut]
        self.codes = None
        self.bg = QtGui.QColor(t.panel)
        self.setMinimumSize(self.grid.width * self.CELL, self.grid.height * self.CELL)

    def set_frame(self, frame: int) -> None:
        tr = self.lesson.traces[self.variant]
        self.codes = frame_image(tr.frame(frame), self.grid, tr.kernel.pg_mlocked)
        self.update()

    def cell_rect(self, row: int, col: int) -> QtCore.QRect:
        return QtCore.QRect(col * self.CELL, row * self.CELL, self.CELL - 1, self.CELL - 1)

    def paintEvent(self, ev) -> None:
        p = QtGui.QPainter(self)
        p.fillRect(self.rect(), self.bg)
        if self.codes is not None:
            h, w = self.codes.shape
            for r in range(h):
                for c in range(w):
                    p.fillRect(self.cell_rect(r, c), QtGui.QColor(self.colours[int(self.codes[r, c])]))
        p.end()


class StandInWindow(QtWidgets.QWidget):
    def __init__(self, lesson, theme_name: str = "light"):
        super().__init__()
        t = theme(theme_name)
        self.lesson = lesson
        pal = self.palette()
        pal.setColor(QtGui.QPalette.ColorRole.Window, QtGui.QColor(t.bg))
        pal.setColor(QtGui.QPalette.ColorRole.WindowText, QtGui.QColor(t.fg))
        self.setPalette(pal)
        self.setAutoFillBackground(True)
        lay = QtWidgets.QVBoxLayout(self)
        self.counter = QtWidgets.QLabel()
        lay.addWidget(self.counter)
        row = QtWidgets.QHBoxLayout()
        self.panes, self.titles = [], []
        for i, k in enumerate(lesson.kernels):
            col = QtWidgets.QVBoxLayout()
            title = QtWidgets.QLabel(k)
            col.addWidget(title)
            pane = GridPane(lesson, i, t)
            col.addWidget(pane, 0, QtCore.Qt.AlignmentFlag.AlignLeft | QtCore.Qt.AlignmentFlag.AlignTop)
            col.addStretch(1)
            row.addLayout(col)
            self.panes.append(pane)
            self.titles.append(title)
        lay.addLayout(row, 1)
        self.say = QtWidgets.QLabel()
        self.say.setWordWrap(True)
        f = self.say.font()
        f.setPointSize(18)
        self.say.setFont(f)
        lay.addWidget(self.say)
        self.frame = -1

    def set_frame(self, frame: int) -> None:
        self.frame = frame
        cap = caption_at(self.lesson.lead, frame)
        self.counter.setText(f"{cap.counter} \u00b7 {cap.detail}")
        self.say.setText(cap.say)
        for pane, f in zip(self.panes, self.lesson.aligned(frame)):
            pane.set_frame(f)

    def cell_center(self, variant: int, slot: int) -> tuple[int, int]:
        """Window coordinates of the middle of a page's cell in variant `variant`'s grid."""
        pane = self.panes[variant]
        r, c = pane.grid.cell_of(slot)
        pt = pane.mapTo(self, pane.cell_rect(r, c).center())
        return pt.x(), pt.y()


def factory(made: list | None = None):
    """A window factory for export(): remembers the windows it made in `made`."""
    def make(lesson, theme_name, size):
        w = StandInWindow(lesson, theme_name)
        if made is not None:
            made.append(w)
        return w
    return make
