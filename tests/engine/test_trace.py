"""The trace: random access equals replay, keyframes are transparent, frames are immutable."""

from __future__ import annotations

import numpy as np
import pytest

from tests.engine.util import lesson
from zpviz.engine import trace as trace_mod
from zpviz.engine.run import run_machine, simulate
from zpviz.scenario import loads

TEXT = lesson("""
[[vma]]
name = "r"
pages = 256
[[step]]
do = "read"
vma = "r"
cpus = [0, 1]
[[step]]
say = "narration"
[[step]]
do = "write"
vma = "r"
pages = "0-255/3"
[[step]]
do = "fork"
child = "kid"
[[step]]
do = "write"
process = "kid"
vma = "r"
pages = "0-40"
[[step]]
do = "exit"
process = "kid"
""", cpus=2)


def fields(f):
    return (f.pte, f.pfn, f.vmf, f.refcount, f.mapcount, f.pflags, f.fkind, f.cpu)


def same(a, b) -> bool:
    return all(np.array_equal(x, y) for x, y in zip(fields(a), fields(b))) and a.scalars == b.scalars


@pytest.mark.parametrize("k", ["2.6.23", "v5", "modern"])
def test_last_frame_is_the_machines_state(k):
    m, tr = run_machine(loads(TEXT, "t.toml"), k)
    f = tr[len(tr) - 1]
    assert np.array_equal(f.pte, np.frombuffer(bytes(m.slots.pte), np.uint8))
    assert np.array_equal(f.pfn, np.frombuffer(m.slots.pfn, np.int64))
    n = m.frames.next_pfn  # frames ever handed out; the machine's arrays have spare capacity beyond
    assert len(f.refcount) == n
    assert np.array_equal(f.refcount, np.asarray(m.frames.refcount)[:n])
    assert np.array_equal(f.fkind, np.frombuffer(bytes(m.frames.kind), np.uint8)[:n])
    assert not np.asarray(m.frames.refcount)[n:].any()


