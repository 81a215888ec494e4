"""Whatever a lesson file holds, loading it gives a Scenario or a LessonError: never a traceback."""

from __future__ import annotations

import json
import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zpviz.errors import LessonError
from zpviz.scenario import loads, resolve

KEYS = [
    "title", "kernel", "compare", "cpus", "sockets", "seed", "thp_use_zero_page", "name", "count", "process",
    "pages", "prot", "share", "backing", "populate", "locked", "thp", "do", "vma", "cpu", "deal", "say", "hold",
    "predict", "advice", "child", "onfault", "write", "expect", "v5", "*", "2.6.24", "frames_used", "rss_kb",
    "min", "max", "log", "errno", "status", "fault_kinds", "read", "mlocked", "0-3", "bogus",
]
WORDS = [
    "read", "write", "mlock", "madvise", "fork", "exit", "gup", "say", "all", "0-3", "0-15/4", "3-1", "-2",
    "main", "heap", "p", "p*", "p0", "c", "v5", "2.6.24", "zero", "anon", "rw", "none", "dontneed", "block",
    "ENOMEM", "none", "", "\u00e9", "x\ny",
]
scalars = (st.booleans() | st.integers(-3, 70_000) | st.sampled_from([0.5, 1e9, math.nan, math.inf])
           | st.sampled_from(WORDS))
values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(KEYS), inner, max_size=3),
    max_leaves=6,
)
tables = st.dictionaries(st.sampled_from(KEYS), values, max_size=6)


def toml(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return "nan" if v != v else ("inf" if v == math.inf else repr(v))
    if isinstance(v, (int, str)):
        return json.dumps(v) if isinstance(v, str) else str(v)
    if isinstance(v, list):
        return "[" + ", ".join(toml(x) for x in v) + "]"
    return "{ " + ", ".join(f"{json.dumps(k)} = {toml(x)}" for k, x in v.items()) + " }"


def document(top: dict, scenario: dict, arrays: dict[str, list[dict]]) -> str:
    out = [f"{json.dumps(k)} = {toml(v)}" for k, v in top.items()]
    out.append("[scenario]")
    out += [f"{json.dumps(k)} = {toml(v)}" for k, v in scenario.items()]
    for name, items in arrays.items():
        for item in items:
            out.append(f"[[{name}]]")
            out += [f"{json.dumps(k)} = {toml(v)}" for k, v in item.items()]
    return "\n".join(out) + "\n"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.dictionaries(st.sampled_from(["title", "bogus"]), values, max_size=1),
    tables,
    st.fixed_dictionaries({
        "process": st.lists(tables, max_size=2),
        "vma": st.lists(tables, max_size=2),
        "step": st.lists(tables, min_size=1, max_size=4),
    }),
)
def test_any_document_loads_or_says_why(top, scenario, arrays):
    text = document(top, scenario, arrays)
    nlines = text.count("\n") + 1
    try:
        s = loads(text, "f.toml")
    except LessonError as e:
        assert e.problems
        for p in e.problems:
            assert p.file == "f.toml" and p.message
            assert p.line is None or 1 <= p.line <= nlines
            str(p)
        return
    # a lesson that loads keeps the loader's promises: every selection fits its vma
    for step in s.steps:
        if step.pages is None:
            continue
        for name in step.instances:
            spec = s.spec_of_instance(name)
            if spec is not None:
                size = next(v.pages for v in s.vmas_of(spec.name) if v.name == step.vma)
                assert len(resolve(step.pages, size)) >= 1


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_any_text_loads_or_says_why(text):
    try:
        loads(text)
    except LessonError as e:
        assert all(p.message for p in e.problems)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(['[[step]]', 'do = "read"', 'vma = "heap"', 'pages = [', '"0-3",', ']',
                                 '"""', 'say = """', '[step.expect.v5]', 'pages = { "0-3" = "zero" }',
                                 '[[vma]]', 'name = "heap"', 'pages = 8', '# [[step]]', "x = '''"]),
                max_size=14))
def test_line_soup_loads_or_says_why(lines):
    try:
        loads("\n".join(lines))
    except LessonError as e:
        assert all(p.line is None or p.line >= 1 for p in e.problems)
