"""The transport bar's frame counter is shortened, never cut, where the bar squeezes it."""

from zpviz.gui.transportbar import FrameCounter


def test_a_squeezed_counter_keeps_every_digit_and_widens_back(qtbot):
    from PySide6 import QtWidgets

    from zpviz.gui.theme import font

    parent = QtWidgets.QWidget()
    qtbot.addWidget(parent)
    label = FrameCounter()
    label.setFont(font(11, mono=True))  # as the bar sets it
    holder = label.holder(parent)
    parent.show()  # (a hidden widget's resize waits for its first show or grab)
    label.set_value(1025, 1043)
    fm = label.fontMetrics()
    whole, tight, bare = (fm.horizontalAdvance(t) for t in ("1,025 / 1,043", "1,025/1,043", "1025/1043"))
    assert whole > tight > bare
    assert label.sizeHint().width() >= whole  # the layout is asked for the whole text

    holder.resize(whole + 2, 30)
    assert label.text() == "1,025 / 1,043"

    # less than the whole text, as a zoomed 1280x720 window gave it (104 of 118 px): its left was cut off before
    holder.resize(whole - 2, 30)
    assert label.text() == "1,025/1,043"
    assert fm.horizontalAdvance(label.text()) <= label.contentsRect().width()
    assert label.sizeHint().width() >= whole  # still asks for the whole: it can widen back

    holder.resize(tight - 2, 30)  # as a 960 px window's 96 px
    assert label.text() == "1025/1043"

    label.set_value(1026, 1043)  # the next frame, still squeezed
    assert label.text() == "1026/1043"

    holder.resize(whole + 2, 30)
    assert label.text() == "1,026 / 1,043"
