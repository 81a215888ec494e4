"""gui/supportcode.py: shiboken6's support modules' code kept and reused, the same code as compiled."""

from __future__ import annotations

import builtins
import json
import os
import subprocess
import sys

from zpviz.gui import supportcode

# a start's view: how many support modules it compiled and reused, whether each module's code is
# what compiling its source gives, and that PySide6's signatures (the parser's work) still read
_START = """
import builtins, hashlib, json, os, sys, types
if os.environ.get("OWN"):  # shiboken6 compiling its code itself: imported before zpviz.gui
    import shiboken6
import zpviz.gui
from zpviz.gui import supportcode
from PySide6 import QtCore
from shibokensupport.signature import get_signature
def shape(code):
    consts = tuple(shape(c) if isinstance(c, types.CodeType) else repr(c) for c in code.co_consts)
    return (code.co_name, code.co_flags, code.co_code, code.co_names, code.co_varnames, consts)
# every function of the support modules, by what its code is (the flags of its module's compile included)
funcs = {f"{m}.{k}": hashlib.sha256(repr(shape(v.__code__)).encode()).hexdigest()
         for m, mod in sorted(sys.modules.items()) if m.startswith("shibokensupport")
         for k, v in sorted(vars(mod).items()) if isinstance(v, types.FunctionType) and v.__module__ == m}
c = supportcode.last
print(json.dumps({"compiled": c.compiled, "used": sorted(c.used), "funcs": funcs,
                  "restored": builtins.compile is supportcode._compile,
                  "sig": str(get_signature(QtCore.QTimer.singleShot))}))
"""


def _start(cache: str, **env) -> dict:
    """A start with the platform's cache directory at `cache` (the suite switches caching off)."""
    env = dict({k: v for k, v in os.environ.items() if k != "ZPVIZ_NO_CACHE"}, QT_QPA_PLATFORM="offscreen",
               XDG_CACHE_HOME=cache, **env)
    out = subprocess.run([sys.executable, "-c", _START], capture_output=True, text=True, timeout=120, env=env)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_compiled_once_then_kept(tmp_path):
    own = _start(str(tmp_path), OWN="1")  # shiboken6 compiling its code itself
    assert own["compiled"] == 0 and not own["used"] and not (tmp_path / "zpviz").exists()
    first = _start(str(tmp_path))
    assert first["compiled"] >= 10 and "shibokensupport/signature/parser.py" in first["used"]
    kept = tmp_path / "zpviz" / "pyside" / f"support-{sys.implementation.cache_tag}.marshal"
    assert kept.is_file()
    again = _start(str(tmp_path))
    assert again["compiled"] == 0 and again["used"] == first["used"]
    assert len(own["funcs"]) > 50, len(own["funcs"])
    assert first["funcs"] == own["funcs"] and again["funcs"] == own["funcs"]
    assert again["restored"] and again["sig"] == first["sig"] == own["sig"]
    assert "msec: int" in again["sig"]


def test_a_spoilt_file_is_compiled_again(tmp_path):
    kept = tmp_path / "zpviz" / "pyside" / f"support-{sys.implementation.cache_tag}.marshal"
    kept.parent.mkdir(parents=True)
    kept.write_bytes(b"\x00not marshal")
    first = _start(str(tmp_path))
    assert first["compiled"] >= 10
    assert _start(str(tmp_path))["compiled"] == 0  # written whole again


def test_off_with_the_cache(tmp_path):
    start = _start(str(tmp_path), ZPVIZ_NO_CACHE="1")
    assert start["compiled"] >= 10
    assert not (tmp_path / "zpviz").exists()


def test_other_calls_go_to_compile(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("ZPVIZ_NO_CACHE", raising=False)
    with supportcode.compiling() as c:
        assert builtins.compile is c
        assert eval(builtins.compile("6 * 7", "<expr>", "eval")) == 42  # noqa: S307 - a constant
        builtins.compile(b"x = 1\n", "/abs/path.py", "exec")  # a file's absolute name: not shiboken's
        code = builtins.compile(b"y = 2\n", "pkg/mod.py", "exec")  # as shiboken's importer calls it
    assert builtins.compile is supportcode._compile
    assert c.compiled == 1 and list(c.used) == ["pkg/mod.py"]
    ns: dict = {}
    exec(code, ns)  # noqa: S102 - the code just compiled
    assert ns["y"] == 2
    with supportcode.compiling() as c2:
        again = builtins.compile(b"y = 2\n", "pkg/mod.py", "exec")
        changed = builtins.compile(b"y = 3\n", "pkg/mod.py", "exec")  # other bytes: compiled anew
    assert again == code and c2.compiled == 1
    ns = {}
    exec(changed, ns)  # noqa: S102
    assert ns["y"] == 3
