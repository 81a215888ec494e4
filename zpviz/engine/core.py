"""The machine's core: processes, vmas, page tables, the event builder and the CPU scheduler.

The kernel paths themselves live in faults.py, walks.py, teardown.py and forking.py as mixins of
Machine; this module owns the state they share and the one place where an event is recorded
(`emit`), so timing, cache lines, deltas and counters can never drift apart.
"""

from __future__ import annotations

import heapq
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np

from zpviz.engine import cache as L
from zpviz.engine import constants as C
from zpviz.engine import rules as R
from zpviz.engine.cache import CacheModel
from zpviz.engine.cancel import Cancelled  # noqa: F401 - raised here, and imported from here by the paths
from zpviz.engine.columns import KEY_MASK, KEY_SHIFT, KEY_STRIDE
from zpviz.engine.costs import Costs
from zpviz.engine.events import FAULT_NONE, Kind
from zpviz.engine.kernels import KernelPolicy
from zpviz.engine.kernels.base import FaultLock, RssCounter
from zpviz.engine.memory import HZERO_PFN, ZERO_PFN, Frames, Slots
from zpviz.engine.record import Recorder

VPAGE_BASE = 0x7F0000000  # first user page number: address 0x7f0000000000
VMA_GAP = C.PTRS_PER_PTE  # a 2 MiB hole between vmas keeps every vma in page tables of its own



def vm_flags_2631(vmf: int) -> int:
    """A vma's vm_flags as 2.6.31 prints them (include/linux/mm.h values, not the model's bits).

    VM_MAYREAD|VM_MAYWRITE|VM_MAYEXEC (0x70) on every mapping here; VM_ACCOUNT (0x100000) only on a
    private writable one (accountable_mapping: a PROT_READ private or a shared mapping is not
    charged). The model does not remember a vma that was writable before mprotect took the write
    bit away, which would still carry VM_ACCOUNT."""
    f = 0x70 | (0x1 if vmf & C.VM_READ else 0) | (0x2 if vmf & C.VM_WRITE else 0)
    f |= (0x8 if vmf & C.VM_SHARED else 0) | (0x80 if vmf & C.VM_MAYSHARE else 0)
    f |= 0x2000 if vmf & C.VM_LOCKED else 0
    if vmf & C.VM_WRITE and not vmf & (C.VM_SHARED | C.VM_MAYSHARE):
        f |= 0x100000
    return f


def upper_table_keys(vpage: int) -> tuple[tuple[int, int], tuple[int, int]]:
    """The upper tables (level, index) above vpage's PTE table that __pte_alloc makes if missing
    (Core.ensure_table; the populate runs make a PTE table only where both exist)."""
    return (3, vpage >> 27), (2, vpage >> 18)


@dataclass
class Vma:
    index: int  # global, stable over the run
    name: str
    proc: int
    base: int  # first slot
    npages: int
    vpage0: int  # virtual page number of page 0
    backing: str  # "anon" | "file"
    file_key: str | None  # page-cache object (file vmas)
    shmem_key: int | None  # shmem object (shared anonymous vmas)
    anon_vma: bool = False  # anon_vma_prepare has run: fork copies this vma's PTEs
    shared: bool = False  # MAP_SHARED

    def vaddr(self, page: int) -> int:
        return (self.vpage0 + page) << 12


@dataclass
class Proc:
    index: int
    name: str
    vmas: dict[str, Vma] = field(default_factory=dict)
    alive: bool = True
    pte_tables: dict[int, int] = field(default_factory=dict)  # vpage // 512 -> pt frame
    upper_tables: dict[tuple[int, int], int] = field(default_factory=dict)  # (level, index) -> frame
    huge_pmds: dict[int, int] = field(default_factory=dict)  # vpage // 512 -> head pfn (THP or HZP)
    hzp_ref: bool = False  # MMF_HUGE_ZERO_FOLIO (was _PAGE): this mm holds one reference on the huge zero page
    gup_refs: list[int] = field(default_factory=list)  # pages a GUP/pin step still holds
    pins: list[int] = field(default_factory=list)
    created_event: int = -1  # the fork event that made it (-1: from the start)
    exit_event: int | None = None


