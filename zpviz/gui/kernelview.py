"""The kernel path of the current event, the test that decided it, and the kernel log beside it."""

from __future__ import annotations

import html

from PySide6 import QtCore, QtWidgets

from zpviz.gui.theme import MONO, font
from zpviz.present.kpath import EventView, LogLine
from zpviz.present.palette import Theme


class KernelPathView(QtWidgets.QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(8, 4, 8, 4)
        lay.setSpacing(4)
        self.head = QtWidgets.QLabel()
        self.head.setWordWrap(True)
        self.head.setFont(font(14, bold=True))
        lay.addWidget(self.head)
        split = QtWidgets.QHBoxLayout()
        self.path = QtWidgets.QLabel()
        self.path.setWordWrap(True)
        self.path.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.path.setAlignment(QtCore.Qt.AlignmentFlag.AlignTop | QtCore.Qt.AlignmentFlag.AlignLeft)
        self.path.setMinimumWidth(160)
        self.path.setFont(font(14))
        scroll = QtWidgets.QScrollArea()  # a long path and its why must stay reachable in a short dock
        scroll.setWidget(self.path)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        scroll.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
        scroll.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        split.addWidget(scroll, 3)
        self.log = QtWidgets.QTextEdit()
        self.log.setReadOnly(True)
        self.log.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
        self.log.setFont(font(11, mono=True))
        self.log.setLineWrapMode(QtWidgets.QTextEdit.LineWrapMode.WidgetWidth)
        split.addWidget(self.log, 2)
        lay.addLayout(split, 1)
        self.theme: Theme | None = None
        self.event: EventView | None = None
        self._log_key: tuple = ()

    def set_theme(self, theme: Theme) -> None:
        self.theme = theme
        self._log_key = ()
        self.log.setStyleSheet(f"QTextEdit {{ background: {theme.panel}; color: {theme.fg}; "
                               f"border: 1px solid {theme.grid}; }}")
        if self.event is not None:
            self.set_event(self.event)

    def set_event(self, ev: EventView | None, narration: str = "") -> None:
        self.event = ev
        t = self.theme
        accent = t.accent if t else "#0072B2"
        alert = t.alert if t else "#D55E00"
        if ev is None:
            self.head.setText("Before the first event")
            self.path.setText(f"<i>{html.escape(narration) or 'Press Space to play, Right to step.'}</i>")
            return
        self.head.setText(ev.headline())
        if not ev.functions:  # narration (its text is the caption) or a step with nothing to do
            self.path.setText("" if ev.kind == 0 else f"<i>{html.escape(ev.decision)}</i>")
            return
        # one wrapping line of calls, not one row each: the why below must fit a 720p dock too
        n = len(ev.functions)
        calls = []
        for i, fn in enumerate(ev.functions):
            style = f"color:{accent}; font-weight:bold" if i == n - 1 else ""
            calls.append(f"<span style='font-family:\"{MONO}\"; {style}'>{html.escape(fn)}()</span>")
        rows = [" <span style='color:gray'>\u2192</span> ".join(calls)]
        why_colour = alert if ev.bad or ev.segv else accent
        why = (f"<div style='margin-top:6px; padding:4px; border-left:4px solid {why_colour};'>"
               f"<b>why:</b> {html.escape(ev.decision) or '-'}</div>") if ev.decision else ""
        out = f"<div style='margin-top:4px'><b>outcome:</b> {html.escape(ev.outcome)}</div>"
        self.path.setText("".join(rows) + why + out)

    def set_log(self, lines: list[LogLine], total: int) -> None:
        key = (len(lines), total, lines[-1].event if lines else -1)
        if key == self._log_key:
            return
        self._log_key = key
        t = self.theme
        alert = t.alert if t else "#D55E00"
        muted = t.muted if t else "#555555"
        if not lines:
            self.log.setHtml(f"<span style='color:{muted}'>kernel log (dmesg): empty</span>")
            return
        parts = [f"<div style='color:{muted}'>kernel log (dmesg), {total} line{'s' if total != 1 else ''}</div>"]
        for ln in lines:
            text = html.escape(ln.text)
            if ln.bad:
                parts.append(f"<div style='color:{alert}; font-weight:bold'>[{ln.event:>6}] {text}</div>")
            else:
                parts.append(f"<div>[{ln.event:>6}] {text}</div>")
        self.log.setHtml("".join(parts))
        sb = self.log.verticalScrollBar()
        sb.setValue(sb.maximum())

    def path_text(self) -> str:
        return self.path.text()

    def log_text(self) -> str:
        return self.log.toPlainText()
