"""fork(): dup_mmap and copy_page_range, with copy_one_pte's per-variant zero-page handling."""

from __future__ import annotations

from collections.abc import Iterator

from zpviz.engine import cache as L
from zpviz.engine import constants as C
from zpviz.engine.core import Proc
from zpviz.engine.events import Kind
from zpviz.engine.kernels.base import ZeroTest
from zpviz.engine.memory import HZERO_PFN, ZERO_PFN
from zpviz.engine.teardown import Teardown

P, W, S, H = C.PTE_P, C.PTE_W, C.PTE_S, C.PTE_HUGE


class Forking(Teardown):
    def fork(self, parent: Proc, child_name: str, cpu: int) -> Iterator[None]:
        child = self.new_proc(child_name)
        child.created_event = self.rec.n_events
        ev = self.begin(cpu, parent.index)
        ev.call("copy_process", "dup_mmap")
        ev.kind = Kind.FORK_VMAS  # the PTEs come after, one FORK_COPY each, and only where copied
        ev.decide(f"{child_name} gets a copy of every vma; VM_LOCKED is not inherited")
        pairs = []
        for v in parent.vmas.values():
            c = self.add_vma(child, v.name, v.npages, 0, v.vpage0, v.backing, v.file_key, v.shmem_key)
            c.shared = v.shared
            c.anon_vma = v.anon_vma
            for i in range(v.npages):
                vmf = self.slots.vmf[v.base + i]
                self.set_vmf(c.base + i, vmf & ~(C.VM_LOCKED | C.VM_LOCKONFAULT))
            pairs.append((v, c))
        self.emit()
        yield
        for v, c in pairs:
            if not v.anon_vma:
                # copy_page_range: a vma without an anon_vma (shared, untouched, or holding only
                # zero pages) is not copied; the child faults its pages in again
                continue
            for i in range(v.npages):
                s = v.base + i
                pte = self.slots.pte[s]
                if not pte & P:
                    continue
                if pte & H and (v.vpage0 + i) % C.HPAGE_PAGES:
                    continue  # the PMD was copied at its first page
                ev = self.begin(cpu, parent.index, s)
                ev.kind = Kind.FORK_COPY
                ev.cost += self.costs.copy_pte_ns
                if pte & H:
                    self._copy_huge_pmd(parent, child, v, c, i)
                else:
                    self._copy_one_pte(parent, child, s, c.base + i, v.vpage0 + i)
                self.emit()
                yield

    def _copy_one_pte(self, parent: Proc, child: Proc, s: int, cs: int, vpage: int) -> None:
        ev = self.ev
        ev.call("copy_page_range", self.k.fn.fork_copy)
        self.ensure_table(child, vpage)
        pte = self.slots.pte[s]
        pfn = self.slots.pfn[s]
        vmf = self.slots.vmf[s]
        ev.write(L.ptl_line(parent.index, vpage))
        ev.write(L.ptl_line(child.index, vpage))
        if pfn == ZERO_PFN:
            if self.k.zero_test is ZeroTest.PAGE:
                ev.decide("ZERO_PAGE is a normal page: get_page + page_dup_rmap write its struct page")
                self.get_page(ZERO_PFN)
                self.add_map(ZERO_PFN)
                self.rss(1)
            else:
                # copy_one_pte asks vm_normal_page() of the parent's vma; under v5 a zero PTE in a vma
                # that is now VM_LOCKED (a failed mlock) is "bad" there too: print_bad_pte
                self.vm_normal_page(parent, s)
                ev.decide("vm_normal_page() is NULL for the zero page: the PTE is copied, nothing counted")
            self.set_slot(cs, pte, pfn)
            return
        new = pte
        if not vmf & C.VM_SHARED and pte & W:
            ev.decide("private writable page: write-protect it in both (COW)")
            new = pte & ~W
            self.set_slot(s, new)
        else:
            ev.decide("page shared with the child: mapcount and refcount up")
        self.map_page_again(pfn)
        self.rss(1)
        self.set_slot(cs, new, pfn)

    def _copy_huge_pmd(self, parent: Proc, child: Proc, v, c, i: int) -> None:
        ev = self.ev
        ev.call("copy_page_range", "copy_huge_pmd")
        first = v.base + i
        block = (v.vpage0 + i) // C.HPAGE_PAGES
        head = parent.huge_pmds[block]
        child.upper_tables[(1, block)] = self._alloc_pt()
        for level, idx in ((3, (v.vpage0 + i) >> 27), (2, (v.vpage0 + i) >> 18)):
            if (level, idx) not in child.upper_tables:
                child.upper_tables[(level, idx)] = self._alloc_pt()
        child.huge_pmds[block] = head
        if head == HZERO_PFN:
            ev.decide("huge zero PMD: the child takes its own mm reference")
            if not child.hzp_ref:
                child.hzp_ref = True
                self.get_page(HZERO_PFN)
            for j in range(C.HPAGE_PAGES):
                self.set_slot(c.base + i + j, self.slots.pte[first + j], self.slots.pfn[first + j])
            return
        ev.decide("THP shared with the child, write-protected in both")
        fr = self.frames
        fr.mapcount[head] += C.HPAGE_PAGES
        fr.flags[head] &= ~C.PG_ANON_EXCLUSIVE
        self.touch_frame(head)
        self.rss(C.HPAGE_PAGES)
        for j in range(C.HPAGE_PAGES):
            pte = self.slots.pte[first + j] & ~W
            self.set_slot(first + j, pte)
            self.set_slot(c.base + i + j, pte, self.slots.pfn[first + j])
