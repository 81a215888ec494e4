"""Recording real programs: root, perf_event_open and the page-fault tracepoints.

Tests that record need root (the tracepoints, pagemap's frame numbers, /proc/kpageflags) and
skip elsewhere, saying so. If tracefs is not mounted, the `tracefs` fixture mounts it at
/sys/kernel/tracing for the session (and unmounts it after), and says so on stderr: the
product itself never mounts anything.

Every program recorded is checked afterwards: none may be left stopped or traced, and any
still alive is killed, so a failing test leaves nothing behind.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PYTHON = os.path.realpath(sys.executable)


@pytest.fixture(scope="session")
def tracefs():
    if os.geteuid() != 0:
        pytest.skip("recording with the page-fault tracepoints needs root (perf tracepoints, kpageflags)")
    from zpviz.record.perf import tracefs_root

    mounted = False
    if tracefs_root() is None:
        done = subprocess.run(["mount", "-t", "tracefs", "nodev", "/sys/kernel/tracing"], capture_output=True)
        if done.returncode != 0:
            pytest.skip(f"tracefs is not mounted and mounting it failed: {done.stderr.decode().strip()}")
        print("tests/record: tracefs was not mounted; mounted it at /sys/kernel/tracing for these tests",
              file=sys.stderr)
        mounted = True
    yield
    if mounted:
        subprocess.run(["umount", "/sys/kernel/tracing"], capture_output=True)


def _tracer_of(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("TracerPid:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _state(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            text = f.read()
        return text[text.rindex(")") + 2]
    except OSError:
        return None


@pytest.fixture
def run_recorded(tracefs, tmp_path):
    """run_recorded(source, **record_kw) -> (recording, what the program wrote to its out file)."""
    from zpviz.record.tracer import record

    seen: list[int] = []

    def run(source: str, **kw):
        prog = tmp_path / "prog.py"
        out = tmp_path / "out.json"
        prog.write_text(f"import sys\nsys.path.insert(0, {str(REPO)!r})\nOUT = sys.argv[1]\n"
                        + textwrap.dedent(source))
        rec = record([PYTHON, "-S", str(prog), str(out)], log=io.StringIO(), **kw)
        seen.extend(p["pid"] for p in rec["processes"])
        info = json.loads(out.read_text()) if out.exists() else None
        return rec, info

    yield run
    left = []
    for pid in seen:
        tracer, state = _tracer_of(pid), _state(pid)
        if tracer or state in ("t", "T"):
            left.append((pid, tracer, state))
        if state not in (None, "Z", "X"):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    for pid in seen:
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
    assert not left, f"programs left traced or stopped (pid, tracer, state): {left}"
