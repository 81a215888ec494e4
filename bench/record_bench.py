"""Opening a recording of a program that reads 1 GiB sparsely: recording -> replay lesson -> five runs.

    python bench/record_bench.py            a table
    python bench/record_bench.py --live     also record a real numpy program first (root and tracefs needed)

Without --live the recording is made up (the shape `zpviz record` writes: a 1 GiB anonymous mmap,
one read every 16 pages, a write every 1,024): no root needed, and the figures are the replay's
own. Not a test: nothing here asserts time.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from zpviz.engine.run import simulate  # noqa: E402
from zpviz.record import recording  # noqa: E402
from zpviz.record.lesson import build_lesson  # noqa: E402
from zpviz.record.pages import rle  # noqa: E402
from zpviz.scenario import VARIANTS, loads  # noqa: E402

P = 4096
BASE = 0x7F0000000000
GIB_PAGES = (1 << 30) // P


def made_up_gib() -> dict:
    reads = list(range(0, GIB_PAGES, 16))
    writes = list(range(0, GIB_PAGES, 1024))
    t = 100
    cols = {k: [] for k in ("time_ns", "pid", "tid", "cpu", "address", "ip", "error_code")}
    mode = []
    for page, err in [(p, 4) for p in reads] + [(p, 7) for p in writes]:
        t += 50
        for k, v in zip(cols, (t, 1, 1, 0, BASE + page * P, 0x400000, err)):
            cols[k].append(v)
        mode.append("u")
    cols["mode"] = "".join(mode)
    final = ["n"] * GIB_PAGES
    for p in reads:
        final[p] = "z"
    for p in writes:
        final[p] = "a"
    mapping = {"start": BASE, "end": BASE + GIB_PAGES * P, "perms": "rw-p", "offset": 0, "inode": 0, "path": "",
               "kind": "anon", "pages_total": GIB_PAGES, "pages": rle("".join(final)),
               "mlocked": rle("0" * GIB_PAGES), "huge": rle("0" * GIB_PAGES)}
    proc = {"pid": 1, "parent": None, "comm": "sparse", "exec_ns": 10, "exit_ns": t + 1, "exit_status": 0,
            "maps_at_exec": [], "maps_at_fork": None, "final_at": "exit", "final_ns": t + 1, "mappings": [mapping]}
    call = {"t0": 20, "t1": 21, "pid": 1, "tid": 1, "name": "mmap", "args": [0, GIB_PAGES * P, 3, 0x22, 0xFFFFFFFF, 0],
            "result": BASE, "errno": None, "text": "mmap(0x0, 1073741824, READ|WRITE, PRIVATE|ANONYMOUS, -1, 0x0)"}
    return {"format": recording.FORMAT, "version": recording.VERSION, "kernel": "made up", "command": ["sparse"],
            "root_pid": 1, "source": "tracepoints", "thp": "disabled", "fault_count": len(mode), "faults": cols,
            "calls": [call], "processes": [proc], "notes": [], "lost_events": 0}


LIVE = """
import os, numpy as np
t = np.zeros((1 << 30) // 8)
t[::512 * 16].sum()
t[::512 * 1024] = 1.0
os._exit(0)
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--live", action="store_true")
    a = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "gib.json.gz")
        if a.live:
            prog = os.path.join(tmp, "gib.py")
            Path(prog).write_text(LIVE)
            t0 = time.perf_counter()
            cmd = [sys.executable, "-m", "zpviz", "record", "-o", path, "--", sys.executable, prog]
            subprocess.run(cmd, check=True)
            rows.append(("record (live)", time.perf_counter() - t0))
        else:
            recording.write(path, made_up_gib())
        t0 = time.perf_counter()
        rec = recording.read(path)
        rows.append(("read the recording", time.perf_counter() - t0))
        t0 = time.perf_counter()
        text, info = build_lesson(rec)
        rows.append((f"build the replay ({info['steps']} steps, {info['faults_replayed']:,} faults)",
                     time.perf_counter() - t0))
        t0 = time.perf_counter()
        sc = loads(text, "gib.toml")
        rows.append(("load it", time.perf_counter() - t0))
        for k in VARIANTS:
            t0 = time.perf_counter()
            simulate(sc, k)
            rows.append((f"play it under {k}", time.perf_counter() - t0))
    total = sum(s for _, s in rows)
    for what, s in rows:
        print(f"{what:<60} {s:7.2f} s")
    print(f"{'total (what opening it in the app with compare costs)':<60} {total:7.2f} s")


if __name__ == "__main__":
    main()
