"""Nothing a user supplies is executed: no eval, exec, pickle, marshal or shell anywhere in zpviz."""

from __future__ import annotations

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parents[2] / "zpviz"
BANNED_CALLS = {"eval", "exec", "compile", "__import__"}
BANNED_MODULES = {"pickle", "cPickle", "marshal", "shelve", "dill"}


def violations(paths) -> list[str]:
    """Every eval/exec/compile/__import__ call, shell=True and pickle-like import in these files."""
    found = []
    for path in sorted(paths):
        tree = ast.parse(Path(path).read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                fn = node.func
                # bare eval(...) or builtins.eval(...); re.compile and friends are fine
                name = fn.id if isinstance(fn, ast.Name) else (
                    fn.attr if isinstance(fn, ast.Attribute) and getattr(fn.value, "id", "") == "builtins" else "")
                if name in BANNED_CALLS:
                    found.append(f"{path}:{node.lineno}: {name}()")
                if any(k.arg == "shell" and getattr(k.value, "value", False) is True for k in node.keywords):
                    found.append(f"{path}:{node.lineno}: shell=True")
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                found += [f"{path}:{node.lineno}: import {n}" for n in names if n.split(".")[0] in BANNED_MODULES]
    return found


def test_no_eval_exec_pickle_or_shell():
    assert violations(PKG.rglob("*.py")) == []


def test_the_scan_would_see_a_violation(tmp_path):
    """The scanner above must be able to fail: it finds every rule broken in a file that breaks them all,
    and passes a file that only looks alike (re.compile, shell=False)."""
    bad = tmp_path / "bad.py"
    bad.write_text("import pickle\nfrom marshal import loads\neval('1')\nbuiltins.exec('x')\n"
                   "import subprocess\nsubprocess.run('x', shell=True)\n")
    assert [v.split(": ", 1)[1] for v in violations([bad])] == \
        ["import pickle", "import marshal", "eval()", "exec()", "shell=True"]
    fine = tmp_path / "fine.py"
    fine.write_text("import re\nre.compile('x')\nimport subprocess\nsubprocess.run(['x'], shell=False)\n")
    assert violations([fine]) == []
