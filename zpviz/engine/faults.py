"""handle_mm_fault and what hangs off it: anonymous, zero-page, page-cache, COW and huge faults.

Every branch records the function it stands for and, where a test decides the outcome, the
test and its answer, so the app can show the path of each event.
"""

from __future__ import annotations

from zpviz.engine import cache as L
from zpviz.engine import constants as C
from zpviz.engine import rules as R
from zpviz.engine.core import Core, Proc, Vma
from zpviz.engine.events import FAULT_COW, FAULT_GUP, FAULT_HUGE, FAULT_READ, FAULT_WRITE, Kind
from zpviz.engine.kernels.base import ZeroTest
from zpviz.engine.memory import HZERO_PFN, ZERO_PFN

# the anonymous faults' decisions (rules.read_anon, rules.cow_zero) and their texts live in
# rules.py, which the bulk loop and the sweep read too; the names stay importable from here
from zpviz.engine.rules import (  # noqa: F401
    COW_COPY,
    COW_PAGE,
    COW_PFN,
    READ_NEVER,
    READ_REFCOUNTED,
    READ_SPECIAL,
    READ_V5,
    WRITE_EMPTY,
    use_zero_page_why,
)

P, W, D, A, S, H = C.PTE_P, C.PTE_W, C.PTE_D, C.PTE_A, C.PTE_S, C.PTE_HUGE


