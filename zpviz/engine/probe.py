"""The general path's own answer for the faults the fast paths spell out, found by playing them.

The bulk loop and the sweep do what Faults.handle_mm_fault does for three faults (a read fault
on an empty PTE, a write fault on an empty PTE, a write fault on a zero-page PTE) without
calling it. Rather than trust that the two spellings agree, each run plays those three faults
once through the general path itself, on a scratch machine of one CPU with the run's policy and
costs, and notes for each the cache lines it wrote, by role ("lock", "zone", "page", "ptl",
"pte", "mm", "zero", "mmap"), and its cost. A fast path takes the costs from here, and takes a
step only if the roles its loop writes are these (Bulk.bulk_eligible, Sweep.plan): a line added
to, say, do_wp_page makes the fast paths refuse the steps it would change, and the general path
plays them, while a cost added there is simply followed. tests/engine/test_one_rule.py edits
do_wp_page so and checks every path still agrees.
"""

from __future__ import annotations

from dataclasses import dataclass

from zpviz.engine import cache as L
from zpviz.engine import constants as C
from zpviz.engine.costs import Costs
from zpviz.engine.kernels import KernelPolicy
from zpviz.engine.memory import ZERO_PFN

PROBE_PAGES = 8
PROBE_VMF = C.VM_MAPPED | C.VM_READ | C.VM_WRITE | C.VM_MAYWRITE  # private anonymous, read-write


@dataclass(frozen=True)
class Shape:
    """One fault as the general path played it, warm (its page table, the vma's anon_vma and a
    non-empty per-cpu free list all there already)."""

    roles: tuple[str, ...]  # the lines it wrote, in order, by role ("other" for a line no role names)
    cost: int  # ns of kernel work besides the line accesses
    misses: int  # extra cold-line misses (a new page's lines)


@dataclass(frozen=True)
class Shapes:
    read: Shape
    write: Shape
    cow: Shape | None  # None where a read fault maps no zero page (no zero-page PTE to write)


def fault_shapes(policy: KernelPolicy, costs: Costs, thp_use_zero_page: bool = True) -> Shapes:
    from zpviz.engine.core import VPAGE_BASE
    from zpviz.engine.faults import Faults  # (faults imports the engine core: not at import time)

    m = Faults(policy, 1, [0], costs, thp_use_zero_page)
    m.rec.keep_deltas = False
    p = m.new_proc("probe")
    v = m.add_vma(p, "probe", PROBE_PAGES, PROBE_VMF, VPAGE_BASE, "anon", None, None)

    def play(slot: int, write: bool) -> Shape:
        ev = m.begin(0, p.index, slot)
        m.handle_mm_fault(p, v, slot, write)
        vp = m.slot_vpage[slot]
        roles = {L.ZONE_LOCK: "zone", L.ZERO_LINE: "zero", L.mm_counter_line(p.index): "mm",
                 L.mmap_lock_line(p.index): "mmap", L.ptl_line(p.index, vp): "ptl", L.pte_line(p.index, vp): "pte",
                 L.struct_page_line(m.slots.pfn[slot]): "page"}
        roles[L.mmap_lock_line(p.index) if m._mmap_sem else L.vma_lock_line(p.index, v.index)] = "lock"
        shape = Shape(tuple(roles.get(line, "other") if written else "read" for line, written in ev.lines),
                      ev.cost, ev.misses)
        m.emit()
        return shape

    play(v.base, True)  # warm: the page table, the anon_vma, the per-cpu list
    read = play(v.base + 1, False)
    write = play(v.base + 2, True)
    cow = play(v.base + 1, True) if m.slots.pfn[v.base + 1] == ZERO_PFN else None
    return Shapes(read, write, cow)
