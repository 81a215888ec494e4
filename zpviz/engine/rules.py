"""Kernel rules that more than one path carries out, each defined here once.

The general path (core.py, faults.py) and the fast paths (bulk.py, sweep.py, and the period and
stretch skips, which replay what the bulk loop did) read these at the start of each step, never
copy them, so changing one here (or monkeypatching it in a test) changes every path alike:
tests/engine/test_one_rule.py does exactly that. A fast path that cannot carry a rule out
exactly refuses the step before touching any state (Sweep.plan's allow-list), and the path
under it plays the step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from zpviz.engine import constants as C
from zpviz.engine.costs import Costs
from zpviz.engine.kernels.base import CowFromZero, FunctionNames, KernelPolicy, ReadFaultZero, ZeroTest

# The page allocator's per-cpu lists (rmqueue_pcplist / free_unref_page): an empty list takes
# PCP_BATCH pages from the zone under the zone lock; a free that leaves PCP_HIGH pages on the
# list gives PCP_BATCH back under it.
PCP_BATCH = 31
PCP_HIGH = 186


@dataclass(frozen=True)
class WpZeroWork:
    """What do_wp_page does, on top of allocating and mapping the new page, when a write hits a
    PTE of the zero page: extra kernel time and extra cache lines written (by name: "zero_page",
    the zero page's struct page; "mmap_lock", the mm's mmap lock), in this order, before the new
    page is allocated. None by default: the kernels modelled do no more than that."""

    extra_ns: int = 0
    extra_lines: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        unknown = [x for x in self.extra_lines if x not in WP_ZERO_LINE_NAMES]
        if unknown or self.extra_ns < 0:
            raise ValueError(f"WpZeroWork: unknown lines {unknown} or negative time {self.extra_ns}")

    @property
    def plain(self) -> bool:
        return not self.extra_ns and not self.extra_lines


WP_ZERO_LINE_NAMES = ("zero_page", "mmap_lock")
WP_ZERO = WpZeroWork()


# ------------------------------------------------------------------ a new anonymous page
# What do_anonymous_page, do_wp_page and do_cow_fault do to the page they allocate (map_new_anon):
# the general path, the bulk loop and the sweep all build the page, its PTE, its cost and its
# path from these.
NEW_ANON_FLAGS = C.PG_LRU | C.PG_ANON_EXCLUSIVE  # the new struct page's flags (then PG_mlocked, maybe)


def new_anon_pte(writable: bool) -> int:
    """The PTE bits that map a new anon page."""
    return C.PTE_P | C.PTE_A | ((C.PTE_W | C.PTE_D) if writable else 0)


def new_anon_page_ns(costs: Costs, copy: bool) -> int:
    """Allocate it, clear it (or copy into it), add its rmap and LRU entry."""
    return costs.alloc_page_ns + (costs.copy_page_ns if copy else costs.clear_page_ns) + costs.rmap_ns


def new_anon_functions(names: FunctionNames, prepare: bool, copy: bool) -> tuple[str, ...]:
    """The kernel functions that make it (prepare: the vma's first anon page, anon_vma_prepare)."""
    return (names.anon_prepare if prepare else ()) + (
        names.new_page_copy if copy else names.new_page_clear, names.new_anon_rmap)


def wp_zero_functions(names: FunctionNames, special: bool) -> tuple[str, ...]:
    """What do_wp_page calls on a zero-page PTE before the new page (new_anon_functions): a
    special PTE asks vm_normal_page first, which gives NULL."""
    return ("do_wp_page",) + (("vm_normal_page",) if special else ()) + names.wp_copy


def page_table_ns(costs: Costs) -> int:
    """Allocate a page-table page and clear it (half a page's cost: the clear is cache-hot)."""
    return costs.alloc_page_ns + costs.clear_page_ns // 2


# ------------------------------------------------------------------ the anonymous faults' decisions
# What a read fault on an empty PTE and a write fault on a zero-page PTE decide, per policy:
# Faults.do_anonymous_page and Faults.do_wp_page carry these out, and the bulk loop and the sweep
# take their decisions, texts and costs from the same functions.
READ_SPECIAL = "read fault: pte_mkspecial(zero pfn); its struct page is not written"
READ_V5 = "use_zero_page(vma) is true: pte_mkspecial(ZERO_PAGE), no refcount, no RSS"
READ_REFCOUNTED = "read fault: map ZERO_PAGE; get_page and page_add_file_rmap write its struct page"
READ_NEVER = "no ZERO_PAGE since 2.6.24: a read fault allocates and clears a page"
WRITE_EMPTY = "write fault on an empty PTE: a new page"
COW_PAGE = "old page is ZERO_PAGE: allocate a zeroed page, no copy; drop ZERO_PAGE's map and ref"
COW_COPY = ("vm_normal_page() gave NULL: no old page, so cow_user_page copies 4 KiB of zeros "
            "from the user address (the memset shortcut is missing)")
COW_PFN = "is_zero_pfn(pte_pfn(pte)): allocate a zeroed page, no copy"


def use_zero_page_why(vmf: int) -> str | None:
    """The v5 patch's use_zero_page(vma): None when true, else the flag that makes it false."""
    for flag, name in ((C.VM_LOCKED, "VM_LOCKED"), (C.VM_SHARED, "VM_SHARED"), (C.VM_MAYSHARE, "VM_MAYSHARE"),
                       (C.VM_FILE, "vm_ops->fault")):
        if vmf & flag:
            return name
    return None


class ReadAnon(NamedTuple):
    """A read fault on an empty PTE of a private anonymous page."""

    functions: tuple[str, ...]  # called after do_anonymous_page
    decision: str
    zero_pte: int | None  # the PTE bits mapping the zero page; None: allocate a page instead
    refcounted: bool  # mapping it takes a reference and a mapcount and counts in RSS (<= 2.6.23)


def read_anon(k: KernelPolicy, vmf: int) -> ReadAnon:
    mode = k.read_fault_zero
    if mode is ReadFaultZero.REFCOUNTED:
        return ReadAnon((), READ_REFCOUNTED, C.PTE_P | C.PTE_A, True)
    if mode is ReadFaultZero.NEVER:
        return ReadAnon((), READ_NEVER, None, False)
    special = C.PTE_P | C.PTE_A | C.PTE_S
    if mode is ReadFaultZero.VMA_FLAGS:
        why = use_zero_page_why(vmf)
        if why:
            return ReadAnon(("do_anon_zeromap", "use_zero_page"),
                            f"use_zero_page(vma) is false: {why}; allocate a real page instead", None, False)
        return ReadAnon(("do_anon_zeromap", "use_zero_page"), READ_V5, special, False)
    if mode is ReadFaultZero.ALWAYS:
        return ReadAnon((), READ_SPECIAL, special, False)
    raise ValueError(f"no read-fault rule for {mode!r}")


class CowZero(NamedTuple):
    """A write fault on a PTE of the zero page (do_wp_page), past WP_ZERO's extra work."""

    decision: str
    copy: bool  # the new page is copied from the zero page (cow_user_page), not cleared
    drops_zero_page: bool  # the zero page's mapcount and refcount drop, and RSS (refcounted zero page)


def cow_zero(k: KernelPolicy) -> CowZero:
    if k.zero_test is ZeroTest.PAGE:
        return CowZero(COW_PAGE, False, True)
    if k.cow_from_zero is CowFromZero.COPY:
        return CowZero(COW_COPY, True, False)
    return CowZero(COW_PFN, False, False)
