"""Simulating the lesson the app opens in a second process while the app starts (docs/startup.md).

A cold start spends about half a second importing Qt and pyqtgraph and building the window, and
the tour's four variants take as long again to simulate; one after the other that is the start-up
time. So before the window's imports, `start` forks a worker that simulates each variant the
lesson will show, in the order the window shows them, and stores each trace in the trace cache
(tracecache.py), where the window's loader picks it up (`take`, called by session.build_lesson).
On two cores the simulation is done by the time the window is ready for it.

The cache is the only way the trace comes back: the worker writes the entry whole or not at all
(tracecache's atomic rename) and then says so on a pipe, one line per variant. Anything that goes
wrong on that path (no fork on this platform, the cache switched off or unwritable, a lesson that
does not load, a trace that cannot be cached, a worker that died) only means the window simulates
that variant itself, as it would without a worker: the worker is a head start, never a
dependency. The worker simulates the lesson the window will load from the same file, so a lesson
with an error is left to the window, which reports it.
"""

from __future__ import annotations

import atexit
import os
import select
import signal
import sys
import threading

# Nothing heavy at the top: the app forks the worker before it imports numpy, the engine or Qt, so
# the two processes share few pages (each page either writes to after a fork is copied, a cost
# both would pay) and the worker's imports run beside the window's.

# "0": never a worker (the window simulates, as before there was one); "1": a worker whenever the
# platform can fork; unset (or "auto"): a worker when a CPU is free for it right now (spare_cpu).
ENV = "ZPVIZ_PREFETCH"
_active: Prefetch | None = None
_lock = threading.Lock()


class Prefetch:
    """A worker process simulating the variants of one lesson into `cache` (a TraceCache; None:
    the default one, the worker's too).

    The worker speaks in lines: `k KEY VARIANT` for each trace it will provide (the cache key of
    the lesson it loaded under that variant), then `keys`; then per variant `n VARIANT EVENTS`
    as it simulates and `ok VARIANT` (stored) or `no VARIANT` (not: the window simulates it)."""

    def __init__(self, pid: int, fd: int, cache=None) -> None:
        self.pid = pid
        self.cache = cache
        self.keys: dict[str, str] = {}  # cache key -> variant, for the traces the worker provides
        self.keys_told = False  # every key is in `keys`
        self.state: dict[str, str] = {}  # variant -> "ok" (in the cache) or "no" (the window simulates it)
        self.counts: dict[str, int] = {}  # variant -> events simulated so far (the worker's progress)
        self._pipe = os.fdopen(fd, "rb", buffering=0)
        self._buf = b""
        self._eof = False
        self.killed = False  # stopped part-way: by a cancel, or by the app's exit (atexit)

    # ------------------------------------------------------------------ the window's side
    def take(self, scenario, variant: str, tick=None):
        """The trace of `scenario` under `variant` once the worker has stored it, or None when
        the worker does not provide exactly that (the caller simulates). Waits for the worker
        meanwhile; tick(events), if given, is told the worker's progress, and returning False
        stops the worker and raises engine.Cancelled, as the engine's progress callback does."""
        from zpviz.engine import Cancelled
        from zpviz.present.tracecache import TraceCache, entry_key

        key = entry_key(scenario, variant)
        if key is None:
            return None
        while not self.keys_told and not self._eof:
            self._read(0.1)
        if not self.keys:  # nothing to simulate (all cached, or a lesson for the window to report)
            self.finish()
        want = self.keys.get(key)
        if want is None:
            return None
        seen = 0
        while want not in self.state and not self._eof:
            self._read(0.1)
            n = self.counts.get(want, 0)
            if tick is not None and n != seen:
                seen = n
                if tick(n) is False:
                    self.stop()
                    raise Cancelled(f"simulating under {want}")
        if self.killed:  # the app is closing (or a cancel elsewhere): no simulation here either
            raise Cancelled(f"simulating under {want}")
        if self._eof or len(self.state) == len(self.keys):
            self.finish()
        if self.state.get(want) != "ok":
            return None
        cache = self.cache if self.cache is not None else TraceCache.default()
        return cache.get(scenario, variant, key=key)  # None if the entry went meanwhile: simulated again

    def _read(self, timeout: float) -> None:
        try:
            ready, _, _ = select.select([self._pipe], [], [], timeout)
            if not ready:
                return
            data = self._pipe.read(4096)
        except (OSError, ValueError):  # closed by stop() in another thread, or an error: no more lines
            data = b""
        if not data:
            self._eof = True
            return
        self._buf += data
        *lines, self._buf = self._buf.split(b"\n")
        for line in lines:
            what, _, rest = line.decode("ascii", "replace").partition(" ")
            first, _, second = rest.partition(" ")
            if what in ("ok", "no"):
                self.state[rest] = what
            elif what == "n":
                self.counts[first] = int(second) if second.isdigit() else 0
            elif what == "k":
                self.keys[first] = second
            elif what == "keys":
                self.keys_told = True

    def finish(self) -> None:
        """Every variant is in: reap the worker (it is exiting)."""
        self.stop(kill=False)

    def stop(self, kill: bool = True) -> None:
        """Stop the worker (if kill) and forget it; what it stored stays in the cache."""
        global _active
        if self.pid:
            pid, self.pid = self.pid, 0
            self.killed = kill
            try:
                if kill:
                    os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except OSError:  # gone already (reaped, or never ours)
                pass
        self._eof = True
        try:
            self._pipe.close()
        except OSError:
            pass
        if _active is self:
            _active = None


