"""gui/startgc.py: the young generation's threshold raised while the app starts, and put back
once the first lesson frame is on screen."""

from __future__ import annotations

import gc
import subprocess
import sys

import pytest

from zpviz.gui import startgc


@pytest.fixture
def fresh(monkeypatch):
    """startgc as in a new process, and the test process's thresholds kept."""
    before = gc.get_threshold()
    monkeypatch.setattr(startgc, "_state", "idle")
    monkeypatch.setattr(startgc, "_saved", None)
    gc.set_threshold(700, 10, 10)
    yield
    gc.set_threshold(*before)


def test_hold_then_release(fresh):
    startgc.hold()
    assert startgc.holding() and gc.get_threshold() == (startgc.START_THRESHOLD, 10, 10)
    startgc.hold()  # once a process
    startgc.release()
    assert not startgc.holding() and gc.get_threshold() == (700, 10, 10)
    startgc.hold()  # released: never held again
    assert gc.get_threshold() == (700, 10, 10)


def test_a_threshold_set_meanwhile_is_kept(fresh):
    startgc.hold()
    gc.set_threshold(5000, 10, 10)  # the program's own choice
    startgc.release()
    assert gc.get_threshold() == (5000, 10, 10)


def test_collection_switched_off_stays_off(fresh):
    gc.set_threshold(0)
    startgc.hold()
    assert gc.get_threshold()[0] == 0
    startgc.release()
    assert gc.get_threshold()[0] == 0


_WINDOW = """
import gc, os
os.environ["QT_QPA_PLATFORM"] = "offscreen"
default = gc.get_threshold()
import zpviz.gui
from zpviz.gui import startgc
assert gc.get_threshold()[0] == startgc.START_THRESHOLD, gc.get_threshold()
from zpviz.gui.app import _app
app = _app(False)
from zpviz.gui.mainwindow import MainWindow
from zpviz.gui.settings import MemorySettings
win = MainWindow(settings=MemorySettings())
win.show()
app.processEvents()
assert startgc.holding()  # no lesson yet: still starting
win.open_lesson({path!r}, "v5", sync=True)
assert win.lesson is not None and startgc.holding()  # the frame shown, not yet painted
app.sendPostedEvents()
assert startgc.holding()  # its paint first
app.processEvents()
assert not startgc.holding() and gc.get_threshold() == default, gc.get_threshold()
print("ok")
os._exit(0)
"""


def test_released_once_the_first_lesson_frame_is_painted():
    from .conftest import SMALL

    out = subprocess.run([sys.executable, "-c", _WINDOW.format(path=str(SMALL))], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["ok"]
