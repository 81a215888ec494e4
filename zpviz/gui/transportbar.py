"""The transport bar: buttons, the timeline and the speed, none of which takes keyboard focus."""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from zpviz.gui.icons import icon
from zpviz.gui.steady import SteadyLabel
from zpviz.gui.theme import font, qcolor
from zpviz.gui.timeline import TimelineWidget
from zpviz.present.palette import Theme

BUTTONS = (  # (command, icon, tooltip)
    ("first", "first", "First (Home)"),
    ("prev_checkpoint", "prev_checkpoint", "Previous checkpoint (Ctrl+Left)"),
    ("prev_step", "prev_step", "Previous lesson step (Shift+Left, PageUp)"),
    ("prev", "prev", "Previous event (Left)"),
    ("toggle", "play", "Play / pause (Space)"),
    ("next", "next", "Next event (Right)"),
    ("next_step", "next_step", "Next lesson step (Shift+Right, PageDown)"),
    ("next_checkpoint", "next_checkpoint", "Next checkpoint (Ctrl+Right)"),
    ("last", "last", "Last (End)"),
)
SPEED_BUTTONS = (("slower", "slower", "Slower (-)"), ("faster", "faster", "Faster (+)"))


class FrameCounter(SteadyLabel):
    """"frame / last frame", shortened rather than cut where the bar leaves it too little room.

    The layout is always asked for the whole text ("1,025 / 1,043"), so it gets it wherever the bar
    has the room. Squeezed below it (a zoomed window at 1280x720 gave it 104 of its 118 px; a 960 px
    window 96), the label drops the spaces, then the thousands separators, so that no digit is ever
    cut off at its left edge. (A fixed minimum of the whole text's width would instead make a
    960 px window wider than the screen it was sized for.)"""

    def __init__(self):
        super().__init__()
        self._value = (0, 0)

    def _texts(self) -> tuple[str, str, str]:
        frame, last = self._value
        return f"{frame:,} / {last:,}", f"{frame:,}/{last:,}", f"{frame}/{last}"

    def sizeHint(self) -> QtCore.QSize:  # noqa: N802 (Qt's name) - the whole text's, whatever is shown
        hint = super().sizeHint()
        extra = hint.width() - self.fontMetrics().horizontalAdvance(self.text())
        return QtCore.QSize(self.fontMetrics().horizontalAdvance(self._texts()[0]) + extra, hint.height())

    def set_value(self, frame: int, last: int) -> None:
        self._value = (frame, last)
        self._fit()

    def resizeEvent(self, ev) -> None:  # noqa: N802 (Qt's name)
        super().resizeEvent(ev)
        self._fit()

    def _fit(self) -> None:
        room = self.contentsRect().width() - 2 * self.margin()
        fm = self.fontMetrics()
        texts = self._texts()
        self.setText(next((t for t in texts if fm.horizontalAdvance(t) <= room), texts[-1]))


class TransportBar(QtWidgets.QFrame):
    command = QtCore.Signal(str)

    def __init__(self, theme: Theme, parent=None):
        super().__init__(parent)
        self.setObjectName("panel")
        self.theme = theme
        self.playing = False
        outer = QtWidgets.QVBoxLayout(self)
        outer.setContentsMargins(8, 4, 8, 4)
        outer.setSpacing(2)
        self.timeline = TimelineWidget(theme)  # its own full-width row: long lessons need the pixels
        outer.addWidget(self.timeline)
        lay = QtWidgets.QHBoxLayout()
        lay.setSpacing(4)
        outer.addLayout(lay)
        self.buttons: dict[str, QtWidgets.QToolButton] = {}
        for cmd, _, tip in BUTTONS:
            lay.addWidget(self._button(cmd, tip))
        lay.addStretch(1)
        self.position = FrameCounter()  # a new text every frame: no relayout of the window for it
        self.position.setFont(font(11, mono=True))
        # (a small minimum and buttons that may narrow: the bar must never make a 960 px window wider)
        self.position.limit_width(96)
        self.position.setAlignment(QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter)
        self.position.setToolTip("frame / last frame (one frame per kernel event)")
        lay.addWidget(self.position.holder(self))
        lay.addSpacing(8)
        self.speed = QtWidgets.QLabel("1\u00d7")
        self.speed.setFont(font(13, bold=True))
        self.speed.setMinimumWidth(52)
        self.speed.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.speed.setToolTip("Playback speed (+ / -)")
        lay.addWidget(self._button("slower", "Slower (-)"))
        lay.addWidget(self.speed)
        lay.addWidget(self._button("faster", "Faster (+)"))
        self.set_theme(theme)

    def _button(self, cmd: str, tip: str) -> QtWidgets.QToolButton:
        b = QtWidgets.QToolButton()
        b.setToolTip(tip)
        b.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
        b.setIconSize(QtCore.QSize(26, 26))
        b.setMinimumWidth(30)  # narrower than its hint in a small window, rather than widen the window
        b.setAutoRaise(False)
        b.clicked.connect(lambda _=False, c=cmd: self.command.emit(c))
        self.buttons[cmd] = b
        return b

    def _icons(self) -> None:
        c = qcolor(self.theme.fg)
        names = dict((cmd, ic) for cmd, ic, _ in BUTTONS + SPEED_BUTTONS)
        names["toggle"] = "pause" if self.playing else "play"
        for cmd, b in self.buttons.items():
            b.setIcon(icon(names[cmd], c, 32))

    def set_playing(self, playing: bool) -> None:
        self.playing = playing
        self.buttons["toggle"].setIcon(icon("pause" if playing else "play", qcolor(self.theme.fg), 32))

    def set_speed(self, speed: float) -> None:
        self.speed.setText(f"{speed:g}\u00d7")

    def set_position(self, frame: int, n_frames: int) -> None:
        self.position.set_value(frame, max(0, n_frames - 1))
        self.timeline.set_frame(frame)

    def set_theme(self, theme: Theme) -> None:
        self.theme = theme
        self.timeline.set_theme(theme)
        self._icons()
