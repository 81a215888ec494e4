"""`zpviz record` on real Python programs (root; see conftest.py): counts, page states, the replay."""

from __future__ import annotations

import io
import os
import time

import pytest

from zpviz.record.pages import unrle
from zpviz.scenario import loads

P = 4096

COMMON = """
import ctypes, json, mmap, os, time
from zpviz.record import sysapi as S
P = 4096
PRIV = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS
libc = ctypes.CDLL(None, use_errno=True)
libc.mlock.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
def addr(m):
    return ctypes.addressof(ctypes.c_char.from_buffer(m))
def done(**info):
    with open(OUT, "w") as f:
        json.dump(info, f)
    os._exit(0)  # no interpreter teardown: every mapping is still there at the exit stop
"""


def faults_of(rec: dict, pid: int, after: int | None = None, until: int | None = None) -> int:
    f = rec["faults"]
    return sum(1 for t, p in zip(f["time_ns"], f["pid"])
               if p == pid and (after is None or t > after) and (until is None or t <= until))


def states(rec: dict, pid: int, start: int, n: int, what: str = "pages") -> str:
    """The final codes of n pages from `start` in process pid's recorded mappings."""
    proc = next(p for p in rec["processes"] if p["pid"] == pid)
    for m in proc["mappings"]:
        if m["start"] <= start < m["end"]:
            codes = unrle(m[what])
            i = (start - m["start"]) // P
            assert i + n <= len(codes), "the region spans two kernel vmas"
            return codes[i:i + n]
    raise AssertionError(f"no mapping holds {start:#x}")


def test_faults_equal_the_programs_own_counter_user_and_kernel(run_recorded):
    """The program counts its own page faults (PERF_COUNT_SW_PAGE_FAULTS on itself, kernel-mode
    faults included) over a window; the recording must hold exactly as many in that window."""
    rec, info = run_recorded(COMMON + """
a = S.PerfEventAttr()
a.type, a.config, a.flags = S.PERF_TYPE_SOFTWARE, S.PERF_COUNT_SW_PAGE_FAULTS, S.ATTR_DISABLED
fd = S.perf_event_open(a, 0, -1)
t0 = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
S.ioctl(fd, S.PERF_EVENT_IOC_ENABLE)
m = mmap.mmap(-1, 256 * P, flags=PRIV)
for i in range(0, 256, 2):
    m[i * P]
for i in range(0, 256, 3):
    m[i * P] = 1
b = mmap.mmap(-1, 32 * P, flags=PRIV)
with open("/dev/zero", "rb", buffering=0) as f:
    f.readinto(memoryview(b))
S.ioctl(fd, S.PERF_EVENT_IOC_DISABLE)
t1 = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
count = int.from_bytes(os.read(fd, 8), "little")
done(count=count, t0=t0, t1=t1, pid=os.getpid())
""")
    assert rec["source"] == "tracepoints" and rec["lost_events"] == 0
    got = faults_of(rec, info["pid"], info["t0"], info["t1"])
    assert got == info["count"], f"recorded {got} faults in the window, the program counted {info['count']}"
    assert info["count"] >= 128 + 86 + 32
    f = rec["faults"]
    kernel = sum(1 for t, p, m in zip(f["time_ns"], f["pid"], f["mode"])
                 if p == info["pid"] and info["t0"] < t <= info["t1"] and m == "k")
    assert kernel >= 32, "read(2) into 32 fresh pages faults in the kernel, and those count too"


