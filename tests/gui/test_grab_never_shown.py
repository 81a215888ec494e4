"""A grab of a window never shown (screenshots, exports, the bench) lays nothing out again when
nothing changed: MainWindow.grab creates the window first (docs/speed.md, "A grab of a window
never shown"). Same pixels as Qt's grab of the window left uncreated."""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from .conftest import COMPARE

CREATED = QtCore.Qt.WidgetAttribute.WA_WState_Created


class ResizeCount(QtCore.QObject):
    """Resize events delivered to any widget while installed on the application."""

    def __init__(self):
        super().__init__()
        self.n = 0

    def eventFilter(self, obj, ev):  # noqa: N802 (Qt's name)
        if ev.type() == QtCore.QEvent.Type.Resize:
            self.n += 1
        return False


def resizes_during(fn) -> int:
    app = QtWidgets.QApplication.instance()
    counter = ResizeCount()
    app.installEventFilter(counter)
    try:
        fn()
    finally:
        app.removeEventFilter(counter)
    return counter.n


def test_a_grab_of_a_window_never_shown_sends_no_resize_when_nothing_moved(make_window):
    win = make_window(COMPARE, kernel=None, size=(1920, 1080))
    win.set_frame(3)
    assert not win.isVisible() and not win.testAttribute(CREATED)

    # what it saves: Qt's own grab of a window left uncreated resends pending resizes at every grab
    # (32 here at 1920x1080; at 1280x720 this lesson happens to send none)
    plain = QtWidgets.QWidget.grab(win)
    assert resizes_during(lambda: QtWidgets.QWidget.grab(win)) > 0
    assert not win.testAttribute(CREATED)

    created = win.grab()
    assert win.testAttribute(CREATED) and not win.isVisible()  # created, never shown
    assert resizes_during(win.grab) == 0
    assert created.toImage() == plain.toImage()  # the same picture
