"""Run a program under ptrace and perf, and record its page faults and address-space calls.

The program is forked, waits on a pipe until the recorder has seized it (PTRACE_SEIZE with the
fork, clone, exec and exit events) and opened the fault events (enabled on exec), disables THP
for itself (prctl(PR_SET_THP_DISABLE), which survives exec) unless asked not to, and execs.
From the exec on, every thread stops at each system call's entry and exit; the address-space
calls are kept with their results. At each process's exit stop (PTRACE_EVENT_EXIT, before the
address space is torn down) the page states of every mapping are read.

Whatever happens (the program ends, --max-events, Ctrl+C, an error in the recorder) the
finally clause detaches from every thread still traced, so the program is never left stopped
or traced: it runs on, or it was already gone.

The recorder is one object in four modules: this one starts, loops and finishes (Recorder, record);
tracer_stops.py handles each ptrace stop; tracer_snapshots.py reads page states while the program
runs; tracee.py is what is kept of each process and what /proc says of it.
"""

from __future__ import annotations

import errno
import os
import select
import signal
import sys
from dataclasses import dataclass, field

from zpviz.kernel.observe import KPageFlags

from . import perf
from . import sysapi as S
from .pages import proc_faults, read_maps, snapshot
from .tracee import Proc, _ancestors, _comm, _threads, changed_mappings
from .tracer_snapshots import Snapshots
from .tracer_stops import STOP_SIGNALS, Stops

TRACE_OPTIONS = (S.PTRACE_O_TRACESYSGOOD | S.PTRACE_O_TRACEFORK | S.PTRACE_O_TRACEVFORK | S.PTRACE_O_TRACECLONE
                 | S.PTRACE_O_TRACEEXEC | S.PTRACE_O_TRACEEXIT)
EXIT_EXEC_FAILED = 127


class RecordError(Exception):
    """The program could not be recorded; the message says why."""


@dataclass
class Options:
    command: list[str] | None = None
    pid: int | None = None
    keep_thp: bool = False
    max_events: int | None = None
    mode: str = "auto"  # "auto", "tracepoints" or "software"
    log: object = sys.stderr
    # page states while the program runs: every this many ms and/or every this many faults (None: off)
    snapshot_ms: float | None = None
    snapshot_faults: int | None = None
    progress: object = None  # callable(faults, calls), about 5 times a second while recording


