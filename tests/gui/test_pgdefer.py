"""gui/pgdefer.py: pyqtgraph's unused widgets imported when first asked for; its namespace as its own import's."""

from __future__ import annotations

import json
import os
import subprocess
import sys

# pyqtgraph's and pyqtgraph.widgets' names, described by what each is (every name asked for, so the
# deferred ones are imported as they are described), and the pyqtgraph modules imported before that
_DESCRIBE = """
import json, sys
{first}
import pyqtgraph, pyqtgraph.widgets
loaded = sorted(m for m in sys.modules if m.startswith("pyqtgraph"))
deferring = getattr(vars(pyqtgraph).get("__getattr__"), "__qualname__", "").startswith("_on_demand.")
def describe(mod):
    out = {{}}
    for attr in dir(mod):
        if attr in ("__getattr__", "__dir__"):
            continue
        v = getattr(mod, attr)
        out[attr] = type(v).__name__ + ":" + str(getattr(v, "__qualname__", "") or getattr(v, "__name__", ""))
    return out
print(json.dumps({{"deferring": deferring, "loaded": loaded, "pg": describe(pyqtgraph),
                  "widgets": describe(pyqtgraph.widgets)}}))
"""


def _env() -> dict:
    return dict(os.environ, QT_QPA_PLATFORM="offscreen")


def _run(code: str) -> subprocess.CompletedProcess:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=180, env=_env())
    assert out.returncode == 0, out.stderr
    return out


def test_the_same_names_as_pyqtgraphs_own_import():
    own = json.loads(_run(_DESCRIBE.format(first="sys.modules['zpviz.gui'] = None  # pyqtgraph imports itself")).stdout)
    deferred = json.loads(_run(_DESCRIBE.format(first="import zpviz.gui")).stdout)
    assert not own["deferring"] and deferred["deferring"]
    assert "pyqtgraph.parametertree" in own["loaded"] and "pyqtgraph.multiprocess" in own["loaded"]
    assert not any(m.startswith(("pyqtgraph.parametertree", "pyqtgraph.multiprocess")) or m in
                   ("pyqtgraph.widgets.ScatterPlotWidget", "pyqtgraph.widgets.RemoteGraphicsView")
                   for m in deferred["loaded"]), deferred["loaded"]
    assert len(own["pg"]) > 150
    assert deferred["pg"] == own["pg"]
    assert deferred["widgets"] == own["widgets"]


_ASKED = """
import zpviz.gui  # installs the finder, before pyqtgraph is imported
import sys
import pyqtgraph as pg
from zpviz.gui import pgdefer
assert pgdefer.deferring(pg) and pgdefer._finder not in sys.meta_path
assert "pyqtgraph.widgets.ScatterPlotWidget" not in sys.modules and "ScatterPlotWidget" not in vars(pg)
assert "ScatterPlotWidget" in dir(pg) and "parametertree" in dir(pg)
from pyqtgraph import ScatterPlotWidget  # imported when asked for, the real class, and kept
import pyqtgraph.widgets.ScatterPlotWidget as real
assert ScatterPlotWidget is real.ScatterPlotWidget and vars(pg)["ScatterPlotWidget"] is ScatterPlotWidget
assert pg.ColorMapParameter is sys.modules["pyqtgraph.widgets.ColorMapWidget"].ColorMapParameter
import pyqtgraph.widgets.RemoteGraphicsView as rgv  # a later import gets the real module
assert rgv.RemoteGraphicsView is pg.RemoteGraphicsView and rgv.__spec__.loader is not None
assert type(rgv.__spec__.loader).__name__ != "_StandIn"
import pyqtgraph.exporters  # (imports the parameter trees itself)
assert pg.parametertree is sys.modules["pyqtgraph.parametertree"]
assert type(pg.__spec__.loader).__name__ == "SourceFileLoader"
try:
    pg.NoSuchThing
except AttributeError as e:
    assert "NoSuchThing" in str(e), e
else:
    raise AssertionError("an unknown name must stay an AttributeError")
print("ok")
"""


def test_imported_when_asked_for():
    assert _run(_ASKED).stdout.split() == ["ok"]


def test_not_installed_after_pyqtgraph():
    code = ("import pyqtgraph; from zpviz.gui import pgdefer; import sys; "
            "print(pgdefer.install(), pgdefer._finder in sys.meta_path, pgdefer.deferring(pyqtgraph))")
    assert _run(code).stdout.split() == ["False", "False", "False"]
