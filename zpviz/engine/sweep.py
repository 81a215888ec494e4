"""The sweep: a read or write step whose every fault is one of the probe's warm faults, in the
leanest exact loop.

Such steps are most of the zero page's story: writing memory that was only read (every fault a
COW of the zero page) or never touched (every fault a new zeroed page), and reading fresh memory
(every fault maps the zero page, or under 2.6.24 allocates a page just as a write does). With
several CPUs such a step has no rhythm for the period skips (period.py, micro.py) to use: one CPU
drifts ahead of the others, their relative clocks never repeat, and the bulk loop plays every
fault, at about 5 µs, where the kernel takes one in about 1.5 µs.

What makes a fault's time depend on the other CPUs is small: the lines several CPUs write (the
fault lock, the zone lock, an mm counter, the PTE-table locks and the PTE lines), each with an
owner and a busy time. So `_Timing` keeps only those, the fixed ones in locals and the per-table
and per-line ones in flat lists, and notes nothing but each fault's CPU and the time its line
accesses ended: the decisions of CacheModel.access_writes, in the same order. Which lines a
fault writes, and in what order, is not spelled out here: it is the general path's own answer
(probe.py's roles for the warm fault), and the loop is generated from it (`_loop_source`), as
are the line lists of the faults played in full (`_Timing._in_full`) and the counters
(`_Records.pattern_ids`). The rare fault that does more (the step's first, which may prepare
the anon_vma; one per new page table) leaves the loop and is played by the cache model proper.
Everything else a fault does depends on that order and those times alone: which frames it gets
(the allocator hands them out in order), the PTE and struct pages it writes, the counters it
bumps (a line's previous owner is the CPU of the fault that touched it before), the records.
`Sweep._write` and `_Records` work all of that out afterwards with numpy.

`Sweep.plan` says no, before anything is touched, where a step needs more than this covers (a
line some CPU holds shared, a frame whose struct page some cache still holds, the zero page's
line watched, a role the generator does not know, ...): the bulk loop takes the step then.
2.6.23's refcounted zero page is covered: each fault takes a reference on it (a read) or puts it
(a COW), its struct page's line one more fixed line, written twice, its counts moving by one a
fault in the records. CPUs on two sockets are covered: a transfer costs the same-socket or the cross-socket
latency by the two CPUs' sockets. tests/engine/test_sweep.py holds the two to the same records.
Where the loop's state comes round, shifted, whole periods of faults are written at once
(sweep_period.py).
"""

from __future__ import annotations

import heapq
from array import array

import numpy as np

from zpviz.engine import cache as L
from zpviz.engine import constants as C
from zpviz.engine import rules as R
from zpviz.engine.columns import KEY_STRIDE, Stored
from zpviz.engine.core import Cancelled
from zpviz.engine.distinct import distinct
from zpviz.engine.kernels.base import FaultLock, RssCounter
from zpviz.engine.memory import ZERO_PFN
from zpviz.engine.probe import PROBE_VMF
from zpviz.engine.sweep_loop import AGAIN, _latencies, _loop, loop_agrees, loop_roles_ok, slots_of, uniform
from zpviz.engine.sweep_period import CHECK, Periods
from zpviz.engine.sweep_records import _by_cpu, _line_table, _previous, _Records, _Tails, pairs_agree

P, W, D, A, S = C.PTE_P, C.PTE_W, C.PTE_D, C.PTE_A, C.PTE_S
CHUNK = 4096  # faults between progress calls, as in the bulk loop
BUILD = 1 << 15  # faults whose records are built at a time (bounds the temporaries; and the
# order counter patterns are first met in, hence their ids: a change of it renumbers them)
# The policy values the loop and the records spell out (a COW step also needs rules.cow_zero to
# leave the zero page's struct page alone, a read step rules.read_anon not to refcount it).
# Anything else is refused.
ALLOWED = {"rss_counter": set(RssCounter), "fault_lock": set(FaultLock)}
READ_MIN_CPUS = 5  # a zero-page read step on fewer CPUs is left to the skips (Sweep.worth)
ALLOC_READ_MIN_CPUS = 3  # and an allocating one (2.6.24) on fewer CPUs than this
# (a refcounted one, 2.6.23, on 2 CPUs or more of one socket: Sweep.worth)
PERIODS = True  # the loop skips the periods it finds (sweep_period.py); False: it plays every fault



