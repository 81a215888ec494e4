"""Absurd sizes are refused up front, with a message that says which limit.

"Up front" is checked by what runs, not by the clock: a refused lesson never reaches the engine,
and a file over the size bound is never parsed.
"""

from __future__ import annotations

import pytest

from zpviz import cli
from zpviz.engine import machine


@pytest.fixture
def nothing_runs(monkeypatch):
    """The engine and the TOML parser fail the test if reached."""
    def reached(*_a, **_k):
        raise AssertionError("reached the engine or the parser: the refusal was not up front")
    monkeypatch.setattr(machine, "Machine", reached)  # (engine.report imports it from there when it runs)
    return monkeypatch

BASE = '[scenario]\ntitle = "big"\n{top}\n[[process]]\nname = "p"\n{proc}\n[[vma]]\nname = "r"\npages = {pages}\n' \
       '[[step]]\ndo = "read"\nprocess = "{target}"\nvma = "r"\n'


@pytest.mark.parametrize(("top", "proc", "pages", "target", "words"), [
    ("", "", "1000000000", "p", "pages"),
    ("", "", "2000001", "p", "limit of 2,000,000"),
    ("", "count = 1000000000", "1", "p*", "processes"),
    ("", "count = 4097", "1", "p*", "processes"),
    ("cpus = 100000", "", "1", "p", "cpus"),
    ("sockets = -1", "", "1", "p", "sockets"),
])
def test_refused_up_front(tmp_path, capsys, nothing_runs, top, proc, pages, target, words):
    f = tmp_path / "big.toml"
    f.write_text(BASE.format(top=top, proc=proc, pages=pages, target=target))
    rc = cli.main(["run", str(f)])
    err = capsys.readouterr().err
    assert rc == 2 and str(f) in err and words in err, err


def test_too_many_steps_and_big_files(tmp_path, capsys, nothing_runs):
    f = tmp_path / "steps.toml"
    f.write_text('[scenario]\ntitle = "s"\n[[vma]]\nname = "r"\npages = 1\n' + '[[step]]\nsay = "x"\n' * 10_001)
    assert cli.main(["check", str(f)]) == 2
    assert "steps" in capsys.readouterr().err
    g = tmp_path / "huge.toml"
    g.write_text('[scenario]\ntitle = "s"\nsummary = "' + "x" * (1 << 20) + '"\n')
    nothing_runs.setattr("tomllib.loads", lambda *_a, **_k: pytest.fail("a file over the bound was parsed"))
    assert cli.main(["run", str(g)]) == 2
    err = capsys.readouterr().err
    assert "MiB" in err or "too big" in err, err


def test_bad_arguments_exit_2(capsys):
    assert cli.main(["run"]) == 2
    assert cli.main(["run", "/nonexistent/lesson.toml"]) == 2
    assert cli.main(["run", "scenarios/tour.toml", "--kernel", "9.9"]) == 2
    err = capsys.readouterr().err
    assert "/nonexistent/lesson.toml" in err and "9.9" in err
