"""Periods of a bulk step: when the machine comes back to the same state, shifted, skip ahead.

A big read or write over contiguous pages settles into a rhythm: the CPUs lock into a fixed
phase on the shared lines (the per-VMA lock, the PTE lines, the PTE-table lock) and every
PTE table's worth of pages costs exactly what the previous one did. The state the bulk loop
depends on is small and explicit: CPU clocks and positions, the cache lines in flight, the
per-cpu free-page counts, and the untouched pages ahead. At checkpoints (each time the first
CPU starts a new PTE table's share of its pages) this module writes that state down relative
to the first CPU, so that two checkpoints compare equal exactly when one is the other moved by
a whole number of pages (Δ) and nanoseconds (ΔT). Between two equal checkpoints A and B the
events are then known for every later period too: each is A..B's, with slots, pfns, cache
lines and times moved by j·Δ. The skip writes those events and their end state directly
(numpy), as long as what lies ahead (page states, the line states left by earlier steps,
tables present) repeats with the same period and no CPU's free list runs dry. A refill-free
period is also kept as a template: once a refill has been played, the next checkpoint with the
same signature writes the template's periods again from there. Where a few checkpoints in a row
find nothing (every fault allocates, and the free lists refill out of step with the tables), the
step's short stretches are memoised instead (micro.py), between these checkpoints.

This is exact, not an approximation: tests/engine/test_bulk.py plays long lessons with and
without skipping and compares every record and the final machine state.
"""

from __future__ import annotations

from array import array
from itertools import islice, repeat
from math import gcd

import numpy as np

from zpviz.engine import cache as L
from zpviz.engine import constants as C
from zpviz.engine.columns import INT_DTYPE, N_INT, N_STORED, Col, Fd, Sd
from zpviz.engine.distinct import distinct
from zpviz.engine.memory import ZERO_PFN
from zpviz.engine.micro import OFF, MicroPeriods
from zpviz.engine.record import raw_bytes

MIN_PAGES = 4096  # smaller steps finish before a period could pay off
MIN_RUN = 32  # mean pages a run of consecutive slots below which a skip's pages are written by one scatter
# period checkpoints in a row with no skip before the stretches are tried (micro.py): where every
# fault allocates, the whole state repeats only once every per-cpu free list has come round, so
# a period can hardly be found before some 30 PTE tables; where none does, within a few (the
# headline read: at 1,024 of CPU 0's pages, four tables), and until then the stretches write
# most of each table after its first few (they stop at the period checkpoints: micro.py)
MICRO_AFTER = {True: 2, False: 2}
MAX_WINDOW = 8192  # pages between the slowest and the fastest CPU; beyond it (block dealing) no checkpoints
PREFIX_TRIES = 8  # _prefix calls that write nothing before a step stops trying
WIDE = 256  # pages between them beyond which a signature is taken only where the CPUs stood so before


def pte_line_ids(proc: int, lines: np.ndarray) -> np.ndarray:
    """cache.pte_line_at for every PTE line index in `lines` (vpage // 8), as int64."""
    return np.asarray(L.pte_line_at(proc, np.asarray(lines, np.int64)), np.int64)


def ptl_line_ids(proc: int, blocks: np.ndarray) -> np.ndarray:
    """cache.ptl_line_at for every PTE table index in `blocks` (vpage // 512), as int64."""
    return np.asarray(L.ptl_line_at(proc, np.asarray(blocks, np.int64)), np.int64)


def _distinct(x: np.ndarray) -> np.ndarray:
    """np.unique of ints that span a range not much wider than their number (the lines or tables
    of a period's pages), without sorting them: some 20 times faster on a long period's 60,000."""
    if not len(x):
        return x
    lo, hi = int(x.min()), int(x.max())
    if hi - lo > 4 * len(x) + 1024:
        return distinct(x)
    seen = np.zeros(hi - lo + 1, bool)
    seen[x - lo] = True
    return np.flatnonzero(seen) + lo


def _progression(lst: list[int] | range) -> tuple[int, int] | None:
    """(first, stride) when lst is an increasing arithmetic progression."""
    if len(lst) < 2:
        return None
    if isinstance(lst, range):  # (Machine._run_bulk deals evenly spaced pages as ranges)
        return (lst.start, lst.step) if lst.step > 0 else None
    a = np.asarray(lst, dtype=np.int64)
    d = np.diff(a)
    if d[0] <= 0 or (d != d[0]).any():
        return None
    return int(a[0]), int(d[0])


def _runs(x: np.ndarray, shift: int, k: int) -> list[tuple[int, int]] | None:
    """The runs [start, end) of consecutive values the ints x cover, in increasing order, where no
    value comes twice in x nor in x moved by j * shift (0 < j < k); else None (also where they span
    far more than their number)."""
    if not len(x):
        return None
    lo, hi = int(x.min()), int(x.max())
    if hi - lo > 4 * len(x) + 1024:
        return None
    seen = np.zeros(hi - lo + 3, bool)  # (a zero either side: every run has both edges)
    seen[x - lo + 1] = True
    if int(np.count_nonzero(seen)) != len(x):
        return None
    for d in range(shift, min(hi - lo + 1, (k - 1) * shift + 1), shift):  # (copies whose spans meet)
        if (seen[d:] & seen[:-d]).any():
            return None
    edges = (np.flatnonzero(seen[1:] != seen[:-1]) + lo).tolist()
    return list(zip(edges[0::2], edges[1::2]))


