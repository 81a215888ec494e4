"""Predict mode's question: shown over the caption, answered by clicking, pressing 1-n or typing a
number, then revealed by the lecturer with one key (R, Space or Enter).

The prompt is the step's question, never its caption (present.predict): the caption tells what
happened, so the room sees it only after the reveal.
"""

from __future__ import annotations

import html

from PySide6 import QtCore, QtGui, QtWidgets

from zpviz.gui.theme import font
from zpviz.present.predict import Question, option_text

REVEAL_KEYS = (QtCore.Qt.Key.Key_R, QtCore.Qt.Key.Key_Space, QtCore.Qt.Key.Key_Return, QtCore.Qt.Key.Key_Enter)


class GuessEdit(QtWidgets.QLineEdit):
    """Where the room's number goes. It keeps the keyboard while the question is open, so R, Space
    and Enter (which it cannot hold: digits only) reveal from here as they do elsewhere."""

    reveal = QtCore.Signal()

    def keyPressEvent(self, ev: QtGui.QKeyEvent) -> None:  # noqa: N802 (Qt's name)
        if ev.key() in REVEAL_KEYS:
            self.reveal.emit()
            return
        super().keyPressEvent(ev)


CHOICE_COLUMNS = 4  # buttons to a line: four fit the 830 px a 1280x720 window leaves the question


