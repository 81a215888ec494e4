"""One source per rule: change a rule in the one place it is defined and every path follows.

Each case patches one definition (a field of one kernel policy, the extra work do_wp_page does
on the zero page in rules.WP_ZERO, the per-cpu allocation batch in rules.PCP_BATCH) and plays a
lesson big enough for the fast paths to engage, three ways: the general path alone, the bulk loop
with its period and stretch skips, and all of that with the sweep. The three must agree record
for record and in the final machine state, with no other edit; and the patch must change the
records, or the case would prove nothing.
"""

from __future__ import annotations

import dataclasses
import sys

import numpy as np
import pytest

from tests.engine.test_bulk import long_lesson, snapshot
from zpviz.engine import cache as L
from zpviz.engine import constants as C
from zpviz.engine import core, faults, rules, sweep, sweep_loop, sweep_records
from zpviz.engine.columns import KEY_MASK, KEY_STRIDE
from zpviz.engine.costs import Costs
from zpviz.engine.kernels import variants
from zpviz.engine.machine import Machine
from zpviz.engine.memory import ZERO_PFN
from zpviz.scenario import loads

# 4 CPUs over 12,288 pages: read two thirds (zero-page reads: period skips), then write it all
# (COW of the zero page and fresh pages in one step: the sweep, or the bulk loop with skips),
# then read a range again (no faults) and write a strided part of a second pass
TEXT = long_lesson(12288, 4, ['do = "read"\npages = "0-8191"', 'do = "write"', 'do = "read"\npages = "0-99"'])


COSTS = Costs()  # the one cost model every path times with
THIS = sys.modules[__name__]


def play(kernel: str, general: bool = False, sweep_on: bool = True) -> Machine:
    m = Machine(loads(TEXT, "one-rule.toml"), kernel, costs=COSTS)
    m.bulk_enabled = not general
    m.sweep_enabled = sweep_on
    list(m.run_steps())
    return m


def patch_policy(monkeypatch, kernel: str, **fields) -> None:
    monkeypatch.setitem(variants.VARIANTS, kernel, dataclasses.replace(variants.VARIANTS[kernel], **fields))


def patch_read_rule(mp, mode: str) -> None:
    """rules.read_anon decides as under another read_fault_zero."""
    read = rules.read_anon
    mp.setattr(rules, "read_anon", lambda k, vmf: read(dataclasses.replace(k, read_fault_zero=mode), vmf))


def edit_general_path(mp, name: str, ns: int, line: bool, no_role: bool = False) -> None:
    """Edit the general path's fault handler itself, as a maintainer would: `ns` more work, and
    one more line (the mm counter; with no_role, a line no fast path has a role for: the vma's
    lock of another vma) written, where it handles a zero-page PTE (do_wp_page) or a read
    (do_anonymous_page)."""
    handler = getattr(faults.Faults, name)

    def edited(self, p, v, slot, *args, **kw):
        if (self.slots.pfn[slot] == ZERO_PFN) if name == "do_wp_page" else not args[0]:
            self.ev.cost += ns
            if line:
                self.ev.write(L.vma_lock_line(p.index, v.index + 7) if no_role else L.mm_counter_line(p.index))
        return handler(self, p, v, slot, *args, **kw)

    mp.setattr(faults.Faults, name, edited)