def _append_copies(arr: array, block: np.ndarray, k: int) -> int:
    """Append the block's items to arr k times over, each copy straight from the block (no k-fold
    temporary); returns the index in arr of the first copy's first item."""
    at = len(arr)
    if block.size:
        data = raw_bytes(block)
        for _ in range(k):
            arr.frombytes(data)
    return at


def _add_moves(arr: array, at: int, k: int, width: int, field: int, moves: np.ndarray) -> None:
    """Add to field `field` of the k copies of rows of `width` items appended to arr from `at`
    (_append_copies) their moves: row i of copy j gets moves[j, i] (moves of shape (k, 1) or (k, n)),
    in arr's own type (int32 wraps as the recorder's int32 arrays do; times are int64)."""
    rows = np.frombuffer(arr, arr.typecode)[at:].reshape(k, -1, width)
    rows[:, :, field] += moves
    del rows  # (a view of arr: it must be gone before arr grows again)


class PeriodSkipper:
    """Checkpoints of one bulk step, and the skip once two of them match."""

    @classmethod
    def for_step(cls, m, p, v, work: dict[int, list[int]], cpus: list[int], lines: dict[str, int],
                 allocating: bool = True):
        """A skipper, or None where the step cannot have a period worth finding."""
        lists = {c: work[c] for c in cpus if work.get(c)}
        if sum(len(x) for x in lists.values()) < MIN_PAGES:
            return None
        prog = {c: _progression(x) for c, x in lists.items()}
        if any(pr is None for pr in prog.values()) or len({pr[1] for pr in prog.values()}) != 1:
            return None
        return cls(m, p, v, lists, prog, cpus, lines, allocating)

    def __init__(self, m, p, v, lists, prog, cpus, lines, allocating: bool = True):
        self.m, self.p, self.v = m, p, v
        self.lists = lists
        self.first = {c: pr[0] for c, pr in prog.items()}
        self.stride = next(iter(prog.values()))[1]
        self.c0 = next(c for c in cpus if c in lists)  # the CPU whose checkpoints count
        self.every = C.PTRS_PER_PTE // gcd(C.PTRS_PER_PTE, self.stride)  # positions between checkpoints
        self.globals = sorted(set(lines.values()))  # lock, zone, mmap, zero page, mm counter lines
        self.exact: dict[tuple, dict] = {}
        self.loose: dict[tuple, dict] = {}
        self.templates: dict[tuple, tuple[dict, dict, dict]] = {}  # signature -> a refill-free period a..b
        self.marks: list[dict] = []  # every period checkpoint's mark, in order (for _prefix)
        self.first_exact: dict[tuple, dict] = {}  # (signature, per-cpu counts) -> the first mark with them
        self.prefix_events = 0  # of skipped_events, those written as a prefix of a known future (_prefix)
        self.prefix_misses = 0  # _prefix calls that wrote nothing (each walks the marks: a few, then no more)
        self.allocs = dict.fromkeys(lists, 0)  # frames each CPU allocated this step (the loop counts)
        self.skipped_events = 0
        self._pids: dict[int, np.ndarray] = {}  # first event -> counter pattern ids from it (_pattern_ids)
        # what lies ahead, as it was when the step began: the skip may only repeat a period over
        # pages, lines and tables that looked alike before anything touched them
        self.lo = min(x[0] for x in lists.values())
        self.hi = max(x[-1] for x in lists.values())
        sl = m.slots
        idx = slice(self.lo, self.hi + 1)
        # per page its PTE bits, vma flags and whether it maps the zero page, packed in one int32
        # (8 + 16 + 1 bits: equal exactly when all three are), a new array
        self.pre_slot = np.frombuffer(sl.pte, np.uint8)[idx].astype(np.int32)
        self.pre_slot |= np.frombuffer(sl.vmf, np.uint16)[idx].astype(np.int32) << 8
        self.pre_slot |= (np.frombuffer(sl.pfn, np.int64)[idx] == ZERO_PFN).astype(np.int32) << 24
        self.vp_lo = m.slot_vpage[self.lo]
        vp_hi = m.slot_vpage[self.hi]
        cm = m.cache
        self.line0, self.block0 = self.vp_lo // C.PTES_PER_LINE, self.vp_lo // C.PTRS_PER_PTE
        lines = np.arange(self.line0, vp_hi // C.PTES_PER_LINE + 1, dtype=np.int64)
        blocks = np.arange(self.block0, vp_hi // C.PTRS_PER_PTE + 1, dtype=np.int64)
        self.pre_pte_line = self._line_states(cm, pte_line_ids(p.index, lines))
        self.pre_ptl_line = self._line_states(cm, ptl_line_ids(p.index, blocks))
        self.pre_table = np.isin(blocks, np.fromiter(p.pte_tables, np.int64, len(p.pte_tables)))
        self.allocating = allocating
        # short stretches, memoised (micro.py): checkpoints every `checkpoint_every` positions of c0
        self.micro = MicroPeriods(self) if m.micro_skip and MicroPeriods.usable(self) else None
        self.checkpoint_every = self.micro.every if self.micro else self.every
        self.heads: set[tuple] = set()  # how the CPUs stood at wide checkpoints (see _signature)
        self.wide = max(WIDE, self.micro.window) if self.micro else WIDE
        self.block_misses = 0
        self.micro_after = MICRO_AFTER[allocating]

    @property
    def resume_at(self) -> int:
        """The first position of c0 from which every micro checkpoint is wanted (before it, only
        the period checkpoints at multiples of `every`)."""
        return self.micro.resume_at if self.micro else OFF

    @staticmethod
    def _line_states(cm, ids: np.ndarray) -> np.ndarray:
        """Per line: its owner (-1: none) and its sharers' bitmask, as columns."""
        out = np.zeros((len(ids), 2), np.int64)
        for col, (d, none) in enumerate(((cm.owner, -1), (cm.sharers, 0))):
            out[:, col] = none
            if d:  # most lessons' lines ahead are untouched: no lookups at all
                keys = ids.tolist()
                out[:, col] = np.fromiter(map(d.get, keys, [none] * len(keys)), np.int64, len(keys))
        return out

    # ------------------------------------------------------------------ checkpoints
    def _next_slot(self, c: int, pos: int) -> int:
        return self.first[c] + self.stride * pos

    def _window(self, pos: dict[int, int], active: list[int]) -> dict[int, tuple[int, int]] | None:
        """The raw state (owner, busy time or DEAD) of the lines the CPUs may still write after this
        point although pages before it wrote them too: the PTE lines and PTE-table locks between the
        slowest CPU's next page and the fastest one's last (as _signature's window). A line of pages
        all done here is written no more in this step, so this is what _prefix needs to know of the
        lines a stretch ending here wrote, besides their state now. None where the CPUs stand far
        apart (too many lines to note at every checkpoint)."""
        m, pidx = self.m, self.p.index
        nexts = [self._next_slot(c, pos[c]) for c in active]
        done = [self._next_slot(c, pos[c] - 1) for c in self.lists if pos[c] > 0]
        lo, hi = min(nexts), max(done, default=min(nexts) - 1)
        if hi - lo > WIDE:
            return None
        vpage = m.slot_vpage
        w_lo, w_hi = vpage[lo], vpage[min(max(hi, lo) + 8, self.hi)]
        ids = [L.pte_line(pidx, i * 8) for i in range(w_lo // 8, w_hi // 8 + 1)]
        ids += [L.ptl_line(pidx, b * 512) for b in range(w_lo // 512, w_hi // 512 + 1)]
        own, busy = m.cache.owner, m.cache.busy
        return {x: (own.get(x, -1), busy.get(x, L.DEAD)) for x in ids}

    def _signature(self, pos: dict[int, int], heap: list, window: int = MAX_WINDOW) -> tuple | None:
        m, p = self.m, self.p
        clock, cm = m.clock, m.cache
        c0 = self.c0
        active = sorted([c for _, c in heap if c in self.lists] + [c0])  # a CPU with no pages drops out
        if any(pos[c] >= len(self.lists[c]) for c in active):
            return None  # a CPU at its end (a skip can take one there): nothing ahead to compare
        ref, minclk = clock[c0], min(clock[c] for c in active)
        nexts = [self._next_slot(c, pos[c]) for c in active]
        done = [self._next_slot(c, pos[c] - 1) for c in self.lists if pos[c] > 0]
        lo, hi = min(nexts), max(done, default=min(nexts) - 1)
        if hi - lo > window:
            return None
        if hi - lo > self.wide:
            # CPUs far apart (one drifting ahead): the signature would look up every line between
            # them (hundreds), yet it can only match one taken where they stood exactly as now,
            # which drifting CPUs hardly ever do again. So the first time they stand so it is only
            # noted, and the signature is taken from the second time on (a period is then found
            # one checkpoint later than it could be)
            head = (tuple(active), tuple(pos[c] - pos[c0] for c in active), tuple(clock[c] - ref for c in active))
            if head not in self.heads:
                self.heads.add(head)
                return None
        busy, own, sh = cm.busy, cm.owner, cm.sharers

        def state(line: int) -> tuple[int, int, int]:
            return own.get(line, -1), sh.get(line, 0), max(busy.get(line, 0), minclk) - ref

        vpage = m.slot_vpage
        ref_vp = vpage[self._next_slot(c0, pos[c0])]
        w_lo, w_hi = vpage[lo], vpage[min(hi + 8, self.hi)]  # (the lines before lo are done with)
        pte = tuple(state(L.pte_line(p.index, i * 8)) for i in range(w_lo // 8, w_hi // 8 + 1))
        blocks = range(w_lo // 512, w_hi // 512 + 1)
        ptl = tuple((b in p.pte_tables,) + state(L.ptl_line(p.index, b * 512)) for b in blocks)
        return (tuple(active), tuple(pos[c] - pos[c0] for c in active), tuple(clock[c] - ref for c in active),
                w_lo // 8 - ref_vp // 8, w_hi // 8 - ref_vp // 8, w_lo // 512 - ref_vp // 512, pte, ptl,
                tuple(state(g) for g in self.globals), self.v.anon_vma, bool(m.frames.free), len(p.upper_tables))

    def _mark(self, pos: dict[int, int], active: list[int]) -> dict:
        m, rec, fr = self.m, self.m.rec, self.m.frames
        cm = m.cache
        return dict(
            e=rec.n_events, sd=len(rec.sd[0]), fd=len(rec.fd[0]), cd=len(rec.cd[0]), pos=dict(pos),
            clock=list(m.clock), pcp=list(m.pcp), allocs=dict(self.allocs), next_pfn=fr.next_pfn,
            tables=len(self.p.pte_tables), active=active, scalars=np.array(m.scalar_values()[1:], np.int64),
            zref=fr.refcount[ZERO_PFN], zmap=fr.mapcount[ZERO_PFN],
            cm=(cm.zero_writes, cm.zero_transfers, cm.hzero_writes, cm.hzero_transfers),
            zp=(m.zp_ref, m.zp_map, m.rss_pages, fr.used, fr.pt),
            counters=[row[:] for row in m.counters],
            globals={g: (cm.owner.get(g, -1), cm.busy.get(g)) for g in self.globals},
            upper=len(self.p.upper_tables), anon=self.v.anon_vma, free=bool(fr.free),
        )

    def checkpoint(self, pos: dict[int, int], heap: list) -> int:
        """At a checkpoint of CPU c0 (popped, not yet run): skip whole periods if the state repeats,
        else write the known stretches from here (micro.py). Returns the events written."""
        p0 = pos[self.c0]
        block = not p0 % self.every
        micro = self.micro if self.micro is not None and p0 >= self.micro.resume_at else None
        if not block and micro is None:
            return 0
        # CPUs far apart drift (no rhythm a stretch could repeat): only period checkpoints look then
        sig = self._signature(pos, heap, MAX_WINDOW if block else micro.window)
        if sig is None:
            if micro is not None:
                micro.close(None, None, pos)
            return 0
        now = self._mark(pos, list(sig[0]))
        key = micro.close(sig, now, pos) if micro is not None else None  # before anything moves on
        skipped = self._periods(sig, now, pos, heap) if block else 0
        if block and self.micro is not None:
            self.block_misses = 0 if skipped else self.block_misses + 1
            if self.block_misses >= self.micro_after:
                self.micro.start(p0)
        if micro is not None and not skipped:
            skipped = micro.follow(key, now, pos)
            self.skipped_events += skipped
        if block and self.micro is not None:
            self.micro.at_period_checkpoint(p0, bool(skipped))
        return skipped

    def _periods(self, sig: tuple, now: dict, pos: dict[int, int], heap: list) -> int:
        """Skip whole periods if the state at this period checkpoint repeats an earlier one.

        Three ways, tried in turn. An exact match (the same signature and per-cpu counts as an
        earlier checkpoint A): A..now repeats for ever. A loose match (the same signature as the
        last checkpoint with it, and no per-cpu refill between): it repeats until a free list
        would run dry, and it is kept as a template. A template of this signature from earlier in
        the step: its period, moved to now, again until a free list would run dry (this is what
        carries a step on after a refill broke the loose matches).
        Returns the number of events skipped (0: none)."""
        m = self.m
        active = list(sig[0])
        pcp = tuple(m.pcp[c] for c in active)
        now["window"] = self._window(pos, active)
        self.marks.append(now)
        skipped = 0
        a = self.exact.get((sig, pcp))
        if a is not None and a["e"] < now["e"]:  # (right after a skip, the same checkpoint comes round again)
            skipped = self._skip(a, now, now, active, None, pos, None)
        if not skipped:
            a = self.loose.get(sig)
            # (a period longer than what is left of the step can never be written, now or later:
            # no snapshot, which costs a look-up per line the period wrote, for it)
            if (a is not None and a["e"] < now["e"] and self._no_refill(a, now, active)
                    and self._fits(a, now, now, active) > 0):
                snap = self._snapshot(a, now)
                if snap is not None:
                    self.templates[sig] = (a, now, snap)
                    skipped = self._skip(a, now, now, active, self._pcp_room(a, now, now, active), pos, snap)
        if not skipped and sig in self.templates:
            a, b, snap = self.templates[sig]
            if b["e"] < now["e"]:
                skipped = self._skip(a, b, now, active, self._pcp_room(a, b, now, active), pos, snap)
        if not skipped:
            a = self.first_exact.get((sig, pcp))
            if a is not None and a["e"] < now["e"] and self.prefix_misses < PREFIX_TRIES:
                skipped = self._prefix(a, now, active, pos)
                self.prefix_events += skipped
                self.prefix_misses += not skipped
        if not skipped and sig in self.templates and self.prefix_misses < PREFIX_TRIES:
            # the step's tail, shorter than the template's period: a refill-free start of it
            a, b, _ = self.templates[sig]
            if b["e"] < now["e"]:
                skipped = self._prefix(a, now, active, pos, within=b)
                self.prefix_events += skipped
                self.prefix_misses += not skipped
        if skipped:  # the state moved on k periods: later checkpoints compare with that one, under its
            # own key (the per-cpu counts are not those of now any more, though the signature is)
            sig = self._signature(pos, heap)
            if sig is None:
                return skipped
            now = self._mark(pos, active)
            pcp = tuple(m.pcp[c] for c in active)
            now["window"] = self._window(pos, active)
            self.marks.append(now)
        self.exact[(sig, pcp)] = now
        self.first_exact.setdefault((sig, pcp), now)
        self.loose[sig] = now
        return skipped

    def _prefix(self, a: dict, c: dict, active: list[int], pos: dict[int, int], within: dict | None = None) -> int:
        """Where the state at this period checkpoint c is the one at an earlier checkpoint a (the
        same signature and per-cpu counts) but a..c is too long to be written again before the
        step ends, what followed a is still c's future as far as what lies ahead repeats: write
        a..x again from c, x the latest later checkpoint whose stretch fits (every CPU within its
        pages), as one period that need not end where it began. The step's tail after a long
        period found late is thus written instead of played.
        within: a template's end b (a..b refill-free, a's signature c's but its per-cpu counts
        not): then x lies in a..b, and a..x is c's future as the template's periods are (_skip),
        as long as no per-cpu list runs dry in it from c's counts. Returns the events written."""
        lists = self.lists
        n_free = a["next_pfn"] - sum(a["allocs"].values())
        for x in reversed(self.marks):
            if x["e"] <= a["e"]:
                return 0
            if within is not None and (x["e"] > within["e"] or self._pcp_room(a, x, c, active) < 1):
                continue  # (a..x is refill-free, as a..b is: only c's counts can run dry)
            if (x["window"] is None or x["active"] != a["active"] or x["upper"] != a["upper"]
                    or x["anon"] != a["anon"] or x["free"] != a["free"] or x["free"]):
                continue
            if x["next_pfn"] - sum(x["allocs"].values()) != n_free:
                continue  # a frame came off the free list, not a new one: it would not move
            if any(x["pos"][y] != a["pos"][y] for y in lists if y not in active):
                continue
            if all(c["pos"][y] + x["pos"][y] - a["pos"][y] <= len(lists[y]) for y in active):
                done = self._skip(a, x, c, active, 1, pos, None, True)  # (prefix)
                if done or within is None:
                    return done
                # (moved to c, a..x reaches pages unlike those it read, e.g. a new PMD table's at the
                # vma's end: a shorter start of the template may not, and there are few to try)
        return 0

    @staticmethod
    def _no_refill(a: dict, b: dict, active: list[int]) -> bool:
        """No CPU refilled its per-cpu list between a and b (its count fell by what it allocated)."""
        return all(a["pcp"][c] - (b["allocs"][c] - a["allocs"][c]) == b["pcp"][c] for c in active)

    @staticmethod
    def _pcp_room(a: dict, b: dict, c: dict, active: list[int]) -> int:
        """Periods of the refill-free a..b that fit, from c, before some CPU's per-cpu list runs dry."""
        limit = 1 << 62
        for x in active:
            used = b["allocs"][x] - a["allocs"][x]
            if used:
                limit = min(limit, c["pcp"][x] // used)
        return limit

    def _fits(self, a: dict, b: dict, c: dict, active: list[int]) -> int:
        """Periods of a..b that fit, from c, up to each CPU's last page (0: none, or no period)."""
        dpos = b["pos"][self.c0] - a["pos"][self.c0]
        if dpos <= 0:
            return 0
        return min((len(self.lists[x]) - c["pos"][x]) // dpos for x in active)

    # ------------------------------------------------------------------ the skip
    def _periodic_upto(self, arr: np.ndarray, lo: int, hi: int, shift: int, kmax: int) -> int:
        """Largest K <= kmax with arr[x] == arr[x + shift] for every x in [lo, hi + (K-1)*shift]."""
        if kmax <= 0:
            return 0
        end = min(hi + (kmax - 1) * shift, len(arr) - 1 - shift)
        if end < hi:
            return 0
        a, b = arr[lo:end + 1], arr[lo + shift:end + 1 + shift]
        if a.ndim == 2:  # a row differs where any column does (column by column: no slow row reduction)
            bad = a[:, 0] != b[:, 0]
            for j in range(1, a.shape[1]):
                bad |= a[:, j] != b[:, j]
        else:
            bad = a != b
        first = int(np.argmax(bad)) if bad.any() else None
        x = end + 1 if first is None else lo + first
        return min(kmax, max(0, -(-(x - hi) // shift)))

    def _repeats(self, arr: np.ndarray, lo: int, hi: int, first: int, shift: int, kmax: int) -> int:
        """Largest K <= kmax with arr[x + first + (j-1)*shift] == arr[x] for x in [lo, hi], j = 1..K:
        what A..B found ahead of it is found again ahead of each period to be written."""
        if kmax <= 0 or hi + first >= len(arr):
            return 0
        a, b = arr[lo:hi + 1], arr[lo + first:hi + 1 + first]
        if not np.array_equal(a, b):
            return 0
        return 1 + self._periodic_upto(arr, lo + first, hi + first, shift, kmax - 1)

    def _events(self, a: dict, b: dict) -> np.ndarray:
        return self.m.rec.recent_events(a["e"], b["e"])

    def _snapshot(self, a: dict, b: dict) -> dict | None:
        """The lines a..b wrote, as they are at b: page-table entries and locks of its pages, its new
        frames' struct pages. None if one is shared (a..b only writes, so that means a bug)."""
        cm, pidx = self.m.cache, self.p.index
        slots = self.m.rec.recent_columns(a["e"], b["e"], Col.SLOT)[0].astype(np.int64)
        vps = np.frombuffer(self.m.slot_vpage, np.int64)[slots]
        ids = np.concatenate([pte_line_ids(pidx, _distinct(vps // C.PTES_PER_LINE)),
                              ptl_line_ids(pidx, _distinct(vps // C.PTRS_PER_PTE)),
                              L.struct_page_line(np.arange(a["next_pfn"], b["next_pfn"], dtype=np.int64))])
        keys = ids.tolist()
        if cm.sharers and not cm.sharers.keys().isdisjoint(keys):
            return None
        own, busy = cm.owner, cm.busy
        # (a busy time may be gone already: one no clock was below any more, see _write_state);
        # map() keeps the tens of thousands of lookups in C
        n = len(keys)
        return dict(ids=ids, owners=np.fromiter(map(own.__getitem__, keys), np.int64, n),
                    busy=np.fromiter(map(busy.get, keys, repeat(L.DEAD, n)), np.int64, n))

    def _skip(self, a: dict, b: dict, c: dict, active: list[int], limit: int | None, pos: dict[int, int],
              snap: dict | None, prefix: bool = False) -> int:
        """Write k periods of a..b, the first one moved to start at c (c is b itself but for templates).
        prefix: a..b is only what followed a state equal to c's, once (_prefix; its fit checked):
        b's state need not be a's, so each CPU moves on by its own time and pages."""
        m, p = self.m, self.p
        c0 = self.c0
        dpos = b["pos"][c0] - a["pos"][c0]
        n_ab = b["e"] - a["e"]
        if dpos <= 0 or n_ab <= 0:
            return 0
        dslot = dpos * self.stride
        first = (c["pos"][c0] - a["pos"][c0]) * self.stride  # pages from a..b to the first period written
        kmax = 1 if prefix else self._fits(a, b, c, active)
        if limit is not None:
            kmax = min(kmax, limit)
        if kmax <= 0:
            return 0
        ev = self._events(a, b)
        slots = ev[:, Col.SLOT].astype(np.int64)
        # the pages a..b read (faulted or passed over) and the lines and tables over them
        s_lo = min(int(slots.min()), min(self._next_slot(x, a["pos"][x]) for x in active))
        s_hi = max(int(slots.max()), max(self._next_slot(x, b["pos"][x] - 1) for x in active))
        k = self._repeats(self.pre_slot, s_lo - self.lo, s_hi - self.lo, first, dslot, kmax)
        vp = m.slot_vpage
        l_lo, l_hi = vp[s_lo] // 8 - self.line0, vp[s_hi] // 8 - self.line0
        k = self._repeats(self.pre_pte_line, l_lo, l_hi, first // 8, dslot // 8, k)
        b_lo, b_hi = vp[s_lo] // 512 - self.block0, vp[s_hi] // 512 - self.block0
        k = self._repeats(self.pre_ptl_line, b_lo, b_hi, first // 512, dslot // 512, k)
        k = self._repeats(self.pre_table[:, None], b_lo, b_hi, first // 512, dslot // 512, k)
        # a..b made no upper-level table (the signature holds their number), so neither may the
        # periods ahead: every 1 GiB (and 512 GiB) of pages they reach must have its tables already
        while k > 0:
            top = vp[s_hi] + first + (k - 1) * dslot
            need = {(2, x >> 18) for x in range(vp[s_lo] >> 18 << 18, top + 1, 1 << 18)}
            need |= {(3, x >> 27) for x in range(vp[s_lo] >> 27 << 27, top + 1, 1 << 27)}
            if all(key in p.upper_tables for key in need):
                break
            k -= 1
        if k <= 0:
            return 0
        if snap is None:
            snap = self._snapshot(a, b)
            if snap is None:
                return 0
            if prefix:  # the lines written on after b: as they were at b (the rest have not changed since)
                win = b["window"]
                at = [(i, win[x]) for i, x in enumerate(snap["ids"].tolist()) if x in win]
                for i, (owner, busy) in at:
                    snap["owners"][i], snap["busy"][i] = owner, busy
        if prefix:
            ends = {x: c["clock"][x] + b["clock"][x] - a["clock"][x] for x in active}
            floor = min(ends.values())
        else:
            ends, floor = None, min(c["clock"][x] for x in c["active"]) + k * (b["clock"][c0] - a["clock"][c0])
        self._write_events(a, b, c, ev, k, first, dslot)
        self._write_state(a, b, c, slots, k, first, dslot, snap, floor)
        for x in active:  # every CPU k periods on
            if ends is not None:
                m.clock[x] = ends[x]
                pos[x] = c["pos"][x] + b["pos"][x] - a["pos"][x]
            else:
                m.clock[x] = c["clock"][x] + k * (b["clock"][c0] - a["clock"][c0])
                pos[x] = c["pos"][x] + k * dpos
        self.skipped_events += k * n_ab
        return k * n_ab

    @staticmethod
    def _moves(a: dict, b: dict, c: dict, key: str, k: int) -> np.ndarray:
        """How far a field moves in each of the k periods written: c - a, then one a..b more each time."""
        jm = np.arange(k, dtype=np.int64)
        return (c[key] - a[key]) + jm * (b[key] - a[key])

    def _write_events(self, a, b, c, ev, k, first, dslot) -> None:
        """Append k copies of a..b's records, moved. Each record array gets one copy of the period's
        records appended k times over (no k-fold temporary), and only the fields that move are then
        changed, in place, by each copy's move (_add_moves): fields that do not move (most of the
        scalars, the PTE bits, flags) cost a copy of their bytes and nothing more."""
        rec = self.m.rec
        n_ab = len(ev)
        jm = np.arange(k, dtype=np.int64)
        # int32 throughout, as the recorder stores them (slots, pfns and every move fit), times int64
        slot_moves = (first + jm * dslot).astype(np.int32)[:, None]
        pfn_moves = self._moves(a, b, c, "next_pfn", k).astype(np.int32)[:, None]
        new_pfn = a["next_pfn"]
        at = _append_copies(rec.evi, ev, k)
        _add_moves(rec.evi, at, k, N_INT, Col.SLOT, slot_moves)
        fresh = ev[:, Col.PFN] >= new_pfn
        if fresh.any():
            _add_moves(rec.evi, at, k, N_INT, Col.PFN, pfn_moves * fresh)
        e_a, e_b = a["e"] - rec.sealed, b["e"] - rec.sealed  # positions in the append arrays
        at = _append_copies(rec.evt, rec.recent_times(a["e"], b["e"]), k)
        dT = b["clock"][self.c0] - a["clock"][self.c0]
        _add_moves(rec.evt, at, k, 1, 0, (c["clock"][self.c0] - a["clock"][self.c0]) + jm[:, None] * dT)
        rec.n_events += k * n_ab
        if not rec.keep_deltas:
            return

        def block(arr: array, lo: int, hi: int) -> np.ndarray:  # the recorder's int32: no widened copies
            return np.frombuffer(arr, INT_DTYPE)[lo:hi].copy()

        for arr in (rec.sd_n, rec.fd_n):
            _append_copies(arr, block(arr, e_a, e_b), k)
        # (columns.Sd order; Fd below) every field appended as is, then the moving ones moved
        sd = [block(x, a["sd"], b["sd"]) for x in rec.sd]
        at = [_append_copies(arr, x, k) for arr, x in zip(rec.sd, sd)]
        if len(sd[Sd.SLOT]):
            _add_moves(rec.sd[Sd.SLOT], at[Sd.SLOT], k, 1, 0, slot_moves)
        fresh = sd[Sd.PFN] >= new_pfn
        if fresh.any():
            _add_moves(rec.sd[Sd.PFN], at[Sd.PFN], k, 1, 0, pfn_moves * fresh)
        fd = [block(x, a["fd"], b["fd"]) for x in rec.fd]
        at = [_append_copies(arr, x, k) for arr, x in zip(rec.fd, fd)]
        fresh, zero = fd[Fd.PFN] >= new_pfn, fd[Fd.PFN] == ZERO_PFN
        if fresh.any():
            _add_moves(rec.fd[Fd.PFN], at[Fd.PFN], k, 1, 0, pfn_moves * fresh)
        if zero.any():
            for f, key in ((Fd.REF, "zref"), (Fd.MAP, "zmap")):
                _add_moves(rec.fd[f], at[f], k, 1, 0, self._moves(a, b, c, key, k).astype(np.int32)[:, None] * zero)
        # the copies repeat the period's counter patterns: once hashed here, the seal need hash
        # neither the period nor its copies again, and the copies are appended as those pattern
        # ids alone, without their pairs (Recorder.append_by_pattern)
        pids = self._pattern_ids(a["e"], b["e"])
        assert rec.n_events_appended() == rec.n_events - k * n_ab, "the counter records are behind"
        rec.append_by_pattern(np.tile(pids, k))
        sc = np.frombuffer(rec.scalars, INT_DTYPE).reshape(-1, N_STORED)[e_a:e_b].copy()
        at = _append_copies(rec.scalars, sc, k)
        d_c, d_ab = c["scalars"] - a["scalars"], b["scalars"] - a["scalars"]
        for j in np.flatnonzero((d_c != 0) | (d_ab != 0)).tolist():  # the scalars that move (few)
            _add_moves(rec.scalars, at, k, N_STORED, j, (d_c[j] + jm * d_ab[j]).astype(np.int32)[:, None])

    def _pattern_ids(self, first: int, end: int) -> np.ndarray:
        """rec.pattern_ids(first, end), noted for the seal (known_patterns), once per start: a later
        period from the same checkpoint (a template written again, a start of it) takes the ids of
        its events from the first one's (the ids are the patterns' own: registered once, and the
        events of a step are not changed before its end)."""
        rec = self.m.rec
        pids = self._pids.get(first)
        if pids is None or len(pids) < end - first:
            pids = self._pids[first] = rec.pattern_ids(first, end)
            rec.known_patterns(first, pids)
        return pids[:end - first]

    def _write_state(self, a, b, c, slots, k, first, dslot, snap, floor) -> None:
        """The machine after the k copies; slots: the pages a..b faulted, as int64; floor: the lowest
        CPU clock then (busy times at or below it can never delay anyone)."""
        m, p, fr, cm = self.m, self.p, self.m.frames, self.m.cache
        new_pfn = a["next_pfn"]
        jm = np.arange(k, dtype=np.int64)
        slot_moves = first + jm * dslot
        pfn_moves = self._moves(a, b, c, "next_pfn", k)
        dpfn = b["next_pfn"] - a["next_pfn"]
        # pages: each page a..b faulted ends as it did, moved
        pte_v, pfn_v = np.frombuffer(m.slots.pte, np.uint8), np.frombuffer(m.slots.pfn, np.int64)
        runs = _runs(slots, dslot, k)
        if runs is not None and len(runs) * MIN_RUN <= len(slots):
            # the pages lie in a few runs of consecutive slots, and no two copies write one page:
            # each run is copied as a slice, copy by copy (what the scatter below writes, without
            # its k-fold index); every run is read before any is written, as the scatter does
            src = [(lo, hi, pte_v[lo:hi].copy(), pfn_v[lo:hi].copy()) for lo, hi in runs]
            for lo, hi, pte, pfn in src:
                fresh = pfn >= new_pfn
                moved = bool(fresh.any())
                for ds, dp in zip(slot_moves.tolist(), pfn_moves.tolist()):
                    pte_v[lo + ds:hi + ds] = pte
                    pfn_v[lo + ds:hi + ds] = pfn + dp * fresh if moved else pfn
        else:
            pte, pfn = pte_v[slots], pfn_v[slots]
            tgt = (slots[None, :] + slot_moves[:, None]).ravel()
            pte_v[tgt] = np.tile(pte, k)
            pfn_v[tgt] = (pfn[None, :] + pfn_moves[:, None] * (pfn >= new_pfn)[None, :]).ravel()
        del pte_v, pfn_v
        # frames: the ones a..b allocated, again in each period (copy j at c's next frame + j * dpfn)
        end = c["next_pfn"] + k * dpfn
        fr._grow(end)
        if dpfn:
            for arr, dt in ((fr.refcount, np.int64 if fr.refcount.itemsize == 8 else np.int32),
                            (fr.mapcount, np.int64 if fr.mapcount.itemsize == 8 else np.int32),
                            (fr.flags, np.uint16), (fr.kind, np.uint8)):
                view = np.frombuffer(arr, dt)
                view[c["next_pfn"]:end].reshape(k, dpfn)[:] = view[new_pfn:b["next_pfn"]]
                del view
        fr.next_pfn = end
        fr.refcount[ZERO_PFN] += k * (b["zref"] - a["zref"])
        fr.mapcount[ZERO_PFN] += k * (b["zmap"] - a["zmap"])
        m.zp_ref, m.zp_map, m.rss_pages, fr.used, fr.pt = (
            x + k * (y - z) for x, y, z in zip(c["zp"], b["zp"], a["zp"]))
        cm.zero_writes, cm.zero_transfers, cm.hzero_writes, cm.hzero_transfers = (
            x + k * (y - z) for x, y, z in zip(c["cm"], b["cm"], a["cm"]))
        # page tables a..b allocated, for the blocks ahead, in allocation order
        added = np.array(list(islice(p.pte_tables.items(), a["tables"], b["tables"])), np.int64).reshape(-1, 2)
        if len(added):  # (copy by copy, each in a..b's order: the loop's order of insertion)
            blk = added[None, :, 0] + (slot_moves // C.PTRS_PER_PTE)[:, None]
            p.pte_tables.update(zip(blk.ravel().tolist(), (added[None, :, 1] + pfn_moves[:, None]).ravel().tolist()))
        # cache lines: each line a..b wrote is written again in each period (ids move with what they
        # name: pages by the period's pages, frames by its frames), ending as it did at b, later
        own, busy, sh = cm.owner, cm.busy, cm.sharers
        ids = snap["ids"]
        kinds = L.line_kind(ids)
        dT = b["clock"][self.c0] - a["clock"][self.c0]
        t_moves = (c["clock"][self.c0] - a["clock"][self.c0]) + jm * dT
        move = np.where(kinds == C.LK_PTE, L.pte_line_move(slot_moves[:, None] // C.PTES_PER_LINE),
                        np.where(kinds == C.LK_LOCK, L.ptl_line_move(slot_moves[:, None] // C.PTRS_PER_PTE),
                                 L.struct_page_move(pfn_moves[:, None])))
        new_ids = (ids[None, :] + move).ravel()
        own.update(zip(new_ids.tolist(), snap["owners"].tolist() * k))
        # busy times no CPU's clock will be below once the periods are written can never delay
        # anyone: left out (cache.expire drops them at the end of the step anyway)
        times = (snap["busy"][None, :] + t_moves[:, None]).ravel()
        live = times > floor
        busy.update(zip(new_ids[live].tolist(), times[live].tolist()))
        if sh:
            for x in sh.keys() & set(new_ids.tolist()):
                del sh[x]
        for g, (_, t_a) in a["globals"].items():
            o_b, t_b = b["globals"][g]
            if t_b is not None and t_b != t_a:  # a..b wrote it: the last period leaves it as b did, later
                own[g] = o_b
                busy[g] = t_b + int(t_moves[-1])
        for x in self.lists:
            used = b["allocs"][x] - a["allocs"][x]
            self.allocs[x] += k * used
            m.pcp[x] = c["pcp"][x] - k * (a["pcp"][x] - b["pcp"][x])
        if not m.rec.keep_deltas:
            for x in range(m.ncpus):
                for i in range(len(m.counters[x])):
                    m.counters[x][i] += k * (b["counters"][x][i] - a["counters"][x][i])
