"""Running the open lesson on this machine's kernel: off the GUI thread, cancellable, with progress.

One thread per run does, in order:
  1. skip_reason(scenario): a lesson this kernel cannot carry out is refused, with the reason;
  2. runner(scenario, progress, cancel) -> the real run report. The default, run_in_worker, runs
     zpviz.gui.machineworker in a child process (see there for why); tests pass a fake;
  3. the `modern` model's report, from a simulation of its own (the lesson's traces are being read
     by the GUI thread, and a Trace's frame cache is not thread-safe); Cancel stops it part-way;
  4. present.machine.machine_run: page codes and differences per step.
The result comes back through a queued signal; Cancel or a newer run makes an older one stale.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

from PySide6 import QtCore

from zpviz.engine import Cancelled, simulate
from zpviz.errors import LessonError
from zpviz.kernel.client import KernelRunError
from zpviz.play import trace_report
from zpviz.present.machine import MODEL, machine_run
from zpviz.scenario import loads

TERM_GRACE_S = 10.0  # after SIGTERM the worker shuts its lesson processes down; then SIGKILL
_ROOT = str(Path(__file__).resolve().parents[2])


class MachineCancelled(Exception):
    """Cancel was pressed; the run stopped."""


class MachineRunError(Exception):
    """The lesson could not be run here; the message says why (for the banner, no traceback)."""


class Skipped(MachineRunError):
    """probe.skip_reason: this kernel cannot carry out the lesson as written."""


class CancelToken:
    """Set from the GUI thread, seen by the run's thread; callbacks run once, on cancel()."""

    def __init__(self):
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._callbacks: list = []

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def cancel(self) -> None:
        with self._lock:
            self._event.set()
            callbacks, self._callbacks = self._callbacks, []
        for fn in callbacks:
            fn()

    def on_cancel(self, fn) -> None:
        with self._lock:
            if not self._event.is_set():
                self._callbacks.append(fn)
                return
        fn()

    def wait(self, timeout: float) -> bool:
        return self._event.wait(timeout)

    def check(self) -> None:
        if self.cancelled:
            raise MachineCancelled()


def default_skip_reason(scenario) -> str | None:
    from zpviz.kernel.probe import skip_reason

    return skip_reason(scenario)


def lesson_text(scenario) -> str:
    """The lesson file's text, provided it still is the lesson on screen (the worker loads it anew)."""
    path = scenario.path
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise MachineRunError(f"{path}: cannot read the lesson file: {getattr(e, 'strerror', None) or e}") from None
    try:
        same = loads(text, path) == scenario
    except LessonError:
        same = False
    if not same:
        raise MachineRunError(f"{path} has changed since it was loaded: reload it (Ctrl+R), then run it again")
    return text


def run_in_worker(scenario, progress, cancel: CancelToken) -> dict:
    """The real run report, from machineworker in a child process; Cancel terminates that process."""
    from zpviz.gui.machineworker import BOOT

    text = lesson_text(scenario)
    # -E -s -B: no environment-driven imports, no user site, no bytecode written anywhere
    proc = subprocess.Popen([sys.executable, "-E", "-s", "-B", "-c", BOOT, _ROOT, scenario.path, str(os.getpid())],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd="/")
    tail = bytearray()
    drain = threading.Thread(target=_keep_tail, args=(proc.stderr, tail), daemon=True)
    drain.start()
    cancel.on_cancel(lambda: _terminate(proc))
    result = None
    try:
        try:
            proc.stdin.write(text.encode("utf-8"))
            proc.stdin.close()
        except BrokenPipeError:
            pass
        for line in proc.stdout:
            msg = json.loads(line)
            if "progress" in msg:
                done, of = msg["progress"], max(msg["of"], 1)
                progress(f"this machine: step {done} of {of} done", done / of)
            else:
                result = msg
    finally:
        proc.stdout.close()
        proc.wait()  # bounded: on cancel, _terminate kills it after TERM_GRACE_S
        drain.join(5)
    cancel.check()
    if result is None:
        why = bytes(tail).decode(errors="replace").strip()
        raise MachineRunError(f"the run on this machine stopped (exit status {proc.returncode})"
                              + (f":\n{why}" if why else ""))
    if "report" not in result:
        raise MachineRunError("\n".join(result.get("problems") or [result.get("error", str(result))]))
    return result["report"]


