"""Per-CPU caches over the cache lines the fault paths write: a MESI model with a cost model.

Only lines that matter for the story are tracked (struct pages, PTE lines, locks, mm counters);
each is a small int: kind in the low 3 bits, a key above. A line is either Modified/Exclusive in
one CPU (`owner`) or Shared by a bitmask of CPUs (`sharers`). A line also has a `busy_until`
time: a contended line serves one CPU at a time, which is what serialises CPUs on the zero
page's struct page under 2.6.23.
"""

from __future__ import annotations

from zpviz.engine import constants as C
from zpviz.engine.costs import Costs

_NO_OWNER = -1


def line_id(kind: int, key: int) -> int:
    return kind | (key << 3)


ZERO_LINE = line_id(C.LK_ZERO, 0)
HZERO_LINE = line_id(C.LK_HZERO, 0)
ZONE_LOCK = line_id(C.LK_LOCK, 1)  # the page allocator's zone->lock


def struct_page_line(pfn: int) -> int:
    return line_id(C.LK_STRUCT_PAGE, pfn)


def pte_line(proc: int, vpage: int) -> int:
    return line_id(C.LK_PTE, (proc << 40) | (vpage // C.PTES_PER_LINE))


def ptl_line(proc: int, vpage: int) -> int:
    # split PTE lock: it lives in the struct page of the PTE table covering 2 MiB
    return line_id(C.LK_LOCK, (((proc << 32) | (vpage // C.PTRS_PER_PTE)) << 2) | 2)


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

    def access(self, cpu: int, t: int, lines: list[tuple[int, bool]], out: dict[tuple[int, int], int]) -> int:
        """CPU `cpu` touches `lines` (line, is_write) in order starting at time t; returns the end time.

        Counter increments are added into `out` keyed by (cpu, counter index).
        """
        costs = self.costs
        owner = self.owner
        sharers = self.sharers
        busy = self.busy
        bit = 1 << cpu
        for line, write in lines:
            kind = line & 7
            own = owner.get(line, _NO_OWNER)
            if write:
                if kind == C.LK_ZERO:
                    self.zero_writes += 1
                elif kind == C.LK_HZERO:
                    self.hzero_writes += 1
            if own == cpu or (not write and sharers.get(line, 0) & bit):
                _bump(out, cpu, C.C_HITS, 1)
                t += costs.hit_ns
                b = busy.get(line, 0)
                if b > t:  # someone handed it back to us but it is still busy: wait
                    _bump(out, cpu, C.C_STALL, b - t)
                    t = b
                if write:
                    busy[line] = t + costs.line_hold_ns
                continue
            start = max(t, busy.get(line, 0))
            if own != _NO_OWNER:
                # modified in another cache: intervention (RFO for a write, downgrade for a read)
                lat = costs.transfer_ns(self.socket[own] == self.socket[cpu])
                _bump(out, cpu, C.C_TRANSFERS, 1)
                _bump(out, cpu, C.C_BY_LINE + kind, 1)
                if kind == C.LK_ZERO:
                    self.zero_transfers += 1
                elif kind == C.LK_HZERO:
                    self.hzero_transfers += 1
                if write:
                    _bump(out, cpu, C.C_INV_SENT, 1)
                    _bump(out, own, C.C_INV_RECV, 1)
                    owner[line] = cpu
                else:
                    del owner[line]
                    sharers[line] = (1 << own) | bit
            else:
                sh = sharers.get(line, 0)
                others = sh & ~bit
                if others:
                    # shared elsewhere: a read joins, a write invalidates every other copy
                    lat = costs.transfer_ns(True)
                    if write:
                        n = others.bit_count()
                        _bump(out, cpu, C.C_INV_SENT, n)
                        for c in range(self.ncpus):
                            if others >> c & 1:
                                _bump(out, c, C.C_INV_RECV, 1)
                        del sharers[line]
                        owner[line] = cpu
                    else:
                        sharers[line] = sh | bit
                    _bump(out, cpu, C.C_MISSES, 1)
                elif sh & bit:  # write to a line only we share: silent upgrade
                    lat = costs.hit_ns
                    del sharers[line]
                    owner[line] = cpu
                    _bump(out, cpu, C.C_HITS, 1)
                else:
                    lat = costs.dram_ns
                    _bump(out, cpu, C.C_MISSES, 1)
                    if write:
                        owner[line] = cpu
                    else:
                        sharers[line] = bit
            stall = start - t + lat
            _bump(out, cpu, C.C_STALL, stall)
            t = start + lat
            busy[line] = t + (costs.line_hold_ns if write else 0)
        return t

    def forget(self, line: int) -> None:
        """A line's memory went away (a freed page table, an exited mm)."""
        self.owner.pop(line, None)
        self.sharers.pop(line, None)
        self.busy.pop(line, None)


def _bump(out: dict[tuple[int, int], int], cpu: int, counter: int, n: int) -> None:
    key = (cpu, counter)
    out[key] = out.get(key, 0) + n
