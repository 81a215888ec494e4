"""Per-CPU caches over the cache lines the fault paths write: a MESI model with a cost model.

Only lines that matter for the story are tracked (struct pages, PTE lines, locks, mm counters);
each is a small int: kind in the low 3 bits, a key above. A line is either Modified/Exclusive in
one CPU (`owner`) or Shared by a bitmask of CPUs (`sharers`). A line also has a `busy_until`
time: a contended line serves one CPU at a time, which is what serialises CPUs on the zero
page's struct page under 2.6.23.

A line read by one CPU alone is in `sharers` with that CPU's bit only: that is MESI's E (a write
then upgrades it silently), and an owner is M. For the lines a lesson watches (`watch`: the zero
page's and the huge zero page's struct page lines) every access that changes the line's state
is logged as a columns.Ld record, so the trace can show each CPU's copy at every frame.
"""

from __future__ import annotations

from array import array

from zpviz.engine import constants as C
from zpviz.engine.columns import INT_CODE, KEY_STRIDE, LineState
from zpviz.engine.costs import Costs

_NO_OWNER = -1
DEAD = -(1 << 62)  # a busy time that can never delay anyone, however far the period skips move it
# the constants access_writes uses on every line, as module globals rather than attribute lookups
_LK_ZERO, _LK_HZERO = C.LK_ZERO, C.LK_HZERO
_HITS, _MISSES, _TRANSFERS, _INV_SENT, _INV_RECV, _STALL, _BY_LINE = (
    C.C_HITS, C.C_MISSES, C.C_TRANSFERS, C.C_INV_SENT, C.C_INV_RECV, C.C_STALL, C.C_BY_LINE)
_M, _E, _S = int(LineState.M), int(LineState.E), int(LineState.S)


# ------------------------------------------------------------------ cache line ids
# The one definition of every line's id: the kind in the low KIND_BITS bits, a key above. Every
# function here works on ints and on numpy int64 arrays alike, so the fast paths build their
# tables of ids from these, and move ids with the *_move functions (keys are bit fields: the id
# of the line d PTE lines, tables or frames further on is the id plus the move of d).
KIND_BITS = 3
KIND_MASK = (1 << KIND_BITS) - 1


def line_id(kind, key):
    return kind | (key << KIND_BITS)


def line_kind(line):
    return line & KIND_MASK


ZERO_LINE = line_id(C.LK_ZERO, 0)
HZERO_LINE = line_id(C.LK_HZERO, 0)
ZONE_LOCK = line_id(C.LK_LOCK, 1)  # the page allocator's zone->lock


def struct_page_line(pfn):
    return line_id(C.LK_STRUCT_PAGE, pfn)


def pte_line_at(proc: int, index):
    """The line of PTEs number `index` (vpage // PTES_PER_LINE) of a process."""
    return C.LK_PTE | (((proc << 40) | index) << KIND_BITS)  # line_id, inlined: every fault calls this


def ptl_line_at(proc: int, block):
    """The split PTE lock of PTE table `block` (vpage // PTRS_PER_PTE): it lives in the struct
    page of the table covering 2 MiB."""
    return C.LK_LOCK | (((((proc << 32) | block) << 2) | 2) << KIND_BITS)  # (line_id, inlined)


