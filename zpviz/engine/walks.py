"""Page walks: user loads and stores, get_user_pages and pinning, mlock and munlock, populate,
move_pages and the core-dump walk. One event per page visited.
"""

from __future__ import annotations

from collections.abc import Iterator

from zpviz.engine import constants as C
from zpviz.engine.core import Proc, Vma
from zpviz.engine.events import EF_SIGSEGV, Kind
from zpviz.engine.faults import Faults, use_zero_page_why
from zpviz.engine.kernels.base import (
    Dump,
    FollAnon,
    MlockPopulate,
    MovePagesZero,
    MunlockWalk,
    PopulateWrite,
    ZeroTest,
)
from zpviz.engine.memory import HZERO_PFN, ZERO_PFN

P, W, S, H = C.PTE_P, C.PTE_W, C.PTE_S, C.PTE_HUGE
EFAULT = "EFAULT"


def _use_zero_page_old(vmf: int) -> bool:
    """use_zero_page() as 2.6.26-2.6.31 had it for FOLL_ANON (no VM_MAYSHARE test)."""
    return not vmf & (C.VM_LOCKED | C.VM_SHARED | C.VM_FILE)


class Walks(Faults):
    # ------------------------------------------------------------------ user access
    def user_access(self, p: Proc, v: Vma, slot: int, write: bool, cpu: int) -> bool:
        """A one-byte load or store. Returns True when the kernel did something (an event)."""
        vmf = self.slots.vmf[slot]
        pte = self.slots.pte[slot]
        allowed = vmf & C.VM_MAPPED and vmf & (C.VM_WRITE if write else C.VM_READ)
        if allowed and pte & P and (not write or pte & W):
            return False  # the TLB/page tables already allow it: no fault
        ev = self.begin(cpu, p.index, slot)
        if not allowed:
            ev.call(self.fault_fn)
            reason = "no vma covers the address" if not vmf & C.VM_MAPPED else (
                "vma is not writable" if write else "vma is not readable")
            ev.decide(f"{reason}: bad_area -> SIGSEGV")
            ev.kind = Kind.SEGV
            ev.flags |= EF_SIGSEGV
            ev.cost += self.costs.fault_entry_ns
            self.step_signal.append((p.name, v.name, slot - v.base))
            self.emit()
            return True
        ev.call(self.fault_fn)
        self.handle_mm_fault(p, v, slot, write)
        self.emit()
        return True

    # ------------------------------------------------------------------ follow_page
    def follow_page(self, p: Proc, v: Vma, slot: int, write: bool, dump: bool = False,
                    nozero: bool = False, anon: bool = False) -> int | str | None:
        """A pfn, None (fault it in first), or EFAULT (the bad_page exit)."""
        ev = self.ev
        ev.call(*self.k.fn.follow_page)
        pte = self.slots.pte[slot]
        vmf = self.slots.vmf[slot]
        vp = v.vpage0 + slot - v.base
        if not pte & P:
            if dump and self.k.dump is Dump.FOLL_DUMP and not vmf & C.VM_FILE:
                ev.decide("FOLL_DUMP on a hole: -EFAULT, the dump seeks")
                return EFAULT
            if anon and not write:
                fa = self.k.foll_anon
                if fa is FollAnon.PTE_NONE or (fa is FollAnon.PMD_NONE and vp // C.PTRS_PER_PTE not in p.pte_tables):
                    ev.decide("FOLL_ANON: hand back ZERO_PAGE without faulting or mapping it")
                    return ZERO_PFN
            return None
        if write and not pte & W:
            return None
        pfn = self.slots.pfn[slot]
        if pfn == ZERO_PFN:
            test = self.k.zero_test
            if test is ZeroTest.SPECIAL_AND_VMA:
                if pte & S and use_zero_page_why(vmf) is None:
                    if nozero:
                        ev.decide("special PTE, use_zero_page(vma) true, FOLL_NOZERO: NULL -> bad_page: -EFAULT")
                        return EFAULT
                    return ZERO_PFN
                self.vm_normal_page(p, slot)
                ev.decide("vm_normal_page() returned NULL -> bad_page: -EFAULT")
                return EFAULT
            if test == "pfn" and dump:
                ev.decide("is_zero_pfn() under FOLL_DUMP: -EFAULT, the dump seeks")
                return EFAULT
            return ZERO_PFN
        if dump and self.k.dump is Dump.FOLL_DUMP and HZERO_PFN <= pfn < HZERO_PFN + C.HPAGE_PAGES:
            ev.decide("huge zero page under FOLL_DUMP: -EFAULT, the dump seeks")
            return EFAULT
        return pfn

    def gup_resolve(self, p: Proc, v: Vma, slot: int, write: bool, *, force: bool = False,
                    anon: bool = True, dump: bool = False, nozero: bool = False,
                    unshare: bool = False) -> int | str:
        """__get_user_pages for one page: follow_page, faulting and retrying until it gives a page."""
        ev = self.ev
        ev.in_gup = True
        for _ in range(3):
            if unshare:
                pfn0 = self.slots.pfn[slot]
                if self.slots.pte[slot] & P and (pfn0 == ZERO_PFN) and not self.slots.vmf[slot] & C.VM_SHARED:
                    ev.decide("R/O FOLL_LONGTERM pin of the zero page in a COW mapping: FAULT_FLAG_UNSHARE")
                    self.handle_mm_fault(p, v, slot, write=False, unshare=True)
                    continue
            res = self.follow_page(p, v, slot, write, dump=dump, nozero=nozero, anon=anon)
            if res is not None:
                return res
            self.handle_mm_fault(p, v, slot, write)
        return EFAULT  # pragma: no cover - a fault always makes follow_page succeed

    def check_vma_flags(self, vmf: int, write: bool, force: bool) -> str | None:
        if not vmf & C.VM_MAPPED:
            return "no vma"
        if write:
            if vmf & C.VM_WRITE:
                return None
            if force and not vmf & C.VM_SHARED:
                return None  # FOLL_FORCE writes through a read-only private mapping: COW
            return "vma not writable"
        if vmf & C.VM_READ or force:
            return None
        return "vma not readable"

    # ------------------------------------------------------------------ the gup op
    def gup_walk(self, p: Proc, v: Vma, slots: list[int], cpu: int, write: bool, force: bool,
                 pin: bool, longterm: bool) -> Iterator[None]:
        k = self.k
        if pin and not k.has_pin:
            self.note_once(f"pin_user_pages (FOLL_PIN) came in 5.6 (eddb1c228f79); "
                           f"under {k.id} the pin is a get_user_pages")
        real_pin = pin and k.has_pin
        for n, slot in enumerate(slots):
            ev = self.begin(cpu, p.index, slot)
            ev.call("pin_user_pages", "__get_user_pages") if real_pin else ev.call(*k.fn.gup)
            ev.cost += self.costs.gup_page_ns
            bad = self.check_vma_flags(self.slots.vmf[slot], write, force)
            if bad:
                ev.decide(f"check_vma_flags: {bad}: -EFAULT")
                ev.kind = Kind.GUP_ERROR
                self.step_errno = self.step_errno or "EFAULT"
                self.emit()
                yield
                return
            anon = not write and _use_zero_page_old(self.slots.vmf[slot]) and k.foll_anon is not FollAnon.GONE
            unshare = longterm and not write and k.longterm_unshares_zero
            res = self.gup_resolve(p, v, slot, write, force=force, anon=anon, unshare=unshare)
            if res == EFAULT:
                ev.kind = Kind.GUP_ERROR
                self.step_errno = self.step_errno or ("EFAULT" if n == 0 else None)
                self.emit()
                yield
                return
            assert isinstance(res, int)
            if real_pin and k.pin_skips_zero_refcount and (res == ZERO_PFN or self.frames.is_huge_zero(res)):
                ev.decide("FOLL_PIN on the zero page: no refcount taken (6.5+)")
            else:
                ev.call(k.fn.gup_get)
                ev.decide(("FOLL_PIN" if real_pin else "FOLL_GET") + ": the page's refcount goes up")
                self.get_page(res, 1024 if real_pin and res != ZERO_PFN else 1)
                (p.pins if real_pin else p.gup_refs).append(res)
            if ev.kind == Kind.IDLE:
                ev.kind = Kind.GUP
            self.emit()
            yield

    # ------------------------------------------------------------------ populate and mlock
    def populate_write(self, vmf: int) -> bool:
        if self.k.populate_write is PopulateWrite.PRIVATE_WRITE:
            return vmf & (C.VM_WRITE | C.VM_SHARED) == C.VM_WRITE
        return bool(vmf & C.VM_WRITE)

    def populate_walk(self, p: Proc, v: Vma, slots: list[int], cpu: int, mlock: bool) -> Iterator[None]:
        """make_pages_present / __mlock_vma_pages_range / populate_vma_page_range over the slots."""
        k = self.k
        for slot in slots:
            vmf = self.slots.vmf[slot]
            if not vmf & C.VM_MAPPED:
                continue
            write = self.populate_write(vmf)
            force = not write
            ev = self.begin(cpu, p.index, slot)
            if k.mlock_populate is MlockPopulate.MM_POPULATE:
                ev.call("__mm_populate", "populate_vma_page_range", "__get_user_pages")
            elif mlock and k.pg_mlocked:
                ev.call("__mlock_vma_pages_range", "__get_user_pages")
            else:
                ev.call("make_pages_present", "get_user_pages")
            ev.cost += self.costs.gup_page_ns
            if write:
                ev.decide("VM_WRITE: populate with FOLL_WRITE (breaks COW)")
            anon = not write and k.foll_anon is not FollAnon.GONE and _use_zero_page_old(vmf)
            res = self.gup_resolve(p, v, slot, write, force=force, anon=anon)
            if res == EFAULT:
                ev.kind = Kind.GUP_ERROR
                self.step_errno = self.step_errno or ("ENOMEM" if mlock else "EFAULT")
                if mlock:
                    ev.decide("the mlock walk stops here; mlock() returns -ENOMEM; VM_LOCKED stays set")
                self.emit()
                yield
                return
            assert isinstance(res, int)
            if mlock:
                self._mlock_page(res, slot, get_put=k.mlock_gets_page)
            if ev.kind == Kind.IDLE:
                ev.kind = Kind.MLOCK if mlock else Kind.GUP
            self.emit()
            yield

    def _mlock_page(self, pfn: int, slot: int, get_put: bool) -> None:
        ev = self.ev
        fr = self.frames
        if get_put:  # FOLL_GET in the walk, put_page after: the struct page line is written twice
            self.get_page(pfn)
            self.get_page(pfn, -1)
        if not self.k.pg_mlocked:
            ev.decide("no PG_mlocked before 2.6.28: VM_LOCKED alone keeps the pages")
            return
        if pfn == ZERO_PFN or self.frames.is_huge_zero(pfn):
            ev.decide("the zero page has no ->mapping and is not on the LRU: not mlocked")
            return
        ev.call(self.k.fn.mlock_page)
        head = pfn
        if fr.flags[pfn] & C.PG_TAIL:
            head = pfn - (pfn % C.HPAGE_PAGES)
        if not fr.flags[head] & C.PG_MLOCKED:
            fr.flags[head] |= C.PG_MLOCKED | C.PG_UNEVICTABLE
            self.touch_frame(head)

    def munlock_walk(self, p: Proc, v: Vma, slots: list[int], cpu: int) -> Iterator[None]:
        k = self.k
        if k.munlock_walk is MunlockWalk.NONE:
            return
        for slot in slots:
            vmf = self.slots.vmf[slot]
            if not vmf & C.VM_MAPPED:
                continue
            if k.munlock_walk is MunlockWalk.FOLLOW_PAGE:
                pte = self.slots.pte[slot]
                pfn = self.slots.pfn[slot]
                if not pte & P or pfn == ZERO_PFN or self.frames.is_huge_zero(pfn):
                    continue
                ev = self.begin(cpu, p.index, slot)
                ev.call(k.fn.munlock_range)
                ev.cost += self.costs.walk_page_ns
                self._munlock_page(pfn)
                ev.kind = Kind.MUNLOCK
                self.emit()
                yield
                continue
            # 2.6.28-2.6.31: VM_LOCKED is already clear; the same GUP walk as mlock, which can fault
            ev = self.begin(cpu, p.index, slot)
            ev.call("munlock_vma_pages_range", "__mlock_vma_pages_range", "__get_user_pages")
            ev.cost += self.costs.gup_page_ns
            write = bool(vmf & C.VM_WRITE)
            if write:
                ev.decide("munlock walks with GUP_FLAGS_WRITE when VM_WRITE: missing pages are faulted in")
            keep_zero = k.mlock_ignore_zero and not write and use_zero_page_why(vmf) is None
            anon = not write and _use_zero_page_old(vmf)
            res = self.gup_resolve(p, v, slot, write, force=True, anon=anon, nozero=keep_zero)
            if res == EFAULT:
                ev.kind = Kind.GUP_ERROR
                ev.decide("the munlock walk stops: later pages keep PG_mlocked")
                self.emit()
                yield
                return
            assert isinstance(res, int)
            self.get_page(res)
            if res == ZERO_PFN:
                ev.decide("ZERO_PAGE has no ->mapping: skipped, put_page")
            else:
                self._munlock_page(res)
            self.get_page(res, -1)
            if ev.kind == Kind.IDLE:
                ev.kind = Kind.MUNLOCK
            self.emit()
            yield

    def _munlock_page(self, pfn: int) -> None:
        fr = self.frames
        head = pfn - (pfn % C.HPAGE_PAGES) if fr.flags[pfn] & C.PG_TAIL else pfn
        if fr.flags[head] & C.PG_MLOCKED:
            fr.flags[head] &= ~(C.PG_MLOCKED | C.PG_UNEVICTABLE)
            self.touch_frame(head)
            self.ev.decide("PG_mlocked cleared, back to the evictable LRU")

    # ------------------------------------------------------------------ move_pages
    def stat_walk(self, p: Proc, v: Vma, slots: list[int], cpu: int) -> Iterator[None]:
        k = self.k
        for slot in slots:
            ev = self.begin(cpu, p.index, slot)
            ev.call("do_pages_stat")
            ev.cost += self.costs.walk_page_ns
            ev.kind = Kind.STAT
            vmf = self.slots.vmf[slot]
            pte = self.slots.pte[slot]
            pfn = self.slots.pfn[slot]
            if not vmf & C.VM_MAPPED:
                status = "-EFAULT"
                ev.decide("no vma: -EFAULT")
            elif not pte & P:
                status = k.move_pages_none.value
                ev.decide(f"nothing mapped: {status}")
            elif pfn == ZERO_PFN or self.frames.is_huge_zero(pfn):
                why = k.move_pages_zero
                status = why.status
                if why is MovePagesZero.FOLL_NOZERO:
                    # follow_page(FOLL_NOZERO): NULL for a zero PTE the vma allows; in a vma that is
                    # now VM_LOCKED, vm_normal_page prints Bad page map first. Either way -EFAULT.
                    self.follow_page(p, v, slot, write=False, nozero=True)
                    ev.decide("FOLL_NOZERO: NULL -> bad_page: -EFAULT (the patch's comment in do_pages_stat_array "
                              "says \"if zero page, page is NULL\")")
                elif why is MovePagesZero.RESERVED:
                    ev.decide("follow_page gives ZERO_PAGE; PageReserved: -ENOENT")
                else:
                    ev.decide("the zero page is not migratable: -EFAULT")
            else:
                status = "node0"
                ev.decide("a normal page on node 0")
            ev.read(self._pte_line(p, slot))
            self.step_status.append(status)
            self.emit()
            yield

    # ------------------------------------------------------------------ /proc/PID/smaps
    def smaps_walk(self, p: Proc, cpu: int) -> Iterator[None]:
        """Reading /proc/PID/smaps: show_smap walks every vma; smaps_pte_range counts each present PTE
        as resident, then asks vm_normal_page() for its page (mapcount, referenced, dirty). Under v5
        that question prints "Bad page map" for each zero PTE in a vma that is now VM_LOCKED."""
        for v in list(p.vmas.values()):
            for slot in range(v.base, v.base + v.npages):
                pte = self.slots.pte[slot]
                if not pte & P or not self.slots.vmf[slot] & C.VM_MAPPED:
                    continue
                if pte & H and self.vpage(slot) % C.HPAGE_PAGES:
                    continue  # smaps_pmd_entry counted the whole PMD at its first page
                ev = self.begin(cpu, p.index, slot)
                ev.call("show_smap", self.k.fn.smaps_walk, "smaps_pmd_entry" if pte & H else "smaps_pte_range")
                ev.cost += self.costs.walk_page_ns
                ev.kind = Kind.STAT
                ev.read(self._pte_line(p, slot))
                if pte & S and not pte & H:
                    self.vm_normal_page(p, slot)
                    ev.decide("resident; vm_normal_page() is NULL for the zero page: nothing more counted")
                else:
                    ev.decide("resident: the page's mapcount, referenced and dirty bits are read")
                self.emit()
                yield

    def _pte_line(self, p: Proc, slot: int) -> int:
        from zpviz.engine.cache import pte_line
        return pte_line(p.index, self.vpage(slot))

    # ------------------------------------------------------------------ core dump
    def dump_walk(self, p: Proc, cpu: int) -> Iterator[None]:
        k = self.k
        for v in list(p.vmas.values()):
            if v.backing == "file" and not v.anon_vma:
                continue  # coredump_filter 0x33: file mappings nobody wrote to are not dumped
            for slot in range(v.base, v.base + v.npages):
                vmf = self.slots.vmf[slot]
                if not vmf & C.VM_MAPPED:
                    continue
                ev = self.begin(cpu, p.index, slot)
                ev.call("elf_core_dump", "get_dump_page" if k.dump is Dump.FOLL_DUMP else "get_user_pages")
                ev.cost += self.costs.gup_page_ns
                anon = k.dump is Dump.FOLL_ANON and _use_zero_page_old(vmf)
                res = self.gup_resolve(p, v, slot, False, force=True, anon=anon, dump=True)
                if res == EFAULT or res == ZERO_PFN or self.frames.is_huge_zero(res):
                    if res == ZERO_PFN:
                        self.get_page(res)
                        self.get_page(res, -1)
                        ev.decide("page == ZERO_PAGE: seek, a hole in the core file")
                    else:
                        ev.decide("no page: seek, a hole in the core file")
                    ev.kind = Kind.DUMP_HOLE
                    self.step_dump[1] += 1
                else:
                    self.get_page(res)
                    self.get_page(res, -1)
                    ev.decide("a real page: 4 KiB written to the core file")
                    ev.cost += self.costs.dump_write_ns
                    ev.kind = Kind.DUMP_WRITE
                    self.step_dump[0] += 1
                self.emit()
                yield
