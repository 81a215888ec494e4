"""The five kernel variants of the contract (docs/format.md section 3)."""

from __future__ import annotations

from zpviz.engine.kernels.base import MODERN_NAMES, NAMES_2623, KernelPolicy
from zpviz.scenario.model import VARIANTS as IDS
from zpviz.scenario.model import variant_id

_OLD = dict(
    has_mlock2=False, has_madv_populate=False, has_thp=False, has_pin=False,
    pin_skips_zero_refcount=False, longterm_unshares_zero=False, rss_counter="atomic",
    fault_lock="mmap_sem", mprotect_upgrades_exclusive=False, populate_write="vm_write",
    move_pages_none="-ENOENT",
)

V2623 = KernelPolicy(
    id="2.6.23", title="2.6.23: ZERO_PAGE refcounted", release="2.6.23",
    blurb="Read faults map ZERO_PAGE and take a reference: every CPU writes its struct page.",
    read_fault_zero="refcounted", zero_test="page", cow_from_zero="zeroed", pg_mlocked=False,
    foll_anon="pmd_none", mlock_ignore_zero=False, munlock_walk="none", munmap_munlocks_first=False,
    move_pages_zero="reserved", dump="foll_anon", fn=NAMES_2623, **_OLD,
)

V2624 = KernelPolicy(
    id="2.6.24", title="2.6.31: no zero page since 2.6.24", release="2.6.31",
    blurb="No zero page (removed in 2.6.24): every read fault allocates and clears a page. Modelled as "
          "2.6.31, the tree the v5 patch applies to; also named by the id 2.6.31.",
    read_fault_zero="never", zero_test="page", cow_from_zero="zeroed", pg_mlocked=True,
    foll_anon="pte_none", mlock_ignore_zero=False, munlock_walk="gup", munmap_munlocks_first=True,
    move_pages_zero="reserved", dump="foll_anon", fault_mlocks_new_pages=True, mlock_gets_page=True, **_OLD,
)

V5 = KernelPolicy(
    id="v5", title="v5 patch: ZERO_PAGE by pte_special", release="2.6.31-mm (zero-page v5)",
    blurb="Special PTEs, no refcount; zero-ness decided from vma flags, so mlock finds 'bad' PTEs.",
    read_fault_zero="vma_flags", zero_test="special_and_vma", cow_from_zero="copy", pg_mlocked=True,
    foll_anon="pte_none", mlock_ignore_zero=True, munlock_walk="gup", munmap_munlocks_first=True,
    move_pages_zero="foll_nozero", dump="foll_anon", fault_mlocks_new_pages=True, mlock_gets_page=True, **_OLD,
)

V2632 = KernelPolicy(
    id="2.6.32", title="2.6.32: ZERO_PAGE by pfn", release="2.6.32",
    blurb="Hugh Dickins' reinstatement: is_zero_pfn() decides, no refcount, no vma test.",
    read_fault_zero="always", zero_test="pfn", cow_from_zero="zeroed", pg_mlocked=True,
    foll_anon="gone", mlock_ignore_zero=False, munlock_walk="follow_page", munmap_munlocks_first=True,
    move_pages_zero="reserved", dump="foll_dump", fault_mlocks_new_pages=True, mlock_gets_page=True, **_OLD,
)

MODERN = KernelPolicy(
    id="modern", title="Linux 6.18", release="6.18",
    blurb="The zero pfn plus the huge zero page; per-VMA locks, per-CPU RSS counters, FOLL_PIN.",
    read_fault_zero="always", zero_test="pfn", cow_from_zero="zeroed", pg_mlocked=True,
    foll_anon="gone", populate_write="private_write", mlock_ignore_zero=False, munlock_walk="follow_page",
    munmap_munlocks_first=True, move_pages_zero="not_migratable", move_pages_none="-ENOENT",
    has_mlock2=True, has_madv_populate=True, has_thp=True, has_pin=True, pin_skips_zero_refcount=True,
    longterm_unshares_zero=True, dump="foll_dump", rss_counter="percpu", fault_lock="per_vma",
    mprotect_upgrades_exclusive=True, fault_mlocks_new_pages=True, fault_mlocks_file_pages=True,
    fault_around_pages=16, mprotect_populates_locked=True, mlock_populate="mm_populate", fn=MODERN_NAMES,
)

VARIANTS: dict[str, KernelPolicy] = {p.id: p for p in (V2623, V2624, V5, V2632, MODERN)}
assert tuple(VARIANTS) == IDS, "the policies and scenario.model.VARIANTS name the same ids, in order"


def policy(kernel_id: str) -> KernelPolicy:
    """The policy named by any accepted id ("2.6.31" is the 2.6.24 model); ValueError otherwise."""
    return VARIANTS[variant_id(kernel_id)]
