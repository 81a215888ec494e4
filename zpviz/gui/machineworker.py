"""The app's "Run on this machine", in a process of its own: `python -c BOOT ROOT PATH PARENT_PID`.

Why a process and not a thread: run_on_kernel cannot be interrupted from another thread, and the
app's Cancel must really stop it. The app sends SIGTERM, which here raises SystemExit, so the
runner's own `finally` shuts its supervisor and lesson processes down (and if this process is
killed outright, the supervisor dies with it: PR_SET_PDEATHSIG). This process in turn gets SIGTERM
if the app dies. No Qt is imported here.

Protocol: the lesson's TOML text on stdin (PATH only names it in messages: the app checked that
it is the lesson on screen). JSON lines on stdout: {"progress": done, "of": n} after each step
the kernel has carried out and observed, then exactly one of {"report": ...}, {"error": text}
or {"problems": [text, ...]}.
"""

from __future__ import annotations

import json
import os
import signal
import sys

BOOT = "import sys; sys.path.insert(0, sys.argv[1]); from zpviz.gui.machineworker import main; sys.exit(main())"


def _send(out, msg: dict) -> None:
    out.write(json.dumps(msg) + "\n")
    out.flush()


def _count_steps(out, n_steps: int) -> None:
    """Report each step as the runner observes it.

    run_on_kernel takes no progress callback (asked for in the report of this change); with
    every_step=True it asks its supervisor to "observe" once after each step and once at the end,
    so counting those requests is exact. Only this throwaway process is patched; should the
    runner stop using the name, the app still shows its phase, only not the step count.
    """
    from zpviz.kernel import runner

    base = getattr(runner, "SupervisorClient", None)
    if base is None:
        return
    seen = [0]

    class Counting(base):
        def request(self, msg: dict) -> dict:
            reply = super().request(msg)
            if msg.get("cmd") == "observe" and seen[0] < n_steps:
                seen[0] += 1
                _send(out, {"progress": seen[0], "of": n_steps})
            return reply

    runner.SupervisorClient = Counting


def _stop(signum, frame) -> None:
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    path, parent = argv[1], int(argv[2])
    signal.signal(signal.SIGTERM, _stop)
    out = os.fdopen(os.dup(1), "w")  # the protocol owns stdout; anything printed by accident goes to stderr
    sys.stdout = sys.stderr
    from zpviz.kernel import sysapi

    try:
        sysapi.prctl(sysapi.PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass
    if os.getppid() != parent:  # the app died before the line above took effect
        return 1
    from zpviz.errors import LessonError
    from zpviz.kernel.client import KernelRunError
    from zpviz.kernel.runner import run_on_kernel
    from zpviz.scenario import loads

    try:
        scenario = loads(sys.stdin.read(), path)
        _count_steps(out, len(scenario.steps))
        report = run_on_kernel(scenario, every_step=True)
    except KernelRunError as e:
        _send(out, {"error": str(e)})
        return 0
    except LessonError as e:
        _send(out, {"problems": [str(p) for p in e.problems] or [str(e)]})
        return 0
    _send(out, {"report": report})
    return 0
