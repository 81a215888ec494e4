"""The run report (docs/report.md), built from a Trace or a live Machine.

The engine knows nothing of claims: a caller that wants them judged hands in a `judge` (zpviz.play
does, for the command line and the app), which says which steps it needs the state of and gives
each step's `expect` verdict. Without one the report has no `expect` entries and no `expect_ok`.
Every step entry carries `delta`, the change of each run total over the step.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from zpviz.engine import constants as C
from zpviz.engine.heap import collector_paused, keep_freed_memory
from zpviz.engine.kernels.base import ZeroTest
from zpviz.engine.record import SCALARS
from zpviz.engine.trace import Frame, Trace

_STATE_NAMES = np.array(C.STATE_NAMES, dtype=object)


def vma_state(kernel, frame: Frame, v) -> dict:
    sl = slice(v.base, v.base + v.npages)
    states = frame.states[sl]
    k = kernel
    mlocked = frame.page_mlocked(k.pg_mlocked)[sl]
    huge = frame.page_huge()[sl]
    pte = frame.pte[sl]
    vmf = frame.vmf[sl]
    pfn = frame.pfn[sl]
    present = ((pte & C.PTE_P) != 0) & ((vmf & C.VM_MAPPED) != 0)
    p = np.where(present, pfn, 0)
    kind = frame.fkind[p]
    zero = present & ((kind == C.FK_ZERO) | (kind == C.FK_HZERO))
    small_zero = present & (kind == C.FK_ZERO)
    normal = present & ~zero
    counted = normal | (small_zero if k.zero_test is ZeroTest.PAGE else np.zeros_like(normal))
    anon = present & (kind == C.FK_ANON)
    locked = (vmf & C.VM_LOCKED) != 0
    mapc = frame.mapcount[p].astype(np.int64)
    head = p - p % C.HPAGE_PAGES
    thp = (frame.pflags[p] & (C.PG_HEAD | C.PG_TAIL)) != 0
    mapc = np.where(thp, -(-frame.mapcount[head].astype(np.int64) // C.HPAGE_PAGES), mapc)
    mapc = np.maximum(mapc, 1)
    pss_fixed = int(((C.PAGE_SIZE << 12) // mapc)[counted & locked].sum())
    mapped = (vmf & C.VM_MAPPED) != 0
    return {
        "pages": _STATE_NAMES[states].tolist(),
        "mlocked": mlocked.tolist(),
        "huge": huge.tolist(),
        "vm_locked": bool((locked & mapped).any()),
        "rss_kb": int(counted.sum()) * C.PAGE_KB,
        "anon_kb": int(anon.sum()) * C.PAGE_KB,
        "locked_kb": (pss_fixed >> 12) >> 10,
    }


def state_dict(view, i: int) -> dict:
    """The "final"-shaped state after i events. view: a Trace, or a live Machine at event i."""
    frame = view.frame(i) if isinstance(view, Trace) else view.snapshot()
    procs = {}
    for p in view.layout.procs if isinstance(view, Trace) else view.layout().procs:
        if p.created_event >= 0 and i - 1 < p.created_event:
            continue
        if not view.alive(p.index, i):
            procs[p.name] = {"exited": True, "vmas": {}}
            continue
        procs[p.name] = {"exited": False, "vmas": {v.name: vma_state(view.k if not isinstance(view, Trace)
                                                                     else view.kernel, frame, v) for v in p.vmas}}
    s = frame.scalars
    cpus = []
    for c in range(view.ncpus):
        row = frame.cpu[c]
        d = {name: int(row[j]) for j, name in enumerate(C.CPU_COUNTERS)}
        d["by_line"] = {name: int(row[C.C_BY_LINE + j]) for j, name in enumerate(C.LINE_KIND_NAMES)}
        cpus.append({"cpu": c, **d})
    return {"processes": procs, **run_totals(s), "time_ns": s["time_ns"], "cpus": cpus}


def run_totals(s: dict) -> dict:
    """The run totals of a state, from a frame's scalars: what a step's `delta` is the change of."""
    return {
        "zero_page": {"refcount_delta": s["zp_refcount"], "mapcount_delta": s["zp_mapcount"],
                      "line_writes": s["zp_line_writes"], "line_transfers": s["zp_line_transfers"]},
        "huge_zero_page": {"refcount_delta": s["hzp_refcount"], "line_writes": s["hzp_line_writes"],
                           "line_transfers": s["hzp_line_transfers"]},
        "frames_used": s["frames_used"],
        "pt_frames": s["pt_frames"],
        "bad_page_maps": s["bad_page_maps"],
    }


def _minus(after: dict, before: dict) -> dict:
    return {k: _minus(v, before[k]) if isinstance(v, dict) else int(v) - int(before[k]) for k, v in after.items()}


def step_entry(sc, r) -> dict:
    procs = list(r.processes)
    entry = {
        "index": r.index, "do": r.do,
        "process": procs[0] if len(procs) == 1 else (procs or (sc.process_names()[0] if sc.steps else None)),
        "vma": r.vma, "faults": r.faults, "fault_kinds": dict(r.fault_kinds), "errno": r.errno,
        "status": list(r.status) if r.status is not None else None,
        "signal": {"name": "SIGSEGV", "pages": list(r.signal_pages)} if r.signal_pages else None,
        "makespan_ns": r.makespan_ns, "log": list(r.log), "log_lines": len(r.log),
        "events": r.end_event - r.first_event,
    }
    if r.dump is not None:
        entry["dump"] = {"written": r.dump[0], "holes": r.dump[1]}
    return entry


def _lecture(sc, kid: str, step, r, entry: dict, state, before: dict, after: dict) -> None:
    """The lecture's fields of a step entry (docs/lecture.md): the caption shown for this variant, the
    generated one-line outcome, and the predict question with its answer from this run."""
    from zpviz.scenario import lecture

    entry["caption"] = step.say_for(kid)
    vma = next((v for v in sc.vmas if v.name == step.vma), None)
    shared = vma is not None and (vma.share == "shared" or vma.backing == "file")
    entry["outcome"] = lecture.outcome_text(entry, r.outcomes, before, after, shared=shared)
    if step.question is not None:
        entry["question"] = lecture.question_json(step, entry, state, r.first_outcome, sc.variants())


class Judge(Protocol):
    """What the report builder asks of whoever judges a lesson's claims (zpviz.play.Claims)."""

    def wants_state(self, step, kernel_id: str) -> bool:
        """Whether judging this step under this variant needs the state after it."""

    def __call__(self, step, kernel_id: str, entry: dict, state: dict | None) -> dict:
        """The step's `expect` entry: {"ok": bool, "failed": [...]}."""