@dataclass
class Recorder(Stops, Snapshots):
    opts: Options
    source: perf.FaultSource | None = None
    procs: dict[int, Proc] = field(default_factory=dict)  # by tgid
    tgid: dict[int, int] = field(default_factory=dict)  # every traced tid -> its tgid
    held: dict[int, int] = field(default_factory=dict)  # tid -> signal to pass on, while we hold it stopped
    fresh: set[int] = field(default_factory=set)  # tids reported by a fork event, not yet seen stopped
    pending: dict[int, tuple] = field(default_factory=dict)  # tid -> (t0, name, args) at syscall entry
    calls: list[dict] = field(default_factory=list)
    stopped: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    kpf: KPageFlags | None = None
    root: int | None = None
    exec_failed: str | None = None
    started_ns: int = 0
    counted: int | None = None  # what the kernel counted on the fault events, read at the end
    delivered: int | None = None
    gathering: dict[int, set[int]] = field(default_factory=dict)  # pid -> its threads not yet stopped for a snapshot
    next_snapshot_ns: int = 0
    faults_at_snapshot: int = 0
    next_progress_ns: int = 0
    snapshot_why: str = "interval"
    round_began_ns: int = 0
    quiet_until_ns: int = 0

    # ------------------------------------------------------------------ launch
    def launch(self) -> int:
        cmd = self.opts.command
        go_r, go_w = os.pipe()
        err_r, err_w = os.pipe2(os.O_CLOEXEC)
        pid = os.fork()
        if pid == 0:  # the child: wait to be seized, then exec; never return into the recorder
            try:
                os.close(go_w)
                os.close(err_r)
                os.read(go_r, 1)
                os.close(go_r)
                if not self.opts.keep_thp:
                    S.prctl(S.PR_SET_THP_DISABLE, 1)
                os.execvp(cmd[0], cmd)
            except BaseException as e:  # noqa: BLE001 - report anything to the parent and leave
                try:
                    os.write(err_w, f"{cmd[0]}: {getattr(e, 'strerror', None) or e}".encode())
                finally:
                    os._exit(EXIT_EXEC_FAILED)
        os.close(go_r)
        os.close(err_w)
        self.root = pid
        try:
            try:
                S.ptrace(S.PTRACE_SEIZE, pid, 0, TRACE_OPTIONS)
            except OSError as e:
                raise RecordError(f"cannot trace the program: {e.strerror} (ptrace is refused here: a container "
                                  f"without CAP_SYS_PTRACE, or /proc/sys/kernel/yama/ptrace_scope = 3)") from None
            self.tgid[pid] = pid
            self.procs[pid] = Proc(pid, None)
            self.source = self._open_source(pid)
        except BaseException:
            os.close(go_w)
            os.close(err_r)
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            raise
        os.write(go_w, b"x")
        os.close(go_w)
        self._err_r = err_r
        return pid

    def attach(self, pid: int) -> int:
        """Seize a running process and every thread it has, stop them all, read where they stand,
        open the fault events (counting at once), and let them run on under syscall tracing."""
        if pid <= 1 or not os.path.exists(f"/proc/{pid}"):
            raise RecordError(f"no process {pid} to attach to" if pid > 1 else "will not attach to init (pid 1)")
        if pid in _ancestors():
            raise RecordError(f"{pid} is zpviz itself or the shell running it; attach from another terminal")
        self.root = pid
        self._err_r = None
        self.tgid[pid] = pid
        self.procs[pid] = Proc(pid, None)
        threads = _threads(pid)
        try:
            for tid in threads:
                try:
                    S.ptrace(S.PTRACE_SEIZE, tid, 0, TRACE_OPTIONS)
                except OSError as e:
                    if e.errno == errno.ESRCH:
                        continue
                    raise RecordError(f"cannot attach to {pid}: {e.strerror} (ptrace needs the same user, or root; "
                                      f"see /proc/sys/kernel/yama/ptrace_scope)") from None
                self.tgid[tid] = pid
                S.ptrace(S.PTRACE_INTERRUPT, tid)
            waiting = set(self.tgid)
            while waiting:  # every thread in its interrupt stop before anything is read
                tid, status = self._next_stop(waiting)
                if tid == 0:
                    select.select([], [], [], 0.001)
                    continue
                if os.WIFSTOPPED(status):
                    self.held[tid] = os.WSTOPSIG(status) if status >> 16 == 0 else 0
                else:
                    self.tgid.pop(tid, None)
                waiting.discard(tid)
            p = self.procs[pid]
            p.exec_ns = S.clock_ns()  # "the start": the replay begins from the pages there now
            p.faults_at_exec = proc_faults(pid)
            kpf, _ = KPageFlags.open()
            try:
                p.maps_at_exec = snapshot(pid, kpf)
                changed_mappings(p, p.maps_at_exec)
            finally:
                if kpf is not None:
                    kpf.close()
            p.comm = _comm(pid)
            self.source = self._open_source(pid, tuple(t for t in self.tgid))
        except BaseException:
            self._detach_all()
            raise
        for tid, sig in list(self.held.items()):
            self._resume(tid, sig)
        return pid

    def _open_source(self, pid: int, threads: tuple[int, ...] = ()) -> perf.FaultSource:
        mode = self.opts.mode
        why = None
        if mode in ("auto", "tracepoints"):
            try:
                return perf.open_tracepoints(pid, threads)
            except perf.PerfUnavailable as e:
                if mode == "tracepoints":
                    raise RecordError(str(e)) from None
                why = str(e)
        if why is None:
            why = "--software asked for it"
        src = self._software(pid, threads)
        lost = ("recorded with the software event PERF_COUNT_SW_PAGE_FAULTS: user-mode faults only "
                "(faults the kernel takes on the program's buffers, e.g. in read(2), are not seen), "
                "read or write not observed, and per-page mlocked state not observed")
        self.notes.append(lost)
        print(f"zpviz record: {lost}. Why: {why}", file=self.opts.log)
        return src

    def _software(self, pid: int, threads: tuple[int, ...] = ()) -> perf.FaultSource:
        try:
            return perf.open_software(pid, threads)
        except perf.PerfUnavailable as e:
            raise RecordError(str(e)) from None

    # ------------------------------------------------------------------ the loop
    def run(self) -> dict:
        self.started_ns = S.clock_ns()
        if self.source.kind == "tracepoints":
            kpf, why = KPageFlags.open()
        else:  # what an ordinary user has, even when --software runs as root
            kpf, why = None, "the software event's fallback reads no frame flags (as without root)"
        self.kpf = kpf
        if kpf is None:
            self.notes.append(f"page states without frame flags: {why}; zero pages are told apart by "
                              f"PAGEMAP_SCAN where the kernel has it, mlocked is not observed")
        rfd, wfd = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        old_wakeup = old_chld = None
        main = _is_main_thread()
        if main:  # a SIGCHLD (a ptrace stop) wakes poll() at once
            old_chld = signal.signal(signal.SIGCHLD, lambda *_: None)
            old_wakeup = signal.set_wakeup_fd(wfd)
        poller = select.poll()
        poller.register(rfd, select.POLLIN)
        for fd in self.source.fds():
            poller.register(fd, select.POLLIN)
        reason = "exit"
        try:
            while self.tgid:
                self._drain()
                self._tick()
                if self.opts.max_events is not None and len(self.source.faults) >= self.opts.max_events:
                    reason = "max-events"
                    break
                tid, status = self._next_stop(self.tgid)
                if tid == 0:
                    poller.poll(50 if main else 1)
                    try:
                        os.read(rfd, 4096)
                    except BlockingIOError:
                        pass
                    continue
                self._stopped(tid, status)
                if tid == self.root and self.root not in self.tgid:
                    break  # the program ended: what it left running (a daemon, a `cmd &`) is let go, not waited for
        except KeyboardInterrupt:
            reason = "interrupted"
        finally:
            if main:
                signal.set_wakeup_fd(old_wakeup)
                signal.signal(signal.SIGCHLD, old_chld)
            os.close(rfd)
            os.close(wfd)
            self._finish(reason)
        return self.result(reason)

    def _next_stop(self, tids) -> tuple[int, int]:
        """The first of these threads with a stop or an exit to report, or (0, 0).

        Each is waited for by its id, never with waitpid(-1): the process running the recorder
        (a test runner, the app) may have children of its own whose exits are not ours to reap."""
        for tid in list(tids):
            try:
                got, status = os.waitpid(tid, os.WNOHANG | S.WALL)
            except ChildProcessError:  # gone, and reaped already (or never ours)
                self.tgid.pop(tid, None)
                self.held.pop(tid, None)
                if isinstance(tids, set):
                    tids.discard(tid)
                continue
            if got:
                return got, status
        return 0, 0

    def _drain(self) -> None:
        if self.source.enabled:
            self.source.drain()

    def _finish(self, reason: str) -> None:
        """Stop recording and let go of every thread still traced, whatever happened."""
        if _is_main_thread():  # a second Ctrl+C must not cut the detaching short
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            self._finish_unmasked(reason)
        finally:
            if _is_main_thread():
                signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})

    def _finish_unmasked(self, reason: str) -> None:
        self.stopped = {"reason": reason, "at_ns": S.clock_ns()}
        try:
            self._drain()
        finally:
            self.source.disable()
            try:
                self._drain_after_disable()
                self.counted = self.source.counted()
                self.delivered = len(self.source.faults)
            finally:
                self._detach_all()
                self.source.close()
                if self.kpf is not None:
                    self.kpf.close()
        if self.opts.max_events is not None and len(self.source.faults) > self.opts.max_events:
            self.source.faults.sort(key=lambda f: f.time)  # the rings drain CPU by CPU: keep the first in time
            del self.source.faults[self.opts.max_events:]

    def _drain_after_disable(self) -> None:
        for ring in self.source.rings:
            chunks: list[bytes] = []
            ring.drain(chunks)
            for c in chunks:
                self.source._decode(c)

    def _detach_all(self) -> None:
        """Detach from every traced thread: the held ones at once, the running ones after an interrupt."""
        live = set(self.tgid)
        for tid in live:
            if tid not in self.held:
                try:
                    S.ptrace(S.PTRACE_INTERRUPT, tid)
                except OSError:
                    pass
        # collect the stops the interrupts cause (and any already queued); a thread that exits instead is done
        waiting = live - set(self.held)
        tries = 0
        while waiting and tries < 400:
            tid, status = self._next_stop(waiting)
            if tid == 0:
                select.select([], [], [], 0.005)
                tries += 1
                continue
            if os.WIFEXITED(status) or os.WIFSIGNALED(status):
                waiting.discard(tid)
                self._gone(tid, status)
                continue
            sig = os.WSTOPSIG(status)
            event = status >> 16
            passed = sig if (event == 0 and sig != (signal.SIGTRAP | 0x80)) else 0
            if event == S.PTRACE_EVENT_STOP and sig in STOP_SIGNALS and tid not in self.fresh:
                passed = sig  # a group-stop: keep the program stopped as its signal asked
            if event in (S.PTRACE_EVENT_FORK, S.PTRACE_EVENT_VFORK, S.PTRACE_EVENT_CLONE):
                try:  # the new child is traced already (auto-attach): it must be let go too
                    waiting.add(S.event_msg(tid))
                except OSError:
                    pass
            self.tgid.setdefault(tid, tid)
            self.held[tid] = passed
            waiting.discard(tid)
        for proc in self.procs.values():  # page states of the processes still alive, while they are held
            if proc.final is None and proc.pid in self.held and proc.pid in self.tgid:
                self._final_state(proc, "detach")
        for tid, sig in list(self.held.items()):
            try:
                S.ptrace(S.PTRACE_DETACH, tid, 0, sig)
            except OSError:
                pass
        self.held.clear()
        self.tgid.clear()
        self.gathering.clear()

    # ------------------------------------------------------------------ the result
    def _lost(self) -> int:
        """Events the kernel counted and never delivered (PERF_RECORD_LOST says most; the count the rest)."""
        lost = self.source.lost
        if self.counted is not None and self.delivered is not None:
            lost = max(lost, self.counted - self.delivered)
        return lost

    def result(self, reason: str) -> dict:
        src = self.source
        faults = sorted(src.faults, key=lambda f: f.time)
        return {
            "source": src.kind, "reason": reason, "stopped": self.stopped, "started_ns": self.started_ns,
            "faults": faults, "lost": self._lost(), "lost_records": src.lost_records, "throttled": src.throttled,
            "counted": self.counted,
            "calls": self.calls, "processes": [p.as_json() for p in self.procs.values()], "notes": self.notes,
            "exec_failed": self.exec_failed, "root": self.root,
        }


