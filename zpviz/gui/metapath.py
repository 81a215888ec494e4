"""Import finders put first on sys.meta_path before a module is imported (gui/pgnames.py,
gui/pgdefer.py): each one's install and uninstall."""

from __future__ import annotations

import sys


def install(finder, before: str) -> bool:
    """Put `finder` first on sys.meta_path, unless the module `before` is imported already (then it
    would find nothing to do): False, and nothing done, in that case."""
    if before in sys.modules:
        return False
    if finder not in sys.meta_path:
        sys.meta_path.insert(0, finder)
    return True


def uninstall(finder) -> None:
    if finder in sys.meta_path:
        sys.meta_path.remove(finder)
