"""Lesson texts and helpers shared by the scenario tests."""

from __future__ import annotations

import textwrap

import pytest

from zpviz.errors import LessonError, Problem
from zpviz.scenario import loads

HEAD_LINES = 7  # the lines of HEAD; a body's needles are searched after them
HEAD = """\
[scenario]
title = "T"
cpus = 4

[[vma]]
name = "heap"
pages = 64
"""


def lesson(body: str, head: str = HEAD) -> str:
    """HEAD (one process "main" with a 64-page vma "heap", 4 CPUs) followed by `body`."""
    return head + "\n" + textwrap.dedent(body)


def line_of(text: str, needle: str, nth: int = 0, after: int = 0) -> int:
    """1-based line of the nth line after line `after` containing `needle` (the test's own ground truth)."""
    hits = [i for i, line in enumerate(text.split("\n"), start=1) if needle in line and i > after]
    assert len(hits) > nth, f"{needle!r} not in the lesson text"
    return hits[nth]


def problems(text: str, path: str = "lesson.toml") -> list[Problem]:
    with pytest.raises(LessonError) as info:
        loads(text, path)
    return info.value.problems


def only_problem(text: str) -> Problem:
    found = problems(text)
    assert len(found) == 1, "\n".join(map(str, found))
    return found[0]