def pte_line(proc: int, vpage):
    return pte_line_at(proc, vpage // C.PTES_PER_LINE)


def ptl_line(proc: int, vpage):
    return ptl_line_at(proc, vpage // C.PTRS_PER_PTE)


def pte_line_move(lines):
    """How a PTE line's id moves when the line is `lines` lines further on."""
    return line_id(0, lines)


def ptl_line_move(blocks):
    """How a PTE-table lock's id moves when the table is `blocks` tables further on."""
    return line_id(0, blocks << 2)


def struct_page_move(frames):
    """How a struct page line's id moves when the frame is `frames` frames further on."""
    return line_id(0, frames)


def mmap_lock_line(proc: int) -> int:
    return line_id(C.LK_LOCK, proc << 2)  # low bits 0; the zone lock is key 1


def vma_lock_line(proc: int, vma: int) -> int:
    return line_id(C.LK_LOCK, (((proc << 16) | vma) << 2) | 3)


def mm_counter_line(proc: int) -> int:
    return line_id(C.LK_MM_COUNTER, proc)


class CacheModel:
    """MESI ownership, contention and per-CPU counters. Deterministic: integer nanoseconds."""

    def __init__(self, ncpus: int, sockets: list[int], costs: Costs):
        self.ncpus = ncpus
        self.socket = sockets
        self.costs = costs
        self.owner: dict[int, int] = {}
        self.sharers: dict[int, int] = {}
        self.busy: dict[int, int] = {}
        self.zero_writes = 0
        self.zero_transfers = 0
        self.hzero_writes = 0
        self.hzero_transfers = 0
        # the watched line kinds as a bit mask (bit LK_ZERO, bit LK_HZERO; only those two can be
        # watched, both kinds <= LK_HZERO), the Ld records of their transitions, and what numbers
        # the event being built (the recorder's n_events, which every writer bumps after access)
        self.watch = 0
        self.log = array(INT_CODE)
        self.rec = None

    def watch_lines(self, kinds, rec) -> None:
        """Log every state change of the lines of these kinds (LK_ZERO, LK_HZERO) from now on,
        each as a columns.Ld record numbered by rec.n_events."""
        for k in kinds:
            if k not in (C.LK_ZERO, C.LK_HZERO):
                raise ValueError(f"line kind {k} cannot be watched: only the zero pages' lines are")
            self.watch |= 1 << k
        self.rec = rec
        self.log = rec.ld  # the recorder keeps them (columns.Ld), one array for the whole run

    def _logged(self, kind: int, cpu: int, state: int, src: int, lat: int) -> None:
        # (columns.Ld order)
        self.log.extend((self.rec.n_events, kind, cpu, state, src, lat))

    def access(self, cpu: int, t: int, lines: list[tuple[int, bool]], out: list[int]) -> int:
        """CPU `cpu` touches `lines` (line, is_write) in order starting at time t; returns the end time.

        Counter increments are appended to `out` as flat (columns.counter_key(cpu, counter), n) pairs. This runs
        once per event, so it keeps its counts in locals and writes each non-zero one once.
        """
        costs = self.costs
        hit_ns, hold_ns = costs.hit_ns, costs.line_hold_ns
        owner = self.owner
        sharers = self.sharers
        busy = self.busy
        my_socket = self.socket[cpu]
        bit = 1 << cpu
        me = cpu * KEY_STRIDE  # the first of this CPU's counter keys
        hits = misses = transfers = inv_sent = stall = 0
        for line, write in lines:
            kind = line & KIND_MASK
            own = owner.get(line, _NO_OWNER)
            if write and kind <= C.LK_HZERO:
                if kind == C.LK_ZERO:
                    self.zero_writes += 1
                else:
                    self.hzero_writes += 1
            if own == cpu or (not write and sharers.get(line, 0) & bit):
                hits += 1
                t += hit_ns
                b = busy.get(line, 0)
                if b > t:  # someone handed it back to us but it is still busy: wait
                    stall += b - t
                    t = b
                if write:
                    busy[line] = t + hold_ns
                continue
            start = busy.get(line, 0)
            if start < t:
                start = t
            if own != _NO_OWNER:
                # modified in another cache: intervention (RFO for a write, downgrade for a read)
                lat = costs.same_socket_ns if self.socket[own] == my_socket else costs.cross_socket_ns
                transfers += 1
                out += (me + C.C_BY_LINE + kind, 1)
                if kind == C.LK_ZERO:
                    self.zero_transfers += 1
                elif kind == C.LK_HZERO:
                    self.hzero_transfers += 1
                if write:
                    inv_sent += 1
                    out += (own * KEY_STRIDE + C.C_INV_RECV, 1)
                    owner[line] = cpu
                else:
                    del owner[line]
                    sharers[line] = (1 << own) | bit
            else:
                sh = sharers.get(line, 0)
                others = sh & ~bit
                if others:
                    # shared elsewhere: a read joins, a write invalidates every other copy
                    lat = costs.same_socket_ns
                    if write:
                        inv_sent += others.bit_count()
                        for c in range(self.ncpus):
                            if others >> c & 1:
                                out += (c * KEY_STRIDE + C.C_INV_RECV, 1)
                        del sharers[line]
                        owner[line] = cpu
                    else:
                        sharers[line] = sh | bit
                    misses += 1
                elif sh & bit:  # write to a line only we share: silent upgrade
                    lat = hit_ns
                    del sharers[line]
                    owner[line] = cpu
                    hits += 1
                else:
                    lat = costs.dram_ns
                    misses += 1
                    if write:
                        owner[line] = cpu
                    else:
                        sharers[line] = bit
            if kind <= _LK_HZERO and self.watch >> kind & 1:
                state = _M if write else (_E if sharers.get(line) == bit else _S)
                self._logged(kind, cpu, state, own, lat)
            stall += start - t + lat
            t = start + lat
            busy[line] = t + (hold_ns if write else 0)
        for counter, n in ((C.C_HITS, hits), (C.C_MISSES, misses), (C.C_TRANSFERS, transfers),
                           (C.C_INV_SENT, inv_sent), (C.C_STALL, stall)):
            if n:
                out += (me + counter, n)
        return t

    def access_writes(self, cpu: int, t: int, lines: list[int], out: list[int]) -> int:
        """`access` for an event that only writes lines (every fault of the bulk path), given as
        plain line ids. The same model, branch for branch, with its constants in locals (this
        runs for every fault of a big lesson); tests/engine/test_cache.py holds the two to the
        same answers."""
        costs = self.costs
        hit_ns, hold_ns = costs.hit_ns, costs.line_hold_ns
        near_ns, far_ns, dram_ns = costs.same_socket_ns, costs.cross_socket_ns, costs.dram_ns
        owner = self.owner
        sharers = self.sharers
        busy = self.busy
        socket = self.socket
        my_socket = socket[cpu]
        bit = 1 << cpu
        me = cpu * KEY_STRIDE
        by_line = me + _BY_LINE
        watch = self.watch
        hits = misses = transfers = inv_sent = stall = 0
        for line in lines:
            kind = line & KIND_MASK
            own = owner.get(line, -1)
            if kind <= _LK_HZERO:
                if kind == _LK_ZERO:
                    self.zero_writes += 1
                else:
                    self.hzero_writes += 1
            if own == cpu:
                hits += 1
                t += hit_ns
                b = busy.get(line, 0)
                if b > t:
                    stall += b - t
                    t = b
                busy[line] = t + hold_ns
                continue
            start = busy.get(line, 0)
            if start < t:
                start = t
            if own != -1:
                lat = near_ns if socket[own] == my_socket else far_ns
                transfers += 1
                if kind == _LK_ZERO:
                    self.zero_transfers += 1
                elif kind == _LK_HZERO:
                    self.hzero_transfers += 1
                inv_sent += 1
                out += (by_line + kind, 1, own * KEY_STRIDE + _INV_RECV, 1)
                owner[line] = cpu
            else:
                sh = sharers.get(line, 0)
                others = sh & ~bit
                if others:
                    lat = near_ns
                    inv_sent += others.bit_count()
                    for c in range(self.ncpus):
                        if others >> c & 1:
                            out += (c * KEY_STRIDE + _INV_RECV, 1)
                    del sharers[line]
                    misses += 1
                elif sh & bit:
                    lat = hit_ns
                    del sharers[line]
                    hits += 1
                else:
                    lat = dram_ns
                    misses += 1
                owner[line] = cpu
            if kind <= _LK_HZERO and watch >> kind & 1:
                self._logged(kind, cpu, _M, own, lat)
            stall += start - t + lat
            t = start + lat
            busy[line] = t + hold_ns
        if hits:
            out += (me + _HITS, hits)
        if misses:
            out += (me + _MISSES, misses)
        if transfers:
            out += (me + _TRANSFERS, transfers)
        if inv_sent:
            out += (me + _INV_SENT, inv_sent)
        if stall:
            out += (me + _STALL, stall)
        return t

    def expire(self, now: int) -> None:
        """Drop busy times in the past, at the end of every step: every later access starts at
        `now` or after, so they can never make anyone wait (a big lesson would otherwise keep one
        entry per line it touched). Within a step, a busy time no CPU's clock is still below is
        just as dead; the period skips (period.py, micro.py) leave those out, and this makes the
        state after the step the same whether they did or not."""
        self.busy = {k: t for k, t in self.busy.items() if t > now}

    def forget(self, line: int) -> None:
        """A line's memory went away (a freed page table, an exited mm)."""
        self.owner.pop(line, None)
        self.sharers.pop(line, None)
        self.busy.pop(line, None)



# ------------------------------------------------------------------ one rule, its copies checked
# The MESI timing rule is CacheModel.access (the general path's). Two copies stand in for it
# where it is too slow: CacheModel.access_writes (write-only events: the bulk loop, the populate
# runs, the sweep's faults played in full) and the sweep's generated loop (sweep_loop._WRITE and
# friends, for lines no other CPU shares). A call per line access would cost more than the access
# itself, so they stay copies; but a fast path uses a copy only where it gives access's answer on
# a fixed set of line states (each line owned by this CPU, another CPU of its socket or of the
# other socket, or nobody, shared or not, busy in the past or ahead), found once per run and
# costs: writes_agree here, sweep_loop.loop_agrees for the loop. A rule changed in one of them and not
# the others makes the fast paths refuse (the general path plays the step), not disagree.
SCENARIOS = 48  # line states tried (seeded: the same every run)
_AGREE: dict = {}


def write_scenarios(ncpus: int, shared: bool = True) -> list[tuple[int, int, list[tuple[int, int, int, int]]]]:
    """Seeded line states for an event that writes lines: (cpu, start time, [(line, owner,
    sharer bits, busy until)]); with shared=False no line has sharers (the sweep's case)."""
    import random

    rnd = random.Random(ncpus * 2 + shared)
    out = []
    for n in range(SCENARIOS):
        cpu = rnd.randrange(ncpus)
        t0 = 10_000
        lines = []
        for j in range(1 + n % 5):
            line = mm_counter_line(j) if n % 7 else ZERO_LINE if j == 0 else mm_counter_line(j)
            owner = rnd.choice([-1, cpu, rnd.randrange(ncpus)])
            sharers = rnd.randrange(1 << ncpus) if shared and owner == -1 and rnd.random() < 0.5 else 0
            busy = rnd.choice([0, t0 - 30, t0 + rnd.randrange(1, 400)])
            lines.append((line, owner, sharers, busy))
        out.append((cpu, t0, lines))
    return out


def scratch_model(ncpus: int, socket: list[int], costs: Costs, lines) -> CacheModel:
    """A cache model of these CPUs holding these line states (line, owner, sharer bits, busy)."""
    cm = CacheModel(ncpus, list(socket), costs)
    for line, owner, sharers, busy in lines:
        if owner >= 0:
            cm.owner[line] = owner
        if sharers:
            cm.sharers[line] = sharers
        if busy:
            cm.busy[line] = busy
    return cm


def model_state(cm: CacheModel) -> tuple:
    return (dict(cm.owner), dict(cm.sharers), dict(cm.busy), cm.zero_writes, cm.zero_transfers,
            cm.hzero_writes, cm.hzero_transfers)


def writes_agree(costs: Costs, socket: list[int]) -> bool:
    """Whether CacheModel.access_writes answers as CacheModel.access does for events that only
    write lines (time, counter pairs, the lines' owners, sharers and busy times, the zero page's
    counters), on write_scenarios. Found once per costs, sockets and pair of methods."""
    key = (costs, tuple(socket), CacheModel.access, CacheModel.access_writes)
    ok = _AGREE.get(key)
    if ok is None:
        ok = True
        n = len(socket)
        for cpu, t0, lines in write_scenarios(n):
            a, b = scratch_model(n, socket, costs, lines), scratch_model(n, socket, costs, lines)
            out_a: list[int] = []
            out_b: list[int] = []
            ta = a.access(cpu, t0, [(line, True) for line, *_ in lines], out_a)
            tb = b.access_writes(cpu, t0, [line for line, *_ in lines], out_b)
            if ta != tb or out_a != out_b or model_state(a) != model_state(b):
                ok = False
                break
        _AGREE[key] = ok
    return ok