def _keep_tail(stream, tail: bytearray, keep: int = 4000) -> None:
    for chunk in iter(lambda: stream.read(4096), b""):
        tail += chunk
        del tail[:-keep]
    stream.close()


def _terminate(proc: subprocess.Popen) -> None:
    """SIGTERM now (the worker cleans up), SIGKILL if it is still there after the grace period."""
    if proc.poll() is not None:
        return
    proc.terminate()
    timer = threading.Timer(TERM_GRACE_S, lambda: proc.poll() is None and proc.kill())
    timer.daemon = True
    timer.start()


class MachineJob(QtCore.QObject):
    progress = QtCore.Signal(str, float)  # text, fraction done (-1: unknown)
    finished = QtCore.Signal(object)  # present.machine.MachineRun
    failed = QtCore.Signal(str)
    skipped = QtCore.Signal(str)
    stopped = QtCore.Signal()  # a cancelled run's thread has ended (its work really stopped)
    _deliver = QtCore.Signal(int, str, object)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.runner = run_in_worker
        self.skip_reason = default_skip_reason
        self._gen = 0
        self._token: CancelToken | None = None
        self.busy = False
        self._deliver.connect(self._on_deliver, QtCore.Qt.ConnectionType.QueuedConnection)

    def start(self, scenario, layout, sync: bool = False) -> None:
        """Run `scenario` (laid out as `layout`, the lesson's) here. With sync, in this thread (tests)."""
        self.cancel()
        self._gen += 1
        gen, token = self._gen, CancelToken()
        self._token, self.busy = token, True

        def say(text: str, fraction: float | None = None) -> None:
            if not token.cancelled:
                self.progress.emit(text, -1.0 if fraction is None else float(fraction))

        def work() -> None:
            kind, payload = self._work(scenario, layout, say, token)
            if sync:
                self._on_deliver(gen, kind, payload)
            else:
                self._deliver.emit(gen, kind, payload)

        if sync:
            work()
        else:
            threading.Thread(target=work, name="zpviz-machine", daemon=True).start()

    def _work(self, scenario, layout, say, token: CancelToken) -> tuple[str, object]:
        try:
            why = self.skip_reason(scenario)
            if why:
                raise Skipped(why)
            say("Running the lesson on this machine ...", 0.0)
            report = self.runner(scenario, say, token)
            token.check()
            if len(report.get("steps") or ()) != len(scenario.steps) or report.get("scenario") != scenario.title:
                raise MachineRunError(f"the kernel's report is not of this lesson ({report.get('scenario')!r}, "
                                      f"{len(report.get('steps') or ())} steps)")
            say(f"Simulating the {MODEL} model ...")

            def counted(n: int) -> bool:
                say(f"Simulating the {MODEL} model: {n:,} events")
                return not token.cancelled

            trace = simulate(scenario, MODEL, progress=counted)
            model = trace_report(trace, every_step=True)
            token.check()
            return "done", machine_run(layout, model, report)
        except (MachineCancelled, Cancelled):
            return "cancelled", None
        except Skipped as e:
            return "skipped", str(e)
        except (KernelRunError, MachineRunError) as e:
            return "failed", str(e)
        except LessonError as e:  # TooBigError from the runner's own checks
            return "failed", "\n".join(str(p) for p in e.problems) or str(e)
        except Exception as e:  # noqa: BLE001 - a bug must end up in a banner, not end the lecture
            return "failed", f"internal error: {type(e).__name__}: {e}"

    def _on_deliver(self, gen: int, kind: str, payload) -> None:
        if kind == "cancelled":
            self.stopped.emit()
        if gen != self._gen:
            return  # cancelled, or a newer run replaced it
        self.busy = False
        self._token = None
        if kind == "done":
            self.finished.emit(payload)
        elif kind == "skipped":
            self.skipped.emit(payload)
        elif kind == "failed":
            self.failed.emit(payload)

    def cancel(self) -> bool:
        """Stop the running run (its worker process is terminated); True if one was running."""
        token, self._token = self._token, None
        if token is None:
            return False
        self._gen += 1
        self.busy = False
        token.cancel()
        return True