# ---------------------------------------------------------------------- starting and finding one
def start(path: str | None, kernel: str | None = None, compare=None) -> Prefetch | None:
    """Fork a worker that loads the lesson at `path` (None: the built-in tour, as gui.app.run_app
    opens it) and simulates the variants the app will show (session.kernels_for) that the cache
    does not hold yet. None when there is no way to (see the module's docstring): the window
    then simulates. Call it before Qt is imported: a process with threads must not fork. The
    worker, not this process, loads the lesson: the start of the window waits for nothing."""
    global _active
    mode = os.environ.get(ENV, "auto")
    if mode == "0" or not hasattr(os, "fork") or not sys.platform.startswith("linux"):
        return None
    if mode != "1" and not spare_cpu():
        return None
    # fork copies only the calling thread: never once other threads (Python's or Qt's) may hold a lock
    if threading.active_count() > 1 or "PySide6" in sys.modules:
        return None
    if os.environ.get("ZPVIZ_NO_CACHE"):  # tracecache.ENV_OFF: the worker's traces could not come back
        return None
    if _active is not None:
        _active.stop()
    r, w = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        pid = os.fork()
    except OSError:
        os.close(r)
        os.close(w)
        return None
    if pid == 0:  # the worker: simulate, store, say so; never return into the app's code
        code = 1
        try:
            os.close(r)
            _work(path, kernel, compare, w)
            code = 0
        finally:
            os._exit(code)
    os.close(w)
    _active = Prefetch(pid, r)
    atexit.register(_active.stop)
    return _active


def spare_cpu(loadavg: str | None = None, cpus: int | None = None) -> bool:
    """True when a CPU this process may use is idle now, for the worker to run on.

    A worker on a busy machine takes its CPU time from the window's own start: with the kernel's
    autogroup scheduling the two share one slice, and the first picture (which needs one variant)
    came 0.5 s later on a two-core machine running four other jobs. So it runs only when the
    machine's run queue (the running count of /proc/loadavg, this process included) leaves a CPU
    free. A busy machine gets the start as before: one process, the first variant first."""
    try:
        if cpus is None:
            cpus = len(os.sched_getaffinity(0))
        if loadavg is None:
            with open("/proc/loadavg") as f:
                loadavg = f.read()
        running = int(loadavg.split()[3].split("/")[0])
    except (OSError, ValueError, IndexError, AttributeError):
        return False
    return cpus >= 2 and running <= cpus - 1


def _work(path: str | None, kernel, compare, fd: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # Ctrl+C in the terminal ends the worker too, quietly
    devnull = os.open(os.devnull, os.O_RDWR)
    for std in (0, 1, 2):  # nothing of the worker's reaches the app's terminal or a caller's pipes
        os.dup2(devnull, std)

    def say(text: str) -> None:
        os.write(fd, text.encode() + b"\n")  # a parent gone: BrokenPipeError ends the worker

    todo = []
    try:
        from zpviz.engine import simulate
        from zpviz.present.session import kernels_for
        from zpviz.present.tracecache import TraceCache, entry_key
        from zpviz.scenario import load
        from zpviz.scenario.library import tour_path

        cache = TraceCache.default()
        cache.dir.mkdir(parents=True, exist_ok=True)
        if not os.access(cache.dir, os.W_OK):
            raise OSError(f"{cache.dir}: not writable")
        scenario = load(str(tour_path()) if path is None else path)
        for k in kernels_for(scenario, kernel, compare):
            key = entry_key(scenario, k)
            if key is not None and not cache.path_for(key).exists():  # what the cache holds, the window reads
                todo.append(k)
                say(f"k {key} {k}")
    except Exception:  # noqa: BLE001 - the window loads the lesson itself and reports what is wrong
        todo = []
    say("keys")
    for k in todo:
        def tick(n: int, k=k) -> bool:
            say(f"n {k} {n}")
            return True

        try:
            trace = simulate(scenario, k, progress=tick)
            stored = cache.put(trace, scenario, k)
        except Exception:  # noqa: BLE001 - the window simulates it again and reports the error
            stored = False
        say(f"{'ok' if stored else 'no'} {k}")
        if not stored:
            return


def take(scenario, variant: str, tick=None):
    """The running worker's trace of `scenario` under `variant` (see Prefetch.take), or None."""
    with _lock:
        pf = _active
        if pf is None:
            return None
        return pf.take(scenario, variant, tick)
