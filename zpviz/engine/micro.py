"""Micro-periods: the short stretches of a bulk step, each played once and then written again.

The period skip (period.py) waits for the whole machine to come back to the same state. A write
step rarely does: every CPU's per-cpu free list refills every 31 pages, out of step with the
512-page PTE tables, so the state repeats only after a full cycle of every list (about 63,000
pages on 4 CPUs). Yet what one stretch of a few pages does depends on far less than the whole
state: the signature the period skip already takes (CPU clocks and positions relative to the
first CPU, the lines in flight) and how the pages, lines and tables just ahead looked before the
step began (together, a stretch's key); and at which allocation each CPU's free list runs dry
within the stretch, if it does (a stretch played from counts P fits counts Q when each CPU's are
equal or both at least what it allocated).

At each micro checkpoint (the first CPU at a multiple of `every` of its pages, a whole number of
PTE lines) the key is looked up. A stretch seen before that fits is not played: it is noted, the
key of the next stretch follows from its end signature and what lies ahead of it, the counts
from its refills, and so on until none fits. The noted stretches are then written at once with
numpy (events, their deltas, pages, frames, tables, cache lines), each moved to where it now
starts: its pages by the pages between, its new frames by the frames allocated since, its times
by the time since.
A new key's stretch is played by the bulk loop and kept at the next micro checkpoint.

Exact, like the period skip: tests/engine/test_bulk.py plays lessons with and without it and
compares every record and the final machine state.
"""

from __future__ import annotations

from itertools import islice
from math import gcd

import numpy as np

from zpviz.engine import cache as L
from zpviz.engine import constants as C
from zpviz.engine.columns import INT_DTYPE, N_CD, N_FD, N_INT, N_SD, N_STORED, N_TIME, Col, Fd, Sd
from zpviz.engine.memory import ZERO_PFN

STRETCH_PAGES = 16  # a stretch is a whole number of these: two PTE lines of the first CPU's pages
JUDGE_EVERY = 16  # stretches played between two looks at whether the stretches pay here
# they do where they write this many times the events the loop plays (a played one costs more);
# by whether the step's faults allocate. Where none does (zero-page reads), a PTE table's first
# stretches are new (its own transient) and the rest repeat them: about three times what is
# played is written, while the period skip has not found the period yet
PAYS = {True: 4, False: 1}
MIN_PAUSE, MAX_PAUSE = 8, 1024  # stretches without checkpoints where they do not: doubling each time
OFF = 1 << 62
MAX_CHAIN = 1024  # stretches written at once: bounds the temporaries (and the time between progress calls)
MOVE_NONE, MOVE_PTE, MOVE_PTL, MOVE_PAGE = 0, 1, 2, 3  # how a written line's id moves with its stretch


class Pool:
    """Rows of one kind for every stretch kept, in one growing array."""

    def __init__(self, width: int, dtype=np.int64):
        self.data = np.zeros((256, width), dtype)
        self.n = 0

    def add(self, rows: np.ndarray) -> tuple[int, int]:
        k = len(rows)
        if self.n + k > len(self.data):
            grown = np.zeros((max(2 * len(self.data), self.n + k), self.data.shape[1]), self.data.dtype)
            grown[:self.n] = self.data[:self.n]
            self.data = grown
        self.data[self.n:self.n + k] = rows
        self.n += k
        return self.n - k, k


