"""What differs between kernel variants, as one frozen policy object per variant.

The engine's code paths read these fields by mechanism ("how is the zero page recognised?"),
never by version string, so each difference lives in exactly one place and is named for what
it changes in the kernel.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class KernelPolicy:
    id: str
    title: str
    release: str  # what `uname -r` would have said
    blurb: str  # one line for captions and the variant picker

    # do_anonymous_page on a read fault of a private anonymous page:
    #   "refcounted": map ZERO_PAGE with get_page + page_add_file_rmap (<= 2.6.23)
    #   "never":      allocate a zeroed page (2.6.24 .. 2.6.31)
    #   "vma_flags":  special PTE if use_zero_page(vma) (the v5 patch)
    #   "always":     special PTE to the zero pfn, no vma test (2.6.32 and later)
    read_fault_zero: str
    # How the kernel recognises a zero-page PTE later (vm_normal_page, follow_page):
    #   "page": the zero page is a normal, refcounted page
    #   "special_and_vma": pte_special && use_zero_page(vma), else print_bad_pte (v5)
    #   "pfn":  is_zero_pfn(pte_pfn(pte))
    zero_test: str
    cow_from_zero: str  # "zeroed": allocate a cleared page; "copy": cow_user_page from the user address
    pg_mlocked: bool  # PG_mlocked and the unevictable LRU exist (2.6.28+)
    # GUP without write on an empty PTE, when use_zero_page(vma): FOLL_ANON returns ZERO_PAGE with
    # get_page and no fault. "pmd_none" (<= 2.6.25: only without a page table), "pte_none"
    # (2.6.26 .. 2.6.31, and v5), None (2.6.32+: FOLL_ANON is gone, the fault maps the zero pfn).
    foll_anon: str | None
    # populate (mlock, MAP_POPULATE): "vm_write" writes iff VM_WRITE (2.6.x);
    # "private_write" iff (VM_WRITE|VM_SHARED) == VM_WRITE, else FOLL_FORCE read (modern)
    populate_write: str
    mlock_ignore_zero: bool  # v5: __mlock_vma_pages_range passes GUP_FLAGS_IGNORE_ZERO
    # munlock: "none" (no PG_mlocked), "gup" (2.6.28-31: clear VM_LOCKED, then a GUP walk that can
    # fault pages in), "follow_page" (2.6.32+: no faults, only present pages)
    munlock_walk: str
    munmap_munlocks_first: bool  # do_munmap/exit_mmap call munlock_vma_pages_all before zapping
    move_pages_zero: str  # status for a zero-page PTE
    move_pages_none: str  # status for an untouched address
    has_mlock2: bool
    has_madv_populate: bool
    has_thp: bool
    has_pin: bool  # pin_user_pages / FOLL_PIN exists (5.6+, eddb1c228f79)
    pin_skips_zero_refcount: bool  # FOLL_PIN leaves the zero page's refcount alone (6.5+)
    longterm_unshares_zero: bool  # R/O FOLL_LONGTERM pins in COW mappings unshare (6.2+)
    dump: str  # "foll_anon" (GUP + compare with ZERO_PAGE) or "foll_dump" (get_dump_page)
    rss_counter: str  # "atomic": mm-wide atomics (bounce); "percpu": per-CPU, no bounce
    fault_lock: str  # "mmap_sem" (one line per mm) or "per_vma" (one line per vma)
    mprotect_upgrades_exclusive: bool  # mprotect(+W) makes exclusive anon PTEs writable at once
    # A new anon page faulted into a VM_LOCKED vma gets PG_mlocked at once: 2.6.28's
    # page_add_new_anon_rmap -> page_evictable -> is_mlocked_vma (TestSetPageMlocked).
    fault_mlocks_new_pages: bool = False
    fault_mlocks_file_pages: bool = False  # page-cache pages too, when mapped (mlock_vma_folio, 5.x+)
    fault_around_pages: int = 0  # a read fault in a file/shmem vma maps cached neighbours (3.15+: 16)
    mprotect_populates_locked: bool = False  # +W on a private VM_LOCKED vma populates it (4.2+)
    # do_pages_stat_array asks follow_page(FOLL_NOZERO) (the v5 patch's mm/migrate.c): a zero PTE gives
    # NULL -> -EFAULT, and in a vma where use_zero_page() is now false (VM_LOCKED) vm_normal_page first
    # prints "Bad page map". False: follow_page(0) and PageReserved (2.6.x), or 6.18's own lookup.
    move_pages_nozero: bool = False
    # write to the huge zero page: allocate a whole THP (3.8-5.7, and again 6.13+ with 1ced09e0331f);
    # 5.8-6.12 (3917c80280c9) split the PMD and COWed one 4 KiB page, cleared from the zero page
    hzp_write: str = "alloc_thp"

    def describe(self) -> str:
        return f"{self.title} ({self.release})"
