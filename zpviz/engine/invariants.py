"""Consistency checks over a machine's live state: what property tests and the soak assert.

Every count the kernel keeps must be explainable from the page tables: mapcounts from the PTEs
that point at a frame, refcounts from those plus page-cache, GUP and pin references, the frame
and page-table totals from the frames in use, RSS from the counted PTEs.
"""

from __future__ import annotations

from collections import Counter

from zpviz.engine import constants as C
from zpviz.engine.kernels.base import ZeroTest
from zpviz.engine.memory import FIRST_FREE_PFN, HZERO_PFN, ZERO_PFN


def check(m) -> list[str]:
    errs: list[str] = []
    fr, sl = m.frames, m.slots
    maps: Counter[int] = Counter()
    thp_maps: Counter[int] = Counter()
    refs: Counter[int] = Counter()
    zero_maps = counted = 0
    for p in m.procs:
        if not p.alive:
            if p.pte_tables or p.upper_tables or p.gup_refs or p.pins or p.hzp_ref:
                errs.append(f"{p.name} exited but still holds page tables or references")
            continue
        for pfn in p.gup_refs:
            refs[pfn] += 1
        for pfn in p.pins:
            refs[pfn] += 1024
        for v in p.vmas.values():
            for s in range(v.base, v.base + v.npages):
                pte = sl.pte[s]
                if not pte & C.PTE_P:
                    continue
                if not sl.vmf[s] & C.VM_MAPPED:
                    errs.append(f"{p.name}/{v.name} page {s - v.base}: present PTE outside any vma")
                pfn = sl.pfn[s]
                if pfn == ZERO_PFN or HZERO_PFN <= pfn < HZERO_PFN + C.HPAGE_PAGES:
                    if pte & C.PTE_W:
                        errs.append(f"{p.name}/{v.name} page {s - v.base}: the zero page is mapped writable")
                    if pfn == ZERO_PFN:
                        zero_maps += 1
                        counted += m.k.zero_test is ZeroTest.PAGE
                    continue
                counted += 1
                kind = fr.kind[pfn]
                if kind not in (C.FK_ANON, C.FK_FILE, C.FK_SHMEM):
                    errs.append(f"{p.name}/{v.name} page {s - v.base}: maps pfn {pfn} of kind {kind}")
                if fr.flags[pfn] & (C.PG_HEAD | C.PG_TAIL):
                    thp_maps[pfn - pfn % C.HPAGE_PAGES] += 1
                else:
                    maps[pfn] += 1
    cached = {pfn for cache in list(m.page_cache.values()) + list(m.shmem.values()) for pfn in cache.values()}
    used = pt = 0
    for pfn in range(FIRST_FREE_PFN, len(fr)):
        kind = fr.kind[pfn]
        if kind == C.FK_PT:
            pt += 1
            continue
        if kind == C.FK_FREE:
            continue
        used += 1
        if fr.flags[pfn] & C.PG_TAIL:
            continue
        if fr.flags[pfn] & C.PG_HEAD:
            if fr.mapcount[pfn] != thp_maps[pfn]:
                errs.append(f"THP {pfn}: mapcount {fr.mapcount[pfn]}, {thp_maps[pfn]} pieces mapped")
            want = (thp_maps[pfn] > 0) + sum(refs[pfn + i] for i in range(C.HPAGE_PAGES))
            if fr.refcount[pfn] != want:
                errs.append(f"THP {pfn}: refcount {fr.refcount[pfn]}, expected {want}")
            continue
        want_map = maps[pfn]
        want_ref = want_map + (pfn in cached) + refs[pfn]
        if fr.mapcount[pfn] != want_map:
            errs.append(f"pfn {pfn}: mapcount {fr.mapcount[pfn]}, but {want_map} PTEs map it")
        if fr.refcount[pfn] != want_ref:
            errs.append(f"pfn {pfn}: refcount {fr.refcount[pfn]}, expected {want_ref}")
        if want_ref == 0:
            errs.append(f"pfn {pfn}: leaked (kind {kind}, nothing refers to it)")
    if used != fr.used:
        errs.append(f"frames_used {fr.used}, but {used} frames hold data")
    tables = sum(len(p.pte_tables) + len(p.upper_tables) for p in m.procs if p.alive)
    if pt != fr.pt or pt != tables:
        errs.append(f"pt_frames {fr.pt}: {pt} frames of kind pt, {tables} tables in use")
    if m.k.zero_test is ZeroTest.PAGE:
        if m.zp_map != zero_maps:
            errs.append(f"zero page mapcount delta {m.zp_map}, but {zero_maps} PTEs map it")
        if m.zp_ref != zero_maps + refs[ZERO_PFN]:
            errs.append(f"zero page refcount delta {m.zp_ref}, expected {zero_maps + refs[ZERO_PFN]}")
    else:
        if m.zp_map != 0:
            errs.append(f"zero page mapcount delta {m.zp_map} under {m.k.id}, which never counts mappings")
        if m.zp_ref != refs[ZERO_PFN]:
            errs.append(f"zero page refcount delta {m.zp_ref}, but GUP holds {refs[ZERO_PFN]}")
    hzp_mms = sum(1 for p in m.procs if p.alive and p.hzp_ref)
    if m.hzp_ref != hzp_mms + sum(refs[HZERO_PFN + i] for i in range(C.HPAGE_PAGES)):
        errs.append(f"huge zero page refcount delta {m.hzp_ref}, {hzp_mms} mms hold it")
    if m.rss_pages != counted:
        errs.append(f"RSS counters say {m.rss_pages} pages, the page tables {counted}")
    return errs