class Ev:
    """An event being built: the code path taken, the lines touched, the work done."""

    __slots__ = ("cpu", "proc", "slot", "kind", "fault", "in_gup", "functions", "decisions", "lines", "cost",
                 "misses", "flags", "dirty_slots", "dirty_frames", "log")

    def __init__(self, cpu: int, proc: int = -1, slot: int = -1):
        self.cpu = cpu
        self.proc = proc
        self.slot = slot
        self.kind = Kind.IDLE
        self.fault = FAULT_NONE
        self.in_gup = False
        self.functions: list[str] = []
        self.decisions: list[str] = []
        self.lines: list[tuple[int, bool]] = []
        self.cost = 0
        self.misses = 0  # extra cold-line misses (a cleared or copied page's PAGE_LINES)
        self.flags = 0
        self.dirty_slots: list[int] = []
        self.dirty_frames: list[int] = []
        self.log: list[str] = []

    def call(self, *fns: str) -> None:
        self.functions.extend(fns)

    def decide(self, why: str) -> None:
        self.decisions.append(why)

    def write(self, line: int) -> None:
        self.lines.append((line, True))

    def read(self, line: int) -> None:
        self.lines.append((line, False))


class Core:
    """State and bookkeeping shared by every kernel path."""

    k: KernelPolicy
    # called every 4,096 events with the number of events so far; returning False cancels the run
    progress: Callable[[int], bool | None] | None = None
    # other CPUs' work waiting in run_units while one CPU's runs (0: it runs alone, so nothing can
    # come between its events; 1 outside run_units, where nothing is known)
    units_waiting = 1
    # run_units' count of the work's steps (one event each) before the current one: a writer of
    # many events in one step (populate_runs.py) makes the progress calls of those it stands for
    # and moves the count on by them
    units_tick = 0

    def __init__(self, policy: KernelPolicy, ncpus: int, sockets: list[int], costs: Costs,
                 thp_use_zero_page: bool = True):
        self.k = policy
        self._rss_atomic = policy.rss_counter is RssCounter.ATOMIC
        self._mmap_sem = policy.fault_lock is FaultLock.MMAP_SEM
        self.fault_fn = policy.fn.fault_entry
        self.ncpus = ncpus
        self.costs = costs
        self.thp_use_zero_page = thp_use_zero_page
        self.slots = Slots()
        self.frames = Frames()
        self.cache = CacheModel(ncpus, sockets, costs)
        self.rec = Recorder()
        self.counters = [[0] * C.N_CPU_COUNTERS for _ in range(ncpus)]  # live per-CPU totals
        self.procs: list[Proc] = []
        self.vmas: list[Vma] = []
        self.slot_vma = array("l")  # slot -> global vma index
        self.slot_vpage = array("q")  # slot -> virtual page number (address >> 12)
        self.page_cache: dict[str, dict[int, int]] = {}  # file -> page -> pfn
        self.shmem: dict[int, dict[int, int]] = {}  # shmem object -> page -> pfn
        self.clock = [0] * ncpus
        self.now = 0
        self.step_index = -1
        self.rss_pages = 0
        self.zp_ref = 0  # change of the zero page's refcount since boot
        self.zp_map = 0
        self.hzp_ref = 0
        self.bad_pages = 0
        self.bad_shown = 0  # print_bad_pte's ratelimit: 60 reports a minute
        self.bad_suppressed = 0
        self.bad_tainted = False  # TAINT_BAD_PAGE: set by the first report printed
        self.bad_resume_ns = 0
        self.kernel_log: list[str] = []
        self.notes: list[str] = []
        self.pcp = [0] * ncpus  # pages on each CPU's per-cpu free list
        self.ev: Ev = Ev(0)

    # ----------------------------------------------------------------- views of the live state
    def scalar_values(self) -> tuple[int, ...]:
        """The machine-wide series now, in columns.Scalar order (time_ns first)."""
        cm, fr = self.cache, self.frames
        return (self.now, self.zp_ref, self.zp_map, cm.zero_writes, cm.zero_transfers, self.hzp_ref,
                cm.hzero_writes, cm.hzero_transfers, fr.used, fr.pt, self.rss_pages, self.bad_pages)

    # ----------------------------------------------------------------- processes and vmas
    def new_proc(self, name: str) -> Proc:
        p = Proc(len(self.procs), name)
        self.procs.append(p)
        return p

    def add_vma(self, p: Proc, name: str, npages: int, vmf: int, vpage0: int, backing: str,
                file_key: str | None, shmem_key: int | None) -> Vma:
        base = self.slots.extend(npages, vmf)
        v = Vma(len(self.vmas), name, p.index, base, npages, vpage0, backing, file_key, shmem_key,
                shared=bool(vmf & C.VM_SHARED))
        self.vmas.append(v)
        self.slot_vma.extend(array("l", [v.index]) * npages)
        self.slot_vpage.frombytes(np.arange(vpage0, vpage0 + npages, dtype=np.int64).tobytes())
        p.vmas[name] = v
        return v

    def next_vpage(self, p: Proc) -> int:
        end = VPAGE_BASE
        for v in p.vmas.values():
            end = max(end, v.vpage0 + v.npages)
        end += VMA_GAP
        return -(-end // C.HPAGE_PAGES) * C.HPAGE_PAGES

    def vpage(self, slot: int) -> int:
        return self.slot_vpage[slot]

    # ----------------------------------------------------------------- events
    def begin(self, cpu: int, proc: int = -1, slot: int = -1) -> Ev:
        self.ev = Ev(cpu, proc, slot)
        return self.ev

    def emit(self) -> None:
        """Record the event being built: timing through the cache model, deltas, counters, log."""
        ev = self.ev
        rec = self.rec
        e = rec.n_events
        cpu = ev.cpu
        t0 = self.clock[cpu]
        out: list[int] = []
        t = self.cache.access(cpu, t0, ev.lines, out) + ev.cost
        if ev.misses:
            out += (cpu * KEY_STRIDE + C.C_MISSES, ev.misses)  # (columns.counter_key, inlined)
        self.clock[cpu] = t
        if t > self.now:
            self.now = t
        path = rec.path_id(tuple(ev.functions), "; ".join(ev.decisions))
        slots = self.slots
        pfn = slots.pfn[ev.slot] if ev.slot >= 0 else -1
        # one row in columns.Col order, then one in TimeCol order
        rec.evi.extend((self.step_index, cpu, ev.kind, path, ev.proc, ev.slot, pfn, ev.fault, ev.flags))
        rec.evt.extend((t0, t))
        rec.n_events = e + 1
        if ev.log:
            rec.logs[e] = list(ev.log)
            self.kernel_log.extend(ev.log)
        if not rec.keep_deltas:  # no trace: keep only the running per-CPU totals
            counters = self.counters
            for j in range(0, len(out), 2):
                counters[out[j] >> KEY_SHIFT][out[j] & KEY_MASK] += out[j + 1]
            return
        ds = ev.dirty_slots
        if len(ds) > 1:
            ds = list(dict.fromkeys(ds))
        sd_slot, sd_pte, sd_pfn, sd_vmf = rec.sd  # (columns.Sd order; Fd below)
        if len(ds) > 64:  # a whole range (mlock_fixup, mprotect): gathered at once
            at = np.array(ds, np.int64)
            for col, values in ((sd_slot, at), (sd_pte, np.frombuffer(slots.pte, np.uint8)[at]),
                                (sd_pfn, np.frombuffer(slots.pfn, np.int64)[at]),
                                (sd_vmf, np.frombuffer(slots.vmf, np.uint16)[at])):
                col.frombytes(values.astype(np.int32).tobytes())
        else:
            for s in ds:
                sd_slot.append(s)
                sd_pte.append(slots.pte[s])
                sd_pfn.append(slots.pfn[s])
                sd_vmf.append(slots.vmf[s])
        rec.sd_n.append(len(ds))
        fr = self.frames
        df = ev.dirty_frames
        if len(df) > 1:
            df = list(dict.fromkeys(df))
        fd_pfn, fd_ref, fd_map, fd_flags, fd_kind = rec.fd
        for f in df:
            fd_pfn.append(f)
            fd_ref.append(fr.refcount[f])
            fd_map.append(fr.mapcount[f])
            fd_flags.append(fr.flags[f])
            fd_kind.append(fr.kind[f])
        rec.fd_n.append(len(df))
        cd_key, cd_value = rec.cd  # (columns.Cd order)
        cd_key.extend(out[0::2])
        cd_value.extend(out[1::2])
        rec.cd_n.append(len(out) // 2)
        rec.scalars.extend(self.scalar_values()[1:])  # columns.Stored: time_ns is the running max of t1

    def emit_idle(self, kind: Kind, cpu: int, why: str) -> None:
        self.begin(cpu)
        self.ev.kind = kind
        self.ev.decide(why)
        self.emit()

    # ----------------------------------------------------------------- state helpers
    def set_slot(self, slot: int, pte: int, pfn: int | None = None) -> None:
        self.slots.pte[slot] = pte
        if pfn is not None:
            self.slots.pfn[slot] = pfn
        self.ev.dirty_slots.append(slot)

    def set_vmf(self, slot: int, vmf: int) -> None:
        self.slots.vmf[slot] = vmf
        self.ev.dirty_slots.append(slot)

    def touch_frame(self, pfn: int) -> None:
        self.ev.dirty_frames.append(pfn)
        self.ev.write(L.struct_page_line(pfn))

    def get_page(self, pfn: int, n: int = 1) -> None:
        """Take (or with n<0 drop) references. The zero page's are counted for the report."""
        fr = self.frames
        if pfn == ZERO_PFN:
            self.zp_ref += n
            fr.refcount[pfn] += n
            self.ev.dirty_frames.append(pfn)
            self.ev.write(L.ZERO_LINE)
            return
        if HZERO_PFN <= pfn < HZERO_PFN + C.HPAGE_PAGES:
            self.hzp_ref += n
            fr.refcount[HZERO_PFN] += n
            self.ev.dirty_frames.append(HZERO_PFN)
            self.ev.write(L.HZERO_LINE)
            return
        if fr.flags[pfn] & (C.PG_HEAD | C.PG_TAIL):  # a THP is counted on its head
            head = pfn - pfn % C.HPAGE_PAGES
            fr.refcount[head] += n
            self.touch_frame(head)
            self.thp_put(head)
            return
        fr.refcount[pfn] += n
        self.touch_frame(pfn)
        if fr.refcount[pfn] <= 0:
            self.free_frame(pfn)

    def add_map(self, pfn: int, n: int = 1) -> None:
        fr = self.frames
        if pfn == ZERO_PFN:
            self.zp_map += n
            fr.mapcount[pfn] += n
            self.ev.dirty_frames.append(pfn)
            self.ev.write(L.ZERO_LINE)
            return
        fr.mapcount[pfn] += n
        self.touch_frame(pfn)

    def unmap_page(self, pfn: int) -> None:
        """Drop one PTE mapping of a normal page: mapcount and the mapping's reference.

        A piece of a THP is accounted on its head, and the THP goes when its last piece does.
        """
        fr = self.frames
        if fr.flags[pfn] & (C.PG_HEAD | C.PG_TAIL):
            self.thp_unmap(pfn - pfn % C.HPAGE_PAGES, 1)
            return
        self.add_map(pfn, -1)
        if fr.kind[pfn] == C.FK_ANON and fr.mapcount[pfn] == 0:
            fr.flags[pfn] &= ~(C.PG_MLOCKED | C.PG_UNEVICTABLE)
        self.get_page(pfn, -1)

    def thp_unmap(self, head: int, n: int) -> None:
        """n pages of a THP stop being mapped. The mappings together hold one reference."""
        fr = self.frames
        fr.mapcount[head] -= n
        self.touch_frame(head)
        if fr.mapcount[head] <= 0:
            fr.refcount[head] -= 1
            self.thp_put(head)

    def thp_put(self, head: int) -> None:
        fr = self.frames
        if fr.mapcount[head] <= 0 and fr.refcount[head] <= 0 and fr.kind[head] != C.FK_FREE:
            self.release_huge(head)

    def map_page_again(self, pfn: int) -> None:
        """One more PTE mapping of a normal page (fork, a second process faulting a shared page)."""
        fr = self.frames
        if fr.flags[pfn] & (C.PG_HEAD | C.PG_TAIL):
            head = pfn - pfn % C.HPAGE_PAGES
            fr.mapcount[head] += 1
            self.touch_frame(head)
            return
        fr.flags[pfn] &= ~C.PG_ANON_EXCLUSIVE
        self.add_map(pfn)
        self.get_page(pfn)

    def alloc_frame(self, kind: int, charge: bool = True) -> int:
        """The page allocator: per-cpu lists, refilled in batches under the zone lock. charge:
        add its time to the event (callers that charge the whole job themselves do not)."""
        cpu = self.ev.cpu
        if self.pcp[cpu] == 0:
            self.ev.write(L.ZONE_LOCK)
            self.pcp[cpu] = R.PCP_BATCH
        self.pcp[cpu] -= 1
        pfn = self.frames.alloc(kind)
        if charge:
            self.ev.cost += self.costs.alloc_page_ns
        self.touch_frame(pfn)
        return pfn

    def alloc_huge(self) -> int:
        head = self.frames.alloc_huge()
        self.ev.dirty_frames.extend(range(head, head + C.HPAGE_PAGES))
        self.ev.cost += self.costs.alloc_page_ns
        return head

    def release_huge(self, head: int) -> None:
        self.frames.release_huge(head)
        self.ev.dirty_frames.extend(range(head, head + C.HPAGE_PAGES))
        self.ev.cost += self.costs.free_page_ns

    def free_frame(self, pfn: int) -> None:
        cpu = self.ev.cpu
        self.pcp[cpu] += 1
        if self.pcp[cpu] >= R.PCP_HIGH:
            self.ev.write(L.ZONE_LOCK)
            self.pcp[cpu] -= R.PCP_BATCH
        self.frames.release(pfn)
        self.ev.cost += self.costs.free_page_ns
        self.ev.dirty_frames.append(pfn)

    def ensure_table(self, p: Proc, vpage: int) -> None:
        """Allocate the PTE table (and PMD/PUD tables above it) covering vpage, as __pte_alloc does."""
        t = vpage // C.PTRS_PER_PTE
        if t in p.pte_tables:
            return
        for key in upper_table_keys(vpage):
            if key not in p.upper_tables:
                p.upper_tables[key] = self._alloc_pt()
        p.pte_tables[t] = self._alloc_pt()

    def _alloc_pt(self) -> int:
        pfn = self.alloc_frame(C.FK_PT, charge=False)
        self.ev.cost += R.page_table_ns(self.costs)
        return pfn

    def free_tables(self, p: Proc, tables: list[int]) -> None:
        for t in tables:
            pfn = p.pte_tables.pop(t, None)
            if pfn is not None:
                self.free_frame(pfn)
                self.cache.forget(L.ptl_line(p.index, t * C.PTRS_PER_PTE))

    def free_all_tables(self, p: Proc) -> None:
        self.free_tables(p, list(p.pte_tables))
        for key in list(p.upper_tables):
            self.free_frame(p.upper_tables.pop(key))

    def rss(self, n: int) -> None:
        self.rss_pages += n
        if self._rss_atomic:  # 2.6.x: mm-wide atomics, one line per mm that every CPU writes
            self.ev.lines.append((L.mm_counter_line(self.ev.proc), True))

    def fault_lock(self, p: Proc, v: Vma) -> None:
        if self._mmap_sem:
            self.ev.lines.append((L.mmap_lock_line(p.index), True))
        else:
            self.ev.lines.append((L.vma_lock_line(p.index, v.index), True))

    def wp_zero_lines(self, p: Proc) -> list[int]:
        """The extra lines rules.WP_ZERO has do_wp_page write on the zero page, as line ids."""
        ids = {"zero_page": L.ZERO_LINE, "mmap_lock": L.mmap_lock_line(p.index)}
        return [ids[name] for name in R.WP_ZERO.extra_lines]

    def pte_lock(self, p: Proc, slot: int) -> None:
        vp = self.slot_vpage[slot]  # (cache.ptl_line and pte_line, a call fewer each: every fault takes this)
        self.ev.lines += ((L.ptl_line_at(p.index, vp // C.PTRS_PER_PTE), True),
                          (L.pte_line_at(p.index, vp // C.PTES_PER_LINE), True))

    # ----------------------------------------------------------------- Bad page map
    def print_bad_pte(self, p: Proc, slot: int, where: str) -> None:
        """What vm_normal_page prints for a special PTE it does not expect; ratelimited like the kernel."""
        self.bad_pages += 1
        self.ev.flags |= 1
        self.ev.call("print_bad_pte")
        now = self.clock[self.ev.cpu]
        if self.bad_shown == 60:
            if now < self.bad_resume_ns:
                self.bad_suppressed += 1
                return
            if self.bad_suppressed:
                self.ev.log.append(f"BUG: Bad page map: {self.bad_suppressed} messages suppressed")
                self.bad_suppressed = 0
            self.bad_shown = 0
        if self.bad_shown == 0:
            self.bad_resume_ns = now + 60 * 1_000_000_000
        self.bad_shown += 1
        v = self.vmas[self.slot_vma[slot]]
        # x86-64 PTE bits: present 0x1, user 0x4, accessed 0x20, special 0x200; a mapping without
        # PROT_EXEC also has NX (bit 63), as every mapping of the lessons does
        pte = (1 << 63) | (self.slots.pfn[slot] << 12) | 0x225
        vmf = self.slots.vmf[slot]
        self.ev.log.append(f"BUG: Bad page map in process {p.name}  pte:{pte:016x} pmd:"
                           f"{(p.pte_tables.get(self.vpage(slot) // C.PTRS_PER_PTE, 0) << 12) | 0x67:08x}")
        self.ev.log.append(f"addr:{v.vaddr(slot - v.base):016x} vm_flags:{vm_flags_2631(vmf):08x} anon_vma:"
                           f"{'ffff88003e1c2a50' if v.anon_vma else '(null)'} mapping:(null) index:"
                           f"{v.vaddr(slot - v.base) >> 12:x}")  # the path (`where` and above) is the call trace below
        # then dump_stack(), and only after it add_taint(TAINT_BAD_PAGE): the first report of a boot
        # says "Not tainted", every later one carries the B flag
        taint = "Tainted: G    B" if self.bad_tainted else "Not tainted"
        self.bad_tainted = True
        self.ev.log.append(f"Pid: {1000 + p.index}, comm: {p.name[:15]} {taint} {self.k.release}")
        self.ev.log.append("Call Trace:")
        self.ev.log.extend(f" {fn}" for fn in reversed(self.ev.functions))

    # ----------------------------------------------------------------- scheduling
    def run_units(self, cpus: list[int], work: dict[int, Iterator[None]]) -> int:
        """Run per-CPU work to completion, earliest clock first (ties: lowest CPU).

        Each iterator performs one event per `next()`. All CPUs of the step start together at
        the machine's current time (the barrier) and the step ends when the last one is done.
        Returns the step's makespan in ns.
        """
        start = self.now
        for c in cpus:
            self.clock[c] = start
        heap = [(start, c) for c in cpus if c in work]
        heapq.heapify(heap)
        progress = self.progress
        tick = 0
        try:
            while heap:
                _, c = heapq.heappop(heap)
                self.units_waiting = len(heap)
                self.units_tick = tick
                try:
                    next(work[c])
                except StopIteration:
                    continue
                heapq.heappush(heap, (self.clock[c], c))
                tick = self.units_tick + 1
                if progress is not None and tick % 4096 == 0 and progress(self.rec.n_events) is False:
                    raise Cancelled(f"cancelled after {self.rec.n_events:,} events")
        finally:
            self.units_waiting = 1
            self.units_tick = 0
        end = max([self.clock[c] for c in cpus] + [start])
        self.now = max(self.now, end)
        self.cache.expire(self.now)
        return end - start
