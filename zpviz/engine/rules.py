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