class Sweep:
    """One sweep step: plan (or refuse), time, then write state and records."""

    def __init__(self, m, p, v, work: dict[int, list[int]], cpus: list[int], write: bool = True):
        self.m, self.p, self.v, self.cpus = m, p, v, cpus
        self.work = work
        self.write = write
        self.pcp_batch = R.PCP_BATCH
        self.periods = PERIODS  # whether the loop skips the periods it finds (sweep_period.py)
        self.pids: dict[int, int] = {}  # a fault's packed counter inputs -> its pattern id (_Records)
        self.played_pids: dict[tuple, int] = {}  # a fault played in full: its counter pairs -> pattern id

    # ------------------------------------------------------------------ worth it?
    def worth(self) -> bool:
        """Speed, not exactness (plan decides that): whether this sweep is likely faster than the
        bulk loop with its period and stretch skips. A write step always is. A read step: with
        faults that allocate (rules.read_anon decides it, as for 2.6.24) on ALLOC_READ_MIN_CPUS
        CPUs or more; with the zero page unrefcounted on READ_MIN_CPUS CPUs or more (one socket
        or more: since the sweep's period skip leaves the per-cpu counts out of its key where the
        faults allocate nothing, sweep_period.Periods.loose, it finds a period on these shapes
        and beats the skips, 0.08 against 0.15 s a GiB on 16 CPUs); refcounted (2.6.23) on 2 CPUs
        or more of one socket. Elsewhere the skips are as fast or faster. docs/engine.md has the
        figures (its last section)."""
        m = self.m
        if self.write:
            return True
        read = R.read_anon(m.k, PROBE_VMF)
        if read.zero_pte is None:
            return len(self.cpus) >= ALLOC_READ_MIN_CPUS
        if read.refcounted:  # (every fault writes the zero page's line twice. On one socket the
            # skips' machine seldom repeats: 0.21 s a GiB on 4 CPUs, 0.16 on 16 or 32, the sweep
            # 0.07 to 0.10; on two sockets the skips win on 4 CPUs, 0.05 against 0.29. docs/engine.md)
            return len(self.cpus) >= 2 and len({m.cache.socket[c] for c in self.cpus}) == 1
        return len(self.cpus) >= READ_MIN_CPUS

    # ------------------------------------------------------------------ plan
    def plan(self) -> bool:
        """Whether this module plays the step exactly; sets what it needs if so, and touches no
        machine state either way. The allow-list: the policy values in ALLOWED; every fault of the
        step one the general path plays alike (probe.py): for a write step, one new anon page each
        (an empty PTE, or a COW of the zero page, rules.cow_zero: leaving the zero page alone, or
        putting it in every fault, 2.6.23), with one cost for all (clear, or copy for all); for a
        read step, what rules.read_anon decides for the step's vma flags (Bulk.bulk_eligible
        checked they all decide alike): a new page (2.6.24) or the zero page, unrefcounted or with
        a reference each (2.6.23); the zero page's line written where, and only where, its counts
        move, and not watched; the lines written, by
        role, ones the generated loop knows (loop_roles_ok); the loop timing and the records
        counting as the cache model does (sweep_loop.loop_agrees, sweep_records.pairs_agree);
        lines no CPU shares; frames no cache holds. Anything else is refused."""
        m, p, v = self.m, self.p, self.v
        k, cm = m.k, m.cache
        if not all(getattr(k, f) in values for f, values in ALLOWED.items()):
            return False
        pte = np.frombuffer(m.slots.pte, np.uint8)
        pfn = np.frombuffer(m.slots.pfn, np.int64)
        vpage = np.frombuffer(m.slot_vpage, np.int64)
        # the pages that fault: for a write, an empty PTE or the zero page's (bulk_eligible let
        # no other read-only page through); for a read, an empty PTE
        need = W if self.write else P
        lists: dict[int, np.ndarray] = {}
        for c in self.cpus:
            w = self.work.get(c, ())  # (a range where the step's pages are evenly spaced: Machine._run_bulk)
            s = np.arange(w.start, w.stop, w.step, dtype=np.int64) if isinstance(w, range) else np.asarray(w, np.int64)
            if len(s):
                faulting = s[pte[s] & need == 0]
                if len(faulting):
                    lists[c] = faulting
        if not lists:
            return False
        self.lists = lists
        order = list(lists)
        slots = np.concatenate([lists[c] for c in order])
        shapes = m.fault_shapes()
        self.cow_rule = rule = R.cow_zero(k)
        self.copy = False
        if self.write:
            cow = (pte[slots] & P) != 0
            if cow.any() and (pfn[slots[cow]] != ZERO_PFN).any():
                return False  # (bulk_eligible let no other read-only page through)
            if cow.any() and rule.drops_zero_page and not cow.all():
                return False  # 2.6.23: a COW drops the zero page, a new page does not: two shapes
            played = [shapes.write] if not cow.all() else []
            if cow.any():
                if shapes.cow is None:
                    return False
                played.append(shapes.cow)
            if rule.copy and cow.any() and not cow.all():
                return False  # v5 copies on COW and clears on a new page: two paths, two costs
            self.copy = rule.copy and bool(cow.all())
            self.alloc = True
            # 2.6.23: every fault puts the zero page (its refcount, mapcount and RSS drop by one,
            # its struct page written: the probe's "zero" lines), as Faults.do_wp_page does
            self.zero_delta = -1 if rule.drops_zero_page and cow.all() else 0
        else:
            self.read_rule = read = R.read_anon(k, PROBE_VMF)
            played = [shapes.read]
            self.alloc = read.zero_pte is None
            # 2.6.23: every read takes a reference on the zero page (refcount, mapcount and RSS
            # up by one, its struct page written twice: the probe's "zero" lines)
            self.zero_delta = 1 if read.refcounted else 0
        # the faults as the general path plays them (probe.py): the lines it wrote, by role, are
        # what the loop is generated from; one cost and one count of cold misses for all
        roles = played[0].roles
        if any(s.roles != roles for s in played) or len({(s.cost, s.misses) for s in played}) != 1:
            return False  # two shapes in one step (say, do_wp_page writes one more line), or two costs
        if not loop_roles_ok(roles) or ("page" in roles) != self.alloc:
            return False  # a line the loop does not know, or an allocation where none is made
        if ("zero" in roles) != bool(self.zero_delta) or (self.zero_delta and cm.watch >> C.LK_ZERO & 1):
            return False  # the zero page's line written where its counts do not move (or not
            # written where they do), or watched (its transitions are recorded by the cache model)
        if not loop_agrees(roles, m.costs, cm.socket):
            return False  # the loop's timing is not the cache model's any more (cache.py's rule)
        self.roles = roles
        self.fault_ns, self.misses = played[0].cost, played[0].misses
        self.n = n = len(slots)
        vp = vpage[slots]
        cut = np.cumsum([len(lists[c]) for c in order])[:-1]
        # the fixed lines
        pidx = p.index
        self.lock = L.mmap_lock_line(pidx) if m._mmap_sem else L.vma_lock_line(pidx, v.index)
        self.mmap = L.mmap_lock_line(pidx)
        self.zone = L.ZONE_LOCK
        self.mm = L.mm_counter_line(pidx)
        # role -> the one line of the step (the zone lock: where a page is allocated)
        self.fixed_lines = {"lock": self.lock, "zone": self.zone} | {r: self.mm for r in roles if r == "mm"} | {
            r: L.ZERO_LINE for r in roles if r == "zero"}
        fixed = list(self.fixed_lines.values())
        # the per-table and per-line ones, numbered in flat lists
        pi, self.ptl_no = _line_table(vp >> 9)
        ei, self.pte_no = _line_table(vp >> 3)
        # each PTE line's table (the loop finds a fault's table from its line: one look-up less)
        # (each fault's table, then: ptl_no holds distinct tables, so ptl_no[table_of_line[ei]] =
        # pte_no[ei] >> 6 = vp >> 9 = ptl_no[pi] makes table_of_line[ei] = pi; checked on the lines)
        self.table_of_line = np.searchsorted(self.ptl_no, self.pte_no >> 6)
        if not (self.table_of_line < len(self.ptl_no)).all() or (
                self.ptl_no[self.table_of_line] != self.pte_no >> 6).any():
            return False  # (a PTE line in no table of the step: not the page tables this loop knows)
        self.pi = dict(zip(order, np.split(pi, cut)))
        self.ei = dict(zip(order, np.split(ei, cut)))
        self.vps = dict(zip(order, np.split(vp, cut)))
        # (the same, each CPU's after the other's in increasing CPU order, for _write: kept whole
        # where the lists are in that order already, as a step's CPUs usually are)
        self.by_cpu = (slots, pi, ei) if order == sorted(order) else None
        self.ptl_ids = L.ptl_line_at(pidx, self.ptl_no)
        self.pte_ids = L.pte_line_at(pidx, self.pte_no)
        self.kind = {r: L.line_kind(x) for r, x in self.fixed_lines.items()} | {
            "ptl": L.line_kind(int(self.ptl_ids[0])), "pte": L.line_kind(int(self.pte_ids[0]))}
        if not pairs_agree(roles, m.costs, cm.socket, self.alloc, self.misses, self.kind):
            return False  # the records' counters are not the general path's any more (cache.py's rule)
        # every shared line held by at most one CPU: a write never has sharers to invalidate (a
        # transfer costs what the two CPUs' sockets say, _Timing.lat)
        sharers = cm.sharers
        if sharers and not sharers.keys().isdisjoint(fixed + self.ptl_ids.tolist() + self.pte_ids.tolist()):
            return False
        # each PTE-table lock's and PTE line's owner before the step (-1: none), as int64 arrays
        # (no look-up a line where no line has an owner: fresh memory, a lesson's first step)
        og = cm.owner.get
        self.ptl_owner, self.pte_owner = (
            np.array([og(x, -1) for x in ids.tolist()], np.int64) if cm.owner else np.full(len(ids), -1, np.int64)
            for ids in (self.ptl_ids, self.pte_ids))
        # the page tables to allocate, and the frames the step can take, in the order the
        # allocator hands them out: the free list from its end, then new pfns
        self.has_table = np.isin(self.ptl_no, np.fromiter(p.pte_tables, np.int64, len(p.pte_tables)))
        upper = {(lvl, int(x)) for lvl, sh in ((3, 18), (2, 9)) for x in distinct(self.ptl_no >> sh).tolist()}
        most = n * self.alloc + int((~self.has_table).sum()) + len(upper - p.upper_tables.keys())
        fr = m.frames
        take = min(most, len(fr.free))
        self.pfns = np.concatenate([np.asarray(fr.free[len(fr.free) - take:][::-1], np.int64),
                                    np.arange(fr.next_pfn, fr.next_pfn + most - take, dtype=np.int64)])
        # a recycled frame some cache still holds would not be a plain DRAM miss (a pfn from
        # next_pfn on was never handed out, so no fault ever wrote its struct page)
        recycled = L.struct_page_line(self.pfns[:take]).tolist()
        if not all(d.keys().isdisjoint(recycled) for d in (cm.owner, cm.sharers, cm.busy)):
            return False
        return True

    # ------------------------------------------------------------------ play
    def play(self) -> int:
        """Time the step, then write everything; returns the makespan like Bulk.bulk_access."""
        m, cm = self.m, self.m.cache
        self.cost = self.fault_ns
        self.start = m.now
        for c in self.cpus:
            m.clock[c] = self.start
        og = cm.owner.get
        self.first_owner = {r: og(x, -1) for r, x in self.fixed_lines.items()}
        self.pcp0 = {c: m.pcp[c] for c in self.lists}
        self.prep = self.alloc and not self.v.anon_vma  # anon_vma_prepare: the vma's first anon page
        timing = _Timing(self)
        progress, n0 = m.progress, m.rec.n_events
        done = 0
        while done < self.n:
            k = min(CHUNK - done % CHUNK, self.n - done) if progress is not None else self.n - done
            got = timing.run(k, self.n - done)  # (k, or more where a period skip wrote whole periods)
            if progress is not None:  # every CHUNK faults crossed, in order, as if played one by one
                for at in range(done - done % CHUNK + CHUNK, done + got + 1, CHUNK):
                    m.now = max(m.now, timing.latest)
                    if progress(n0 + at) is False:
                        raise Cancelled(f"cancelled after {n0 + at:,} events")
            done += got
        try:
            return self._write(timing)
        finally:
            timing.close()

    # ------------------------------------------------------------------ write
    def _write(self, timing: _Timing) -> int:
        m, v, cm, fr = self.m, self.v, self.m.cache, self.m.frames
        done = np.frombuffer(timing.done, np.int64)
        cpu = done & timing.mask
        ta = done >> timing.sh
        ta -= self.cost  # (the loop notes each fault's end: its line accesses end `cost` before)
        timing.done = array("q")
        n = self.n
        alloc = int(self.alloc)  # pages each fault allocates (besides page tables)
        t1 = ta + self.cost
        ntab = np.zeros(n, np.int64)  # page tables each fault allocated
        for e, pl in timing.played.items():
            t1[e] = pl.end
            ntab[e] = len(pl.tables)
        # each CPU's faults, in the order they ran: `order` lists the faults CPU by CPU (in
        # increasing CPU order), each CPU's in the order it ran them, `first` where each CPU's start
        order, first = _by_cpu(cpu, self.lists)
        cpus = sorted(self.lists)
        slots, pis, eis = self.by_cpu or (np.concatenate([x[c] for c in cpus]) for x in (self.lists, self.pi, self.ei))
        slot, pi, ei, t0 = (np.empty(n, np.int64) for _ in range(4))
        slot[order] = slots  # (each CPU's pages, lines and tables in the order its faults took them)
        pi[order] = pis
        ei[order] = eis
        t1o = t1[order]
        t0o = np.empty(n, np.int64)
        t0o[1:] = t1o[:-1]  # (a fault starts where its CPU's previous one ended)
        t0o[first] = self.start
        t0[order] = t0o
        last = np.append(first[1:], n) - 1
        for c, e in zip(cpus, t1o[last].tolist()):
            m.clock[c] = e
            m.pcp[c] = timing.pcp[c]
        # the frames, in the order they were handed out: each fault's tables, then its page
        got = ntab + alloc
        after = np.cumsum(got)
        allocs = int(after[-1])
        frames = self.pfns[:allocs]
        is_table = np.ones(allocs, bool)
        if alloc:
            page_at = after - 1
            is_table[page_at] = False
            pfn = frames[page_at]
        else:
            pfn = np.full(n, ZERO_PFN, np.int64)
        by = np.repeat(cpu, got)  # the CPU that took each frame
        # the zone lock: taken by the allocation that finds its CPU's per-cpu list empty: a CPU's
        # allocations number pcp0, pcp0 + batch, ... among its own (each of its faults takes got)
        zone_faults = np.zeros(0, np.int64)
        if allocs:
            # (all CPUs at once: the allocations counted along `order`, CPU after CPU, so a CPU's
            # own count is the running count less `before`, what the CPUs before it took)
            taken = np.cumsum(got[order])
            ends = taken[last].tolist()
            refills = []
            for c, lo, hi in zip(cpus, [0] + ends[:-1], ends):
                refills.append(np.arange(lo + self.pcp0[c], hi, self.pcp_batch))
            at = np.searchsorted(taken, np.concatenate(refills), side="right")
            zone_faults = distinct(order[at])  # faults that took it (once each)
            # state
            if int(frames.max()) >= len(fr.kind):
                fr._grow(int(frames.max()) + 1)
        take = min(allocs, len(fr.free))
        if take:
            del fr.free[len(fr.free) - take:]
        fr.next_pfn += allocs - take
        np.frombuffer(fr.kind, np.uint8)[frames] = np.where(is_table, C.FK_PT, C.FK_ANON)
        counts = np.int64 if fr.refcount.itemsize == 8 else np.int32  # (array "l": a C long)
        np.frombuffer(fr.refcount, counts)[frames] = 1
        np.frombuffer(fr.mapcount, counts)[frames] = ~is_table
        np.frombuffer(fr.flags, np.uint16)[frames] = np.where(is_table, 0, R.NEW_ANON_FLAGS)
        pt0, used0 = fr.pt, fr.used
        fr.pt += allocs - n * alloc
        fr.used += n * alloc
        # the tables' frames, now that they are known, in the order they were allocated (as the
        # general path adds them; a period skip notes its copies of these faults out of order)
        for e, pl in sorted(timing.played.items()):
            for j, key in enumerate(pl.tables):
                pt_pfn = int(frames[after[e] - got[e] + j])
                if key[0] == "pte":
                    self.p.pte_tables[key[1]] = pt_pfn
                else:
                    self.p.upper_tables[key] = pt_pfn
        pte_before = np.frombuffer(m.slots.pte, np.uint8)[slot]
        new_pte = self._new_ptes(slot)
        np.frombuffer(m.slots.pte, np.uint8)[slot] = new_pte
        np.frombuffer(m.slots.pfn, np.int64)[slot] = pfn
        rss0 = m.rss_pages
        dz = self.zero_delta  # (the zero page's refcount, mapcount and RSS, each fault: 2.6.23)
        m.rss_pages += n * (alloc + dz)
        if alloc:
            v.anon_vma = True
        # each line's owner before each fault: the CPU of the fault that touched it last (every
        # fault writes the fixed lines but the zone lock: the previous fault's CPU)
        before: dict[str, np.ndarray] = {}
        prev = np.empty(n, np.int64)
        prev[1:] = cpu[:-1]
        for r in self.roles:
            if r in self.fixed_lines:
                before[r] = prev.copy()
                before[r][0] = self.first_owner[r]
        for s in slots_of(self.roles):
            if AGAIN in s:  # a fixed line written again within the fault: its own CPU holds it
                before[s] = cpu
        z = np.full(n, -2, np.int64)  # -2: not touched
        if len(zone_faults):
            z[zone_faults[0]] = self.first_owner["zone"]
            z[zone_faults[1:]] = cpu[zone_faults[:-1]]
        before["zone"] = z
        before["ptl"] = _previous(pi, cpu, self.ptl_owner)
        before["pte"] = _previous(ei, cpu, self.pte_owner)
        # the caches as the loop left them; not in the last step of a run that drops the cache
        # model's per-line state after it (run.py without keep_machine): nothing after this
        # step's sweep reads them there, and writing the owners of a GiB's new struct pages
        # into the dict is some 16 ms (docs/engine.md)
        if m.step_index != m.lines_dropped_after:
            owner = cm.owner
            for r, x in self.fixed_lines.items():
                if r != "zone":
                    owner[x] = int(cpu[-1])
            if self.prep:
                owner[self.mmap] = int(cpu[-1]) if self.mmap == self.lock else int(cpu[0])
            if len(zone_faults):
                owner[self.zone] = int(cpu[zone_faults[-1]])
            owner.update(zip(self.ptl_ids.tolist(), timing.ptl_owner))
            owner.update(zip(self.pte_ids.tolist(), timing.pte_owner))
            owner.update(zip(L.struct_page_line(frames).tolist(), by.tolist()))
        # records, a slice of faults at a time
        rec = m.rec
        cow = (pte_before & P) != 0
        pid = self._paths(cow, (pte_before & S) != 0)
        now = m.scalar_values()[1:]  # (columns.Stored order)
        moving = (Stored.FRAMES_USED, Stored.PT_FRAMES, Stored.RSS_PAGES)
        sc_moving: dict[int, np.ndarray] = {}
        zero = None
        if dz:  # the zero page's counts and its line's writes and transfers, fault by fault
            k = np.arange(1, n + 1, dtype=np.int64)
            o = before["zero"]
            sc_moving = {Stored.ZP_REFCOUNT: now[Stored.ZP_REFCOUNT] + dz * k,
                         Stored.ZP_MAPCOUNT: now[Stored.ZP_MAPCOUNT] + dz * k,
                         Stored.ZP_LINE_WRITES: now[Stored.ZP_LINE_WRITES] + self.roles.count("zero") * k,
                         Stored.ZP_LINE_TRANSFERS: now[Stored.ZP_LINE_TRANSFERS] + np.cumsum((o >= 0) & (o != cpu))}
            zero = (int(fr.refcount[ZERO_PFN]) + dz * k, int(fr.mapcount[ZERO_PFN]) + dz * k,
                    int(fr.flags[ZERO_PFN]), int(fr.kind[ZERO_PFN]))  # (its struct page after each fault: Fd)
            fr.refcount[ZERO_PFN] += dz * n
            fr.mapcount[ZERO_PFN] += dz * n
            m.zp_ref += dz * n
            m.zp_map += dz * n
            cm.zero_writes = int(sc_moving[Stored.ZP_LINE_WRITES][-1])
            cm.zero_transfers = int(sc_moving[Stored.ZP_LINE_TRANSFERS][-1])
        sc_fixed = {j: now[j] for j in Stored if j not in moving and j not in sc_moving}
        pt_after = pt0 + np.cumsum(ntab)
        tails = _Tails(rec, n, allocs + n * (dz != 0))
        try:
            for a in range(0, n, BUILD):
                b = min(n, a + BUILD)
                fa, fb = int(after[a] - got[a]), int(after[b - 1])
                _Records(self, a, b, cpu[a:b], slot[a:b], pfn[a:b], cow[a:b], pid[a:b], t0[a:b], t1[a:b],
                         ta[a:b], {s: x[a:b] for s, x in before.items()},
                         {e - a: r.out for e, r in timing.played.items() if a <= e < b},
                         frames[fa:fb], is_table[fa:fb], got[a:b], new_pte[a:b]
                         ).write(rec, m, used0 + a * alloc, rss0 + a * (alloc + dz), pt_after[a:b], sc_fixed,
                                 tails, {j: x[a:b] for j, x in sc_moving.items()},
                                 None if zero is None else (zero[0][a:b], zero[1][a:b]) + zero[2:])
        finally:
            tails.close()
        end = max([m.clock[c] for c in self.cpus] + [self.start])
        m.now = max(m.now, int(t1.max()), end)
        cm.expire(m.now)
        m.swept_events += n
        if timing.periods is not None:
            m.sweep_skipped += timing.periods.skipped
        return end - self.start

    def _new_ptes(self, slot: np.ndarray) -> np.ndarray:
        """Each faulting page's PTE after the fault: a writable new page for a write; for a read
        what rules.read_anon decided, a new page writable where its vma is, or the zero page."""
        if self.write:
            return np.full(len(slot), R.new_anon_pte(True), np.uint8)
        zero_pte = self.read_rule.zero_pte
        if zero_pte is not None:
            return np.full(len(slot), zero_pte, np.uint8)
        writable = (np.frombuffer(self.m.slots.vmf, np.uint16)[slot] & C.VM_WRITE) != 0
        return np.where(writable, R.new_anon_pte(True), R.new_anon_pte(False)).astype(np.uint8)

    def _paths(self, cow: np.ndarray, special: np.ndarray) -> np.ndarray:
        """Each fault's kernel path id, registered in the order the bulk loop meets them."""
        m = self.m
        head = (m.fault_fn, "handle_mm_fault", "handle_pte_fault")
        names = m.k.fn
        key = cow.astype(np.int64) * 4 + (cow & special) * 2
        if self.prep:
            key[0] += 1
        # each key's first fault (eight keys at most: a count and a search each, not a sort of the step)
        firsts = [int(np.argmax(key == k)) for k in np.flatnonzero(np.bincount(key, minlength=8)).tolist()]
        ids = np.empty(8, np.int64)
        for j in sorted(firsts):
            k = int(key[j])
            if not self.write:  # rules.read_anon's functions, then the new page's if it makes one
                fn, decision = head + ("do_anonymous_page",) + self.read_rule.functions, self.read_rule.decision
                if self.alloc:
                    fn += R.new_anon_functions(names, bool(k & 1), False)
                ids[k] = m.rec.path_id(fn, decision)
                continue
            if k & 4:
                fn = head + R.wp_zero_functions(names, bool(k & 2))
                decision = self.cow_rule.decision
            else:
                fn, decision = head + ("do_anonymous_page",), R.WRITE_EMPTY
            fn += R.new_anon_functions(names, bool(k & 1), self.copy)
            ids[k] = m.rec.path_id(fn, decision)
        return ids[key]


