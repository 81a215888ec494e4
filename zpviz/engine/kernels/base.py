"""What differs between kernel variants, as one frozen, validated policy object per variant.

The engine's code paths read these fields by mechanism ("how is the zero page recognised?"),
and never compare a variant's id or version: outside kernels/ the id appears only in messages
to the user. Each difference is a typed field named for what it changes in the kernel: an enum
where there are several ways, a bool where a feature exists or not, a FunctionNames entry where
only the name of the kernel function differs. `__post_init__` turns strings into the enums and
rejects anything else, so a typo in a policy raises instead of falling into some `else`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from enum import StrEnum


class ReadFaultZero(StrEnum):
    """do_anonymous_page on a read fault of a private anonymous page."""

    REFCOUNTED = "refcounted"  # map ZERO_PAGE with get_page + page_add_file_rmap (<= 2.6.23)
    NEVER = "never"  # allocate a zeroed page (2.6.24 .. 2.6.31)
    VMA_FLAGS = "vma_flags"  # special PTE if use_zero_page(vma) (the v5 patch)
    ALWAYS = "always"  # special PTE to the zero pfn, no vma test (2.6.32 and later)


class ZeroTest(StrEnum):
    """How the kernel recognises a zero-page PTE later (vm_normal_page, follow_page)."""

    PAGE = "page"  # the zero page is a normal, refcounted page
    SPECIAL_AND_VMA = "special_and_vma"  # pte_special && use_zero_page(vma), else print_bad_pte (v5)
    PFN = "pfn"  # is_zero_pfn(pte_pfn(pte))


class CowFromZero(StrEnum):
    ZEROED = "zeroed"  # allocate a cleared page
    COPY = "copy"  # cow_user_page copies 4 KiB of zeros from the user address (v5)


class FollAnon(StrEnum):
    """GUP without write on an empty PTE, when use_zero_page(vma): FOLL_ANON returns ZERO_PAGE."""

    PMD_NONE = "pmd_none"  # <= 2.6.25: only without a page table
    PTE_NONE = "pte_none"  # 2.6.26 .. 2.6.31, and v5
    GONE = "gone"  # 2.6.32+: FOLL_ANON is gone, the fault maps the zero pfn


class PopulateWrite(StrEnum):
    """Whether populate (mlock, MAP_POPULATE) writes."""

    VM_WRITE = "vm_write"  # iff VM_WRITE (2.6.x)
    PRIVATE_WRITE = "private_write"  # iff (VM_WRITE|VM_SHARED) == VM_WRITE, else a FOLL_FORCE read (modern)


class MlockPopulate(StrEnum):
    """Where mlock() faults the pages in."""

    MLOCK_FIXUP = "mlock_fixup"  # 2.6.x: inside mlock_fixup, only the pieces whose flags changed
    MM_POPULATE = "mm_populate"  # 2.6.37+: __mm_populate over the whole range once every vma is locked


class MunlockWalk(StrEnum):
    NONE = "none"  # no PG_mlocked: nothing to walk
    GUP = "gup"  # 2.6.28-31: clear VM_LOCKED, then a GUP walk that can fault pages in
    FOLLOW_PAGE = "follow_page"  # 2.6.32+: no faults, only present pages


class MovePagesZero(StrEnum):
    """move_pages' status for a zero-page PTE, and why."""

    RESERVED = "reserved"  # follow_page gives ZERO_PAGE, PageReserved: -ENOENT
    FOLL_NOZERO = "foll_nozero"  # v5: follow_page(FOLL_NOZERO) gives NULL: -EFAULT
    NOT_MIGRATABLE = "not_migratable"  # the zero page is not migratable: -EFAULT

    @property
    def status(self) -> str:
        return "-ENOENT" if self is MovePagesZero.RESERVED else "-EFAULT"


class MovePagesNone(StrEnum):
    ENOENT = "-ENOENT"  # move_pages' status for an untouched address


class Dump(StrEnum):
    FOLL_ANON = "foll_anon"  # GUP + compare with ZERO_PAGE
    FOLL_DUMP = "foll_dump"  # get_dump_page


