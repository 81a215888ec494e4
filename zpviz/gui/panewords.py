"""A compare pane's own caption: the words written for its variant (the outcome line is the pane's status).

One caption over four kernels that did different things misleads; each pane says what its kernel
did. The panes of a set share one height (the longest caption's, up to a cap), so their grids start
level; a caption longer than that is cut with an ellipsis and shown whole as the tooltip.
"""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

from zpviz.gui.theme import font
from zpviz.present.palette import Theme

CAPTION_PT = 11


def wrap(text: str, fm: QtGui.QFontMetrics, width: int) -> list[str]:
    """The text broken into lines no wider than `width` (a word longer than a line gets its own)."""
    lines: list[str] = []
    for para in text.split("\n"):
        line = ""
        for word in para.split():
            trial = f"{line} {word}" if line else word
            if line and fm.horizontalAdvance(trial) > width:
                lines.append(line)
                line = word
            else:
                line = trial
        lines.append(line)
    return [ln for ln in lines if ln] or [""]


def fit_lines(text: str, fm: QtGui.QFontMetrics, width: int, max_lines: int) -> list[str]:
    """At most `max_lines` lines; the last one ends in an ellipsis when the text goes on."""
    lines = wrap(text, fm, width)
    if len(lines) <= max_lines:
        return lines
    last = " ".join(lines[max_lines - 1:])
    return lines[:max_lines - 1] + [fm.elidedText(last, QtCore.Qt.TextElideMode.ElideRight, width)]


class FitLines(QtWidgets.QLabel):
    """A label of at most `max_lines` lines at any width: the text is wrapped here and its last line
    cut with an ellipsis, refitted on every resize; text() and the tooltip give the whole text."""

    def __init__(self, max_lines: int = 2, parent=None):
        super().__init__(parent)
        self.max_lines = max_lines
        self._full = ""
        self.setWordWrap(False)  # the lines are made here; Qt must not wrap them a second time

    def setText(self, text: str) -> None:  # noqa: N802 (Qt's name)
        if text == self._full and self.toolTip() == text:  # the same words (every frame sets them): wrapped already
            return
        self._full = text
        self.setToolTip(text)
        self._fit()

    def text(self) -> str:
        return self._full

    def shown(self) -> str:
        return super().text()

    def resizeEvent(self, ev) -> None:  # noqa: N802
        super().resizeEvent(ev)
        self._fit()

    def _fit(self) -> None:
        width = max(40, self.width() - 4)
        super().setText("\n".join(fit_lines(self._full, self.fontMetrics(), width, self.max_lines)))


class PaneWords(QtWidgets.QWidget):
    def __init__(self, peers: list | None = None, parent=None):
        super().__init__(parent)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(1)
        self.caption = QtWidgets.QLabel()
        self.caption.setFont(font(CAPTION_PT))
        self.caption.setMinimumWidth(40)
        self.caption.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Fixed)
        self.caption.setAlignment(QtCore.Qt.AlignmentFlag.AlignTop | QtCore.Qt.AlignmentFlag.AlignLeft)
        lay.addWidget(self.caption)
        self.peers = peers if peers is not None else []
        self.peers.append(self)
        self.max_lines = 2
        self._caption = ""
        self._fitted: tuple | None = None

    def set_caption(self, caption: str, max_lines: int = 2) -> None:
        """This pane's caption; `max_lines` caps it (fewer when panes are stacked)."""
        if (caption, max_lines) == (self._caption, self.max_lines):
            return
        self._caption, self.max_lines = caption, max_lines
        self.caption.setToolTip(caption)
        self._fit_all()

    def full_caption(self) -> str:
        return self._caption

    def resizeEvent(self, ev) -> None:  # noqa: N802 (Qt's name)
        super().resizeEvent(ev)
        self._fit_all()

    def _width(self) -> int:
        return max(40, self.width() - 2)

    def _needed(self) -> int:
        fm = QtGui.QFontMetrics(font(CAPTION_PT))
        return len(fit_lines(self._caption, fm, self._width(), self.max_lines)) if self._caption else 0

    def _fit_all(self) -> None:
        shown = [p for p in self.peers if not p.isHidden()] or [self]
        n = max(p._needed() for p in shown)
        for p in self.peers:
            p._fit(n)

    def _fit(self, n: int) -> None:
        key = (n, self._width(), self._caption)
        if key == self._fitted:
            return
        self._fitted = key
        fm = QtGui.QFontMetrics(font(CAPTION_PT))
        self.caption.setFixedHeight(fm.lineSpacing() * n + 2 if n else 0)
        self.caption.setText("\n".join(fit_lines(self._caption, fm, self._width(), max(n, 1))) if n else "")

    def set_theme(self, theme: Theme) -> None:
        self.caption.setStyleSheet(f"color: {theme.muted};")
