"""Each variant's one-line outcome of a step ("1,024 read faults → zero page, 0 new pages"), from its trace.

The words are scenario/lecture.py's, the same the run report gives as `steps[i].outcome`; this reads
the trace's step results and scalars through its API.
"""

from __future__ import annotations

from zpviz.engine.report import step_entry
from zpviz.present.series import scalar
from zpviz.scenario.lecture import outcome_text

_SCALARS = ("frames_used", "bad_page_maps")


def outcome_of_step(trace, k: int, columns: dict | None = None) -> str:
    """What the trace's variant did in step k (k < 0: the set-up). `columns`: the scalars per frame
    (series.scalar), when many steps are worded at once."""
    if k < 0 or k >= len(trace.step_results):
        return ""
    r = trace.step_results[k]
    sc = trace.scenario
    step = sc.steps[k]
    cols = columns or {n: scalar(trace, n) for n in _SCALARS}
    before = {n: int(c[r.first_event]) for n, c in cols.items()}
    after = {n: int(c[r.end_event]) for n, c in cols.items()}
    vma = next((v for v in sc.vmas if v.name == step.vma), None)
    shared = vma is not None and (vma.share == "shared" or vma.backing == "file")
    return outcome_text(step_entry(sc, r), r.outcomes, before, after, shared=shared)


def outcomes_for(trace) -> tuple[str, ...]:
    """Every step's outcome line, computed once per lesson."""
    cols = {n: scalar(trace, n) for n in _SCALARS}
    return tuple(outcome_of_step(trace, k, cols) for k in range(len(trace.step_results)))


def outcome_at(trace, frame: int, lines: tuple[str, ...] | None = None) -> str:
    """The outcome line to show at `frame`: the step's, once the step is done; before that, nothing
    past the playhead ("step 2 under way")."""
    k = trace.step_of_frame(frame)
    if k < 0:
        return ""
    r = trace.step_results[k]
    if frame < r.end_event:
        return f"step {k + 1} under way \u00b7 event {frame - r.first_event:,} of {r.end_event - r.first_event:,}"
    return (lines[k] if lines is not None else outcome_of_step(trace, k))
