"""Taking mappings down and changing them: zap (munmap, exit, MADV_DONTNEED), mprotect, fork."""

from __future__ import annotations

from collections.abc import Iterator

from zpviz.engine import cache as L
from zpviz.engine import constants as C
from zpviz.engine.core import Proc, Vma
from zpviz.engine.events import Kind
from zpviz.engine.kernels.base import ZeroTest
from zpviz.engine.memory import HZERO_PFN, ZERO_PFN
from zpviz.engine.walks import Walks

P, W, D, A, S, H = C.PTE_P, C.PTE_W, C.PTE_D, C.PTE_A, C.PTE_S, C.PTE_HUGE


class Teardown(Walks):
    # ------------------------------------------------------------------ zap
    def zap_slot(self, p: Proc, v: Vma, slot: int) -> None:
        """zap_pte_range (or zap_huge_pmd) for the PTE at slot; the caller has begun an event."""
        ev = self.ev
        pte = self.slots.pte[slot]
        pfn = self.slots.pfn[slot]
        ev.kind = Kind.ZAP
        ev.cost += self.costs.zap_pte_ns
        if pte & H:
            first, block = self._block(v, slot)
            ev.call("zap_huge_pmd")
            head = p.huge_pmds.pop(block, None)
            deposit = p.upper_tables.pop((1, block), None)
            if deposit is not None:
                self.free_frame(deposit)
            for i in range(C.HPAGE_PAGES):
                self.set_slot(first + i, 0, -1)
            if head is None or head == HZERO_PFN:
                ev.decide("huge zero PMD cleared: nothing to count")
                return
            self.rss(-C.HPAGE_PAGES)
            self.thp_unmap(head, C.HPAGE_PAGES)
            if self.frames.kind[head] == C.FK_FREE:
                ev.decide("last mapping of the THP: 512 frames freed")
            return
        ev.call("zap_pte_range")
        self.pte_lock(p, slot)
        vmf = self.slots.vmf[slot]
        self.set_slot(slot, 0, -1)
        if pfn == ZERO_PFN:
            if self.k.zero_test is ZeroTest.PAGE:
                ev.call("page_remove_rmap", "tlb_remove_page")
                ev.decide("ZERO_PAGE is a normal page here: _mapcount and _count decremented")
                self.add_map(ZERO_PFN, -1)
                self.get_page(ZERO_PFN, -1)
                self.rss(-1)
            elif self.k.zero_test is ZeroTest.SPECIAL_AND_VMA and vmf & C.VM_LOCKED:
                self.slots.pte[slot] = pte  # vm_normal_page looks at the PTE before it is cleared
                self.vm_normal_page(p, slot)
                self.slots.pte[slot] = 0
            else:
                ev.decide("zero-page PTE: just cleared, no struct page touched")
            return
        if HZERO_PFN <= pfn < HZERO_PFN + C.HPAGE_PAGES:
            ev.decide("a PTE of a split huge zero page: just cleared")
            return
        ev.call(self.k.fn.remove_rmap)
        self.rss(-1)
        self.unmap_page(pfn)

    def zap_range(self, p: Proc, v: Vma, slots: list[int], cpu: int) -> Iterator[None]:
        for slot in slots:
            if not self.slots.pte[slot] & P:
                continue
            self.begin(cpu, p.index, slot)
            self.zap_slot(p, v, slot)
            self.emit()
            yield

    def split_edges(self, p: Proc, v: Vma, lo: int, hi: int, cpu: int) -> Iterator[None]:
        """A range that cuts a PMD mapping splits it first (vma_adjust_trans_huge)."""
        for s in (lo, hi):
            if self.slots.pte[s] & H:
                first, block = self._block(v, s)
                if first == lo and s == lo:
                    continue
                if s == hi and first + C.HPAGE_PAGES - 1 == hi:
                    continue
                if block in p.huge_pmds:
                    self.begin(cpu, p.index, s)
                    self.ev.kind = Kind.SPLIT
                    self.ev.decide("the range cuts a huge PMD: split it into 512 PTEs")
                    self.split_pmd(p, v, first, block)
                    self.emit()
                    yield

    # ------------------------------------------------------------------ madvise(MADV_DONTNEED)
    def dontneed(self, p: Proc, v: Vma, lo: int, hi: int, cpu: int) -> Iterator[None]:
        run = lo
        while run <= hi:
            vmf = self.slots.vmf[run]
            end = run
            while end + 1 <= hi and self.slots.vmf[end + 1] == vmf:
                end += 1
            if not vmf & C.VM_MAPPED:
                self.step_errno = self.step_errno or "ENOMEM"
            elif vmf & C.VM_LOCKED:
                self.step_errno = self.step_errno or "EINVAL"
                self.begin(cpu, p.index, run)
                self.ev.call("madvise_dontneed")
                self.ev.decide("VM_LOCKED: -EINVAL (MADV_DONTNEED_LOCKED came only in 5.18)")
                self.emit()
                yield
                return
            else:
                yield from self.split_edges(p, v, run, end, cpu)
                yield from self.zap_range(p, v, list(range(run, end + 1)), cpu)
            run = end + 1

    # ------------------------------------------------------------------ munmap
    def munmap(self, p: Proc, v: Vma, lo: int, hi: int, cpu: int) -> Iterator[None]:
        span = list(range(lo, hi + 1))
        if self.k.munmap_munlocks_first and any(self.slots.vmf[s] & C.VM_LOCKED for s in span):
            for s in span:
                self.slots.vmf[s] &= ~(C.VM_LOCKED | C.VM_LOCKONFAULT)
            yield from self.munlock_walk(p, v, span, cpu)
        yield from self.split_edges(p, v, lo, hi, cpu)
        yield from self.zap_range(p, v, span, cpu)
        ev = self.begin(cpu, p.index, lo)
        ev.call("do_munmap", "unmap_region", "free_pgtables")
        ev.kind = Kind.ZAP
        for s in span:
            self.set_vmf(s, 0)
        self._free_empty_tables(p, v)
        self.emit()
        yield

    def _free_empty_tables(self, p: Proc, v: Vma) -> None:
        vm = self.slots.vmf
        empty = []
        for t in list(p.pte_tables):
            first = t * C.PTRS_PER_PTE - v.vpage0 + v.base
            lo, hi = max(first, v.base), min(first + C.PTRS_PER_PTE, v.base + v.npages)
            if lo < hi and not any(vm[s] & C.VM_MAPPED for s in range(lo, hi)):
                empty.append(t)
        self.free_tables(p, empty)

    # ------------------------------------------------------------------ exit
    def exit_mm(self, p: Proc, cpu: int) -> Iterator[None]:
        for v in p.vmas.values():
            span = [s for s in range(v.base, v.base + v.npages) if self.slots.vmf[s] & C.VM_MAPPED]
            if self.k.munmap_munlocks_first and any(self.slots.vmf[s] & C.VM_LOCKED for s in span):
                for s in span:
                    self.slots.vmf[s] &= ~(C.VM_LOCKED | C.VM_LOCKONFAULT)
                yield from self.munlock_walk(p, v, span, cpu)
            yield from self.zap_range(p, v, span, cpu)
        ev = self.begin(cpu, p.index)
        ev.call("do_exit", "exit_mmap", "free_pgtables")
        ev.kind = Kind.ZAP
        ev.decide("the last PTEs are gone: page tables freed, references dropped")
        for pfn in p.gup_refs:
            self.get_page(pfn, -1)
        for pfn in p.pins:
            self.get_page(pfn, -1024)
        p.gup_refs.clear()
        p.pins.clear()
        if p.hzp_ref:
            ev.call("mm_put_huge_zero_folio")
            self.get_page(HZERO_PFN, -1)
            p.hzp_ref = False
        for v in p.vmas.values():
            for s in range(v.base, v.base + v.npages):
                if self.slots.vmf[s]:
                    self.set_vmf(s, 0)
            if v.shmem_key is not None and not self._shmem_users(v.shmem_key, p):
                for pfn in self.shmem.pop(v.shmem_key, {}).values():
                    self.get_page(pfn, -1)
        self.free_all_tables(p)
        self.cache.forget(L.mmap_lock_line(p.index))
        p.alive = False
        p.exit_event = self.rec.n_events
        self.emit()
        yield

    def _shmem_users(self, key: int, leaving: Proc) -> bool:
        return any(q.alive and q is not leaving and any(v.shmem_key == key for v in q.vmas.values())
                   for q in self.procs)

    # ------------------------------------------------------------------ mprotect
    def mprotect(self, p: Proc, v: Vma, lo: int, hi: int, prot: str, cpu: int) -> Iterator[None]:
        yield from self.split_edges(p, v, lo, hi, cpu)
        bits = {"none": 0, "r": C.VM_READ, "rw": C.VM_READ | C.VM_WRITE}[prot]
        ev = self.begin(cpu, p.index, lo)
        ev.call("mprotect_fixup")
        ev.kind = Kind.PROTECT
        ev.decide(f"vm_flags of pages {lo - v.base}-{hi - v.base} set to {prot!r}")
        populate = []
        for s in range(lo, hi + 1):
            vmf = self.slots.vmf[s]
            if vmf & C.VM_MAPPED:
                self.set_vmf(s, (vmf & ~(C.VM_READ | C.VM_WRITE)) | bits)
                if vmf & (C.VM_WRITE | C.VM_SHARED | C.VM_LOCKED) == C.VM_LOCKED and bits & C.VM_WRITE:
                    populate.append(s)
        self.emit()
        yield
        if populate and self.k.mprotect_populates_locked:
            # mprotect_fixup: a locked private vma that becomes writable is populated at once,
            # so the zero pages it kept while read-only are COW-broken into locked pages now
            yield from self.populate_walk(p, v, populate, cpu, mlock=False)
        fr = self.frames
        for s in range(lo, hi + 1):
            pte = self.slots.pte[s]
            if not pte & P:
                continue
            pfn = self.slots.pfn[s]
            new = pte
            if not bits & C.VM_WRITE:
                new &= ~W
            elif (self.k.mprotect_upgrades_exclusive and pfn >= 0 and fr.kind[pfn] == C.FK_ANON
                  and fr.mapcount[pfn] == 1 and not pte & S):
                new |= W
            if new == pte:
                continue
            ev = self.begin(cpu, p.index, s)
            ev.call("change_protection", "change_pte_range")
            ev.kind = Kind.PROTECT
            ev.cost += self.costs.zap_pte_ns
            if new & W:
                ev.decide("can_change_pte_writable: an exclusive anon page becomes writable at once")
            else:
                ev.decide("write permission removed: PTE write-protected")
            self.pte_lock(p, s)
            self.set_slot(s, new)
            self.emit()
            yield
