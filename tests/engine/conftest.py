"""Fixtures the engine's tests share."""

from __future__ import annotations

import pytest

from zpviz.engine import sweep


@pytest.fixture
def sweep_plans(monkeypatch) -> dict[str, list[bool]]:
    """What Sweep.plan answered, step by step, for write steps and for read steps apart (a read
    step is asked only where Sweep.worth says the sweep would be faster)."""
    answers: dict[str, list[bool]] = {"write": [], "read": []}
    plan = sweep.Sweep.plan

    def noting(self) -> bool:
        got = plan(self)
        answers["write" if self.write else "read"].append(got)
        return got

    monkeypatch.setattr(sweep.Sweep, "plan", noting)
    return answers


@pytest.fixture
def plans(sweep_plans) -> list[bool]:
    """What Sweep.plan answered for the write steps, step by step."""
    return sweep_plans["write"]


@pytest.fixture
def read_plans(sweep_plans) -> list[bool]:
    """What Sweep.plan answered for the read steps, step by step."""
    return sweep_plans["read"]


@pytest.fixture
def sweep_every_read(monkeypatch) -> None:
    """The sweep asked for every read step, whatever its CPUs (Sweep.worth is speed, not
    exactness: this shows the read sweep exact where it would not be chosen)."""
    monkeypatch.setattr(sweep.Sweep, "worth", lambda self: True)