# case: (kernel, the patch, what the sweep answers for the write step once patched: None when
# the bulk loop refused the step before asking it)
CASES = {
    # a field of one policy: 2.6.x's mm-wide RSS atomics under Linux 6.18 (one more line per fault)
    "policy: atomic rss": ("modern", lambda mp: patch_policy(mp, "modern", rss_counter="atomic"), True),
    # a field of one policy: no zero page under 2.6.32 (every read allocates)
    "policy: no zero page": ("2.6.32", lambda mp: patch_policy(mp, "2.6.32", read_fault_zero="never"), True),
    # the read-fault rule itself: 2.6.23's refcounted zero page under 2.6.32 (COW stays by pfn)
    "read rule: refcounted": ("2.6.32", lambda mp: patch_read_rule(mp, "refcounted"), True),
    # the zero-page COW rule itself: copy from the zero page under Linux 6.18; the write step
    # then mixes copies and clears, which the sweep refuses
    "cow rule: copy": ("modern", lambda mp: mp.setattr(rules, "cow_zero", lambda k: rules.CowZero(
        rules.COW_COPY, True, False)), False),
    # do_wp_page on the zero page writes one more line and takes 200 ns more (the sweep refuses it)
    "do_wp_page: a line and 200 ns": ("modern", lambda mp: mp.setattr(
        rules, "WP_ZERO", rules.WpZeroWork(extra_ns=200, extra_lines=("zero_page",))), False),
    "do_wp_page under v5": ("v5", lambda mp: mp.setattr(
        rules, "WP_ZERO", rules.WpZeroWork(extra_ns=200, extra_lines=("mmap_lock",))), False),
    # the page allocator refills a per-cpu list with 7 pages, not 31
    "allocation batch of 7": ("modern", lambda mp: mp.setattr(rules, "PCP_BATCH", 7), True),
    # faults.py edited, not rules.py: 200 ns more in do_wp_page on the zero page. The fast paths
    # take their costs from the general path (probe.py): they follow; the sweep refuses a step
    # mixing COWs and new pages, which now cost differently
    "do_wp_page edited: 200 ns": ("modern", lambda mp: edit_general_path(mp, "do_wp_page", 200, False), False),
    # ... and a line (the mm counter, right after the fault lock): the bulk loop writes a fault's
    # lines in the order the general path wrote them (probe.py roles): it follows; the sweep
    # refuses a step whose COWs and new pages now write different lines
    "do_wp_page edited: a line and 200 ns": ("modern", lambda mp: edit_general_path(mp, "do_wp_page", 200, True),
                                             False),
    "do_wp_page edited under 2.6.23": ("2.6.23", lambda mp: edit_general_path(mp, "do_wp_page", 200, True), False),
    # ... a line the fast paths have no role (no line id) for: the bulk loop refuses the step
    "do_wp_page edited: a line of no role": ("modern", lambda mp: edit_general_path(
        mp, "do_wp_page", 0, True, no_role=True), None),
    # do_anonymous_page edited for read faults: 50 ns more (the write step stays the sweep's)
    "do_anonymous_page edited: 50 ns": ("2.6.32", lambda mp: edit_general_path(mp, "do_anonymous_page", 50, False),
                                        True),
    # a new anon page: one more flag, and 100 ns more to make it
    "new anon page": ("2.6.32", lambda mp: (
        mp.setattr(rules, "NEW_ANON_FLAGS", rules.NEW_ANON_FLAGS | C.PG_REFERENCED),
        mp.setattr(rules, "new_anon_page_ns", lambda costs, copy, f=rules.new_anon_page_ns: f(costs, copy) + 100)),
        True),
    # the cache timing: slower transfers, faster DRAM, lines held longer, dearer clears
    "cache timing": ("2.6.24", lambda mp: mp.setattr(THIS, "COSTS", Costs(
        same_socket_ns=55, dram_ns=70, line_hold_ns=9, hit_ns=2, clear_page_ns=1300)), True),
}


def _same_as_the_general_path(case: str, before: dict, slow: dict, bulk, fast) -> None:
    """The patched rule's records (`slow`: the general path's) are the bulk loop's and the bulk loop
    with the sweep's, and they differ from the unpatched run's (`before`): the patch did something."""
    for name, m in (("bulk loop", bulk), ("bulk loop and sweep", fast)):
        got = snapshot(m)
        for key in slow:
            assert got[key] == slow[key], f"{case}: {key} differs between the general path and the {name}"
    assert before["evt"] != slow["evt"] or before["evi"] != slow["evi"], f"{case}: the patch changed nothing"


