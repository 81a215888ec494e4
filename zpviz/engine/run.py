"""simulate(): play a Scenario on one kernel variant and return its Trace."""

from __future__ import annotations

from array import array

import numpy as np

from zpviz.engine.costs import Costs
from zpviz.engine.heap import collector_paused, keep_freed_memory
from zpviz.engine.machine import Machine
from zpviz.engine.record import SEAL_EVENTS
from zpviz.engine.trace import Trace


def _np(a, dtype=None) -> np.ndarray:
    if isinstance(a, (bytearray, bytes)):
        return np.frombuffer(bytes(a), dtype=np.uint8).copy()
    if isinstance(a, array):
        dt = dtype or {"q": np.int64, "l": np.int64 if a.itemsize == 8 else np.int32, "H": np.uint16,
                       "B": np.uint8}[a.typecode]
        return np.frombuffer(a, dtype=dt).copy() if len(a) else np.zeros(0, dt)
    return np.asarray(a)


def _pad(a: np.ndarray, n: int, fill) -> np.ndarray:
    if len(a) >= n:
        return a
    return np.concatenate([a, np.full(n - len(a), fill, a.dtype)])


def simulate(scenario, kernel: str | None = None, costs: Costs | None = None, progress=None) -> Trace:
    """progress(events_so_far) is called every 4,096 events; returning False raises core.Cancelled."""
    return run_machine(scenario, kernel, costs, progress, keep_machine=False)[1]


def run_machine(scenario, kernel: str | None = None, costs: Costs | None = None,
                progress=None, keep_machine: bool = True) -> tuple[Machine, Trace]:
    """Play the lesson; return the machine in its final state and the trace of how it got there.

    After each step but the last that leaves SEAL_EVENTS or more unsealed events the recorder is
    sealed (its append arrays moved into compact columns), so the raw records of a big lesson
    never pile up; never inside a step, where the engine reads back what it appended (period.py).
    Without keep_machine the cache model's per-line state is dropped before the last seal and the
    keyframes: nobody will run the machine again, and a big lesson's lines would raise the peak.
    The recorder is finished either way: the machine can be inspected, not run on."""
    keep_freed_memory()  # (once per process: what a run frees, the next step or run reuses; heap.py)
    with collector_paused():  # (its passes find nothing to free in a run: heap.py)
        return _run(scenario, kernel, costs, progress, keep_machine)


def _run(scenario, kernel, costs, progress, keep_machine: bool) -> tuple[Machine, Trace]:
    m = Machine(scenario, kernel, costs)
    m.progress = progress
    rec = m.rec
    init_slots = (_np(m.slots.pte), _np(m.slots.pfn), _np(m.slots.vmf))
    fr = m.frames
    init_frames = (_np(fr.refcount), _np(fr.mapcount), _np(fr.flags), _np(fr.kind))
    results = []
    last = len(scenario.steps) - 1
    if not keep_machine:  # (its lines' state is dropped after the last step, below: Sweep._write)
        m.lines_dropped_after = last
    for res in m.run_steps():
        results.append(res)
        if res.index != last and rec.n_events - rec.sealed >= SEAL_EVENTS:
            rec.seal()
    setup_end = m.setup_end
    if not keep_machine:
        m.cache.owner, m.cache.sharers, m.cache.busy = {}, {}, {}
        m.frames.free = []
    events, scalars, deltas = rec.finish()
    n_slots, n_frames = len(m.slots), m.frames.next_pfn  # the frames ever handed out, not the capacity
    int32 = np.int32  # keyframes in 32 bits: pfns and counts fit, and seeking copies half as much
    init = {
        "pte": _pad(init_slots[0], n_slots, 0), "pfn": _pad(init_slots[1].astype(int32), n_slots, -1),
        "vmf": _pad(init_slots[2], n_slots, 0),
        "refcount": _pad(init_frames[0].astype(int32), n_frames, 0),
        "mapcount": _pad(init_frames[1].astype(int32), n_frames, 0),
        "pflags": _pad(init_frames[2], n_frames, 0), "fkind": _pad(init_frames[3], n_frames, 0),
    }
    layout = m.layout()
    return m, Trace(scenario=scenario, kernel=m.k, layout=layout, events=events, paths=rec.paths,
                 logs=rec.logs, step_results=results, setup_end=setup_end, scalars=scalars,
                 init=init, deltas=deltas, ncpus=m.ncpus, kernel_log=m.kernel_log, notes=m.notes,
                 lines=rec.line_records(), watched=m.scenario.watch)
