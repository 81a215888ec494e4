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
from .calls import CALLS_X86_64, CLONE_VM, describe
from .pages import proc_faults, read_maps, snapshot

TRACE_OPTIONS = (S.PTRACE_O_TRACESYSGOOD | S.PTRACE_O_TRACEFORK | S.PTRACE_O_TRACEVFORK | S.PTRACE_O_TRACECLONE
                 | S.PTRACE_O_TRACEEXEC | S.PTRACE_O_TRACEEXIT)
STOP_SIGNALS = (signal.SIGSTOP, signal.SIGTSTP, signal.SIGTTIN, signal.SIGTTOU)
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
class Proc:
    pid: int
    parent: int | None
    exec_ns: int | None = None
    exit_ns: int | None = None
    exit_status: int | None = None
    comm: str = ""
    faults_at_exec: tuple[int, int] | None = None
    faults_at_exit: tuple[int, int] | None = None
    maps_at_exec: list[dict] | None = None
    maps_at_fork: list[dict] | None = None  # a forked child, at its first stop: what fork copied
    final: list[dict] | None = None
    final_at: str | None = None  # "exit" or "detach"
    final_ns: int | None = None
    snapshots: list[dict] = field(default_factory=list)  # page states while it ran: the mappings that changed
    seen: dict = field(default_factory=dict)  # (start, end) -> page states at the last snapshot, for the diff

    def as_json(self) -> dict:
        return {"pid": self.pid, "parent": self.parent, "comm": self.comm, "exec_ns": self.exec_ns,
                "exit_ns": self.exit_ns, "exit_status": self.exit_status,
                "faults_at_exec": _flt(self.faults_at_exec), "faults_at_exit": _flt(self.faults_at_exit),
                "maps_at_exec": self.maps_at_exec, "maps_at_fork": self.maps_at_fork,
                "final_at": self.final_at, "final_ns": self.final_ns,
                "snapshots": self.snapshots, "mappings": self.final}


def _flt(pair):
    return None if pair is None else {"minflt": pair[0], "majflt": pair[1]}


