"""Predict mode's questions: asked before a predict step's first event, answered by its first fault."""

from __future__ import annotations

from zpviz.engine import events as E
from zpviz.present import predict as PR


def test_questions_at_predict_steps(traces):
    qs = PR.questions_for(traces["v5"])
    assert sorted(q.step for q in qs.values()) == [1, 3]
    q1 = next(q for q in qs.values() if q.step == 1)
    tr = traces["v5"]
    assert q1.stop == tr.step_results[1].first_event == tr.step_start_frame(1)
    assert q1.answer == "zero page" and q1.answer in q1.options
    assert "use_zero_page" in q1.why and "do_anonymous_page" in q1.path
    assert q1.prompt.endswith(". What will the first fault do?") and q1.prompt.startswith("Step 2: Process ")
    first = q1.reveal - 1
    assert E.outcome(int(tr.events["kind"][first])) == q1.answer and tr.events["fault"][first]


def test_answers_differ_by_kernel(traces):
    answers = {k: {q.step: q.answer for q in PR.questions_for(t).values()} for k, t in traces.items()}
    assert answers["2.6.24"][1] == "new page"
    assert answers["2.6.23"][1] == answers["2.6.32"][1] == "zero page"
    assert answers["v5"][3] == "copy"


def test_verdict():
    q = PR.Question(0, 1, 2, "p", PR.OPTIONS, "copy", "why", "path")
    assert q.verdict("copy").startswith("Right")
    assert q.verdict("zero page").startswith("Not zero page")
    # the room reads "copy-on-write": a COW of the zero page copies nothing (lesson 4: "instead of copying")
    assert q.verdict(None) == "The first fault: copy-on-write."
    assert q.verdict("zero page") == "Not zero page \u2014 the first fault: copy-on-write."
    assert PR.Question(0, 1, 2, "p", PR.OPTIONS, "new page").verdict("copy").startswith("Not copy-on-write")
    assert PR.option_text("zero page") == "zero page"