def test_keyframes_of_a_small_trace_are_few():
    """Keyframes are no closer than KEYFRAME_MIN_EVENTS events: a small lesson's trace (and its
    entry in the trace cache) is not mostly copies of its state."""
    tr = simulate(loads(TEXT, "t.toml"), "2.6.23")
    assert tr.n_events > 64
    assert tr._k >= min(tr.n_events, trace_mod.KEYFRAME_MIN_EVENTS)
    assert len(tr._keys) == 1 + -(-tr.n_events // tr._k)


def test_backwards_equals_forwards_and_random_access(monkeypatch):
    monkeypatch.setattr(trace_mod, "KEYFRAME_BUDGET_BYTES", 1 << 30)
    monkeypatch.setattr(trace_mod, "KEYFRAME_MIN_EVENTS", 64)  # a keyframe every 64 events
    sc = loads(TEXT, "t.toml")
    tr = simulate(sc, "2.6.23")
    assert len(tr._keys) > 3
    fwd = [tr.frame(i) for i in range(len(tr))]
    tr2 = simulate(sc, "2.6.23")
    back = [tr2.frame(i) for i in reversed(range(len(tr2)))][::-1]
    rng = np.random.default_rng(1)
    tr3 = simulate(sc, "2.6.23")
    rand = {int(i): tr3.frame(int(i)) for i in rng.permutation(len(tr3))}
    for i in range(len(tr)):
        assert same(fwd[i], back[i]) and same(fwd[i], rand[i])


# A digest of everything a trace says: its event columns, scalars, kernel paths, log, and the final
# frame. Run in separate interpreters, so a dependence on the hash seed (set or dict order of strings)
# or on state left behind by an earlier run in the same process would show as two digests.
DIGEST = """
import hashlib, sys
from zpviz.engine.run import simulate
from zpviz.scenario import load
h = hashlib.sha256()
last_scalars = lambda tr: tr.frame(len(tr) - 1).scalars
for path, kernel in [(sys.argv[1], "v5"), (sys.argv[2], "2.6.23"), (sys.argv[2], "modern")]:
    tr = simulate(load(path), kernel)
    for col in sorted(tr.events):
        h.update(col.encode()); h.update(tr.events[col].tobytes())
    h.update(repr(sorted(last_scalars(tr).items())).encode())
    h.update(repr(tr.paths).encode()); h.update(repr(tr.kernel_log).encode())
    last = tr.frame(len(tr) - 1)
    h.update(last.pte.tobytes()); h.update(last.pfn.tobytes()); h.update(last.cpu.tobytes())
print(h.hexdigest())
"""


def test_equal_runs_give_equal_traces_in_any_process(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    (tmp_path / "t.toml").write_text(TEXT)
    tour = Path(__file__).resolve().parents[2] / "scenarios" / "05-cacheline-bounce.toml"
    root = Path(__file__).resolve().parents[2]
    digests = []
    for seed in ("0", "1", "12345"):
        env = dict(os.environ, PYTHONHASHSEED=seed, PYTHONPATH=str(root))
        r = subprocess.run([sys.executable, "-c", DIGEST, str(tmp_path / "t.toml"), str(tour)], env=env,
                           capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, r.stderr
        digests.append(r.stdout.strip())
    assert len(set(digests)) == 1 and len(digests[0]) == 64, digests


def test_frames_are_read_only_and_steps_map_to_frames():
    tr = simulate(loads(TEXT, "t.toml"), "modern")
    f = tr[5]
    with pytest.raises(ValueError):
        f.pte[0] = 1
    assert tr.step_of_frame(0) == -1
    for k, r in enumerate(tr.step_results):
        assert tr.step_of_frame(tr.step_end_frame(k)) == k
        assert r.end_event > r.first_event  # every step has at least one frame, narration too
    assert tr.events["kind"][tr.step_results[1].first_event] == 0  # NARRATE
    # frame 0: nothing touched; after step 0 every page is the zero page
    assert (tr[0].page_states()[:256] == 1).all() and (tr[0].page_states()[256:] == 0).all()
    states = tr[tr.step_end_frame(0)].page_states()
    assert (states[:256] == 2).all()


def test_child_exists_only_between_fork_and_exit():
    tr = simulate(loads(TEXT, "t.toml"), "modern")
    kid = tr.layout.proc("kid").index
    assert not tr.alive(kid, tr.step_end_frame(2))
    assert tr.alive(kid, tr.step_end_frame(4))
    assert not tr.alive(kid, tr.step_end_frame(5))


def test_progress_is_reported_and_can_cancel():
    from zpviz.engine import Cancelled

    sc = loads(lesson('[[vma]]\nname = "r"\npages = 20000\n[[step]]\ndo = "read"\nvma = "r"\n'), "t.toml")
    seen = []
    simulate(sc, "modern", progress=seen.append)
    assert seen and seen == sorted(seen) and seen[-1] <= 20000
    with pytest.raises(Cancelled):
        simulate(sc, "modern", progress=lambda n: n < 8192)


BIG_TEXT = lesson("""
[[vma]]
name = "r"
pages = 700
[[step]]
do = "read"
vma = "r"
cpus = [0, 1, 2]
[[step]]
do = "write"
vma = "r"
pages = "0-699/2"
cpus = [1, 2]
[[step]]
do = "fork"
child = "kid"
[[step]]
do = "write"
process = "kid"
vma = "r"
pages = "100-400"
[[step]]
do = "madvise"
advice = "dontneed"
vma = "r"
[[step]]
do = "read"
vma = "r"
cpus = [0, 2]
""", cpus=3)


def test_sealing_and_checkpoints_change_nothing(monkeypatch):
    """Sealed after every step, in slices of 5 events, with checkpoints every 4 events: the same
    trace as in one piece, and the same as the raw records of an unsealed run."""
    from zpviz.engine import record
    from zpviz.engine import run as run_mod
    from zpviz.engine.machine import Machine

    sc = loads(BIG_TEXT, "t.toml")
    whole = simulate(sc, "modern")
    raw = Machine(sc, "modern")
    list(raw.run_steps())
    monkeypatch.setattr(record, "CHECK_SHIFT", 2)
    monkeypatch.setattr(record, "BATCH", 5)
    monkeypatch.setattr(run_mod, "SEAL_EVENTS", 1)
    pieces = simulate(sc, "modern")
    n = whole.n_events
    assert pieces.n_events == n == raw.rec.n_events > 2000
    evi = np.frombuffer(raw.rec.evi, np.int32).reshape(n, -1)
    evt = np.frombuffer(raw.rec.evt, np.int64).reshape(n, 2)
    sca = np.frombuffer(raw.rec.scalars, np.int32).reshape(n, -1)
    for tr in (whole, pieces):
        for j, col in enumerate(raw.rec.INT_COLUMNS):
            assert tr.events[col].dtype == np.int32 and np.array_equal(tr.events[col], evi[:, j])
        assert tr.events["t0"].dtype == tr.events["t1"].dtype == np.int64
        assert np.array_equal(tr.events["t0"], evt[:, 0]) and np.array_equal(tr.events["t1"], evt[:, 1])
        assert np.array_equal(tr.scalars[:, 0], np.maximum.accumulate(evt[:, 1]))
        for j in range(1, sca.shape[1] + 1):
            assert tr.scalars[:, j].dtype == np.int32 and np.array_equal(tr.scalars[:, j], sca[:, j - 1])
        for i in (0, 1, 3, 4, 5, n // 2, n - 1):
            assert tr.scalars[i].tolist() == [int(np.maximum.accumulate(evt[:, 1])[i])] + sca[i].tolist()
        assert tr.step_results == whole.step_results
    # the counters of the last frame: every increment the machine recorded
    _, keys, vals = raw.rec.cd_pairs(0, n)  # (those of events a period skip appended by pattern too)
    cpu = np.bincount(keys, weights=vals, minlength=3 * 64).reshape(3, 64)[:, : whole[n].cpu.shape[1]]
    assert np.array_equal(pieces[n].cpu, cpu.astype(np.int64))
    for i in range(0, len(whole), 37):
        assert same(whole.frame(i), pieces.frame(i))
    assert same(whole.frame(n), pieces.frame(n))


def test_copied_events_keep_their_counter_patterns(monkeypatch):
    """A period skip tells the seal the pattern ids of the events it copies (so it need not hash
    them again): every event's counter increments in the trace must still be its own."""
    from tests.engine.test_bulk import long_lesson
    from zpviz.engine import record
    from zpviz.engine.machine import Machine

    told = []
    real = record.Recorder.known_patterns
    monkeypatch.setattr(record.Recorder, "known_patterns", lambda self, first, pids: (told.append(len(pids)),
                                                                                     real(self, first, pids)))
    sc = loads(long_lesson(24576, 4, ['do = "read"', 'do = "write"\npages = "0-999"']), "t.toml")
    tr = simulate(sc, "modern")
    assert sum(told) > 12000  # most of the read step was copied, or hashed before a copy
    raw = Machine(sc, "modern")
    raw.period_skip = False  # every event's own pairs, none appended by pattern (the same records: test_bulk)
    raw.sweep_enabled = False  # (the sweep appends its faults' by pattern too)
    list(raw.run_steps())
    counts, keys, vals = raw.rec.cd_pairs(0, raw.rec.n_events)
    assert not raw.rec.by_pattern
    d = tr._d
    pattern = {p: (d.pat_key[d.pat_of == p].tolist(), d.pat_val[d.pat_of == p].tolist()) for p in range(d.n_patterns)}
    at = 0
    for e, n in enumerate(counts.tolist()):
        assert pattern[int(d.cd_pid[e])] == (keys[at:at + n].tolist(), vals[at:at + n].tolist()), e
        at += n


def test_keyframes_applied_unsorted_are_the_sorted_ones(monkeypatch):
    """A keyframe interval whose records write each slot and frame once is applied as it stands
    (trace._once_each); every keyframe, and the arrays named changed, must be what the sorted
    last-write-wins path makes. BIG_TEXT's intervals of 64 events include both kinds (a fork and
    a madvise write slots again; a read of distinct pages does not)."""
    monkeypatch.setattr(trace_mod, "KEYFRAME_BUDGET_BYTES", 1 << 30)
    monkeypatch.setattr(trace_mod, "KEYFRAME_MIN_EVENTS", 64)
    sc = loads(BIG_TEXT, "t.toml")
    seen = []
    once = trace_mod._once_each
    monkeypatch.setattr(trace_mod, "_once_each", lambda idx, size: seen.append(once(idx, size)) or seen[-1])
    fast = simulate(sc, "2.6.23")
    assert True in seen and False in seen
    monkeypatch.setattr(trace_mod, "_once_each", lambda idx, size: False)
    slow = simulate(sc, "2.6.23")
    assert len(fast._keys) == len(slow._keys) > 10
    for a, b in zip(fast._keys, slow._keys):
        assert a.keys() == b.keys()
        for name in a:
            assert a[name].dtype == b[name].dtype and np.array_equal(a[name], b[name]), name
        # (an array no event changed is the previous keyframe's, in both)
    for j in range(1, len(fast._keys)):
        shared = {k for k in fast._keys[j] if fast._keys[j][k] is fast._keys[j - 1][k]}
        assert shared == {k for k in slow._keys[j] if slow._keys[j][k] is slow._keys[j - 1][k]}


def test_a_cold_frame_applied_unsorted_is_the_sorted_one(monkeypatch):
    """A frame made from its keyframe (no nearer frame) needs no written indices, so its records
    may apply unsorted (trace._once_each); every such frame must be the one the sorted
    last-write-wins path makes, including frames whose events write a slot twice (a fork, a
    madvise) and frames where they do not."""
    monkeypatch.setattr(trace_mod, "KEYFRAME_BUDGET_BYTES", 1 << 30)
    monkeypatch.setattr(trace_mod, "KEYFRAME_MIN_EVENTS", 64)
    sc = loads(BIG_TEXT, "t.toml")
    fast, slow = simulate(sc, "2.6.23"), simulate(sc, "2.6.23")
    once = trace_mod._once_each
    seen = []
    frames = range(1, len(fast), 7)
    monkeypatch.setattr(trace_mod, "_once_each", lambda idx, size: seen.append(once(idx, size)) or seen[-1])
    made = []
    for i in frames:
        fast._cache.clear()
        made.append(fast.frame(i))
    assert True in seen and False in seen
    monkeypatch.setattr(trace_mod, "_once_each", lambda idx, size: False)
    for i, a in zip(frames, made):
        slow._cache.clear()
        b = slow.frame(i)
        for name in ("pte", "pfn", "vmf", "refcount", "mapcount", "pflags", "fkind", "cpu"):
            x, y = getattr(a, name), getattr(b, name)
            assert x.dtype == y.dtype and np.array_equal(x, y), (i, name)
        assert a.scalars == b.scalars


@pytest.mark.parametrize("n", [1, 5, 63, 64, 65, 200, 1000])
def test_a_seals_unchanged_scalars_are_found_by_their_rows(n):
    """record._nonzero_columns, which lets the seal skip the scalars no event changed, against a
    plain per-column test: values anywhere in the rows (the folded part and the rest), negative too."""
    from zpviz.engine import record
    rng = np.random.default_rng(n)
    for trial in range(30):
        rows = np.zeros((n, 11), np.int32 if trial % 2 else np.int64)
        for _ in range(trial % 4):
            rows[rng.integers(n), rng.integers(11)] = rng.choice([-3, 1, 1 << 20])
        assert record._nonzero_columns(rows) == (rows != 0).any(axis=0).tolist()
    col = record._Col()
    col.extend_zeros(3)
    col.extend(np.array([0, 300, -2], np.int32))
    col.extend_zeros(2)
    assert col.numpy().tolist() == [0, 0, 0, 0, 300, -2, 0, 0]
