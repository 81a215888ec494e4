"""The sweep (engine/sweep.py) must record exactly what the bulk loop records.

Each lesson is played with the sweep on and off; every recorded column, delta, counter and the
final machine state must match (tests/engine/test_bulk.py's snapshot). The fixed lessons make
sure the sweep really ran, or really refused, where it should.
"""

from __future__ import annotations

import gc
import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.engine.test_bulk import long_lesson, long_lessons, snapshot
from tests.engine.test_properties import SETTINGS, lessons
from tests.engine.util import VARIANTS
from zpviz.engine import constants as C
from zpviz.engine import rules, sweep_period, sweep_records
from zpviz.engine import sweep as sweep_module
from zpviz.engine.core import Cancelled
from zpviz.engine.machine import Machine
from zpviz.engine.sweep import Sweep
from zpviz.scenario import loads


def played(text: str, kernel: str, on: bool, deltas: bool = True, progress=None) -> Machine:
    m = Machine(loads(text, "sweep.toml"), kernel, record_deltas=deltas)
    m.sweep_enabled = on
    m.progress = progress
    list(m.run_steps())
    return m


def assert_same(text: str, kernel: str, deltas: bool = True) -> None:
    fast, slow = snapshot(played(text, kernel, True, deltas)), snapshot(played(text, kernel, False, deltas))
    for key in slow:
        assert fast[key] == slow[key], f"{key} differs under {kernel}\n{text}"


# the variants whose COW of the zero page the sweep takes: it leaves the zero page's struct page
# alone, or (2.6.23, refcounted) puts the zero page, writing its struct page, in every fault
SWEPT = ["modern", "2.6.32", "v5", "2.6.23"]


@pytest.mark.parametrize("kernel", SWEPT)
@pytest.mark.parametrize("cpus,deal,deltas", [(1, "round-robin", True), (3, "block", False), (4, "round-robin", True),
                                              (4, "block", True), (6, "round-robin", False)])
def test_same_records_as_the_bulk_loop(plans, kernel, cpus, deal, deltas):
    """A read, a strided write over part of it, then a write over all (some pages need no fault)."""
    steps = ['do = "read"', 'do = "write"\npages = "1-5999/3"', f'do = "write"\ndeal = "{deal}"']
    text = long_lesson(6000, cpus, steps)
    assert_same(text, kernel, deltas)
    assert plans == [True, True], "the sweep took both write steps"


@pytest.mark.parametrize("kernel", VARIANTS)
@pytest.mark.parametrize("cpus,deltas", [(1, True), (4, True), (5, False)])
def test_writes_to_fresh_memory_allocate_their_page_tables(plans, kernel, cpus, deltas):
    """Every fault a new page; the first in each 2 MiB allocates the PTE table (one CPU's fault,
    found by the timing): those faults leave the loop and are played in full. Then a write over
    a region half read, half empty (COW and new pages in one step), where the costs allow it."""
    text = long_lesson(6000, cpus, ['do = "write"\npages = "0-3999"', 'do = "read"\npages = "4000-4999"',
                                    'do = "write"'])
    assert_same(text, kernel, deltas)
    # v5 copies on COW but clears a new page, and 2.6.23's COW puts the zero page, a new page does not
    assert plans == [True, kernel not in ("v5", "2.6.23")]


def test_a_write_across_a_gigabyte_boundary_allocates_a_pmd_table_too(plans):
    """A fault in a new gigabyte allocates the PMD table above its PTE table, in the same fault."""
    text = long_lesson(300000, 3, ['do = "write"\npages = "0-299999/37"'])
    fast = played(text, "modern", True)
    a, b = snapshot(fast), snapshot(played(text, "modern", False))
    for key in b:
        assert a[key] == b[key], key
    assert plans == [True]
    assert sum(1 for level, _ in fast.procs[0].upper_tables if level == 2) >= 2