@dataclass
class Recorder:
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

    # ------------------------------------------------------------------ progress and page states while running
    def _tick(self) -> None:
        now = S.clock_ns()
        n = len(self.source.faults)
        if self.opts.progress is not None and now >= self.next_progress_ns:
            self.next_progress_ns = now + 200_000_000
            self.opts.progress(n, len(self.calls))
        if self.gathering:
            return
        every_ns = int(self.opts.snapshot_ms * 1e6) if self.opts.snapshot_ms else 0
        if every_ns and not self.next_snapshot_ns:
            self.next_snapshot_ns = now + every_ns
            return
        why = None
        if now < self.quiet_until_ns:
            return
        if every_ns and now >= self.next_snapshot_ns:
            why = "interval"
        elif self.opts.snapshot_faults and n - self.faults_at_snapshot >= self.opts.snapshot_faults:
            why = "faults"
        if why is None:
            return
        self.next_snapshot_ns = now + every_ns
        self.faults_at_snapshot = n
        self.round_began_ns = now
        self._begin_snapshots(why)
        if not self.gathering:
            self._round_done()

    def _round_done(self) -> None:
        """Every process of this round is read and running again. The program must not spend most
        of its time held: the next round waits at least four times as long as this one took (so
        snapshots take at most a fifth of the run, whatever the interval asked for)."""
        end = S.clock_ns()
        self.quiet_until_ns = end + 4 * (end - self.round_began_ns)

    def _begin_snapshots(self, why: str) -> None:
        """Stop every thread of every live process (PTRACE_INTERRUPT), so that its page states are read
        with nothing running: a snapshot then holds exactly the faults stamped before it. Each
        thread is held at its next stop (whatever it is) until its process's snapshot is read."""
        for pid, proc in self.procs.items():
            if pid not in self.tgid or proc.exec_ns is None or proc.final is not None:
                continue
            tids = [t for t, g in self.tgid.items() if g == pid]
            if any(t in self.fresh for t in tids):
                continue  # a child not yet at its first stop: it gets its own snapshot there
            waiting = set()
            for t in tids:
                if t in self.held:
                    continue
                try:
                    S.ptrace(S.PTRACE_INTERRUPT, t)
                    waiting.add(t)
                except OSError:
                    pass
            self.snapshot_why = why
            if waiting:
                self.gathering[pid] = waiting
            else:  # nothing of it runs (group-stopped): read it now
                self._snapshot_of(pid)

    def _hold_for_snapshot(self, tid: int, deliver: int) -> bool:
        """A thread stopped while its process waits for a snapshot: hold it (True), or not ours (False)."""
        pid = self.tgid.get(tid, tid)
        waiting = self.gathering.get(pid)
        if waiting is None or tid not in waiting:
            return False
        self.held[tid] = deliver
        waiting.discard(tid)
        if not waiting:
            self._interval_snapshot(pid)
        return True

    def _interval_snapshot(self, pid: int) -> None:
        """Every thread of `pid` is stopped: read its pages, keep the mappings that changed, let it go."""
        self.gathering.pop(pid, None)
        if not self.gathering:
            try:
                self._snapshot_of(pid)
            finally:
                self._round_done()
            return
        self._snapshot_of(pid)

    def _snapshot_of(self, pid: int) -> None:
        p = self.procs[pid]
        at = S.clock_ns()
        try:
            if p.final is None:
                diff = changed_mappings(p, snapshot(pid, self.kpf))
                p.snapshots.append({"at_ns": at, "why": self.snapshot_why, **diff})
        except OSError as e:
            self.notes.append(f"process {pid}: page states at {at} not read ({e})")
        finally:
            for t in [t for t, g in self.tgid.items() if g == pid and t in self.held]:
                self._resume(t, self.held[t])

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

    # ------------------------------------------------------------------ one stop
    def _stopped(self, tid: int, status: int) -> None:
        if os.WIFEXITED(status) or os.WIFSIGNALED(status):
            self._gone(tid, status)
            return
        if not os.WIFSTOPPED(status):
            return
        if tid not in self.tgid:  # a new child reported before its parent's fork event
            self.tgid[tid] = tid
            self.procs.setdefault(tid, Proc(tid, None))
            self.fresh.add(tid)
        sig = os.WSTOPSIG(status)
        event = status >> 16
        deliver = 0
        # held with the signal it must get on a detach, from this moment (Ctrl+C may come at any line)
        self.held[tid] = sig if event == 0 and sig != signal.SIGTRAP | 0x80 else 0
        if sig == signal.SIGTRAP | 0x80:
            self._syscall(tid)
        elif event == S.PTRACE_EVENT_EXEC:
            self._exec(tid)
        elif event == S.PTRACE_EVENT_EXIT:
            self._exit_stop(tid)
        elif event in (S.PTRACE_EVENT_FORK, S.PTRACE_EVENT_VFORK, S.PTRACE_EVENT_CLONE):
            self._forked(tid, event)
        elif event == S.PTRACE_EVENT_STOP:
            if tid in self.fresh:
                self.fresh.discard(tid)
                if _same_tgid(tid, tid):  # a new process: what fork copied, before it runs
                    self._at_fork(tid)
            elif sig in STOP_SIGNALS:  # group-stop: stay stopped until SIGCONT, but stay watchable
                del self.held[tid]
                S.ptrace(S.PTRACE_LISTEN, tid)
                self._stopped_anyway(tid)
                return
        elif event == 0:
            deliver = sig  # a signal for the program: pass it on
        if not self._hold_for_snapshot(tid, deliver):
            self._resume(tid, deliver)

    def _resume(self, tid: int, sig: int = 0) -> None:
        self.held.pop(tid, None)
        try:
            S.ptrace(S.PTRACE_SYSCALL, tid, 0, sig)
        except OSError as e:
            if e.errno != errno.ESRCH:  # killed while stopped: its exit status follows
                raise

    def _stopped_anyway(self, tid: int) -> None:
        """A thread that will not run (group-stopped, or gone) needs no holding for its process's snapshot."""
        pid = self.tgid.get(tid, tid)
        waiting = self.gathering.get(pid)
        if waiting is not None and tid in waiting:
            waiting.discard(tid)
            if not waiting and pid in self.tgid:
                self._interval_snapshot(pid)
            elif not waiting:
                self.gathering.pop(pid, None)
                if not self.gathering:
                    self._round_done()

    def _gone(self, tid: int, status: int) -> None:
        self._stopped_anyway(tid)
        self.held.pop(tid, None)
        self.pending.pop(tid, None)
        leader = self.tgid.pop(tid, None)
        if tid == self.root and self.exec_failed is None and self.procs[tid].exec_ns is None and self._err_r:
            self.exec_failed = os.read(self._err_r, 4096).decode(errors="replace") or "exec failed"
        if leader == tid and tid in self.procs:
            p = self.procs[tid]
            p.exit_status = os.waitstatus_to_exitcode(status)
            if p.exit_ns is None:
                p.exit_ns = S.clock_ns()

    def _syscall(self, tid: int) -> None:
        info = S.syscall_info(tid)
        now = S.clock_ns()
        if info.op == S.PTRACE_SYSCALL_INFO_ENTRY:
            call = CALLS_X86_64.get(info.u.entry.nr)
            if call is not None:
                name, nargs = call
                self.pending[tid] = (now, name, [int(a) for a in info.u.entry.args[:nargs]])
            else:
                self.pending.pop(tid, None)
        elif info.op == S.PTRACE_SYSCALL_INFO_EXIT and tid in self.pending:
            t0, name, args = self.pending.pop(tid)
            rval = int(info.u.exit.rval)
            err = rval if -4096 < rval < 0 else 0
            self.calls.append({"t0": t0, "t1": now, "pid": self.tgid.get(tid, tid), "tid": tid, "name": name,
                               "args": args, "result": rval if not err else None,
                               "errno": errno.errorcode.get(-err, str(-err)) if err else None,
                               "text": describe(name, args)})

    def _exec(self, tid: int) -> None:
        now = S.clock_ns()
        former = S.event_msg(tid)
        pid = self.tgid.get(tid, tid)
        if former != tid:  # a non-leader thread exec'd: it took the leader's tid
            self.tgid.pop(former, None)
        p = self.procs.setdefault(pid, Proc(pid, None))
        p.exec_ns = now
        p.faults_at_exec = proc_faults(pid)
        p.maps_at_exec = snapshot(pid, self.kpf)
        p.seen = {}
        changed_mappings(p, p.maps_at_exec)  # the base the snapshots while it runs are told against
        p.comm = _comm(pid)
        self.pending.pop(tid, None)
        if pid == self.root and self.source.enabled:
            self.source.drain()

    def _exit_stop(self, tid: int) -> None:
        pid = self.tgid.get(tid, tid)
        if pid != tid or pid not in self.procs:
            return
        p = self.procs[pid]
        p.exit_ns = S.clock_ns()
        p.faults_at_exit = proc_faults(pid)
        self._final_state(p, "exit")

    def _final_state(self, p: Proc, when: str) -> None:
        try:
            p.final = snapshot(p.pid, self.kpf)
            p.final_at, p.final_ns = when, S.clock_ns()
            if not p.comm:
                p.comm = _comm(p.pid)
        except OSError as e:
            self.notes.append(f"process {p.pid}: page states not read ({e})")

    def _at_fork(self, pid: int) -> None:
        p = self.procs.setdefault(pid, Proc(pid, None))
        try:
            p.maps_at_fork = snapshot(pid, self.kpf)
            changed_mappings(p, p.maps_at_fork)
        except OSError as e:
            self.notes.append(f"process {pid}: page states at fork not read ({e})")

    def _forked(self, tid: int, event: int) -> None:
        child = S.event_msg(tid)
        parent = self.tgid.get(tid, tid)
        now = S.clock_ns()
        flags = 0
        call = self.pending.get(tid)
        if event == S.PTRACE_EVENT_CLONE and call is not None and call[1] == "clone":
            flags = call[2][0]
        thread = event == S.PTRACE_EVENT_CLONE and bool(flags & CLONE_VM) or _same_tgid(child, parent)
        self.tgid[child] = parent if thread else child
        if child not in self.held:
            self.fresh.add(child)
        if thread and parent in self.gathering and child not in self.held:  # born while its process is held
            try:
                if child not in self.fresh:  # it stopped (and ran on) before this event: stop it again
                    S.ptrace(S.PTRACE_INTERRUPT, child)
                self.gathering[parent].add(child)
            except OSError:
                pass
        if not thread and child not in self.procs:
            self.procs[child] = Proc(child, parent)
        elif not thread:
            self.procs[child].parent = parent
        t0 = call[0] if call is not None else now  # the child runs (and faults) before this stop is seen
        # vfork (and posix_spawn's clone(CLONE_VM | CLONE_VFORK)): a new process in the parent's memory
        kind = "thread" if thread else "vfork" if event == S.PTRACE_EVENT_VFORK else "fork"
        self.calls.append({"t0": t0, "t1": now, "pid": parent, "tid": tid, "name": kind,
                           "args": [child], "result": child, "errno": None, "text": f"{kind} -> {child}"})

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


