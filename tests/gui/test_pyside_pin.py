"""Guard the PySide6 pin (pyproject: <6.12): 6.12.0 aborts CPython 3.11 with "none_dealloc" after a
few thousand calls to Qt methods that return None. Run in a subprocess: an abort must fail this
test, not kill the test run."""

from __future__ import annotations

import subprocess
import sys

CODE = """
import sys
from PySide6 import QtCore, QtWidgets
app = QtWidgets.QApplication(sys.argv[:1])
obj = QtCore.QObject()
w = QtWidgets.QWidget()
for i in range(20000):
    obj.setObjectName("x")      # returns None
    w.setToolTip("t")           # returns None
    w.setEnabled(i % 2 == 0)    # returns None
print("ok", QtCore.qVersion())
"""


def test_20000_qt_calls_returning_none_do_not_abort():
    r = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, timeout=120,
                       env={"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin"})
    assert r.returncode == 0, f"exit {r.returncode}: {r.stderr[-2000:]}"
    assert r.stdout.startswith("ok")
    assert "none_dealloc" not in r.stderr
