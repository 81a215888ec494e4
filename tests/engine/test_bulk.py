"""The bulk path (engine/bulk.py) must record exactly what the general path records.

Each lesson is played twice, with the bulk path on and off, and every recorded column, every
delta, every counter and the final machine state are compared. Random lessons (the property
tests' generator) cover the fallbacks; the fixed ones make sure the bulk path really ran.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.engine.test_properties import SETTINGS, lessons
from tests.engine.util import VARIANTS
from zpviz.engine import bulk
from zpviz.engine.machine import Machine
from zpviz.scenario import loads


def played(text: str, kernel: str, enabled: bool, deltas: bool = True) -> Machine:
    m = Machine(loads(text, "bulk.toml"), kernel, record_deltas=deltas)
    m.bulk_enabled = enabled
    list(m.run_steps())
    return m


def snapshot(m: Machine) -> dict:
    r = m.rec
    out = {name: bytes(a) for name, a in (("evi", r.evi), ("evt", r.evt), ("sd_n", r.sd_n), ("fd_n", r.fd_n),
                                          ("scalars", r.scalars))}
    for prefix, cols in (("sd", r.sd), ("fd", r.fd)):
        for j, col in enumerate(cols):
            out[f"{prefix}{j}"] = bytes(col)
    # every event's counter increments, in order: a period skip appends its copies' as pattern ids
    # (Recorder.append_by_pattern), which cd_pairs turns back into the pairs
    for name, a in zip(("cd_n", "cd0", "cd1"), r.cd_pairs(r.sealed, r.n_events)):
        out[name] = a.tobytes()
    out["paths"] = list(r.paths)
    out["logs"] = dict(r.logs)
    out["state"] = (bytes(m.slots.pte), bytes(m.slots.pfn), bytes(m.slots.vmf), bytes(m.frames.refcount),
                    bytes(m.frames.mapcount), bytes(m.frames.flags), bytes(m.frames.kind), list(m.frames.free))
    out["machine"] = (m.scalar_values(), m.counters, m.clock, m.pcp, m.cache.owner, m.cache.sharers, m.cache.busy,
                      [(p.pte_tables, p.upper_tables, [v.anon_vma for v in p.vmas.values()]) for p in m.procs])
    return out


def assert_same(text: str, kernel: str, deltas: bool = True) -> None:
    fast, slow = snapshot(played(text, kernel, True, deltas)), snapshot(played(text, kernel, False, deltas))
    for key in slow:
        assert fast[key] == slow[key], f"{key} differs under {kernel}\n{text}"


BIG = """
[[vma]]
name = "r"
pages = {pages}
{extra}
[[step]]
do = "read"
vma = "r"
cpus = {cpus}
deal = "{deal}"
[[step]]
do = "write"
vma = "r"
pages = "0-{half}/3"
cpus = {cpus}
[[step]]
do = "write"
vma = "r"
cpus = {cpus}
deal = "{deal}"
[[step]]
do = "read"
vma = "r"
pages = "5-40"
"""


def big(pages: int, cpus: int, deal: str, extra: str = "", sockets: str = "") -> str:
    body = BIG.format(pages=pages, extra=extra, cpus=list(range(cpus)), deal=deal, half=pages // 2)
    return f'[scenario]\ntitle = "b"\ncpus = {cpus}\n{sockets}\n{body}'


@pytest.mark.parametrize("kernel", VARIANTS)
@pytest.mark.parametrize("cpus,deal", [(1, "round-robin"), (4, "round-robin"), (3, "block")])
def test_same_records_as_the_general_path(kernel, cpus, deal):
    assert_same(big(1500, cpus, deal), kernel)


@pytest.mark.parametrize("kernel", ["2.6.23", "modern"])
def test_same_across_sockets_and_without_deltas(kernel):
    text = big(1100, 4, "round-robin", sockets="sockets = 2")
    assert_same(text, kernel)
    assert_same(text, kernel, deltas=False)


def test_the_bulk_path_really_runs(monkeypatch):
    """The fixed lessons above must go through bulk_access: count its calls."""
    calls = []
    real = bulk.Bulk.bulk_access

    def counting(self, *a, **kw):
        calls.append(a[-1])
        return real(self, *a, **kw)

    monkeypatch.setattr(bulk.Bulk, "bulk_access", counting)
    played(big(600, 2, "round-robin"), "modern", True)
    assert calls == [False, True, True, False]  # read, write (COW and new pages), write, read


def test_ineligible_steps_fall_back():
    """Locked, shared and THP vmas take the general path; so do writes to a read-only vma (SIGSEGV)."""
    for extra, expected in (('locked = true', []), ('share = "shared"', []), ('thp = true', []),
                            ('prot = "r"', [False, False])):  # its two read steps are fine
        m = Machine(loads(big(1024, 2, "round-robin", extra=extra), "b.toml"), "modern")
        calls: list[bool] = []

        def noting(*a, calls=calls):  # notes the call; its None sends the step on to the general path
            calls.append(a[-1])

        m.bulk_access = noting
        list(m.run_steps())
        assert calls == expected, extra


@pytest.mark.parametrize("kernel", VARIANTS)
@settings(max_examples=int(os.environ.get("ZPVIZ_BULK_EXAMPLES", "15")), **SETTINGS)
@given(text=lessons())
def test_random_lessons_same_records(kernel, text):
    assert_same(text, kernel)


# ------------------------------------------------------------------ period skips (engine/period.py)
# The sweep (engine/sweep.py) takes most write steps before the skips could; they remain for
# reads and for the write steps it refuses (across sockets, say), so they are tested without it.
def skipping(text: str, kernel: str, deltas: bool = True) -> tuple[dict, int]:
    m = Machine(loads(text, "period.toml"), kernel, record_deltas=deltas)
    m.sweep_enabled = False
    list(m.run_steps())
    return snapshot(m), m.skipped_events


def not_skipping(text: str, kernel: str, deltas: bool = True) -> dict:
    m = Machine(loads(text, "period.toml"), kernel, record_deltas=deltas)
    m.sweep_enabled = False
    m.period_skip = False
    list(m.run_steps())
    return snapshot(m)


def long_lesson(pages: int, cpus: int, steps: list[str], sockets: int = 1) -> str:
    text = f'[scenario]\ntitle = "p"\ncpus = {cpus}\nsockets = {sockets}\n[[vma]]\nname = "r"\npages = {pages}\n'
    for s in steps:
        text += f'[[step]]\nvma = "r"\ncpus = {list(range(cpus))}\n{s}\n'
    return text


def assert_skip_exact(text: str, kernel: str, deltas: bool = True) -> int:
    fast, skipped = skipping(text, kernel, deltas)
    slow = not_skipping(text, kernel, deltas)
    for key in slow:
        assert fast[key] == slow[key], f"{key} differs under {kernel}\n{text}"
    return skipped


@pytest.mark.parametrize("kernel", VARIANTS)
def test_read_periods_are_skipped_exactly(kernel):
    text = long_lesson(24576, 4, ['do = "read"', 'do = "read"\npages = "100-300"', 'do = "write"\npages = "0-999"'])
    skipped = assert_skip_exact(text, kernel)
    # zero-page reads repeat every few PTE tables; 2.6.24's allocate, so their whole period is a
    # cycle of the per-cpu free lists (about 63,000 pages on 4 CPUs), but their stretches repeat
    assert skipped > 12000


@pytest.mark.parametrize("cpus,sockets,pages", [(1, 1, 20480), (2, 1, 20480), (3, 1, 20480), (8, 2, 60000)])
def test_skips_with_other_cpu_counts(cpus, sockets, pages):
    text = long_lesson(pages, cpus, [f'do = "read"\npages = "0-{pages - 1}/2"', 'do = "read"'], sockets)
    assert assert_skip_exact(text, "modern") > pages // 4


@pytest.mark.parametrize("kernel", ["2.6.23", "modern"])
def test_write_periods_need_the_free_lists_in_step(kernel):
    """A write step allocates on every fault: its period is a whole cycle of every per-cpu free list."""
    text = long_lesson(140000, 4, ['do = "write"'])
    assert assert_skip_exact(text, kernel, deltas=kernel == "modern") > 60000


@pytest.mark.parametrize("first", ['do = "read"\npages = "0-19999"', 'do = "write"\npages = "0-4095"'])
def test_periods_over_pages_an_earlier_step_left(first):
    """The pages ahead were touched before (no fault for them, lines owned): still exact."""
    text = long_lesson(40000, 4, [first, 'do = "read"'])
    assert assert_skip_exact(text, "v5") > 20000
    assert assert_skip_exact(text, "2.6.32", deltas=False) > 20000


def test_cow_periods_after_a_read():
    """Writes over the zero page, with every line ahead owned by the read before: the write step skips too."""
    read = assert_skip_exact(long_lesson(140000, 4, ['do = "read"']), "v5", deltas=False)
    both = assert_skip_exact(long_lesson(140000, 4, ['do = "read"', 'do = "write"']), "v5", deltas=False)
    assert both - read > 60000


def test_skipping_agrees_with_the_general_path():
    text = long_lesson(9000, 4, ['do = "read"', 'do = "write"\npages = "0-8999/5"'])
    assert_same(text, "modern")
    assert_same(text, "2.6.23")


@st.composite
def long_lessons(draw) -> tuple[str, str]:
    """Big steps over one vma, some of them strided or partial, on 1 to 6 CPUs."""
    pages = draw(st.integers(6000, 20000))
    cpus = draw(st.integers(1, 6))
    steps = []
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(["read", "write"]))
        lo = draw(st.sampled_from([0, 0, 1, 777]))
        stride = draw(st.sampled_from([1, 1, 2, 3]))
        steps.append(f'do = "{op}"\npages = "{lo}-{pages - 1}/{stride}"')
    return long_lesson(pages, cpus, steps, sockets=draw(st.sampled_from([1, cpus]))), draw(st.sampled_from(VARIANTS))


@settings(max_examples=int(os.environ.get("ZPVIZ_PERIOD_EXAMPLES", "4")), **SETTINGS)
@given(case=long_lessons())
def test_random_long_lessons_skip_exactly(case):
    text, kernel = case
    assert_skip_exact(text, kernel)


def test_a_skip_then_a_refill_then_a_second_skip():
    """Found by the random lessons: after a skip, the next checkpoints must compare with the state
    the skip left under its own per-cpu counts, not under the counts from before the skip."""
    text = long_lesson(18952, 2, ['do = "read"\npages = "0-18951/1"'], sockets=2)
    assert assert_skip_exact(text, "2.6.23") > 14336  # two skips, the second after CPU 1's refill


# ------------------------------------------------------------------ stretches (engine/micro.py)
def skipped_with(text: str, kernel: str, micro: bool, deltas: bool = True) -> int:
    m = Machine(loads(text, "micro.toml"), kernel, record_deltas=deltas)
    m.sweep_enabled = False
    m.micro_skip = micro
    list(m.run_steps())
    return m.skipped_events


@pytest.mark.parametrize("kernel", VARIANTS)
def test_stretches_carry_a_write_step_the_periods_cannot(kernel):
    """A write's period is a whole cycle of every per-cpu free list (about 63,000 pages on 4 CPUs):
    40,000 pages never repeat as a whole, but their 16-page stretches do, refills and all."""
    text = long_lesson(40000, 4, ['do = "write"'])
    with_stretches = assert_skip_exact(text, kernel, deltas=kernel != "2.6.24")
    assert skipped_with(text, kernel, micro=False) < 5000 < 30000 < with_stretches


@pytest.mark.parametrize("kernel,sockets,deltas", [("2.6.23", 2, True), ("2.6.23", 1, False), ("v5", 2, True)])
def test_stretches_over_the_zero_page_and_across_sockets(kernel, sockets, deltas):
    """Writes over a read's zero-page mappings: under 2.6.23 each moves the zero page's refcount
    and mapcount, which every stretch written again must carry on from where it starts."""
    text = long_lesson(30000, 4, ['do = "read"', 'do = "write"\npages = "0-29999/3"'], sockets=sockets)
    assert assert_skip_exact(text, kernel, deltas) > skipped_with(text, kernel, micro=False, deltas=deltas)


@pytest.mark.parametrize("kernel", ["modern", "2.6.23"])
def test_stretches_over_pages_some_of_which_need_no_fault(kernel):
    """Every eighth page was written by the step before: a stretch passes over those (no fault,
    no event) between its faults, and is still written again exactly."""
    text = long_lesson(40000, 4, ['do = "write"\npages = "0-39999/8"', 'do = "write"'])
    assert assert_skip_exact(text, kernel) > 0 == skipped_with(text, kernel, micro=False)


def test_the_frame_arrays_end_as_long_whichever_way_they_grew():
    """Found by the random lessons: stretches grow the frame arrays once per chain, the loop a
    frame at a time; their length must depend only on the frames handed out."""
    text = long_lesson(6000, 4, ['do = "read"\npages = "0-5999/1"', 'do = "write"\npages = "0-5999/1"'])
    assert assert_skip_exact(text, "2.6.23") > 0


def test_a_stretch_fits_counts_that_refill_at_the_same_allocations():
    from zpviz.engine.micro import MicroPeriods

    cands = [((5, 31), (3, 3), 0), ((2, 31), (3, 3), 1)]
    assert MicroPeriods._fit(cands, [30, 4]) == 0  # no refill in either: both counts >= 3
    assert MicroPeriods._fit(cands, [2, 9]) == 1  # CPU 0 runs dry at its third frame, as in 1
    assert MicroPeriods._fit(cands, [1, 9]) is None  # ... at its second: neither was played so
    assert MicroPeriods._fit(cands, [5, 2]) is None  # CPU 1 would run dry


def test_stretches_pause_where_they_do_not_pay(monkeypatch):
    """COW after a read on modern: the CPUs drift apart and no stretch comes round again. The
    checkpoints must pause (doubling), not cost a signature every 16 pages for the whole step."""
    from zpviz.engine import micro

    taken = []
    real = micro.MicroPeriods.close

    def counting(self, *args):
        taken.append(1)
        return real(self, *args)

    monkeypatch.setattr(micro.MicroPeriods, "close", counting)
    text = long_lesson(65536, 4, ['do = "read"', 'do = "write"'])
    assert_skip_exact(text, "modern", deltas=False)
    assert 0 < len(taken) < 65536 // 16 // 4


def test_wide_checkpoints_look_at_lines_only_where_cpus_stood_so_before(monkeypatch):
    """The same drifting COW step: CPU 0 runs hundreds of pages ahead, and a full signature there
    reads every PTE line between the CPUs. It is taken only where the CPUs stood exactly so at an
    earlier checkpoint, which drifting CPUs hardly ever do: few lines read, records still exact."""
    from zpviz.engine import period

    looked = []
    real = period.L.pte_line

    def counting(*args):
        looked.append(1)
        return real(*args)

    monkeypatch.setattr(period.L, "pte_line", counting)
    text = long_lesson(65536, 4, ['do = "read"', 'do = "write"'])
    assert_skip_exact(text, "modern", deltas=False)
    assert 0 < len(looked) < 3_500  # 2,139 lines; 6,076 when every wide checkpoint took its signature


# ------------------------------------------------------------------ the long runs (./dev test-slow)
@pytest.mark.slow
@pytest.mark.parametrize("kernel", VARIANTS)
@settings(max_examples=int(os.environ.get("ZPVIZ_EXAMPLES", "2000")) // 4, **SETTINGS)
@given(text=lessons())
def test_random_lessons_same_records_long(kernel, text):
    assert_same(text, kernel)


@pytest.mark.slow
@settings(max_examples=int(os.environ.get("ZPVIZ_EXAMPLES", "2000")) // 4, **SETTINGS)
@given(case=long_lessons())
def test_random_long_lessons_skip_exactly_long(case):
    text, kernel = case
    assert_skip_exact(text, kernel)


@pytest.mark.parametrize("pages,cpus,kernel,steps,deltas", [
    (40000, 2, "modern", ['do = "read"'], True), (20480, 1, "2.6.23", ['do = "read"', 'do = "write"'], True),
    (20480, 1, "2.6.23", ['do = "read"', 'do = "write"'], False)])
def test_a_known_future_is_written_again_as_a_prefix(pages, cpus, kernel, steps, deltas):
    """Where the state repeats an earlier checkpoint's but the whole period between them no longer
    fits before the step ends, what followed the earlier checkpoint is written again as far as it
    fits (period._prefix): a stretch whose end state differs from its start. Still exact."""
    text = long_lesson(pages, cpus, steps)
    m = Machine(loads(text, "period.toml"), kernel, record_deltas=deltas)
    m.sweep_enabled = False
    list(m.run_steps())
    assert m.prefix_events > 0  # (the lesson does take that path)
    assert_skip_exact(text, kernel, deltas)


@pytest.mark.parametrize("pages,cpus,kernel", [(20000, 4, "modern"), (20000, 4, "2.6.23"), (40000, 2, "2.6.23")])
def test_the_tail_after_a_template_is_written_as_its_start(monkeypatch, pages, cpus, kernel):
    """Where a template's whole period no longer fits before the step ends (the state has its
    signature, not its per-cpu counts), a refill-free start of it that fits is written instead of
    played (period._prefix with `within`): still exact."""
    from zpviz.engine import period

    written = []
    real = period.PeriodSkipper._prefix

    def noting(self, a, c, active, pos, within=None):
        done = real(self, a, c, active, pos, within)
        if within is not None and done:
            written.append(done)
        return done

    monkeypatch.setattr(period.PeriodSkipper, "_prefix", noting)
    text = long_lesson(pages, cpus, ['do = "read"'])
    m = Machine(loads(text, "period.toml"), kernel)
    m.sweep_enabled = False
    list(m.run_steps())
    assert written  # (the lesson does take that path)
    assert_skip_exact(text, kernel)


@pytest.mark.parametrize("pages,cpus,kernel", [(40000, 2, "modern"), (30000, 1, "2.6.23"), (30000, 1, "v5")])
def test_a_template_carries_the_step_on_after_a_refill(monkeypatch, pages, cpus, kernel):
    """After a per-cpu refill breaks the loose matches, an earlier refill-free period of the same
    signature is written again from the current checkpoint: still exact."""
    from zpviz.engine import period

    moved = []
    real = period.PeriodSkipper._skip

    def noting(self, a, b, c, *rest):
        done = real(self, a, b, c, *rest)
        if done and c is not b:
            moved.append(done)
        return done

    monkeypatch.setattr(period.PeriodSkipper, "_skip", noting)
    assert_skip_exact(long_lesson(pages, cpus, ['do = "read"']), kernel)
    assert moved


@pytest.mark.parametrize("kernel,sockets", [("modern", 1), ("v5", 1), ("2.6.32", 1)])
def test_zero_page_reads_write_the_warm_up_tables_as_stretches(monkeypatch, kernel, sockets):
    """Where no fault allocates, stretches start at the second period checkpoint, a chain of them
    stops at each period checkpoint (so the period skip still sees the state there) and a table's
    transient is played without micro checkpoints (MicroPeriods.lead): still exact."""
    from zpviz.engine import micro

    leads, chain_ends = [], []
    real_at, real_write = micro.MicroPeriods.at_period_checkpoint, micro.MicroPeriods._write

    def at(self, p0, wrote):
        before = self.resume_at
        real_at(self, p0, wrote)
        if self.resume_at != before:
            leads.append(self.resume_at - p0)

    def write(self, chain, c, pos):
        done = real_write(self, chain, c, pos)
        chain_ends.append((pos[self.s.c0], self.s.every))
        return done

    monkeypatch.setattr(micro.MicroPeriods, "at_period_checkpoint", at)
    monkeypatch.setattr(micro.MicroPeriods, "_write", write)
    text = long_lesson(24576, 4, ['do = "read"'], sockets=sockets)
    assert assert_skip_exact(text, kernel) > 12000
    assert leads and all(0 < d < 128 for d in leads)  # (128: CPU 0's positions between period checkpoints)
    assert any(end % every == 0 for end, every in chain_ends)
