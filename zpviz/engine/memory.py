"""The machine's mutable memory: per-page slots (PTE + vma flags) and per-frame struct pages.

Stored in array.array / bytearray rather than numpy: the fault paths touch one element at a
time, where Python containers are several times faster than numpy scalars; the trace takes
zero-copy numpy views of these buffers for keyframes.
"""

from __future__ import annotations

from array import array

import numpy as np

from zpviz.engine import constants as C

ZERO_PFN = 1  # frame 0 stays reserved for the kernel image, as on most machines
HZERO_PFN = 512  # the huge zero page: 512 frames, 2 MiB aligned
FIRST_FREE_PFN = 1024
# numpy's view of an array.array, by (typecode, itemsize)
_DTYPE = {("l", 8): np.int64, ("l", 4): np.int32, ("H", 2): np.uint16, ("q", 8): np.int64}


class Slots:
    """One entry per virtual page of every vma of every process (the page tables, flattened)."""

    def __init__(self) -> None:
        self.pte = bytearray()
        self.pfn = array("q")
        self.vmf = array("H")

    def __len__(self) -> int:
        return len(self.pte)

    def extend(self, n: int, vmf: int) -> int:
        base = len(self.pte)
        self.pte.extend(bytes(n))
        self.pfn.extend(array("q", [-1]) * n)
        self.vmf.extend(array("H", [vmf]) * n)
        return base


class Frames:
    """struct page for every physical frame handed out so far (grows on demand)."""

    def __init__(self) -> None:
        n = FIRST_FREE_PFN
        self.refcount = array("l", [0]) * n
        self.mapcount = array("l", [0]) * n  # number of PTE/PMD mappings (the kernel's _mapcount + 1)
        self.flags = array("H", [0]) * n
        self.kind = bytearray(n)
        self.kind[0] = C.FK_KERNEL
        self.flags[0] = C.PG_RESERVED
        self.kind[ZERO_PFN] = C.FK_ZERO
        self.flags[ZERO_PFN] = C.PG_RESERVED
        self.refcount[ZERO_PFN] = 1  # the kernel's own reference; report deltas are from here
        for p in range(HZERO_PFN, HZERO_PFN + C.HPAGE_PAGES):
            self.kind[p] = C.FK_HZERO
            self.flags[p] = C.PG_TAIL
        self.flags[HZERO_PFN] = C.PG_HEAD
        self.free: list[int] = []  # LIFO of freed single frames: hot pages are reused first
        self.next_pfn = FIRST_FREE_PFN
        self.used = 0  # frames holding user data (anon, file, shmem)
        self.pt = 0  # page-table frames

    def __len__(self) -> int:
        return len(self.kind)

    def _grow(self, upto: int) -> None:
        """Room for frames below `upto`. The new size depends on `upto` alone (the first of a fixed
        series of sizes, each a quarter bigger, that holds it), not on how the arrays got here: a
        step that grows them once by many frames (a period skip) leaves them as long as one that
        grows them a frame at a time."""
        size = len(self.kind)
        if upto <= size:
            return
        while size < upto:
            size += max(size // 4, 1024)
        extra = size - len(self.kind)
        if extra > 0:
            self.refcount.extend(array("l", [0]) * extra)
            self.mapcount.extend(array("l", [0]) * extra)
            self.flags.extend(array("H", [0]) * extra)
            self.kind.extend(bytes(extra))

    def alloc(self, kind: int) -> int:
        if self.free:
            pfn = self.free.pop()
        else:
            pfn = self.next_pfn
            self.next_pfn += 1
            self._grow(self.next_pfn)
        self.kind[pfn] = kind
        self.refcount[pfn] = 1
        self.mapcount[pfn] = 0
        self.flags[pfn] = 0
        if kind == C.FK_PT:
            self.pt += 1
        else:
            self.used += 1
        return pfn

    def alloc_run(self, kind: int, n: int, pt_at: list[int] = ()) -> int:
        """What n calls of alloc (of `kind`, but of FK_PT at the offsets pt_at: page tables
        made among them) do while the free list is empty, at once (the populate runs,
        populate_runs.py): frames next_pfn.. in order, each as alloc leaves it. Returns the first."""
        if self.free or kind == C.FK_PT or n <= 0 or any(not 0 <= j < n for j in pt_at):
            raise ValueError("alloc_run: only fresh frames of user data, with the free list empty")
        first = self.next_pfn
        self.next_pfn += n
        self._grow(self.next_pfn)
        new = slice(first, first + n)
        for arr, value in ((self.refcount, 1), (self.mapcount, 0), (self.flags, 0)):
            view = np.frombuffer(arr, _DTYPE[arr.typecode, arr.itemsize])
            view[new] = value
            del view  # (an array exporting its buffer cannot grow)
        kinds = bytearray([kind]) * n
        for j in pt_at:
            kinds[j] = C.FK_PT
        self.kind[new] = kinds
        self.used += n - len(pt_at)
        self.pt += len(pt_at)
        return first

    def alloc_huge(self) -> int:
        """512 contiguous, 2 MiB aligned frames for a THP; returns the head pfn."""
        head = -(-self.next_pfn // C.HPAGE_PAGES) * C.HPAGE_PAGES
        self.next_pfn = head + C.HPAGE_PAGES
        self._grow(self.next_pfn)
        for p in range(head, head + C.HPAGE_PAGES):
            self.kind[p] = C.FK_ANON
            self.refcount[p] = 0
            self.mapcount[p] = 0
            self.flags[p] = C.PG_TAIL
        self.flags[head] = C.PG_HEAD | C.PG_LRU
        self.refcount[head] = 1
        self.used += C.HPAGE_PAGES
        return head

    def release(self, pfn: int) -> None:
        """The last reference went: the frame goes back to the allocator."""
        kind = self.kind[pfn]
        if kind == C.FK_PT:
            self.pt -= 1
        else:
            self.used -= 1
        self.kind[pfn] = C.FK_FREE
        self.flags[pfn] = 0
        self.refcount[pfn] = 0
        self.mapcount[pfn] = 0
        self.free.append(pfn)

    def release_huge(self, head: int) -> None:
        for p in range(head, head + C.HPAGE_PAGES):
            self.kind[p] = C.FK_FREE
            self.flags[p] = 0
            self.refcount[p] = 0
            self.mapcount[p] = 0
        self.used -= C.HPAGE_PAGES
        # whole huge frames are not reused as singles: keeps the physical view readable

    def is_zero(self, pfn: int) -> bool:
        return pfn == ZERO_PFN

    def is_huge_zero(self, pfn: int) -> bool:
        return HZERO_PFN <= pfn < HZERO_PFN + C.HPAGE_PAGES
