"""The record layout (engine/columns.py) and the trace's reading API: named columns, and a seal
that refuses a malformed recording instead of skipping it."""

from __future__ import annotations

import numpy as np
import pytest

from tests.engine.util import lesson
from zpviz.engine import columns as K
from zpviz.engine.events import FAULT_READ, Kind
from zpviz.engine.machine import Machine
from zpviz.engine.record import Recorder
from zpviz.engine.run import simulate
from zpviz.scenario import loads

TEXT = lesson("""
[[vma]]
name = "r"
pages = 40
[[step]]
do = "read"
vma = "r"
[[step]]
do = "write"
vma = "r"
pages = "0-9"
""", cpus=2)


def _one_event(rec: Recorder, sd: int = 1) -> None:
    """Append one event in the layout by hand, with `sd` slot records under a count of 1."""
    rec.evi.extend([0] * K.N_INT)
    rec.evt.extend([0, 5])
    rec.scalars.extend([0] * K.N_STORED)
    for a in rec.sd:
        a.extend([1] * sd)
    rec.sd_n.append(1)
    rec.fd_n.append(0)
    rec.cd_n.append(0)
    rec.n_events += 1


def _event_with_pairs(rec: Recorder, pairs: list[tuple[int, int]]) -> None:
    _one_event(rec)
    rec.cd_n[-1] = len(pairs)
    for key, value in pairs:
        rec.cd[K.Cd.KEY].append(key)
        rec.cd[K.Cd.VALUE].append(value)


def test_events_appended_by_pattern_read_back_and_seal_as_their_pairs():
    """A writer may append an event's counter increments as the id of a pattern already
    registered (Recorder.append_by_pattern): cd_pairs gives every event's pairs back in order,
    those events' from their pattern between the others', and the seal keeps the same patterns."""
    rec = Recorder()
    a, b = [(3, 1), (7, 2)], [(5, 9)]
    _event_with_pairs(rec, a)
    _event_with_pairs(rec, [])
    _event_with_pairs(rec, b)
    pa, pb = rec.pattern_ids(0, 3)[[0, 2]].tolist()
    for pid in (pb, pa):  # two events by pattern, their other records by hand
        _one_event(rec)
        rec.cd_n.pop()
        rec.append_by_pattern(np.array([pid]))
    _event_with_pairs(rec, a)
    want = [a, [], b, b, a, a]
    counts, keys, vals = rec.cd_pairs(0, rec.n_events)
    assert counts.tolist() == [len(x) for x in want]
    assert list(zip(keys.tolist(), vals.tolist())) == [kv for x in want for kv in x]
    counts, keys, vals = rec.cd_pairs(3, 5)  # a range of by-pattern events only
    assert counts.tolist() == [1, 2] and keys.tolist() == [5, 3, 7] and vals.tolist() == [9, 1, 2]
    with pytest.raises(ValueError, match="not registered"):
        rec.append_by_pattern(np.array([99]))
    rec.seal()
    _, _, deltas = rec.finish()
    got = [list(zip(deltas.pat_key[deltas.pat_of == p].tolist(), deltas.pat_val[deltas.pat_of == p].tolist()))
           for p in deltas.cd_pid.tolist()]
    assert got == want


def test_seal_takes_whole_events():
    rec = Recorder()
    _one_event(rec)
    rec.seal()
    assert rec.sealed == 1 and len(rec.evi) == 0


@pytest.mark.parametrize("damage", ["extra slot record", "short event row", "missing time"])
def test_seal_raises_on_a_malformed_recording(damage):
    rec = Recorder()
    _one_event(rec, sd=2 if damage == "extra slot record" else 1)
    if damage == "short event row":
        rec.evi.pop()
    if damage == "missing time":
        rec.evt.pop()
    with pytest.raises(RuntimeError, match="whole events"):
        rec.seal()


