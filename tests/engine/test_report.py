"""The run report: the light path (no trace) and the traced path say exactly the same thing."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.engine.util import lesson
from zpviz.engine.report import build_report, run_report
from zpviz.engine.run import simulate
from zpviz.play import lesson_report, trace_report
from zpviz.scenario import load, loads

LESSONS = sorted((Path(__file__).resolve().parents[2] / "scenarios").glob("*.toml"))


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_light_and_traced_reports_agree(path):
    sc = load(path)
    for k in dict.fromkeys([sc.kernel, *sc.compare]):
        assert lesson_report(sc, k, every_step=True) == trace_report(simulate(sc, k), every_step=True)


def test_the_engine_reports_without_judging():
    """Claims are judged by zpviz.play, not the engine: its own report has no verdicts, the same numbers."""
    sc = load(LESSONS[0])
    bare, judged = run_report(sc), lesson_report(sc)
    assert "expect_ok" not in bare and all("expect" not in s for s in bare["steps"])
    assert judged["expect_ok"] is True and all(s["expect"] == {"ok": True, "failed": []} for s in judged["steps"])
    for s in judged["steps"]:
        del s["expect"]
    del judged["expect_ok"]
    assert bare == judged == build_report(simulate(sc, sc.kernel))


def test_report_shape_follows_the_contract():
    text = lesson('[[vma]]\nname = "r"\npages = 100\n[[step]]\ndo = "read"\nvma = "r"\n'
                  '[[step]]\ndo = "mlock"\nvma = "r"\n', cpus=1)
    r = lesson_report(loads(text, "t.toml"), "v5")
    assert set(r) >= {"scenario", "kernel", "steps", "final", "kernel_log", "notes"}
    s = r["steps"][1]
    assert set(s) >= {"index", "do", "process", "vma", "faults", "fault_kinds", "errno", "status", "signal",
                      "makespan_ns", "log", "expect"}
    assert set(s["fault_kinds"]) == {"read", "write", "cow", "gup", "huge"}
    v = r["final"]["processes"]["main"]["vmas"]["r"]
    assert set(v) == {"pages", "mlocked", "huge", "vm_locked", "rss_kb", "anon_kb", "locked_kb"}
    assert len(v["pages"]) == 100
    cpu = r["final"]["cpus"][0]
    assert set(cpu) >= {"cpu", "hits", "misses", "transfers_in", "invalidations_sent", "invalidations_received",
                        "stall_ns", "by_line"}
    assert set(cpu["by_line"]) >= {"zero_page", "struct_page", "pte", "mm_counter", "lock"}
    assert set(r["final"]["zero_page"]) == {"refcount_delta", "mapcount_delta", "line_writes", "line_transfers"}
    assert any("suppressed" in n for n in r["notes"])  # 100 Bad page maps: 40 past the ratelimit


def test_a_step_on_a_missing_vma_is_a_lesson_error_and_an_engine_keyerror_is_not(monkeypatch):
    """A name the loader could not check is the lesson's fault (file and line); a KeyError inside the
    engine is a bug and surfaces as one, not as "unknown name" in the lesson."""
    import dataclasses

    from zpviz.errors import LessonError

    sc = loads(lesson('[[vma]]\nname = "r"\npages = 8\n[[step]]\ndo = "read"\nvma = "r"\n', cpus=1), "t.toml")
    bad = dataclasses.replace(sc, steps=(dataclasses.replace(sc.steps[0], vma="gone"),))
    with pytest.raises(LessonError, match='t.toml:.*has no vma "gone"'):
        run_report(bad)
    monkeypatch.setattr("zpviz.engine.machine.Machine._run_bulk", lambda *a, **k: {}["engine bug"])
    with pytest.raises(KeyError, match="engine bug"):
        run_report(sc)
