"""The lesson browser: the built-in lessons with their titles and summaries."""

from __future__ import annotations

from pathlib import Path

from PySide6 import QtCore, QtWidgets

from zpviz.errors import LessonError
from zpviz.gui.theme import font
from zpviz.scenario import load
from zpviz.scenario.library import builtin_lessons


def describe(path: Path) -> tuple[str, str]:
    """(title, summary) of a lesson file, or its first problem."""
    try:
        sc = load(path)
    except LessonError as e:
        return path.name, f"cannot be loaded: {e.problems[0] if e.problems else e}"
    return sc.title, f"{path.name} \u00b7 {len(sc.steps)} steps \u00b7 kernel {sc.kernel}" + \
        (f" vs {', '.join(sc.compare)}" if sc.compare else "") + (f"\n{sc.summary}" if sc.summary else "")


class LessonBrowser(QtWidgets.QDialog):
    lessonChosen = QtCore.Signal(str)

    def __init__(self, parent=None, paths: list[Path] | None = None):
        super().__init__(parent)
        self.setWindowTitle("Built-in lessons")
        self.resize(760, 520)
        lay = QtWidgets.QVBoxLayout(self)
        self.list = QtWidgets.QListWidget()
        self.list.setFont(font(13))
        self.list.setWordWrap(True)
        self.list.setSpacing(4)
        self.list.itemActivated.connect(self._chosen)
        lay.addWidget(self.list, 1)
        buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Open
                                             | QtWidgets.QDialogButtonBox.StandardButton.Close)
        buttons.accepted.connect(lambda: self._chosen(self.list.currentItem()))
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)
        self.paths = list(paths) if paths is not None else builtin_lessons()
        for p in self.paths:
            title, summary = describe(p)
            it = QtWidgets.QListWidgetItem(f"{title}\n{summary}")
            it.setData(QtCore.Qt.ItemDataRole.UserRole, str(p))
            self.list.addItem(it)
        if not self.paths:
            self.list.addItem("No built-in lessons were found.")
        else:
            self.list.setCurrentRow(0)

    def _chosen(self, item) -> None:
        if item is None:
            return
        path = item.data(QtCore.Qt.ItemDataRole.UserRole)
        if path:
            self.lessonChosen.emit(path)
            self.accept()

    def choose(self, row: int) -> None:
        """Open the lesson in `row` (what double-clicking does)."""
        self._chosen(self.list.item(row))
