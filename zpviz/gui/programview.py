"""The program dock: the lesson's short program, with the line the current step runs highlighted.

Like Python Tutor's code pane: line numbers, an arrow and a full-width bar on the current line, the
rest read-only. The content comes from present.program; this only draws it in the theme's colours.
"""

from __future__ import annotations

import re

from PySide6 import QtCore, QtGui, QtWidgets

from zpviz.gui.theme import font, qcolor
from zpviz.present.palette import Theme
from zpviz.present.program import ProgramView

ARROW = "\u2192"
_CLEARED = ("no program",)  # ProgramPanel._text_key when it shows none
_COMMENT = {"c": re.compile(r"//.*$|/\*.*?(\*/|$)"), "python": re.compile(r"#.*$")}


class _Comments(QtGui.QSyntaxHighlighter):
    """Comments in the muted colour, so the code itself stands out (one-line comments only)."""

    def __init__(self, doc: QtGui.QTextDocument):
        super().__init__(doc)
        self.pattern: re.Pattern | None = None
        self.fmt = QtGui.QTextCharFormat()

    def highlightBlock(self, text: str) -> None:  # noqa: N802 (Qt's name)
        if self.pattern is None:
            return
        for m in self.pattern.finditer(text):
            self.setFormat(m.start(), m.end() - m.start(), self.fmt)


class ProgramPanel(QtWidgets.QPlainTextEdit):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setReadOnly(True)
        self.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
        self.setLineWrapMode(QtWidgets.QPlainTextEdit.LineWrapMode.NoWrap)
        self.setFont(font(12, mono=True))
        self.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.NoTextInteraction)
        self._comments = _Comments(self.document())
        self.theme: Theme | None = None
        self.view: ProgramView | None = None
        self._text_key: tuple = ()
        self._lit: tuple | None = None  # _highlight's line and where the view stood after it

    def set_theme(self, theme: Theme) -> None:
        self.theme = theme
        self.setStyleSheet(f"QPlainTextEdit {{ background: {theme.panel}; color: {theme.fg}; "
                           f"border: 1px solid {theme.grid}; }}")
        self._comments.fmt.setForeground(qcolor(theme.muted))
        self._text_key = ()
        self._lit = None
        if self.view is not None:
            self.set_view(self.view)

    def set_view(self, view: ProgramView | None) -> None:
        """Show a program and highlight its current line (None: clear)."""
        self.view = view
        if view is None:  # (every frame of a lesson without a program: clear once, not a new document each time)
            if self._text_key != _CLEARED:
                self.setPlainText("")
                self.setExtraSelections([])
                self._text_key = _CLEARED
                self._lit = None
            return
        width = len(str(len(view.lines)))
        key = (view.lines, view.current, view.language)
        if key != self._text_key:
            self._comments.pattern = _COMMENT.get(view.language)
            text = "\n".join(f"{i:>{width}} {ARROW if i == view.current else ' '} {line}"
                             for i, line in enumerate(view.lines, 1))
            self.setPlainText(text)
            self._text_key = key
            self._lit = None
        self._highlight(view.current)

    def current_line(self) -> int | None:
        return self.view.current if self.view is not None else None

    def _highlight(self, line: int | None) -> None:
        # the same line of the same text in a view that has not moved or resized since: the bar, the
        # cursor and the scroll would be set to what they are (a step of a loop's lines, every frame
        # between them), and setting the selections again repaints the dock for nothing
        if self._lit is not None and self._lit == self._place(line):
            return
        self._lit = None
        self._highlight_now(line)
        self._lit = self._place(line)

    def _place(self, line: int | None) -> tuple:
        v, h = self.verticalScrollBar(), self.horizontalScrollBar()
        return (line, self.blockCount(), self.viewport().size().toTuple(), v.value(), v.maximum(), h.value(),
                h.maximum())

    def _highlight_now(self, line: int | None) -> None:
        t = self.theme
        if line is None or t is None or not 1 <= line <= self.blockCount():
            self.setExtraSelections([])
            if not self.isVisible():
                self._bar_as_shown()
            return
        block = self.document().findBlockByNumber(line - 1)
        bar = QtWidgets.QTextEdit.ExtraSelection()  # the bar, across the whole width
        bar.format.setBackground(qcolor(t.accent))
        bar.format.setProperty(QtGui.QTextFormat.Property.FullWidthSelection, True)
        bar.cursor = QtGui.QTextCursor(block)
        text = QtWidgets.QTextEdit.ExtraSelection()  # its text, as the app's selected items: panel-coloured
        text.format.setBackground(qcolor(t.accent))
        text.format.setForeground(qcolor(t.panel))
        cursor = QtGui.QTextCursor(block)
        cursor.movePosition(QtGui.QTextCursor.MoveOperation.EndOfBlock, QtGui.QTextCursor.MoveMode.KeepAnchor)
        text.cursor = cursor
        self.setExtraSelections([bar, text])
        self.setTextCursor(QtGui.QTextCursor(block))  # no visible selection: only to scroll it into view
        self.centerCursor()
        if not self.isVisible():
            self._bar_as_shown()

    def _bar_as_shown(self) -> None:
        """The scroll range a shown panel has. Qt sets a hidden text view's as if its last line could
        scroll to the middle (0-9 for lesson 2's ten lines, where a shown panel has 0-1), so a window
        never shown (an export stepping through a lesson) centred the current line further down
        than the room's window and a screenshot of the same frame showed it. As Qt does for a shown
        view: the lines that fit above the bottom of the view, counted from the last one."""
        room = self.viewport().rect().height() - self.document().documentMargin() - 1
        layout = self.document().documentLayout()
        block, y, from_bottom = self.document().lastBlock(), 0.0, 0
        while block.isValid():
            y += layout.blockBoundingRect(block).height()
            if y > room:
                break
            from_bottom += block.lineCount()
            block = block.previous()
        bar = self.verticalScrollBar()
        bar.setRange(0, max(0, self.document().lineCount() - max(from_bottom, 1)))
        bar.setPageStep(max(from_bottom, 1))
