"""The caption bar: the current step's text, large enough for the back of a lecture hall."""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

from zpviz.gui.panewords import wrap
from zpviz.gui.steady import SteadyLabel
from zpviz.gui.theme import CAPTION_PT, font
from zpviz.present.captions import Caption
from zpviz.present.palette import Theme


class CaptionText(QtWidgets.QLabel):
    """The caption's words, never cut through a line. Where the layout gives them less height than
    they ask (predict mode at 1280x720: the question and its seven answers take the room), a QLabel
    centres its lines and cuts the first and the last through the middle. They are drawn from the
    top instead, a point smaller at a time down to MIN_PT until they fit, and past that cut after
    the last whole line with an ellipsis; text() and the tooltip keep them whole."""

    MIN_PT = 12

    def squeezed(self) -> bool:
        return bool(self.text()) and super().heightForWidth(self.contentsRect().width()) > self.contentsRect().height()

    def shown(self) -> tuple[QtGui.QFont, list[str]]:
        """The font and lines drawn when squeezed (the whole text, one line, when not)."""
        rect = self.contentsRect()
        width = max(40, rect.width())
        f = QtGui.QFont(self.font())
        while True:
            fm = QtGui.QFontMetrics(f)
            lines = wrap(self.text(), fm, width)
            if len(lines) * fm.lineSpacing() <= rect.height() or f.pointSize() <= self.MIN_PT:
                break
            f.setPointSize(f.pointSize() - 1)
        n = max(1, rect.height() // fm.lineSpacing())
        if len(lines) > n:
            lines = lines[:n - 1] + [fm.elidedText(" ".join(lines[n - 1:]), QtCore.Qt.TextElideMode.ElideRight, width)]
        return f, lines

    def setText(self, text: str) -> None:  # noqa: N802 (Qt's name)
        super().setText(text)
        if self.toolTip() != text:  # (each set sends the label an event; most frames set the same text)
            self.setToolTip(text)

    def paintEvent(self, ev) -> None:  # noqa: N802 (Qt's name)
        if not self.squeezed():
            super().paintEvent(ev)  # room enough: drawn as a QLabel draws it
            return
        f, lines = self.shown()
        rect = self.contentsRect()
        p = QtGui.QPainter(self)
        p.setFont(f)
        p.setPen(self.palette().color(self.foregroundRole()))
        step = QtGui.QFontMetrics(f).lineSpacing()
        for i, line in enumerate(lines):
            p.drawText(QtCore.QRect(rect.left(), rect.top() + i * step, rect.width(), step),
                       int(QtCore.Qt.AlignmentFlag.AlignLeft | QtCore.Qt.AlignmentFlag.AlignVCenter), line)
        p.end()


class CaptionBar(QtWidgets.QFrame):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("panel")
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(16, 8, 16, 10)
        lay.setSpacing(2)
        top = QtWidgets.QHBoxLayout()
        self.counter = QtWidgets.QLabel()
        self.counter.setFont(font(14, bold=True))
        self.kernel = QtWidgets.QLabel()
        self.kernel.setFont(font(14))
        self.kernel.setAlignment(QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter)
        top.addWidget(self.counter)
        top.addStretch(1)
        top.addWidget(self.kernel)
        lay.addLayout(top)
        self.say = CaptionText()
        self.say.setWordWrap(True)
        self.say.setFont(font(CAPTION_PT, bold=True))
        self.say.setMinimumHeight(48)
        lay.addWidget(self.say)
        self.detail = SteadyLabel()  # a new text every frame: no relayout of the window for it
        self.detail.setFont(font(13))
        self.detail.setWordWrap(True)
        lay.addWidget(self.detail.holder(self))
        self.caption: Caption | None = None
        self._theme: Theme | None = None
        self._scale, self._max_height = 1.0, 0
        self._fitted: tuple | None = None  # what the font was last fitted for
        self.set_scale(1.0)

    def set_scale(self, scale: float, max_height: int = 0) -> None:
        """Scale the caption font to the window; `max_height` (px) caps the caption's lines."""
        self._scale = scale
        self._max_height = max_height
        self._fit()

    def _fit(self) -> None:
        """The biggest font (<= CAPTION_PT scaled) at which the caption fits its height:
        a long narration gets a smaller font, not half the screen."""
        pt = max(16, round(CAPTION_PT * self._scale))
        width = max(200, self.say.width() if self.say.width() > 50 else self.width() - 40)
        text = self.say.text()
        # every event of a step has the same narration: measure it again only when it or the room changes
        fitted = (pt, width, text, self._max_height)
        if fitted == self._fitted:
            return
        self._fitted = fitted
        while pt > 14 and self._max_height and text:
            f = font(pt, bold=True)
            rect = QtGui.QFontMetrics(f).boundingRect(QtCore.QRect(0, 0, width, 10000),
                                                      QtCore.Qt.TextFlag.TextWordWrap, text)
            if rect.height() <= self._max_height:
                break
            pt -= 2
        self.say.setFont(font(pt, bold=True))

    def resizeEvent(self, ev) -> None:
        super().resizeEvent(ev)
        self._fit()

    def set_theme(self, theme: Theme) -> None:
        self._theme = theme
        self.counter.setStyleSheet(f"color: {theme.accent};")
        self.detail.setStyleSheet(f"color: {theme.muted};")
        self.kernel.setStyleSheet(f"color: {theme.muted};")
        if self.caption:
            self.set_caption(self.caption)

    def set_caption(self, cap: Caption, extra: str = "") -> None:
        self.caption = cap
        mark = "  \u2691 checkpoint" if cap.checkpoint else ""
        self.counter.setText(f"{cap.counter}{mark}")
        self.kernel.setText(cap.kernel)
        self.say.setText(cap.say)
        self._fit()
        self.detail.setText(cap.detail + (f"   \u2014   {extra}" if extra else ""))

    def text(self) -> str:
        return self.say.text()
