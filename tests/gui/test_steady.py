"""SteadyLabel: laid out and painted as a plain QLabel, without re-laying out its window for a new
text that keeps its size hints."""

from __future__ import annotations

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from zpviz.gui.steady import SteadyLabel

SHORT = "event 1 · CPU 0 · read fault"
SAME_SIZE = "event 2 · CPU 1 · read fault"  # as wide, in the monospace font below
LONG = "event 3 · CPU 2 · write fault: copied the zero page into a new anonymous page, " * 3


def pair(wrap: bool) -> tuple[QtWidgets.QWidget, QtWidgets.QLabel, QtWidgets.QWidget, SteadyLabel]:
    """The same column twice: a plain QLabel between two others, and a SteadyLabel in its place."""
    out = []
    for steady in (False, True):
        w = QtWidgets.QWidget()
        lay = QtWidgets.QVBoxLayout(w)
        lay.addWidget(QtWidgets.QLabel("above"))
        lab = SteadyLabel() if steady else QtWidgets.QLabel()
        lab.setFont(QtGui.QFont("DejaVu Sans Mono", 12))
        lab.setWordWrap(wrap)
        lay.addWidget(lab.holder(w) if steady else lab)
        lay.addWidget(QtWidgets.QLabel("below"), 1)
        w.resize(320, 300)
        out += [w, lab]
    return tuple(out)


def image(w: QtWidgets.QWidget) -> np.ndarray:
    img = w.grab().toImage().convertToFormat(QtGui.QImage.Format.Format_ARGB32)
    return np.frombuffer(img.constBits(), np.uint32, count=img.height() * img.bytesPerLine() // 4).copy()


def geometry_in(lab: QtWidgets.QWidget, top: QtWidgets.QWidget) -> QtCore.QRect:
    return QtCore.QRect(lab.mapTo(top, QtCore.QPoint(0, 0)), lab.size())


class LayoutRequests(QtCore.QObject):
    def __init__(self, target: QtWidgets.QWidget):
        super().__init__()
        self.count = 0
        target.installEventFilter(self)

    def eventFilter(self, obj, ev) -> bool:  # noqa: N802 (Qt's name)
        if ev.type() == QtCore.QEvent.Type.LayoutRequest:
            self.count += 1
        return False


def test_steady_label_is_laid_out_and_painted_as_a_plain_label(qapp):
    plain_w, plain, steady_w, steady = pair(wrap=True)
    heights = {}
    for text in (SHORT, LONG, SAME_SIZE, ""):  # more lines, fewer, none: the layout follows each
        plain.setText(text)
        steady.setText(text)
        a, b = image(plain_w), image(steady_w)
        assert geometry_in(steady, steady_w) == geometry_in(plain, plain_w), text
        assert np.array_equal(a, b), text
        heights[text] = steady.height()
    assert heights[LONG] > 2 * heights[SHORT] and heights[SAME_SIZE] == heights[SHORT]


def test_a_text_of_the_same_size_does_not_lay_out_the_window_again(qapp):
    for wrap in (False, True):
        plain_w, plain, steady_w, steady = pair(wrap)
        for w in (plain_w, steady_w):
            w.show()
        plain.setText(SHORT)
        steady.setText(SHORT)
        qapp.processEvents()
        plain_req, steady_req = LayoutRequests(plain_w), LayoutRequests(steady_w)
        plain.setText(SAME_SIZE)
        steady.setText(SAME_SIZE)
        qapp.processEvents()
        assert plain_req.count >= 1  # what a QLabel costs its window
        assert steady_req.count == 0
        steady.setText(LONG)  # hints that change: laid out again, to the same place as the plain label
        plain.setText(LONG)
        qapp.processEvents()
        assert steady_req.count >= 1
        assert geometry_in(steady, steady_w) == geometry_in(plain, plain_w)
        for w in (plain_w, steady_w):
            w.close()


def test_font_visibility_and_a_resize_after_quiet_texts_lay_out_again(qapp):
    plain_w, plain, steady_w, steady = pair(wrap=True)
    for lab in (plain, steady):
        lab.setText(SHORT)

    def same() -> bool:
        image(plain_w), image(steady_w)  # lays both out
        return geometry_in(steady, steady_w) == geometry_in(plain, plain_w)

    assert same()
    for lab in (plain, steady):
        lab.setFont(QtGui.QFont("DejaVu Sans Mono", 20))
    assert same() and steady.height() > 20
    # a narrow width's height is kept by the layout; a quiet text change at the wide width, then
    # the narrow width again: the kept height must not be used for the new text
    for w in (plain_w, steady_w):
        w.resize(120, 300)
    assert same()
    for w in (plain_w, steady_w):
        w.resize(900, 300)
    assert same()
    for lab in (plain, steady):
        lab.setText(SAME_SIZE + " and more words that wrap when narrow")
    assert same()
    for w in (plain_w, steady_w):
        w.resize(120, 300)
    assert same()
    for lab in (plain, steady):
        lab.hide()
    assert same() and steady.parentWidget().isHidden()
    for lab in (plain, steady):
        lab.show()
    assert same() and not steady.parentWidget().isHidden()



def test_a_held_label_keeps_its_own_font_through_a_new_application_font(qapp):
    """(Measured inside its own font event, a held label under a style sheet fell back to the
    application's font when a second window set the application's font and style sheet.)"""
    from zpviz.gui.steady import HintHolder

    sheet, app_font = qapp.styleSheet(), qapp.font()
    try:
        qapp.setStyleSheet("QWidget { color: #112233; }")
        w = QtWidgets.QWidget()
        lay = QtWidgets.QVBoxLayout(w)
        label = QtWidgets.QLabel("x")
        holder = HintHolder(label, w)
        own = QtGui.QFont(app_font)
        own.setPointSize(app_font.pointSize() + 5)
        label.setFont(own)  # once in the holder, as SteadyLabel users set theirs
        lay.addWidget(holder)
        image(w)
        other = QtGui.QFont(app_font)
        other.setPointSize(app_font.pointSize() + 1)
        qapp.setFont(other)
        qapp.setStyleSheet("QWidget { color: #445566; }")
        assert label.font().pointSize() == app_font.pointSize() + 5
    finally:
        qapp.setFont(app_font)
        qapp.setStyleSheet(sheet)


def test_a_stepped_window_is_laid_out_as_after_a_full_relayout(make_window):
    """Stepping lets the steady widgets' contents change without a relayout; wherever it stops,
    the picture is the one every layout computed again gives."""
    from tests.gui.conftest import COMPARE
    from zpviz.gui.steady import HintHolder

    win = make_window(COMPARE, kernel=None, size=(1280, 720))
    n = win.frame_count()
    stops = {n // 3, n // 2, n - 1}
    for f in range(n):
        win.set_frame(f)
        stepped = image(win)  # laid out and painted at every frame, as the bench steps it
        if f in stops:
            for holder in win.findChildren(HintHolder):
                holder.sync()
            for w in [win, *win.findChildren(QtWidgets.QWidget)]:
                if w.layout() is not None:
                    w.layout().invalidate()
            assert np.array_equal(stepped, image(win)), f
