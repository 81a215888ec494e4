"""The recording format and the replay lesson, from recordings made up here (no root, no kernel)."""

from __future__ import annotations

import gzip
import json
import os

import pytest

from zpviz.cli import main
from zpviz.record import recording
from zpviz.record.lesson import _ranges, build_lesson
from zpviz.record.pages import rle, unrle
from zpviz.scenario import loads

P = 4096
BASE = 0x7F0000000000
STACK = 0x7FFF00000000


def mapping(start: int, codes: str, path: str = "", perms: str = "rw-p") -> dict:
    return {"start": start, "end": start + len(codes) * P, "perms": perms, "offset": 0, "inode": 0, "path": path,
            "kind": "anon", "pages_total": len(codes), "pages": rle(codes), "mlocked": rle("0" * len(codes)),
            "huge": rle("0" * len(codes))}


def made_up(faults: list[tuple[int, int, int, str]], calls: list[dict], final: str, children=()) -> dict:
    """A recording of pid 100: its stack at exec, then `calls` and `faults` ((t, page, error, mode))."""
    cols = {k: [] for k in recording.FAULT_FIELDS if k != "mode"}
    mode = ""
    for t, page, err, m in faults:
        for k, v in zip(("time_ns", "pid", "tid", "cpu", "address", "ip", "error_code"),
                        (t, 100, 100, 0, BASE + page * P, 0x1000, err)):
            cols[k].append(v)
        mode += m
    cols["mode"] = mode
    stack = mapping(STACK, "nnna", "[stack]")
    root = {"pid": 100, "parent": None, "comm": "prog", "exec_ns": 10, "exit_ns": 10_000, "exit_status": 0,
            "faults_at_exec": None, "faults_at_exit": None, "maps_at_exec": [stack], "maps_at_fork": None,
            "final_at": "exit", "final_ns": 10_000, "mappings": [stack, mapping(BASE, final)]}
    return {"format": recording.FORMAT, "version": recording.VERSION, "kernel": "6.18", "command": ["prog"],
            "root_pid": 100, "source": "tracepoints", "thp": "disabled", "fault_count": len(faults),
            "faults": cols, "calls": calls, "processes": [root, *children], "notes": [], "lost_events": 0}


def mmap_call(t: int, pages: int, flags: int = 0x22, prot: int = 3) -> dict:
    return {"t0": t - 1, "t1": t, "pid": 100, "tid": 100, "name": "mmap",
            "args": [0, pages * P, prot, flags, 0xFFFFFFFF, 0], "result": BASE, "errno": None,
            "text": f"mmap(0x0, {pages * P}, ...)"}


def test_selectors_are_compact_and_exact():
    assert _ranges([0, 1, 2, 3]) == ["0-3"]
    assert _ranges([0, 16, 32, 48, 50]) == ["0-48/16", 50]
    assert _ranges([5]) == [5]
    assert _ranges([1, 3]) == [1, 3]
    assert unrle(rle("aazzzn")) == "aazzzn" and rle("aazzzn") == [["a", 2], ["z", 3], ["n", 1]]


def test_a_replay_of_reads_and_a_cow_passes_its_own_check(tmp_path):
    rec = made_up([(20, 0, 4, "u"), (21, 1, 4, "u"), (22, 2, 4, "u"), (30, 0, 7, "u"), (31, 5, 6, "u")],
                  [mmap_call(15, 8)], "azznnann")
    text, info = build_lesson(rec)
    sc = loads(text)
    assert sc.kernel == "modern" and set(sc.compare) == {"2.6.23", "2.6.24", "v5", "2.6.32"}
    vma = next(v for v in sc.vmas if v.name == "mmap1-32K")  # numbered in mapping order, with its size
    assert vma.pages == 8 and not vma.thp
    assert info["faults_replayed"] == 5 and not info["thinned"]
    path = tmp_path / "replay.toml"
    path.write_text(text)
    assert main(["check", str(path)]) == 0
    # the claims are the recording's: a wrong final state must fail the check
    wrong = made_up([(20, 0, 4, "u")], [mmap_call(15, 8)], "annnnnnn")
    path.write_text(build_lesson(wrong)[0])
    assert main(["check", str(path)]) == 1


def test_mlock_and_populate_are_replayed_and_file_mappings_only_named():
    calls = [mmap_call(15, 4, flags=0x22 | 0x8000),  # MAP_POPULATE
             {"t0": 40, "t1": 41, "pid": 100, "tid": 100, "name": "mlock", "args": [BASE, 2 * P], "result": 0,
              "errno": None, "text": "mlock"}]
    rec = made_up([(20, 9999, 4, "u")], calls, "aaaa")
    rec["processes"][0]["mappings"].append(mapping(BASE + 9999 * P, "f", "/usr/lib/libc.so.6", "r--p") | {
        "kind": "file", "inode": 7})
    text, _ = build_lesson(rec)
    assert 'do      = "gup"' in text and "write = true" in text and 'do      = "mlock"' in text
    assert "libc.so.6" in text  # named in the notes, not replayed
    loads(text)


