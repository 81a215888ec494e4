"""The populate walk (mlock, MAP_LOCKED, MAP_POPULATE) over fresh private anonymous pages, lean.

`Walks.populate_walk` takes each page through an `Ev`: the walk's calls, follow_page, a write
fault (`handle_mm_fault` -> `do_anonymous_page` -> `map_new_anon`), follow_page again, the mlock
of the page, and `Core.emit`. For a fresh page of a private writable anonymous vma that is the
same work every time but for the page, the frame and the per-cpu refill. This walk plays such
pages without an `Ev`, one event per page and a `yield` after each exactly as the general walk
does (so other CPUs' work interleaves the same), through the same cache model, allocator and
recorder.

It spells out no rule of its own. The first such page of a walk (per vma flags) is played by the
general walk, and what it did is learned from its event: the kernel path and decisions (the
recorder's path id), the kind, the cost and the cold misses, and the cache lines it wrote. A
later page is played here only if those lines are, by role, the ones this loop writes (the
fault lock, the new frame's struct page, the PTE-table lock, the PTE line, the mm counter where
the variant has one, and the struct page again for the walk's get/put of the page): a rule that
writes another line (or a policy outside `ALLOWED`) leaves every page to the general walk. The
allow-list, checked before anything is touched, page by page: the vma flags say mapped, private,
anonymous, writable and populated with FOLL_WRITE; the PTE is empty; its PTE table exists and is
no huge PMD; the vma has its anon_vma; and under mlock, either the variant has no PG_mlocked or
the fault mlocks the new page already (VM_LOCKED set), so the walk's mlock_page sets no flag.
Anything else (the table's first page, a present page, a hole, an error) is the general walk's.

Where it runs alone on its CPU (no other CPU's work waiting), runs of such pages are written at
once instead (populate_runs.py, switch `populate_runs`), from what this walk learned. For them
it also learns the first page of a PTE table the general walk makes (`table_first`: a plain page
but for its missing table, under existing upper tables, where no THP can be made): the same
event but for the table's frame, allocated first, and its struct page, written before the
page's. The runs then go on past a table's end, playing such pages themselves; this walk never
does (they stay the general walk's here).

tests/engine/test_fastpaths_direct.py compares it record for record with the general path
(switch `populate_enabled`), and tests/engine/test_one_rule.py changes the rules under it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from zpviz.engine import cache as L
from zpviz.engine import constants as C
from zpviz.engine import rules as R
from zpviz.engine.columns import KEY_MASK, KEY_SHIFT, KEY_STRIDE
from zpviz.engine.core import Proc, Vma, upper_table_keys
from zpviz.engine.events import Kind
from zpviz.engine.kernels.base import FaultLock, MlockPopulate, PopulateWrite, RssCounter
from zpviz.engine.populate_runs import Runs
from zpviz.engine.record import RecordBatch

# the policy values this walk has been checked under, field by field: another value (a mechanism
# added later) leaves the walk to the general path
ALLOWED = {
    "mlock_populate": set(MlockPopulate), "populate_write": set(PopulateWrite),
    "rss_counter": set(RssCounter), "fault_lock": set(FaultLock),
}
_NOT_PLAIN = C.VM_FILE | C.VM_SHARED | C.VM_MAYSHARE


class _Learned:
    """A fresh page's populate as the general walk played it (see the module's docstring)."""

    __slots__ = ("path", "kind", "fault", "cost", "misses")

    def __init__(self, path: int, kind: int, fault: int, cost: int, misses: int):
        self.path, self.kind, self.fault, self.cost, self.misses = path, kind, fault, cost, misses


def usable(m) -> bool:
    """The run's policy is one this walk covers, and CacheModel.access_writes, which it and its
    runs ask for a page's timing, answers as the general walk's CacheModel.access does."""
    return all(getattr(m.k, f) in values for f, values in ALLOWED.items()) and L.writes_agree(m.costs, m.cache.socket)


def lean_walk(m, p: Proc, v: Vma, slots: list[int], cpu: int, mlock: bool,
              general: Callable[[Proc, Vma, list[int], int, bool], Iterator[None]]) -> Iterator[None]:
    """populate_walk over slots: fresh pages here, every other page through `general` (the
    general walk, one page at a time), in order. Stops where the general walk stops (an error)."""
    k, rec, fr, cm = m.k, m.rec, m.frames, m.cache
    spte, spfn, svmf, svpage = m.slots.pte, m.slots.pfn, m.slots.vmf, m.slot_vpage
    pidx = p.index
    tables, huge = p.pte_tables, p.huge_pmds
    lock_line = L.mmap_lock_line(pidx) if m._mmap_sem else L.vma_lock_line(pidx, v.index)
    mm_line = L.mm_counter_line(pidx) if m._rss_atomic else None
    pte_base, pte_move = L.pte_line_at(pidx, 0), L.pte_line_move
    ptl_base, ptl_move = L.ptl_line_at(pidx, 0), L.ptl_line_move
    page_line = L.struct_page_line
    gets = mlock and k.mlock_gets_page  # the walk's FOLL_GET and put_page: the struct page twice more
    locked_flags = C.PG_MLOCKED | C.PG_UNEVICTABLE
    mm = ("mm",) if mm_line is not None else ()
    roles = ("lock", "page", "ptl", "pte") + mm + (("page", "page") if gets else ())
    new_pte, anon_flags, fk_anon = R.new_anon_pte(True), R.NEW_ANON_FLAGS, C.FK_ANON
    clock, pcp, counters = m.clock, m.pcp, m.counters
    alloc, refc, mapc, fflags = fr.alloc, fr.refcount, fr.mapcount, fr.flags
    access, zone_line = cm.access_writes, L.ZONE_LOCK
    miss_key = cpu * KEY_STRIDE + C.C_MISSES
    learned: dict[int, _Learned | None] = {}  # vma flags -> the general walk's page (None: not ours)
    learned_first: dict[int, _Learned | None] = {}  # the same for a table_first page (for the runs)

    def plain_flags(vmf: int) -> bool:
        """The vma-flag part of the allow-list (see plain)."""
        if vmf & _NOT_PLAIN or not vmf & C.VM_MAPPED or not vmf & C.VM_WRITE or not m.populate_write(vmf):
            return False
        # under mlock, the walk's mlock_page must find PG_mlocked set by the fault (or not exist)
        return not (mlock and k.pg_mlocked and not (vmf & C.VM_LOCKED and k.fault_mlocks_new_pages))

    flags_ok: dict[int, bool] = {}

    def plain(s: int, vmf: int) -> bool:
        """Whether page s is one this walk may play (the allow-list; it touches nothing)."""
        ok = flags_ok.get(vmf)
        if ok is None:
            ok = flags_ok[vmf] = plain_flags(vmf)
        if not ok or spte[s] or not v.anon_vma:
            return False
        t = svpage[s] >> 9
        return t in tables and t not in huge

    def table_first(s: int, vmf: int) -> bool:
        """Whether page s is the first of a PTE table that the runs may make (populate_runs.py):
        a plain page but for its table, which is missing (and not huge) under existing upper
        tables, where no THP can be made instead (touches nothing)."""
        ok = flags_ok.get(vmf)
        if ok is None:
            ok = flags_ok[vmf] = plain_flags(vmf)
        if not ok or spte[s] or not v.anon_vma or (k.has_thp and vmf & C.VM_HUGEPAGE):
            return False
        vp = svpage[s]
        t = vp >> 9
        return t not in tables and t not in huge and all(key in p.upper_tables for key in upper_table_keys(vp))

    def learn(s: int, vmf: int, pt: int | None = None) -> _Learned | None:
        """What the general walk just did for page s, if it is what this loop spells out; with pt
        (the page-table frame of a table_first page, made by the same event) what the runs spell
        out for such a page: the same but for the table's frame, allocated first, its struct page
        written before the new page's (role "ptpage")."""
        ev = m.ev
        pfn = spfn[s]
        frames = [pfn] if pt is None else [pt, pfn]
        if ev.slot != s or ev.log or ev.flags or ev.dirty_slots != [s]:
            return None
        if list(dict.fromkeys(ev.dirty_frames)) != frames:
            return None
        if not all(written for _, written in ev.lines):
            return None
        vp = svpage[s]
        names = {lock_line: "lock", page_line(pfn): "page", ptl_base + ptl_move(vp >> 9): "ptl",
                 pte_base + pte_move(vp >> 3): "pte"}
        if mm_line is not None:
            names[mm_line] = "mm"
        want_roles = roles
        if pt is not None:
            names[page_line(pt)] = "ptpage"
            at = roles.index("page")
            want_roles = roles[:at] + ("ptpage",) + roles[at:]
            if (fr.refcount[pt], fr.mapcount[pt], fr.flags[pt], fr.kind[pt]) != (1, 0, 0, C.FK_PT):
                return None
        if tuple(names.get(line, "other") for line, _ in ev.lines) != want_roles:
            return None
        want = anon_flags | (locked_flags if vmf & C.VM_LOCKED and k.fault_mlocks_new_pages else 0)
        if (spte[s], fr.refcount[pfn], fr.mapcount[pfn], fr.flags[pfn], fr.kind[pfn]) != (new_pte, 1, 1, want, fk_anon):
            return None
        return _Learned(rec.path_id(tuple(ev.functions), "; ".join(ev.decisions)), ev.kind, ev.fault, ev.cost,
                        ev.misses)

    # records: per event into flat lists (each in its columns.py layout), moved into the recorder's
    # arrays a few hundred events at a time where nothing else can record in between: this walk is
    # the only work left in Core.run_units and no progress callback looks (else after each event)
    batch = RecordBatch(rec)
    evi_b, evt_b, sd_b, fd_b, fdn_b, cd_b, cdn_b, sc_b = batch.lists()
    flush = batch.flush

    def new_flags(vmf: int) -> int:
        """The flags the fault and the walk give the new page, on top of the allocator's."""
        return anon_flags | (locked_flags if vmf & C.VM_LOCKED and k.fault_mlocks_new_pages else 0)

    # runs of pages written at once where nothing can come between their events (populate_runs.py)
    runs = Runs(m, p, v, cpu, roles, lock_line, mm_line) if m.populate_runs else None

    keep = rec.keep_deltas
    step = m.step_index
    i, n_slots = 0, len(slots)
    try:
        while i < n_slots:
            s = slots[i]
            i += 1
            vmf = svmf[s]
            how = learned.get(vmf) if plain(s, vmf) else None
            if how is not None and runs is not None and runs.ready():
                flush()  # (the buffered records first: the run appends to the recorder directly)
                done = runs.play(slots, i - 1, how, vmf, new_flags(vmf), new_pte, learned_first.get(vmf))
                if done:
                    i += done - 1
                    if m.progress is not None:
                        yield  # (as after each of its events: run_units reports progress, may cancel)
                    continue
            if how is None:
                # the general walk; a plain page not yet learned (and not refilling: that adds the
                # zone lock) is learned from
                flush()
                study = vmf not in learned and plain(s, vmf) and pcp[cpu] > 0
                # (and a table's first page, for the runs: two allocations, neither refilling)
                study_first = (runs is not None and not study and vmf not in learned_first and pcp[cpu] > 1
                               and table_first(s, vmf))
                uppers = len(p.upper_tables)
                played = None
                for _ in general(p, v, [s], cpu, mlock):
                    # its one event is emitted: read it now, before the yield lets other CPUs
                    # build theirs in m.ev
                    played = m.ev
                    if study:
                        learned[vmf] = learn(s, vmf)
                    elif study_first:
                        made = tables.get(svpage[s] >> 9)
                        ok = made is not None and len(p.upper_tables) == uppers
                        learned_first[vmf] = learn(s, vmf, made) if ok else None
                    yield
                if played is None:
                    continue  # (a hole: no event)
                if played.kind == Kind.GUP_ERROR:
                    return  # the walk stops there, as the general one does
                continue
            # ---- the page: handle_mm_fault's write fault on an empty PTE, then the walk's mlock
            t0 = clock[cpu]
            lines = [lock_line]
            if pcp[cpu] == 0:  # Core.alloc_frame: the per-cpu list is refilled under the zone lock
                lines.append(zone_line)
                pcp[cpu] = R.PCP_BATCH
            pcp[cpu] -= 1
            pfn = alloc(fk_anon)
            mapc[pfn] = 1
            flags = fflags[pfn] | new_flags(vmf)
            fflags[pfn] = flags
            vp = svpage[s]
            pl = page_line(pfn)
            lines += (pl, ptl_base + ptl_move(vp >> 9), pte_base + pte_move(vp >> 3))
            m.rss_pages += 1
            if mm_line is not None:
                lines.append(mm_line)
            spte[s] = new_pte
            spfn[s] = pfn
            if gets:  # get_page then put_page: the refcount ends where it was
                lines += (pl, pl)
            # ---- Core.emit, for this event's shape
            out: list[int] = []
            t = access(cpu, t0, lines, out) + how.cost
            if how.misses:
                out += (miss_key, how.misses)
            clock[cpu] = t
            if t > m.now:
                m.now = t
            evi_b += (step, cpu, how.kind, how.path, pidx, s, pfn, how.fault, 0)  # columns.Col order
            evt_b += (t0, t)
            rec.n_events += 1
            m.populated_pages += 1
            if keep:
                sd_b += (s, new_pte, pfn, vmf)  # columns.Sd order
                fd_b += (pfn, refc[pfn], 1, flags, fk_anon)  # columns.Fd order
                fdn_b.append(1)
                cd_b += out
                cdn_b.append(len(out) >> 1)
                sc_b += m.scalar_values()[1:]  # columns.Stored
            else:
                for j in range(0, len(out), 2):
                    counters[out[j] >> KEY_SHIFT][out[j] & KEY_MASK] += out[j + 1]
            if m.units_waiting or m.progress is not None:
                flush()
                yield
            elif len(evt_b) > 1024:
                flush()
            # (alone, with no progress callback, a yield would only bring Core.run_units back here)
    finally:
        flush()
