"""Shared by every test: no test reads or writes the user's trace cache.

The trace cache (zpviz/present/tracecache.py) is off unless a test turns it on: a cached trace
would skip the simulation that tests of progress, cancelling and the engine mean to watch. The
cache's own tests point ZPVIZ_CACHE_DIR at their tmp_path and clear ZPVIZ_NO_CACHE.
"""

from __future__ import annotations

import gc
import sys

import pytest


@pytest.fixture(autouse=True)
def _no_trace_cache(monkeypatch):
    monkeypatch.setenv("ZPVIZ_NO_CACHE", "1")  # subprocesses (the CLI tests) inherit it too
    monkeypatch.delenv("ZPVIZ_CACHE_DIR", raising=False)


@pytest.fixture(autouse=True)
def _collect_from_the_test(request):
    """A test with Qt collects cycles from the event loop as the app does (zpviz/gui/safegc.py;
    a window turns it on too): a widget-only test's garbage is then never freed inside a Qt call
    either. After each such test its garbage is collected here, outside any Qt call, and
    automatic collection comes back for the tests that follow (most run no event loop)."""
    if {"qtbot", "qapp"} & set(request.fixturenames):
        request.getfixturevalue("qapp")
        from zpviz.gui import safegc

        safegc.install()
    yield
    safegc = sys.modules.get("zpviz.gui.safegc")
    if safegc is not None and safegc.installed():
        gc.collect()
        safegc.uninstall()
