"""Machine: plays a Scenario's steps on one kernel variant and records every event.

It resolves each step to per-CPU work (pages or processes dealt round-robin or in blocks) and
hands that work to the scheduler in core.py, which interleaves CPUs by their clocks.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator

import numpy as np

from zpviz.engine import constants as C
from zpviz.engine.bulk import Bulk
from zpviz.engine.columns import SCALARS, WATCHABLE, Col
from zpviz.engine.core import Proc, Vma
from zpviz.engine.costs import Costs
from zpviz.engine.events import FAULT_KEYS, OUTCOME, Kind
from zpviz.engine.kernels import policy
from zpviz.engine.kernels.base import MlockPopulate
from zpviz.engine.results import StepResult
from zpviz.engine.trace import Frame, Layout, ProcLayout, VmaLayout
from zpviz.errors import LessonError, Problem
from zpviz.scenario.model import WATCHABLE_LINES, Scenario, Step
from zpviz.scenario.selectors import resolve

_OUTCOME_OF_KIND = np.array([OUTCOME.get(k, "") for k in Kind], dtype=object)
_ERROR_KINDS = np.array([int(k) for k, o in OUTCOME.items() if o == "error"])


def _outcomes(kind: np.ndarray, fault: np.ndarray) -> tuple[dict[str, int], str, list[int]]:
    """Events per outcome, the outcome of the first event that faulted or failed (as predict
    mode asks: a SIGSEGV or a walk stopped by -EFAULT is an answer too), and the events per
    fault kind (events.FAULT_*: 0 none, then FAULT_KEYS')."""
    n_fault = len(FAULT_KEYS) + 1
    if len(fault) and int(fault.max()) < n_fault:
        # both counts from one bincount of (kind, fault) pairs: a big step's events are counted
        # in one pass instead of two (a 1 GiB read: 262,144 events)
        pairs = np.bincount(kind.astype(np.int64) * n_fault + fault, minlength=len(Kind) * n_fault)
        pairs = pairs.reshape(-1, n_fault)
        counts, by_fault = pairs.sum(axis=1), pairs.sum(axis=0).tolist()
    else:
        counts = np.bincount(kind, minlength=len(Kind)) if len(kind) else np.zeros(len(Kind), np.int64)
        by_fault = np.bincount(fault, minlength=n_fault).tolist()
    out: dict[str, int] = {}
    for k in np.flatnonzero(counts).tolist():
        name = _OUTCOME_OF_KIND[k]
        if name:
            out[name] = out.get(name, 0) + int(counts[k])
    # the first event that faulted, or failed before it (an error kind, looked for only if the
    # step has one, and only before that fault)
    end = int(np.argmax(fault != 0)) if len(fault) else 0
    if not len(fault) or fault[end] == 0:
        end = len(fault)
    first = end
    if counts[_ERROR_KINDS].any():
        errors = np.flatnonzero(np.isin(kind[:end], _ERROR_KINDS))
        if len(errors):
            first = int(errors[0])
    return out, OUTCOME.get(Kind(int(kind[first])), "no fault") if first < len(kind) else "no fault", by_fault


assert tuple(WATCHABLE) == WATCHABLE_LINES, "the lesson format's watchable lines are the engine's"


def _as_sequence(idx: np.ndarray) -> range | list[int]:
    """The slots as a range where they are evenly spaced (a whole vma, or every n-th page), else a
    list: dealt round-robin or in blocks a range stays a range (slicing it costs nothing), and
    the bulk path reads it as it reads a list, without a Python int per page made or freed."""
    if len(idx) == 1 or (len(idx) > 1 and idx[1] > idx[0] and not (np.diff(idx) != idx[1] - idx[0]).any()):
        step = int(idx[1] - idx[0]) if len(idx) > 1 else 1
        return range(int(idx[0]), int(idx[-1]) + 1, step)
    return idx.tolist()


class Machine(Bulk):
    def __init__(self, scenario: Scenario, kernel: str | None = None, costs: Costs | None = None,
                 record_deltas: bool = True):
        self.scenario = scenario
        pol = policy(kernel or scenario.kernel)
        sockets = [scenario.socket_of(c) for c in range(scenario.cpus)]
        super().__init__(pol, scenario.cpus, sockets, costs or Costs(), scenario.thp_use_zero_page)
        self.rec.keep_deltas = record_deltas
        if record_deltas and scenario.watch:  # a report-only run has no trace to show them in
            self.cache.watch_lines([WATCHABLE[name] for name in scenario.watch], self.rec)
        self._notes_seen: set[str] = set()
        self.step_errno: str | None = None
        self.step_status: list[str] = []
        self.step_signal: list[tuple[str, str, int]] = []
        self.step_dump = [0, 0]
        self._shmem_ids = 0
        self._create_processes()

    # ------------------------------------------------------------------ set-up
    def note_once(self, text: str) -> None:
        if text not in self._notes_seen:
            self._notes_seen.add(text)
            self.notes.append(text)

    def _vma_flags(self, spec) -> int:
        vmf = C.VM_MAPPED | C.VM_MAYWRITE
        vmf |= {"none": 0, "r": C.VM_READ, "rw": C.VM_READ | C.VM_WRITE}[spec.prot]
        if spec.share == "shared":
            vmf |= C.VM_SHARED | C.VM_MAYSHARE | C.VM_FILE  # shmem has a ->fault handler
        if spec.backing == "file":
            vmf |= C.VM_FILE
        if spec.locked:
            vmf |= C.VM_LOCKED  # MAP_LOCKED: the vma is VM_LOCKED from mmap on
        if spec.thp:
            if self.k.has_thp:
                vmf |= C.VM_HUGEPAGE
            else:
                self.note_once(f"thp is ignored under {self.k.id}: transparent huge pages came in 2.6.38")
        return vmf

    def _create_processes(self) -> None:
        sc = self.scenario
        for pspec in sc.processes:
            for name in pspec.instance_names():
                p = self.new_proc(name)
                for spec in sc.vmas_of(pspec.name):
                    shmem = None
                    if spec.share == "shared" and spec.backing == "anon":
                        shmem = self._shmem_ids
                        self._shmem_ids += 1
                    file_key = spec.name if spec.backing == "file" else None
                    self.add_vma(p, spec.name, spec.pages, self._vma_flags(spec), self.next_vpage(p),
                                 spec.backing, file_key, shmem)

    def setup_events(self) -> Iterator[None]:
        """MAP_LOCKED and MAP_POPULATE act at mmap time, before step 0."""
        self.step_index = -1
        sc = self.scenario
        for p in self.procs:
            pspec = sc.spec_of_instance(p.name)
            for spec in sc.vmas_of(pspec.name if pspec else p.name):
                if not (spec.locked or spec.populate):
                    continue
                v = p.vmas[spec.name]
                slots = list(range(v.base, v.base + v.npages))
                if spec.locked:
                    yield from self.populate_walk(p, v, slots, 0, mlock=True)
                else:
                    yield from self.populate_walk(p, v, slots, 0, mlock=False)

    def run_setup(self) -> None:
        if any(s.locked or s.populate for s in self.scenario.vmas):
            self.run_units([0], {0: self.setup_events()})

    def run_steps(self) -> Iterator[StepResult]:
        """Set-up, then each step in turn (the caller may look at the machine between steps)."""
        self.run_setup()
        self.setup_end = self.rec.n_events
        for step in self.scenario.steps:
            yield self.run_step(step)
        if self.bad_suppressed:
            self.notes.append(f"{self.bad_suppressed} further 'BUG: Bad page map' reports were suppressed by "
                              "print_bad_pte's ratelimit (60 a minute)")

    def layout(self) -> Layout:
        return Layout(
            procs=tuple(
                ProcLayout(p.index, p.name,
                           tuple(VmaLayout(v.index, v.name, p.index, v.base, v.npages, v.vpage0, v.backing, v.shared)
                                 for v in p.vmas.values()),
                           p.created_event, p.exit_event)
                for p in self.procs),
            n_slots=len(self.slots),
        )

    def snapshot(self) -> Frame:
        """The live state as a Frame (copies), for reports of runs that keep no trace."""
        sl, fr = self.slots, self.frames
        i = self.rec.n_events
        return Frame(index=i, step=self.step_index, event=i - 1,
                     pte=np.frombuffer(bytes(sl.pte), np.uint8), pfn=np.array(sl.pfn, np.int64),
                     vmf=np.array(sl.vmf, np.uint16), refcount=np.array(fr.refcount, np.int64),
                     mapcount=np.array(fr.mapcount, np.int64), pflags=np.array(fr.flags, np.uint16),
                     fkind=np.frombuffer(bytes(fr.kind), np.uint8), cpu=np.array(self.counters, np.int64),
                     scalars=dict(zip(SCALARS, self.scalar_values())))

    def alive(self, proc: int, frame: int) -> bool:
        """For the live view: whether a process exists now (frame is the current one)."""
        del frame
        return self.procs[proc].alive

    # ------------------------------------------------------------------ steps
    def resolve_procs(self, step: Step) -> list[Proc]:
        if not step.processes:
            return [self.procs[0]]
        out: list[Proc] = []
        for pat in step.processes:
            for p in self.procs:
                if p not in out and (p.name == pat or fnmatch.fnmatchcase(p.name, pat)):
                    out.append(p)
        return out

    def deal(self, items: list, cpus: tuple[int, ...], how: str) -> dict[int, list]:
        n = len(cpus)
        out: dict[int, list] = {c: [] for c in cpus}
        if how == "block":
            per = -(-len(items) // n) if items else 0
            for i, c in enumerate(cpus):
                out[c] = items[i * per:(i + 1) * per]
        elif len(set(cpus)) == n:  # round-robin: every n-th item, sliced at C speed
            for i, c in enumerate(cpus):
                out[c] = items[i::n]
        else:
            for i, it in enumerate(items):
                out[cpus[i % n]].append(it)
        return out

    def run_step(self, step: Step) -> StepResult:
        self.step_index = step.index
        self.step_errno = None
        self.step_status = []
        self.step_signal = []
        self.step_dump = [0, 0]
        first = self.rec.n_events
        self._log_mark = len(self.kernel_log)
        cpus = tuple(step.cpus) or (0,)
        makespan = 0
        procs: list[Proc] = []
        if step.is_narration:
            self.emit_idle(Kind.NARRATE, cpus[0], step.say_for(self.k.id))  # this variant's own words
        else:
            procs = self.resolve_procs(step)
            live = [p for p in procs if p.alive]
            self._check_vma(step, live)
            if not live:
                self.step_errno = "ESRCH"
                self.note_once(f"step {step.index}: no live process matches {list(step.processes)}")
            makespan = self._run_bulk(step, live, cpus)
            if makespan is None:
                makespan = self.run_units(list(cpus), self._work(step, live, cpus))
            if self.rec.n_events == first:
                why = {"read": "every page was already mapped: no fault",
                       "write": "every page was already writable: no fault"}.get(step.do, "nothing to do")
                self.emit_idle(Kind.IDLE, cpus[0], why)
        end = self.rec.n_events
        return self._result(step, procs, first, end, makespan)

    def _check_vma(self, step: Step, procs: list[Proc]) -> None:
        """The one name the loader cannot always check (a process made by a glob or a fork may lack
        the vma): a lesson error naming the step, raised before anything runs. Only this: a KeyError
        anywhere else is a bug in the engine and must surface as one."""
        if step.vma is None:
            return
        missing = [p.name for p in procs if step.vma not in p.vmas]
        if missing:
            raise LessonError([Problem(self.scenario.path, step.source.line, f"step {step.index}",
                                       f'cannot run under {self.k.id}: process {missing[0]} has no vma '
                                       f'"{step.vma}"')])

    def _result(self, step: Step, procs: list[Proc], first: int, end: int, makespan: int) -> StepResult:
        kind, fault = self.rec.recent_columns(first, end, Col.KIND, Col.FAULT)
        outcomes, first_outcome, counts = _outcomes(kind, fault)
        kinds = {key: counts[i + 1] for i, key in enumerate(FAULT_KEYS)}
        faults = sum(kinds.values())
        log = self.kernel_log[self._log_mark:]  # emit appends each event's lines there, in order
        return StepResult(
            index=step.index, do=step.do, processes=tuple(p.name for p in procs), vma=step.vma,
            first_event=first, end_event=end, faults=faults, fault_kinds=kinds, errno=self.step_errno,
            status=tuple(self.step_status) if step.do == "move_pages" else None,
            signal_pages=tuple(pg for _, _, pg in self.step_signal), makespan_ns=makespan, log=tuple(log),
            dump=tuple(self.step_dump) if step.do == "coredump" else None,
            outcomes=outcomes, first_outcome=first_outcome,
        )

    # ------------------------------------------------------------------ per-op work
    def _slots(self, v: Vma, step: Step) -> list[int]:
        return self._slot_array(v, step).tolist()

    def _slot_array(self, v: Vma, step: Step) -> np.ndarray:
        """The step's slots in this vma, in order, as int64."""
        pages = resolve(step.pages, v.npages) if step.pages is not None else np.arange(v.npages)
        return np.asarray(pages, np.int64) + v.base

    def _span(self, v: Vma, step: Step) -> tuple[int, int] | None:
        slots = self._slots(v, step)
        return (slots[0], slots[-1]) if slots else None

    def _work(self, step: Step, procs: list[Proc], cpus: tuple[int, ...]) -> dict[int, Iterator[None]]:
        op = step.do
        if op in ("read", "write"):
            write = op == "write"
            if len(procs) == 1:
                p = procs[0]
                v = p.vmas[step.vma]
                dealt = self.deal(self._slots(v, step), cpus, step.deal)
                return {c: self._access(p, v, s, write, c) for c, s in dealt.items()}
            dealt = self.deal(procs, cpus, step.deal)
            return {c: self._access_many(ps, step, write, c) for c, ps in dealt.items()}
        dealt = self.deal(procs, cpus, step.deal)
        return {c: self._per_proc(ps, step, c) for c, ps in dealt.items()}

    def _run_bulk(self, step: Step, procs: list[Proc], cpus: tuple[int, ...]) -> int | None:
        """The bulk path (bulk.py) for a user read/write of one process's anonymous pages, if it applies."""
        if step.do not in ("read", "write") or len(procs) != 1 or not self.bulk_enabled:
            return None
        p = procs[0]
        v = p.vmas.get(step.vma)
        if v is None:
            return None  # _check_vma has reported it (a lesson error) before this is reached
        write = step.do == "write"
        idx = self._slot_array(v, step)  # (bulk_eligible reads it with numpy: no list to convert back)
        if not self.bulk_eligible(p, v, idx, write):
            return None
        return self.bulk_access(p, v, self.deal(_as_sequence(idx), cpus, step.deal), list(cpus), write)

    def _access(self, p: Proc, v: Vma, slots: list[int], write: bool, cpu: int) -> Iterator[None]:
        for s in slots:
            if self.user_access(p, v, s, write, cpu):
                yield

    def _access_many(self, procs: list[Proc], step: Step, write: bool, cpu: int) -> Iterator[None]:
        for p in procs:
            v = p.vmas[step.vma]
            yield from self._access(p, v, self._slots(v, step), write, cpu)

    def _per_proc(self, procs: list[Proc], step: Step, cpu: int) -> Iterator[None]:
        for p in procs:
            yield from self._syscall(p, step, cpu)

    def _syscall(self, p: Proc, step: Step, cpu: int) -> Iterator[None]:
        op = step.do
        k = self.k
        if op == "fork":
            yield from self.fork(p, step.child or f"{p.name}-child", cpu)
            return
        if op == "exit":
            yield from self.exit_mm(p, cpu)
            return
        if op == "coredump":
            yield from self.dump_walk(p, cpu)
            return
        if op == "smaps":
            yield from self.smaps_walk(p, cpu)
            return
        v = p.vmas[step.vma]
        if op == "gup":
            yield from self.gup_walk(p, v, self._slots(v, step), cpu, step.write, step.force, step.pin,
                                     step.longterm)
            return
        if op == "move_pages":
            yield from self.stat_walk(p, v, self._slots(v, step), cpu)
            return
        span = self._span(v, step)
        if span is None:
            return
        lo, hi = span
        unmapped = np.flatnonzero((self._vmf_view()[lo:hi + 1] & C.VM_MAPPED) == 0)
        hole = lo + int(unmapped[0]) if len(unmapped) else None
        if hole is not None:
            self.step_errno = "ENOMEM"
            if op in ("mlock", "munlock"):
                # apply_vma_lock_flags stops at the hole: only the vmas before it change
                if hole == lo:
                    return
                hi = hole - 1
        if op == "mlock":
            if step.onfault and not k.has_mlock2:
                self.step_errno = "ENOSYS"
                self.note_once(f"mlock2(MLOCK_ONFAULT) came in 4.4: ENOSYS under {k.id}")
                return
            yield from self.split_edges(p, v, lo, hi, cpu)
            changed = self._changing(lo, hi, lock=True)
            yield from self._set_lock(p, v, lo, hi, cpu, lock=True, onfault=step.onfault)
            if step.onfault or (hole is not None and k.mlock_populate is MlockPopulate.MM_POPULATE):
                # MLOCK_ONFAULT populates nothing; nor does a modern mlock that failed on a hole
                # (__mm_populate runs only after every vma was locked)
                yield from self._mlock_present(p, v, lo, hi, cpu)
            elif k.mlock_populate is MlockPopulate.MM_POPULATE:
                yield from self.populate_walk(p, v, list(range(lo, hi + 1)), cpu, mlock=True)
            else:
                # 2.6.x populates inside mlock_fixup, which returns early for a piece already locked
                yield from self.populate_walk(p, v, changed, cpu, mlock=True)
        elif op == "munlock":
            yield from self.split_edges(p, v, lo, hi, cpu)
            changed = self._changing(lo, hi, lock=False)
            yield from self._set_lock(p, v, lo, hi, cpu, lock=False, onfault=False)
            # mlock_fixup returns early where the flags do not change: never-locked pages are not walked
            yield from self.munlock_walk(p, v, changed, cpu)
        elif op == "madvise":
            yield from self._madvise(p, v, lo, hi, step.advice or "", cpu)
        elif op == "mprotect":
            yield from self.mprotect(p, v, lo, hi, step.prot or "rw", cpu)
        elif op == "munmap":
            yield from self.munmap(p, v, lo, hi, cpu)

    def _vmf_view(self) -> np.ndarray:
        """The vma flags of every slot, a numpy view (whole-range steps read and set them at once;
        drop it before the slots grow)."""
        return np.frombuffer(self.slots.vmf, np.uint16)

    def _changing(self, lo: int, hi: int, lock: bool) -> list[int]:
        """The mapped pages of [lo, hi] whose VM_LOCKED changes under mlock (lock) or munlock."""
        vm = self._vmf_view()[lo:hi + 1]
        changes = (vm & C.VM_MAPPED) != 0
        changes &= ((vm & C.VM_LOCKED) != 0) != lock
        return (np.flatnonzero(changes) + lo).tolist()

    def _set_lock(self, p: Proc, v: Vma, lo: int, hi: int, cpu: int, lock: bool, onfault: bool) -> Iterator[None]:
        ev = self.begin(cpu, p.index, lo)
        ev.call(*(self.k.fn.mlock_set if lock else self.k.fn.munlock_set))
        ev.kind = Kind.MLOCK if lock else Kind.MUNLOCK
        bits = C.VM_LOCKED | (C.VM_LOCKONFAULT if onfault else 0)
        ev.decide(("VM_LOCKED" + ("|VM_LOCKONFAULT" if onfault else "") + " set first, then the walk")
                  if lock else "VM_LOCKED cleared first, then the walk")
        vm = self._vmf_view()[lo:hi + 1]
        mapped = np.flatnonzero(vm & C.VM_MAPPED)  # (set_vmf for each, at once)
        if lock:
            vm[mapped] |= bits
        else:
            vm[mapped] &= np.uint16(0xFFFF & ~(C.VM_LOCKED | C.VM_LOCKONFAULT))
        del vm
        ev.dirty_slots.extend((mapped + lo).tolist())
        self.emit()
        yield

    def _mlock_present(self, p: Proc, v: Vma, lo: int, hi: int, cpu: int) -> Iterator[None]:
        """MLOCK_ONFAULT: no populate; mlock_pte_range locks what is already there."""
        for s in range(lo, hi + 1):
            pfn = self.slots.pfn[s]
            if not self.slots.pte[s] & C.PTE_P or self.frames.is_zero(pfn) or self.frames.is_huge_zero(pfn):
                continue
            ev = self.begin(cpu, p.index, s)
            ev.call("mlock_vma_pages_range", "mlock_pte_range")
            ev.kind = Kind.MLOCK
            self._mlock_page(pfn, s, get_put=False)
            self.emit()
            yield

    def _madvise(self, p: Proc, v: Vma, lo: int, hi: int, advice: str, cpu: int) -> Iterator[None]:
        if advice == "dontneed":
            yield from self.dontneed(p, v, lo, hi, cpu)
            return
        if not self.k.has_madv_populate:
            self.step_errno = "EINVAL"
            self.note_once(f"MADV_POPULATE_READ/WRITE came in 5.14: EINVAL under {self.k.id}")
            return
        write = advice == "populate_write"
        for s in range(lo, hi + 1):
            vmf = self.slots.vmf[s]
            bad = self.check_vma_flags(vmf, write, force=False)
            if bad:
                self.step_errno = self.step_errno or ("ENOMEM" if bad == "no vma" else "EINVAL")
                return
            ev = self.begin(cpu, p.index, s)
            ev.call("madvise_populate", "faultin_page_range", "__get_user_pages")
            ev.cost += self.costs.gup_page_ns
            self.gup_resolve(p, v, s, write, anon=False)
            if ev.kind == Kind.IDLE:
                ev.kind = Kind.GUP
                ev.decide("already populated")
            self.emit()
            yield
