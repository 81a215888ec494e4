"""The lesson format's narration and predict forms (docs/lecture.md): say/notes/summary per variant,
predict questions, and their errors with file and line."""

from __future__ import annotations

import pytest

from zpviz.scenario import loads
from zpviz.scenario.model import Ask

from .lessons import HEAD_LINES, lesson, line_of, problems


def _step(body: str) -> str:
    return lesson('[[step]]\ndo = "read"\nvma = "heap"\n' + body)


def test_say_table_by_variant_with_a_default():
    sc = loads(_step('[step.say]\n"*" = "all"\n"2.6.31" = "no zero page"\nv5 = "special"\n'))
    s = sc.steps[0]
    assert s.say == "all" and dict(s.says) == {"2.6.24": "no zero page", "v5": "special"}
    assert s.say_for("2.6.24") == s.say_for("2.6.31") == "no zero page"
    assert s.say_for("modern") == s.say_for(None) == "all" and s.varies


def test_plain_strings_mean_every_variant():
    sc = loads(_step('say = "hello"\nnotes = "psst"\npredict = true\n'))
    s = sc.steps[0]
    assert s.say_for("v5") == s.say == "hello" and s.notes_for("2.6.23") == "psst" and not s.varies
    assert s.predict and s.question == Ask("", "first_fault")


def test_inline_tables_for_notes_summary_and_predict():
    head = lesson("").replace('title = "T"', 'title = "T"\nsummary = { "*" = "s", modern = "m" }')
    sc = loads(head + '[[step]]\ndo = "read"\nvma = "heap"\nnotes = { v5 = "only v5" }\n'
                      'predict = { ask = "How many faults?", answer = "faults" }\n')
    assert sc.summary_for("modern") == "m" and sc.summary_for("v5") == "s"
    s = sc.steps[0]
    assert s.notes_for("v5") == "only v5" and s.notes_for("2.6.23") == ""
    assert s.question == Ask("How many faults?", "faults") and s.question.numeric


def test_a_narration_step_may_ask_a_number_but_not_the_first_fault():
    sc = loads(lesson('[[step]]\nsay = "x"\npredict = { ask = "How much memory now?", answer = "frames_used" }\n'))
    assert sc.steps[0].question.answer == "frames_used"
    p = problems(lesson('[[step]]\nsay = "x"\npredict = true\n'))
    assert "a narration step has none" in p[0].message
    p = problems(lesson('[[step]]\nsay = "x"\npredict = { ask = "What now?" }\n'))
    assert "narration step has no fault to predict" in p[0].message


@pytest.mark.parametrize("body, needle, says", [
    ('say = { v6 = "x" }', "say", 'unknown kernel variant "v6" in say; valid: "*", 2.6.23, 2.6.24, 2.6.31, v5, '
                                  '2.6.32, modern; did you mean "v5"?'),
    ('say = { "2.6.24" = "a", "2.6.31" = "b" }', "say", 'say."2.6.31" and say."2.6.24" name the same kernel'),
    ('say = { v5 = 1 }', "say", 'say."v5" must be a string, got 1 (an integer)'),
    ("say = {}", "say", "say is an empty table"),
    ('notes = ["a"]', "notes", "notes must be a string, got"),
    ('predict = "yes"', "predict", "predict must be true or false, or a table"),
    ('predict = { answer = "faults" }', "predict", 'needs ask = "..."'),
    ('predict = { ask = "x", answer = "fault" }', "predict", 'answer = "fault" is not valid; valid values: '
                                                             'first_fault, faults'),
    ('predict = { ask = "x", answer = "faults", options = 1 }', "predict", 'unknown key "options" in predict'),
    ('predict = { ask = "", answer = "faults" }', "predict", "ask must not be empty"),
])
def test_bad_forms_name_file_and_line(body, needle, says):
    text = _step(body + "\n")
    p = problems(text)
    assert len(p) == 1, p
    assert (p[0].file, p[0].line, p[0].table) == ("lesson.toml", line_of(text, needle, after=HEAD_LINES), "step 0")
    assert says in p[0].message, p[0].message


def test_a_say_subtable_error_names_its_own_line():
    text = _step('[step.say]\n"*" = "ok"\nv6 = "bad"\n')
    p = problems(text)
    assert p[0].line == line_of(text, 'v6 = "bad"') and "did you mean" in p[0].message


def test_rss_kb_needs_a_vma():
    p = problems(lesson('[[step]]\ndo = "fork"\nchild = "c"\npredict = { ask = "x?", answer = "rss_kb" }\n'))
    assert any("has no vma" in x.message for x in p)