def _is_main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def record(command: list[str] | None, keep_thp: bool = False, max_events: int | None = None, mode: str = "auto",
           log=None, pid: int | None = None, snapshot_ms: float | None = None,
           snapshot_faults: int | None = None) -> dict:
    """Run `command` (or attach to the running process `pid`) under the recorder and return the
    recording (recording.py's format).

    Raises RecordError if faults cannot be recorded here or the program cannot be started."""
    from .recording import build

    opts = Options(command=list(command or []), pid=pid, keep_thp=keep_thp, max_events=max_events, mode=mode,
                   log=log if log is not None else sys.stderr, snapshot_ms=snapshot_ms,
                   snapshot_faults=snapshot_faults)
    rec = Recorder(opts)
    if pid is not None:
        rec.attach(pid)
    else:
        rec.launch()
    try:
        raw = rec.run()
    finally:
        if rec._err_r is not None:
            os.close(rec._err_r)
    if raw["exec_failed"]:
        raise RecordError(f"could not start {command[0]}: {raw['exec_failed']}")
    out = build(raw, list(command) if command else None, keep_thp, max_events, snapshot_ms, snapshot_faults)
    if pid is not None:
        out["attached"], out["thp"] = True, "system"
    return out


__all__ = ["Options", "Proc", "RecordError", "Recorder", "changed_mappings", "record", "read_maps"]
