"""gui/pgnames.py: pyqtgraph's Qt modules give each name PySide6's, as its copy did, made when asked for."""

from __future__ import annotations

import json
import subprocess
import sys

# Every name of pyqtgraph's three Qt modules, described by what it is: run once as pyqtgraph
# imports itself, once with zpviz.gui (and so pgnames) imported first.
_DESCRIBE = """
import json, sys
{first}
import pyqtgraph
from pyqtgraph import Qt
out = {{}}
for name in ("QtCore", "QtGui", "QtWidgets"):
    mod = getattr(Qt, name)
    seen = {{}}
    for attr in dir(mod):
        if attr in ("__getattr__", "__dir__"):
            continue
        v = getattr(mod, attr)
        seen[attr] = type(v).__name__ + ":" + str(getattr(v, "__qualname__", "") if attr[:2] != "__" else attr)
    fwd = getattr(vars(mod).get("__getattr__"), "__qualname__", "").startswith("_forward.")
    out[name] = {{"forwarding": fwd, "names": seen}}
print(json.dumps(out))
"""


def _describe(first: str) -> dict:
    out = subprocess.run([sys.executable, "-c", _DESCRIBE.format(first=first)], capture_output=True, text=True,
                         timeout=180, env=_env())
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def _env() -> dict:
    import os

    return dict(os.environ, QT_QPA_PLATFORM="offscreen")


def test_the_same_names_as_pyqtgraphs_copy():
    copied = _describe("sys.modules['zpviz.gui'] = None  # pyqtgraph as it imports itself")
    forwarded = _describe("import zpviz.gui")
    for name in ("QtCore", "QtGui", "QtWidgets"):
        assert not copied[name]["forwarding"] and forwarded[name]["forwarding"], name
        assert len(copied[name]["names"]) > 100
        assert forwarded[name]["names"] == copied[name]["names"], name


_ASKED = """
import zpviz.gui  # installs the finder, before pyqtgraph is imported
import PySide6.QtWidgets
from pyqtgraph.Qt import QtCore, QtWidgets
from zpviz.gui import pgnames
assert pgnames.forwarding(QtCore) and pgnames.forwarding(QtWidgets)
assert "QDial" not in vars(QtWidgets)  # not made at import
assert QtWidgets.QDial is PySide6.QtWidgets.QDial and "QDial" in vars(QtWidgets)  # made when asked for, and kept
assert "QCalendarWidget" in dir(QtWidgets)
try:
    getattr(QtWidgets, "NoSuchWidget")
except AttributeError as e:
    assert "pyqtgraph.Qt.QtWidgets" in str(e) and "NoSuchWidget" in str(e), e
else:
    raise AssertionError("a name PySide6 lacks must stay an AttributeError")
print("ok")
"""


def test_classes_made_when_asked_for():
    out = subprocess.run([sys.executable, "-c", _ASKED], capture_output=True, text=True, timeout=120, env=_env())
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["ok"]


def test_not_installed_after_pyqtgraph():
    code = ("import pyqtgraph; from zpviz.gui import pgnames; import sys; "
            "print(pgnames.install(), pgnames._finder in sys.meta_path, pgnames.forwarding(pyqtgraph.Qt.QtCore))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=_env())
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "False", "False"]
