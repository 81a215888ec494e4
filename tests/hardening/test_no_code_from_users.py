"""Nothing a user supplies is executed: no eval, exec, pickle, marshal or shell anywhere in zpviz."""

from __future__ import annotations

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parents[2] / "zpviz"
BANNED_CALLS = {"eval", "exec", "compile", "__import__"}
BANNED_MODULES = {"pickle", "cPickle", "marshal", "shelve", "dill"}


def test_no_eval_exec_pickle_or_shell():
    found = []
    for path in sorted(PKG.rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
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
    assert found == []


def test_the_scan_would_see_a_violation(tmp_path):
    # the check above must be able to fail: run its walker over a file that breaks every rule
    bad = tmp_path / "bad.py"
    bad.write_text("import pickle\neval('1')\nimport subprocess\nsubprocess.run('x', shell=True)\n")
    tree = ast.parse(bad.read_text())
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)]
    assert any(getattr(c.func, "id", "") == "eval" for c in calls)
    assert any(k.arg == "shell" for c in calls for k in c.keywords)
