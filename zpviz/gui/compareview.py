"""Compare mode: one MemoryView per kernel variant side by side, and the table of what differs."""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

from zpviz.gui.memview import MemoryView
from zpviz.gui.theme import font, qcolor
from zpviz.present.compare import Row
from zpviz.present.palette import Theme


class VariantPane(QtWidgets.QWidget):
    """A variant's title, its one-line status (what its current event did) and its MemoryView."""

    def __init__(self, theme: Theme, show_phys: bool, parent=None):
        super().__init__(parent)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        self.title = QtWidgets.QLabel()
        self.title.setFont(font(14, bold=True))
        self.title.setMinimumWidth(40)  # long titles elide rather than widen the pane
        lay.addWidget(self.title)
        self.status = QtWidgets.QLabel()
        self.status.setFont(font(11))
        self.status.setWordWrap(True)
        self.status.setMinimumWidth(40)
        # two lines always, so the grids of all variants start at the same height
        self.status.setFixedHeight(self.status.fontMetrics().lineSpacing() * 2 + 4)
        self.status.setAlignment(QtCore.Qt.AlignmentFlag.AlignTop | QtCore.Qt.AlignmentFlag.AlignLeft)
        lay.addWidget(self.status)
        self.view = MemoryView(theme, show_phys=show_phys)
        lay.addWidget(self.view, 1)

    def set_theme(self, theme: Theme) -> None:
        self.view.set_theme(theme)
        self.title.setStyleSheet(f"color: {theme.accent};")
        self.status.setStyleSheet(f"color: {theme.fg};")


SHORT = {"memory used": "memory", "zero-page line transfers": "ZERO_PAGE line moves",
         "time (makespan)": "makespan", "Bad page maps": "Bad page maps"}


class DiffTable(QtWidgets.QTableWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
        self.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.NoSelection)
        self.verticalHeader().setSectionResizeMode(QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
        self.horizontalHeader().setSectionResizeMode(QtWidgets.QHeaderView.ResizeMode.Stretch)
        self.setFont(font(12))
        self.verticalHeader().setFont(font(11, bold=True))
        self.horizontalHeader().setFont(font(12, bold=True))
        self.setSizeAdjustPolicy(QtWidgets.QAbstractScrollArea.SizeAdjustPolicy.AdjustToContents)
        self.theme: Theme | None = None

    def set_rows(self, kernels: tuple[str, ...], rows: list[Row]) -> None:
        self.setColumnCount(len(kernels))
        self.setRowCount(len(rows))
        self.setHorizontalHeaderLabels(list(kernels))
        self.setVerticalHeaderLabels([SHORT.get(r.label, r.label) for r in rows])
        for i, r in enumerate(rows):
            self.verticalHeaderItem(i).setToolTip(r.label)
        pt = 12 if len(kernels) <= 3 else 10  # five variants must fit a 720p dock
        bold, plain = font(pt, bold=True), font(pt)
        for i, r in enumerate(rows):
            for j, v in enumerate(r.values):
                it = self.item(i, j)
                if it is None:
                    it = QtWidgets.QTableWidgetItem()
                    it.setTextAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
                    self.setItem(i, j, it)
                it.setText(v)
                it.setFont(bold if r.differs else plain)
                if r.differs and self.theme is not None:
                    it.setForeground(QtGui.QBrush(qcolor(self.theme.fg)))
                    it.setBackground(QtGui.QBrush(qcolor(self.theme.accent, 70 if r.best[j] else 25)))
                else:
                    it.setBackground(QtGui.QBrush())

    def set_theme(self, theme: Theme) -> None:
        self.theme = theme

    def cell_text(self, row: int, col: int) -> str:
        it = self.item(row, col)
        return it.text() if it else ""
