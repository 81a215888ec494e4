"""The cost model: nanoseconds charged for each piece of kernel work and each cache-line move.

Defaults follow docs/semantics.md ("The cost model": McCalpin's 40 ns same-socket
intervention; 120 ns across sockets, an assumed typical two-socket figure, not McCalpin's;
80-100 ns DRAM) and are calibrated so that one CPU of the model takes
faults at about the rates measured on this project's reference VM (Linux 6.18): about 1.0 M
zero-page read faults/s, 0.4 M write faults/s and 0.25 M COW faults/s.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Costs:
    hit_ns: int = 1  # L1 hit
    dram_ns: int = 90  # a line no cache holds
    same_socket_ns: int = 40  # a line another core holds modified, same socket
    cross_socket_ns: int = 120  # the same across sockets
    line_hold_ns: int = 5  # how long an atomic RMW or lock hand-off keeps a line busy
    fault_entry_ns: int = 780  # trap, handle_mm_fault, page-table walk, return to user
    map_zero_ns: int = 120  # install a zero PTE
    alloc_page_ns: int = 250  # the page allocator's per-cpu fast path
    clear_page_ns: int = 1100  # 64 lines written (bandwidth bound)
    copy_page_ns: int = 1400  # 64 lines read and 64 written
    cow_extra_ns: int = 900  # do_wp_page's TLB flush, rmap and LRU work
    rmap_ns: int = 150  # page_add_*_rmap, LRU add
    zap_pte_ns: int = 25  # clear one PTE at munmap/exit
    free_page_ns: int = 60  # put a page back on the per-cpu list
    gup_page_ns: int = 90  # follow_page for one page
    walk_page_ns: int = 40  # one page of a walk that does no fault (munlock, move_pages, dump seek)
    dump_write_ns: int = 1500  # write 4 KiB to the core file
    copy_pte_ns: int = 35  # copy_one_pte at fork
    huge_extra_ns: int = 2000  # PMD fault bookkeeping (deposit table etc.)
    clear_huge_ns: int = 180_000  # clear 2 MiB

