"""The Counters view's module is imported when the view is first made, not with the window
(docs/startup.md, eleventh session): a window whose first picture does not show the counters
(the tour, every compare lesson) does not pay for its plot classes."""

from __future__ import annotations

import os
import subprocess
import sys

CODE = """
import sys
from zpviz.gui.app import _app
app = _app(False)
from zpviz.gui.mainwindow import MainWindow
from zpviz.gui.settings import MemorySettings
win = MainWindow(settings=MemorySettings(), restore=False, offscreen=True)
print("made-window", "zpviz.gui.counters" in sys.modules)
view = win.counters
print("made-view", "zpviz.gui.counters" in sys.modules, type(view).__module__)
"""


def test_the_counters_module_comes_with_the_view():
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", ZPVIZ_NO_CACHE="1")
    out = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, env=env, timeout=120,
                         check=True).stdout.split()
    assert out[out.index("made-window") + 1] == "False", out
    assert out[out.index("made-view"):] == ["made-view", "True", "zpviz.gui.counters"], out
