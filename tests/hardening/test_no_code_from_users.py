"""Nothing a user supplies is executed: no eval, exec, pickle, marshal or shell anywhere in zpviz.

One reviewed exception: the sweep compiles its inner loop for the cache lines a fault writes
(`zpviz/engine/sweep_loop.py`, `_loop`), from the module's own templates and role names it checks
against a fixed list (`loop_roles_ok`); no text from a lesson, a recording or the command line
reaches it. The exception is one function of one file, and `test_the_sweep_compiles_only_checked_roles`
holds it to that."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[2] / "zpviz"
BANNED_CALLS = {"eval", "exec", "compile", "__import__"}
BANNED_MODULES = {"pickle", "cPickle", "marshal", "shelve", "dill"}
# (file relative to the package's parent, function): where compile/exec is allowed, and why above
REVIEWED = {("zpviz/engine/sweep_loop.py", "_loop")}


def _enclosing_functions(tree: ast.AST) -> dict[int, str]:
    """id(node) -> the name of the innermost function holding it."""
    inside: dict[int, str] = {}

    def visit(node: ast.AST, fn: str) -> None:
        for child in ast.iter_child_nodes(node):
            name = child.name if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) else fn
            inside[id(child)] = name
            visit(child, name)

    visit(tree, "")
    return inside


def violations(paths, reviewed=frozenset()) -> list[str]:
    """Every eval/exec/compile/__import__ call, shell=True and pickle-like import in these files,
    but for compile/exec inside a reviewed (file, function)."""
    found = []
    for path in sorted(paths):
        tree = ast.parse(Path(path).read_text(), str(path))
        inside = _enclosing_functions(tree)
        rel = Path(path).resolve().relative_to(PKG.parent).as_posix() if Path(path).resolve().is_relative_to(
            PKG.parent) else str(path)
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                fn = node.func
                # bare eval(...) or builtins.eval(...); re.compile and friends are fine
                name = fn.id if isinstance(fn, ast.Name) else (
                    fn.attr if isinstance(fn, ast.Attribute) and getattr(fn.value, "id", "") == "builtins" else "")
                if name in BANNED_CALLS and not (
                        name in ("compile", "exec") and (rel, inside.get(id(node), "")) in reviewed):
                    found.append(f"{path}:{node.lineno}: {name}()")
                if any(k.arg == "shell" and getattr(k.value, "value", False) is True for k in node.keywords):
                    found.append(f"{path}:{node.lineno}: shell=True")
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                found += [f"{path}:{node.lineno}: import {n}" for n in names if n.split(".")[0] in BANNED_MODULES]
    return found


def test_no_eval_exec_pickle_or_shell():
    assert violations(PKG.rglob("*.py"), REVIEWED) == []


def test_the_reviewed_exception_is_one_function(tmp_path):
    """Without the exception the sweep's compile and exec are seen; a function of the same name in
    another file gets no exception."""
    sweep = PKG / "engine" / "sweep_loop.py"
    assert [v.split(": ", 1)[1] for v in violations([sweep])] == ["compile()", "exec()"]
    assert violations([sweep], REVIEWED) == []
    bad = tmp_path / "bad.py"
    bad.write_text("def _loop():\n    exec('x')\n")  # the same name in another file
    assert violations([bad], REVIEWED) == [f"{bad}:2: exec()"]


def test_the_sweep_compiles_only_checked_roles():
    """The one compiled source is made of role names loop_roles_ok accepted: others are refused
    before any source is built."""
    from zpviz.engine import sweep_loop

    with pytest.raises(ValueError, match="no sweep loop"):
        sweep_loop._loop(("lock", "page", "ptl", "pte", "__import__('os')"))
    assert callable(sweep_loop._loop(("lock", "ptl", "pte")))


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