def test_minflt_and_final_states_and_the_replay(run_recorded, tmp_path):
    rec, info = run_recorded(COMMON + """
m = mmap.mmap(-1, 64 * P, flags=PRIV)
for i in range(0, 64, 2):
    m[i * P]                  # read faults: the zero page
for i in range(8):
    m[i * P] = 1              # writes: 0-7 anonymous (even ones COW from the zero page)
buf = mmap.mmap(-1, 16 * P, flags=PRIV)
with open("/dev/zero", "rb", buffering=0) as f:
    f.readinto(memoryview(buf))   # read(2) into a fresh buffer: kernel-mode write faults
done(m=addr(m), buf=addr(buf), pid=os.getpid())
""")
    pid = info["pid"]
    proc = next(p for p in rec["processes"] if p["pid"] == pid)
    assert proc["final_at"] == "exit" and rec["stopped"]["reason"] == "exit"
    at_exec, at_exit = proc["faults_at_exec"], proc["faults_at_exit"]
    kernel_count = at_exit["minflt"] + at_exit["majflt"] - at_exec["minflt"] - at_exec["majflt"]
    assert faults_of(rec, pid, after=proc["exec_ns"]) == kernel_count
    assert states(rec, pid, info["m"], 64) == "a" * 8 + "zn" * 28
    assert states(rec, pid, info["buf"], 16) == "a" * 16
    assert states(rec, pid, info["m"], 64, "mlocked") == "0" * 64
    assert states(rec, pid, info["m"], 64, "huge") == "0" * 64  # THP is off for the program

    from zpviz.cli import main
    from zpviz.record.lesson import write_lesson

    lesson = tmp_path / "replay.toml"
    write_lesson(rec, str(lesson))
    assert main(["check", str(lesson)]) == 0
    text = lesson.read_text()
    assert 'compare = ["2.6.23", "2.6.24", "v5", "2.6.32"]' in text and "lower bound" in text


def test_fork_mlock_populate(run_recorded, tmp_path):
    rec, info = run_recorded(COMMON + """
m = mmap.mmap(-1, 32 * P, flags=PRIV)
for i in range(16):
    m[i * P]                                  # zero pages
locked = mmap.mmap(-1, 16 * P, flags=PRIV)
for i in range(4):
    locked[i * P] = 1
assert libc.mlock(addr(locked), 16 * P) == 0  # mlock faults the rest in, through GUP (no exception)
pop = mmap.mmap(-1, 8 * P, flags=PRIV | mmap.MAP_POPULATE)
child = os.fork()
if child == 0:
    for i in range(4):
        m[i * P] = 2                          # the child's writes: its own copies
    os._exit(0)
os.waitpid(child, 0)
done(m=addr(m), locked=addr(locked), pop=addr(pop), pid=os.getpid(), child=child)
""")
    pid, child = info["pid"], info["child"]
    assert {p["pid"] for p in rec["processes"]} >= {pid, child}
    cproc = next(p for p in rec["processes"] if p["pid"] == child)
    assert cproc["parent"] == pid and cproc["final_at"] == "exit"
    # the child's own faults: everything it took since fork (its counters start at fork)
    assert faults_of(rec, child) == cproc["faults_at_exit"]["minflt"] + cproc["faults_at_exit"]["majflt"]
    assert states(rec, child, info["m"], 32) == "a" * 4 + "z" * 12 + "n" * 16
    assert states(rec, pid, info["m"], 32) == "z" * 16 + "n" * 16
    assert states(rec, pid, info["locked"], 16) == "a" * 16
    assert states(rec, child, info["locked"], 16) == "s" * 16  # still mapped by the parent too: shared
    assert states(rec, child, info["locked"], 16, "mlocked") == "1" * 16  # the page is; the child's vma is not
    assert states(rec, pid, info["locked"], 16, "mlocked") == "1" * 16
    assert states(rec, pid, info["pop"], 8) == "a" * 8
    names = [c["name"] for c in rec["calls"] if c["pid"] == pid]
    assert "mlock" in names and "fork" in names
    mm = [c for c in rec["calls"] if c["name"] == "mmap" and c["result"] == info["pop"]]
    assert mm and "POPULATE" in mm[0]["text"]

    from zpviz.cli import main
    from zpviz.record.lesson import write_lesson

    lesson = tmp_path / "replay.toml"
    write_lesson(rec, str(lesson))
    assert main(["check", str(lesson)]) == 0
    text = lesson.read_text()
    assert 'do      = "fork"' in text and 'do      = "mlock"' in text and 'do      = "gup"' in text


