"""Runs of the lean populate walk written at once: many fresh pages' events in a few numpy calls.

The lean walk (populate.py) plays a fresh page of a private writable anonymous vma as one event
whose work it learned from the general walk (`_Learned`: path, kind, cost, misses, and the lines
it writes by role). Where that walk is the only work left in `Core.run_units`, nothing can come
between its events (without a progress callback it does not even yield: the scheduler would only
bring it back), so a run of such pages can be written in one go, exactly as the walk would have
played them one by one; with a progress callback the run makes the calls its events would have
made (`_progress`) and the walk yields after it. What varies between those pages is small and
explicit:

- the page, its vpage and the frame it gets (the next fresh frame: the free list must be empty);
- where the per-cpu free list runs dry (every PCP_BATCH allocations: the zone lock is written too);
- whether the page is the first of a PTE table the run makes (a run goes on past a table's end):
  its event allocates the table's frame first (the next fresh frame, then the page's), writes the
  table's struct page before the page's (a miss), and has the path, kind, cost and misses the
  lean walk learned from the general walk's first such page (`how_first`, learned as `how` is,
  with the extra frame and line checked by role); without that (the rule made it otherwise),
  runs end before a missing table, whose first page the general walk plays;
- for each line the event writes, whether this CPU holds it already (a hit) or no cache holds it
  and no busy time can delay it (a miss from memory). The lock, mm counter, zone lock, PTE-table
  lock and PTE line are hits after their first write in the run; the new frame's struct page is
  a miss (then hits, for the walk's get/put). A line in any other state (held by another CPU,
  shared, busy) ends the run before the page that would write it.

So each page's event is one of a handful of shapes (which lines hit, whether the zone lock is
written and before which allocation, whether it makes a table), and each shape's timing and
counter increments are the cache model's own answer: `CacheModel.access_writes` is run once per
shape on a scratch model holding the shape's hits, with the same costs and CPU. That is the one
rule; nothing here times a line. Between events no busy time can delay a line this CPU wrote
before: checked (a line's hold ends within the event's own kernel work, `line_hold_ns <= cost +
hit_ns`), else nothing is written here.

The allow-list, all checked before anything is touched (a run ends before the first page that
fails it; a run of fewer than MIN_RUN pages is left to the lean walk): nothing else can run
(`units_waiting == 0`), consecutive slots of the walk's vma with its vma flags (those the lean
walk learned), empty PTEs, PTE tables present and not huge (or missing, not huge, under upper
tables that exist, where `how_first` was learned), the vma's anon_vma there, the free list
empty, and the lines as above. The records are the columns.py layout, the frames as Frames.alloc
leaves them (Frames.alloc_run), the scalars as the state they follow moves (a table adds one
page-table frame). tests/engine/test_fastpaths_direct.py compares it record for record with the
general walk, and tests/engine/test_one_rule.py changes the rules under it.
"""

from __future__ import annotations

import numpy as np

from zpviz.engine import cache as L
from zpviz.engine import constants as C
from zpviz.engine import rules as R
from zpviz.engine.cache import CacheModel
from zpviz.engine.columns import (
    INT_DTYPE,
    KEY_MASK,
    KEY_SHIFT,
    KEY_STRIDE,
    N_INT,
    N_STORED,
    TIME_DTYPE,
    Cd,
    Col,
    Fd,
    Sd,
    Stored,
)
from zpviz.engine.core import Cancelled, upper_table_keys
from zpviz.engine.record import raw_bytes

MIN_RUN = 16  # pages: below this a run costs more to set up than the lean walk takes to play it
MAX_RUN = 1 << 15  # pages written at once (bounds the temporaries)
MAX_PAUSE = 1024  # pages left to the lean walk after a run that came out short (doubling each time)

# the lines whose first write in a run may be a miss, as bits of a page's shape
_MISS = {"lock": 1, "ptl": 2, "pte": 4, "mm": 8, "zone": 16}
_REFILL = 32  # the page's allocation refills the per-cpu list (the zone lock is written)
_FIRST = 64  # the first page of a PTE table the run makes: the table's frame is allocated first
_REFILL_PT = 128  # that table's allocation refills the per-cpu list (the zone lock before its struct page)
FRESH, OWN, OTHER = 0, 1, 2  # a line's state before the run: no cache, this CPU's, anything else


