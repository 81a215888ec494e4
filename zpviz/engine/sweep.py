"""The COW sweep: a write step over pages that all map the zero page, in the leanest exact loop.

Writing memory that was only read is the other half of the zero page's story: every such fault
copies (or clears) a new page. With several CPUs the step has no rhythm for the period skips
(period.py, micro.py) to use: one CPU drifts ahead of the others, their relative clocks never
repeat, and every fault has to be played. The bulk loop plays one in about 5 µs; the kernel
takes one in about 1.5 µs.

What makes a fault's time depend on the other CPUs is small: the lines several CPUs write (the
fault lock, the zone lock, an mm counter, the PTE-table locks and the PTE lines), each with an
owner and a busy time. So `_Timing` keeps only those, the fixed ones in locals and the per-table
and per-line ones in flat lists, and records nothing but each fault's CPU and the time its line
accesses ended: the same cache-model decisions as CacheModel.access_writes, in the same order.
Everything else a fault does depends on that order and those times alone: which frame it gets
(the page allocator hands them out in order), the PTE and struct page it writes, the counters
it bumps (a line's previous owner is the CPU of the fault that touched it before), the records.
`Sweep._write` and `_Records` work all of that out afterwards with numpy.

`Sweep.plan` says no, before anything is touched, where a step needs more than this covers (a
missing page table, a line some CPU holds shared, CPUs on different sockets, a frame whose
struct page some cache still holds, 2.6.23's refcounted zero page, ...): the bulk loop takes the
step then. tests/engine/test_sweep.py holds the two to the same records.
"""

from __future__ import annotations

import heapq

import numpy as np

from zpviz.engine import cache as L
from zpviz.engine import constants as C
from zpviz.engine.core import Cancelled
from zpviz.engine.events import FAULT_COW, Kind
from zpviz.engine.faults import COW_COPY, COW_PFN
from zpviz.engine.memory import ZERO_PFN

P, W, D, A, S = C.PTE_P, C.PTE_W, C.PTE_D, C.PTE_A, C.PTE_S
CHUNK = 4096  # faults between progress calls, as in the bulk loop
BUILD = 1 << 15  # faults whose records are built at a time (bounds the temporaries)
NEW_FLAGS = C.PG_LRU | C.PG_ANON_EXCLUSIVE
# the line slots of a fault, in the order it touches them, and each one's kind for the
# per-kind transfer counters; the new frame's struct page (between zone and ptl) never transfers
SLOTS = ("lock", "mmap", "zone", "ptl", "pte", "mm")
KIND = {"lock": C.LK_LOCK, "mmap": C.LK_LOCK, "zone": C.LK_LOCK, "ptl": C.LK_LOCK, "pte": C.LK_PTE,
        "mm": C.LK_MM_COUNTER}


def _raw(x: np.ndarray) -> memoryview:
    """A C-contiguous array's bytes without a copy (array.frombytes takes plain byte buffers)."""
    return memoryview(np.ascontiguousarray(x)).cast("B")


