"""One ptrace stop of a traced thread, handled: a system call's entry or exit (the address-space
calls kept with their results), an exec, an exit (the page states read before the address space
goes), a fork, vfork or clone, a group-stop, a signal passed on; and a thread or process gone.
A mixin of tracer.Recorder, whose fields it uses (tgid, procs, held, pending, calls ...)."""

from __future__ import annotations

import errno
import os
import signal

from . import sysapi as S
from .calls import CALLS_X86_64, CLONE_VM, describe
from .pages import proc_faults, snapshot
from .tracee import Proc, _comm, _same_tgid, changed_mappings

STOP_SIGNALS = (signal.SIGSTOP, signal.SIGTSTP, signal.SIGTTIN, signal.SIGTTOU)


class Stops:
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
