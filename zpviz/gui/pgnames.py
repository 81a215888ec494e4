"""pyqtgraph's copies of Qt's names, made when first asked for instead of all at import (docs/startup.md).

pyqtgraph keeps its own QtCore, QtGui and QtWidgets modules (pyqtgraph/Qt/__init__.py) and fills
them at import with `_copy_attrs(PySide6.QtCore, QtCore)` and so on: for each of the ~720 names
of the three PySide6 modules, `if not hasattr(dst, name): setattr(dst, name, getattr(src, name))`.
PySide6 makes its classes (and their enums) when they are first looked up, so that loop makes
every Qt class: 0.08-0.09 s of every start with a window here (~0.25 s on the slow laptop of
issue 15), for the few hundred classes pyqtgraph and the app use.

`install` puts a finder first on sys.meta_path. pyqtgraph.Qt imports its three modules
(`from . import QtCore, QtGui, QtWidgets, compat`) after defining `_copy_attrs` and before
calling it; when the finder is asked for `pyqtgraph.Qt.QtCore` it replaces that function with
`_forward`, then leaves (and lets the ordinary finders import the module). `_forward` gives the
module PEP 562's `__getattr__` and `__dir__` instead of the copies: a name the module lacks is
looked up in PySide6's module when first asked for, and kept, so each answer is the one the copy
would have given (a name pyqtgraph sets itself afterwards, as it does for QOpenGLWidget, wins as
it did over the copy), and `dir()` lists the same names. tests/gui/test_pgnames.py checks both.

Nothing is changed on disk. When pyqtgraph is imported already, or its Qt module has no
`_copy_attrs` of two arguments (another pyqtgraph), nothing is replaced and pyqtgraph copies as before.
"""

from __future__ import annotations

import sys

from zpviz.gui import metapath

_QT = "pyqtgraph.Qt"
_FIRST = "pyqtgraph.Qt.QtCore"  # imported by pyqtgraph.Qt between defining _copy_attrs and calling it


def _forward(src, dst) -> None:
    """What pyqtgraph's `_copy_attrs(src, dst)` gives, one name at a time when asked for."""

    def __getattr__(name: str):  # noqa: N807 (PEP 562's name) - only names dst lacks come here
        try:
            value = getattr(src, name)
        except AttributeError:
            raise AttributeError(f"module {dst.__name__!r} has no attribute {name!r}") from None
        setattr(dst, name, value)  # kept: asked for again, it is an ordinary attribute
        return value

    def __dir__():  # noqa: N807
        return sorted(set(dst.__dict__) | set(dir(src)))

    dst.__getattr__ = __getattr__
    dst.__dir__ = __dir__


class _Finder:
    """Asked for pyqtgraph.Qt.QtCore: swaps pyqtgraph.Qt's `_copy_attrs` for `_forward`, then
    steps aside. It never finds a module itself. (A meta path finder needs only find_spec; not
    derived from importlib.abc.MetaPathFinder, whose import costs 6 ms.)"""

    def find_spec(self, name, path=None, target=None):
        if name == _FIRST:
            uninstall()
            qt = sys.modules.get(_QT)
            copy = getattr(qt, "_copy_attrs", None)
            if getattr(getattr(copy, "__code__", None), "co_argcount", None) == 2:
                qt._copy_attrs = _forward
        return None


_finder = _Finder()


def install() -> bool:
    """Put the finder in place before pyqtgraph is imported; False (nothing done) if it already is."""
    return metapath.install(_finder, _QT)


def uninstall() -> None:
    metapath.uninstall(_finder)


def forwarding(module) -> bool:
    """Whether pyqtgraph's copy `module` (pyqtgraph.Qt.QtCore ...) forwards instead of copying."""
    return getattr(module.__dict__.get("__getattr__"), "__qualname__", "").startswith("_forward.")
