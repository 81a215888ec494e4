"""The complete lessons in docs/authoring.md load, and every claim in them holds: the guide's
examples are lessons, not illustrations."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from zpviz.play import lesson_report as run_report
from zpviz.scenario import loads

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "authoring.md"
LESSONS = [b for b in re.findall(r"```toml\n(.*?)```", GUIDE.read_text(), re.S) if b.startswith("[scenario]")]


def test_the_guide_has_its_three_worked_examples():
    assert len(LESSONS) == 3


@pytest.mark.parametrize("text", LESSONS, ids=lambda t: t.split('"')[1])
def test_a_worked_example_checks(text):
    sc = loads(text, "authoring.md")
    variants = {sc.kernel, *sc.compare} | {c.variant for s in sc.steps for c in s.expect} - {"*"}
    for k in sorted(variants):
        rep = run_report(sc, k)
        assert rep["expect_ok"], [f["message"] for s in rep["steps"] for f in s["expect"]["failed"]]
