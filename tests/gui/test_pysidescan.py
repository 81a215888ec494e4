"""gui/pysidescan.py: PySide6's per-module question answered from the file's bytes, the same answer."""

from __future__ import annotations

import inspect
import sys

import zpviz.gui  # noqa: F401 - installs the quick check
from zpviz.gui import pysidescan


def _pyside_answer(module) -> bool:
    """PySide6's own way (shibokensupport/feature.py): the source through inspect."""
    try:
        return "PySide6" in inspect.getsource(module)
    except (TypeError, OSError, SyntaxError):
        return False


def test_installed_in_pyside6():
    feature = sys.modules.get("shibokensupport.feature")
    assert feature is not None and feature._mod_uses_pyside is pysidescan._mod_uses_pyside


def test_the_same_answer_as_pyside6():
    import json

    import numpy

    import zpviz.engine.core
    import zpviz.gui.mainwindow
    import zpviz.gui.pysidescan

    modules = [zpviz.gui.mainwindow, zpviz.engine.core, zpviz.gui.pysidescan, numpy, json, sys, inspect]
    answers = {m.__name__: pysidescan._mod_uses_pyside(m) for m in modules}
    assert answers == {m.__name__: _pyside_answer(m) for m in modules}
    assert answers["zpviz.gui.mainwindow"] and not answers["zpviz.engine.core"] and not answers["sys"]


def test_without_pyside6_it_steps_aside():
    """No PySide6 (no gui extra): nothing installed and no crash; the import of PySide6 that
    follows names the extra (tests/test_wheel.py)."""
    import subprocess

    code = ("import sys; sys.modules['PySide6'] = None; from zpviz.gui import pysidescan; "
            "print(pysidescan.install(), 'shiboken6' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "False"]
