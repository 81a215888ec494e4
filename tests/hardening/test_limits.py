"""Absurd sizes are refused up front, quickly, with a message that says which limit."""

from __future__ import annotations

import time

import pytest

from zpviz import cli

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
def test_refused_up_front(tmp_path, capsys, top, proc, pages, target, words):
    f = tmp_path / "big.toml"
    f.write_text(BASE.format(top=top, proc=proc, pages=pages, target=target))
    t = time.perf_counter()
    rc = cli.main(["run", str(f)])
    err = capsys.readouterr().err
    assert rc == 2 and str(f) in err and words in err, err
    assert time.perf_counter() - t < 2.0


def test_too_many_steps_and_big_files(tmp_path, capsys):
    f = tmp_path / "steps.toml"
    f.write_text('[scenario]\ntitle = "s"\n[[vma]]\nname = "r"\npages = 1\n' + '[[step]]\nsay = "x"\n' * 10_001)
    assert cli.main(["check", str(f)]) == 2
    assert "steps" in capsys.readouterr().err
    g = tmp_path / "huge.toml"
    g.write_text('[scenario]\ntitle = "s"\nsummary = "' + "x" * (1 << 20) + '"\n')
    t = time.perf_counter()
    assert cli.main(["run", str(g)]) == 2
    assert "MiB" in capsys.readouterr().err or "too big" in capsys.readouterr().err
    assert time.perf_counter() - t < 2.0


def test_bad_arguments_exit_2(capsys):
    assert cli.main(["run"]) == 2
    assert cli.main(["run", "/nonexistent/lesson.toml"]) == 2
    assert cli.main(["run", "scenarios/tour.toml", "--kernel", "9.9"]) == 2
    err = capsys.readouterr().err
    assert "/nonexistent/lesson.toml" in err and "9.9" in err