@pytest.mark.parametrize("case", list(CASES))
def test_every_path_follows_one_change(monkeypatch, plans, case):
    kernel, patch, swept = CASES[case]
    before = snapshot(play(kernel))
    patch(monkeypatch)
    plans.clear()
    fast = play(kernel)
    sweep_plans = list(plans)
    bulk = play(kernel, sweep_on=False)
    general = play(kernel, general=True)
    # the skips ran (with the sweep on, a step of reads that allocate on 4 CPUs is the sweep's)
    assert bulk.skipped_events > 0 and fast.skipped_events + fast.swept_events > 0, "the skips ran"
    slow = snapshot(general)
    _same_as_the_general_path(case, before, slow, bulk, fast)
    assert sweep_plans == ([] if swept is None else [swept]), {True: "the sweep played the write step",
                                                                 False: "the sweep refused it",
                                                                 None: "the bulk loop refused it"}[swept]


# ------------------------------------------------------------------ the read sweep (sweep.py)
# 16 CPUs on two sockets reading 6,144 pages in two steps (the sweep takes such read steps:
# Sweep.worth), then writing them all
TEXT_READS = long_lesson(6144, 16, ['do = "read"\npages = "0-4095"', 'do = "read"', 'do = "write"'], sockets=2)


def edit_read_fault(mp, ns: int, line: bool) -> None:
    """do_anonymous_page edited for read faults: `ns` more, and the mm counter written."""
    edit_general_path(mp, "do_anonymous_page", ns, line)


# case: (kernel, the patch, what the sweep answers for the two read steps once patched: [] when
# the bulk loop refused them before asking it)
READ_CASES = {
    # a field of one policy: no zero page under 2.6.32 (every read allocates: swept as 2.6.24's)
    "policy: no zero page": ("2.6.32", lambda mp: patch_policy(mp, "2.6.32", read_fault_zero="never"), [True] * 2),
    # the read-fault rule itself: the refcounted zero page under 2.6.32 (its refcount, mapcount and
    # RSS moving, its struct page written: followed, the sweep asked although Sweep.worth leaves
    # such reads on two sockets to the skips)
    "read rule: refcounted": ("2.6.32", lambda mp: (patch_read_rule(mp, "refcounted"),
                                                    mp.setattr(sweep.Sweep, "worth", lambda self: True)), [True] * 2),
    # faults.py edited: 50 ns more on a zero-page read is followed; a line more (the mm counter)
    # too, by the bulk loop and the sweep, both writing the general path's roles in its order
    "do_anonymous_page edited: 50 ns": ("modern", lambda mp: edit_read_fault(mp, 50, False), [True] * 2),
    "do_anonymous_page edited: a line": ("v5", lambda mp: edit_read_fault(mp, 0, True), [True] * 2),
    # 2.6.24 (every read a new page): the batch, a new page's flags and cost, the cache timing
    "allocation batch of 7": ("2.6.24", lambda mp: mp.setattr(rules, "PCP_BATCH", 7), [True] * 2),
    "new anon page": ("2.6.24", lambda mp: (
        mp.setattr(rules, "NEW_ANON_FLAGS", rules.NEW_ANON_FLAGS | C.PG_REFERENCED),
        mp.setattr(rules, "new_anon_page_ns", lambda costs, copy, f=rules.new_anon_page_ns: f(costs, copy) + 100)),
        [True] * 2),
    "cache timing": ("2.6.24", lambda mp: mp.setattr(THIS, "COSTS", Costs(
        same_socket_ns=55, cross_socket_ns=150, dram_ns=70, line_hold_ns=9, hit_ns=2, clear_page_ns=1300)),
        [True] * 2),
}


def play_reads(kernel: str, general: bool = False, sweep_on: bool = True) -> Machine:
    m = Machine(loads(TEXT_READS, "one-rule-reads.toml"), kernel, costs=COSTS)
    m.bulk_enabled = not general
    m.sweep_enabled = sweep_on
    list(m.run_steps())
    return m


