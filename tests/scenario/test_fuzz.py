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


BASE = {
    "scenario": {"title": "t", "kernel": "v5", "compare": ["2.6.23"], "cpus": 4, "sockets": 2},
    "process": [{"name": "p", "count": 3}, {"name": "main"}],
    "vma": [{"name": "heap", "process": "p", "pages": 1024, "thp": True, "prot": "rw"},
            {"name": "file", "process": "main", "pages": 64, "backing": "file", "populate": True}],
    "step": [
        {"do": "read", "process": "p*", "vma": "heap", "pages": "0-1023/16", "cpus": [0, 1], "deal": "block",
         "expect": {"v5": {"frames_used": 0, "pages": {"0-15": "zero"}, "rss_kb": {"min": 0, "max": 9}}}},
        {"do": "fork", "process": "p1", "child": "c"},
        {"do": "madvise", "process": "c", "vma": "heap", "pages": [0, "4-7"], "advice": "dontneed"},
        {"do": "exit", "process": ["c", "p0"]},
        {"do": "mlock", "process": "main", "vma": "file", "onfault": True, "cpu": 3},
        {"say": "done", "hold": 3, "expect": {"*": {"frames_used": 1, "log": ["BUG"]}}},
    ],
}


def _leaves(v: object, path: tuple = ()) -> list[tuple]:
    if isinstance(v, dict):
        return [path] + [p for k, x in v.items() for p in _leaves(x, path + (k,))]
    if isinstance(v, list):
        return [path] + [p for i, x in enumerate(v) for p in _leaves(x, path + (i,))]
    return [path]


PATHS = [p for p in _leaves(BASE) if p]


def _mutated(edits: list[tuple[tuple, object]]) -> dict:
    doc = json.loads(json.dumps(BASE))
    for path, new in edits:
        parent = doc
        try:
            for k in path[:-1]:
                parent = parent[k]
            if new is _DELETE and isinstance(parent, dict):
                parent.pop(path[-1], None)
            elif new is not _DELETE:
                parent[path[-1]] = new
        except (KeyError, IndexError, TypeError):
            pass  # an earlier edit removed or reshaped this path
    return doc


_DELETE = object()


def test_the_base_lesson_loads():
    s = loads(document({}, BASE["scenario"], {k: BASE[k] for k in ("process", "vma", "step")}))
    assert s.steps[3].instances == ("c", "p0")


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(PATHS), values | st.just(_DELETE)), min_size=1, max_size=3))
def test_mutated_lessons_load_or_say_why(edits):
    doc = _mutated(edits)
    arrays = {k: doc[k] for k in ("process", "vma", "step") if isinstance(doc.get(k), list)}
    arrays = {k: [x for x in v if isinstance(x, dict)] for k, v in arrays.items()}
    text = document({}, doc["scenario"] if isinstance(doc.get("scenario"), dict) else {}, arrays)
    try:
        loads(text, "f.toml")
    except LessonError as e:
        nlines = text.count("\n") + 1
        assert all(p.line is None or 1 <= p.line <= nlines for p in e.problems)