class Faults(Core):
    # the rules.py decisions this run's faults took, by what they depend on (the rules do not
    # change within a run; asking them once per fault would cost the general path some 5%)
    _read_rules: dict[int, R.ReadAnon] | None = None
    _cow_rule: R.CowZero | None = None
    _new_anon: dict[tuple[bool, bool], tuple[tuple[str, ...], int]] | None = None
    # ------------------------------------------------------------------ entry
    def handle_mm_fault(self, p: Proc, v: Vma, slot: int, write: bool, unshare: bool = False) -> None:
        ev = self.ev
        ev.call("handle_mm_fault")
        ev.cost += self.costs.fault_entry_ns
        self.fault_lock(p, v)
        vmf = self.slots.vmf[slot]
        vp = v.vpage0 + slot - v.base
        block = vp // C.PTRS_PER_PTE
        if block not in p.pte_tables and self._thp_eligible(p, v, slot, vmf):
            if block not in p.huge_pmds:
                return self.do_huge_pmd_anonymous_page(p, v, slot, write)
            if write and not self.slots.pte[slot] & W:
                return self.do_huge_pmd_wp_page(p, v, slot)
            return None
        if block in p.huge_pmds and write and not self.slots.pte[slot] & W:
            return self.do_huge_pmd_wp_page(p, v, slot)
        if block in p.huge_pmds:
            return None
        ev.call("handle_pte_fault")
        self.ensure_table(p, vp)
        pte = self.slots.pte[slot]
        if not pte & P:
            if vmf & C.VM_FILE or vmf & C.VM_SHARED:
                return self.do_fault(p, v, slot, write)
            return self.do_anonymous_page(p, v, slot, write)
        if (write or unshare) and not pte & W:
            return self.do_wp_page(p, v, slot, unshare=unshare and not write)
        ev.decide("PTE already present: spurious fault")
        return None

    def _fault_kind(self, kind: int) -> int:
        return FAULT_GUP if self.ev.in_gup else kind

    # ------------------------------------------------------------------ anonymous
    def do_anonymous_page(self, p: Proc, v: Vma, slot: int, write: bool) -> None:
        ev = self.ev
        ev.call("do_anonymous_page")
        vmf = self.slots.vmf[slot]
        if write:
            ev.fault = self._fault_kind(FAULT_WRITE)
            ev.decide(WRITE_EMPTY)
            self.map_new_anon(p, v, slot, writable=True)
            ev.kind = Kind.WRITE_ALLOC
            return
        ev.fault = self._fault_kind(FAULT_READ)
        known = self._read_rules
        if known is None:
            known = self._read_rules = {}
        rule = known.get(vmf)
        if rule is None:
            rule = known[vmf] = R.read_anon(self.k, vmf)
        if rule.functions:
            ev.call(*rule.functions)
        ev.decide(rule.decision)
        if rule.zero_pte is None:
            self.map_new_anon(p, v, slot, writable=bool(vmf & C.VM_WRITE))
            ev.kind = Kind.READ_ALLOC
            return
        self.pte_lock(p, slot)
        if rule.refcounted:
            self.get_page(ZERO_PFN)
            self.add_map(ZERO_PFN)
            self.rss(1)  # file_rss: the zero page counts in RSS
        self.set_slot(slot, rule.zero_pte, ZERO_PFN)
        ev.cost += self.costs.map_zero_ns
        ev.kind = Kind.READ_ZERO

    def map_new_anon(self, p: Proc, v: Vma, slot: int, writable: bool, copy: bool = False) -> int:
        """anon_vma_prepare, allocate, clear (or copy), rmap, LRU, set the PTE."""
        ev = self.ev
        prepare = not v.anon_vma
        known = self._new_anon
        if known is None:
            known = self._new_anon = {}
        how = known.get((prepare, copy))
        if how is None:
            how = known[(prepare, copy)] = (R.new_anon_functions(self.k.fn, prepare, copy),
                                            R.new_anon_page_ns(self.costs, copy))
        functions, ns = how
        ev.call(*functions)
        if prepare:
            v.anon_vma = True
            ev.write(L.mmap_lock_line(p.index))  # page_table_lock for the new anon_vma
        pfn = self.alloc_frame(C.FK_ANON, charge=False)
        ev.cost += ns
        ev.misses += C.PAGE_LINES  # the page's own lines: cold, written once, not tracked one by one
        fr = self.frames
        fr.mapcount[pfn] = 1
        fr.flags[pfn] |= R.NEW_ANON_FLAGS
        vmf = self.slots.vmf[slot]
        if vmf & C.VM_LOCKED and self.k.fault_mlocks_new_pages:
            ev.call(self.k.fn.mlock_new_page)
            fr.flags[pfn] |= C.PG_MLOCKED | C.PG_UNEVICTABLE
        self.pte_lock(p, slot)
        self.rss(1)
        self.set_slot(slot, R.new_anon_pte(writable), pfn)
        return pfn

    # ------------------------------------------------------------------ file and shmem
    def do_fault(self, p: Proc, v: Vma, slot: int, write: bool) -> None:
        ev = self.ev
        vmf = self.slots.vmf[slot]
        shared = bool(vmf & C.VM_SHARED)
        page = slot - v.base
        cache = self.page_cache.setdefault(v.file_key, {}) if v.file_key else self.shmem.setdefault(v.shmem_key, {})
        fn = "shmem_fault" if v.file_key is None else "filemap_fault"
        ev.fault = self._fault_kind(FAULT_WRITE if write else FAULT_READ)
        if write and not shared:
            ev.call(*self.k.fn.file_cow, fn)
            self._cache_page(cache, page, v)  # the source of the copy must be in the page cache
            ev.decide("write fault on a private file mapping: copy the page-cache page")
            self.map_new_anon(p, v, slot, writable=True, copy=True)
            ev.kind = Kind.COW_COPY
            return
        ev.call(*(self.k.fn.file_shared if write else self.k.fn.file_read), fn)
        if not write and self.k.fault_around_pages > 1:
            self.do_fault_around(p, v, slot, cache)
        pfn = self._cache_page(cache, page, v)
        self.map_page_again(pfn)
        self.pte_lock(p, slot)
        self.rss(1)
        # shmem needs no write-notify (no dirty accounting), so vm_page_prot of a shared writable
        # shmem vma is already writable and even a read fault maps the page writable
        writable = write or self._shmem_writable(v, vmf)
        self.set_slot(slot, P | A | ((W | D) if writable else 0), pfn)
        if vmf & C.VM_LOCKED and self.k.fault_mlocks_file_pages:
            self.frames.flags[pfn] |= C.PG_MLOCKED | C.PG_UNEVICTABLE
        ev.decide("the page comes from the " + ("shmem object" if v.file_key is None else "page cache")
                  + (", mapped writable" if writable else ""))
        ev.kind = Kind.WRITE_SHARED if write else Kind.READ_CACHE

    def do_fault_around(self, p: Proc, v: Vma, slot: int, cache: dict[int, int]) -> None:
        """Map the pages around a read fault that are already cached (fault_around_bytes, 3.15+)."""
        n = self.k.fault_around_pages
        vp = v.vpage0 + slot - v.base
        lo = max(v.base, slot - vp % n)
        hi = min(v.base + v.npages, slot - vp % n + n)
        mapped = 0
        for s in range(lo, hi):
            if s == slot or self.slots.pte[s] & P or self.slots.vmf[s] != self.slots.vmf[slot]:
                continue
            pfn = cache.get(s - v.base)
            if pfn is None:
                continue
            self.map_page_again(pfn)
            self.rss(1)
            self.set_slot(s, P | A | (W if self._shmem_writable(v, self.slots.vmf[s]) else 0), pfn)
            mapped += 1
        if mapped:
            self.ev.call("do_fault_around", "filemap_map_pages")
            self.ev.decide(f"fault-around: {mapped} more cached pages of this {n}-page window mapped too")

    @staticmethod
    def _shmem_writable(v: Vma, vmf: int) -> bool:
        return v.file_key is None and vmf & (C.VM_SHARED | C.VM_WRITE) == C.VM_SHARED | C.VM_WRITE

    def _cache_page(self, cache: dict[int, int], page: int, v: Vma) -> int:
        pfn = cache.get(page)
        if pfn is None:
            pfn = self.alloc_frame(C.FK_FILE if v.file_key else C.FK_SHMEM)
            self.frames.flags[pfn] |= C.PG_LRU
            cache[page] = pfn
            self.ev.cost += self.costs.clear_page_ns
            where = "page cache" if v.file_key else "shmem object"
            self.ev.decide(f"not cached yet: a new page is added to the {where}")
        return pfn

    # ------------------------------------------------------------------ write protect / COW
    def do_wp_page(self, p: Proc, v: Vma, slot: int, unshare: bool = False) -> None:
        ev = self.ev
        ev.fault = self._fault_kind(FAULT_COW)
        pfn = self.slots.pfn[slot]
        pte = self.slots.pte[slot]
        vmf = self.slots.vmf[slot]
        if pfn == ZERO_PFN:
            ev.call(*R.wp_zero_functions(self.k.fn, bool(pte & S)))
            self.vm_normal_page(p, slot, called=True)  # v5 may print Bad page map here; its answer is NULL anyway
            extra = R.WP_ZERO
            if extra.extra_ns or extra.extra_lines:
                ev.cost += extra.extra_ns
                for line in self.wp_zero_lines(p):
                    ev.write(line)
            if unshare:
                ev.decide("FAULT_FLAG_UNSHARE: a R/O long-term pin must not pin the shared zero page")
            rule = self._cow_rule
            if rule is None:
                rule = self._cow_rule = R.cow_zero(self.k)
            ev.decide(rule.decision)
            if rule.drops_zero_page:
                self.add_map(ZERO_PFN, -1)
                self.get_page(ZERO_PFN, -1)
                self.rss(-1)
            self.map_new_anon(p, v, slot, writable=not unshare, copy=rule.copy)
            ev.kind = Kind.COW_ZERO
            return
        ev.call("do_wp_page")
        fr = self.frames
        kind = fr.kind[pfn]
        if kind in (C.FK_FILE, C.FK_SHMEM) and vmf & C.VM_SHARED:
            ev.call("wp_page_shared")
            ev.decide("shared mapping: make the PTE writable in place")
            self.pte_lock(p, slot)
            self.set_slot(slot, pte | W | D)
            ev.kind = Kind.WP_REUSE
            return
        if fr.flags[pfn] & (C.PG_HEAD | C.PG_TAIL):
            head = pfn - pfn % C.HPAGE_PAGES
            if fr.mapcount[head] <= C.HPAGE_PAGES and not unshare:
                ev.decide("a piece of a THP mapped once: reuse it")
                self.pte_lock(p, slot)
                self.set_slot(slot, pte | W | D)
                ev.kind = Kind.WP_REUSE
                return
        elif kind == C.FK_ANON and fr.mapcount[pfn] == 1 and not unshare:
            ev.call(self.k.fn.wp_reuse)
            ev.decide("page mapped once: reuse it, just set the write bit")
            self.pte_lock(p, slot)
            self.set_slot(slot, pte | W | D)
            self.touch_frame(pfn)
            ev.kind = Kind.WP_REUSE
            return
        if kind == C.FK_ANON and fr.mapcount[pfn] == 1 and unshare:
            ev.decide("page already exclusive: nothing to unshare")
            ev.kind = Kind.GUP
            return
        ev.call(*self.k.fn.wp_copy)
        ev.decide(f"page mapped {fr.mapcount[pfn]} times" if kind == C.FK_ANON else "private copy of a file page")
        self.rss(-1)
        self.map_new_anon(p, v, slot, writable=not unshare, copy=True)
        self.unmap_page(pfn)
        ev.kind = Kind.COW_COPY

    def vm_normal_page(self, p: Proc, slot: int, called: bool = False) -> int | None:
        """The struct page behind a PTE, or None for special mappings; v5 complains about some.
        called: the caller has already named vm_normal_page in the event's path."""
        pfn = self.slots.pfn[slot]
        pte = self.slots.pte[slot]
        ev = self.ev
        if not pte & S:
            return pfn
        if not called:
            ev.call("vm_normal_page")
        if self.k.zero_test is ZeroTest.SPECIAL_AND_VMA:
            why = use_zero_page_why(self.slots.vmf[slot])
            if why:
                ev.decide(f"special PTE but use_zero_page(vma) is false ({why}): print_bad_pte")
                self.print_bad_pte(p, slot, "vm_normal_page")
            return None
        return None

    # ------------------------------------------------------------------ huge pages (modern only)
    def _thp_eligible(self, p: Proc, v: Vma, slot: int, vmf: int) -> bool:
        if not (self.k.has_thp and vmf & C.VM_HUGEPAGE) or vmf & (C.VM_FILE | C.VM_SHARED):
            return False
        first = slot - (v.vpage0 + slot - v.base) % C.HPAGE_PAGES
        if first < v.base or first + C.HPAGE_PAGES > v.base + v.npages:
            return False
        # every page of the 2 MiB block must sit in one vma with the same flags (no split inside it)
        return self.slots.vmf[first:first + C.HPAGE_PAGES].count(vmf) == C.HPAGE_PAGES

    def _block(self, v: Vma, slot: int) -> tuple[int, int]:
        vp = v.vpage0 + slot - v.base
        first = slot - vp % C.HPAGE_PAGES
        return first, vp // C.HPAGE_PAGES

    def do_huge_pmd_anonymous_page(self, p: Proc, v: Vma, slot: int, write: bool) -> None:
        ev = self.ev
        ev.call("__handle_mm_fault", "create_huge_pmd", "do_huge_pmd_anonymous_page", "vmf_anon_prepare")
        ev.fault = self._fault_kind(FAULT_HUGE)
        v.anon_vma = True  # before the zero-page test: fork will copy even a huge zero PMD
        first, block = self._block(v, slot)
        p.pte_tables.pop(block, None)
        deposit = self._alloc_pt()  # pgtable_trans_huge_deposit: a PTE table kept for a later split
        p.upper_tables[(1, block)] = deposit
        for level, idx in ((3, (v.vpage0 + slot - v.base) >> 27), (2, (v.vpage0 + slot - v.base) >> 18)):
            if (level, idx) not in p.upper_tables:
                p.upper_tables[(level, idx)] = self._alloc_pt()
        ev.cost += self.costs.huge_extra_ns
        ev.write(L.ptl_line(p.index, v.vpage0 + slot - v.base))
        vmf = self.slots.vmf[slot]
        if not write and self.thp_use_zero_page:
            ev.decide("read fault, transparent_hugepage/use_zero_page=1: map the huge zero page")
            # mm_get_huge_zero_folio runs at every such fault; it takes a reference only for the
            # mm's first (MMF_HUGE_ZERO_FOLIO set), and set_huge_zero_folio installs the PMD
            ev.call("mm_get_huge_zero_folio")
            if not p.hzp_ref:
                ev.decide("first huge zero mapping in this mm: one reference (MMF_HUGE_ZERO_FOLIO, "
                          "called MMF_HUGE_ZERO_PAGE in older kernels)")
                p.hzp_ref = True
                self.get_page(HZERO_PFN)
            else:
                ev.decide("MMF_HUGE_ZERO_FOLIO already set: the mm holds its reference, none taken")
            ev.call("set_huge_zero_folio")
            for i in range(C.HPAGE_PAGES):
                self.set_slot(first + i, P | A | S | H, HZERO_PFN + i)
            p.huge_pmds[block] = HZERO_PFN
            ev.kind = Kind.HUGE_ZERO
            return
        ev.decide("write fault" if write else "read fault with use_zero_page=0")
        self._map_new_thp(p, v, first, block, vmf)
        ev.kind = Kind.HUGE_ALLOC

    def _map_new_thp(self, p: Proc, v: Vma, first: int, block: int, vmf: int) -> None:
        ev = self.ev
        ev.call("vma_alloc_anon_folio_pmd", "folio_zero_user", "folio_add_new_anon_rmap")  # (6.18: no clear_huge_page)
        if not v.anon_vma:
            v.anon_vma = True
        head = self.alloc_huge()
        ev.cost += self.costs.clear_huge_ns
        fr = self.frames
        fr.mapcount[head] = C.HPAGE_PAGES
        fr.flags[head] |= C.PG_ANON_EXCLUSIVE
        if vmf & C.VM_LOCKED:
            fr.flags[head] |= C.PG_MLOCKED | C.PG_UNEVICTABLE
        self.touch_frame(head)
        bits = P | A | H | ((W | D) if vmf & C.VM_WRITE else 0)
        for i in range(C.HPAGE_PAGES):
            self.set_slot(first + i, bits, head + i)
        p.huge_pmds[block] = head
        self.rss(C.HPAGE_PAGES)

    def do_huge_pmd_wp_page(self, p: Proc, v: Vma, slot: int) -> None:
        ev = self.ev
        ev.call("__handle_mm_fault", "wp_huge_pmd", "do_huge_pmd_wp_page")
        ev.fault = self._fault_kind(FAULT_HUGE)
        first, block = self._block(v, slot)
        head = p.huge_pmds[block]
        if head == HZERO_PFN:
            ev.call("do_huge_zero_wp_pmd")
            ev.decide("write to the huge zero page: allocate a whole THP (3.8-5.7 and 6.13+; "
                      "5.8-6.12 split the PMD and cleared one 4 KiB page)")
            self._map_new_thp(p, v, first, block, self.slots.vmf[slot])
            ev.kind = Kind.HUGE_COW_ZERO
            return
        fr = self.frames
        if fr.mapcount[head] <= C.HPAGE_PAGES:
            ev.decide("THP mapped once: reuse it, set the write bit on the PMD")
            for i in range(C.HPAGE_PAGES):
                self.set_slot(first + i, self.slots.pte[first + i] | W | D)
            ev.kind = Kind.WP_REUSE
            return
        ev.decide("THP shared after fork: split the PMD, then COW one 4 KiB page")
        self.split_pmd(p, v, first, block)
        self.do_wp_page(p, v, slot)

    def split_pmd(self, p: Proc, v: Vma, first: int, block: int) -> None:
        """__split_huge_pmd: the deposited table takes over; a huge zero PMD becomes 512 zero PTEs."""
        ev = self.ev
        head = p.huge_pmds.pop(block)
        ev.call("__split_huge_pmd")
        deposit = p.upper_tables.pop((1, block), None)
        if deposit is not None:
            p.pte_tables[block] = deposit
        if head == HZERO_PFN:
            ev.call("__split_huge_zero_page_pmd")
            for i in range(C.HPAGE_PAGES):
                s = first + i
                if self.slots.pte[s] & P:
                    self.set_slot(s, (self.slots.pte[s] & ~H) | S, ZERO_PFN)
            return
        for i in range(C.HPAGE_PAGES):
            s = first + i
            if self.slots.pte[s] & P:
                self.set_slot(s, self.slots.pte[s] & ~H)
