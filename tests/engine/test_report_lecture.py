"""The run report's lecture fields (docs/lecture.md): steps[i].caption, .outcome and .question."""

from __future__ import annotations

from pathlib import Path

from zpviz.engine.report import build_report, run_report
from zpviz.engine.run import simulate
from zpviz.scenario import load, loads

LESSON_9 = Path(__file__).resolve().parents[2] / "scenarios" / "09-mlock-readonly.toml"

TEXT = """
[scenario]
title = "Report words"
kernel = "v5"
compare = ["2.6.24"]
cpus = 1
[[vma]]
name = "t"
pages = 64
[[step]]
do = "read"
vma = "t"
predict = { ask = "How many frames?", answer = "frames_used" }
say = { "*" = "zero page words", "2.6.31" = "no zero page words" }
[[step]]
do = "write"
vma = "t"
pages = "0-7"
predict = true
say = "eight writes"
[[step]]
do = "read"
vma = "t"
predict = { ask = "Which kernel uses most?", answer = "most_memory" }
[[step]]
do = "mlock"
vma = "t"
predict = { ask = "Rss of t?", answer = "rss_kb" }
"""


def test_caption_is_the_variants_own_text():
    sc = loads(TEXT, "r.toml")
    assert [s["caption"] for s in run_report(sc, "v5")["steps"]][:2] == ["zero page words", "eight writes"]
    assert run_report(sc, "2.6.24")["steps"][0]["caption"] == "no zero page words"


def test_outcome_line_from_each_variants_run():
    sc = loads(TEXT, "r.toml")
    v5, old = run_report(sc, "v5")["steps"], run_report(sc, "2.6.24")["steps"]
    assert v5[0]["outcome"] == "64 read faults \u2192 zero page, 0 new pages"
    assert old[0]["outcome"] == "64 read faults \u2192 64 new zeroed pages, 256 KiB"
    assert v5[1]["outcome"] == "8 COW faults \u2192 8 new pages, 32 KiB"
    assert old[1]["outcome"] == "no faults, 0 new pages"
    r = run_report(load(LESSON_9), "v5")["steps"][1]
    assert r["outcome"] == "mlock: 1 Bad page map, ENOMEM"


def test_question_with_its_answer_from_the_run():
    sc = loads(TEXT, "r.toml")
    v5, old = run_report(sc, "v5")["steps"], run_report(sc, "2.6.24")["steps"]
    q = v5[0]["question"]
    assert q == {"ask": "How many frames?", "answer_kind": "frames_used", "options": [], "answer": 0, "unit": "pages"}
    assert old[0]["question"]["answer"] == 64
    first = v5[1]["question"]
    assert first["answer_kind"] == "first_fault" and first["answer"] == "copy" and "copy" in first["options"]
    assert "no fault" in first["options"]  # every answer is always offered: none gives itself away
    assert old[1]["question"]["answer"] == "no fault"
    which = v5[2]["question"]
    assert which["options"] == ["v5", "2.6.24"] and which["answer"] is None and which["value"] == 8
    # rss_kb of t after the mlock: writable, so every zero page was COW-broken into a real page
    assert v5[3]["question"]["answer"] == old[3]["question"]["answer"] == 64 * 4
    assert "question" not in run_report(load(LESSON_9), "v5")["steps"][0]


def test_light_and_traced_reports_agree_on_the_new_fields():
    sc = loads(TEXT, "r.toml")
    for k in ("v5", "2.6.24"):
        assert run_report(sc, k) == build_report(simulate(sc, k))
