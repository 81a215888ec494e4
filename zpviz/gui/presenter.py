"""The presenter view: a second window for the lecturer's screen with notes, the next step and a clock.

The projector window stays clean; this one carries everything the room should not see. It has no
timer of its own: the transport's once-a-second tick refreshes the clock.
"""

from __future__ import annotations

import time

from PySide6 import QtCore, QtWidgets

from zpviz.gui.theme import font
from zpviz.present.captions import PresenterInfo
from zpviz.present.palette import Theme


class PresenterWindow(QtWidgets.QWidget):
    def __init__(self, parent=None):
        super().__init__(parent, QtCore.Qt.WindowType.Window)
        self.setWindowTitle("zpviz \u2014 presenter view")
        self.started = time.monotonic()
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(18, 14, 18, 14)
        top = QtWidgets.QHBoxLayout()
        self.step = QtWidgets.QLabel()
        self.step.setFont(font(18, bold=True))
        top.addWidget(self.step, 1)
        self.elapsed = QtWidgets.QLabel()
        self.elapsed.setFont(font(26, bold=True, mono=True))
        self.elapsed.setToolTip("time since the presenter view opened (click to restart)")
        self.elapsed.mousePressEvent = lambda ev: self.restart_clock()
        top.addWidget(self.elapsed)
        top.addSpacing(24)
        self.clock = QtWidgets.QLabel()
        self.clock.setFont(font(26, mono=True))
        top.addWidget(self.clock)
        lay.addLayout(top)
        self.now = QtWidgets.QLabel()
        self.now.setWordWrap(True)
        self.now.setFont(font(16))
        lay.addWidget(self.now)
        head = QtWidgets.QLabel("Notes")
        head.setFont(font(13, bold=True))
        lay.addWidget(head)
        self.notes = QtWidgets.QTextEdit()
        self.notes.setReadOnly(True)
        self.notes.setFont(font(22))
        self.notes.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
        lay.addWidget(self.notes, 3)
        nxt = QtWidgets.QLabel("Next")
        nxt.setFont(font(13, bold=True))
        lay.addWidget(nxt)
        self.next = QtWidgets.QLabel()
        self.next.setWordWrap(True)
        self.next.setFont(font(18))
        lay.addWidget(self.next)
        self.next_detail = QtWidgets.QLabel()
        self.next_detail.setFont(font(12))
        lay.addWidget(self.next_detail)
        self.keys = QtWidgets.QLabel("Space play/pause \u00b7 \u2190 \u2192 event \u00b7 PgUp/PgDn step \u00b7 "
                                     "Ctrl+\u2190/\u2192 checkpoint \u00b7 F11 full screen")
        self.keys.setFont(font(11))
        lay.addWidget(self.keys)
        self.resize(900, 640)
        self.info: PresenterInfo | None = None

    def restart_clock(self) -> None:
        self.started = time.monotonic()
        self.tick()

    def elapsed_s(self) -> float:
        return time.monotonic() - self.started

    def set_info(self, info: PresenterInfo) -> None:
        self.info = info
        cap = info.caption
        self.step.setText(f"{cap.counter} \u00b7 {cap.kernel}")
        self.now.setText(cap.say)
        if self.notes.toPlainText() != info.notes:
            self.notes.setPlainText(info.notes)
        self.next.setText(info.next_say)
        self.next_detail.setText(info.next_detail)
        self.clock.setText(info.clock)
        self.elapsed.setText(info.elapsed)

    def tick(self) -> None:
        from zpviz.present.captions import clock_text

        self.elapsed.setText(clock_text(self.elapsed_s()))
        self.clock.setText(time.strftime("%H:%M"))

    def set_theme(self, theme: Theme) -> None:
        self.setStyleSheet(f"QWidget {{ background: {theme.bg}; color: {theme.fg}; }}")
        self.elapsed.setStyleSheet(f"color: {theme.accent};")
