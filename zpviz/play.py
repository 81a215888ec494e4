"""Play a lesson under a kernel variant and judge its claims: the run report of docs/report.md.

The engine builds the report (engine/report.py) and knows nothing of claims; the lesson package
checks a claim against a report (scenario/claims.py). This module joins the two for everyone who
wants a lesson's verdict: `zpviz run`, `check` and `verify`, and the app.
"""

from __future__ import annotations

from zpviz.engine.report import build_report, run_report
from zpviz.scenario.claims import check_step_claims, claims_for


class Claims:
    """The report builder's judge: a step's claims for the variant, checked against its entry and state."""

    def wants_state(self, step, kernel_id: str) -> bool:
        return bool(claims_for(step, kernel_id))

    def __call__(self, step, kernel_id: str, entry: dict, state: dict | None) -> dict:
        failed = check_step_claims(step, kernel_id, entry, state) if self.wants_state(step, kernel_id) else []
        return {"ok": not failed, "failed": [f.to_json() for f in failed]}


CLAIMS = Claims()


def lesson_report(scenario, kernel: str | None = None, every_step: bool = False) -> dict:
    """Play `scenario` under `kernel` (its own when None) and judge every claim: the run report."""
    return run_report(scenario, kernel, every_step, judge=CLAIMS)


def trace_report(trace, every_step: bool = False) -> dict:
    """The run report of an already simulated trace, its claims judged."""
    return build_report(trace, every_step, judge=CLAIMS)
