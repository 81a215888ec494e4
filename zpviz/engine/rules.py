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

from zpviz.engine import constants as C
from zpviz.engine.costs import Costs

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


def new_anon_functions(prepare: bool, copy: bool) -> tuple[str, ...]:
    """The kernel functions that make it (prepare: the vma's first anon page, anon_vma_prepare)."""
    return (("anon_vma_prepare",) if prepare else ()) + (
        "cow_user_page" if copy else "clear_user_highpage", "page_add_new_anon_rmap")


def page_table_ns(costs: Costs) -> int:
    """Allocate a page-table page and clear it (half a page's cost: the clear is cache-hot)."""
    return costs.alloc_page_ns + costs.clear_page_ns // 2
