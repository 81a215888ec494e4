"""Bit layouts and codes shared by the engine, the trace and the view-models.

Per virtual page ("slot") the machine keeps three small fields: the PTE bits, the pfn the PTE
points at, and the flags of the vma covering it. Keeping vma flags per page makes mlock,
mprotect and munmap of a sub-range split the vma exactly as the kernel does, with no list surgery.
"""

from __future__ import annotations

PAGE_KB = 4
PAGE_SIZE = 4096
PTRS_PER_PTE = 512  # pages under one PTE table (2 MiB on x86-64)
LINE_BYTES = 64  # a cache line
PTES_PER_LINE = LINE_BYTES // 8  # 8-byte PTEs
PAGE_LINES = PAGE_SIZE // LINE_BYTES  # the lines a cleared or copied page writes (cold misses)
HPAGE_PAGES = 512

# --- PTE bits (uint8 per slot) -------------------------------------------------------------
PTE_P = 1  # _PAGE_PRESENT
PTE_W = 2  # _PAGE_RW
PTE_D = 4  # dirty
PTE_A = 8  # accessed
PTE_S = 16  # _PAGE_SPECIAL
PTE_HUGE = 32  # mapped by a PMD (THP or the huge zero page), not a PTE
PTE_BITS = (("P", PTE_P), ("W", PTE_W), ("D", PTE_D), ("A", PTE_A), ("S", PTE_S), ("PMD", PTE_HUGE))

# --- vma flags (uint16 per slot) ---------------------------------------------------------------
VM_MAPPED = 1  # some vma covers this page (else: unmapped)
VM_READ = 2
VM_WRITE = 4
VM_SHARED = 8
VM_MAYSHARE = 16
VM_LOCKED = 32
VM_LOCKONFAULT = 64
VM_HUGEPAGE = 128  # MADV_HUGEPAGE on a 2 MiB aligned range
VM_FILE = 256  # vm_ops->fault exists (a file mapping or shmem)
VM_MAYWRITE = 512
VM_ANON_VMA = 1024  # the vma has an anon_vma (decides whether fork copies its PTEs)
VM_FLAG_NAMES = (
    ("read", VM_READ), ("write", VM_WRITE), ("shared", VM_SHARED), ("mayshare", VM_MAYSHARE),
    ("locked", VM_LOCKED), ("lockonfault", VM_LOCKONFAULT), ("hugepage", VM_HUGEPAGE),
    ("fault-handler", VM_FILE), ("anon_vma", VM_ANON_VMA),
)

# --- frame (struct page) kinds and flags ---------------------------------------------------
FK_FREE = 0
FK_ANON = 1
FK_FILE = 2  # page cache of a file
FK_SHMEM = 3  # shared anonymous memory
FK_ZERO = 4  # the 4 KiB zero page
FK_HZERO = 5  # part of the huge zero page
FK_PT = 6  # a page-table page
FK_KERNEL = 7  # reserved for the kernel image and friends

PG_MLOCKED = 1
PG_RESERVED = 2
PG_LRU = 4
PG_HEAD = 8  # first frame of a THP
PG_TAIL = 16  # other frames of a THP (or of the huge zero page)
PG_UNEVICTABLE = 32
PG_REFERENCED = 64
PG_ANON_EXCLUSIVE = 128

# --- page states of the run report, as small codes ---------------------------------------
ST_UNMAPPED, ST_NONE, ST_ZERO, ST_ANON, ST_SHARED, ST_FILE = range(6)
STATE_NAMES = ("unmapped", "none", "zero", "anon", "shared", "file")

# --- cache lines -----------------------------------------------------------------------------
LK_ZERO, LK_HZERO, LK_STRUCT_PAGE, LK_PTE, LK_LOCK, LK_MM_COUNTER = range(6)
LINE_KIND_NAMES = ("zero_page", "huge_zero_page", "struct_page", "pte", "lock", "mm_counter")

# per-CPU counters, in this order in every counter matrix
CPU_COUNTERS = ("hits", "misses", "transfers_in", "invalidations_sent", "invalidations_received", "stall_ns")
C_HITS, C_MISSES, C_TRANSFERS, C_INV_SENT, C_INV_RECV, C_STALL = range(6)
C_BY_LINE = len(CPU_COUNTERS)  # followed by one transfers-in column per line kind
N_CPU_COUNTERS = C_BY_LINE + len(LINE_KIND_NAMES)