@pytest.mark.parametrize("case", list(READ_CASES))
def test_the_read_sweep_follows_one_change(monkeypatch, read_plans, case):
    """The read sweep's lines, costs and decisions come from the general path (probe.py) and
    rules.py: a changed rule is followed by it (same records as the general path), or refused."""
    kernel, patch, swept = READ_CASES[case]
    before = snapshot(play_reads(kernel))
    patch(monkeypatch)
    read_plans.clear()
    fast = play_reads(kernel)
    answers = list(read_plans)
    bulk = play_reads(kernel, sweep_on=False)
    slow = snapshot(play_reads(kernel, general=True))
    _same_as_the_general_path(case, before, slow, bulk, fast)
    assert answers == swept, f"{case}: the sweep answered {answers} for the read steps"


def test_a_policy_value_off_a_fast_paths_allow_list_goes_down_a_path(monkeypatch, plans):
    """Each fast path names the policy values it spells out; a value outside them (as a new
    mechanism would be) makes it refuse the step, and the path under it plays the same records."""
    from zpviz.engine import bulk
    from zpviz.engine.kernels.base import FaultLock, RssCounter

    want = snapshot(play("modern"))
    monkeypatch.setitem(sweep.ALLOWED, "rss_counter", {RssCounter.ATOMIC})  # modern's is per-CPU
    plans.clear()
    got = snapshot(play("modern"))
    assert plans == [False] and got == want
    calls = []
    access = bulk.Bulk.bulk_access
    monkeypatch.setattr(bulk.Bulk, "bulk_access", lambda self, *a: calls.append(1) or access(self, *a))
    monkeypatch.setitem(bulk.ALLOWED, "fault_lock", {FaultLock.MMAP_SEM})  # modern's is per-VMA
    got = snapshot(play("modern"))
    assert calls == [] and got == want


# ------------------------------------------------------------------ the populate walk (populate.py)
# MAP_LOCKED and MAP_POPULATE regions at mmap time, then mlock() of a region partly written
# (present pages and fresh ones) on 2 CPUs, then three processes' mlock() at once on 2 CPUs (the
# walks' events interleave: the lean walk must record each as it happens)
POPULATE = '''[scenario]
title = "populate"
cpus = 2
[[process]]
name = "app"
count = 3
[[vma]]
name = "z"
process = "app"
pages = 700
[[vma]]
name = "r"
pages = 2048
[[vma]]
name = "l"
pages = 1024
locked = true
[[vma]]
name = "q"
pages = 1024
populate = true
[[step]]
vma = "r"
cpus = [0, 1]
do = "write"
pages = "0-99"
[[step]]
vma = "r"
do = "mlock"
[[step]]
process = "app*"
vma = "z"
cpus = [0, 1]
do = "mlock"
'''


def play_populate(kernel: str, general: bool = False, runs: bool = True) -> Machine:
    m = Machine(loads(POPULATE, "one-rule-populate.toml"), kernel, costs=COSTS)
    m.populate_enabled = not general
    m.populate_runs = runs  # (populate_runs.py: the lean walk's runs written at once)
    list(m.run_steps())
    return m


# case: (kernel, the patch, whether the lean populate walk still plays the fresh pages)
POPULATE_CASES = {
    "policy: atomic rss": ("modern", lambda mp: patch_policy(mp, "modern", rss_counter="atomic"), True),
    "policy: mlock takes no page reference": ("v5", lambda mp: patch_policy(mp, "v5", mlock_gets_page=False), True),
    "policy: the walk populates mlocked pages itself": (  # mlock_page sets PG_mlocked: a line more, refused
        "modern", lambda mp: patch_policy(mp, "modern", fault_mlocks_new_pages=False), False),
    "policy: no PG_mlocked": ("2.6.32", lambda mp: patch_policy(mp, "2.6.32", pg_mlocked=False), True),
    "allocation batch of 7": ("2.6.23", lambda mp: mp.setattr(rules, "PCP_BATCH", 7), True),
    "new anon page": ("2.6.24", lambda mp: (
        mp.setattr(rules, "NEW_ANON_FLAGS", rules.NEW_ANON_FLAGS | C.PG_REFERENCED),
        mp.setattr(rules, "new_anon_page_ns", lambda costs, copy, f=rules.new_anon_page_ns: f(costs, copy) + 100)),
        True),
    "cache timing": ("v5", lambda mp: mp.setattr(THIS, "COSTS", Costs(
        same_socket_ns=55, dram_ns=70, line_hold_ns=9, hit_ns=2, clear_page_ns=1300)), True),
}


