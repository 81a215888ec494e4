"""Page states while the program runs (recording version 2): every N ms or every K faults, each
process is stopped whole (PTRACE_INTERRUPT of each thread), its pages read, and the mappings that
changed kept. Exact: a snapshot holds precisely the faults stamped before it."""

from __future__ import annotations

import json

from zpviz.record import recording
from zpviz.record.pages import unrle
from zpviz.record.tracer import Proc, changed_mappings

from .test_record_live import COMMON

P = 4096


def _m(start, pages, perms="rw-p"):
    return {"start": start, "end": start + len(pages) * P, "perms": perms, "pages": [[c, 1] for c in pages],
            "mlocked": None, "huge": None}


def test_only_the_mappings_that_changed_are_kept():
    p = Proc(1, None)
    base = changed_mappings(p, [_m(0x1000, "nn"), _m(0x9000, "aa")])
    assert [m["start"] for m in base["mappings"]] == [0x1000, 0x9000] and base["gone"] == []
    same = changed_mappings(p, [_m(0x1000, "nn"), _m(0x9000, "aa")])
    assert same == {"mappings": [], "gone": []}
    touched = changed_mappings(p, [_m(0x1000, "zn"), _m(0x9000, "aa"), _m(0x20000, "n")])
    assert [m["start"] for m in touched["mappings"]] == [0x1000, 0x20000]
    unmapped = changed_mappings(p, [_m(0x1000, "zn"), _m(0x9000, "aa", perms="r--p")])
    assert [m["start"] for m in unmapped["mappings"]] == [0x9000]  # mprotect changes it too
    assert unmapped["gone"] == [[0x20000, 0x21000]]


def test_a_version_1_recording_still_opens(tmp_path):
    old = {"format": recording.FORMAT, "version": 1, "faults": {k: [] for k in recording.FAULT_FIELDS},
           "calls": [], "processes": [{"pid": 5, "mappings": []}]}
    old["faults"]["mode"] = ""
    path = tmp_path / "old.json"
    path.write_text(json.dumps(old))
    rec = recording.read(str(path))
    assert rec["processes"][0]["snapshots"] == [] and rec["snapshot_every"] == {"ms": None, "faults": None}


