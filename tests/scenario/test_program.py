"""The [program] table and each step's `line` (docs/program.md): loaded, and refused with file:line."""

from __future__ import annotations

import pytest

from zpviz.scenario import LessonError, loads

HEAD = '[scenario]\ntitle = "t"\n[[vma]]\nname = "a"\npages = 4\n'
PROGRAM = '[program]\nlanguage = "c"\nname = "t.c"\ntext = """\nint *a = mmap(...);\nx = a[0];\na[0] = 1;\n"""\n'


def problems(text: str) -> list:
    with pytest.raises(LessonError) as e:
        loads(text, "lesson.toml")
    return e.value.problems


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_a_program_and_step_lines_load():
    sc = loads(HEAD + PROGRAM + '[[step]]\ndo = "read"\nvma = "a"\nline = 2\n[[step]]\nsay = "x"\nline = 3\n'
               '[[step]]\nsay = "no line"\n', "lesson.toml")
    assert sc.program is not None
    assert (sc.program.language, sc.program.name) == ("c", "t.c")
    assert sc.program.lines == ("int *a = mmap(...);", "x = a[0];", "a[0] = 1;")
    assert [s.line for s in sc.steps] == [2, 3, None]


def test_a_lesson_without_a_program_has_none():
    sc = loads(HEAD + '[[step]]\nsay = "x"\n', "lesson.toml")
    assert sc.program is None and sc.steps[0].line is None


def test_a_line_past_the_end_names_the_step_and_its_line():
    text = HEAD + PROGRAM + '[[step]]\ndo = "read"\nvma = "a"\nline = 4\n'
    (p,) = problems(text)
    assert (p.file, p.line, p.table) == ("lesson.toml", line_of(text, "line = 4"), "step 0")
    assert "past the end of the program, which has 3 lines (1..3)" in p.message


def test_a_line_without_a_program_says_to_add_one():
    text = HEAD + '[[step]]\nsay = "x"\nline = 1\n'
    (p,) = problems(text)
    assert (p.line, p.table) == (line_of(text, "line = 1"), "step 0")
    assert "has no [program]" in p.message


@pytest.mark.parametrize(("line", "says"), [("0", "line must be at least 1"), ('"2"', "line must be an integer")])
def test_a_bad_line_value_is_refused(line, says):
    (p,) = problems(HEAD + PROGRAM + f'[[step]]\nsay = "x"\nline = {line}\n')
    assert says in p.message


@pytest.mark.parametrize(("body", "says"), [
    ('[program]\nlanguage = "rust"\ntext = "x"\n', 'language = "rust" is not valid; valid values: c, python'),
    ('[program]\nlanguage = "c"\n', 'missing key "text"'),
    ('[program]\ntext = "x"\n', 'missing key "language"'),
    ('[program]\nlanguage = "c"\ntext = "  "\n', "text must not be empty"),
    ('[program]\nlanguage = "c"\ntext = "x"\ncolour = 1\n', 'unknown key "colour" in [program]'),
    ('[[program]]\nlanguage = "c"\ntext = "x"\n', "write [program] once"),
    ('[program]\nlanguage = "c"\ntext = """' + "x\n" * 41 + '"""\n', "the program has 41 lines; at most 40"),
    ('[program]\nlanguage = "c"\ntext = "' + "x" * 101 + '"\n', "line 1 of the program is 101 characters"),
])
def test_a_bad_program_table_is_refused_with_its_line(body, says):
    text = HEAD + body + '[[step]]\nsay = "x"\nline = 1\n'
    ps = problems(text)
    assert len(ps) == 1, ps  # the step's line is not blamed again for the program's problem
    assert says in ps[0].message
    assert ps[0].table == "program"
    assert ps[0].line is not None and ps[0].line >= line_of(text, "program")