class RssCounter(StrEnum):
    ATOMIC = "atomic"  # mm-wide atomics: one line every CPU writes
    PERCPU = "percpu"  # per-CPU counters, no bounce


class FaultLock(StrEnum):
    MMAP_SEM = "mmap_sem"  # one line per mm
    PER_VMA = "per_vma"  # one line per vma


@dataclass(frozen=True)
class FunctionNames:
    """Kernel functions whose name changed over the years while they did the same work (only
    what the app shows as the event's path). The defaults are the 2.6.31 tree's."""

    fault_entry: str = "do_page_fault"
    mlock_new_page: str = "is_mlocked_vma"  # a new anon page in a VM_LOCKED vma gets PG_mlocked
    wp_reuse: str = "reuse_swap_page"  # do_wp_page's test that the page is mapped once
    # what do_wp_page calls to make the new page: 2.6.x does it in its own body ("gotten:"),
    # 4.1 moved that into wp_page_copy() (also taken for the zero page)
    wp_copy: tuple[str, ...] = ()
    fork_copy: str = "copy_one_pte"
    mlock_page: str = "mlock_vma_page"
    munlock_range: str = "munlock_vma_pages_range"
    # a new anonymous page: the vma's first one prepares its anon_vma; the page is cleared (or,
    # for a COW, copied from the old page), then added to the rmap
    anon_prepare: tuple[str, ...] = ("anon_vma_prepare",)
    new_page_clear: str = "clear_user_highpage"
    new_page_copy: str = "cow_user_page"
    new_anon_rmap: str = "page_add_new_anon_rmap"
    # get_user_pages' loop: its own body until 2.6.28 moved it into __get_user_pages
    gup: tuple[str, ...] = ("get_user_pages", "__get_user_pages")
    # the page-table walk of one GUP page: follow_page() in 2.6.x; follow_page_mask() down to
    # follow_page_pte() in 6.18
    follow_page: tuple[str, ...] = ("follow_page",)
    # mlock() and munlock() setting or clearing VM_LOCKED: 2.6's do_mlock(on) for both; 6.18's
    # munlock goes to apply_vma_lock_flags directly
    mlock_set: tuple[str, ...] = ("do_mlock", "mlock_fixup")
    munlock_set: tuple[str, ...] = ("do_mlock", "mlock_fixup")
    # a fault on a file or shmem page, before its ->fault (filemap_fault, shmem_fault): 2.6's
    # do_linear_fault and __do_fault for any fault; 3.15 split it by kind (do_read_fault, ...)
    file_read: tuple[str, ...] = ("do_linear_fault", "__do_fault")
    file_cow: tuple[str, ...] = ("do_linear_fault", "__do_fault")
    file_shared: tuple[str, ...] = ("do_linear_fault", "__do_fault")
    # /proc/PID/smaps: show_smap's page-table walk
    smaps_walk: str = "walk_page_range"
    # zap_pte_range taking a page's mapping down: page_remove_rmap() until 6.8's folio_remove_rmap_ptes()
    remove_rmap: str = "page_remove_rmap"
    # FOLL_GET's reference: follow_page's get_page() in 2.6.x; try_grab_folio() in 6.18
    gup_get: str = "get_page"


NAMES_2623 = FunctionNames(gup=("get_user_pages",), wp_reuse="can_share_swap_page")  # (reuse_swap_page: 2.6.29)

MODERN_NAMES = FunctionNames(
    fault_entry="do_user_addr_fault", mlock_new_page="mlock_new_folio", wp_reuse="wp_can_reuse_anon_folio",
    wp_copy=("wp_page_copy",), fork_copy="copy_present_pte", mlock_page="mlock_folio",
    munlock_range="mlock_pte_range", anon_prepare=("vmf_anon_prepare", "__anon_vma_prepare"),
    new_page_clear="vma_alloc_zeroed_movable_folio", new_page_copy="__wp_page_copy_user",
    new_anon_rmap="folio_add_new_anon_rmap", follow_page=("follow_page_mask", "follow_page_pte"),
    remove_rmap="folio_remove_rmap_ptes", gup_get="try_grab_folio", file_read=("do_read_fault", "__do_fault"),
    file_cow=("do_cow_fault", "__do_fault"), file_shared=("do_shared_fault", "__do_fault"), smaps_walk="walk_page_vma",
    mlock_set=("do_mlock", "apply_vma_lock_flags", "mlock_fixup"), munlock_set=("apply_vma_lock_flags", "mlock_fixup"))

