"""pyqtgraph's widgets that zpviz never uses, imported when first asked for instead of at import (docs/startup.md).

pyqtgraph's `__init__` imports every one of its widgets. Four of them, which only that `__init__`
(and each other) import, bring in pyqtgraph's parameter trees and its multiprocess package (and
with them `multiprocessing`, `socket`, `pydoc` ...): 33 modules and ~13 ms of CPU at every start
with a window here, ~0.04 s on the slow laptop of issue 15. zpviz uses none of them.

`install` puts a finder first on sys.meta_path. Asked for `pyqtgraph` itself, it finds the package
as the other finders would and wraps its loader: while pyqtgraph's `__init__` runs, the four
modules are given to it as empty stand-ins (nothing to star-import), and when it has run the
stand-ins are dropped again (from sys.modules and from their package, so importing one later
imports the real module) and pyqtgraph and pyqtgraph.widgets get PEP 562's `__getattr__` and
`__dir__`: a name the import would have bound there (`pg.ScatterPlotWidget`, `pg.parametertree`,
`pyqtgraph.widgets.ColorMapWidget` ...) imports its module when first asked for, and is kept, so it
is the same object the import would have made; `dir()` lists the same names.
tests/gui/test_pgdefer.py compares both namespaces with pyqtgraph's own import.

Nothing is changed on disk. With pyqtgraph imported already, or a pyqtgraph whose `__init__` no
longer imports these modules, the stand-ins are never asked for and nothing changes; a pyqtgraph
whose own code used one of these names while importing itself would see it missing, so the
names come from the modules' `__all__`, which `__init__` star-imports and never uses.
"""

from __future__ import annotations

import importlib
import sys

from zpviz.gui import metapath

_PG = "pyqtgraph"
_WIDGETS = "pyqtgraph.widgets"
# module -> the names pyqtgraph's __init__ takes from it (its __all__, or the one name it imports)
DEFERRED = {
    "pyqtgraph.widgets.ColorMapWidget": ("ColorMapWidget", "ColorMapParameter"),
    "pyqtgraph.widgets.DataFilterWidget": ("DataFilterWidget",),
    "pyqtgraph.widgets.RemoteGraphicsView": ("RemoteGraphicsView",),
    "pyqtgraph.widgets.ScatterPlotWidget": ("ScatterPlotWidget",),
}
# what importing those modules binds besides: packages in pyqtgraph, modules in pyqtgraph.widgets
_PG_MODULES = ("multiprocess", "parametertree")
_WIDGET_MODULES = ("ColorMapButton", "ColorMapWidget", "DataFilterWidget", "PenPreviewLabel",
                   "RemoteGraphicsView", "ScatterPlotWidget")


class _StandIn:
    """The loader of an empty module in place of a deferred one, while pyqtgraph imports itself."""

    def create_module(self, spec):
        return None

    def exec_module(self, module) -> None:
        module.__all__ = []  # a star import takes nothing
        for name in DEFERRED[module.__name__]:
            module.__dict__[name] = None  # `from ... import RemoteGraphicsView`: replaced by _settle


class _Wrapped:
    """pyqtgraph's own loader, with the stand-ins in place while it runs `__init__`."""

    def __init__(self, loader):
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module) -> None:
        module.__spec__.loader = module.__loader__ = self.loader  # what pyqtgraph sees of itself
        _finder.standing_in = True
        try:
            self.loader.exec_module(module)
        finally:
            _finder.standing_in = False
            uninstall()
            _settle(module)

    def __getattr__(self, name):  # anything else a loader is asked (is_package, get_code ...)
        return getattr(self.loader, name)


def _settle(pg) -> None:
    """After pyqtgraph's __init__: drop the stand-ins; their names come from __getattr__."""
    widgets = sys.modules.get(_WIDGETS)
    for name in DEFERRED:
        mod = sys.modules.get(name)
        if mod is None or not isinstance(mod.__spec__.loader, _StandIn):
            continue
        del sys.modules[name]
        leaf = name.rpartition(".")[2]
        if widgets is not None and widgets.__dict__.get(leaf) is mod:
            del widgets.__dict__[leaf]
        for attr in DEFERRED[name]:
            if attr in pg.__dict__ and pg.__dict__[attr] is None:
                del pg.__dict__[attr]
    lazy = {attr: name for name, attrs in DEFERRED.items() for attr in attrs}
    lazy.update({m: f"{_PG}.{m}" for m in _PG_MODULES})
    _on_demand(pg, lazy)
    if widgets is not None:
        _on_demand(widgets, {m: f"{_WIDGETS}.{m}" for m in _WIDGET_MODULES})


def _on_demand(module, names: dict[str, str]) -> None:
    """module.__getattr__ for `names` (attribute -> the module that provides it, or is it)."""
    names = {k: v for k, v in names.items() if k not in module.__dict__}
    if not names or "__getattr__" in module.__dict__:
        return

    def __getattr__(attr: str):  # noqa: N807 (PEP 562's name) - only names the module lacks come here
        source = names.get(attr)
        if source is None:
            raise AttributeError(f"module {module.__name__!r} has no attribute {attr!r}")
        mod = importlib.import_module(source)
        value = mod if source == f"{module.__name__}.{attr}" else getattr(mod, attr)
        module.__dict__[attr] = value  # kept: the next time it is an ordinary attribute
        if value is not mod:  # pyqtgraph's star import of the module binds all its names at once
            for other in DEFERRED[source]:
                module.__dict__.setdefault(other, getattr(mod, other))
        return value

    def __dir__():  # noqa: N807
        return sorted(set(module.__dict__) | set(names))

    module.__getattr__ = __getattr__
    module.__dir__ = __dir__


class _Finder:
    """Finds pyqtgraph (as the finders after it would) to wrap its loader, and stands in for the
    deferred modules while pyqtgraph's __init__ runs. (Only find_spec: not derived from
    importlib.abc.MetaPathFinder, whose import costs 6 ms.)"""

    standing_in = False
    _looking = False

    def find_spec(self, name, path=None, target=None):
        if self.standing_in and name in DEFERRED:
            from importlib.machinery import ModuleSpec

            return ModuleSpec(name, _StandIn())
        if name != _PG or self._looking:
            return None
        self._looking = True
        try:
            for finder in sys.meta_path:
                if finder is self or not hasattr(finder, "find_spec"):
                    continue
                spec = finder.find_spec(name, path, target)
                if spec is not None:
                    break
            else:
                return None
        finally:
            self._looking = False
        if spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        spec.loader = _Wrapped(spec.loader)
        return spec


_finder = _Finder()


def install() -> bool:
    """Put the finder in place before pyqtgraph is imported; False (nothing done) if it already is."""
    return metapath.install(_finder, _PG)


def uninstall() -> None:
    metapath.uninstall(_finder)


def deferring(pg) -> bool:
    """Whether pyqtgraph (the module) was imported with the deferred widgets left out."""
    return getattr(pg.__dict__.get("__getattr__"), "__qualname__", "").startswith("_on_demand.")