def _report(sc, kernel, results, state_at, final_state, every_step: bool, notes, kernel_log, n_events,
            judge: Judge | None, scalars_at) -> dict:
    """Assemble the report; `results` yields step results, state_at(r) gives the state after r and
    scalars_at(r) the run's scalars after r (cheap: every step's `delta` and outcome line need them)."""
    from zpviz.scenario.lecture import needs_state

    kid = kernel.id
    steps = []
    all_ok = True
    before = dict.fromkeys(SCALARS, 0)  # the run starts from nothing (mmap included)
    for r in results:  # to the end: the run adds its closing notes when it is exhausted
        step = sc.steps[r.index]
        entry = step_entry(sc, r)
        after = scalars_at(r)
        entry["delta"] = _minus(run_totals(after), run_totals(before))
        wanted = (judge is not None and judge.wants_state(step, kid)) or needs_state(step.question)
        state = state_at(r) if (every_step or wanted) else None
        if judge is not None:
            entry["expect"] = judge(step, kid, entry, state)
            all_ok &= entry["expect"]["ok"]
        _lecture(sc, kid, step, r, entry, state, before, after)
        before = after
        if every_step:
            entry["state"] = state
        steps.append(entry)
    report = {
        "scenario": sc.title, "file": sc.path, "kernel": kid, "kernel_release": kernel.release, "seed": sc.seed,
        "steps": steps, "final": final_state(), "kernel_log": list(kernel_log), "notes": list(notes),
        "events": n_events(),
    }
    if judge is not None:
        report["expect_ok"] = all_ok
    return report


def _scalars_after(trace: Trace, i: int) -> dict:
    """The run's scalars at frame i, without rebuilding the frame (a lesson may have 10,000 steps)."""
    return dict(zip(SCALARS, trace.scalars.row(i - 1))) if i else dict.fromkeys(SCALARS, 0)


def build_report(trace: Trace, every_step: bool = False, judge: Judge | None = None) -> dict:
    """The report of a recorded run (the app and the exporter hold traces)."""
    return _report(trace.scenario, trace.kernel, trace.step_results,
                   lambda r: state_dict(trace, trace.step_end_frame(r.index)),
                   lambda: state_dict(trace, len(trace) - 1), every_step, trace.notes, trace.kernel_log,
                   lambda: trace.n_events, judge, lambda r: _scalars_after(trace, trace.step_end_frame(r.index)))


def run_report(scenario, kernel: str | None = None, every_step: bool = False, judge: Judge | None = None) -> dict:
    """The report without a trace: states are read off the live machine between steps."""
    from zpviz.engine.machine import Machine  # (here: the window reads step entries and states, never runs)

    keep_freed_memory()  # (as run.run_machine: heap.py)
    with collector_paused():
        m = Machine(scenario, kernel, record_deltas=False)
        return _report(scenario, m.k, m.run_steps(), lambda r: state_dict(m, m.rec.n_events),
                       lambda: state_dict(m, m.rec.n_events), every_step, m.notes, m.kernel_log,
                       lambda: m.rec.n_events, judge, lambda r: dict(zip(SCALARS, m.scalar_values())))
