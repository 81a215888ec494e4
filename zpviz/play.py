"""Play a lesson under a kernel variant and judge its claims: the run report of docs/report.md.

The engine builds the report (engine/report.py) and knows nothing of claims; the lesson package
checks a claim against a report (scenario/claims.py). This module joins the two for everyone who
wants a lesson's verdict: `zpviz run`, `check` and `verify`, and the app.
"""

from __future__ import annotations

from zpviz.engine.report import build_report, run_report
from zpviz.scenario.claims import check_step_claims, claims_for, peer_numbers, peer_requests
from zpviz.scenario.model import variant_id


class Claims:
    """The report builder's judge: a step's claims for the variant, checked against its entry and state.

    `peers` holds what comparisons need from other variants, {variant: {step index: {field: value}}}
    (see peers_for)."""

    def __init__(self, peers: dict | None = None):
        self.peers = peers or {}

    def wants_state(self, step, kernel_id: str) -> bool:
        return bool(claims_for(step, kernel_id))

    def __call__(self, step, kernel_id: str, entry: dict, state: dict | None) -> dict:
        if not self.wants_state(step, kernel_id):
            return {"ok": True, "failed": []}
        mine = {v: got[step.index] for v, got in self.peers.items() if step.index in got}
        failed = check_step_claims(step, kernel_id, entry, state, peers=mine)
        return {"ok": not failed, "failed": [f.to_json() for f in failed]}


CLAIMS = Claims()


def peers_for(scenario, kernel_id: str, known: dict | None = None) -> dict:
    """The other variants' numbers this variant's comparison claims need: from `known` reports of
    this scenario (variant -> report) where there is one, else one plain run of each."""
    known = known if known is not None else {}
    return {v: peer_numbers(known[v] if v in known else run_report(scenario, v), wanted)
            for v, wanted in peer_requests(scenario, kernel_id).items()}


def _judge(scenario, kernel_id: str, known: dict | None = None) -> Claims:
    peers = peers_for(scenario, kernel_id, known)
    return Claims(peers) if peers else CLAIMS


def lesson_report(scenario, kernel: str | None = None, every_step: bool = False, known: dict | None = None) -> dict:
    """Play `scenario` under `kernel` (its own when None) and judge every claim: the run report.
    `known`: reports of the same scenario already made (variant -> report), which a comparison claim
    reads instead of playing that variant again; this report is added to it."""
    kid = variant_id(kernel or scenario.kernel)
    report = run_report(scenario, kid, every_step, judge=_judge(scenario, kid, known))
    if known is not None:
        known[kid] = report
    return report


def check_order(scenario, variants: list[str]) -> list[str]:
    """The variants in an order that plays each comparison's other variant before the one that
    needs it, where the comparisons allow, so no variant is played twice."""
    needed = {v for k in variants for v in peer_requests(scenario, k)}
    return [v for v in variants if v in needed] + [v for v in variants if v not in needed]


def trace_report(trace, every_step: bool = False) -> dict:
    """The run report of an already simulated trace, its claims judged."""
    return build_report(trace, every_step, judge=_judge(trace.scenario, trace.kernel.id))