def test_a_replay_too_big_for_the_budget_is_thinned_and_says_so(monkeypatch):
    from zpviz.record import lesson

    monkeypatch.setattr(lesson, "BUDGET_S", 0.1)  # a small budget keeps the test quick; the logic is the same
    n = 20_000  # 20,000 single-page writes: 0.6 s of engine time over five kernels
    faults = [(20 + i, i, 6, "u") for i in range(n)]
    rec = made_up(faults, [mmap_call(15, n)], "a" * n)
    text, info = build_lesson(rec)
    assert info["thinned"] and 0 < info["faults_replayed"] < n
    assert "THINNED" in text
    sc = loads(text)
    assert sc.work_s <= 0.1 + 1e-9  # the loader's own estimate agrees with the cut


def test_reading_a_recording_checks_what_it_is(tmp_path):
    good = made_up([(20, 0, 4, "u")], [mmap_call(15, 1)], "z")
    path = tmp_path / "r.json.gz"
    recording.write(str(path), good)
    assert recording.is_recording(str(path)) and recording.read(str(path))["fault_count"] == 1
    bad = tmp_path / "bad.json"
    for text, why in [("not json", "not JSON"), ('{"format": "other"}', "not a zpviz recording"),
                      (json.dumps(good | {"version": 99}), "version 99"),
                      (json.dumps(good | {"faults": {"time_ns": []}}), "lacks")]:
        bad.write_text(text)
        with pytest.raises(recording.RecordingError, match=why) as e:
            recording.read(str(bad))
        assert str(bad) in str(e.value)
    assert recording.is_recording(str(bad))  # it says it is one (and read() says what is wrong with it)
    bad.write_text('{"format": "other"}')
    assert not recording.is_recording(str(bad))
    with gzip.open(tmp_path / "x.gz", "wb") as g:
        g.write(b"[]")
    assert not recording.is_recording(str(tmp_path / "x.gz"))


@pytest.mark.parametrize("args, words", [
    ([], "nothing to record"),
    (["--pid", "1", "--", "true"], "not both"),
    (["--pid", "1"], "will not attach to init"),
    (["--pid", str(os.getpid())], "zpviz itself or the shell"),
    (["--max-events", "0", "--", "true"], "at least 1"),
    (["-o", "/nonexistent/dir/x.json", "--", "true"], "folder does not exist"),
    (["--snapshot-ms", "-5", "--", "true"], "--snapshot-ms must be"),
    (["--snapshot-faults", "0", "--", "true"], "--snapshot-faults must be at least 1"),
])
def test_record_usage_errors(capsys, args, words):
    assert main(["record", *args]) == 2
    assert words in capsys.readouterr().err


def test_a_recording_opens_as_its_replay(tmp_path, capsys):
    rec = made_up([(20, 0, 4, "u"), (30, 0, 7, "u")], [mmap_call(15, 4)], "annn")
    path = tmp_path / "run.json.gz"
    recording.write(str(path), rec)
    assert main(["check", str(path)]) == 0
    assert "is a recording; opening its replay" in capsys.readouterr().err
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(rec | {"version": 7}))
    assert main(["run", str(broken)]) == 2
    assert "recording version 7" in capsys.readouterr().err


def test_what_is_missing_is_said_exactly(monkeypatch, tmp_path):
    import errno

    from zpviz.record import perf

    monkeypatch.setattr(perf, "TRACEFS", (str(tmp_path / "no-tracefs"),))
    with pytest.raises(perf.PerfUnavailable, match="mount -t tracefs nodev /sys/kernel/tracing"):
        perf.open_tracepoints(os.getpid())

    def refused(*_a, **_k):
        raise OSError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(perf.S, "perf_event_open", refused)
    monkeypatch.setattr(perf, "paranoid", lambda: 3)
    with pytest.raises(perf.PerfUnavailable) as e:
        perf.open_software(os.getpid())
    assert "perf_event_paranoid = 3" in str(e.value) and "sysctl kernel.perf_event_paranoid=2" in str(e.value)
    assert "CAP_PERFMON" in str(e.value)


def test_a_big_vma_is_declared_as_far_as_used_before_anything_is_thinned(tmp_path):
    """fork and exit walk every page of a vma: 200,000 pages would take the replay over budget."""
    n = 200_000
    fork = {"t0": 40, "t1": 41, "pid": 100, "tid": 100, "name": "fork", "args": [101], "result": 101,
            "errno": None, "text": "fork -> 101"}
    final = "a" * 10 + "n" * (n - 10)
    child = {"pid": 101, "parent": 100, "comm": "prog", "exec_ns": None, "exit_ns": 60, "exit_status": 0,
             "maps_at_exec": None, "maps_at_fork": None, "final_at": "exit", "final_ns": 60,
             "mappings": [mapping(STACK, "nnns", "[stack]"), mapping(BASE, "s" * 10 + "n" * (n - 10))]}
    rec = made_up([(20 + i, i, 6, "u") for i in range(10)], [mmap_call(15, n), fork], final, [child])
    text, info = build_lesson(rec)
    assert not info["thinned"] and "THINNED" not in text
    assert f"mmap1-{n * 4 // 1024}M (10 of its {n:,} pages)" in text
    assert 'do      = "fork"' in text and 'do      = "exit"' in text
    path = tmp_path / "replay.toml"
    path.write_text(text)
    assert main(["check", str(path)]) == 0