def edit_write_fault(mp, ns: int, line: bool) -> None:
    """do_anonymous_page edited for write faults (what populate takes): `ns` more, a line more."""
    handler = faults.Faults.do_anonymous_page

    def edited(self, p, v, slot, write):
        if write:
            self.ev.cost += ns
            if line:
                self.ev.write(L.mm_counter_line(p.index))
        return handler(self, p, v, slot, write)

    mp.setattr(faults.Faults, "do_anonymous_page", edited)


# do_anonymous_page edited for write faults: 30 ns more is followed, a line more refused
POPULATE_CASES["do_anonymous_page edited: 30 ns"] = ("modern", lambda mp: edit_write_fault(mp, 30, False), True)
POPULATE_CASES["do_anonymous_page edited: a line"] = ("2.6.32", lambda mp: edit_write_fault(mp, 0, True), False)
# a line held longer than a page's kernel work: one event's hold would delay the next one's, which
# the runs (populate_runs.py) do not model: they refuse, and the lean walk plays every page itself
POPULATE_CASES["lines held across events"] = ("2.6.24", lambda mp: mp.setattr(THIS, "COSTS", Costs(
    line_hold_ns=3000)), True)
RUNS_REFUSE = {"lines held across events"}


def edit_pte_alloc(mp, ns: int, line: bool) -> None:
    """__pte_alloc edited (Core._alloc_pt, a page table's allocation): `ns` more, a line more."""
    alloc_pt = core.Core._alloc_pt

    def edited(self):
        self.ev.cost += ns
        if line:
            self.ev.write(L.mm_counter_line(self.ev.proc))
        return alloc_pt(self)

    mp.setattr(core.Core, "_alloc_pt", edited)


# a PTE table made in a run (populate_runs.py spans tables: a table's first page is learned from
# the general walk too): 40 ns more is followed, a line more leaves every table's first page to
# the general walk (the runs stop at each table again)
POPULATE_CASES["__pte_alloc edited: 40 ns"] = ("modern", lambda mp: edit_pte_alloc(mp, 40, False), True)
POPULATE_CASES["__pte_alloc edited: a line"] = ("v5", lambda mp: edit_pte_alloc(mp, 0, True), True)
NO_TABLES_IN_RUNS = RUNS_REFUSE | {"__pte_alloc edited: a line"}


@pytest.mark.parametrize("case", list(POPULATE_CASES))
def test_the_populate_walk_follows_one_change(monkeypatch, case):
    """The lean populate walk learns each page's path, cost and lines from the general walk: a
    changed rule is followed (same records), or, where it writes another line, refused."""
    kernel, patch, lean = POPULATE_CASES[case]
    before = snapshot(play_populate(kernel))
    patch(monkeypatch)
    fast, paged, general = play_populate(kernel), play_populate(kernel, runs=False), play_populate(kernel, general=True)
    assert general.populated_pages == 0 and paged.batched_pages == 0
    assert (fast.populated_pages > 5000) == lean, fast.populated_pages
    # most of them in runs written at once (populate_runs.py), where the walk is alone on its CPU
    assert (fast.batched_pages > 4000) == (lean and case not in RUNS_REFUSE), fast.batched_pages
    # ... across PTE tables too (their first pages in the runs), unless the rule refuses it
    assert (fast.batched_tables > 0) == (lean and case not in NO_TABLES_IN_RUNS), fast.batched_tables
    slow = snapshot(general)
    for name, m in (("lean populate walk", fast), ("lean populate walk page by page", paged)):
        got = snapshot(m)
        for key in slow:
            assert got[key] == slow[key], f"{case}: {key} differs between the general and the {name}"
    assert before["evt"] != slow["evt"] or before["evi"] != slow["evi"] or before["fd3"] != slow["fd3"], (
        f"{case}: the patch changed nothing")