def _frame_view(arr) -> np.ndarray:
    return np.frombuffer(arr, {("l", 8): np.int64, ("l", 4): np.int32, ("H", 2): np.uint16}[arr.typecode, arr.itemsize])


class Runs:
    """The runs of one lean populate walk (one vma, one CPU). `roles`: the lines the walk's page
    writes, in order, by role ("lock", "page", "ptl", "pte", "mm"), as the lean walk learned
    them; the zone lock comes before the first "page" where the allocation refills."""

    def __init__(self, m, p, v, cpu: int, roles: tuple[str, ...], lock_line: int, mm_line: int | None):
        self.m, self.p, self.v, self.cpu = m, p, v, cpu
        self.roles = roles
        self.lock_line, self.mm_line = lock_line, mm_line
        # (shape bits, cost, misses) -> (ns, counter keys, their increments, busy offset per role, the key)
        self.shapes: dict[tuple, tuple] = {}
        self.pids: dict[tuple, int] = {}  # the same key -> its counter pattern's id in the recorder
        self.pause_until = 0  # slot index before which no run is tried
        self.pause = MIN_RUN

    # ------------------------------------------------------------------ can a run start here?
    def ready(self) -> bool:
        """The cheap part of the allow-list: nothing else can run, fresh frames."""
        m = self.m
        return not m.units_waiting and not m.frames.free and self.v.anon_vma

    def _state(self, line: int, t0: int) -> int:
        cm = self.m.cache
        if line in cm.sharers:
            return OTHER
        own = cm.owner.get(line, -1)
        b = cm.busy.get(line, 0)
        if own == -1:
            return FRESH if b <= t0 else OTHER
        if own == self.cpu and b <= t0 + cm.costs.hit_ns:  # (its first access in the run is later)
            return OWN
        return OTHER

    def _states(self, ids, t0: int) -> list[int]:
        """_state of each line in ids, the lines no cache knows of found at once (most are)."""
        cm = self.m.cache
        odd: set[int] = set()
        for known in (cm.owner, cm.sharers, cm.busy):
            # (through the smaller side: `keys() & ids` looks up every id, a dict of a few lines
            # is quicker walked; ids is a range, so `in ids` is arithmetic)
            odd |= known.keys() & ids if len(known) > len(ids) else {x for x in known if x in ids}
        states = [FRESH] * len(ids)
        for x in odd:  # (each in ids: its place there is arithmetic)
            states[(x - ids.start) // ids.step] = self._state(x, t0)
        return states

    # ------------------------------------------------------------------ the shapes
    def _lines(self, bits: int, pfn: int, vp: int) -> tuple[list[int], list[str]]:
        """The lines one page's event writes, in order, and their roles (a table's first page:
        the table's struct page, frame pfn - 1, before the page's, as the lean walk learned)."""
        ids = {"lock": self.lock_line, "page": L.struct_page_line(pfn), "ptl": L.ptl_line_at(self.p.index, vp >> 9),
               "pte": L.pte_line_at(self.p.index, vp >> 3), "mm": self.mm_line, "zone": L.ZONE_LOCK,
               "ptpage": L.struct_page_line(pfn - 1)}
        roles = list(self.roles)
        at = roles.index("page")  # the allocations come before it, each after its refill
        roles[at:at] = (["zone"] if bits & _REFILL_PT else []) + (["ptpage"] if bits & _FIRST else []) + (
            ["zone"] if bits & _REFILL else [])
        return [ids[r] for r in roles], roles

    def _shape(self, bits: int, pfn: int, vp: int, how) -> tuple:
        """The cache model's answer for one shape, on a scratch model holding its hits: the
        event's duration, its counter pairs, and per role the line's busy time after it."""
        memo = (bits, how.cost, how.misses)
        got = self.shapes.get(memo)
        if got is not None:
            return got
        m, cpu = self.m, self.cpu
        lines, roles = self._lines(bits, pfn, vp)
        scratch = CacheModel(m.ncpus, m.cache.socket, m.costs)
        for line, role in zip(lines, roles):
            if role not in ("page", "ptpage") and not bits & _MISS[role]:
                scratch.owner[line] = cpu
        out: list[int] = []
        t = scratch.access_writes(cpu, 0, lines, out) + how.cost
        if how.misses:
            out += (cpu * KEY_STRIDE + C.C_MISSES, how.misses)  # (as Core.emit)
        busy = {role: scratch.busy[line] for line, role in zip(lines, roles)}
        got = self.shapes[memo] = (t, np.array(out[0::2], INT_DTYPE), np.array(out[1::2], INT_DTYPE), busy, memo)
        return got

    # ------------------------------------------------------------------ a run
    def play(self, slots: list[int], i: int, how, vmf: int, page_flags: int, new_pte: int, how_first=None) -> int:
        """Write the run of pages slots[i:] that the allow-list lets through, as the lean walk
        would play them; returns how many (0: none, the lean walk plays slots[i]). how_first: what
        the general walk did for the first page of a PTE table it made (the lean walk's
        `learn`), or None: then the run ends before the first missing table."""
        if i < self.pause_until:
            return 0
        n = self._run(slots, i, how, vmf, how_first)
        if n < MIN_RUN:
            # short runs here (the lines or pages in the way): leave some pages to the lean walk
            self.pause_until = i + self.pause
            self.pause = min(2 * self.pause, MAX_PAUSE)
            return 0
        self.pause = MIN_RUN
        first = self.m.rec.n_events
        self._write(slots[i], n, how, vmf, page_flags, new_pte)
        self._progress(first, n)
        return n

    def _progress(self, first: int, n: int) -> None:
        """Where a progress callback is set, the lean walk yields after each event and run_units
        calls it after every 4,096th step (Core.run_units) with the events recorded by then: the
        calls of the run's events but its last are made here, in order, the last is run_units'
        own (the walk yields after the run), and its count of steps moves on by the run's."""
        m = self.m
        progress = m.progress
        if progress is None:
            return
        tick = m.units_tick  # the steps before this one: the run's j-th event is step tick + j
        for step in range((tick // 4096 + 1) * 4096, tick + n, 4096):
            if progress(first + step - tick) is False:
                raise Cancelled(f"cancelled after {first + step - tick:,} events")
        m.units_tick = tick + n - 1

    def _run(self, slots: list[int], i: int, how, vmf: int, first) -> int:
        """How many pages from slots[i] on the allow-list lets through (it touches nothing). Notes
        for _write the lines' states before the run (pre), the PTE tables it makes (news: the
        offsets of their first pages) and what it knows of such a page (first, or None)."""
        m, p = self.m, self.p
        costs = m.costs
        if costs.line_hold_ns > how.cost + costs.hit_ns:
            return 0  # a line's hold could outlast the event: the next one's timing would depend on it
        if first is not None and costs.line_hold_ns > first.cost + costs.hit_ns:
            first = None
        s0 = slots[i]
        n = min(len(slots) - i, MAX_RUN, len(m.slots) - s0)
        if n < MIN_RUN:
            return 0
        # PTE tables (page j's vpage is vp0 + j: checked below): present and not huge, or missing
        # where the lean walk learned a table's first page (first) and the upper tables are there
        # (the event makes the PTE table only). First, as most runs end at a table
        vp0 = m.slot_vpage[s0]
        t0 = m.clock[self.cpu]
        tables, huge, upper = p.pte_tables, p.huge_pmds, p.upper_tables
        news: list[int] = []
        for b in range(vp0 >> 9, ((vp0 + n - 1) >> 9) + 1):
            if b in tables and b not in huge:
                continue
            j = (b << 9) - vp0
            if first is None or b in huge or j <= 0 or not all(key in upper for key in upper_table_keys(b << 9)):
                n = min(n, max(j, 0))
                break
            news.append(j)
        if n < MIN_RUN:
            return 0
        # consecutive slots of one vma (so consecutive vpages), with empty PTEs and the flags learned
        step = np.arange(n)
        ok = np.asarray(slots[i:i + n], np.int64) == s0 + step
        ok &= np.frombuffer(m.slot_vpage, np.int64)[s0:s0 + n] == vp0 + step
        ok &= np.frombuffer(m.slots.pte, np.uint8)[s0:s0 + n] == 0
        ok &= np.frombuffer(m.slots.vmf, np.uint16)[s0:s0 + n] == vmf
        if not ok.all():
            n = int(np.argmin(ok))
        if n < MIN_RUN:
            return 0

        def allocs(n: int) -> int:  # the allocations of the run's first n pages
            return n + sum(1 for j in news if j < n)

        def page_of(a: int) -> int:  # the page whose event makes the run's a-th allocation
            return a - sum(1 for x, j in enumerate(news) if j + x < a)

        # the lock, the mm counter: their first write is the first page's; the zone lock's, the
        # first refill's
        pre = {role: self._state(line, t0) for role, line in (
            ("lock", self.lock_line), ("mm", self.mm_line), ("zone", L.ZONE_LOCK)) if line is not None}
        if pre["lock"] == OTHER or pre.get("mm") == OTHER:
            return 0
        pcp0 = m.pcp[self.cpu]
        if pcp0 < allocs(n) and pre["zone"] == OTHER:
            n = page_of(pcp0)
        # the PTE-table locks and PTE lines: a page's is first written by the first of its pages
        for role, shift, line_at, move in (("ptl", 9, L.ptl_line_at, L.ptl_line_move(1)),
                                           ("pte", 3, L.pte_line_at, L.pte_line_move(1))):
            q0, q1 = vp0 >> shift, (vp0 + n - 1) >> shift
            states = self._states(range(line_at(p.index, q0), line_at(p.index, q1) + 1, move), t0)
            if OTHER in states:
                n = min(n, max(0, ((q0 + states.index(OTHER)) << shift) - vp0))
                states = states[:states.index(OTHER)]
            pre[role] = states
        if n < MIN_RUN:
            return 0
        # the new frames' struct pages (the pages' and the tables'): no cache may have them (so
        # every one is a miss)
        at = m.frames.next_pfn
        ids = range(L.struct_page_line(at), L.struct_page_line(at + allocs(n)), L.struct_page_move(1))
        states = self._states(ids, t0)
        if any(states):
            n = min(n, page_of(next(j for j, x in enumerate(states) if x != FRESH)))
        self.pre = pre  # for _write
        self.news = [j for j in news if j < n]
        self.how_first = first
        return n

    def _write(self, s0: int, n: int, how, vmf: int, page_flags: int, new_pte: int) -> None:
        m, p, cpu = self.m, self.p, self.cpu
        first = self.how_first
        rec, fr = m.rec, m.frames
        t0 = m.clock[cpu]
        scal_before = np.array(m.scalar_values()[1:], np.int64)
        vp0 = m.slot_vpage[s0]
        k = np.arange(n, dtype=np.int64)
        news = self.news  # the pages that make their PTE table (first): two allocations, the table's first
        new_table = np.zeros(n, bool)
        new_table[news] = True
        tables_by = np.cumsum(new_table)  # the tables made by each page's event and those before
        n_alloc = n + len(news)
        page_at = k + tables_by  # each page's allocation (its frame's offset in the run)
        pt_at = page_at[news] - 1  # each new table's
        # ---- each page's shape
        batch = R.PCP_BATCH
        pcp0 = m.pcp[cpu]
        a = np.arange(n_alloc, dtype=np.int64)
        refills = a[(a >= pcp0) & ((a - pcp0) % batch == 0)]  # the allocations that refill
        is_pt = np.zeros(n_alloc, bool)
        is_pt[pt_at] = True
        owner_page = a - (np.cumsum(is_pt) - is_pt)  # the page whose event makes each allocation
        bits = np.where(new_table, _FIRST, 0)
        bits[owner_page[refills[~is_pt[refills]]]] |= _REFILL
        bits[owner_page[refills[is_pt[refills]]]] |= _REFILL_PT
        pre = self.pre
        if pre["lock"] == FRESH:
            bits[0] |= _MISS["lock"]
        if pre.get("mm") == FRESH:
            bits[0] |= _MISS["mm"]
        if len(refills) and pre["zone"] == FRESH:
            bits[owner_page[refills[0]]] |= _MISS["zone"]
        for role, shift in (("ptl", 9), ("pte", 3)):
            q0 = vp0 >> shift
            nq = ((vp0 + n - 1) >> shift) - q0 + 1
            first_page = np.maximum(((q0 + np.arange(nq)) << shift) - vp0, 0)  # of each line, in the run
            bits[first_page[np.array(pre[role][:nq]) == FRESH]] |= _MISS[role]
        pfn0 = fr.next_pfn
        counts = np.bincount(bits)
        uniq = np.flatnonzero(counts)
        lut = np.zeros(len(counts), np.int64)
        lut[uniq] = np.arange(len(uniq))
        inv = lut[bits]  # each page's shape, as an index into shapes
        shapes, reps = [], []
        for b in uniq.tolist():
            j = int(np.argmax(bits == b))  # the first page of this shape
            reps.append(j)
            shapes.append(self._shape(b, pfn0 + int(page_at[j]), vp0 + j, first if b & _FIRST else how))
        # ---- times
        dur = np.array([s[0] for s in shapes], np.int64)[inv]
        t1 = t0 + np.cumsum(dur)
        starts_t = t1 - dur
        t_end = int(t1[-1])
        # ---- state: frames, pages, tables, allocator, caches, clock
        if fr.alloc_run(C.FK_ANON, n_alloc, pt_at.tolist()) != pfn0:
            raise RuntimeError("populate run: the frames are not the next fresh ones")
        pfns = pfn0 + page_at
        flags = _frame_view(fr.flags)
        flags[pfns] |= page_flags
        del flags
        mapc = _frame_view(fr.mapcount)
        mapc[pfns] = 1
        del mapc
        for j, pt in zip(news, (pfn0 + pt_at).tolist()):
            p.pte_tables[(vp0 + j) >> 9] = pt  # (in the order the general walk makes them)
        pte = np.frombuffer(m.slots.pte, np.uint8)
        pte[s0:s0 + n] = new_pte
        del pte
        pfn_view = np.frombuffer(m.slots.pfn, np.int64)
        pfn_view[s0:s0 + n] = pfns
        del pfn_view
        m.pcp[cpu] = pcp0 + len(refills) * batch - n_alloc
        m.rss_pages += n
        m.clock[cpu] = t_end
        if t_end > m.now:
            m.now = t_end
        last_refill = int(owner_page[refills[-1]]) if len(refills) else None
        self._lines_after(n, n_alloc, vp0, pfn0, page_at, news, pt_at, last_refill, inv, shapes, starts_t, t_end)
        # ---- records (columns.py layout)
        rows = np.empty((n, N_INT), INT_DTYPE)
        for col, value in ((Col.STEP, m.step_index), (Col.CPU, cpu), (Col.PROC, p.index), (Col.FLAGS, 0)):
            rows[:, col] = value
        for col, field in ((Col.KIND, "kind"), (Col.PATH, "path"), (Col.FAULT, "fault")):
            rows[:, col] = getattr(how, field)
            if news:
                rows[news, col] = getattr(first, field)
        rows[:, Col.SLOT] = s0 + k
        rows[:, Col.PFN] = pfns
        rec.evi.frombytes(raw_bytes(rows))
        rec.evt.frombytes(raw_bytes(np.column_stack([starts_t, t1]).astype(TIME_DTYPE)))
        first_event = rec.n_events
        m.populated_pages += n
        m.batched_pages += n
        m.batched_tables += len(news)
        if not rec.keep_deltas:
            counters = m.counters
            uses = np.bincount(inv, minlength=len(shapes)).tolist()
            for shape, u in zip(shapes, uses):
                for key, value in zip(shape[1].tolist(), shape[2].tolist()):
                    counters[key >> KEY_SHIFT][key & KEY_MASK] += value * u
            rec.n_events = first_event + n
            return
        # the scalars: each page moves them alike, but for the PTE table a table's first page makes
        scal_after = np.array(m.scalar_values()[1:], np.int64)
        per_table = np.zeros(N_STORED, np.int64)
        per_table[Stored.PT_FRAMES] = 1
        step, rest = np.divmod(scal_after - scal_before - len(news) * per_table, n)
        if rest.any():
            raise RuntimeError("populate run: a scalar moved unevenly")
        ones = np.ones(n, INT_DTYPE)
        for field, values in ((Sd.SLOT, rows[:, Col.SLOT]), (Sd.PTE, np.full(n, new_pte, INT_DTYPE)),
                              (Sd.PFN, rows[:, Col.PFN]), (Sd.VMF, np.full(n, vmf, INT_DTYPE))):
            rec.sd[field].frombytes(raw_bytes(values))
        rec.sd_n.frombytes(raw_bytes(ones))
        # the frame records: every frame the run allocated, in order (a table's before its first page's)
        fviews = {Fd.REF: fr.refcount, Fd.MAP: fr.mapcount, Fd.FLAGS: fr.flags}
        for field in Fd:
            if field == Fd.PFN:
                values = np.arange(pfn0, pfn0 + n_alloc, dtype=INT_DTYPE)
            elif field == Fd.KIND:
                values = np.frombuffer(fr.kind, np.uint8)[pfn0:pfn0 + n_alloc].astype(INT_DTYPE)
            else:
                view = _frame_view(fviews[field])
                values = view[pfn0:pfn0 + n_alloc].astype(INT_DTYPE)
                del view
            rec.fd[field].frombytes(raw_bytes(values))
        rec.fd_n.frombytes(raw_bytes((ones + new_table).astype(INT_DTYPE)))
        # counter increments: each page's shape's pairs (padded per shape, the pads masked out)
        lens = np.array([len(x[1]) for x in shapes], np.int64)
        width = max(1, int(lens.max()))
        keys = np.zeros((len(shapes), width), INT_DTYPE)
        vals = np.zeros((len(shapes), width), INT_DTYPE)
        for u, x in enumerate(shapes):
            keys[u, :lens[u]] = x[1]
            vals[u, :lens[u]] = x[2]
        per_page = lens[inv]
        real = np.arange(width)[None, :] < per_page[:, None]
        rec.cd[Cd.KEY].frombytes(raw_bytes(keys[inv][real]))
        rec.cd[Cd.VALUE].frombytes(raw_bytes(vals[inv][real]))
        rec.cd_n.frombytes(raw_bytes(per_page.astype(INT_DTYPE)))
        # (stored as INT_DTYPE, in which the sums wrap as the int64 ones cast would; only the
        # columns that move are summed)
        sc = np.empty((n, N_STORED), INT_DTYPE)
        sc[:] = scal_before.astype(INT_DTYPE)
        for col in np.flatnonzero(step).tolist():
            sc[:, col] += ((k + 1) * step[col]).astype(INT_DTYPE)
        if news:
            sc[:, Stored.PT_FRAMES] += tables_by.astype(INT_DTYPE)
        rec.scalars.frombytes(raw_bytes(sc))
        rec.n_events = first_event + n
        # the pages' counter patterns are their shapes': found once each (on its first page), so the
        # seal need not hash every page again
        pids = self.pids
        for x, j in zip(shapes, reps):
            if x[4] not in pids:
                pids[x[4]] = int(rec.pattern_ids(first_event + j, first_event + j + 1)[0])
        rec.known_patterns(first_event, np.array([pids[x[4]] for x in shapes], np.int64)[inv])

    def _lines_after(self, n, n_alloc, vp0, pfn0, page_at, news, pt_at, last_refill, inv, shapes, starts_t,
                     t_end) -> None:
        """Every line the run wrote is this CPU's, busy as its last write left it (a busy time no
        later than the run's end can delay no one: only this CPU runs until the step ends, and
        cache.expire drops it then; the lean walk's would be dropped alike)."""
        cm, cpu, pidx = self.m.cache, self.cpu, self.p.index
        owner, busy = cm.owner, cm.busy

        def offsets(role: str) -> np.ndarray:  # per shape: the line's busy time after the event, from its start
            return np.array([x[3].get(role, 0) for x in shapes], np.int64)

        def written(ids: range, times: np.ndarray) -> None:
            owner.update(dict.fromkeys(ids, cpu))
            for j in np.flatnonzero(times > t_end).tolist():
                busy[ids[j]] = int(times[j])

        frame_times = np.empty(n_alloc, np.int64)  # each new frame's struct page, by allocation
        frame_times[page_at] = starts_t + offsets("page")[inv]
        if news:  # a table's, before its first page's
            frame_times[pt_at] = starts_t[news] + offsets("ptpage")[inv[news]]
        written(range(L.struct_page_line(pfn0), L.struct_page_line(pfn0 + n_alloc), L.struct_page_move(1)),
                frame_times)
        for role, shift, line_at, move in (("ptl", 9, L.ptl_line_at, L.ptl_line_move(1)),
                                           ("pte", 3, L.pte_line_at, L.pte_line_move(1))):
            q0, q1 = vp0 >> shift, (vp0 + n - 1) >> shift
            last = np.minimum(((np.arange(q0, q1 + 1) + 1) << shift) - 1 - vp0, n - 1)  # each line's last page
            written(range(line_at(pidx, q0), line_at(pidx, q1) + 1, move), starts_t[last] + offsets(role)[inv[last]])
        singles = [("lock", self.lock_line, n - 1), ("mm", self.mm_line, n - 1)]
        if last_refill is not None:
            singles.append(("zone", L.ZONE_LOCK, int(last_refill)))
        for role, line, j in singles:
            if line is not None:
                written(range(line, line + 1), np.array([starts_t[j] + shapes[inv[j]][3][role]]))
