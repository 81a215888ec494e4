"""Cycles are collected from the event loop, not inside Qt calls (zpviz/gui/safegc.py): a
collection set off inside a Qt signal disconnect once freed an old window whose QAction waited
for a lock the disconnect held, and a CI run slept for good."""

from __future__ import annotations

import gc
import weakref

from PySide6 import QtCore

from zpviz.gui import safegc


class _Cyclic(QtCore.QObject):
    def __init__(self):
        super().__init__()
        self.me = self  # a reference cycle: only the cycle collector frees it


def test_a_window_turns_automatic_collection_off_and_the_event_loop_collects(window, qtbot):
    assert safegc.installed()
    assert not gc.isenabled()  # no collection at an allocation inside a Qt call
    saved = gc.get_threshold()
    gc.set_threshold(10, 10, 10)
    try:
        gc.collect()
        obj = _Cyclic()
        gone = weakref.ref(obj)
        del obj
        junk = [[] for _ in range(50)]  # over the young threshold, as a window's work would be
        del junk
        assert gone() is not None  # nothing collected it at the allocations
        qtbot.waitUntil(lambda: gone() is None, timeout=5000)  # the event loop's tick did
    finally:
        gc.set_threshold(*saved)


def test_uninstall_gives_automatic_collection_back(window):
    assert safegc.installed() and not gc.isenabled()
    safegc.uninstall()
    assert gc.isenabled() and not safegc.installed()
    safegc.install()  # (as the window left it: the suite's teardown collects and uninstalls)
    assert safegc.installed() and not gc.isenabled()


def test_after_a_test_automatic_collection_is_back():
    # runs after the two above in this file: the suite's teardown put it back
    assert gc.isenabled() and not safegc.installed()