def test_the_bench_step_drifting_cpus(plans):
    """The benchmark's shape, smaller: 4 CPUs whose clocks drift apart, lines handed round, waits."""
    text = long_lesson(40000, 4, ['do = "read"', 'do = "write"'])
    fast = played(text, "modern", True)
    assert plans[-1] is True
    slow = played(text, "modern", False)
    a, b = snapshot(fast), snapshot(slow)
    for key in b:
        assert a[key] == b[key], key
    # the step had real contention: faults that waited on a busy line, whose times no sum of
    # hits (1 ns), transfers (40) and DRAM misses (90) explains
    costs = fast.costs
    base = costs.fault_entry_ns + costs.alloc_page_ns + costs.clear_page_ns + costs.rmap_ns + costs.dram_ns
    no_wait = {base + a + b + c + z for a in (1, 40) for b in (1, 40) for c in (1, 40) for z in (0, 1, 40, 90)}
    t = np.frombuffer(fast.rec.evt, np.int64).reshape(-1, 2)[40000:]
    waited = int(np.sum(~np.isin(t[:, 1] - t[:, 0], list(no_wait))))
    assert waited > 200


def test_a_vma_whose_anon_vma_exists_already(plans):
    """One page written first: the sweep's first COW then prepares nothing (no mmap_lock line)."""
    text = long_lesson(3000, 4, ['do = "write"\npages = "0"', 'do = "read"', 'do = "write"'])
    for kernel in SWEPT:
        plans.clear()
        assert_same(text, kernel)
        assert plans[-1] is True


def test_sparse_pages_far_apart(plans):
    """Pages 1,000 apart: the PTE lines are numbered through a sorted table, not a range."""
    text = long_lesson(200000, 2, ['do = "read"\npages = "0-199999/1000"', 'do = "write"\npages = "0-199999/1000"'])
    assert_same(text, "modern")
    assert plans[-1] is True


@pytest.mark.parametrize("kernel", SWEPT)
@pytest.mark.parametrize("cpus,steps", [(4, ['do = "read"', 'do = "write"']), (16, ['do = "write"'])])
def test_cpus_on_two_sockets(plans, kernel, cpus, steps):
    """Lines handed between CPUs of different sockets cost the cross-socket latency, within one
    the same-socket one: the sweep times each transfer by the two CPUs' sockets."""
    text = long_lesson(4000, cpus, steps, sockets=2)
    assert_same(text, kernel)
    assert plans[-1] is True


@pytest.mark.parametrize("case,steps,kernel,sockets", [
    ("2.6.23 writes the zero page's struct page on every COW, and its line is watched",
     ['do = "read"', 'do = "write"'], "2.6.23", 1),
    ("v5: COW copies, a new page is cleared", ['do = "read"\npages = "0-1999"', 'do = "write"'], "v5", 1),
    ("frames back from MADV_DONTNEED, their struct pages still cached",
     ['do = "write"', 'do = "madvise"\nadvice = "dontneed"', 'do = "read"', 'do = "write"'], "modern", 1),
])
def test_steps_it_refuses_go_to_the_bulk_loop(plans, case, steps, kernel, sockets):
    text = long_lesson(4000, 4, steps, sockets=sockets)
    if "watched" in case:  # (the cache model records each transition of a watched line: the loop does not)
        text = text.replace("[[vma]]", 'watch = ["zero_page_line"]\n[[vma]]', 1)
    assert_same(text, kernel)
    assert plans and plans[-1] is False, case


# ------------------------------------------------------------------ read steps
# The read sweep: 2.6.24's reads allocate a page each, as a write to empty PTEs does; the other
# variants' map the zero page, unrefcounted or (2.6.23) taking a reference on it.
READ_SWEPT = ["2.6.24", "modern", "v5", "2.6.32"]


@pytest.mark.parametrize("kernel", READ_SWEPT)
@pytest.mark.parametrize("sockets", [1, 2])
def test_reads_on_16_cpus(sweep_plans, kernel, sockets):
    """16 CPUs reading, on one socket and on two, then writing what they read. The sweep takes
    the read steps where it is the faster path (Sweep.worth: faults that allocate, or the zero
    page on 5 CPUs or more); its faults are counted (swept_events) to show it engaged."""
    text = long_lesson(5000, 16, ['do = "read"\npages = "0-3999"', 'do = "read"', 'do = "write"'], sockets=sockets)
    fast = played(text, kernel, True)
    a, b = snapshot(fast), snapshot(played(text, kernel, False))
    for key in b:
        assert a[key] == b[key], f"{key} differs under {kernel}"
    assert sweep_plans["read"] == [True, True]
    # 2.6.24's write finds every page mapped writable already: no fault, nothing to sweep
    assert sweep_plans["write"] == ([False] if kernel == "2.6.24" else [True])
    assert fast.swept_events == 5000 + (0 if kernel == "2.6.24" else 5000)