_ENUMS = {
    "read_fault_zero": ReadFaultZero, "zero_test": ZeroTest, "cow_from_zero": CowFromZero, "foll_anon": FollAnon,
    "populate_write": PopulateWrite, "mlock_populate": MlockPopulate, "munlock_walk": MunlockWalk,
    "move_pages_zero": MovePagesZero, "move_pages_none": MovePagesNone, "dump": Dump, "rss_counter": RssCounter,
    "fault_lock": FaultLock,
}


@dataclass(frozen=True)
class KernelPolicy:
    id: str
    title: str
    release: str  # what `uname -r` would have said
    blurb: str  # one line for captions and the variant picker

    read_fault_zero: ReadFaultZero
    zero_test: ZeroTest
    cow_from_zero: CowFromZero
    pg_mlocked: bool  # PG_mlocked and the unevictable LRU exist (2.6.28+)
    foll_anon: FollAnon
    populate_write: PopulateWrite
    mlock_ignore_zero: bool  # v5: __mlock_vma_pages_range passes GUP_FLAGS_IGNORE_ZERO
    munlock_walk: MunlockWalk
    munmap_munlocks_first: bool  # do_munmap/exit_mmap call munlock_vma_pages_all before zapping
    move_pages_zero: MovePagesZero
    move_pages_none: MovePagesNone
    has_mlock2: bool
    has_madv_populate: bool
    has_thp: bool
    has_pin: bool  # pin_user_pages / FOLL_PIN exists (5.6+, eddb1c228f79)
    pin_skips_zero_refcount: bool  # FOLL_PIN leaves the zero page's refcount alone (6.5+)
    longterm_unshares_zero: bool  # R/O FOLL_LONGTERM pins in COW mappings unshare (6.2+)
    dump: Dump
    rss_counter: RssCounter
    fault_lock: FaultLock
    mprotect_upgrades_exclusive: bool  # mprotect(+W) makes exclusive anon PTEs writable at once
    mlock_populate: MlockPopulate = MlockPopulate.MLOCK_FIXUP
    # the mlock walk takes a reference on each page (FOLL_GET) and drops it after mlocking it:
    # 2.6.24 .. 2.6.32 (2.6.23's make_pages_present and the modern walk do not)
    mlock_gets_page: bool = False
    # A new anon page faulted into a VM_LOCKED vma gets PG_mlocked at once: 2.6.28's
    # page_add_new_anon_rmap -> page_evictable -> is_mlocked_vma (TestSetPageMlocked).
    fault_mlocks_new_pages: bool = False
    fault_mlocks_file_pages: bool = False  # page-cache pages too, when mapped (mlock_vma_folio, 5.x+)
    fault_around_pages: int = 0  # a read fault in a file/shmem vma maps cached neighbours (3.15+: 16)
    mprotect_populates_locked: bool = False  # +W on a private VM_LOCKED vma populates it (4.2+)
    fn: FunctionNames = field(default_factory=FunctionNames)

    def __post_init__(self) -> None:
        for name, enum in _ENUMS.items():
            value = getattr(self, name)
            try:
                object.__setattr__(self, name, enum(value))
            except ValueError:
                valid = ", ".join(repr(m.value) for m in enum)
                raise ValueError(f"kernel policy {self.id!r}: {name} = {value!r} is not one of {valid}") from None
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.type in ("bool", "int") and type(value) is not {"bool": bool, "int": int}[f.type]:
                raise TypeError(f"kernel policy {self.id!r}: {f.name} = {value!r} is not a {f.type}")
        if not isinstance(self.fn, FunctionNames):
            raise TypeError(f"kernel policy {self.id!r}: fn must be a FunctionNames")

    def describe(self) -> str:
        return f"{self.title} ({self.release})"
