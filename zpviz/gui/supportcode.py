"""PySide6's own support code compiled once and kept, instead of at every start (docs/startup.md).

shiboken6 carries its Python support modules (`shibokensupport`: the signature parser and mapping,
the .pyi generator, the `__feature__` switch ...) as sources in a zip inside its library, and its
importer (`signature_bootstrap.EmbeddableZipImporter.exec_module`) calls `compile(source, name,
"exec")` on each of them at every import of shiboken6: 14 modules, ~12 ms of CPU at every start
with a window here (~0.03-0.04 s on the slow laptop of issue 15). Python keeps bytecode for a
module in a file; for these nobody does.

`compiling()` is held around that import (zpviz.gui.pysidescan.install): while it is,
`builtins.compile` answers a call made the way that importer makes it (three arguments, the source
as bytes, a relative name ending in .py) with the code object kept for exactly that name and those
bytes, and compiles (and keeps) it otherwise; every other call goes straight to the real compile.
What is kept is `marshal`'s form of the code `compile` made, the way a .pyc holds it, in one file
of the platform's cache directory (not $ZPVIZ_CACHE_DIR: that is the trace cache, emptied for a
cold start, while this is bytecode) named for the interpreter (`sys.implementation.cache_tag`), so
another Python never reads it. It is written atomically (a temporary file renamed), only when
something was compiled, and holds only what this import used; a file that cannot be read or
written, or does not unmarshal, only means compiling as before. ZPVIZ_NO_CACHE switches it off.
"""

from __future__ import annotations
import __future__

import builtins
import contextlib
import marshal
import os
import sys

_compile = builtins.compile
_FUTURE = 0  # every __future__ feature's compiler flag
for _name in __future__.all_feature_names:
    _FUTURE |= getattr(__future__, _name).compiler_flag
last = None  # the last compiling()'s compiler: what it compiled and what it took as kept (tests)


def cache_file() -> str | None:
    """Where the compiled support code is kept; None when caching is off or there is no home."""
    if os.environ.get("ZPVIZ_NO_CACHE"):
        return None
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg and os.path.isabs(xdg):  # (the platform's cache directory as present.tracecache finds it)
        base = os.path.join(xdg, "zpviz")
    else:
        home = os.path.expanduser("~")
        if not os.path.isabs(home):
            return None
        if sys.platform == "darwin":
            base = os.path.join(home, "Library", "Caches", "zpviz")
        elif sys.platform == "win32" and os.environ.get("LOCALAPPDATA"):
            base = os.path.join(os.environ["LOCALAPPDATA"], "zpviz", "cache")
        else:
            base = os.path.join(home, ".cache", "zpviz")
    return os.path.join(base, "pyside", f"support-{sys.implementation.cache_tag}.marshal")


def _embedded(source, filename, mode) -> bool:
    """A call as shiboken6's importer makes it: (bytes of a .py file, its name inside the zip, "exec")."""
    return (mode == "exec" and type(source) is bytes and type(filename) is str
            and filename.endswith(".py") and not os.path.isabs(filename))


class _Compiler:
    """builtins.compile while held: the kept code for shiboken6's support modules, else the real one."""

    def __init__(self, kept: dict):
        self.kept = kept  # name -> (source bytes, the caller's __future__ flags, marshalled code)
        self.used: dict = {}
        self.compiled = 0  # modules compiled now (kept ones that matched are not)

    def __call__(self, source, filename, mode, *args, **kwargs):
        if args or kwargs or not _embedded(source, filename, mode):
            return _compile(source, filename, mode, *args, **kwargs)
        # compile() takes the __future__ features of the code that calls it (shiboken's importer
        # has `from __future__ import annotations`): the same flags, from the same caller, as before
        flags = sys._getframe(1).f_code.co_flags & _FUTURE
        entry = self.kept.get(filename)
        if entry is not None and entry[0] == source and entry[1] == flags:
            try:
                code = marshal.loads(entry[2])
            except (ValueError, EOFError, TypeError):
                code = None
            if code is not None:
                self.used[filename] = entry
                return code
        code = _compile(source, filename, mode, flags, True)
        self.used[filename] = (source, flags, marshal.dumps(code))
        self.compiled += 1
        return code


def _read(path: str | None) -> dict:
    if path is None:
        return {}
    try:
        with open(path, "rb") as f:
            kept = marshal.loads(f.read())
    except (OSError, ValueError, EOFError, TypeError):
        return {}
    if not isinstance(kept, dict):
        return {}
    return {k: v for k, v in kept.items() if isinstance(k, str) and isinstance(v, tuple) and len(v) == 3
            and type(v[0]) is bytes and type(v[1]) is int and type(v[2]) is bytes}


def _write(path: str, kept: dict) -> None:
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(tmp, "wb") as f:
            f.write(marshal.dumps(kept))
        os.replace(tmp, path)  # whole or not at all, also with another start writing beside it
    except OSError:
        with contextlib.suppress(OSError):
            os.remove(tmp)


@contextlib.contextmanager
def compiling():
    """Hold around `import shiboken6`: its support modules' code from the kept file (see above)."""
    global last
    path = cache_file()
    compiler = last = _Compiler(_read(path))
    builtins.compile = compiler
    try:
        yield compiler
    finally:
        if builtins.compile is compiler:
            builtins.compile = _compile
    if path is not None and compiler.compiled:
        _write(path, compiler.used)
