"""Predict mode's question: shown over the caption, answered by clicking or pressing 1-n, then revealed."""

from __future__ import annotations

import html

from PySide6 import QtCore, QtWidgets

from zpviz.gui.theme import font
from zpviz.present.predict import Question


class PredictPanel(QtWidgets.QFrame):
    answered = QtCore.Signal(object)  # the choice (str) or None to just reveal

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("predict")
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(18, 10, 18, 12)
        lay.setSpacing(6)
        self.title = QtWidgets.QLabel("Predict")
        self.title.setFont(font(13, bold=True))
        lay.addWidget(self.title)
        self.prompt = QtWidgets.QLabel()
        self.prompt.setWordWrap(True)
        self.prompt.setFont(font(20, bold=True))
        lay.addWidget(self.prompt)
        self.row = QtWidgets.QHBoxLayout()
        lay.addLayout(self.row)
        self.result = QtWidgets.QLabel()
        self.result.setWordWrap(True)
        self.result.setFont(font(15))
        self.result.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.result.hide()
        lay.addWidget(self.result)
        self.buttons: list[QtWidgets.QPushButton] = []
        self.question: Question | None = None
        self.choice: str | None = None
        self.revealed = False
        self.hide()

    def ask(self, q: Question) -> None:
        self.question, self.choice, self.revealed = q, None, False
        for b in self.buttons:
            self.row.removeWidget(b)
            b.deleteLater()
        self.buttons = []
        for i, opt in enumerate(q.options):
            b = QtWidgets.QPushButton(f"{i + 1}  {opt}")
            b.setObjectName("answer")
            b.setCheckable(True)
            b.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
            b.clicked.connect(lambda _=False, o=opt: self.answer(o))
            self.row.addWidget(b)
            self.buttons.append(b)
        self.row.addStretch(1)
        self.title.setText(f"Predict \u2014 what happens next?   (press 1-{len(q.options)}, or Space to reveal)")
        self.prompt.setText(q.prompt)
        self.result.setText("")
        self.result.hide()
        self.prompt.show()
        self.show()

    def answer(self, choice: str | None) -> None:
        """Reveal, with the room's choice if there was one."""
        q = self.question
        if q is None or self.revealed:
            return
        self.choice, self.revealed = choice, True
        for b, opt in zip(self.buttons, q.options):
            b.setChecked(opt == choice)
            b.setEnabled(False)
        why = f"<br><b>why:</b> {html.escape(q.why)}" if q.why else ""
        self.result.setText(f"<b>{html.escape(q.verdict(choice))}</b>{why}")
        self.result.show()
        self.prompt.hide()  # the caption now shows the step; keep the map visible
        self.title.setText("Revealed \u2014 press Space to carry on")
        self.answered.emit(choice)

    def answer_index(self, i: int) -> None:
        if self.question is not None and 0 <= i < len(self.question.options):
            self.answer(self.question.options[i])

    def close_question(self) -> None:
        self.question, self.revealed = None, False
        self.hide()

    @property
    def open_unrevealed(self) -> bool:
        return self.question is not None and not self.revealed