@pytest.mark.parametrize("kernel", READ_SWEPT + ["2.6.23"])
@pytest.mark.parametrize("cpus,sockets,deal", [(1, 1, "round-robin"), (4, 2, "block"), (16, 1, "round-robin"),
                                               (16, 2, "block")])
def test_every_read_step_swept_exactly(sweep_every_read, read_plans, kernel, cpus, sockets, deal):
    """The read sweep asked for every read step, where Sweep.worth would leave it to the skips:
    still the bulk loop's records. A read-only part (2.6.24's new pages mapped read-only), a
    strided read, then the rest (some pages present: no fault), then a write."""
    text = long_lesson(6000, cpus, ['do = "mprotect"\nprot = "r"\npages = "1000-2999"',
                                    f'do = "read"\npages = "0-5999/3"\ndeal = "{deal}"',
                                    f'do = "read"\ndeal = "{deal}"', 'do = "write"\npages = "3000-5999"'],
                       sockets=sockets)
    assert_same(text, kernel)
    assert read_plans == [True, True]


@pytest.mark.parametrize("cpus,sockets", [(1, 1), (4, 1), (6, 1), (16, 1), (16, 2)])
def test_refcounted_reads(sweep_every_read, read_plans, plans, cpus, sockets):
    """2.6.23's read fault takes a reference on the zero page (its refcount, mapcount and RSS up
    by one, its struct page's line written twice), and its COW puts it again: both swept, the
    read sweep asked for every read step (Sweep.worth leaves some to the skips), records and
    state those of the bulk loop. A strided read (a page table's first fault played in full
    among others), the rest, then the write."""
    text = long_lesson(4000, cpus, ['do = "read"\npages = "0-3999/3"', 'do = "read"', 'do = "write"'],
                       sockets=sockets)
    assert_same(text, "2.6.23")
    assert read_plans == [True, True] and plans == [True]


def test_refcounted_reads_watched_go_to_the_bulk_loop(read_plans):
    """With the zero page's line watched (the cache model records each of its transitions) the
    sweep refuses 2.6.23's reads, which write that line."""
    text = long_lesson(4000, 4, ['do = "read"', 'do = "write"'])
    text = text.replace("[[vma]]", 'watch = ["zero_page_line"]\n[[vma]]', 1)
    assert_same(text, "2.6.23")
    assert read_plans == [False]


def test_read_progress_and_cancel():
    """The read sweep calls progress as the bulk loop does: every 4,096 events of the step."""
    text = long_lesson(20000, 16, ['do = "read"'], sockets=2)
    for kernel in ("2.6.24", "modern"):
        calls: list[int] = []
        m = played(text, kernel, True, progress=calls.append)
        assert m.swept_events == 20000
        reference: list[int] = []
        played(text, kernel, False, progress=reference.append)
        assert calls == reference
    with pytest.raises(Cancelled, match="12,288"):
        played(text, "2.6.24", True, progress=lambda n: n < 10000)


def test_progress_and_cancel():
    text = long_lesson(20000, 4, ['do = "read"', 'do = "write"'])
    calls: list[int] = []
    played(text, "modern", True, progress=lambda n: calls.append(n))
    reference: list[int] = []
    played(text, "modern", False, progress=lambda n: reference.append(n))
    assert calls == reference  # as the bulk loop calls it: every 4,096 events of the step
    assert [n for n in calls if n > 20000] == [24096, 28192, 32288, 36384]

    def stop(n: int) -> bool:
        return n < 30000

    with pytest.raises(Cancelled, match="32,288"):
        played(text, "modern", True, progress=stop)


@pytest.mark.parametrize("kernel", VARIANTS)
@settings(max_examples=int(os.environ.get("ZPVIZ_BULK_EXAMPLES", "15")), **SETTINGS)
@given(text=lessons())
def test_random_lessons_same_records(kernel, text):
    assert_same(text, kernel)


