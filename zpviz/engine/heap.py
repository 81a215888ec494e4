"""Fresh memory is the dearest thing a big run touches: keep what the engine frees for the next.

A 1 GiB lesson's run allocates some 60 MB it writes once (the recorder's append arrays, the
period skip's copies, the sealed columns, the trace's keyframes) and frees most of it again.
With glibc's defaults big blocks are mapped for themselves and unmapped when freed, and the top
of the heap is given back past a threshold, so every run, and every step, faults the same memory
in again page by page: 8,000-16,000 page faults a 1 GiB read, at 1.3-2 us each, a quarter of its
CPU time. So, once per process (`keep_freed_memory`, called by `run.run_machine`):

blocks up to MMAP_THRESHOLD come from the heap, and the heap's free top is given back only past
TRIM_THRESHOLD (`mallopt`): what one step or run frees, the next one reuses, touched already,
with no page fault. (Advising the heap for transparent huge pages as well, tried, cut the first
run's faults to some 700 but cost more system time than it saved on this VM: a fresh 2 MiB page
is dear here, 2-5 ms of system time, and a run's first touches went up 50-100 %.)

`collector_paused` keeps Python's cycle collector from running during a run: the bulk loops
make and drop tuples and lists by the hundred thousand, which start a young-generation pass every
few hundred allocations and now and then an older one (2.5-3 ms a 1 GiB write, 3-14 ms more when
an older generation's turn comes), and a run makes almost no cycles to collect. Where the
collector was on, it is on again when the run ends, and collects then what the run left.

Neither changes a record: this is where the process's memory comes from, not what is computed.
The peak RSS stays what the run needs (memory freed is reused before the heap grows); what it
costs is that a process keeps its peak heap after a big lesson instead of giving it back. Outside
Linux with glibc, or where mallopt refuses, mallopt's part is left out.
"""

from __future__ import annotations

import ctypes
import gc
import sys
from collections.abc import Iterator
from contextlib import contextmanager

MMAP_THRESHOLD = 512 << 20  # blocks bigger than this are still mapped apart (and unmapped when freed)
TRIM_THRESHOLD = 1 << 30  # free heap top kept for reuse
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's malloc.h

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
    return True


@contextmanager
def collector_paused() -> Iterator[None]:
    """gc disabled inside, enabled again after where it was (runs in several threads: whichever
    found it on turns it on again; it is never left off)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()
