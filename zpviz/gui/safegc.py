"""Python's cycle collector run from Qt's event loop, never from inside a Qt call.

Left automatic, the collector runs whenever enough objects have been allocated, wherever that
happens, including inside a Qt call that makes Python objects. A fresh-clone CI run hung for good
that way (tests/gui/test_progressive.py, 2026-12-08): pyqtgraph disconnected a signal while
adding an item to a plot; Qt holds the signal locks of the objects involved (a small pool of
mutexes picked by the object's address) across the disconnect; PySide6 made a Python object
in it, which set off a collection; the collection freed an older window left in a reference
cycle, and the destructor of one of its QActions asked for a mutex of the pool the disconnect
was holding. One thread waiting for itself: no error, no timeout, just a process asleep.

So while the GUI runs, automatic collection is off (`install`) and a timer does the same work
the interpreter would, from the event loop, where no Qt lock is held: each tick it collects the
generations whose counts are over their thresholds (gc.get_threshold, which startgc raises
while the app starts), as the interpreter does at allocation. Garbage without cycles is freed
by reference counting at once, as always; only cycles wait for the next tick. This is what
pyqtgraph recommends for Qt programs (pyqtgraph.util.garbage_collector), done here with the
interpreter's own thresholds. `uninstall` puts automatic collection back (the test suite does so
after each test, once that test's garbage is collected).
"""

from __future__ import annotations

import gc

from PySide6 import QtCore

TICK_MS = 100  # how often the counts are looked at: a tick that collects nothing costs ~1 us

_timer: QtCore.QTimer | None = None
_was_enabled = True


def _tick() -> None:
    """Collect as the interpreter would at an allocation: the oldest generation over its threshold."""
    counts, limits = gc.get_count(), gc.get_threshold()
    if limits[0] == 0:  # (a threshold of 0 turns collection off: the program chose so)
        return
    for gen in (2, 1, 0):
        if counts[gen] > limits[gen]:
            gc.collect(gen)
            return


def install() -> None:
    """Turn automatic collection off and collect from the event loop instead (once a process;
    needs a QApplication; later calls do nothing)."""
    global _timer, _was_enabled
    app = QtCore.QCoreApplication.instance()
    if _timer is not None or app is None:
        return
    _was_enabled = gc.isenabled()
    gc.disable()
    _timer = QtCore.QTimer(app)
    _timer.setInterval(TICK_MS)
    _timer.timeout.connect(_tick)
    _timer.start()


def uninstall() -> None:
    """Automatic collection as it was before `install`, and the timer gone."""
    global _timer
    if _timer is None:
        return
    _timer.stop()
    _timer.deleteLater()
    _timer = None
    if _was_enabled:
        gc.enable()


def installed() -> bool:
    return _timer is not None