# ------------------------------------------------------------------ the cache timing rule (cache.py)
def _slower_transfers(method):
    """A cache rule edited as a maintainer would: an event that moves a line from another CPU's
    cache ends 3 ns later (wrapping CacheModel.access or access_writes, in that one place)."""
    def edited(self, cpu, t, lines, out):
        owners = [self.owner.get(x if isinstance(x, int) else x[0], -1) for x in lines]
        end = method(self, cpu, t, lines, out)
        return end + 3 if any(o >= 0 and o != cpu for o in owners) else end
    return edited


def _one_late(known_ids):
    """The sweep's look-up of known counter inputs edited alone: each fault given the id of the
    fault before it."""
    def edited(self, *args):
        pids = known_ids(self, *args)
        return None if pids is None else np.concatenate([pids[:1], pids[:-1]])
    return edited


# case: (the patch, whether the bulk loop still plays the steps, whether the sweep still does)
CACHE_CASES = {
    # the general path's rule: the copies (access_writes, the sweep's loop) no longer give its
    # answers, so the bulk loop, its skips and the sweep refuse every step (cache.writes_agree)
    "CacheModel.access": (lambda mp: mp.setattr(L.CacheModel, "access", _slower_transfers(L.CacheModel.access)),
                          False, False),
    # the write-only copy alone: the bulk loop, which calls it, refuses (and the sweep behind it)
    "CacheModel.access_writes": (lambda mp: mp.setattr(L.CacheModel, "access_writes",
                                                       _slower_transfers(L.CacheModel.access_writes)), False, False),
    # the sweep's own copy alone (its template for a line write): the sweep refuses
    # (sweep_loop.loop_agrees), the bulk loop and its skips play the steps
    "the sweep's template": (lambda mp: mp.setattr(sweep_loop, "_WRITE", sweep_loop._WRITE.replace(
        "t += lat[{o}]", "t += lat[{o}] + 3")), True, False),
}


@pytest.mark.parametrize("case", list(CACHE_CASES))
def test_the_cache_rule_is_followed_or_refused(monkeypatch, plans, case):
    """The MESI timing exists as CacheModel.access (the rule) and two faster copies; each copy is
    used only where it answers as the rule does (cache.writes_agree, sweep_loop.loop_agrees, once a
    run). Changing the rule or a copy in one place leaves every path agreeing with the general
    path: where a copy differs, the fast path using it refuses."""
    patch, bulk_plays, sweep_plays = CACHE_CASES[case]
    monkeypatch.setattr(sweep_loop, "_LOOPS", {})
    before = snapshot(play("modern"))
    patch(monkeypatch)
    monkeypatch.setattr(sweep_loop, "_LOOPS", {})  # (as an edited sweep_loop.py would be compiled afresh)
    plans.clear()
    fast = play("modern")
    general = play("modern", general=True)
    slow = snapshot(general)
    got = snapshot(fast)
    for key in slow:
        assert got[key] == slow[key], f"{case}: {key} differs between the general path and the fast paths"
    if case == "CacheModel.access":  # (the general path times with access alone)
        assert before["evt"] != slow["evt"], f"{case}: the patch changed nothing"
    assert (fast.skipped_events > 0) == bulk_plays, "the bulk loop's skips ran" if not bulk_plays else "no skips"
    assert (fast.swept_events > 0) == sweep_plays
    if bulk_plays:
        assert plans == [False], "the sweep refused the write step"