@st.composite
def sweep_lessons(draw) -> tuple[str, str]:
    """A read over part of a vma, then writes over what it read and beyond: mostly steps the
    sweep takes, on 1 to 6 CPUs, some pages written before (no fault), the deal either way."""
    pages = draw(st.integers(500, 12000))
    cpus = draw(st.integers(1, 6))
    lo = draw(st.integers(0, pages // 4))
    stride = draw(st.sampled_from([1, 1, 2, 5]))
    steps = []
    if draw(st.booleans()):  # the anon_vma is there already, and some pages need no fault
        steps.append(f'do = "write"\npages = "{lo}-{lo + draw(st.integers(0, 50))}"')
    steps.append(f'do = "read"\npages = "{lo}-{pages - 1}/{stride}"')
    for _ in range(draw(st.integers(1, 2))):
        every = stride * draw(st.sampled_from([1, 1, 3]))
        deal = draw(st.sampled_from(["round-robin", "block"]))
        first = draw(st.sampled_from([lo, lo, 0]))  # 0: new pages below the read ones too
        steps.append(f'do = "write"\npages = "{first}-{pages - 1}/{every}"\ndeal = "{deal}"')
    return long_lesson(pages, cpus, steps), draw(st.sampled_from(VARIANTS))


@settings(max_examples=int(os.environ.get("ZPVIZ_BULK_EXAMPLES", "15")), **SETTINGS)
@given(case=sweep_lessons())
def test_random_sweep_lessons_same_records(case):
    assert_same(*case)


@pytest.mark.slow
@settings(max_examples=int(os.environ.get("ZPVIZ_EXAMPLES", "2000")) // 4, **SETTINGS)
@given(case=sweep_lessons())
def test_random_sweep_lessons_same_records_long(case):
    assert_same(*case)


@pytest.mark.slow
@settings(max_examples=int(os.environ.get("ZPVIZ_EXAMPLES", "2000")) // 8, **SETTINGS)
@given(case=long_lessons())
def test_random_long_lessons_same_records_long(case):
    """Big strided reads and writes, one or several sockets: the sweep's refusals among them."""
    assert_same(*case)


@st.composite
def read_sweep_lessons(draw) -> tuple[str, str]:
    """Reads over parts of a vma on 1 to 16 CPUs, one socket or two, some pages present already
    (written or read before), part of it read-only; then a write. For the read sweep forced on
    every read step (sweep_every_read)."""
    pages = draw(st.integers(300, 6000))
    cpus = draw(st.sampled_from([1, 2, 3, 5, 8, 16]))
    sockets = draw(st.sampled_from([1, 2])) if cpus % 2 == 0 else 1
    steps = []
    if draw(st.booleans()):  # the anon_vma is there already, and some pages need no fault
        lo = draw(st.integers(0, pages - 1))
        steps.append(f'do = "write"\npages = "{lo}-{min(pages - 1, lo + draw(st.integers(0, 50)))}"')
    if draw(st.booleans()):  # read-only pages (under 2.6.24 their new pages are mapped read-only)
        lo = draw(st.integers(0, pages - 1))
        steps.append(f'do = "mprotect"\nprot = "r"\npages = "{lo}-{min(pages - 1, lo + draw(st.integers(0, 900)))}"')
    for _ in range(draw(st.integers(1, 3))):
        first = draw(st.integers(0, pages // 2))
        stride = draw(st.sampled_from([1, 1, 2, 3, 7]))
        deal = draw(st.sampled_from(["round-robin", "block"]))
        steps.append(f'do = "read"\npages = "{first}-{pages - 1}/{stride}"\ndeal = "{deal}"')
    steps.append('do = "write"')
    return long_lesson(pages, cpus, steps, sockets=sockets), draw(st.sampled_from(VARIANTS))


def assert_same_every_read_swept(text: str, kernel: str) -> None:
    """assert_same with the sweep asked for every read step (Sweep.worth is speed only)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Sweep, "worth", lambda self: True)
        assert_same(text, kernel)


@settings(max_examples=int(os.environ.get("ZPVIZ_BULK_EXAMPLES", "15")), **SETTINGS)
@given(case=read_sweep_lessons())
def test_random_read_sweep_lessons_same_records(case):
    assert_same_every_read_swept(*case)


@pytest.mark.slow
@settings(max_examples=int(os.environ.get("ZPVIZ_EXAMPLES", "2000")) // 4, **SETTINGS)
@given(case=read_sweep_lessons())
def test_random_read_sweep_lessons_same_records_long(case):
    assert_same_every_read_swept(*case)


@pytest.mark.parametrize("kernel,cpus,sockets", [("2.6.24", 4, 1), ("2.6.24", 16, 2), ("modern", 16, 2)])
def test_the_sweeps_pattern_ids_are_the_seals(monkeypatch, kernel, cpus, sockets):
    """The sweep works each counter list out once per distinct input and hands the recorder the
    pattern ids instead of pairs (Recorder.append_by_pattern): they must cover every swept fault
    (those played in full too), each standing for the pairs the general path records for that
    fault, and the sealed trace must hold those pairs."""
    from zpviz.engine.record import Recorder
    from zpviz.engine.run import simulate

    given = []
    real = Recorder.append_by_pattern

    def note(rec, pids):
        given.append((rec.n_events_appended(), np.asarray(pids).copy()))
        real(rec, pids)

    monkeypatch.setattr(Recorder, "append_by_pattern", note)
    text = long_lesson(5000, cpus, ['do = "read"', 'do = "write"'], sockets=sockets)
    m = played(text, kernel, True)
    swept = [(first, pids) for first, pids in given if len(pids)]
    assert sum(len(p) for _, p in swept) >= m.swept_events > 0, (len(given), m.swept_events)
    # the pairs those ids stand for are the general path's, event by event
    monkeypatch.setattr(Recorder, "append_by_pattern", real)
    slow = played(text, kernel, False)
    for first, pids in swept:
        mine, general = m.rec.cd_pairs(first, first + len(pids)), slow.rec.cd_pairs(first, first + len(pids))
        assert all((x == y).all() for x, y in zip(mine, general)), "a pattern that is not the fault's pairs"
        assert (mine[0] > 0).all()
    # and the sealed trace holds them
    tr = simulate(loads(text, "sweep.toml"), kernel)
    counts, keys, vals = slow.rec.cd_pairs(0, slow.rec.n_events)
    d = tr._d
    pattern = {p: (d.pat_key[d.pat_of == p].tolist(), d.pat_val[d.pat_of == p].tolist()) for p in range(d.n_patterns)}
    ends = np.cumsum(counts)
    for first, pids in swept:
        for e in range(first, first + len(pids), 97):
            n = int(counts[e])
            assert pattern[int(d.cd_pid[e])] == (keys[ends[e] - n:ends[e]].tolist(),
                                                  vals[ends[e] - n:ends[e]].tolist()), e


@pytest.mark.parametrize("deltas", [True, False])
def test_each_faults_pairs_where_a_stall_does_not_fit(monkeypatch, plans, deltas):
    """Where a stall does not fit the packing of a fault's counter inputs (_distinct answers
    None), the records carry each fault's own pairs (counter_pairs), or their sums without
    per-event records: the same records as the general path's. (pairs_agree's own faults are
    left to the packing, so the sweep still plays the step.)"""
    from zpviz.engine import sweep_records

    real, pairs = sweep_records._Records._distinct, sweep_records._Records.counter_pairs
    used = []
    monkeypatch.setattr(sweep_records._Records, "_distinct",
                        lambda self, stall: None if isinstance(self.sw, Sweep) else real(self, stall))
    monkeypatch.setattr(sweep_records._Records, "counter_pairs",
                        lambda self, hit_ns: (used.append(isinstance(self.sw, Sweep)), pairs(self, hit_ns))[1])
    text = long_lesson(6000, 4, ['do = "read"', 'do = "write"'])
    assert_same(text, "modern", deltas)
    assert plans == [True] and any(used), "the sweep wrote the step, each fault's pairs worked out"


@pytest.mark.parametrize("kernel,cpus,sockets,read_swept", [
    ("2.6.24", 2, 1, False), ("2.6.24", 4, 1, True), ("2.6.24", 4, 2, True),
    ("modern", 4, 2, False), ("modern", 4, 1, False), ("modern", 5, 1, True), ("modern", 16, 1, True),
    ("modern", 16, 2, True), ("2.6.23", 16, 1, True), ("2.6.23", 4, 2, False)])
def test_which_read_steps_the_sweep_is_asked_for(sweep_plans, kernel, cpus, sockets, read_swept):
    """Sweep.worth (speed, docs/engine.md): reads that allocate (2.6.24) on 3 CPUs or more; reads
    of the zero page on 5 CPUs or more; refcounted (2.6.23) on 2 or more of one socket. Elsewhere
    the skips take them."""
    text = long_lesson(5000, cpus, ['do = "read"'], sockets=sockets)
    a, b = snapshot(played(text, kernel, True)), snapshot(played(text, kernel, False))
    for key in b:
        assert a[key] == b[key], f"{key} differs under {kernel}"
    assert sweep_plans["read"] == ([True] if read_swept else [])


# ------------------------------------------------------------------ the period skip (sweep_period.py)
def skipped_equals_general(text: str):
    """Play `text` under 2.6.24 with the sweep and its period skip, and with the general path
    alone; every record and the final state must agree. Returns the fast machine (its counts)."""
    fast = played(text, "2.6.24", True)
    general = Machine(loads(text, "sweep.toml"), "2.6.24")
    general.bulk_enabled = False
    list(general.run_steps())
    a, b = snapshot(fast), snapshot(general)
    for key in b:
        assert a[key] == b[key], f"{key} differs between the sweep with its period skip and the general path"
    return fast


@pytest.mark.parametrize("sockets,batch", [(2, 8), pytest.param(1, 8, marks=pytest.mark.slow)])
def test_the_period_skip_writes_what_the_general_path_plays(monkeypatch, sockets, batch):
    """2.6.24's reads on 4 CPUs: the sweep's loop state comes round (with a per-cpu batch of 8
    after 8,192 faults on two sockets, 16,384 on one; with the kernel's 31, after 31,744 and
    63,488, steps too long for the quick suite: the slow test below), and the faults of the
    periods skipped are written at once. Against the general path itself: every record, the
    final state. The skip must have engaged (or this proves nothing)."""
    monkeypatch.setattr(rules, "PCP_BATCH", batch)
    pages = 32768 if sockets == 2 else 40960
    text = long_lesson(pages, 4, ['do = "read"', 'do = "write"\npages = "0-99"'], sockets=sockets)
    fast = skipped_equals_general(text)
    assert fast.swept_events == pages and fast.sweep_skipped >= pages // 3, fast.sweep_skipped


def test_the_period_skip_on_16_cpus_one_socket(monkeypatch):
    """16 CPUs on one socket: the loop's rhythm comes round every 16 PTE tables (8,192 faults),
    in which each CPU allocates 512 pages for its faults and one PTE table, 513 pages; with the
    kernel's batch of 31 (513 = 17 mod 31) the per-cpu lists come round only after 31 rhythms,
    253,952 faults, but with a batch dividing 513 (27 = 513 / 19) after one. So with a batch of
    27 the skip must engage within a quick step, and write what the general path plays: every
    record, the final state (docs/engine.md, "16 CPUs on one socket"), the prefix written too."""
    monkeypatch.setattr(rules, "PCP_BATCH", 27)
    pages = 32768
    text = long_lesson(pages, 16, ['do = "read"', 'do = "write"\npages = "0-99"'])
    fast = skipped_equals_general(text)
    # two whole periods fit after the first (16,384 faults); a prefix of a third writes more
    # (sweep_period.Periods._prefix: 23,040 in all)
    assert fast.swept_events == pages and fast.sweep_skipped > 2 * 8192, fast.sweep_skipped


@pytest.mark.parametrize("kernel,cpus,sockets", [("modern", 16, 1), ("v5", 8, 2)])
def test_zero_page_reads_skip_with_the_counts_out_of_the_key(monkeypatch, kernel, cpus, sockets):
    """Zero-page reads allocate only the PTE tables their faults played in full take, one a note,
    so with the per-cpu counts in the note's key no note repeated within 1 GiB on 16 CPUs over two
    sockets. `Periods.loose` leaves them out and checks instead that no list refilled between the
    notes and none would in the copies. Against the general path itself (every record, the final
    state, a write after the read), the skip engaged; with the counts in the key it does not."""
    text = long_lesson(16384, cpus, ['do = "read"', 'do = "write"\npages = "0-99"'], sockets=sockets)
    fast = played(text, kernel, True)
    general = Machine(loads(text, "sweep.toml"), kernel)
    general.bulk_enabled = False
    list(general.run_steps())
    a, b = snapshot(fast), snapshot(general)
    for key in b:
        assert a[key] == b[key], f"{key} differs between the sweep with its period skip and the general path"
    assert fast.sweep_skipped > 0, fast.sweep_skipped
    monkeypatch.setattr(sweep_period, "LOOSE_PCP", False)
    assert played(text, kernel, True).sweep_skipped == 0


@pytest.mark.slow
@pytest.mark.parametrize("cpus,sockets", [(4, 1), (4, 2), (16, 1), (16, 2)])
def test_the_period_skip_on_the_bench_steps(monkeypatch, cpus, sockets):
    """The matrix's 1 GiB 2.6.24 reads, with the skip and without (the loop plays every fault):
    the same records; the skip engaged."""
    text = long_lesson(262144, cpus, ['do = "read"'], sockets=sockets)
    fast = played(text, "2.6.24", True)
    monkeypatch.setattr(sweep_module, "PERIODS", False)
    slow = played(text, "2.6.24", True)
    a, b = snapshot(fast), snapshot(slow)
    for key in b:
        assert a[key] == b[key], f"{key} differs with the period skip"
    assert slow.sweep_skipped == 0 < fast.sweep_skipped


def test_the_period_skip_calls_progress_as_the_loop(monkeypatch):
    """With a progress callback (as the app runs) the skip still writes whole periods, and
    progress is called at every 4,096 faults it crossed, in order, as the loop would: the same
    calls, the same records, the same place to cancel."""
    monkeypatch.setattr(rules, "PCP_BATCH", 8)
    text = long_lesson(32768, 4, ['do = "read"'], sockets=2)
    got: dict[bool, tuple] = {}
    for on in (True, False):
        monkeypatch.setattr(sweep_module, "PERIODS", on)
        calls: list[int] = []
        m = played(text, "2.6.24", True, progress=calls.append)
        got[on] = (snapshot(m), calls, m.sweep_skipped)
        with pytest.raises(Cancelled, match="20,480"):
            played(text, "2.6.24", True, progress=lambda n: n < 20000)
    (fast, fast_calls, skipped), (slow, slow_calls, _) = got[True], got[False]
    assert fast_calls == slow_calls == list(range(4096, 32769, 4096))
    for key in slow:
        assert fast[key] == slow[key], f"{key} differs with the period skip and a progress callback"
    assert skipped >= 8192


def _dropped(text: str, kernel: str, after: int | None) -> tuple[Machine, dict]:
    """The lesson played with the cache model's lines declared dropped after step `after` (as
    run.py does for the last step without keep_machine): the machine and its snapshot without
    the cache model's per-line dicts."""
    m = Machine(loads(text, "sweep.toml"), kernel)
    m.lines_dropped_after = after
    list(m.run_steps())
    snap = snapshot(m)
    snap["machine"] = snap["machine"][:4] + snap["machine"][7:]  # (owner, sharers, busy left out)
    return m, snap


@pytest.mark.parametrize("kernel,cpus,sockets,steps", [
    ("2.6.24", 4, 1, ['do = "read"\npages = "0-2999"', 'do = "read"']),  # (a read that allocates)
    ("modern", 4, 2, ['do = "read"\npages = "0-2999"', 'do = "write"']),  # (COWs and new pages)
    ("2.6.23", 3, 1, ['do = "read"', 'do = "write"'])])  # (COWs putting the zero page)
def test_a_last_step_whose_lines_are_dropped_records_the_same(sweep_plans, kernel, cpus, sockets, steps):
    """Where the run drops the cache model's per-line state after the last step (run.py without
    keep_machine), that step's sweep leaves its lines' owners out: every record and the rest of
    the machine as where they are kept. The kept machine has them (the sweep wrote them), and a
    step after one that left them out would differ: a MADV_DONTNEED of the pages writes their
    struct pages, each a transfer from the CPU that owns it (so the flag may name the last step only)."""
    text = long_lesson(6000, cpus, steps, sockets=sockets)
    kept, a = _dropped(text, kernel, None)
    dropped, b = _dropped(text, kernel, 1)
    last = "write" if "write" in steps[-1] else "read"
    assert sweep_plans[last][-1] is True, "the sweep took the last step"
    for key in a:
        assert a[key] == b[key], key
    new = np.flatnonzero(np.frombuffer(kept.frames.kind, np.uint8)[:kept.frames.next_pfn] == C.FK_ANON)
    lines = set(sweep_module.L.struct_page_line(new).tolist())
    assert lines <= kept.cache.owner.keys(), "the kept machine has every new page's owner"
    assert not lines <= dropped.cache.owner.keys(), "the last step's owners were left out"
    later = text + f'[[step]]\nvma = "r"\ncpus = {list(range(cpus))}\ndo = "madvise"\nadvice = "dontneed"\n'
    _, c = _dropped(later, kernel, None)
    _, d = _dropped(later, kernel, 1)  # (wrongly: a step follows)
    assert c["evt"] != d["evt"] or c["cd1"] != d["cd1"], "the owners the sweep leaves out matter to a later step"


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32), st.sampled_from([10, 1000, 18**6, 18**8, 2**40]), st.integers(1, 3000),
       st.integers(1, 40000))
def test_wide_tables_number_as_sorting_does(seed, span, distinct, n):
    """sweep_records._wide_table (the counter inputs' owners, (ncpus + 2) ** lines values apart)
    gives np.unique's distinct values and each id's index into them, -1 (a fault played in
    full) among them: the pattern ids are registered in that order."""
    rng = np.random.default_rng(seed)
    ids = rng.choice(rng.integers(-1, span, size=distinct), size=n).astype(np.int64)
    idx, values = sweep_records._wide_table(ids)
    want_values, want_idx = np.unique(ids, return_inverse=True)
    assert values.tolist() == want_values.tolist() and idx.tolist() == want_idx.reshape(-1).tolist()


def test_the_loop_is_freed_when_its_step_ends(plans):
    """The sweep's loop state (its per-fault lists) goes with the step by reference counting: left
    in a cycle, the cycle collector, paused during a run (heap.py), would walk it after the run."""
    was = gc.isenabled()
    gc.disable()
    try:
        gc.collect()
        played(long_lesson(6000, 4, ['do = "write"']), "modern", True)
        left = [o for o in gc.get_objects() if isinstance(o, (sweep_module._Timing, sweep_module.Periods))]
    finally:
        if was:
            gc.enable()
    assert plans == [True]
    assert not left, "the loop's state outlived its step"


# ------------------------------------------------------------------ the loop's queue and steady faults
# Each an edit of the generated loop as a maintainer might make it by mistake: the queue's order
# check gone, the owners a steady fault leaves unnoted never set (at the queue's end, or before a
# fault that checks them), the heap left unsorted after a fault that ends a queue, a steady
# transfer costing more, the table in locals kept across queues. loop_agrees must see each.
LOOP_EDITS = {
    "no order check": lambda sl: {"_LATE": sl._LATE.replace("if t < q[-1]:", "if t < q[-1] - 10 ** 9:")},
    "owners not set at the end": lambda sl: {"_HEAD": sl._HEAD.replace("{owners} = p", "pass")},
    "owners not set before a checked fault": lambda sl: {
        "_STEADY": sl._STEADY.replace("{owners} = q[-1] & mask", "pass")},
    "heap left unsorted": lambda sl: {"_HEAD": sl._HEAD.replace("insort(h, late)", "h.append(late)")},
    "steady transfer 3 ns dearer": lambda sl: {"_TRANSFER": sl._TRANSFER.replace("t += near", "t += near + 3")},
    "table kept across queues": lambda sl: {
        "_HEAD": sl._HEAD.replace("        xc = -1  # (a queue", "        pass  # (")},
}


@pytest.mark.parametrize("edit", list(LOOP_EDITS))
@pytest.mark.parametrize("cpus", [4, 16])
def test_the_loop_check_sees_an_edited_queue_or_steady_fault(monkeypatch, edit, cpus):
    """loop_agrees plays many-fault steps against the cache model (the queue, its ends, steady
    faults on one socket): unedited the loop agrees, each edit above makes it disagree."""
    from zpviz.engine import sweep_loop as sl
    from zpviz.engine.costs import Costs

    roles, socket = ("lock", "page", "ptl", "pte", "mm"), [0] * cpus
    monkeypatch.setattr(sl, "_LOOPS", {})
    monkeypatch.setattr(sl, "_AGREE", {})
    assert sl.loop_agrees(roles, Costs(), socket)
    for name, text in LOOP_EDITS[edit](sl).items():
        assert text != getattr(sl, name), f"{edit}: the edit found nothing to change"
        monkeypatch.setattr(sl, name, text)
    monkeypatch.setattr(sl, "_LOOPS", {})
    assert not sl.loop_agrees(roles, Costs(), socket)


def test_a_fault_that_ends_after_a_slower_cpu_ends_the_queue():
    """On 16 CPUs of one socket the sweep's loop is a queue (each fault ends after every next start
    the heap holds) but for the faults around a page-table allocation, whose CPU starts later: a
    2.6.24 read of 4 tables then, against the general path, every record and the final state."""
    text = long_lesson(2048, 16, ['do = "read"', 'do = "write"\npages = "0-2047/5"'])
    assert_same(text, "2.6.24")
