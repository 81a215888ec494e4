"""Lessons and traces shared by the view-model tests (no Qt anywhere here)."""

from __future__ import annotations

from pathlib import Path

import pytest

from zpviz.engine import simulate
from zpviz.present.session import build_lesson
from zpviz.scenario import load, loads

DATA = Path(__file__).parent.parent / "gui" / "data"
SMALL = DATA / "small.toml"


@pytest.fixture(scope="session")
def scenario():
    return load(SMALL)


@pytest.fixture(scope="session")
def traces(scenario):
    return {k: simulate(scenario, k) for k in ("2.6.23", "2.6.24", "v5", "2.6.32", "modern")}


@pytest.fixture(scope="session")
def lesson(scenario):
    return build_lesson(scenario, "v5")


@pytest.fixture(scope="session")
def thp_trace():
    text = """
[scenario]
title = "THP"
kernel = "modern"
cpus = 2
[[vma]]
name = "big"
pages = 1024
thp = true
[[step]]
do = "read"
vma = "big"
pages = "0-1023/256"
say = "Huge zero page."
[[step]]
do = "mlock"
vma = "big"
pages = "0-511"
say = "mlock half."
"""
    return simulate(loads(text, "thp.toml"), "modern")