# ------------------------------------------------------------------ the counter rule (cache.py)
def _transfers_count_as_misses(method):
    """The counter rule edited as a maintainer would: an event that takes a line from another
    CPU's cache also counts one miss (the same time: only the counters change)."""
    def edited(self, cpu, t, lines, out):
        owners = [self.owner.get(x if isinstance(x, int) else x[0], -1) for x in lines]
        end = method(self, cpu, t, lines, out)
        if any(o >= 0 and o != cpu for o in owners):
            out += (cpu * KEY_STRIDE + C.C_MISSES, 1)
        return end
    return edited


def _inv_sent_twice(lists):
    """The sweep's own counter arithmetic edited alone: invalidations sent counted twice."""
    def edited(self, *args):
        k, v, counts = lists(self, *args)
        return k, np.where((k & KEY_MASK) == C.C_INV_SENT, v * 2, v).astype(v.dtype), counts
    return edited


def _one_late(known_ids):
    """The sweep's look-up of known counter inputs edited alone: each fault given the id of the
    fault before it."""
    def edited(self, *args):
        pids = known_ids(self, *args)
        return None if pids is None else np.concatenate([pids[:1], pids[:-1]])
    return edited


# case: (the patch, whether the bulk loop still plays the steps, whether the sweep still does)
COUNTER_CASES = {
    # the rule and the bulk loop's copy changed alike: the bulk loop follows (cache.writes_agree
    # holds), the sweep, whose records work the counters out their own way, refuses
    # (sweep_records.pairs_agree) and the bulk loop with its skips plays the write step
    "CacheModel.access and access_writes": (
        lambda mp: (mp.setattr(L.CacheModel, "access", _transfers_count_as_misses(L.CacheModel.access)),
                    mp.setattr(L.CacheModel, "access_writes", _transfers_count_as_misses(L.CacheModel.access_writes))),
        True, False),
    # the sweep's copy alone: it refuses, the bulk loop and its skips play the step
    "the sweep's records": (lambda mp: mp.setattr(sweep_records._Records, "_lists",
                                                  _inv_sent_twice(sweep_records._Records._lists)), True, False),
    # the look-up of a later slice's inputs among those an earlier slice registered, edited
    # alone (the ids taken one fault late): checked too, so the sweep refuses
    "the sweep's later slices": (lambda mp: mp.setattr(sweep_records._Records, "_known_ids",
                                                       _one_late(sweep_records._Records._known_ids)), True, False),
}


@pytest.mark.parametrize("case", list(COUNTER_CASES))
def test_the_counter_rule_is_followed_or_refused(monkeypatch, plans, case):
    """A fault's counter increments are CacheModel.access's (and Core.emit's cold misses); the
    bulk loop's copy (access_writes) and the sweep's (its records' numpy arithmetic) are used only
    where they give the same pairs, checked once a run (cache.writes_agree,
    sweep_records.pairs_agree). Changing the rule, or the sweep's copy alone, leaves every path
    agreeing with the general path: the sweep refuses the write step it would now count wrong."""
    patch, bulk_plays, sweep_plays = COUNTER_CASES[case]
    before = snapshot(play("modern"))
    assert before and plans == [True], "the sweep took the write step before the patch"
    plans.clear()
    patch(monkeypatch)
    fast = play("modern")
    slow = snapshot(play("modern", general=True))
    got = snapshot(fast)
    for key in slow:
        assert got[key] == slow[key], f"{case}: {key} differs between the general path and the fast paths"
    if case.startswith("CacheModel"):  # (the general path counts with access alone)
        assert before["cd1"] != slow["cd1"] or before["cd0"] != slow["cd0"], f"{case}: the patch changed nothing"
    assert (fast.skipped_events > 0) == bulk_plays
    assert (fast.swept_events > 0) == sweep_plays
    assert plans == [sweep_plays], "what the sweep answered for the write step"