STATE_KEYS = ("perms", "pages", "mlocked", "huge")


def changed_mappings(p: Proc, maps: list[dict]) -> dict:
    """The mappings of `maps` whose page states differ from the process's last snapshot (new ones
    included) and the (start, end) of those gone since; `maps` becomes the new base."""
    now = {(m["start"], m["end"]): tuple(_freeze(m.get(k)) for k in STATE_KEYS) for m in maps}
    changed = [m for m in maps if p.seen.get((m["start"], m["end"])) != now[(m["start"], m["end"])]]
    gone = [[lo, hi] for lo, hi in p.seen if (lo, hi) not in now]
    p.seen = now
    return {"mappings": changed, "gone": gone}


def _freeze(v):
    return tuple(tuple(x) if isinstance(x, list) else x for x in v) if isinstance(v, list) else v


def _ancestors() -> set[int]:
    out, pid = set(), os.getpid()
    while pid > 1 and pid not in out:
        out.add(pid)
        try:
            with open(f"/proc/{pid}/stat") as f:
                text = f.read()
            pid = int(text[text.rindex(")") + 2:].split()[1])
        except (OSError, ValueError, IndexError):
            break
    return out


def _threads(pid: int) -> list[int]:
    try:
        return sorted(int(t) for t in os.listdir(f"/proc/{pid}/task"))
    except OSError:
        return [pid]


def _same_tgid(tid: int, pid: int) -> bool:
    try:
        with open(f"/proc/{tid}/status") as f:
            for line in f:
                if line.startswith("Tgid:"):
                    return int(line.split()[1]) == pid
    except OSError:
        pass
    return False


def _comm(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return ""


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


__all__ = ["Options", "RecordError", "Recorder", "record", "read_maps"]