def test_max_events_stops_recording_and_the_program_runs_on(run_recorded, tmp_path):
    marker = tmp_path / "finished"
    rec, info = run_recorded(COMMON + f"""
m = mmap.mmap(-1, 512 * P, flags=PRIV)
for i in range(512):
    m[i * P] = 1
time.sleep(0.3)
open({str(marker)!r}, "w").close()
done(pid=os.getpid())
""", max_events=50)
    assert rec["stopped"]["reason"] == "max-events" and rec["fault_count"] == 50
    pid = rec["root_pid"]
    with open(f"/proc/{pid}/status") as f:
        assert "TracerPid:\t0\n" in f.read()
    deadline = time.monotonic() + 20
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert marker.exists(), "the program did not run on to its end after --max-events"
    os.waitpid(pid, 0)


def test_exec_failure_is_reported(tracefs):
    from zpviz.record.tracer import RecordError, record

    with pytest.raises(RecordError, match="could not start /nonexistent/prog"):
        record(["/nonexistent/prog"], log=io.StringIO())


def test_ctrl_c_ends_the_recording_cleanly(tracefs, tmp_path):
    """Ctrl+C in a terminal signals the whole foreground group: the recorder and the program."""
    import json
    import signal
    import subprocess
    import sys

    from .conftest import PYTHON

    prog = tmp_path / "sleepy.py"
    prog.write_text("import mmap, os, time\nm = mmap.mmap(-1, 16 * 4096, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)\n"
                    "for i in range(16):\n    m[i * 4096] = 1\nprint(os.getpid(), flush=True)\ntime.sleep(30)\n")
    out = tmp_path / "r.json"
    p = subprocess.Popen([sys.executable, "-m", "zpviz", "record", "-o", str(out), "--", PYTHON, "-S", str(prog)],
                         start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        pid = int(p.stdout.readline())
        os.killpg(p.pid, signal.SIGINT)
        _, err = p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
    assert p.returncode == 0, err.decode()
    rec = json.loads(out.read_text())
    assert rec["stopped"]["reason"] == "interrupted"
    assert rec["processes"][0]["pid"] == pid and rec["processes"][0]["mappings"]
    assert not os.path.exists(f"/proc/{pid}"), "the program got the same Ctrl+C and ended"


def test_attach_to_a_running_process_and_let_it_go(tracefs, tmp_path):
    import subprocess

    from zpviz.cli import main
    from zpviz.record.lesson import write_lesson
    from zpviz.record.tracer import record

    from .conftest import PYTHON

    prog = tmp_path / "loop.py"
    prog.write_text("import mmap, sys, time\nm = mmap.mmap(-1, 600 * 4096, flags=mmap.MAP_PRIVATE | "
                    "mmap.MAP_ANONYMOUS)\nprint('ready', flush=True)\nfor i in range(600):\n    m[i * 4096]\n"
                    "    if i % 4 == 0:\n        m[i * 4096] = 1\n    time.sleep(0.001)\n")
    p = subprocess.Popen([PYTHON, "-S", str(prog)], stdout=subprocess.PIPE)
    try:
        assert p.stdout.readline() == b"ready\n"
        rec = record(None, pid=p.pid, max_events=200, log=io.StringIO())
        with open(f"/proc/{p.pid}/status") as f:
            assert "TracerPid:\t0\n" in f.read()
        assert p.wait(timeout=60) == 0, "the process runs on to its end after the recording"
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        p.stdout.close()
    assert rec["attached"] and rec["stopped"]["reason"] == "max-events" and rec["fault_count"] == 200
    proc = rec["processes"][0]
    assert proc["pid"] == p.pid and proc["maps_at_exec"] and proc["final_at"] == "detach"
    lesson = tmp_path / "replay.toml"
    write_lesson(rec, str(lesson))
    assert main(["check", str(lesson)]) == 0


def test_lost_records_are_counted(run_recorded, monkeypatch):
    """A one-page ring cannot hold a tight loop's faults: what the kernel dropped is counted, and
    recorded + lost is every fault the program took."""
    from zpviz.record import perf

    monkeypatch.setattr(perf, "RING_PAGES", 1)
    rec, info = run_recorded(COMMON + """
m = mmap.mmap(-1, 20000 * P, flags=PRIV)
for i in range(20000):
    m[i * P] = 1
done(pid=os.getpid())
""")
    proc = rec["processes"][0]
    assert rec["lost_events"] > 0 and rec["lost_records"] > 0
    taken = (proc["faults_at_exit"]["minflt"] + proc["faults_at_exit"]["majflt"]
             - proc["faults_at_exec"]["minflt"] - proc["faults_at_exec"]["majflt"])
    before_exec = faults_of(rec, proc["pid"], until=proc["exec_ns"])
    assert rec["events_counted"] == taken + before_exec == rec["fault_count"] + rec["lost_events"]


def test_the_ordinary_users_fallback(run_recorded, tmp_path):
    """--software: what a student without root gets, tried as root (no frame flags are read)."""
    rec, info = run_recorded(COMMON + """
a = S.PerfEventAttr()
a.type, a.config = S.PERF_TYPE_SOFTWARE, S.PERF_COUNT_SW_PAGE_FAULTS
a.flags = S.ATTR_DISABLED | S.ATTR_EXCLUDE_KERNEL
fd = S.perf_event_open(a, 0, -1)
t0 = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
S.ioctl(fd, S.PERF_EVENT_IOC_ENABLE)
m = mmap.mmap(-1, 64 * P, flags=PRIV)
for i in range(0, 64, 2):
    m[i * P]
for i in range(8):
    m[i * P] = 1
b = mmap.mmap(-1, 8 * P, flags=PRIV)
with open("/dev/zero", "rb", buffering=0) as f:
    f.readinto(memoryview(b))  # kernel-mode faults: not seen by this event
S.ioctl(fd, S.PERF_EVENT_IOC_DISABLE)
t1 = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
count = int.from_bytes(os.read(fd, 8), "little")
done(count=count, t0=t0, t1=t1, pid=os.getpid(), m=addr(m))
""", mode="software")
    assert rec["source"] == "sw-page-faults" and "kernel-mode faults" in rec["not_observed"]
    assert set(rec["faults"]["mode"]) == {"u"} and set(rec["faults"]["error_code"]) == {None}
    assert faults_of(rec, info["pid"], info["t0"], info["t1"]) == info["count"] >= 32 + 4
    # zero pages told apart by PAGEMAP_SCAN; mlocked cannot be seen without frame flags
    assert states(rec, info["pid"], info["m"], 64) == "a" * 8 + "zn" * 28
    assert set(states(rec, info["pid"], info["m"], 8, "mlocked")) == {"?"}

    from zpviz.record.lesson import build_lesson

    text, _ = build_lesson(rec)
    assert "carries no claims" in text and "[step.expect" not in text
    loads(text)


def test_a_recorded_mlock_of_a_read_only_region_replays_v5s_bad_page_map(run_recorded, tmp_path):
    """The point of recording: 6.18 maps zero pages and mlock succeeds; the same calls under v5
    meet a zero PTE in a VM_LOCKED vma, "BUG: Bad page map", and mlock fails with ENOMEM."""
    rec, info = run_recorded(COMMON + """
from zpviz.kernel import sysapi as K
base, err = K.mmap(None, 64 * P, K.PROT["r"], K.MAP_PRIVATE | K.MAP_ANONYMOUS)
for i in range(32):
    K.load(base + i * P)                    # read faults: zero pages
assert K.mlock(base, 64 * P) == 0           # 6.18: zero pages, no fault, success
done(base=base, pid=os.getpid())
""")
    assert states(rec, info["pid"], info["base"], 64) == "z" * 64  # mlock mapped the rest to the zero page
    assert states(rec, info["pid"], info["base"], 64, "mlocked") == "0" * 64

    from zpviz.engine.report import run_report
    from zpviz.record.lesson import build_lesson

    text, _ = build_lesson(rec)
    path = tmp_path / "replay.toml"
    path.write_text(text)
    from zpviz.cli import main

    assert main(["check", str(path)]) == 0
    sc = loads(text)
    v5 = [s for s in run_report(sc, "v5")["steps"] if s["do"] == "mlock"]
    assert v5 and v5[-1]["errno"] == "ENOMEM" and any("Bad page map" in line for line in v5[-1]["log"])