def _line_table(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each fault's line number: an index into the distinct numbers, and those numbers."""
    lo, hi = int(ids.min()), int(ids.max())
    if hi - lo > 8 * len(ids) + 4096:  # sparse: sort
        lines, idx = np.unique(ids, return_inverse=True)
        return idx.reshape(-1), lines
    touched = np.zeros(hi - lo + 1, bool)
    touched[ids - lo] = True
    at = np.cumsum(touched) - 1
    return at[ids - lo], np.flatnonzero(touched) + lo


def _held(cm, kind: int) -> np.ndarray:
    """The keys of every line of one kind that any cache, or a busy time, still knows about."""
    keys = [np.fromiter(d, np.int64, len(d)) for d in (cm.owner, cm.sharers, cm.busy)]
    keys = np.concatenate(keys)
    return keys[(keys & 7) == kind] >> 3


class Sweep:
    """One COW-sweep step: plan (or refuse), time, then write state and records."""

    def __init__(self, m, p, v, work: dict[int, list[int]], cpus: list[int]):
        self.m, self.p, self.v, self.cpus = m, p, v, cpus
        self.work = work

    # ------------------------------------------------------------------ plan
    def plan(self) -> bool:
        """Whether the step is a pure COW sweep this module plays exactly; sets what it needs."""
        m, p, v = self.m, self.p, self.v
        k, cm = m.k, m.cache
        if k.zero_test == "page":  # 2.6.2x: every COW also writes the zero page's struct page
            return False
        pte = np.frombuffer(m.slots.pte, np.uint8)
        pfn = np.frombuffer(m.slots.pfn, np.int64)
        vpage = np.frombuffer(m.slot_vpage, np.int64)
        lists: dict[int, np.ndarray] = {}
        for c in self.cpus:
            s = np.asarray(self.work.get(c, ()), np.int64)
            if not len(s):
                continue
            ps = pte[s]
            if (ps & P == 0).any():
                return False  # an empty PTE: a write-alloc fault, the bulk loop's
            faulting = s[ps & W == 0]
            if len(faulting):
                if (pfn[faulting] != ZERO_PFN).any():
                    return False
                lists[c] = faulting
        if not lists:
            return False
        cpus = [c for c in self.cpus if c in lists]  # in the step's order: the heap breaks ties by id
        self.lists = lists
        self.n = n = sum(len(x) for x in lists.values())
        vp = {c: vpage[s] for c, s in lists.items()}
        if not set(np.unique(np.concatenate(list(vp.values())) >> 9).tolist()) <= p.pte_tables.keys():
            return False  # a page table to allocate: the bulk loop's
        # the fixed lines
        pidx = p.index
        self.lock = L.mmap_lock_line(pidx) if m._mmap_sem else L.vma_lock_line(pidx, v.index)
        self.mmap = L.mmap_lock_line(pidx)
        self.zone = L.ZONE_LOCK
        self.mm = L.mm_counter_line(pidx) if m._rss_atomic else None
        fixed = [self.lock, self.mmap, self.zone] + ([self.mm] if self.mm is not None else [])
        # the per-table and per-line ones
        ptl_no = {c: x >> 9 for c, x in vp.items()}
        pte_no = {c: x >> 3 for c, x in vp.items()}
        order = list(lists)
        pi, self.ptl_no = _line_table(np.concatenate([ptl_no[c] for c in order]))
        ei, self.pte_no = _line_table(np.concatenate([pte_no[c] for c in order]))
        cut = np.cumsum([len(lists[c]) for c in order])[:-1]
        self.pi = dict(zip(order, np.split(pi, cut)))
        self.ei = dict(zip(order, np.split(ei, cut)))
        self.ptl_ids = ((((pidx << 32) | self.ptl_no) << 2 | 2) << 3) | C.LK_LOCK
        self.pte_ids = (((pidx << 40) | self.pte_no) << 3) | C.LK_PTE
        # every shared line must be held by one CPU (or none, for the fixed ones), all on one
        # socket: transfers then all cost the same, and a write never invalidates sharers
        sharers = cm.sharers
        if sharers and (any(x in sharers for x in fixed)
                        or np.isin(self.ptl_ids, np.fromiter(sharers, np.int64, len(sharers))).any()
                        or np.isin(self.pte_ids, np.fromiter(sharers, np.int64, len(sharers))).any()):
            return False
        og = cm.owner.get
        self.ptl_owner = [og(x, -1) for x in self.ptl_ids.tolist()]
        self.pte_owner = [og(x, -1) for x in self.pte_ids.tolist()]
        if min(self.ptl_owner) < 0 or min(self.pte_owner) < 0:
            return False  # a line no cache holds: a DRAM miss the loop does not time
        owners = set(self.ptl_owner) | set(self.pte_owner) | {og(x, -1) for x in fixed} | set(cpus)
        owners.discard(-1)
        if len({cm.socket[c] for c in owners}) != 1:
            return False
        # the frames the step will take, in order: the free list from its end, then new pfns
        fr = m.frames
        self.take = take = min(n, len(fr.free))
        self.pfns = np.concatenate([np.asarray(fr.free[len(fr.free) - take:][::-1], np.int64),
                                    np.arange(fr.next_pfn, fr.next_pfn + n - take, dtype=np.int64)])
        if np.isin(self.pfns, _held(cm, C.LK_STRUCT_PAGE)).any():
            return False  # a recycled frame some cache still holds: not a plain DRAM miss
        self.order_cpus = cpus
        return True

    # ------------------------------------------------------------------ play
    def play(self) -> int:
        """Time the step, then write everything; returns the makespan like Bulk.bulk_access."""
        m, cm, costs = self.m, self.m.cache, self.m.costs
        copy = m.k.cow_from_zero == "copy"
        self.copy = copy
        self.cost = (costs.fault_entry_ns + costs.alloc_page_ns + (costs.copy_page_ns if copy else costs.clear_page_ns)
                     + costs.rmap_ns)
        start = m.now
        for c in self.cpus:
            m.clock[c] = start
        self.start = start
        # each fixed line's owner before the first fault (the records need it)
        og = cm.owner.get
        self.first_owner = {s: og(getattr(self, s), -1) for s in ("lock", "mmap", "zone")}
        self.first_owner["mm"] = og(self.mm, -1) if self.mm is not None else -1
        self.ptl_first = np.asarray(self.ptl_owner, np.int64)
        self.pte_first = np.asarray(self.pte_owner, np.int64)
        self.pcp0 = {c: m.pcp[c] for c in self.lists}
        prep = not self.v.anon_vma
        timing = _Timing(self, prep)
        progress, n0 = m.progress, m.rec.n_events
        done = 0
        while done < self.n:
            k = min(CHUNK - done % CHUNK, self.n - done) if progress is not None else self.n - done
            timing.run(k)
            done += k
            if progress is not None and done % CHUNK == 0:
                m.now = max(m.now, timing.latest)
                if progress(n0 + done) is False:
                    raise Cancelled(f"cancelled after {n0 + done:,} events")
        self.prep = prep
        return self._write(timing)

    # ------------------------------------------------------------------ write
    def _write(self, timing: _Timing) -> int:
        m, v, cm = self.m, self.v, self.m.cache
        cpu = np.asarray(timing.cpu, np.int64)
        ta = np.asarray(timing.end, np.int64)
        timing.cpu = timing.end = []  # (a 1 GiB step's lists of ints are some 15 MB)
        n, cost = self.n, self.cost
        t1 = ta + cost
        t0 = np.empty(n, np.int64)
        local = np.empty(n, np.int64)  # each fault's position in its CPU's list
        slot = np.empty(n, np.int64)
        pi = np.empty(n, np.int64)
        ei = np.empty(n, np.int64)
        for c, s in self.lists.items():
            at = np.flatnonzero(cpu == c)
            local[at] = np.arange(len(at))
            slot[at] = s
            pi[at] = self.pi[c]
            ei[at] = self.ei[c]
            t0[at[0]] = self.start
            t0[at[1:]] = t1[at[:-1]]
            m.clock[c] = int(t1[at[-1]])
            m.pcp[c] = timing.pcp[c]
        pcp0 = np.zeros(int(cpu.max()) + 1, np.int64)
        for c, x in self.pcp0.items():
            pcp0[c] = x
        first = pcp0[cpu]
        refill = (local >= first) & ((local - first) % 31 == 0)  # Core.alloc_frame's per-cpu list
        pfn = self.pfns
        # the state every fault leaves
        fr = m.frames
        if int(pfn.max()) >= len(fr.kind):
            fr._grow(int(pfn.max()) + 1)
        if self.take:
            del fr.free[len(fr.free) - self.take:]
        fr.next_pfn += n - self.take
        np.frombuffer(fr.kind, np.uint8)[pfn] = C.FK_ANON
        np.frombuffer(fr.refcount, np.int64)[pfn] = 1
        np.frombuffer(fr.mapcount, np.int64)[pfn] = 1
        np.frombuffer(fr.flags, np.uint16)[pfn] = NEW_FLAGS
        fr.used += n
        new_pte = P | A | W | D
        pte_before = np.frombuffer(m.slots.pte, np.uint8)[slot]
        np.frombuffer(m.slots.pte, np.uint8)[slot] = new_pte
        np.frombuffer(m.slots.pfn, np.int64)[slot] = pfn
        rss0, used0 = m.rss_pages, fr.used - n
        m.rss_pages += n
        v.anon_vma = True
        # each line's owner before each fault: the CPU of the fault that touched it last
        before = {}
        prev = np.empty(n, np.int64)
        prev[0] = self.first_owner["lock"]
        prev[1:] = cpu[:-1]
        before["lock"] = prev
        before["mm"] = None
        if self.mm is not None:  # every fault writes the mm counter too, after the others
            before["mm"] = prev.copy()
            before["mm"][0] = self.first_owner["mm"]
        zs = np.flatnonzero(refill)
        z = np.full(n, -2, np.int64)
        if len(zs):
            z[zs[0]] = self.first_owner["zone"]
            z[zs[1:]] = cpu[zs[:-1]]
        before["zone"] = z
        mm0 = np.full(n, -2, np.int64)
        if self.prep:
            mm0[0] = self.first_owner["mmap"] if self.mmap != self.lock else cpu[0]
        before["mmap"] = mm0
        before["ptl"] = _previous(pi, cpu, self.ptl_first)
        before["pte"] = _previous(ei, cpu, self.pte_first)
        # the caches as the loop left them
        owner = cm.owner
        owner[self.lock] = int(cpu[-1])
        if self.prep:
            owner[self.mmap] = int(cpu[0]) if self.mmap != self.lock else int(cpu[-1])
        if len(zs):
            owner[self.zone] = int(cpu[zs[-1]])
        if self.mm is not None:
            owner[self.mm] = int(cpu[-1])
        owner.update(zip(self.ptl_ids.tolist(), timing.ptl_owner))
        owner.update(zip(self.pte_ids.tolist(), timing.pte_owner))
        owner.update(zip(((pfn << 3) | C.LK_STRUCT_PAGE).tolist(), cpu.tolist()))
        # records
        rec = m.rec
        special = (pte_before & S) != 0
        pid = self._paths(special)
        end = int(t1.max())
        rec_now = max(m.now, end)
        sc_fixed = (m.zp_ref, m.zp_map, cm.zero_writes, cm.zero_transfers, m.hzp_ref, cm.hzero_writes,
                    cm.hzero_transfers, fr.pt, m.bad_pages)
        for a in range(0, n, BUILD):
            b = min(n, a + BUILD)
            _Records(self, cpu[a:b], slot[a:b], pfn[a:b], pid[a:b], t0[a:b], t1[a:b], ta[a:b],
                     {s: (x[a:b] if x is not None else None) for s, x in before.items()},
                     refill[a:b], a).write(rec, m, used0 + a, rss0 + a, sc_fixed)
        m.now = rec_now
        makespan_end = max([m.clock[c] for c in self.cpus] + [self.start])
        m.now = max(m.now, makespan_end)
        cm.expire(m.now)
        return makespan_end - self.start

    def _paths(self, special: np.ndarray) -> np.ndarray:
        """Each fault's kernel path id, registered in the order the bulk loop would meet them."""
        m = self.m
        head = (m.fault_fn, "handle_mm_fault", "handle_pte_fault", "do_wp_page")
        decision = COW_COPY if self.copy else COW_PFN
        tail = ("cow_user_page" if self.copy else "clear_user_highpage", "page_add_new_anon_rmap")
        key = special.astype(np.int64)
        if self.prep:
            key[0] += 2
        firsts = np.unique(key, return_index=True)[1]
        ids = np.empty(4, np.int64)
        for j in sorted(firsts.tolist()):
            k = int(key[j])
            fn = head + (("vm_normal_page",) if k & 1 else ()) + (("anon_vma_prepare",) if k & 2 else ()) + tail
            ids[k] = m.rec.path_id(fn, decision)
        return ids[key]


def _previous(idx: np.ndarray, cpu: np.ndarray, first: np.ndarray) -> np.ndarray:
    """For each fault, the CPU of the fault before it on the same line (in the order faults ran),
    or the line's owner before the step for the first."""
    order = np.argsort(idx, kind="stable")
    si = idx[order]
    out = np.empty(len(idx), np.int64)
    prev = np.empty(len(idx), np.int64)
    prev[0] = first[si[0]]
    same = si[1:] == si[:-1]
    prev[1:] = np.where(same, cpu[order[:-1]], first[si[1:]])
    out[order] = prev
    return out


class _Timing:
    """The loop: each fault's CPU and the time its line accesses end, nothing else.

    CacheModel.access_writes, specialised: every shared line is held by one CPU of one socket
    (Sweep.plan checked), so a line this CPU holds costs a hit and any other a transfer; the new
    frame's struct page, which no cache holds, a DRAM miss with nobody to wait for."""

    def __init__(self, sw: Sweep, prep: bool):
        m, cm = sw.m, sw.m.cache
        costs = m.costs
        self.hit, self.hold = costs.hit_ns, costs.line_hold_ns
        self.near, self.dram = costs.same_socket_ns, costs.dram_ns
        self.cost = sw.cost
        self.cpu: list[int] = []
        self.end: list[int] = []
        self.pcp = list(m.pcp)
        self.ptl_owner, self.pte_owner = list(sw.ptl_owner), list(sw.pte_owner)
        bg = cm.busy.get
        self.ptl_busy = [bg(x, 0) for x in sw.ptl_ids.tolist()]
        self.pte_busy = [bg(x, 0) for x in sw.pte_ids.tolist()]
        width = max(sw.lists) + 1
        self.count = [0] * width
        self.pi: list = [None] * width
        self.ei: list = [None] * width
        for c in sw.lists:
            self.pi[c], self.ei[c] = sw.pi[c].tolist(), sw.ei[c].tolist()
            self.count[c] = len(sw.lists[c])
        self.has_mm = sw.mm is not None
        self.heap = [(sw.start, c, 0) for c in sw.order_cpus]
        heapq.heapify(self.heap)
        self._first(sw, prep)

    def _first(self, sw: Sweep, prep: bool) -> None:
        """The step's first fault, by the cache model proper on a scratch copy of its lines: it may
        meet lines no cache holds yet (the fault lock, the mm counter), and it may prepare the
        vma's anon_vma under mmap_lock, one more line, which is the fault lock itself on 2.6.x.
        After it, the loop's assumptions hold: every shared line has an owner."""
        cm = sw.m.cache
        t0, c, _ = self.heap[0]
        lines = [sw.lock] + ([sw.mmap] if prep else [])
        n = self.pcp[c]
        if not n:
            lines.append(sw.zone)
            n = 31
        self.pcp[c] = n - 1
        x, y = self.pi[c][0], self.ei[c][0]
        ptl, pte = int(sw.ptl_ids[x]), int(sw.pte_ids[y])
        lines += [(int(sw.pfns[0]) << 3) | C.LK_STRUCT_PAGE, ptl, pte] + ([sw.mm] if self.has_mm else [])
        scratch = L.CacheModel(cm.ncpus, cm.socket, cm.costs)
        for line in set(lines) | {sw.zone}:  # (the zone lock too: the loop reads its owner from here)
            for mine, theirs in ((scratch.owner, cm.owner), (scratch.busy, cm.busy)):
                if line in theirs:
                    mine[line] = theirs[line]
        t = scratch.access_writes(c, t0, lines, [])
        og, bg = scratch.owner.get, scratch.busy.get
        self.fixed = [og(sw.lock, -1), bg(sw.lock, 0), og(sw.zone, -1), bg(sw.zone, 0),
                      og(sw.mm, -1) if self.has_mm else -1, bg(sw.mm, 0) if self.has_mm else 0]
        self.ptl_owner[x], self.ptl_busy[x] = c, bg(ptl, 0)
        self.pte_owner[y], self.pte_busy[y] = c, bg(pte, 0)
        self.cpu.append(c)
        self.end.append(t)
        heapq.heapreplace(self.heap, (t + self.cost, c, 1))
        self.heap = [e for e in self.heap if e[2] < self.count[e[1]]]
        heapq.heapify(self.heap)
        self.pending = 1  # faults played ahead of run()
        self.latest = t + self.cost  # the end of the latest fault so far (the progress call's clock)

    def run(self, k: int) -> None:
        """Play the next k faults, in rounds that no CPU's list can run out within."""
        k, self.pending = k - self.pending, 0
        heap, count = self.heap, self.count
        while k > 0:
            safe = min(count[c] - i for _, c, i in heap)  # faults left to the CPU with fewest
            r = min(k, safe)
            self._round(r)
            k -= r
            self.heap = heap = [e for e in heap if e[2] < count[e[1]]]  # CPUs done leave the heap
            heapq.heapify(heap)
        if self.end:
            self.latest = max(self.latest, max(self.end[-CHUNK:]) + self.cost)

    def _round(self, k: int) -> None:
        """k faults, none of them past the end of its CPU's list: CacheModel.access_writes,
        branch for branch, for these lines."""
        hit, hold, near, dram, cost = self.hit, self.hold, self.near, self.dram, self.cost
        o_lock, b_lock, o_zone, b_zone, o_mm, b_mm = self.fixed
        has_mm = self.has_mm
        heap, pcp, pi, ei = self.heap, self.pcp, self.pi, self.ei
        ptl_o, ptl_b, pte_o, pte_b = self.ptl_owner, self.ptl_busy, self.pte_owner, self.pte_busy
        put_cpu, put_end = self.cpu.append, self.end.append
        replace = heapq.heapreplace
        for _ in range(k):
            t, c, i = heap[0]
            # the fault lock: per-VMA lock or mmap_sem
            if o_lock == c:
                t += hit
                if b_lock > t:
                    t = b_lock
            else:
                if b_lock > t:
                    t = b_lock
                t += near
                o_lock = c
            b_lock = t + hold
            # the per-cpu free list, refilled under the zone lock every 31 pages
            n = pcp[c]
            if not n:
                n = 31
                if o_zone == c:
                    t += hit
                    if b_zone > t:
                        t = b_zone
                else:
                    if b_zone > t:
                        t = b_zone
                    t += near if o_zone >= 0 else dram
                    o_zone = c
                b_zone = t + hold
            pcp[c] = n - 1
            t += dram  # the new frame's struct page
            x = pi[c][i]  # the PTE table's lock
            b = ptl_b[x]
            if ptl_o[x] == c:
                t += hit
                if b > t:
                    t = b
            else:
                if b > t:
                    t = b
                t += near
                ptl_o[x] = c
            ptl_b[x] = t + hold
            y = ei[c][i]  # the PTE's line
            b = pte_b[y]
            if pte_o[y] == c:
                t += hit
                if b > t:
                    t = b
            else:
                if b > t:
                    t = b
                t += near
                pte_o[y] = c
            pte_b[y] = t + hold
            if has_mm:  # 2.6.x: the mm's RSS counter, an atomic every CPU writes
                if o_mm == c:
                    t += hit
                    if b_mm > t:
                        t = b_mm
                else:
                    if b_mm > t:
                        t = b_mm
                    t += near
                    o_mm = c
                b_mm = t + hold
            put_cpu(c)
            put_end(t)
            replace(heap, (t + cost, c, i + 1))
        self.fixed = [o_lock, b_lock, o_zone, b_zone, o_mm, b_mm]


class _Records:
    """The records of a run of faults, built with numpy from the loop's order and times."""

    def __init__(self, sw: Sweep, cpu, slot, pfn, pid, t0, t1, ta, before, refill, offset):
        self.sw = sw
        self.cpu, self.slot, self.pfn, self.pid = cpu, slot, pfn, pid
        self.t0, self.t1, self.ta = t0, t1, ta
        self.before, self.refill = before, refill
        self.offset = offset

    def counter_pairs(self, hit_ns: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Each fault's (key, value) counter increments in the order CacheModel.access_writes
        appends them, then the 64 misses of clearing or copying the page: keys, values, counts.

        Laid out as one column per possible pair, each with a mask of the faults that have it,
        then read row by row where the masks are set; a pair no fault here has gets no column."""
        cpu = self.cpu
        n = len(cpu)
        me = cpu * 64
        cols: list[tuple] = []  # (keys, values, which faults have the pair)
        hits = np.zeros(n, np.int64)
        misses = np.ones(n, np.int64)  # the new frame's struct page
        transfers = np.zeros(n, np.int64)
        for s in SLOTS:
            o = self.before[s]
            if o is None:
                continue
            present = self.refill if s == "zone" else o != -2
            hits += present & (o == cpu)
            misses += present & (o == -1)
            moved = present & (o >= 0) & (o != cpu)
            if moved.any():
                transfers += moved
                cols += [(me + (C.C_BY_LINE + KIND[s]), 1, moved), (o * 64 + C.C_INV_RECV, 1, moved)]
        stall = (self.ta - self.t0) - hits * hit_ns
        for key, value in ((C.C_HITS, hits), (C.C_MISSES, misses), (C.C_TRANSFERS, transfers),
                           (C.C_INV_SENT, transfers), (C.C_STALL, stall)):
            cols.append((me + key, value, value != 0))
        cols.append((me + C.C_MISSES, 64, True))
        k = np.empty((n, len(cols)), np.int32)
        v = np.empty((n, len(cols)), np.int32)
        u = np.empty((n, len(cols)), bool)
        for j, (key, value, has) in enumerate(cols):
            k[:, j], v[:, j], u[:, j] = key, value, has
        return k[u], v[u], u.sum(axis=1)

    def write(self, rec, m, used0: int, rss0: int, sc_fixed: tuple) -> None:
        cpu, n = self.cpu, len(self.cpu)
        ev = np.empty((n, len(rec.INT_COLUMNS)), np.int32)
        ev[:, 0] = m.step_index
        ev[:, 1] = cpu
        ev[:, 2] = Kind.COW_ZERO
        ev[:, 3] = self.pid
        ev[:, 4] = self.sw.p.index
        ev[:, 5] = self.slot
        ev[:, 6] = self.pfn
        ev[:, 7] = FAULT_COW
        ev[:, 8] = 0
        rec.evi.frombytes(_raw(ev))
        rec.evt.frombytes(np.column_stack([self.t0, self.t1]).astype(np.int64).tobytes())
        rec.n_events += n
        keys, vals, counts = self.counter_pairs(m.costs.hit_ns)
        if not rec.keep_deltas:
            sums = np.bincount(keys, weights=vals, minlength=len(m.counters) * 64).astype(np.int64)
            for key in np.flatnonzero(sums).tolist():
                m.counters[key >> 6][key & 63] += int(sums[key])
            return
        ones = np.ones(n, np.int32)
        vmf = np.frombuffer(m.slots.vmf, np.uint16)[self.slot]
        for col, values in zip(rec.sd, (self.slot, np.full(n, P | A | W | D), self.pfn, vmf)):
            col.frombytes(np.asarray(values, np.int32).tobytes())
        rec.sd_n.frombytes(ones.tobytes())
        for col, values in zip(rec.fd, (self.pfn, ones, ones, np.full(n, NEW_FLAGS), np.full(n, C.FK_ANON))):
            col.frombytes(np.asarray(values, np.int32).tobytes())
        rec.fd_n.frombytes(ones.tobytes())
        rec.cd[0].frombytes(_raw(keys))  # (int32 already: counter_pairs lays them out so)
        rec.cd[1].frombytes(_raw(vals))
        rec.cd_n.frombytes(_raw(counts.astype(np.int32)))
        sc = np.empty((n, 11), np.int32)
        zp_ref, zp_map, zw, zt, hzp, hzw, hzt, pt, bad = sc_fixed
        for j, x in enumerate((zp_ref, zp_map, zw, zt, hzp, hzw, hzt)):
            sc[:, j] = x
        sc[:, 7] = np.arange(used0 + 1, used0 + n + 1)
        sc[:, 8] = pt
        sc[:, 9] = np.arange(rss0 + 1, rss0 + n + 1)
        sc[:, 10] = bad
        rec.scalars.frombytes(_raw(sc))
