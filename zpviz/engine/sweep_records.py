"""The sweep's records (sweep.py): a slice of faults' events, slot and frame records and counter
increments built with numpy from the loop's order and times, written into room reserved once a
step in the recorder's arrays."""

from __future__ import annotations

from array import array
from typing import TYPE_CHECKING

import numpy as np

from zpviz.engine import cache as L
from zpviz.engine import constants as C
from zpviz.engine import rules as R
from zpviz.engine.columns import KEY_MASK, KEY_SHIFT, KEY_STRIDE, N_INT, N_STORED, Col, Stored, TimeCol
from zpviz.engine.events import FAULT_COW, FAULT_READ, FAULT_WRITE, Kind
from zpviz.engine.memory import ZERO_PFN
from zpviz.engine.sweep_loop import AGAIN, role_of, slots_of

if TYPE_CHECKING:
    from zpviz.engine.sweep import Sweep

P, W, D, A, S = C.PTE_P, C.PTE_W, C.PTE_D, C.PTE_A, C.PTE_S


def _line_table(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each of ids (a fault's line number, say): an index into the distinct numbers (sorted),
    and those numbers: by a table over their range where it is small, else by sorting."""
    lo, hi = int(ids.min()), int(ids.max())
    if hi - lo > 8 * len(ids) + 4096:  # sparse: sort
        lines, idx = np.unique(ids, return_inverse=True)
        return idx.reshape(-1), lines
    touched = np.zeros(hi - lo + 1, bool)
    touched[ids - lo] = True
    at = np.cumsum(touched) - 1
    return at[ids - lo], np.flatnonzero(touched) + lo


def _wide_table(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """_line_table's answer for ids whose range is too wide for one table (the packed owners of a
    fault's lines: (ncpus + 2) ** lines values): each id taken apart as high * base + low
    (floor division keeps the order, negative ids too), each part numbered through its own table,
    then the pairs of numbers, where those ranges are small enough; else by sorting, as
    _line_table does."""
    lo, hi = int(ids.min()), int(ids.max())
    if hi - lo <= 8 * len(ids) + 4096:
        return _line_table(ids)
    base = 1 << ((hi - lo).bit_length() + 1) // 2
    top = ids // base
    bottom = ids - top * base
    ti, tv = _line_table(top)
    bi, bv = _line_table(bottom)
    inv, both = _line_table(ti * len(bv) + bi)
    return inv, tv[both // len(bv)] * base + bv[both % len(bv)]


def _by_cpu(cpu: np.ndarray, cpus) -> tuple[np.ndarray, np.ndarray]:
    """The positions in `cpu` CPU by CPU, in increasing CPU order, each CPU's in order (one
    stable sort of small ints, a radix sort, rather than a pass over the whole array per CPU),
    and where each of `cpus` starts among them (in increasing order; each must have entries)."""
    order = np.argsort(cpu.astype(np.int16), kind="stable")
    counts = np.bincount(cpu, minlength=max(cpus) + 1)
    start = np.cumsum(counts) - counts
    return order, start[sorted(cpus)]


def _previous(idx: np.ndarray, cpu: np.ndarray, first: np.ndarray) -> np.ndarray:
    """For each fault, the CPU of the fault before it on the same line (in the order faults ran),
    or the line's owner before the step for the first."""
    # (one stable sort, whichever way: the same order. Line numbers that fit 16 bits sort by
    # radix, several times faster than a merge sort of scattered numbers; but where the faults
    # meet the lines nearly in order, as the CPUs' convoy does (a 2.6.24 read on 16 CPUs: one
    # descent every 17 faults), the merge sort's runs make it 4 times faster than the radix)
    small = len(first) <= 1 << 15 and np.count_nonzero(idx[1:] < idx[:-1]) * 8 > len(idx)
    order = np.argsort(idx.astype(np.int16) if small else idx, kind="stable")
    si = idx[order]
    prev = np.empty(len(idx), np.int64)
    prev[0] = first[si[0]]
    same = si[1:] == si[:-1]
    prev[1:] = np.where(same, cpu[order[:-1]], first[si[1:]])
    out = np.empty(len(idx), np.int64)
    out[order] = prev
    return out


class _Tail:
    """Room at the end of one of the recorder's append arrays, filled a slice of faults at a time
    through a numpy view: the array grows once a step (or a few times, for a length only estimated)
    rather than once a slice, and a table handed over transposed is copied straight into place.
    (Appending with frombytes regrows the array by a sixteenth each time, and once the allocator
    keeps blocks that big on its heap, each regrowth copies all before it: for a 1 GiB step's
    counter pairs, 13 MB an array, most of the appends' time.) `close` gives back what is unused;
    no view outlives it, so the array can grow again."""

    def __init__(self, a: array, items: int):
        self.a, self.start, self.at = a, len(a), 0
        self.view: np.ndarray | None = None
        self._grow(items)

    def _grow(self, items: int) -> None:
        self.view = None  # (an array with a view on it cannot be resized)
        # (any bytes will do, every item is written before close keeps it: no zeros to make)
        self.a.frombytes(memoryview(np.empty(items * self.a.itemsize, np.uint8)))
        self.view = np.frombuffer(self.a, np.dtype(self.a.typecode))[self.start:]

    def put(self, x: np.ndarray) -> None:
        """x's values, row by row, after what is there."""
        end = self.at + x.size
        if end > len(self.view):
            self._grow(max(end - len(self.view), len(self.view) // 2))
        self.view[self.at:end].reshape(x.shape)[...] = x
        self.at = end

    def close(self) -> None:
        self.view = None
        del self.a[self.start + self.at:]


class _Tails:
    """The step's _Tail in each of the recorder's append arrays it writes: room for n faults'
    records (allocs frames written), and, only for a slice whose faults' counters are written as
    pairs (_Records.counter_pairs), the pairs' estimated from that slice's. The counts of counter
    pairs (cd_n) get no tail: Recorder.append_by_pattern appends to them itself."""

    def __init__(self, rec, n: int, allocs: int):
        self.rec, self.n = rec, n
        self.evi, self.evt = _Tail(rec.evi, n * N_INT), _Tail(rec.evt, n * len(TimeCol))
        self.all = [self.evi, self.evt]
        if rec.keep_deltas:
            self.sd = [_Tail(a, n) for a in rec.sd]
            self.fd = [_Tail(a, allocs) for a in rec.fd]
            self.sd_n, self.fd_n = (_Tail(a, n) for a in (rec.sd_n, rec.fd_n))
            self.scalars = _Tail(rec.scalars, n * N_STORED)
            self.all += self.sd + self.fd + [self.sd_n, self.fd_n, self.scalars]
        self.cd: list[_Tail] = []

    def pairs(self, keys: list, vals: list, counts: np.ndarray) -> None:
        """A slice's counter pairs (in pieces) and its faults' counts of them."""
        faults = len(counts)
        self.rec.cd_n.frombytes(np.ascontiguousarray(counts, np.int32).tobytes())
        if not self.cd:
            got = sum(len(x) for x in keys)
            guess = got * self.n // max(faults, 1) + got // 64 + 64
            self.cd = [_Tail(a, guess) for a in self.rec.cd]
            self.all += self.cd
        for x, y in zip(keys, vals):
            self.cd[0].put(x)
            self.cd[1].put(y)

    def close(self) -> None:
        for t in self.all:
            t.close()


class _Records:
    """The records of a slice of faults, built with numpy from the loop's order and times."""

    def __init__(self, sw: Sweep, a: int, b: int, cpu, slot, pfn, cow, pid, t0, t1, ta, before, played,
                 frames, is_table, got, pte):
        self.sw, self.a, self.b = sw, a, b
        self.cpu, self.slot, self.pfn, self.cow, self.pid = cpu, slot, pfn, cow, pid
        self.t0, self.t1, self.ta = t0, t1, ta
        self.before, self.played = before, played
        self.frames, self.is_table, self.got = frames, is_table, got
        self.pte = pte

    def _stall(self, hit_ns: int) -> np.ndarray:
        """Each fault's stall: the time its line accesses took beyond a hit each."""
        hits = np.zeros(len(self.cpu), np.int64)
        for s in slots_of(self.sw.roles):
            hits += (self.before[s] == self.cpu)  # (-2, not touched, is never a CPU)
        return (self.ta - self.t0) - hits * hit_ns

    def _distinct(self, stall: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """The faults' distinct counter inputs (`_inputs`): their packed values (a negative one
        first, for the faults played in full, if any), which of them each fault has, and a fault of each
        (any: they have the same list). None where a stall does not fit the packing."""
        inputs = self._inputs(stall, sorted(self.played))
        if inputs is None:
            return None
        packed, room = inputs
        # (np.unique sorts the step's ints: the owners' part and the stall each take a few
        # hundred values at most, so each is numbered through a table (_line_table), then the
        # pairs of numbers: the same values, in the same order)
        hi = packed >> room  # (-1 for the faults played in full)
        lo = packed - (hi << room)
        lo[hi < 0] = 0
        hi_i, hi_v = _wide_table(hi)  # (the owners' part spans (ncpus + 2) ** lines values)
        lo_i, lo_v = _wide_table(lo)
        inv, both = _wide_table(hi_i * len(lo_v) + lo_i)
        values = (hi_v[both // len(lo_v)] << room) + lo_v[both % len(lo_v)]
        rep = np.empty(len(values), np.int64)
        rep[inv] = np.arange(len(inv))
        return values, inv, rep

    def pattern_ids(self, hit_ns: int, register) -> np.ndarray | None:
        """Each fault's counter-increment pattern id: the list CacheModel.access_writes appends
        for it (its lines in the order of the fault's roles, slots_of), then its cold misses (the
        64 of clearing or copying a new page), registered by `register(keys, values) -> id`
        (Recorder.pattern_id). None where a stall does not fit the packing (counter_pairs then).

        A fault's list is made of its CPU, each line's previous owner and its stall, and of
        constants: one int packs those (`_inputs`), and the list is worked out (`_lists`) and
        registered once a step for each distinct int (Sweep.pids keeps their ids: a few hundred
        lists for a step of 262,144 faults), then each fault gets its int's id; the faults
        played in full register their own lists. The recorder takes the ids instead of pairs
        (Recorder.append_by_pattern): no pair is written, copied or hashed per fault."""
        stall = self._stall(hit_ns)
        known = self.sw.pids
        if known:  # (a slice after the step's first: most inputs seen already)
            return self._known_ids(stall, register)
        d = self._distinct(stall)
        if d is None:
            return None
        values, inv, rep = d
        vs = values.tolist()
        new = [j for j, x in enumerate(vs) if x >= 0 and x not in known]
        if new:
            rk, rv, rc = self._lists(rep[new], stall, [])
            at = 0
            for j, c in zip(new, rc.tolist()):
                known[vs[j]] = register(rk[at:at + c], rv[at:at + c])
                at += c
        ids = np.array([known.get(x, -1) for x in vs], np.int64)
        return self._played_ids(ids[inv], register)

    def _known_ids(self, stall: np.ndarray, register) -> np.ndarray | None:
        """pattern_ids where some inputs have ids already (Sweep.pids): each fault's packed
        inputs looked up among those (a search in their sorted values, a few hundred), and only
        the ones not found numbered and registered, in increasing order as pattern_ids does for
        a whole slice: the same ids, without numbering the slice's 32,768 values again."""
        inputs = self._inputs(stall, sorted(self.played))
        if inputs is None:
            return None
        packed, _ = inputs
        known = self.sw.pids
        keys = np.fromiter(known.keys(), np.int64, len(known))
        ids = np.fromiter(known.values(), np.int64, len(known))
        order = np.argsort(keys)
        keys, ids = keys[order], ids[order]
        at = np.searchsorted(keys, packed)
        np.minimum(at, len(keys) - 1, out=at)
        pids = ids[at]
        new = (keys[at] != packed) & (packed >= 0)  # (-1: a fault played in full)
        if new.any():
            which = np.flatnonzero(new)
            values, first, inv = np.unique(packed[which], return_index=True, return_inverse=True)
            rk, rv, rc = self._lists(which[first], stall, [])
            got = np.empty(len(values), np.int64)
            ends = np.cumsum(rc)
            for j, (x, end, c) in enumerate(zip(values.tolist(), ends.tolist(), rc.tolist())):
                got[j] = known[x] = register(rk[end - c:end], rv[end - c:end])
            pids[which] = got[inv.reshape(-1)]
        return self._played_ids(pids, register)

    def _played_ids(self, pids: np.ndarray, register) -> np.ndarray:
        """pids with the faults played in full given their own lists' ids."""
        # (the faults played in full: a few dozen distinct lists among some 500 a GiB, each
        # registered once a step, looked up by its pairs after that; the same ids either way)
        played = self.sw.played_pids
        for e, out in self.played.items():
            key = tuple(out)
            pid = played.get(key)
            if pid is None:
                pid = played[key] = register(np.asarray(out[0::2], np.int32), np.asarray(out[1::2], np.int32))
            pids[e] = pid
        return pids

    def counter_sums(self, hit_ns: int, width: int) -> np.ndarray:
        """The slice's counter increments summed by key (width keys): for a recorder that keeps
        no per-event records. Each distinct list (pattern_ids) once, times the faults that have
        it, and the lists of the faults played in full."""
        stall = self._stall(hit_ns)
        d = self._distinct(stall)
        if d is None:
            keys, vals, _ = self.counter_pairs(hit_ns)
            keys, vals = np.concatenate(keys), np.concatenate(vals)
            return np.bincount(keys, weights=vals, minlength=width).astype(np.int64)
        values, inv, rep = d
        times = np.bincount(inv, minlength=len(values))
        real = values >= 0
        rk, rv, rc = self._lists(rep[real], stall, [])
        sums = np.zeros(width, np.int64)
        # (bincount's float sums are exact here; it answers ints for no input, hence the casts)
        sums += np.bincount(rk, weights=rv * np.repeat(times[real], rc), minlength=width).astype(np.int64)
        for out in self.played.values():
            kv = np.asarray(out, np.int64)
            sums += np.bincount(kv[0::2], weights=kv[1::2], minlength=width).astype(np.int64)
        return sums

    def counter_pairs(self, hit_ns: int) -> tuple[list, list, np.ndarray]:
        """Each fault's (key, value) counter increments, in the order pattern_ids has them, its
        own list worked out for every fault: keys, values (each as pieces to be taken one after
        another), counts. Only where a stall does not fit pattern_ids' packing."""
        stall = self._stall(hit_ns)
        full = sorted(self.played)
        keys, vals, counts = self._lists(np.arange(len(self.cpu)), stall, full)
        if not full:
            return [keys], [vals], counts
        # splice: the regular faults' pairs up to each fault played in full, then its own
        ends = np.cumsum(counts)
        pk, pv, at = [], [], 0
        for e in full:
            cut = int(ends[e])
            pk += [keys[at:cut], np.asarray(self.played[e][0::2], np.int32)]
            pv += [vals[at:cut], np.asarray(self.played[e][1::2], np.int32)]
            counts[e] = len(self.played[e]) // 2
            at = cut
        pk.append(keys[at:])
        pv.append(vals[at:])
        return pk, pv, counts

    def _lists(self, which: np.ndarray, stall: np.ndarray, none: list[int]) -> tuple[np.ndarray, ...]:
        """The counter lists of the faults `which` (indexes into this slice; the positions `none`
        of `which` get an empty list): keys, values, counts, laid out as one column per possible
        pair, each with a mask of the faults that have it, then read row by row where the masks
        are set (a pair no fault here has gets no column)."""
        cpu = self.cpu[which]
        n = len(cpu)
        me = cpu * KEY_STRIDE
        cols: list[tuple] = []  # (keys, values, which faults have the pair)
        hits = np.zeros(n, np.int64)
        misses = np.full(n, int(self.sw.alloc), np.int64)  # a new frame's struct page
        transfers = np.zeros(n, np.int64)
        for s in slots_of(self.sw.roles):
            o = self.before[s][which]
            present = o != -2
            hits += present & (o == cpu)
            misses += present & (o == -1)
            moved = present & (o >= 0) & (o != cpu)
            if moved.any():
                transfers += moved
                cols += [(me + (C.C_BY_LINE + self.sw.kind[role_of(s)]), 1, moved),
                         (o * KEY_STRIDE + C.C_INV_RECV, 1, moved)]
        stall = stall[which]
        for key, value in ((C.C_HITS, hits), (C.C_MISSES, misses), (C.C_TRANSFERS, transfers),
                           (C.C_INV_SENT, transfers), (C.C_STALL, stall)):
            cols.append((me + key, value, value != 0))
        if self.sw.misses:
            cols.append((me + C.C_MISSES, self.sw.misses, True))
        # (a row per pair, filled whole, read through the transpose: twice as fast as filling
        # the columns of a row per fault)
        k = np.empty((len(cols), n), np.int32)
        v = np.empty((len(cols), n), np.int32)
        u = np.empty((len(cols), n), bool)
        for j, (key, value, has) in enumerate(cols):
            k[j], v[j], u[j] = key, value, has
        u[:, none] = False
        return k.T[u.T], v.T[u.T], np.count_nonzero(u, axis=0)

    def _inputs(self, stall: np.ndarray, full: list[int]) -> tuple[np.ndarray, int] | None:
        """Per fault one int packing what its counter list is made of: its CPU, each line's
        previous owner (-2: not touched, -1: nobody), its stall (the low `room` bits); -1 for the
        faults played in full. None if a stall does not fit beside the rest."""
        radix = self.sw.m.cache.ncpus + 2
        packed = self.cpu.astype(np.int64)
        span = radix
        for s in slots_of(self.sw.roles):
            packed *= radix
            packed += self.before[s] + 2
            span *= radix
        room = 62 - span.bit_length()  # bits left for the stall
        if room < 8 or (len(stall) and (int(stall.min()) < 0 or int(stall.max()) >> room)):
            return None
        packed <<= room
        packed += stall
        packed[full] = -1
        return packed, room

    def write(self, rec, m, used0: int, rss0: int, pt_after: np.ndarray, sc_fixed: dict, tails: _Tails,
              sc_moving: dict, zero: tuple | None) -> None:
        """Append the slice's records. sc_fixed: the scalars no fault here changes; sc_moving: the
        zero page's, where each fault takes or puts it (2.6.23), fault by fault, as `zero` has
        its struct page (refcount and mapcount arrays, flags, kind), a frame record of each fault
        after its page tables' and before its new page's."""
        cpu, n, cow, sw = self.cpu, len(self.cpu), self.cow, self.sw
        # (each table filled a row per column, then copied transposed into the recorder's rows:
        # filling the columns of a row per event is several times slower)
        ev = np.empty((N_INT, n), np.int32)
        ev[Col.STEP] = m.step_index
        ev[Col.CPU] = cpu
        if sw.write:
            ev[Col.KIND] = np.where(cow, Kind.COW_ZERO, Kind.WRITE_ALLOC)
            ev[Col.FAULT] = np.where(cow, FAULT_COW, FAULT_WRITE)
        else:
            ev[Col.KIND] = Kind.READ_ALLOC if sw.alloc else Kind.READ_ZERO
            ev[Col.FAULT] = FAULT_READ
        ev[Col.PATH] = self.pid
        ev[Col.PROC] = self.sw.p.index
        ev[Col.SLOT] = self.slot
        ev[Col.PFN] = self.pfn
        ev[Col.FLAGS] = 0
        tails.evi.put(ev.T)
        t = np.empty((len(TimeCol), n), np.int64)
        t[TimeCol.T0], t[TimeCol.T1] = self.t0, self.t1
        tails.evt.put(t.T)
        rec.n_events += n
        if not rec.keep_deltas:
            sums = self.counter_sums(m.costs.hit_ns, len(m.counters) * KEY_STRIDE)
            for key in np.flatnonzero(sums).tolist():
                m.counters[key >> KEY_SHIFT][key & KEY_MASK] += int(sums[key])
            return
        vmf = np.frombuffer(m.slots.vmf, np.uint16)[self.slot]
        for col, values in zip(tails.sd, (self.slot, self.pte, self.pfn, vmf)):  # columns.Sd
            col.put(values)
        tails.sd_n.put(np.ones(n, np.int32))
        # the frames each fault wrote: its tables', then its page's (the order they were taken)
        t = self.is_table
        fd = (self.frames, np.ones(len(t), np.int32), ~t, np.where(t, 0, R.NEW_ANON_FLAGS),
              np.where(t, C.FK_PT, C.FK_ANON))  # columns.Fd
        got = self.got
        if zero is not None:  # the zero page's struct page after each fault's tables, before its page
            # (a frame's row moves on by one for each fault before it, and by one more for a new page)
            at = np.arange(len(t)) + np.repeat(np.arange(n), got) + ~t
            rows = np.cumsum(got) - int(sw.alloc) + np.arange(n)  # (each fault's zero page row)
            both = []
            for values, z in zip(fd, (ZERO_PFN,) + zero):
                col = np.empty(len(t) + n, np.int64)
                col[at] = values
                col[rows] = z
                both.append(col)
            fd, got = both, got + 1
        for col, values in zip(tails.fd, fd):
            col.put(values)
        tails.fd_n.put(got)
        # the counter increments: each fault's pattern id (no pairs), or its pairs where the
        # packing does not hold a stall
        pids = self.pattern_ids(m.costs.hit_ns, rec.pattern_id)
        if pids is not None:
            rec.append_by_pattern(pids)
        else:
            keys, vals, counts = self.counter_pairs(m.costs.hit_ns)
            tails.pairs(keys, vals, counts)
        sc = np.empty((N_STORED, n), np.int32)
        for j, x in sc_fixed.items():  # what no fault here changes
            sc[j] = x
        for j, x in sc_moving.items():
            sc[j] = x
        step = int(sw.alloc)  # the pages each fault adds
        sc[Stored.FRAMES_USED] = np.arange(used0 + step, used0 + step * n + 1, step) if step else used0
        sc[Stored.PT_FRAMES] = pt_after
        step += sw.zero_delta  # (and to RSS, with the zero page each takes or puts)
        sc[Stored.RSS_PAGES] = np.arange(rss0 + step, rss0 + step * n + 1, step) if step else rss0
        tails.scalars.put(sc.T)


# ------------------------------------------------------------------ checked against the rule
class _Fake:
    """The little of a Sweep and its machine that _Records.counter_pairs reads, for pairs_agree."""

    def __init__(self, **kw):
        self.__dict__.update(kw)


_AGREE: dict = {}


def pairs_agree(roles: tuple[str, ...], costs, socket: list[int], alloc: bool, misses: int,
                kind: dict[str, int]) -> bool:
    """Whether the records' counter arithmetic (_Records.counter_pairs: each swept fault's
    counter increments worked out with numpy from its CPU, each line's previous owner and its
    stall) gives what the general path records for that fault: CacheModel.access's pairs for its
    lines, then Core.emit's pair for its cold misses. On cache.write_scenarios without sharers
    (Sweep.plan refuses lines some CPU shares), one fault each, all of them one slice (so the
    packing of a fault's inputs and the copying of one list to the faults that share it are
    exercised too): the lines in the roles' order (a page allocation: the zone lock where the
    per-cpu list is empty, then a struct page no cache holds), each of the kind the step's
    line of that role has. The times are the rule's own (`access`'s end), as the loop's are
    where sweep_loop.loop_agrees holds. Found once per roles, costs, sockets, kinds and code
    (access, emit's misses pair by way of C.C_MISSES, and this module's functions)."""
    key = (roles, costs, tuple(socket), alloc, misses, tuple(sorted(kind.items())), L.CacheModel.access,
           _Records.pattern_ids, _Records.counter_sums, _Records.counter_pairs, _Records._lists, _Records._inputs,
           _Records._distinct, _Records._stall, _Records._known_ids, _Records._played_ids)
    ok = _AGREE.get(key)
    if ok is None:
        ok = _pairs_agree(roles, costs, socket, alloc, misses, kind)
        _AGREE[key] = ok
    return ok


def _pairs_agree(roles, costs, socket, alloc, misses, kind) -> bool:
    n = len(socket)
    slots = slots_of(roles)
    want: list[list[int]] = []
    cpus, t0s, tas = [], [], []
    before: dict[str, list[int]] = {s: [] for s in slots}
    for cpu, t0, lines in L.write_scenarios(n, shared=False):
        states = {"ptl": lines[0], "pte": lines[-1], "lock": lines[1 % len(lines)], "mm": lines[2 % len(lines)],
                  "zone": lines[3 % len(lines)], "zero": lines[4 % len(lines)]}
        refill = lines[0][3] == 0  # (an empty per-cpu list in some scenarios: the zone lock too)
        ids = {r: L.ZERO_LINE if r == "zero" else L.line_id(kind[r], 1 + j)
               for j, r in enumerate(("lock", "mm", "zone", "ptl", "pte", "zero")) if r in kind}
        order: list[int] = []
        for r in roles:
            if r == "page":
                order += ([ids["zone"]] if refill else []) + [L.struct_page_line(1 << 20)]
            else:
                order.append(ids[r])
        used = [r for r in slots if AGAIN not in r and (r != "zone" or refill)]
        model = L.scratch_model(n, socket, costs, [(ids[r],) + tuple(states[r][1:]) for r in used])
        out: list[int] = []
        t = model.access(cpu, t0, [(line, True) for line in order], out)
        if misses:
            out += (cpu * KEY_STRIDE + C.C_MISSES, misses)  # (as Core.emit records a fault's cold misses)
        want.append(out)
        cpus.append(cpu)
        t0s.append(t0)
        tas.append(t)
        for s in slots:  # (a line written again in the fault: the fault's own CPU holds it)
            before[s].append(cpu if AGAIN in s else states[s][1] if s != "zone" or refill else -2)
    k = len(cpus)
    cpu = np.asarray(cpus, np.int64)
    t0s, tas = np.asarray(t0s, np.int64), np.asarray(tas, np.int64)
    before = {s: np.asarray(x, np.int64) for s, x in before.items()}

    def records(end: int, sw=None) -> _Records:  # (the first `end` faults, as one slice of a step)
        sw = sw or _Fake(roles=roles, alloc=alloc, misses=misses, kind=kind, m=_Fake(cache=_Fake(ncpus=n)),
                         pids={}, played_pids={})
        return _Records(sw, 0, end, cpu[:end], None, None, None, None, t0s[:end], None, tas[:end],
                        {s: x[:end] for s, x in before.items()}, {}, None, None, None, None)

    r = records(k)
    # as the recorder gets them: pattern ids (the registry here a list of the lists registered)
    patterns: list[list[int]] = []

    def register(keys, vals) -> int:
        patterns.append(np.stack([keys, vals], axis=1).reshape(-1).tolist())
        return len(patterns) - 1

    pids = r.pattern_ids(costs.hit_ns, register)
    if pids is None or [patterns[i] for i in pids.tolist()] != want:
        return False
    # a later slice of a step, some of its inputs known from an earlier one (_known_ids)
    half = records(k // 2)
    first = half.pattern_ids(costs.hit_ns, register)
    later = records(k, half.sw).pattern_ids(costs.hit_ns, register)
    if first is None or later is None or [patterns[i] for i in first.tolist() + later.tolist()] != want[:k // 2] + want:
        return False
    # each fault's own list, where a stall does not fit the packing
    keys, vals, counts = r.counter_pairs(costs.hit_ns)
    keys, vals = np.concatenate(keys), np.concatenate(vals)
    ends = np.cumsum(counts)
    got = [np.stack([keys[e - c:e], vals[e - c:e]], axis=1).reshape(-1).tolist() for e, c in zip(ends, counts)]
    if got != want:
        return False
    # summed, for a recorder without per-event records
    width = (n + 1) * KEY_STRIDE
    sums = np.zeros(width, np.int64)
    for out in want:
        np.add.at(sums, out[0::2], out[1::2])
    return bool((r.counter_sums(costs.hit_ns, width) == sums).all())