class _Played:
    """A fault the cache model played in full: when it ended, the tables it allocated (in
    order) and its counter increments."""

    __slots__ = ("end", "tables", "out")

    def __init__(self, end: int, tables: list, out: list[int]):
        self.end, self.tables, self.out = end, tables, out


class _Timing:
    """The loop: each fault's CPU and the time its line accesses end, nothing else.

    CacheModel.access_writes, specialised: every shared line is held by at most one CPU (Sweep.plan
    checked), so a line this CPU holds costs a hit, a line another holds a transfer (from a CPU of
    the same socket or of the other: `lat`), a line nobody holds a DRAM miss; the new frame's
    struct page, which no cache holds, a DRAM miss with nobody to wait for. The loop itself,
    `_round`, is generated from the fault's roles (_loop_source)."""

    def __init__(self, sw: Sweep):
        m, cm = sw.m, sw.m.cache
        costs = m.costs
        self.sw = sw
        self.hit, self.hold = costs.hit_ns, costs.line_hold_ns
        self.dram = costs.dram_ns
        # per CPU, a transfer's latency by the line's owner ([-1]: nobody's line, a DRAM miss),
        # as CacheModel.access_writes has it: the same socket's or the other's
        self.lat = _latencies(costs, cm.socket)
        self.cost = sw.cost
        # each fault as one int: the time it ended (its line accesses end `cost` before),
        # shifted, and its CPU (one append a fault, and no tuple: the heap below holds the same
        # ints, each CPU's next start and the CPU, ordered as (time, cpu) tuples would be)
        self.sh = max(1, cm.ncpus.bit_length())
        self.mask = (1 << self.sh) - 1
        self.done = array("q")
        self.played: dict[int, _Played] = {}
        self.pcp = list(m.pcp)
        self.ptl_owner, self.pte_owner = sw.ptl_owner.tolist(), sw.pte_owner.tolist()
        bg = cm.busy.get
        # (the cache model keeps few busy times between steps, often none: then no look-up a line)
        self.ptl_busy = [bg(x, 0) for x in sw.ptl_ids.tolist()] if cm.busy else [0] * len(sw.ptl_ids)
        self.pte_busy = [bg(x, 0) for x in sw.pte_ids.tolist()] if cm.busy else [0] * len(sw.pte_ids)
        self.table = sw.has_table.tolist()
        self.upper = set(sw.p.upper_tables)
        width = max(sw.lists) + 1
        self.ei: list = [None] * width
        self.count = [0] * width
        self.pos = [0] * width  # each CPU's next fault
        # (each line number one int object, shared by every fault on it: a list per CPU of
        # references, not of a new int per fault, which a 1 GiB step would allocate by the million)
        tables, lines = np.arange(len(sw.ptl_no)).astype(object), np.arange(len(sw.pte_no)).astype(object)
        for c in sw.lists:
            self.ei[c] = lines[sw.ei[c]].tolist()  # (a fault's table: table_of_line[its line])
            self.count[c] = len(sw.lists[c])
        self.table_of_line = tables[sw.table_of_line].tolist()
        og = cm.owner.get
        self.fixed = {r: [og(x, -1), bg(x, 0)] for r, x in sw.fixed_lines.items()}  # role -> [owner, busy]
        self._round = _loop(sw.roles, uniform(self.lat)).__get__(self)
        self.heap = [sw.start << self.sh | c for c in sw.lists]
        heapq.heapify(self.heap)
        self.tables = 0  # page tables allocated so far (frames are handed out in order)
        self.scratch = L.CacheModel(cm.ncpus, cm.socket, cm.costs)  # (_in_full's)
        self.table_ns = R.page_table_ns(costs)
        self.ptl_line = sw.ptl_ids.tolist()
        self.latest = sw.start  # the end of the latest fault so far (the progress call's clock)
        self._in_full(prep=sw.prep)  # the first fault: the lock, and maybe the mm counter, meet their first CPU
        self.pending = 1  # faults played ahead of run()
        self.periods = Periods(self) if sw.periods else None  # (sweep_period.py)
        self.noted = -1  # the fault count at the last checkpoint noted

    def _in_full(self, prep: bool = False) -> None:
        """The next fault, by the cache model proper on a scratch copy of the lines it touches:
        the step's first (it may meet lines no cache holds yet, and it may prepare the vma's
        anon_vma under mmap_lock, which is the fault lock itself on 2.6.x) and any that
        allocates page tables, in the order the bulk loop and __pte_alloc touch them: the fault
        lock, the tables, then the fault's other roles, the anon_vma's mmap_lock before a page."""
        sw = self.sw
        first = self.heap[0]
        t0, c = first >> self.sh, first & self.mask
        i = self.pos[c]
        y = self.ei[c][i]
        x = self.table_of_line[y]
        frame = len(self.done) * sw.alloc + self.tables  # the next frame the allocator hands out
        lines = [sw.lock]
        cost = self.cost
        tables: list = []
        if not self.table[x]:  # __pte_alloc: the upper levels first, as ensure_table does
            vp = int(sw.vps[c][i])
            upper = self.upper
            tables = [key for key in ((3, vp >> 27), (2, vp >> 18)) if key not in upper] + [("pte", vp >> 9)]
            for key in tables:
                lines += self._alloc(c, frame)
                frame += 1
                cost += self.table_ns
                upper.add(key)
            self.table[x] = True
        ptl, pte = self.ptl_line[x], int(sw.pte_ids[y])
        fixed_lines = sw.fixed_lines
        for r in sw.roles[1:]:
            if r == "page":
                if prep:
                    lines.append(sw.mmap)
                lines += self._alloc(c, frame)
            else:
                lines.append(ptl if r == "ptl" else pte if r == "pte" else fixed_lines[r])
        # the lines it touches, as the loop has them, in a scratch model (one a step, emptied
        # for each fault: it holds nothing else, no sharer, no watched line)
        scratch = self.scratch
        owner, busy = scratch.owner, scratch.busy
        owner.clear()
        busy.clear()
        state = [(fixed_lines[r], o, b) for r, (o, b) in self.fixed.items()]
        state += [(ptl, self.ptl_owner[x], self.ptl_busy[x]), (pte, self.pte_owner[y], self.pte_busy[y])]
        if prep and sw.mmap != sw.lock:
            cm = sw.m.cache
            state.append((sw.mmap, cm.owner.get(sw.mmap, -1), cm.busy.get(sw.mmap, 0)))
        for line, o, b in state:
            if o >= 0:
                owner[line] = o
            busy[line] = b
        out: list[int] = []
        t = scratch.access_writes(c, t0, lines, out)
        if sw.misses:
            out += (c * KEY_STRIDE + C.C_MISSES, sw.misses)
        og, bg = owner.get, busy.get
        self.fixed = {r: [og(line, -1), bg(line, 0)] for r, line in fixed_lines.items()}
        self.ptl_owner[x], self.ptl_busy[x] = c, bg(ptl, 0)
        self.pte_owner[y], self.pte_busy[y] = c, bg(pte, 0)
        self.played[len(self.done)] = _Played(t + cost, tables, out)
        self.tables += len(tables)
        self.done.append((t + self.cost) << self.sh | c)  # (as the loop notes them: see _round)
        self.pos[c] = i + 1
        heapq.heapreplace(self.heap, (t + cost) << self.sh | c)
        if i + 1 >= self.count[c]:  # (only this CPU can have run out)
            self._drop_finished()
        self.latest = max(self.latest, t + cost)

    def close(self) -> None:
        """Break the loop's reference cycles (its bound `_round`, its period notes' `tm`), so that
        its per-fault lists go when the step ends: left to the cycle collector (paused during a
        run, heap.py), they made its first pass after the run walk them, some 4 ms a GiB."""
        self._round = None
        self.periods = None

    def _alloc(self, c: int, frame: int) -> list[int]:
        """The lines one page allocation writes: the zone lock if the per-cpu list is empty, then
        the frame's struct page."""
        n = self.pcp[c]
        lines = []
        if not n:
            lines.append(self.sw.zone)
            n = self.sw.pcp_batch
        self.pcp[c] = n - 1
        return lines + [L.struct_page_line(int(self.sw.pfns[frame]))]

    def _drop_finished(self) -> None:
        count, pos, mask = self.count, self.pos, self.mask
        if all(pos[e & mask] < count[e & mask] for e in self.heap):
            return  # (every CPU has faults left: the heap stays as it is)
        self.heap = [e for e in self.heap if pos[e & mask] < count[e & mask]]
        heapq.heapify(self.heap)

    def run(self, k: int, most: int | None = None) -> int:
        """Play the next k faults: in rounds that no CPU's list can run out within, each broken
        off where a fault needs a page table; a period skip (sweep_period.py) may write more, up
        to `most` (default k). Returns how many faults were timed."""
        first = len(self.done) - self.pending  # (the faults played ahead, in __init__, count as this call's)
        self.pending = 0
        stop = first + k
        end = first + (k if most is None else most)
        count, pos, mask = self.count, self.pos, self.mask
        least = min(count[c] for c in self.sw.lists)
        periods = self.periods
        while len(self.done) < stop:
            at = len(self.done)
            if periods is not None and at % CHECK == 0 and at != self.noted:  # a checkpoint
                self.noted = at
                if periods.note(end - at):
                    self._drop_finished()
                    continue
            want = stop - at
            if periods is not None:  # (a round ends at each checkpoint)
                want = min(want, CHECK - at % CHECK)
            # the CPU with fewest faults left; not counted where no CPU can have fewer than want
            # (every CPU's list is at least `least` long, and none is further on than max(pos))
            fewest = least - max(pos)
            if fewest <= want:
                fewest = min([count[e & mask] - pos[e & mask] for e in self.heap])
                want = min(want, fewest)
            done = self._round(want)
            if done >= fewest:  # (a CPU can have run out only if the round took as many faults)
                self._drop_finished()
            if done < want:  # stopped before a fault that needs a page table
                self._in_full()
        if self.done:
            self.latest = max(self.latest, max(self.done[-CHUNK:]) >> self.sh)
        return len(self.done) - first