def test_events_by_name_match_the_machine_rows():
    sc = loads(TEXT, "t.toml")
    tr = simulate(sc, "modern")
    raw = Machine(sc, "modern")
    list(raw.run_steps())
    rows = np.frombuffer(raw.rec.evi, np.int32).reshape(-1, K.N_INT)
    times = np.frombuffer(raw.rec.evt, np.int64).reshape(-1, K.N_TIME)
    view = tr.events_between(0, tr.n_events)
    for col in K.Col:
        assert np.array_equal(view.column(col.name.lower()), rows[:, col])
    assert np.array_equal(view.t1, times[:, K.TimeCol.T1])
    # the first step's read faults: one per page, each on a slot of the vma, mapping the zero pfn
    r = tr.step_results[0]
    first = tr.events_between(r.first_event, r.end_event)
    assert len(first) == 40 and set(first.kind.tolist()) == {Kind.READ_ZERO}
    assert set(first.fault.tolist()) == {FAULT_READ} and sorted(first.slot.tolist()) == list(range(40))
    rec = first.records()
    assert rec.dtype == K.EVENT_RECORD and rec["slot"].tolist() == first.slot.tolist()
    assert np.array_equal(tr.event_column("cpu", r.first_event, r.end_event), first.cpu)
    with pytest.raises(ValueError):
        first.slot[0] = 3  # views are read-only
    with pytest.raises(KeyError, match="columns are"):
        tr.event_column("slots")
    with pytest.raises(IndexError):
        tr.events_between(0, tr.n_events + 1)


def test_scalar_series_is_per_frame():
    tr = simulate(loads(TEXT, "t.toml"), "2.6.24")  # no zero page: every read allocates
    used = tr.scalar_series("frames_used")
    assert len(used) == len(tr) and used[0] == 0
    for f in (1, 17, len(tr) - 1):
        assert used[f] == tr.frame(f).scalars["frames_used"]
    assert np.array_equal(tr.scalar_series("time_ns")[1:], np.maximum.accumulate(tr.events["t1"]))
    with pytest.raises(KeyError):
        tr.scalar_series("frames")


def test_counter_keys_name_a_cpu_and_a_counter():
    key = K.counter_key(3, 7)
    assert (K.key_cpu(key), K.key_counter(key)) == (3, 7)
    keys = K.counter_key(np.arange(4), 2)
    assert K.key_cpu(keys).tolist() == [0, 1, 2, 3] and set(K.key_counter(keys).tolist()) == {2}


def test_emit_writes_each_value_under_its_name():
    """Core.emit builds its rows by hand, for speed, in Col and Stored order: an event with a
    distinct value in every field must come back with each value under its own name."""
    from zpviz.engine import constants as C
    from zpviz.engine.memory import ZERO_PFN

    m = Machine(loads(TEXT, "t.toml"), "modern")
    list(m.run_steps())
    slot = m.procs[0].vmas["r"].base + 3
    m.step_index = 5
    m.zp_ref, m.zp_map, m.hzp_ref, m.rss_pages, m.bad_pages = 11, 12, 13, 14, 15
    ev = m.begin(1, proc=0, slot=slot)
    ev.kind, ev.fault, ev.flags = Kind.COW_COPY, FAULT_READ, 6
    ev.call("f")
    m.emit()
    e = m.rec.n_events - 1
    row = m.rec.recent_events(e, e + 1)[0]
    want = {K.Col.STEP: 5, K.Col.CPU: 1, K.Col.KIND: Kind.COW_COPY, K.Col.PATH: m.rec.path_id(("f",), ""),
            K.Col.PROC: 0, K.Col.SLOT: slot, K.Col.PFN: m.slots.pfn[slot], K.Col.FAULT: FAULT_READ, K.Col.FLAGS: 6}
    assert {c: int(row[c]) for c in K.Col} == {c: int(v) for c, v in want.items()}
    assert m.slots.pfn[slot] > ZERO_PFN + 100  # (a page the write step made: a pfn unlike the other values)
    stored = np.frombuffer(m.rec.scalars, np.int32).reshape(-1, K.N_STORED)[-1]
    cm, fr = m.cache, m.frames
    assert {s.name: int(stored[s]) for s in K.Stored} == dict(
        ZP_REFCOUNT=11, ZP_MAPCOUNT=12, ZP_LINE_WRITES=cm.zero_writes, ZP_LINE_TRANSFERS=cm.zero_transfers,
        HZP_REFCOUNT=13, HZP_LINE_WRITES=cm.hzero_writes, HZP_LINE_TRANSFERS=cm.hzero_transfers,
        FRAMES_USED=fr.used, PT_FRAMES=fr.pt, RSS_PAGES=14, BAD_PAGE_MAPS=15)
    assert m.scalar_values()[K.Scalar.TIME_NS] == m.now
    # and the counter pairs: each key names the CPU whose counter it is
    keys = np.frombuffer(m.rec.cd[K.Cd.KEY], np.int32)
    assert set(K.key_cpu(keys).tolist()) <= {0, 1} and (K.key_counter(keys) < C.N_CPU_COUNTERS).all()
