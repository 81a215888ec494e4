"""The kernel path of the current event, the test that decided it, and the kernel log beside it."""

from __future__ import annotations

import html

from PySide6 import QtCore, QtGui, QtWidgets

from zpviz.gui.steady import SteadyLabel
from zpviz.gui.theme import MONO, font
from zpviz.present.kpath import EventView, LogLine
from zpviz.present.palette import Theme

PATH_PT, MIN_PATH_PT = 14, 8  # the calls' font: as big as lets the longest function name fit whole
TAIL_MIN_PT = 11  # the path shrinks to show its why and outcome too, but not below this for them
STACK_BELOW_PX = 520  # narrower than this (a 960 px export, a 720p compare), the log goes under the path


class KernelPathView(QtWidgets.QWidget):
    """Every function name shows whole: the calls' font shrinks until the longest name fits the
    column, a name still too long breaks after an underscore (never cut at the dock's edge), and in
    a narrow dock the log moves under the path so the path has the dock's whole width."""

    def __init__(self, parent=None):
        super().__init__(parent)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(8, 4, 8, 4)
        lay.setSpacing(4)
        self.head = SteadyLabel()  # a new text every frame: no relayout of the window for it
        self.head.setWordWrap(True)
        self.head.setFont(font(14, bold=True))
        lay.addWidget(self.head.holder(self))
        split = self.split = QtWidgets.QBoxLayout(QtWidgets.QBoxLayout.Direction.LeftToRight)
        self.path = QtWidgets.QLabel()
        self.path.setWordWrap(True)
        self.path.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.path.setAlignment(QtCore.Qt.AlignmentFlag.AlignTop | QtCore.Qt.AlignmentFlag.AlignLeft)
        self.path.setMinimumWidth(120)
        self.path.setFont(font(PATH_PT))
        scroll = self.scroll = QtWidgets.QScrollArea()  # a long path and its why must stay reachable in a short dock
        scroll.setWidget(self.path)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        scroll.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
        scroll.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.viewport().installEventFilter(self)  # the path's room changes without this widget resizing
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
        self._names: tuple[str, ...] = ()  # the calls shown, "name()", for fitting the font
        self._tail = ""  # the why and outcome lines under the calls, for fitting the font too
        self._built_room = 0  # the line width the path's text was last built for
        self._built: tuple | None = None  # what the path's text of calls was last built from
        self._fitted: dict[tuple, int] = {}  # (calls, room, height) -> the size they fit at

    def resizeEvent(self, ev) -> None:  # noqa: N802 (Qt's name)
        super().resizeEvent(ev)
        stacked = self.width() < STACK_BELOW_PX
        self.head.setFont(font(11 if stacked else 14, bold=True))
        # stacked, the log keeps three lines (it scrolls to the newest): the path needs the height
        self.log.setMaximumHeight(QtGui.QFontMetrics(self.log.font()).lineSpacing() * 3 + 12 if stacked else 16777215)
        want = QtWidgets.QBoxLayout.Direction.TopToBottom if stacked else QtWidgets.QBoxLayout.Direction.LeftToRight
        if self.split.direction() != want:
            self.split.setDirection(want)
            self.split.setStretch(0, 3)
            self.split.setStretch(1, 1 if stacked else 2)
        self._fit_path()

    def eventFilter(self, obj, ev) -> bool:  # noqa: N802 (Qt's name)
        if ev.type() == QtCore.QEvent.Type.Resize and obj is self.scroll.viewport():
            self._fit_path()
        return False

    def _path_width(self) -> int:
        """Pixels a line of the path has: the scroll area's width, or its share of the dock before layout.
        The area's whole width, whether its scroll bar shows or not: the size the path is fitted at
        then depends on the dock alone, not on whether the previous step's path needed the bar (a
        window stepped to a frame kept the bar and a smaller size where a screenshot of it had none)."""
        w = self.scroll.contentsRect().width()
        if w <= 50:
            m = self.layout().contentsMargins()
            w = self.width() - m.left() - m.right()
            if self.split.direction() == QtWidgets.QBoxLayout.Direction.LeftToRight:
                w = w * 3 // 5
        return max(60, w - 8)

    def path_pt(self) -> int:
        return self.path.font().pointSize()

    def _fit_path(self, rebuild: bool = True) -> None:
        """The biggest size (PATH_PT down to MIN_PATH_PT) at which the longest "-> name()" fits a line
        and the calls with their why and outcome fit the visible height, down to TAIL_MIN_PT; below it
        only the calls must fit and the why and outcome may scroll. (Fitting the calls alone left a
        why under the fold at 720p at 13 pt: lesson 14's 'why: R/O FOLL_LONGTERM pin ...' showed as
        its first line only.)"""
        if not self._names:
            return
        room = self._path_width()
        high = self.scroll.viewport().height()
        key = (self._names, self._tail, room, high)
        pt = self._fitted.get(key)  # every frame asks; the same calls in the same room fit the same
        if pt is None:
            pt = PATH_PT
            while pt > MIN_PATH_PT:
                fm = QtGui.QFontMetrics(font(pt, mono=True))
                wide = max(fm.horizontalAdvance("\u2192 " + n) for n in self._names)
                calls = high <= 50 or self._calls_height(pt, room) <= high
                whole = high <= 50 or (calls and self._calls_height(pt, room) + self._tail_height(pt, room) <= high)
                if wide <= room and (whole or (calls and pt <= TAIL_MIN_PT)):
                    break
                pt -= 1
            if len(self._fitted) > 256:
                self._fitted.clear()
            self._fitted[key] = pt
        changed = pt != self.path_pt()
        if changed:
            self.path.setFont(font(pt))
        if rebuild and (changed or room != self._built_room) and self.event is not None and self.event.functions:
            self.set_event(self.event)  # which names need break hints depends on the size and the room
        elif changed:
            self._update_scroll_bar()

    def _update_scroll_bar(self) -> None:
        """The scroll bar shown or hidden for the path now in the label. A QScrollArea decides on a
        LayoutRequest from its widget, which Qt posts only while the widget is visible: a window
        never shown (a screenshot, an export) kept the bar of the previous step's path."""
        QtCore.QCoreApplication.sendEvent(self.scroll, QtCore.QEvent(QtCore.QEvent.Type.LayoutRequest))

    def _calls_height(self, pt: int, width: int) -> float:
        """Pixels the calls take, wrapped to `width` at `pt` (arrows kept with the next name)."""
        doc = QtGui.QTextDocument()
        doc.setDefaultFont(font(pt, mono=True))
        doc.setDocumentMargin(0)
        doc.setTextWidth(width)
        doc.setPlainText(" ".join(("\u2192\u00a0" if i else "") + n for i, n in enumerate(self._names)))
        return doc.size().height()

    def _tail_height(self, pt: int, width: int) -> float:
        """Pixels the why and outcome take under the calls at `pt` (their margins and rule included)."""
        if not self._tail:
            return 0.0
        doc = QtGui.QTextDocument()
        doc.setDefaultFont(font(pt))
        doc.setDocumentMargin(0)
        doc.setTextWidth(max(1, width - 8))
        doc.setPlainText(self._tail)
        return doc.size().height() + 14

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
        if ev is None or not ev.functions:
            # a narration or a step with nothing to do: the full size, not the size the last path
            # was fitted at (its size had depended on the event shown before: a stepped window and
            # a screenshot of the same frame showed "no fault" at 11 and 14 pt)
            self._names = ()
            if self.path_pt() != PATH_PT:
                self.path.setFont(font(PATH_PT))
        if ev is None:
            self._built = None
            self.head.setText("Before the first event")
            self.path.setText(f"<i>{html.escape(narration) or 'Press Space to play, Right to step.'}</i>")
            self._update_scroll_bar()
            return
        self.head.setText(ev.headline())
        if not ev.functions:  # narration (its text is the caption) or a step with nothing to do
            self._built = None
            self.path.setText("" if ev.kind == 0 else f"<i>{html.escape(ev.decision)}</i>")
            self._update_scroll_bar()
            return
        # one wrapping line of calls, not one row each: the why below must fit a 720p dock too. An
        # arrow stays with the call after it (a no-break space), so no line is a lone arrow; a
        # name too long for the line even at the smallest size may break after an underscore
        n = len(ev.functions)
        calls = []
        self._names = tuple(f"{fn}()" for fn in ev.functions)
        self._tail = (f"why: {ev.decision}\n" if ev.decision else "") + f"outcome: {ev.outcome}"
        self._fit_path(rebuild=False)
        room, pt = self._path_width(), self.path_pt()
        self._built_room = room
        # the text depends on these alone; successive events of a step often have the same (a step of
        # read faults): the same text again, without building it (QLabel.setText returns at once)
        built = (ev.functions, ev.decision, ev.outcome, bool(ev.bad or ev.segv), accent, alert, room, pt)
        if built == self._built:
            return
        fm = QtGui.QFontMetrics(font(pt, mono=True))
        for i, fn in enumerate(ev.functions):
            style = f"color:{accent}; font-weight:bold" if i == n - 1 else ""
            name = html.escape(fn)
            if fm.horizontalAdvance(f"\u2192 {fn}()") > room:  # too long even at the smallest size
                name = name.replace("_", "_\u200b")
            arrow = "<span style='color:gray'>\u2192</span>\u00a0" if i else ""
            calls.append(f"{arrow}<span style='font-family:\"{MONO}\"; {style}'>{name}()</span>")
        rows = [" ".join(calls)]
        why_colour = alert if ev.bad or ev.segv else accent
        why = (f"<div style='margin-top:6px; padding:4px; border-left:4px solid {why_colour};'>"
               f"<b>why:</b> {html.escape(ev.decision) or '-'}</div>") if ev.decision else ""
        out = f"<div style='margin-top:4px'><b>outcome:</b> {html.escape(ev.outcome)}</div>"
        self.path.setText("".join(rows) + why + out)
        self._built = built
        self._update_scroll_bar()

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
        """The path as text: the calls joined by " \u2192 " (without the markup's break hints)."""
        return self.path.text().replace("\u200b", "").replace("\u00a0", " ")

    def log_text(self) -> str:
        return self.log.toPlainText()