def rows_of(starts: np.ndarray, lens: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pool row indices of each stretch of a chain in turn, and for each the stretch's place in the chain."""
    which = np.repeat(np.arange(len(lens)), lens)
    idx = np.arange(int(lens.sum()), dtype=np.int64) + np.repeat(starts - (np.cumsum(lens) - lens), lens)
    return idx, which


class Stretch:
    """One stretch as played, relative to where it began (the first CPU's next page and clock,
    the next new frame): what the chain needs to find the next key, and what it moves."""

    __slots__ = ("dpcp", "end_sig", "end_rel", "end_dpos", "per_cpu", "end_clock", "dcounters", "tables",
                 "source")


# the columns of a stretch's row in MicroPeriods.meta: where its rows are in each pool, and what it
# moves (the first CPU's clock, the next new frame, the zero page's counts, the machine's scalars)
SPAN = {name: 2 * i for i, name in enumerate(("ev", "fd", "cd", "fr", "ln"))}  # (first row, rows)
DCLOCK, DNEXT, DZREF, DZMAP, DZP = 10, 11, 12, 13, 14  # DZP: zp_ref, zp_map, rss, frames used, tables
DCM = DZP + 5  # the cache model's zero-page and huge-zero-page write and transfer counts
DSCAL = DCM + 4  # then one column for each of the machine's scalars

# the pools' rows. ev: the record's int columns (columns.Col), then whether its frame is new, its
# sd/fd/cd record counts and its stored scalars (columns.Stored), all relative to the stretch
EV_FRESH = N_INT
EV_COUNTS = EV_FRESH + 1  # sd_n, fd_n, cd_n
EV_SCALARS = EV_COUNTS + 3
EV_WIDTH = EV_SCALARS + N_STORED
PG_FRESH = N_SD  # pg: the page as it ends (columns.Sd), then whether its pfn is a new frame
FD_FRESH, FD_ZERO = N_FD, N_FD + 1  # fd: the frame record (columns.Fd), new frame?, the zero page?
FR_PFN = 0  # fr: a new frame relative to the first, then its refcount, mapcount, flags, kind
LN_ID, LN_MOVE, LN_OWNER, LN_BUSY = range(4)  # ln: a line written (see MicroPeriods._lines)


class MicroPeriods:
    """The stretches of one bulk step, kept by key (owned by the step's PeriodSkipper)."""

    @staticmethod
    def usable(skipper) -> bool:
        """Stretches move pages and PTE lines by slot offsets: the step's slots must map pages
        one after another (they do within a vma; this keeps it true by check, not by hope)."""
        vp = np.frombuffer(skipper.m.slot_vpage, np.int64)[skipper.lo:skipper.hi + 1]
        return bool((np.diff(vp) == 1).all())

    def __init__(self, skipper):
        self.s = skipper
        m = skipper.m
        stride = skipper.stride
        self.every = STRETCH_PAGES // gcd(STRETCH_PAGES, stride)  # positions of the first CPU
        self.look = 2 * self.every * stride + C.PTES_PER_LINE  # pages ahead of the furthest CPU a key covers
        self.window = 4 * self.look  # pages between the slowest and the fastest CPU beyond which none is kept
        self.keep = m.rec.keep_deltas
        self.sig_ids: dict[tuple, int] = {}
        self.look_ids: dict[tuple, int] = {}
        # (signature id, look id) -> the stretches played from there: (per-cpu counts at their start,
        # frames each CPU allocated, index). One fits a later start whose counts run dry (refill) at
        # the same allocations: equal counts, or both at least what it allocated
        self.memo: dict[tuple, list[tuple[tuple, tuple, int]]] = {}
        self.stretches: list[Stretch] = []
        self.meta = Pool(DSCAL + N_STORED)
        self.unbuilt: set[int] = set()  # stretches kept but not pooled yet (_build)
        self.pending: tuple | None = None  # (key, mark) of the stretch the loop is playing now
        self.played = self.written = 0  # stretches the loop played, events written, since the last look
        self.pause = MIN_PAUSE
        self.pays = PAYS[skipper.allocating]
        # A chain of stretches stops at the period skip's checkpoints (a new PTE table of the first
        # CPU), so that it sees the state there: a chain that wrote past one would leave the skip
        # without the marks it compares (where none allocates, a period is found at the fourth
        # table or so, from marks a few tables apart). Where every fault allocates the stretches
        # go on across them, as the period is found only some 30 tables on (0: no stop).
        self.stop_every = 0 if skipper.allocating else skipper.every
        # There a new PTE table's first stretches are each new (the table's own transient), and
        # only from some offset on does a stretch repeat the one before it, which is when a chain
        # starts. Checkpoints in the transient keep stretches that are never written again, at
        # some 90 µs each (a checkpoint's signature, mark and flush, and the stretch kept) against
        # 75 µs to play its 16 faults: so after a period checkpoint the next micro checkpoint is
        # `lead` positions on, where the last table's first chain began, less one stretch (its
        # repeated stretch must be kept first). It follows each table (a later start moves it on,
        # an earlier one back): checkpoints are only chances to write, so any lead is exact.
        self.lead = 0
        self.block_at = -1  # the last period checkpoint (c0's position), and whether a chain
        self.chained = True  # began after it
        # the first CPU's position from which checkpoints are taken: none until the period skip has
        # failed a few times (where whole periods repeat, they are cheaper to write than stretches)
        self.resume_at = OFF
        # per event (three pools, one row each): EV_* (int32, as recorded); its times; its page as it
        # ends (PG_*). Then per frame record (FD_*), counter record (columns.Cd), new frame (FR_*)
        # and cache line written (LN_*): see _keep
        self.pools = dict(ev=Pool(EV_WIDTH, INT_DTYPE), t=Pool(N_TIME), pg=Pool(PG_FRESH + 1, INT_DTYPE),
                          fd=Pool(FD_ZERO + 1, INT_DTYPE), cd=Pool(N_CD, INT_DTYPE), fr=Pool(5), ln=Pool(4))
        # what lies ahead, in runs of alike rows: a range inside one run of each is named by the runs
        self.runs = [self._runs(a) for a in (skipper.pre_slot, skipper.pre_pte_line, skipper.pre_ptl_line,
                                              skipper.pre_table)]
        self.vdelta = m.slot_vpage[skipper.lo] - skipper.lo  # slots and pages move together in one vma
        self.upper_n = -1
        self.upper_ok: set[int] = set()

    @staticmethod
    def _runs(a: np.ndarray) -> np.ndarray:
        a = a.reshape(len(a), -1)
        change = np.zeros(len(a), np.int64)
        if len(a) > 1:  # a row starts a run where any column changes (column by column: no row reduction)
            diff = a[1:, 0] != a[:-1, 0]
            for j in range(1, a.shape[1]):
                diff |= a[1:, j] != a[:-1, j]
            change[1:] = diff
        return np.cumsum(change)  # (numpy: _look reads a few of them, no list of every page's)

    # ------------------------------------------------------------------ keys
    def _look(self, lo: int, hi: int, ref: int) -> int | None:
        """An id for how the pages, lines and tables over slots lo..hi looked before the step (and
        where the PTE-table boundary falls, if one is among them). None past the step's pages."""
        s = self.s
        if hi > s.hi:
            return None
        d = self.vdelta
        v_lo, v_hi = lo + d, hi + d
        b_hi = v_hi >> 9
        cross = (ref + d) & 511 if (max(lo - C.PTES_PER_LINE, s.lo) + d) >> 9 != b_hi else -1
        up = s.p.upper_tables
        if len(up) != self.upper_n:  # 1 GiB regions whose PMD and PUD tables both exist
            self.upper_n = len(up)
            self.upper_ok = {i for (level, i) in up if level == 2 and (3, i >> 9) in up}
        upper = (v_lo >> 18) in self.upper_ok and (v_hi >> 18) in self.upper_ok
        i0, i1 = lo - s.lo, hi - s.lo
        l0, l1 = (v_lo >> 3) - s.line0, (v_hi >> 3) - s.line0
        b0, b1 = (v_lo >> 9) - s.block0, b_hi - s.block0
        rs, rl, rp, rt = self.runs
        ends = (int(rs[i0]), int(rs[i1]), int(rl[l0]), int(rl[l1]), int(rp[b0]), int(rp[b1]), int(rt[b0]),
                int(rt[b1]))
        if ends[0] == ends[1] and ends[2] == ends[3] and ends[4] == ends[5] and ends[6] == ends[7]:
            key = (ends[0], ends[2], ends[4], ends[6], cross, upper, i1 - i0, l1 - l0, b1 - b0)
        else:
            key = ("rows", s.pre_slot[i0:i1 + 1].tobytes(), s.pre_pte_line[l0:l1 + 1].tobytes(),
                   s.pre_ptl_line[b0:b1 + 1].tobytes(), s.pre_table[b0:b1 + 1].tobytes(), cross, upper)
        i = self.look_ids.get(key)
        if i is None:
            i = self.look_ids[key] = len(self.look_ids)
        return i

    def _ref(self, p0: int) -> int:
        return self.s.first[self.s.c0] + self.s.stride * p0

    def key(self, sig: tuple, pos: dict[int, int]) -> tuple | None:
        s = self.s
        active = sig[0]
        ref = self._ref(pos[s.c0])
        rel = [s.first[x] + s.stride * pos[x] - ref for x in active]
        look = self._look(ref + min(rel), ref + max(rel) + self.look, ref)
        if look is None:
            return None
        sid = self.sig_ids.setdefault(sig, len(self.sig_ids))
        return sid, look

    @staticmethod
    def _fit(cands: list[tuple[tuple, tuple, int]], pcp: list[int]) -> int | None:
        """The stretch among cands whose per-cpu refills fall where they would from counts pcp."""
        for p0, allocs, i in cands:
            for u, q, n in zip(pcp, p0, allocs):
                if u != q and (q < n or u < n):
                    break
            else:
                return i
        return None

    # ------------------------------------------------------------------ checkpoints
    def start(self, p0: int) -> None:
        """From the first CPU's position p0 on (the period skip found nothing for a while)."""
        if self.resume_at == OFF:
            self.resume_at = p0

    def close(self, sig: tuple | None, mark: dict | None, pos: dict[int, int]) -> tuple | None:
        """At a micro checkpoint, before anything moves on: keep the stretch the loop just played.
        Returns this checkpoint's key (None: no stretch can start here)."""
        key = self.key(sig, pos) if sig is not None else None
        if self.pending is not None and key is not None:
            self._keep(*self.pending, key, mark)
        self.pending = None
        if key is None:
            self._played(pos)
        return key

    def follow(self, key: tuple | None, mark: dict, pos: dict[int, int]) -> int:
        """Write every known stretch from here on; or, at a new key, let the loop play it.
        Returns the events written."""
        if key is None:
            return 0
        written = self._follow(key, mark, pos)
        if written:
            self.written += written
            if self.stop_every and not self.chained:  # the first chain since the period checkpoint
                self.chained = True
                start = mark["pos"][self.s.c0] - self.block_at
                # (at the first checkpoint after the lead it might have begun sooner: from the period
                # checkpoint on, next table; and a period checkpoint without a signature leaves
                # block_at behind: no lead of a table or more)
                self.lead = 0 if start <= self.lead or start >= self.stop_every else start - self.every
            return written
        self.pending = (key, mark)
        self._played(pos)
        return 0

    def at_period_checkpoint(self, p0: int, wrote: bool) -> None:
        """After a period checkpoint at c0's position p0 (wrote: a skip or a chain from there):
        where stretches stop at them, the next micro checkpoint is `lead` positions on."""
        if not self.stop_every:
            return
        self.block_at, self.chained = p0, wrote
        if not wrote and self.lead and self.resume_at <= p0:  # (not paused by the judge: _played)
            self.resume_at = p0 + self.lead
            self.pending = None  # (p0..p0+lead is no stretch)

    def _played(self, pos: dict[int, int]) -> None:
        """The loop plays the next stretch. Every JUDGE_EVERY of them, look whether the stretches
        pay here (write several times what the loop plays); where not, pause the checkpoints."""
        self.played += 1
        if self.played < JUDGE_EVERY:
            return
        if self.written < self.pays * self.played * self.every * len(self.s.lists):
            self.resume_at = pos[self.s.c0] + self.pause * self.every
            self.pause = min(2 * self.pause, MAX_PAUSE)
            self.pending = None
        else:
            self.pause = MIN_PAUSE
        self.played = self.written = 0

    def _keep(self, key: tuple, a: dict, end_key: tuple, b: dict) -> None:
        """Keep a..b, just played by the loop, as the stretch for key, if it is one."""
        s, m = self.s, self.s.m
        c0, stride = s.c0, s.stride
        active = a["active"]
        p0 = tuple(a["pcp"][x] for x in active)
        cands = self.memo.setdefault(key, [])
        if self._fit(cands, list(p0)) is not None:
            return
        if b["pos"][c0] - a["pos"][c0] != self.every or a["active"] != b["active"]:
            return
        if b["e"] <= a["e"] or m.frames.free or b["zp"][4] != a["zp"][4] + (b["tables"] - a["tables"]):
            return  # a stretch that freed frames or made an upper table is not kept (a PMD table
            # shows as one more page-table frame than PTE tables added)
        allocs = [b["allocs"][x] - a["allocs"][x] for x in active]
        if b["next_pfn"] - a["next_pfn"] != sum(allocs):
            return  # a frame came off the free list: not a new one, so it would not move
        ref = self._ref(a["pos"][c0])
        rel = [s.first[x] + stride * a["pos"][x] - ref for x in active]
        reach = max(s.first[x] + stride * (b["pos"][x] - 1) for x in active)
        if reach > ref + max(rel) + self.look:
            return  # a CPU ran past what the key covered
        if self.keep and b["sd"] - a["sd"] != b["e"] - a["e"]:
            return  # (the bulk loop records one page per event)
        vp0 = m.slot_vpage[ref]
        t0 = a["clock"][c0]
        faulted = m.rec.recent_events(a["e"], b["e"])[:, Col.SLOT].tolist()  # (not the pages passed over)
        lines = self._lines(faulted, vp0, a["next_pfn"], b["next_pfn"], t0)  # now: they move on
        if lines is None:
            return
        for g, (_, t_a) in a["globals"].items():
            o_b, t_b = b["globals"][g]
            if t_b is not None and t_b != t_a:  # written in a..b: it ends as b left it
                lines.append((g, MOVE_NONE, o_b, t_b - t0))
        x = Stretch()
        x.dpcp = tuple(b["pcp"][y] - a["pcp"][y] for y in active)
        x.per_cpu = tuple(allocs) + x.dpcp + tuple(b["pos"][y] - a["pos"][y] for y in active)
        x.end_sig = end_key[0]
        ref_b = self._ref(b["pos"][c0])
        x.end_rel = (min(s.first[y] + stride * b["pos"][y] for y in active) - ref_b,
                     max(s.first[y] + stride * b["pos"][y] for y in active) - ref_b)
        x.end_dpos = tuple(b["pos"][y] - b["pos"][c0] for y in active)
        x.end_clock = tuple(b["clock"][y] - b["clock"][c0] for y in active)
        x.dcounters = None if self.keep else np.array(b["counters"], np.int64) - np.array(a["counters"], np.int64)
        x.tables = [(blk - vp0 // C.PTRS_PER_PTE, pf - a["next_pfn"])
                    for blk, pf in islice(s.p.pte_tables.items(), a["tables"], b["tables"])]
        # the rest is read back only if the stretch is ever written again (most are not): what it
        # needs stays put until the step ends (the recorder only appends, and nothing else in the
        # step touches its pages or its new frames)
        x.source = (a, b, ref, vp0, lines)
        i = len(self.stretches)
        self.meta.add(np.zeros((1, self.meta.data.shape[1]), np.int64))
        self.unbuilt.add(i)
        cands.append((p0, tuple(allocs), i))
        self.stretches.append(x)

    def _build(self, i: int) -> None:
        """Pool the rows of stretch i, kept earlier (see _keep), relative to where it began."""
        x = self.stretches[i]
        a, b, ref, vp0, lines = x.source
        x.source = None
        m = self.s.m
        rec, fr, c0 = m.rec, m.frames, self.s.c0
        n0 = a["next_pfn"]
        t0 = a["clock"][c0]
        ev = rec.recent_events(a["e"], b["e"])
        n = len(ev)
        fresh = (ev[:, Col.PFN] >= n0).astype(np.int32)
        ev[:, Col.SLOT] -= ref
        ev[:, Col.PFN] -= n0 * fresh
        cols = [ev, fresh[:, None]]  # EV_FRESH
        if self.keep:
            e_a, e_b = a["e"] - rec.sealed, b["e"] - rec.sealed
            # (the counter increments through cd_pairs: events a period skip appended by pattern
            # have none in the append arrays)
            cd_n, cd_keys, cd_vals = rec.cd_pairs(a["e"], b["e"], at=a["cd"])
            cols += [np.frombuffer(arr, INT_DTYPE)[e_a:e_b, None] for arr in (rec.sd_n, rec.fd_n)] + [cd_n[:, None]]
            sc = np.frombuffer(rec.scalars, INT_DTYPE).reshape(-1, N_STORED)[e_a:e_b]
            cols.append(sc - a["scalars"][None, :].astype(np.int32))
        else:
            cols.append(np.zeros((n, EV_WIDTH - EV_COUNTS), np.int32))
        slots = ev[:, Col.SLOT].astype(np.int64) + ref
        P = self.pools
        spans = dict(ev=P["ev"].add(np.concatenate(cols, axis=1)))
        P["t"].add(rec.recent_times(a["e"], b["e"]) - t0)  # (the same rows as ev)
        pfn = np.frombuffer(m.slots.pfn, np.int64)[slots]
        f = pfn >= n0
        # (columns.Sd order, then PG_FRESH)
        P["pg"].add(np.column_stack([slots - ref, np.frombuffer(m.slots.pte, np.uint8)[slots], pfn - n0 * f,
                                     np.frombuffer(m.slots.vmf, np.uint16)[slots], f]))
        # (a stretch of zero-page reads has no frame records and, but at a page table, no new
        # frames: those pools get no rows, without the numpy calls of adding none)
        if self.keep:
            if b["fd"] > a["fd"]:
                fd = [np.frombuffer(arr, INT_DTYPE)[a["fd"]:b["fd"]] for arr in rec.fd]
                f = (fd[Fd.PFN] >= n0).astype(np.int32)
                z = (fd[Fd.PFN] == ZERO_PFN).astype(np.int32)
                fd[Fd.PFN] = fd[Fd.PFN] - n0 * f
                fd[Fd.REF] = fd[Fd.REF] - a["zref"] * z
                fd[Fd.MAP] = fd[Fd.MAP] - a["zmap"] * z
                spans["fd"] = P["fd"].add(np.column_stack(fd + [f, z]))  # FD_FRESH, FD_ZERO
            else:
                spans["fd"] = (P["fd"].n, 0)
            spans["cd"] = P["cd"].add(np.column_stack([cd_keys, cd_vals]))  # (columns.Cd order)
        if b["next_pfn"] > n0:
            fresh_pfns = np.arange(n0, b["next_pfn"], dtype=np.int64)
            spans["fr"] = P["fr"].add(np.column_stack(
                [fresh_pfns - n0] + [np.frombuffer(arr, dt)[fresh_pfns] for arr, dt in (
                    (fr.refcount, np.int64 if fr.refcount.itemsize == 8 else np.int32),
                    (fr.mapcount, np.int64 if fr.mapcount.itemsize == 8 else np.int32),
                    (fr.flags, np.uint16), (fr.kind, np.uint8))]))
        else:
            spans["fr"] = (P["fr"].n, 0)
        spans["ln"] = P["ln"].add(np.array(lines, np.int64))
        row = self.meta.data[i]
        for name, (start, k) in spans.items():
            row[SPAN[name]:SPAN[name] + 2] = start, k
        row[DCLOCK] = b["clock"][c0] - t0
        row[DNEXT] = b["next_pfn"] - n0
        row[DZREF], row[DZMAP] = b["zref"] - a["zref"], b["zmap"] - a["zmap"]
        row[DZP:DZP + 5] = [q - r for q, r in zip(b["zp"], a["zp"])]
        row[DCM:DCM + 4] = [q - r for q, r in zip(b["cm"], a["cm"])]
        row[DSCAL:] = b["scalars"] - a["scalars"]
        self.unbuilt.discard(i)

    def _lines(self, slots: list[int], vp0: int, n0: int, n1: int, t0: int) -> list[tuple] | None:
        """The lines a stretch wrote, as it left them: (id relative to its first page or first new
        frame, how that id moves, owner, busy time relative to t0). A few dozen lines: plain
        Python beats numpy here. None if one is shared (a stretch only writes: a bug)."""
        cm, d, pidx = self.s.m.cache, self.vdelta, self.s.p.index
        own, busy = cm.owner, cm.busy
        ptes = sorted({(x + d) >> 3 for x in slots})
        blocks = sorted({(x + d) >> 9 for x in slots})
        pte0, block0 = vp0 >> 3, vp0 >> 9
        ids = ([L.pte_line_at(pidx, q) for q in ptes] + [L.ptl_line_at(pidx, q) for q in blocks]
               + [L.struct_page_line(f) for f in range(n0, n1)])
        if cm.sharers and not cm.sharers.keys().isdisjoint(ids):
            return None
        bases = [(L.pte_line_move(pte0), MOVE_PTE)] * len(ptes) + [(L.ptl_line_move(block0), MOVE_PTL)] * len(
            blocks) + [(L.struct_page_move(n0), MOVE_PAGE)] * (n1 - n0)
        return [(x - base, mv, own[x], busy.get(x, L.DEAD) - t0) for x, (base, mv) in zip(ids, bases)]

    # ------------------------------------------------------------------ following known stretches
    def _follow(self, key: tuple, c: dict, pos: dict[int, int]) -> int:
        s = self.s
        active = c["active"]
        ends = [len(s.lists[x]) for x in active]
        memo, stretches, every, look, fit = self.memo, self.stretches, self.every, self.look, self._fit
        look_id = self._look
        p0 = pos[s.c0]
        ref = self._ref(p0)
        step = every * s.stride
        pcp = [s.m.pcp[x] for x in active]
        chain: list[int] = []
        while True:
            cands = memo.get(key)
            i = fit(cands, pcp) if cands else None
            if i is None:
                break
            x = stretches[i]
            q0 = p0 + every
            if any(q0 + r >= e for r, e in zip(x.end_dpos, ends)):
                break  # a CPU would reach its last page: the loop plays the end
            chain.append(i)
            if len(chain) == MAX_CHAIN or (self.stop_every and not q0 % self.stop_every):
                break
            p0 = q0
            ref += step
            pcp = [u + d for u, d in zip(pcp, x.dpcp)]
            lk = look_id(ref + x.end_rel[0], ref + x.end_rel[1] + look, ref)
            if lk is None:
                break
            key = (x.end_sig, lk)
        if not chain:
            return 0
        return self._write(chain, c, pos)

    def _write(self, chain: list[int], c: dict, pos: dict[int, int]) -> int:
        """Write the stretches of `chain`, one after another from mark c; returns the events."""
        s, m = self.s, self.s.m
        rec, fr, cm, p = m.rec, m.frames, m.cache, s.p
        c0, active = s.c0, c["active"]
        for i in self.unbuilt.intersection(chain):
            self._build(i)
        xs = [self.stretches[i] for i in chain]
        k = len(xs)
        meta = self.meta.data[np.asarray(chain, np.int64)]
        ref0 = self._ref(c["pos"][c0])
        ref = ref0 + np.arange(k, dtype=np.int64) * (self.every * s.stride)  # each stretch's first page (slot)
        vref = ref + self.vdelta

        def starts(col: np.ndarray, base) -> np.ndarray:  # where each stretch starts: base, then the sums
            cum = np.cumsum(col, axis=0)
            return base + cum - col

        clk = starts(meta[:, DCLOCK], c["clock"][c0])
        nxt = starts(meta[:, DNEXT], c["next_pfn"])

        # ---- events, and the page each faulted (one per event in the bulk loop)
        idx, w = rows_of(meta[:, SPAN["ev"]], meta[:, SPAN["ev"] + 1])
        e = self.pools["ev"].data[idx]
        ref32, nxt32 = ref.astype(np.int32)[w], nxt.astype(np.int32)[w]
        e[:, Col.SLOT] += ref32
        e[:, Col.PFN] += nxt32 * e[:, EV_FRESH]
        rec.evi.frombytes(e[:, :N_INT].tobytes())
        rec.evt.frombytes((self.pools["t"].data[idx] + clk[w][:, None]).tobytes())
        total = len(e)
        rec.n_events += total
        pg = self.pools["pg"].data[idx]
        slots = pg[:, Sd.SLOT] + ref32
        pfns = pg[:, Sd.PFN] + nxt32 * pg[:, PG_FRESH]
        if self.keep:
            for j, arr in enumerate((rec.sd_n, rec.fd_n, rec.cd_n)):
                arr.frombytes(e[:, EV_COUNTS + j].tobytes())
            scal = starts(meta[:, DSCAL:], c["scalars"][None, :]).astype(np.int32)
            rec.scalars.frombytes((e[:, EV_SCALARS:] + scal[w]).tobytes())
            sd = {Sd.SLOT: slots, Sd.PTE: pg[:, Sd.PTE], Sd.PFN: pfns, Sd.VMF: pg[:, Sd.VMF]}
            for field, arr in zip(Sd, rec.sd):
                arr.frombytes(sd[field].tobytes())
            if meta[:, SPAN["fd"] + 1].any():  # (zero-page reads have no frame records)
                zref = starts(meta[:, DZREF], c["zref"]).astype(np.int32)
                zmap = starts(meta[:, DZMAP], c["zmap"]).astype(np.int32)
                idx, w = rows_of(meta[:, SPAN["fd"]], meta[:, SPAN["fd"] + 1])
                fd = self.pools["fd"].data[idx]
                fd[:, Fd.PFN] += nxt.astype(np.int32)[w] * fd[:, FD_FRESH]
                fd[:, Fd.REF] += zref[w] * fd[:, FD_ZERO]
                fd[:, Fd.MAP] += zmap[w] * fd[:, FD_ZERO]
                for field, arr in zip(Fd, rec.fd):
                    arr.frombytes(fd[:, field].tobytes())
            idx, _ = rows_of(meta[:, SPAN["cd"]], meta[:, SPAN["cd"] + 1])
            cd = self.pools["cd"].data[idx]
            for j, arr in enumerate(rec.cd):  # (columns.Cd order)
                arr.frombytes(cd[:, j].tobytes())
        # ---- pages, frames, tables
        view = np.frombuffer(m.slots.pte, np.uint8)
        view[slots] = pg[:, Sd.PTE]
        del view
        view = np.frombuffer(m.slots.pfn, np.int64)
        view[slots] = pfns
        del view
        end_pfn = int(nxt[-1] + meta[-1, DNEXT])
        fr._grow(end_pfn)
        if meta[:, SPAN["fr"] + 1].any():  # (zero-page reads make no frames but page tables)
            idx, w = rows_of(meta[:, SPAN["fr"]], meta[:, SPAN["fr"] + 1])
            frs = self.pools["fr"].data[idx]
            pfns = frs[:, FR_PFN] + nxt[w]
            for j, (arr, dt) in enumerate(((fr.refcount, np.int64 if fr.refcount.itemsize == 8 else np.int32),
                                           (fr.mapcount, np.int64 if fr.mapcount.itemsize == 8 else np.int32),
                                           (fr.flags, np.uint16), (fr.kind, np.uint8))):
                view = np.frombuffer(arr, dt)
                view[pfns] = frs[:, FR_PFN + 1 + j]
                del view
        fr.next_pfn = end_pfn
        sums = meta.sum(axis=0).tolist()
        fr.refcount[ZERO_PFN] += sums[DZREF]
        fr.mapcount[ZERO_PFN] += sums[DZMAP]
        m.zp_ref += sums[DZP]
        m.zp_map += sums[DZP + 1]
        m.rss_pages += sums[DZP + 2]
        fr.used += sums[DZP + 3]
        fr.pt += sums[DZP + 4]
        cm.zero_writes += sums[DCM]
        cm.zero_transfers += sums[DCM + 1]
        cm.hzero_writes += sums[DCM + 2]
        cm.hzero_transfers += sums[DCM + 3]
        for j, x in enumerate(xs):
            for blk, pf in x.tables:
                p.pte_tables[blk + int(vref[j]) // C.PTRS_PER_PTE] = pf + int(nxt[j])
        # ---- cache lines: each ends as its last writer left it, in chain order
        idx, w = rows_of(meta[:, SPAN["ln"]], meta[:, SPAN["ln"] + 1])
        ln = self.pools["ln"].data[idx]
        mv = ln[:, LN_MOVE]
        shift = np.where(mv == MOVE_PTE, L.pte_line_move(vref // C.PTES_PER_LINE)[w],
                         np.where(mv == MOVE_PTL, L.ptl_line_move(vref // C.PTRS_PER_PTE)[w],
                                  np.where(mv == MOVE_PAGE, L.struct_page_move(nxt)[w], 0)))
        ids = ln[:, LN_ID] + shift
        cm.owner.update(zip(ids.tolist(), ln[:, LN_OWNER].tolist()))
        times = ln[:, LN_BUSY] + clk[w]
        t_end = int(clk[-1] + meta[-1, DCLOCK])
        live = times > t_end + min(xs[-1].end_clock)  # the others can never delay anyone (cache.expire)
        cm.busy.update(zip(ids[live].tolist(), times[live].tolist()))
        if cm.sharers:
            for line in cm.sharers.keys() & set(ids.tolist()):
                del cm.sharers[line]
        # ---- per-cpu lists, clocks, positions
        per_cpu = np.array([x.per_cpu for x in xs], np.int64).sum(axis=0).tolist()
        n_act = len(active)
        for i, y in enumerate(active):
            s.allocs[y] += per_cpu[i]
            m.pcp[y] = c["pcp"][y] + per_cpu[n_act + i]
            pos[y] = c["pos"][y] + per_cpu[2 * n_act + i]
        for y, rel in zip(active, xs[-1].end_clock):
            m.clock[y] = t_end + rel
        if not self.keep:
            for cpu, row in enumerate(np.sum([x.dcounters for x in xs], axis=0).tolist()):
                counters = m.counters[cpu]
                for i, d in enumerate(row):
                    if d:
                        counters[i] += d
        return total
