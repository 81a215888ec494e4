"""The recorder's page states while the program runs (--snapshot-ms, --snapshot-faults): a round
stops every thread of every live process (PTRACE_INTERRUPT), holds each at its next stop, reads
the process's pages once all of it is held, keeps the mappings that changed, and lets it go; the
next round waits at least four times as long as this one took. A mixin of tracer.Recorder, whose
fields it uses (gathering, held, tgid, procs ...)."""

from __future__ import annotations

from . import sysapi as S
from .pages import snapshot
from .tracee import changed_mappings


class Snapshots:
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