class PredictPanel(QtWidgets.QFrame):
    answered = QtCore.Signal(object)  # the choice (str), the guess (float), or None to just reveal

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("predict")
        lay = QtWidgets.QVBoxLayout(self)
        # tight margins: at 1280x720 the question, its seven answers, the caption and the memory view
        # share some 660 px, and the answers were squeezed to 23 px, their words cut through
        lay.setContentsMargins(16, 4, 16, 6)
        lay.setSpacing(3)
        self.title = QtWidgets.QLabel("Predict")
        self.title.setFont(font(12, bold=True))
        lay.addWidget(self.title)
        self.prompt = QtWidgets.QLabel()
        self.prompt.setWordWrap(True)
        self.prompt.setFont(font(18, bold=True))
        lay.addWidget(self.prompt)
        self.row = QtWidgets.QHBoxLayout()
        lay.addLayout(self.row)
        # the choices, CHOICE_COLUMNS to a line: the seven first-fault answers on one line made the
        # window 1,469 px wide at "1280x720", cutting the picture on a projector
        self.choices = QtWidgets.QGridLayout()
        self.choices.setHorizontalSpacing(8)
        self.choices.setVerticalSpacing(3)
        lay.addLayout(self.choices)
        self.guess = GuessEdit()
        self.guess.setFont(font(20, bold=True, mono=True))
        self.guess.setPlaceholderText("the room's guess")
        self.guess.setValidator(QtGui.QRegularExpressionValidator(QtCore.QRegularExpression(r"[0-9]{0,12}([.][0-9]{0,3})?")))
        self.guess.setMaximumWidth(360)
        self.guess.reveal.connect(self.reveal)
        self.guess.hide()
        self.result = QtWidgets.QLabel()
        self.result.setWordWrap(True)
        self.result.setFont(font(15))
        self.result.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.result.hide()
        lay.addWidget(self.result)
        self.buttons: list[QtWidgets.QPushButton] = []
        self.question: Question | None = None
        self.choice = None
        self.revealed = False
        self.hide()

    def ask(self, q: Question) -> None:
        self.question, self.choice, self.revealed = q, None, False
        for b in self.buttons:
            self.row.removeWidget(b)
            self.choices.removeWidget(b)
            b.deleteLater()
        self.buttons = []
        while self.row.count():  # the stretch and the guess box of the last question
            self.row.takeAt(0)
        if q.kind == "number":
            self.guess.clear()
            self.guess.setEnabled(True)
            self.row.addWidget(self.guess)
            self.guess.show()
            unit = QtWidgets.QLabel(q.unit)
            unit.setFont(font(18))
            self.buttons.append(unit)  # removed with the buttons
            self.row.addWidget(unit)
            keys = "type the room's number, then R or Enter to reveal"
        else:
            self.guess.hide()
            for i, opt in enumerate(q.options):
                b = QtWidgets.QPushButton(f"{i + 1}  {option_text(opt) if q.kind == 'choice' else opt}")
                b.setObjectName("answer")
                b.setCheckable(True)
                b.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
                b.clicked.connect(lambda _=False, o=opt: self.answer(o))
                self.choices.addWidget(b, *divmod(i, CHOICE_COLUMNS))
                self.buttons.append(b)
            keys = f"press 1-{len(q.options)}, or R to reveal"
        if q.kind == "number":  # (an empty row costs the layout a spacing)
            self.row.addStretch(1)
        self.title.setText(f"Predict \u2014 what happens next?   ({keys})")
        self.prompt.setText(q.prompt)
        self._fit_prompt()
        self.result.setText("")
        self.result.hide()
        self.prompt.show()
        self.show()
        if q.kind == "number":
            self.guess.setFocus(QtCore.Qt.FocusReason.OtherFocusReason)

    def _fit_prompt(self) -> None:
        """The whole question, at the biggest size (18 pt down to 14) that needs at most three lines:
        a long question on a 720p projector must not lose its end ("... afterwards?")."""
        width = max(200, (self.width() or 800) - 40)
        text = self.prompt.text()
        for pt in (18, 16, 14):
            fm = QtGui.QFontMetrics(font(pt, bold=True))
            rect = fm.boundingRect(QtCore.QRect(0, 0, width, 10000), QtCore.Qt.TextFlag.TextWordWrap, text)
            if rect.height() <= fm.lineSpacing() * 3 or pt == 14:
                break
        self.prompt.setFont(font(pt, bold=True))
        self.prompt.setMinimumHeight(rect.height() + 4)

    def resizeEvent(self, ev) -> None:  # noqa: N802 (Qt's name)
        super().resizeEvent(ev)
        if self.question is not None and not self.revealed:
            self._fit_prompt()

    def typed(self) -> float | None:
        text = self.guess.text().strip().rstrip(".")
        try:
            return float(text) if text else None
        except ValueError:
            return None

    def reveal(self) -> None:
        """The lecturer's one key: reveal, with the room's typed number if there is one."""
        q = self.question
        if q is None or self.revealed:
            return
        self.answer(self.typed() if q.kind == "number" else None)

    def answer(self, choice) -> None:
        """Reveal, with the room's choice (an option, or a number) if there was one."""
        q = self.question
        if q is None or self.revealed:
            return
        self.choice, self.revealed = choice, True
        for b, opt in zip(self.buttons, q.options):
            if isinstance(b, QtWidgets.QPushButton):
                b.setChecked(opt == choice)
                b.setEnabled(False)
        if q.kind == "number":
            self.guess.setEnabled(False)  # gives the keyboard back to the window's keys
            self.guess.clearFocus()
        why = f"<br><b>why:</b> {html.escape(q.why)}" if q.why else ""
        each = f"<br>{html.escape(q.detail)}" if q.detail else ""
        self.result.setText(f"<b>{html.escape(q.verdict(choice))}</b>{why}{each}")
        self.result.show()
        self.prompt.hide()  # the caption now shows the step; keep the map visible
        self.title.setText("Revealed \u2014 press Space to carry on")
        self.answered.emit(choice)

    def answer_index(self, i: int) -> None:
        q = self.question
        if q is not None and q.kind != "number" and 0 <= i < len(q.options):
            self.answer(q.options[i])

    def close_question(self) -> None:
        self.question, self.revealed = None, False
        self.guess.clearFocus()
        self.hide()

    @property
    def open_unrevealed(self) -> bool:
        return self.question is not None and not self.revealed
