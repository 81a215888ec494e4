"""Fresh memory is the dearest thing a big run touches: keep what the engine frees for the next.

A 1 GiB lesson's run allocates some 60 MB it writes once (the recorder's append arrays, the
period skip's copies, the sealed columns, the trace's keyframes) and frees most of it again.
With glibc's defaults big blocks are mapped for themselves and unmapped when freed, and the top
of the heap is given back past a threshold, so every run, and every step, faults the same memory
in again page by page: 8,000-16,000 page faults a 1 GiB read, at 1.3-2 us each, a quarter of its
CPU time. So, once per process (`keep_freed_memory`, called by `run.run_machine`):

- blocks up to MMAP_THRESHOLD come from the heap, and the heap's free top is given back only
  past TRIM_THRESHOLD (`mallopt`): what one step or run frees, the next one reuses, touched
  already, with no page fault;
- the first HEAP_RESERVE bytes of heap are taken (virtual memory only) and advised for
  transparent huge pages (`MADV_HUGEPAGE`; the usual THP setting `madvise` gives them only where
  advised), so that the first run touching them takes one fault per 2 MiB rather than 512.

Neither changes a record: this is where the process's memory comes from, not what is computed.
The peak RSS stays what the run needs (memory freed is reused before the heap grows); what it
costs is that a process keeps its peak heap after a big lesson instead of giving it back. Outside
Linux with glibc, or where mallopt refuses, nothing is done.
"""

from __future__ import annotations

import ctypes
import sys

MMAP_THRESHOLD = 512 << 20  # blocks bigger than this are still mapped apart (and unmapped when freed)
TRIM_THRESHOLD = 1 << 30  # free heap top kept for reuse
HEAP_RESERVE = 256 << 20  # heap taken up front and advised for huge pages (not touched: no RSS)
HUGE = 2 << 20
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's malloc.h
_MADV_HUGEPAGE = 14

_done: bool | None = None  # None: not tried yet; else whether the settings took


def keep_freed_memory() -> bool:
    """Apply the settings above, once per process; whether they took (False where not glibc)."""
    global _done
    if _done is not None:
        return _done
    _done = False
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    if not hasattr(libc, "gnu_get_libc_version"):  # not glibc, whose mallopt options these are
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    if not (mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) and mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)):
        return False
    _done = True
    _advise_heap(libc)
    return True


def _advise_heap(libc) -> None:
    """Grow the heap by HEAP_RESERVE (a block allocated and freed at once: it stays the heap's free
    top, TRIM_THRESHOLD keeps it) and advise its whole huge pages for THP. Best effort."""
    libc.malloc.argtypes, libc.malloc.restype = (ctypes.c_size_t,), ctypes.c_void_p
    libc.free.argtypes, libc.free.restype = (ctypes.c_void_p,), None
    libc.madvise.argtypes, libc.madvise.restype = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int), ctypes.c_int
    p = libc.malloc(HEAP_RESERVE)
    if not p:
        return
    libc.free(p)
    start = -(-p // HUGE) * HUGE
    length = (p + HEAP_RESERVE - start) // HUGE * HUGE
    if length > 0:
        libc.madvise(start, length, _MADV_HUGEPAGE)  # (refused without THP: plain pages, as before)
