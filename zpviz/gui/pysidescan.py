"""A quicker answer to a question PySide6 asks of every module imported after it (docs/startup.md).

PySide6 (shibokensupport/feature.py, for its `from __feature__ import ...` switches) asks, for each
module in sys.modules when it starts and for each module imported afterwards, whether the module's
source mentions "PySide6". It finds out with inspect.getsource, which reads the file, splits it
into lines through linecache (and keeps them there) and joins them again: for the app's ~450
modules about 45 ms of a cold start's CPU time (0.12 s on the slow laptop of issue 15). This gives
the same answer from the file's bytes. zpviz uses no __feature__ switch; the answer only matters
to code that does, and it stays the same.

`install` must run before PySide6 itself is imported (zpviz/gui/__init__.py calls it); when the
private hook is not there (another PySide6), it does nothing and PySide6 asks as before.
"""

from __future__ import annotations

import importlib.util
import sys


def _mod_uses_pyside(module) -> bool:
    """Whether the module's source file mentions PySide6 (False with no readable .py file, as
    PySide6's own answer is for a module without source)."""
    path = getattr(module, "__file__", None)
    if not isinstance(path, str) or not path.endswith(".py"):
        return False
    try:
        with open(path, "rb") as f:
            return b"PySide6" in f.read()
    except OSError:
        return False


def install() -> bool:
    """Put the quick check in PySide6's place; True if it was installed."""
    # without PySide6 (no gui extra, or blocked) shiboken6's support code cannot load, and it may
    # end the process rather than raise: then leave it to the import of PySide6, which names the extra
    try:
        if importlib.util.find_spec("PySide6") is None:
            return False
        import shiboken6  # noqa: F401 - loads shibokensupport, before PySide6 scans sys.modules
    except (ImportError, ValueError):
        return False
    feature = sys.modules.get("shibokensupport.feature")
    if feature is None or not callable(getattr(feature, "_mod_uses_pyside", None)):
        return False
    feature._mod_uses_pyside = _mod_uses_pyside
    return True
