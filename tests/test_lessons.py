"""The lesson library (scenarios/*.toml) tells the truth: every claim holds under every variant it names.

One test per (lesson, variant): the lesson is loaded, run under its own kernel, each `compare` variant
and every variant named in a claim (as `zpviz check` does), and every step's `expect` must be ok. Plus
the library's shape: each lesson has a title, a summary, captions and at least one claim; the tour
exists and has checkpoints and captions.

A claim that fails because the ENGINE disagrees with the kernel (docs/semantics.md, the v5 patch)
is listed in ENGINE_GAPS with the reason; those cases are strict xfails, so the test turns red again
the moment the engine is fixed and the entry can go.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest

from zpviz.play import lesson_report
from zpviz.scenario import load
from zpviz.scenario.model import Scenario

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
LESSONS = sorted(SCENARIOS.glob("*.toml"))
TOUR = SCENARIOS / "tour.toml"

# (lesson file name, variant) -> why the engine's answer differs from the kernel's.
ENGINE_GAPS: dict[tuple[str, str], str] = {}


@cache
def _load(path: Path) -> Scenario:
    return load(path)


def _variants(sc: Scenario) -> list[str]:
    """The lesson's kernel, its compare list, then any other variant a claim names (as `zpviz check`)."""
    named = {c.variant for s in sc.steps for c in s.expect} - {"*"}
    out = [sc.kernel, *sc.compare]
    return out + sorted(named - set(out))


def _cases() -> list:
    cases = []
    for path in LESSONS:
        for variant in _variants(_load(path)):
            marks = []
            why = ENGINE_GAPS.get((path.name, variant))
            if why:
                marks.append(pytest.mark.xfail(reason=f"engine gap: {why}", strict=True))
            cases.append(pytest.param(path, variant, id=f"{path.stem}[{variant}]", marks=marks))
    return cases


def test_library_is_there():
    assert TOUR in LESSONS
    assert len([p for p in LESSONS if p != TOUR]) >= 18


@pytest.mark.parametrize(("path", "variant"), _cases())
def test_every_claim_holds(path: Path, variant: str):
    sc = _load(path)
    report = lesson_report(sc, variant)
    assert report["kernel"] == variant
    assert len(report["steps"]) == len(sc.steps)
    failed = [msg for step in report["steps"] for msg in step["expect"]["failed"]]
    assert not failed, "\n".join(failed)
    assert report["expect_ok"]


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.name)
def test_lesson_is_complete(path: Path):
    sc = _load(path)
    assert sc.title and sc.title != path.stem, "a lesson needs a [scenario] title"
    assert sc.summary.strip(), "a lesson needs a summary"
    # every variant the lesson plays has words for every step (its own, or the "*" ones: docs/lecture.md)
    uncaptioned = [s.index for s in sc.steps if not all(s.say_for(v).strip() for v in sc.variants())]
    assert not uncaptioned, f"steps without a caption (say): {uncaptioned}"
    assert sum(len(s.expect) for s in sc.steps) >= 1, "a lesson needs at least one claim"
    assert any(s.checkpoint for s in sc.steps), "a lesson needs at least one checkpoint"
    assert sc.kernel not in sc.compare


@pytest.mark.parametrize("path", [p for p in LESSONS if p != TOUR], ids=lambda p: p.name)
def test_lesson_file_name_orders_the_library(path: Path):
    prefix = path.name.split("-", 1)[0]
    assert len(prefix) == 2 and prefix.isdigit(), "lesson files start with a two-digit number"


def test_tour():
    sc = _load(TOUR)
    assert sc.compare, "the tour plays variants side by side"
    assert 10 <= len(sc.steps) <= 16
    assert sum(s.checkpoint for s in sc.steps) >= 3
    assert all(s.say_for(v).strip() for s in sc.steps for v in sc.variants())
    assert sum(s.predict for s in sc.steps) >= 1
    assert sum(len(s.expect) for s in sc.steps) >= 10
