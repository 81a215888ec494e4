"""Typed events: what one page-level kernel action was, for the trace, the report and the app.

`OUTCOME` groups kinds into the answers a room can guess in predict mode.
"""

from __future__ import annotations

from enum import IntEnum


class Kind(IntEnum):
    NARRATE = 0  # a narration step: no kernel action
    IDLE = 1  # a step whose op needed no page-level work (all hits, an error before the walk)
    READ_ZERO = 2  # read fault mapped the zero page
    READ_ALLOC = 3  # read fault allocated a zeroed page
    READ_CACHE = 4  # read fault mapped a page-cache or shmem page
    WRITE_ALLOC = 5  # write fault on an empty PTE: new zeroed page
    WRITE_SHARED = 6  # write fault mapped a shared (shmem / file) page writable
    COW_ZERO = 7  # write to a zero-page PTE: new page (zeroed or copied)
    COW_COPY = 8  # write to a page mapped elsewhere too: copy
    WP_REUSE = 9  # write to our own read-only page: made writable in place
    HUGE_ZERO = 10  # PMD fault mapped the huge zero page
    HUGE_ALLOC = 11  # PMD fault allocated a THP
    HUGE_COW_ZERO = 12  # write to the huge zero page: a whole new THP
    SEGV = 13  # refused user access: SIGSEGV
    GUP = 14  # one page of get_user_pages / pin_user_pages (no fault needed)
    GUP_ERROR = 15  # follow_page gave an error: the walk stops
    MLOCK = 16  # mlock walk: page locked (possibly after a fault)
    MUNLOCK = 17  # munlock walk: page unlocked
    ZAP = 18  # munmap / exit / MADV_DONTNEED cleared one PTE (or PMD)
    STAT = 19  # move_pages status of one page
    FORK_COPY = 20  # copy_one_pte at fork
    DUMP_WRITE = 21  # core dump wrote a page
    DUMP_HOLE = 22  # core dump left a hole
    SPLIT = 23  # a PMD mapping split into PTEs
    PROTECT = 24  # mprotect changed one present PTE
    BAD_PAGE = 25  # a walk step that only printed Bad page map
    FORK_VMAS = 26  # dup_mmap at fork: the child gets a copy of every vma (no PTE yet)


OUTCOME = {
    Kind.READ_ZERO: "zero page", Kind.HUGE_ZERO: "zero page",
    Kind.READ_ALLOC: "new page", Kind.WRITE_ALLOC: "new page", Kind.HUGE_ALLOC: "new page",
    Kind.READ_CACHE: "shared page", Kind.WRITE_SHARED: "shared page",
    Kind.COW_ZERO: "copy", Kind.COW_COPY: "copy", Kind.HUGE_COW_ZERO: "copy", Kind.WP_REUSE: "reuse",
    Kind.SEGV: "error", Kind.GUP_ERROR: "error", Kind.BAD_PAGE: "error",
}

# fault_kinds keys of the run report
FAULT_NONE, FAULT_READ, FAULT_WRITE, FAULT_COW, FAULT_GUP, FAULT_HUGE = range(6)
FAULT_KEYS = ("read", "write", "cow", "gup", "huge")

# event flag bits
EF_BAD_PAGE = 1  # printed "BUG: Bad page map"
EF_SIGSEGV = 2


def outcome(kind: int) -> str:
    return OUTCOME.get(Kind(kind), "no fault")
