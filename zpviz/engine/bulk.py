"""The bulk path: a user read or write step over one private anonymous vma, in one lean loop.

Such steps are most of the events of a big lesson (a 1 GiB region read, then written), and
the general path spends most of its time on bookkeeping that these faults do not need: an Ev
object per event, generators, function-name lists, de-duplication. This loop makes exactly the
same decisions in exactly the same order, through the same cache model and the same recorder,
so its trace is identical to the general path's (tests/engine/test_bulk.py compares the two
record by record, for every variant). Anything it does not cover falls back before a single
event is recorded: the step's pages must all be readable/writable, private, anonymous, not
THP-eligible, not locked, and (for writes) either empty, writable already or mapping the zero
page. Page-table allocation, rare here (one table per 512 pages), goes through the general
helpers so that code exists once.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator

import numpy as np

from zpviz.engine import cache as L
from zpviz.engine import constants as C
from zpviz.engine import populate as populate_lean
from zpviz.engine import rules as R
from zpviz.engine.columns import KEY_MASK, KEY_SHIFT, KEY_STRIDE, N_INT
from zpviz.engine.core import Cancelled, Proc, Vma
from zpviz.engine.distinct import distinct
from zpviz.engine.events import FAULT_COW, FAULT_READ, FAULT_WRITE, Kind
from zpviz.engine.forking import Forking
from zpviz.engine.kernels.base import CowFromZero, FaultLock, ReadFaultZero, RssCounter, ZeroTest
from zpviz.engine.memory import ZERO_PFN
from zpviz.engine.period import PeriodSkipper
from zpviz.engine.probe import PROBE_VMF, Shapes, fault_shapes
from zpviz.engine.record import RecordBatch
from zpviz.engine.sweep import Sweep

P, W, D, A, S = C.PTE_P, C.PTE_W, C.PTE_D, C.PTE_A, C.PTE_S
_EXCLUDED = C.VM_FILE | C.VM_SHARED | C.VM_MAYSHARE | C.VM_LOCKED
# The roles (probe.py) of the lines the loop writes: the step's fixed lines, each as often as the
# general path wrote it, and once each the fault's own PTE-table lock, PTE line and new page.
FIXED_ROLES = ("lock", "mm", "zero", "mmap")
FAULT_ROLES = ("ptl", "pte", "page")


def recipe(roles: tuple[str, ...], alloc: bool) -> tuple[str, ...] | None:
    """The roles as the loop's recipe for a fault, or None where it does not know them: the fault
    lock first (a new page table's lines go right after it, as __pte_alloc takes them under it),
    then fixed lines and, once each, the PTE-table lock, the PTE line and (for a fault that
    allocates, `alloc`) the new page, where the anon_vma's mmap_lock and the zone lock go right
    before it when the fault takes them (Core.alloc_frame's order). Any other role (a line the
    loop has no id for) refuses."""
    if not roles or roles[0] != "lock" or any(r not in FIXED_ROLES + FAULT_ROLES for r in roles):
        return None
    if any(roles.count(r) != 1 for r in ("ptl", "pte")) or roles.count("page") != alloc:
        return None
    return roles

def _linear_move(move) -> int:
    """The id move of one unit for a cache.py move function that is linear (move(n) == n * move(1)),
    checked over the counts a step can reach; AssertionError otherwise (cache.py's ids changed
    shape, and the loop's arithmetic must follow)."""
    unit = move(1)
    for n in (0, 2, 3, 511, 512, 1 << 20, (1 << 27) + 5):
        assert move(n) == n * unit, f"{move.__name__} is not linear"
    return unit


# The policy values the loop spells out, each branch of it: a value outside these (a mechanism
# added later) sends the step to the general path instead of into some `else`.
ALLOWED = {
    "read_fault_zero": set(ReadFaultZero), "zero_test": set(ZeroTest), "cow_from_zero": set(CowFromZero),
    "rss_counter": set(RssCounter), "fault_lock": set(FaultLock),
}

class Bulk(Forking):
    bulk_enabled = True  # tests turn it off to compare against the general path
    period_skip = True  # and this, to compare the skip against the bulk loop alone
    micro_skip = True  # and this, to compare the memoised stretches (micro.py) against periods alone
    sweep_enabled = True  # and this, to compare the sweep (sweep.py) against the bulk loop
    populate_enabled = True  # and this, to compare the lean populate walk (populate.py) against the general one
    skipped_events = 0  # events written by period skips (for tests and benchmarks)
    prefix_events = 0  # of those, the ones written as a prefix of a known future (period._prefix)
    swept_events = 0  # faults the sweep played (for tests and benchmarks)
    sweep_skipped = 0  # of those, faults its period skip wrote at once (sweep_period.py; a benchmark figure)
    populated_pages = 0  # pages the lean populate walk played (for tests and benchmarks)
    # The step after which the run drops the cache model's per-line state (run.py without
    # keep_machine: its last step): the sweep of that step need not write its lines' owners,
    # which nobody reads (Sweep._write). None: every step's state is kept.
    lines_dropped_after: int | None = None
    _shapes: Shapes | None = None
    populate_runs = True  # and this, to compare the populate runs (populate_runs.py) with the walk page by page
    batched_pages = 0  # of the pages the lean populate walk played, those its runs wrote at once (populate_runs.py)
    batched_tables = 0  # the PTE tables those runs made (a table's first page played in a run)

    def populate_walk(self, p: Proc, v: Vma, slots: list[int], cpu: int, mlock: bool) -> Iterator[None]:
        """Walks.populate_walk; its fresh private anonymous pages lean (populate.py), where allowed."""
        if not (self.bulk_enabled and self.populate_enabled and populate_lean.usable(self)):
            return super().populate_walk(p, v, slots, cpu, mlock)
        return populate_lean.lean_walk(self, p, v, slots, cpu, mlock, super().populate_walk)

    def fault_shapes(self) -> Shapes:
        """The general path's answer for the faults this loop spells out (probe.py), once a run."""
        if self._shapes is None:
            self._shapes = fault_shapes(self.k, self.costs, self.thp_use_zero_page)
        return self._shapes

    def loop_recipes(self) -> dict[str, tuple[str, ...] | None]:
        """The lines the loop below writes for each warm fault (read, write to an empty PTE, write
        to the zero page), by role: the general path's own (probe.py), where the loop knows every
        role (`recipe`), else None (the loop refuses that fault). The loop spells out no line
        order of its own: it writes a fault's lines in the order of these roles."""
        shapes = self.fault_shapes()
        alloc_read = R.read_anon(self.k, PROBE_VMF).zero_pte is None
        return dict(read=recipe(shapes.read.roles, alloc_read), write=recipe(shapes.write.roles, True),
                    cow=recipe(shapes.cow.roles, True) if shapes.cow else None)

    def bulk_eligible(self, p: Proc, v: Vma, slots: list[int] | np.ndarray, write: bool) -> bool:
        """Whether every page of the step takes a fault (or none) that the bulk loop covers: the
        allow-list. It touches no state."""
        if not len(slots) or not all(getattr(self.k, f) in values for f, values in ALLOWED.items()):
            return False
        if not L.writes_agree(self.costs, self.cache.socket):
            return False  # CacheModel.access_writes, which the loop calls, is not access's rule any more
        idx = np.asarray(slots, dtype=np.int64)
        vmf = np.frombuffer(self.slots.vmf, np.uint16)[idx]
        need = C.VM_MAPPED | (C.VM_WRITE if write else C.VM_READ)
        if ((vmf & need) != need).any() or (vmf & _EXCLUDED).any():
            return False  # SIGSEGV, shared, file and locked pages take other paths
        if self.k.has_thp and (vmf & C.VM_HUGEPAGE).any():
            return False
        if p.huge_pmds:
            vp = np.frombuffer(self.slot_vpage, np.int64)[idx]
            if not set(distinct(vp // C.PTRS_PER_PTE).tolist()).isdisjoint(p.huge_pmds):
                return False
        # the faults as the general path plays them (probe.py): lines the loop knows (recipe)
        recipes = self.loop_recipes()
        if write:
            pte = np.frombuffer(self.slots.pte, np.uint8)[idx]
            pfn = np.frombuffer(self.slots.pfn, np.int64)[idx]
            read_only = (pte & P != 0) & (pte & W == 0)
            if (read_only & (pfn != ZERO_PFN)).any():
                return False  # a COW of a real page: the general path
            if ((pte & P) == 0).any() and recipes["write"] is None:
                return False
            if read_only.any() and recipes["cow"] is None:
                return False
        else:
            rule = R.read_anon(self.k, PROBE_VMF)
            flags = np.flatnonzero(np.bincount(vmf)).tolist()  # the distinct vma flags of the step's pages
            if recipes["read"] is None or any(R.read_anon(self.k, x) != rule for x in flags):
                return False
        return True

    def bulk_access(self, p: Proc, v: Vma, work: dict[int, list[int]], cpus: list[int], write: bool) -> int:
        """Run the step's faults, CPUs interleaved by clock exactly as Core.run_units does.

        Returns the makespan in ns. The loop keeps what it touches on every event in locals
        (written back before anything else can look) and spells out Core.emit for its shapes."""
        if self.sweep_enabled:
            sweep = Sweep(self, p, v, work, cpus, write)
            if sweep.worth() and sweep.plan():
                return sweep.play()
        k, rec, fr = self.k, self.rec, self.frames
        spte, spfn, svmf, svpage = self.slots.pte, self.slots.pfn, self.slots.vmf, self.slot_vpage
        refc, mapc, fflags, fkind = fr.refcount, fr.mapcount, fr.flags, fr.kind
        cm = self.cache
        access = cm.access_writes
        clock, pcp, counters = self.clock, self.pcp, self.counters
        keep = rec.keep_deltas
        # records go to flat lists first (RecordBatch), a few hundred events at a time into the
        # recorder's arrays; the Sd list holds exactly one page per event here
        batch = RecordBatch(rec)
        evi_b, evt_b, sd_b, fd_b, fdn_b, cd_b, cdn_b, sc_b = batch.lists()
        flush = batch.flush
        step, pidx, fault_fn = self.step_index, p.index, self.fault_fn
        lock_line = L.mmap_lock_line(pidx) if self._mmap_sem else L.vma_lock_line(pidx, v.index)
        mmap_line, zone_line, zero_line = L.mmap_lock_line(pidx), L.ZONE_LOCK, L.ZERO_LINE
        # each fault's lines, in the general path's order (loop_recipes): a list of the step's
        # fixed lines with 0 where the fault's PTE-table lock, PTE line and page go, and those places
        fixed = {"lock": lock_line, "mm": L.mm_counter_line(pidx), "zero": zero_line, "mmap": mmap_line}
        recipes = {kind: roles for kind, roles in self.loop_recipes().items() if roles is not None}
        plans = {kind: ([fixed.get(r, 0) for r in roles], roles.index("ptl"), roles.index("pte"),
                        roles.index("page") if "page" in roles else -1) for kind, roles in recipes.items()}
        read_plan, write_plan, cow_plan = plans.get("read"), plans.get("write"), plans.get("cow")
        mm_line = fixed["mm"] if any("mm" in roles for roles in recipes.values()) else None
        # the step's PTE lines and PTE-table locks: the process's first, moved (cache.py's ids)
        pte_base, ptl_base = L.pte_line_at(pidx, 0), L.ptl_line_at(pidx, 0)
        # the moves are linear in what they count (ids are bit fields): one unit each, times the
        # count, spares two calls per fault; _linear_move checks that cache.py still makes them so
        pte_unit, ptl_unit = _linear_move(L.pte_line_move), _linear_move(L.ptl_line_move)
        page_line = L.struct_page_line
        tables = p.pte_tables
        # the faults' decisions: rules.py's, a read's per vma flags (looked up once per distinct
        # flags), a zero-page COW's for the step
        cow_rule = R.cow_zero(k)
        copy_cow, drops_zero, cow_decision = cow_rule.copy, cow_rule.drops_zero_page, cow_rule.decision
        read_rules: dict[int, tuple] = {}  # vmf -> (index, functions, decision, zero PTE or None, refcounted)
        # each fault's cost and cold misses: the general path's (bulk_eligible checked the lines)
        shapes = self.fault_shapes()
        read_ns, read_misses = shapes.read.cost, shapes.read.misses
        write_ns, write_misses = shapes.write.cost, shapes.write.misses
        cow_ns, cow_misses = (shapes.cow.cost, shapes.cow.misses) if shapes.cow else (0, 0)
        miss_key, key_stride = C.C_MISSES, KEY_STRIDE
        pcp_batch = R.PCP_BATCH
        new_flags = R.NEW_ANON_FLAGS
        new_pte = {writable: R.new_anon_pte(writable) for writable in (False, True)}
        fk_anon = C.FK_ANON
        free = fr.free
        head = (fault_fn, "handle_mm_fault", "handle_pte_fault")
        f_anon = head + ("do_anonymous_page",)
        f_wp, f_wp_special = head + R.wp_zero_functions(k.fn, False), head + R.wp_zero_functions(k.fn, True)
        paths: dict[int, int] = {}  # a small code for each path this step takes -> its id

        def path(key: int, functions: tuple[str, ...], decision: str) -> int:
            i = paths.get(key)
            if i is None:
                i = paths[key] = rec.path_id(functions, decision)
            return i

        start = self.now
        for c in cpus:
            clock[c] = start
        pos = dict.fromkeys(work, 0)
        heap = [(start, c) for c in cpus if c in work]
        heapq.heapify(heap)
        progress = self.progress
        now = self.now
        tick = 0
        skip = None
        # the period skip and its memoised stretches write events without the cache model, so no
        # watched line's transitions: a step that writes a watched line is played fault by fault.
        # This loop writes the zero page's line only as the read rule's refcounting (which no
        # read rule decides by vma flags) or a zero-page COW's; never the huge zero page's.
        writes_zero = any("zero" in recipes.get(kind, ()) for kind in (("write", "cow") if write else ("read",)))
        if self.period_skip and not (cm.watch >> C.LK_ZERO & 1 and writes_zero):
            shared = dict(lock=lock_line, mmap=mmap_line, zone=zone_line, zero=zero_line)
            if mm_line:
                shared["mm"] = mm_line
            # (whether faults allocate only tunes when the stretches are tried)
            allocating = write or R.read_anon(k, C.VM_MAPPED | C.VM_READ).zero_pte is None
            skip = PeriodSkipper.for_step(self, p, v, work, cpus, shared, allocating=allocating)
        allocs = skip.allocs if skip else None
        skip_cpu, skip_every, skip_period, skip_resume = (
            (skip.c0, skip.checkpoint_every, skip.every, skip.resume_at) if skip else (-1, 1, 1, 0))
        zp_ref, zp_map, rss = self.zp_ref, self.zp_map, self.rss_pages
        hzp_ref, bad = self.hzp_ref, self.bad_pages
        while heap:
            c = heapq.heappop(heap)[1]
            lst = work[c]
            i = pos[c]
            n = len(lst)
            if c == skip_cpu and i < n and not i % skip_every and (i >= skip_resume or not i % skip_period):
                flush()
                self.zp_ref, self.zp_map, self.rss_pages = zp_ref, zp_map, rss
                done = skip.checkpoint(pos, heap)
                skip_resume = skip.resume_at
                zp_ref, zp_map, rss = self.zp_ref, self.zp_map, self.rss_pages
                if done:  # whole periods written at once: every CPU moved on by the same time
                    heap = [(clock[x], x) for _, x in heap] + [(clock[c], c)]
                    heapq.heapify(heap)
                    now = max(now, max(t for t, _ in heap))
                    if progress is not None:  # the calls the skipped events would have made, in order
                        first = rec.n_events - tick - done
                        for m in range((tick // 4096 + 1) * 4096, tick + done + 1, 4096):
                            if progress(first + m) is False:
                                raise Cancelled(f"cancelled after {first + m:,} events")
                    tick += done
                    continue
            while i < n:  # the next page that faults; the others need no kernel at all
                s = lst[i]
                i += 1
                pte = spte[s]
                if not pte & P or (write and not pte & W):
                    break
            else:
                pos[c] = i
                continue
            pos[c] = i
            t0 = clock[c]
            vp = svpage[s]
            cost = 0
            dirty: list[int] = []
            table_lines = None
            if vp >> 9 not in tables:  # __pte_alloc: the general helpers, with an event to charge
                ev = self.begin(c, pidx, s)
                self.ensure_table(p, vp)
                table_lines = [ln for ln, _ in ev.lines]
                cost += ev.cost
                dirty = ev.dirty_frames
                if allocs is not None:
                    allocs[c] += len(dirty)
            misses = 0
            pl = ptl_base + (vp >> 9) * ptl_unit  # (vp >> 9, >> 3: vp // PTRS_PER_PTE, // PTES_PER_LINE)
            el = pte_base + (vp >> 3) * pte_unit
            new_page = False
            writable = True
            rule_no = 0
            if not write:
                fault = FAULT_READ
                vmf = svmf[s]
                read = read_rules.get(vmf)
                if read is None:
                    r = R.read_anon(k, vmf)
                    read = read_rules[vmf] = (len(read_rules), f_anon + r.functions, r.decision, r.zero_pte,
                                              r.refcounted)
                rule_no, functions, decision, zero_pte, refcounted = read
                cost += read_ns
                misses = read_misses
                plan = read_plan
                if zero_pte is None:
                    kind = Kind.READ_ALLOC
                    new_page = True
                    writable = bool(vmf & C.VM_WRITE)
                else:
                    if refcounted:
                        zp_ref += 1
                        refc[ZERO_PFN] += 1
                        zp_map += 1
                        mapc[ZERO_PFN] += 1
                        dirty.append(ZERO_PFN)
                        rss += 1
                    spte[s] = zero_pte
                    spfn[s] = ZERO_PFN
                    kind = Kind.READ_ZERO
            elif not pte & P:
                fault = FAULT_WRITE
                functions, decision = f_anon, R.WRITE_EMPTY
                kind = Kind.WRITE_ALLOC
                new_page = True
                cost += write_ns
                misses = write_misses
                plan = write_plan
            else:  # a write to the zero page (bulk_eligible let no other read-only page through)
                fault = FAULT_COW
                functions = f_wp_special if pte & S else f_wp
                kind = Kind.COW_ZERO
                new_page = True
                cost += cow_ns
                misses = cow_misses
                plan = cow_plan
                decision = cow_decision
                if drops_zero:
                    zp_map -= 1
                    mapc[ZERO_PFN] -= 1
                    zp_ref -= 1
                    refc[ZERO_PFN] -= 1
                    dirty.append(ZERO_PFN)
                    rss -= 1
            # the fault's lines in the recipe's order: the fixed ones, its own in their places
            tpl, at_ptl, at_pte, at_page = plan
            lines = tpl.copy()
            lines[at_ptl] = pl
            lines[at_pte] = el
            if new_page:  # map_new_anon, with Frames.alloc and Core.alloc_frame spelled out
                prep = not v.anon_vma
                if prep:  # anon_vma_prepare: mmap_lock, right before the page
                    v.anon_vma = True
                    lines.insert(at_page, mmap_line)
                    at_page += 1
                if pcp[c] == 0:  # the per-cpu list is refilled under the zone lock, right before the page
                    lines.insert(at_page, zone_line)
                    at_page += 1
                    pcp[c] = pcp_batch
                pcp[c] -= 1
                if free:
                    pfn = free.pop()
                else:
                    pfn = fr.next_pfn
                    fr.next_pfn = pfn + 1
                    if pfn >= len(fkind):
                        fr._grow(pfn + 1)  # in place: the locals above stay valid
                fkind[pfn] = fk_anon
                refc[pfn] = 1
                mapc[pfn] = 1
                fflags[pfn] = new_flags
                fr.used += 1
                if allocs is not None:
                    allocs[c] += 1
                dirty.append(pfn)
                lines[at_page] = page_line(pfn)
                copy = fault == FAULT_COW and copy_cow
                rss += 1
                spte[s] = new_pte[writable]
                spfn[s] = pfn
                key = (kind << 8 | rule_no << 3) | prep << 2 | copy << 1 | (functions is f_wp_special)
                pid = paths.get(key)
                if pid is None:
                    pid = path(key, functions + R.new_anon_functions(k.fn, prep, copy), decision)
            else:
                key = kind << 8 | rule_no << 3
                pid = paths.get(key)
                if pid is None:
                    pid = path(key, functions, decision)
            if table_lines:  # right after the fault lock, as __pte_alloc takes them
                lines[1:1] = table_lines
            # ---- Core.emit, for this event's shape
            out: list[int] = []
            t = access(c, t0, lines, out) + cost
            if misses:
                out += (c * key_stride + miss_key, misses)
            clock[c] = t
            if t > now:
                now = t
            pfn_now = spfn[s]
            evi_b += (step, c, kind, pid, pidx, s, pfn_now, fault, 0)  # columns.Col order
            evt_b += (t0, t)
            rec.n_events += 1
            if keep:
                sd_b += (s, spte[s], pfn_now, svmf[s])  # Sd order; Fd, Stored below
                for f in dirty:
                    fd_b += (f, refc[f], mapc[f], fflags[f], fkind[f])
                fdn_b.append(len(dirty))
                cd_b += out
                cdn_b.append(len(out) >> 1)
                sc_b += (zp_ref, zp_map, cm.zero_writes, cm.zero_transfers, hzp_ref, cm.hzero_writes,
                         cm.hzero_transfers, fr.used, fr.pt, rss, bad)
            else:
                for j in range(0, len(out), 2):
                    counters[out[j] >> KEY_SHIFT][out[j] & KEY_MASK] += out[j + 1]
            if len(evi_b) > 512 * N_INT:
                flush()
            heapq.heappush(heap, (t, c))
            tick += 1
            if progress is not None and tick % 4096 == 0:
                self.now = now
                flush()
                if progress(rec.n_events) is False:
                    self.zp_ref, self.zp_map, self.rss_pages = zp_ref, zp_map, rss
                    raise Cancelled(f"cancelled after {rec.n_events:,} events")
        flush()
        self.zp_ref, self.zp_map, self.rss_pages = zp_ref, zp_map, rss
        self.now = now
        if skip:
            self.skipped_events += skip.skipped_events
            self.prefix_events += skip.prefix_events
            skip.micro = None  # (it points back at the skipper: without this the pair, and the
            # step's copies of what lay ahead, would wait for the cycle collector)
        end = max([clock[c] for c in cpus] + [start])
        self.now = max(self.now, end)
        self.cache.expire(self.now)
        return end - start