def _anon_in(maps: list[dict], lo: int, hi: int) -> int | None:
    """Pages of [lo, hi) that are anonymous in these mappings, or None if no mapping covers lo."""
    for m in maps:
        if m["start"] <= lo < m["end"] and m["pages"] is not None:
            codes = unrle(m["pages"])
            i, j = (lo - m["start"]) // P, min(hi, m["end"]) - m["start"]
            return codes[i:j // P].count("a")
    return None


def _replay_snapshots(rec: dict, pid: int, lo: int, hi: int):
    """(at_ns, why, anonymous pages of [lo, hi)) at each snapshot, tracking the last state seen."""
    proc = next(p for p in rec["processes"] if p["pid"] == pid)
    state: dict[tuple[int, int], dict] = {}
    out = []
    for snap in proc["snapshots"]:
        for lo_hi in snap["gone"]:
            state.pop(tuple(lo_hi), None)
        for m in snap["mappings"]:
            state[(m["start"], m["end"])] = m
        out.append((snap["at_ns"], snap["why"], _anon_in(list(state.values()), lo, hi)))
    return out


def _writes_before(rec: dict, pid: int, lo: int, hi: int, t: int) -> int:
    f = rec["faults"]
    return len({a // P for a, p, tt in zip(f["address"], f["pid"], f["time_ns"]) if p == pid and lo <= a < hi
                and tt < t})


BUSY = COMMON + """
N = 600
m = mmap.mmap(-1, N * P, flags=PRIV)
lo = addr(m)
for i in range(N):          # no system call in this loop: only PTRACE_INTERRUPT can stop it
    m[i * P] = 1
    t = time.perf_counter() + 0.0015   # the vDSO: no system call either
    while time.perf_counter() < t:
        pass
done(pid=os.getpid(), lo=lo, n=N)
"""


def test_snapshots_at_intervals_hold_exactly_the_faults_before_them(run_recorded):
    rec, info = run_recorded(BUSY, snapshot_ms=40)
    assert rec["version"] == 2 and rec["snapshot_every"]["ms"] == 40
    lo, hi = info["lo"], info["lo"] + info["n"] * P
    snaps = [s for s in _replay_snapshots(rec, info["pid"], lo, hi) if s[2] is not None]
    # a run of about a second, every 40 ms: some 5-20 of the region here; but each round is followed
    # by a quiet time four times as long as it took, which on a busy machine can leave only a few
    assert len(snaps) >= 2, f"a run of about a second every 40 ms: {len(snaps)} snapshots of the region"
    counts = [n for _, _, n in snaps]
    assert counts == sorted(counts) and 0 < counts[len(counts) // 2] < info["n"], counts
    for at, why, n in snaps:
        assert why == "interval"
        assert n == _writes_before(rec, info["pid"], lo, hi, at), f"snapshot at {at}: {n} pages"
    final = next(p for p in rec["processes"] if p["pid"] == info["pid"])["mappings"]
    assert _anon_in(final, lo, hi) == info["n"]


def test_snapshots_every_k_faults(run_recorded):
    # The whole busy loop (~0.9 s), not a shortened one: the first snapshots fall in the
    # interpreter's own start-up faults, and each round is followed by a quiet time four times as
    # long as it took (a fifth of the run at most); on a busy machine a round is slow, and a 0.12 s
    # loop (0.2 ms a page) once passed whole inside that quiet time, with no snapshot of the region.
    rec, info = run_recorded(BUSY, snapshot_faults=100)
    lo, hi = info["lo"], info["lo"] + info["n"] * P
    snaps = [s for s in _replay_snapshots(rec, info["pid"], lo, hi) if s[2] is not None]
    assert snaps and all(why == "faults" for _, why, _ in snaps)
    every = next(p for p in rec["processes"] if p["pid"] == info["pid"])["snapshots"]
    # one per 100 faults at most, and fewer when reading them would hold the program over a fifth of its run
    assert 1 <= len(every) <= rec["fault_count"] // 100  # how many depends on how long reads take here
    for at, _, n in snaps:
        assert n == _writes_before(rec, info["pid"], lo, hi, at)


def test_snapshots_of_a_threaded_program_are_exact_too(run_recorded):
    """Threads are stopped together (a thread started while its process is held is held too)."""
    rec, info = run_recorded(COMMON + """
import threading
N, T = 300, 3
m = mmap.mmap(-1, N * T * P, flags=PRIV)
lo = addr(m)
def work(k):
    for i in range(k * N, (k + 1) * N):
        m[i * P] = 1
        t = time.perf_counter() + 0.001
        while time.perf_counter() < t:
            pass
threads = [threading.Thread(target=work, args=(k,)) for k in range(T)]
for t in threads:
    t.start()
for t in threads:
    t.join()
done(pid=os.getpid(), lo=lo, n=N * T)
""", snapshot_ms=30)
    lo, hi = info["lo"], info["lo"] + info["n"] * P
    snaps = [s for s in _replay_snapshots(rec, info["pid"], lo, hi) if s[2] is not None]
    assert len(snaps) >= 3
    for at, _, n in snaps:
        assert n == _writes_before(rec, info["pid"], lo, hi, at)


MIXED = COMMON + """
N = 400
m = mmap.mmap(-1, N * P, flags=PRIV)
locked = mmap.mmap(-1, 64 * P, flags=PRIV)
lo = addr(m)
for i in range(N):
    if i % 3:
        m[i * P]                 # zero pages
    else:
        m[i * P] = 1
    if i == 200:
        assert libc.mlock(addr(locked), 64 * P) == 0   # 64 pages without a fault
    t = time.perf_counter() + 0.001
    while time.perf_counter() < t:
        pass
if os.fork() == 0:
    m[0] = 2
    os._exit(0)
os.wait()
done(pid=os.getpid(), lo=lo, n=N)
"""


def test_the_replay_claims_the_page_states_read_while_running(run_recorded, tmp_path):
    """Each snapshot becomes a move_pages step with claims for modern, and `zpviz check` agrees."""
    from zpviz.cli import main
    from zpviz.record.lesson import write_lesson

    rec, info = run_recorded(MIXED, snapshot_ms=40)
    assert sum(len(p["snapshots"]) for p in rec["processes"]) >= 4
    lesson = tmp_path / "replay.toml"
    write_lesson(rec, str(lesson))
    text = lesson.read_text()
    mid = text.count("ms into the run")
    assert 3 <= mid <= 12 * len(rec["processes"]) * 20, mid
    assert main(["check", str(lesson)]) == 0
