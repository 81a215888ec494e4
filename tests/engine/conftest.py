"""Fixtures the engine's tests share."""

from __future__ import annotations

import pytest

from zpviz.engine import sweep


@pytest.fixture
def plans(monkeypatch) -> list[bool]:
    """What Sweep.plan answered, step by step."""
    answers: list[bool] = []
    plan = sweep.Sweep.plan

    def noting(self) -> bool:
        answers.append(plan(self))
        return answers[-1]

    monkeypatch.setattr(sweep.Sweep, "plan", noting)
    return answers
