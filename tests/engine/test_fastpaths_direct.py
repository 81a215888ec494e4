"""Every fast configuration of the engine, checked directly against the general path.

The engine's fast paths (the bulk loop, bulk.py; its period skips, period.py; the memoised
stretches, micro.py; the sweep, sweep.py) stand in for the general path (core.py, faults.py,
walks.py) on the steps they cover. The older tests compare them in a chain (the skips against the
bulk loop, the sweep against bulk plus skips) or on lessons below the size at which the skips
start (period.MIN_PAGES). Here each fast configuration is played and compared with the GENERAL
path (every fast path off) on the same lesson: every event column, every kernel path, every log
line and scalar, every delta record (per event, in order), the state at each step's end and at
sampled events, and the final machine state. The lessons are big enough for the skips to engage
and cover read, write, COW, mlock, fork, munmap and MADV_DONTNEED, all five variants, 1, 4 and 16
CPUs on one and two sockets.

Only public results are compared (the Trace that run_machine returns and the machine's final
state), so the check survives a change of how the engine computes them. Two things are internal
and kept in one place each: the switches that turn fast paths off (SWITCHES, asserted to exist so
that a renamed switch cannot silently leave a fast path on) and the trace's delta records
(`delta_records`).

Whether a skip actually engaged is a benchmark figure, not a correctness claim: the diagnostic
test at the end asserts it only so that these checks cannot pass by never reaching the skips.
The full matrix and 200 random lessons are `slow` (./dev test-slow).
"""

from __future__ import annotations

import os
import random
import weakref
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pytest

from tests.engine.util import VARIANTS
from zpviz.engine import sweep as sweep_module
from zpviz.engine.machine import Machine
from zpviz.engine.period import MIN_PAGES
from zpviz.engine.run import run_machine
from zpviz.scenario import loads

# ------------------------------------------------------------------ configurations
SWITCHES = ("bulk_enabled", "period_skip", "micro_skip", "sweep_enabled", "populate_enabled",  # engine/bulk.py
            "populate_runs")
GENERAL = dict.fromkeys(SWITCHES, False)
FAST = {  # every way the fast paths combine; "all" is what the app runs
    "bulk": dict(GENERAL, bulk_enabled=True),
    "bulk+periods": dict(GENERAL, bulk_enabled=True, period_skip=True),
    "bulk+stretches": dict(GENERAL, bulk_enabled=True, period_skip=True, micro_skip=True),
    "sweep": dict(GENERAL, bulk_enabled=True, sweep_enabled=True),
    # the lean populate walk (populate.py) with its runs written at once (populate_runs.py), and page by page
    "populate": dict(GENERAL, bulk_enabled=True, populate_enabled=True, populate_runs=True),
    "populate-paged": dict(GENERAL, bulk_enabled=True, populate_enabled=True),
    "all": dict.fromkeys(SWITCHES, True),
}
SHAPES = {  # name: (cpus, sockets)
    "1cpu": (1, 1), "4cpu": (4, 1), "4cpu-2sock": (4, 2), "16cpu": (16, 1), "16cpu-2sock": (16, 2),
}


@contextmanager
def configured(switches: dict[str, bool]) -> Iterator[None]:
    """Machine's fast-path switches set as given for the duration (class attributes: run_machine
    builds its own Machine)."""
    missing = [name for name in switches if not hasattr(Machine, name)]
    assert not missing, f"the engine has no fast-path switch {missing}: update SWITCHES here"
    saved = {name: getattr(Machine, name) for name in switches}
    try:
        for name, value in switches.items():
            setattr(Machine, name, value)
        yield
    finally:
        for name, value in saved.items():
            setattr(Machine, name, value)


# what each fast run did, by (lesson, kernel, configuration): for the diagnostic at the end
ENGAGED: dict[tuple[str, str, str], dict[str, int]] = {}


def play(text: str, kernel: str, switches: dict[str, bool], name: str = ""):
    """run_machine under the given switches: (final machine, trace). Notes how many events the
    skips wrote and how many write and read steps the sweep took, under ENGAGED[(text, kernel, name)]."""
    swept: list[bool] = []
    swept_reads: list[bool] = []
    plan = sweep_module.Sweep.plan

    def noting(self) -> bool:
        got = plan(self)
        (swept if self.write else swept_reads).append(got)
        return got

    sweep_module.Sweep.plan = noting
    try:
        with configured(switches):
            m, tr = run_machine(loads(text, "direct.toml"), kernel)
    finally:
        sweep_module.Sweep.plan = plan
    ENGAGED[(text, kernel, name)] = {"skipped": m.skipped_events, "swept": sum(swept),
                                     "swept_reads": sum(swept_reads), "swept_events": m.swept_events,
                                     "populated": m.populated_pages}
    ENGAGED[(text, kernel, name)]["batched"] = m.batched_pages  # (pages the populate runs wrote)
    ENGAGED[(text, kernel, name)]["tables"] = m.batched_tables  # (PTE tables they made)
    return m, tr


# ------------------------------------------------------------------ what is compared
_RECORDS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # trace -> its delta_records


def delta_records(tr) -> dict[str, np.ndarray]:
    """Per-event delta records of a trace, in event order: the slot and frame records (their
    counts per event and every field), and each event's counter increments spelled out (pattern
    ids are the recorder's own numbering, so they are compared as the pairs they stand for).
    The one place this file reads the trace's delta storage."""
    if tr in _RECORDS:
        return _RECORDS[tr]
    d = tr._d
    n = tr.n_events
    out = {f"sd.{k}": v for k, v in d.sd.items()} | {f"fd.{k}": v for k, v in d.fd.items()}
    for kind in ("sd", "fd"):  # records per event
        out[f"{kind}.counts"] = np.asarray(d._counts[kind][:n], np.int64)
        ids = out["sd.slot"] if kind == "sd" else out["fd.pfn"]
        assert int(out[f"{kind}.counts"].sum()) == d.offset(kind, n) == len(ids)
    cut = np.cumsum(np.bincount(d.pat_of, minlength=d.n_patterns))[:-1]  # pat_of runs 0, 0, 1, ...
    order = np.argsort(d.pat_of, kind="stable")
    pairs = [tuple(zip(k.tolist(), v.tolist()))
             for k, v in zip(np.split(d.pat_key[order], cut), np.split(d.pat_val[order], cut))]
    canon = {pt: i for i, pt in enumerate(sorted(set(pairs)))}
    out["cd.pairs"] = np.array([canon[pt] for pt in pairs], np.int64)[d.cd_pid[:n]]
    out["cd.patterns"] = sorted(canon)
    _RECORDS[tr] = out
    return out


def final_state(m) -> dict:
    """The machine after the lesson: pages, frames, allocator, clocks, counters, caches, tables."""
    return {
        "slots": (bytes(m.slots.pte), bytes(m.slots.pfn), bytes(m.slots.vmf)),
        "frames": (bytes(m.frames.refcount), bytes(m.frames.mapcount), bytes(m.frames.flags), bytes(m.frames.kind),
                   list(m.frames.free), m.frames.next_pfn),
        "scalars": m.scalar_values(), "counters": list(m.counters), "clock": list(m.clock), "pcp": m.pcp,
        "cache": (m.cache.owner, m.cache.sharers, m.cache.busy),
        "procs": [(p.name, p.alive, sorted(p.pte_tables), p.upper_tables, p.huge_pmds,
                   [(v.name, v.anon_vma) for v in p.vmas.values()]) for p in m.procs],
        "notes": list(m.notes), "kernel_log": list(m.kernel_log),
    }


def sampled_frames(tr, k: int = 24) -> list[int]:
    """Frames at every step's start and end and at k events spread over the run."""
    ends = {tr.step_end_frame(-1)} | {r.first_event for r in tr.step_results} | {r.end_event for r in tr.step_results}
    return sorted(ends | set(np.linspace(0, len(tr) - 1, k).astype(int).tolist()))


def first_difference(a: np.ndarray, b: np.ndarray) -> str:
    if a.shape != b.shape:
        return f"lengths {a.shape} vs {b.shape}"
    i = int(np.flatnonzero(a != b)[0])
    return f"first at index {i}: {a[i]!r} vs {b[i]!r}"


def assert_same(text: str, kernel: str, name: str, fast, general) -> None:
    """The fast run's trace and final state equal the general run's, record for record."""
    (fm, ft), (gm, gt) = fast, general
    where = f"{name} vs general under {kernel}"
    assert ft.n_events == gt.n_events, f"{where}: {ft.n_events} events vs {gt.n_events}\n{text}"
    for col in gt.events:
        a, b = ft.events[col], gt.events[col]
        assert np.array_equal(a, b), f"{where}: event column {col}, {first_difference(a, b)}\n{text}"
    assert ft.paths == gt.paths, f"{where}: kernel paths differ\n{text}"
    assert ft.logs == gt.logs, f"{where}: per-event log lines differ\n{text}"
    sa, sb = np.asarray(ft.scalars), np.asarray(gt.scalars)
    assert np.array_equal(sa, sb), f"{where}: scalars, {first_difference(sa.ravel(), sb.ravel())}\n{text}"
    assert ft.step_results == gt.step_results, f"{where}: step results differ\n{text}"
    da, db = delta_records(ft), delta_records(gt)
    for key in db:
        if isinstance(db[key], np.ndarray):
            ok = np.array_equal(da[key], db[key])
            assert ok, f"{where}: delta records {key}, {first_difference(da[key], db[key])}\n{text}"
        else:
            assert da[key] == db[key], f"{where}: delta records {key} differ\n{text}"
    for i in sampled_frames(gt):
        x, y = ft.frame(i), gt.frame(i)
        for field in ("pte", "pfn", "vmf", "refcount", "mapcount", "pflags", "fkind", "cpu"):
            assert np.array_equal(getattr(x, field), getattr(y, field)), f"{where}: frame {i} {field}\n{text}"
        assert x.scalars == y.scalars, f"{where}: frame {i} scalars\n{text}"
    fa, fb = final_state(fm), final_state(gm)
    for key in fb:
        assert fa[key] == fb[key], f"{where}: final {key} differs\n{text}"


# the default suite's lessons leave out the lean populate walk page by page (the populate lessons
# below and test_one_rule.py check it; its runs, in `populate` and `all`, play those lessons' mlock)
QUICK_CONFIGS = tuple(name for name in FAST if name != "populate-paged")


def assert_all_configs_match(text: str, kernel: str, configs=QUICK_CONFIGS) -> None:
    general = play(text, kernel, GENERAL, "general")
    for name in configs:
        assert_same(text, kernel, name, play(text, kernel, FAST[name], name), general)


# ------------------------------------------------------------------ the fixed lessons
def ops_lesson(pages: int, cpus: int, sockets: int, locked: int = 512, other: int | None = None) -> str:
    """Every operation the issue names, over steps of `pages` pages (the size the skips need):

    a read (zero-page or new-page faults), the COW that writes it, a write to empty PTEs,
    MADV_DONTNEED of half then a read and a write over it (frames come back from the zap), mlock
    of a fresh region (populate) and of present pages, fork, a write in the child (COW of shared
    real pages: general path), writes and reads of a region neither touched before the fork (fast
    paths again, with two processes' lines about) and munmap. `pages` is the size of the vma
    read and written first, `other` (default: the same) of the others."""
    every = list(range(cpus))
    half = pages // 2
    other = other or pages
    text = (f'[scenario]\ntitle = "direct"\ncpus = {cpus}\nsockets = {sockets}\n'
            f'[[vma]]\nname = "r"\npages = {pages}\n[[vma]]\nname = "w"\npages = {other}\n'
            f'[[vma]]\nname = "x"\npages = {other}\n[[vma]]\nname = "m"\npages = {locked}\n')
    steps = [
        'do = "read"\nvma = "r"', 'do = "write"\nvma = "r"', 'do = "write"\nvma = "w"',
        f'do = "madvise"\nadvice = "dontneed"\nvma = "r"\npages = "0-{half - 1}"',
        'do = "read"\nvma = "r"', 'do = "write"\nvma = "r"\ndeal = "block"',
        'do = "mlock"\nvma = "m"', f'do = "mlock"\nvma = "w"\npages = "0-{min(locked, other) - 1}"',
        'do = "fork"\nchild = "c"',
        f'do = "write"\nprocess = "c"\nvma = "r"\npages = "0-{pages - 1}/61"',
        'do = "write"\nvma = "x"', 'do = "read"\nprocess = "c"\nvma = "x"',
        f'do = "munmap"\nvma = "w"\npages = "{other // 2}-{other - 1}"',
        f'do = "write"\nprocess = "c"\nvma = "w"\npages = "{other // 2}-{other - 1}/3"',
    ]
    for s in steps:
        cpu_list = every if s.startswith(('do = "read"', 'do = "write"')) else every[:1]
        text += f"[[step]]\n{s}\ncpus = {cpu_list}\n"
    return text


# Just above the engagement thresholds: the skips start at MIN_PAGES pages a step, and the period
# skip needs a few PTE tables per CPU to come round (see test_the_skips_engage_in_the_fixed_lessons).
PAGES = {"1cpu": MIN_PAGES + 512, "4cpu": 2 * MIN_PAGES, "4cpu-2sock": MIN_PAGES + 512,
         "16cpu": 3 * MIN_PAGES, "16cpu-2sock": MIN_PAGES + 512}
OTHER = MIN_PAGES + 512  # the other vmas' steps: past MIN_PAGES, so the skips are tried there too


def fixed_lesson(shape: str) -> str:
    cpus, sockets = SHAPES[shape]
    return ops_lesson(PAGES[shape], cpus, sockets, other=OTHER)


# The default suite pairs each variant with one shape, every shape once (2.6.24 with 16 CPUs:
# every read allocates there); the slow run takes all 25 pairs, with every vma as big as the first
# (10 to 30 s each on 2 busy cores; with the 200 random lessons, 14 minutes).
QUICK = [("modern", "4cpu"), ("2.6.24", "16cpu"), ("2.6.23", "4cpu-2sock"), ("v5", "16cpu-2sock"),
         ("2.6.32", "1cpu")]


@pytest.mark.parametrize("kernel,shape", QUICK)
def test_fixed_lesson_every_config_as_general(kernel, shape):
    assert_all_configs_match(fixed_lesson(shape), kernel)


@pytest.mark.slow
@pytest.mark.parametrize("shape", list(SHAPES))
@pytest.mark.parametrize("kernel", VARIANTS)
def test_fixed_lesson_every_config_as_general_full_matrix(kernel, shape):
    cpus, sockets = SHAPES[shape]
    pages = max(PAGES[shape], 2 * MIN_PAGES)
    assert_all_configs_match(ops_lesson(pages, cpus, sockets, locked=MIN_PAGES, other=pages), kernel, tuple(FAST))


# ------------------------------------------------------------------ the read sweep
@pytest.mark.parametrize("kernel", ["2.6.24", "modern"])
@pytest.mark.parametrize("shape", ["16cpu", "16cpu-2sock"])
def test_read_sweep_on_16_cpus_as_general(monkeypatch, kernel, shape):
    """The read sweep on 16 CPUs, one socket and two, where reads allocate (2.6.24) and where
    they map the zero page (modern): asked for every read step (Sweep.worth would leave modern's
    one-socket reads to the skips), the `sweep` and `all` configurations against the general path.
    The swept faults are counted to show it engaged: every read fault of the lesson."""
    monkeypatch.setattr(sweep_module.Sweep, "worth", lambda self: True)
    cpus, sockets = SHAPES[shape]
    pages = MIN_PAGES + 512
    text = (f'[scenario]\ntitle = "reads"\ncpus = {cpus}\nsockets = {sockets}\n[[vma]]\nname = "r"\n'
            f'pages = {pages}\n')
    for step in (f'do = "read"\npages = "0-{pages - 1}/2"', 'do = "read"\ndeal = "block"', 'do = "write"'):
        text += f"[[step]]\nvma = \"r\"\ncpus = {list(range(cpus))}\n{step}\n"
    assert_all_configs_match(text, kernel, configs=("sweep", "all"))
    got = ENGAGED[(text, kernel, "sweep")]
    assert got["swept_reads"] == 2, got
    writes = 0 if kernel == "2.6.24" else pages  # 2.6.24's write finds its pages writable: no fault
    assert got["swept_events"] == pages + writes, got


# ------------------------------------------------------------------ random lessons
def random_lesson(seed: int) -> tuple[str, str]:
    """A seeded random lesson on one random shape and variant: big strided or partial reads and
    writes (dealt either way) among mlock, munlock, MADV_DONTNEED, fork, munmap, mprotect and exit,
    over two vmas of a few thousand pages. Returns (text, kernel)."""
    rnd = random.Random(seed)
    kernel = rnd.choice(VARIANTS)
    cpus, sockets = SHAPES[rnd.choice(list(SHAPES))]
    sizes = {"a": rnd.randint(MIN_PAGES, 3 * MIN_PAGES), "b": rnd.randint(MIN_PAGES, 2 * MIN_PAGES)}
    text = f'[scenario]\ntitle = "random {seed}"\ncpus = {cpus}\nsockets = {sockets}\n'
    text += "".join(f'[[vma]]\nname = "{n}"\npages = {p}\n' for n, p in sizes.items())
    alive, forked = ["main"], False
    ops = ["read"] * 3 + ["write"] * 4 + ["mlock", "munlock", "dontneed", "munmap", "mprotect", "fork", "exit"]
    for _ in range(rnd.randint(4, 9)):
        op, proc = rnd.choice(ops), rnd.choice(alive)
        if op == "fork":
            if forked:
                continue
            forked = True
            alive.append("c")
            text += '[[step]]\ndo = "fork"\nchild = "c"\n'
            continue
        if op == "exit":
            if proc == "main":
                continue
            alive.remove(proc)
            text += f'[[step]]\ndo = "exit"\nprocess = "{proc}"\n'
            continue
        vma = rnd.choice(list(sizes))
        n = sizes[vma]
        big = op in ("read", "write")
        if big:  # mostly the whole vma; else still more than MIN_PAGES, where the skips start
            lo = rnd.choice([0, 0, 1, 777])
            hi = n - 1 if rnd.random() < 0.75 else rnd.randint(min(n - 1, lo + MIN_PAGES), n - 1)
        else:  # a page, a few PTE lines, a few tables, or everything from lo on
            lo = rnd.randint(0, n - 1)
            hi = min(n - 1, lo + rnd.choice([0, 40, 1500, n]))
        stride = rnd.choice([1, 1, 1, 2, 3]) if big else 1
        step = f'[[step]]\nprocess = "{proc}"\nvma = "{vma}"\npages = "{lo}-{hi}/{stride}"\n'
        if big:
            step += f'do = "{op}"\ncpus = {list(range(cpus))}\ndeal = "{rnd.choice(["round-robin", "block"])}"\n'
        elif op == "dontneed":
            step += 'do = "madvise"\nadvice = "dontneed"\n'
        elif op == "mprotect":
            step += f'do = "mprotect"\nprot = "{rnd.choice(["r", "rw", "rw"])}"\n'
        else:
            step += f'do = "{op}"\n'
        text += step
    return text, kernel


RANDOM_QUICK = int(os.environ.get("ZPVIZ_DIRECT_EXAMPLES", "4"))
RANDOM_SLOW = int(os.environ.get("ZPVIZ_DIRECT_EXAMPLES_SLOW", "200"))


@pytest.mark.parametrize("seed", range(RANDOM_QUICK))
def test_random_lessons_every_config_as_general(seed):
    assert_all_configs_match(*random_lesson(seed))


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(1000, 1000 + RANDOM_SLOW))
def test_random_lessons_every_config_as_general_long(seed):
    assert_all_configs_match(*random_lesson(seed), tuple(FAST))


# ------------------------------------------------------------------ the checks can fail
def test_a_changed_record_is_caught():
    """The comparison itself: a trace with one event's time moved by 1 ns, or one delta changed,
    must not pass as the general path's."""
    text = ops_lesson(MIN_PAGES + 512, 1, 1)
    general = play(text, "modern", GENERAL)
    fast = play(text, "modern", FAST["all"])
    moved = fast[1].events["t1"].copy()  # a trace's columns are read-only: tamper with a copy
    moved[5000] += 1
    fast[1].events = {**fast[1].events, "t1": moved}
    with pytest.raises(AssertionError, match="event column t1, first at index 5000"):
        assert_same(text, "modern", "all", fast, general)
    fast = play(text, "modern", FAST["all"])
    fast[1]._d.fd["ref"][-1] += 1
    with pytest.raises(AssertionError, match="delta records fd.ref"):
        assert_same(text, "modern", "all", fast, general)
    fast = play(text, "modern", FAST["all"])
    fast[0].clock[0] += 1
    with pytest.raises(AssertionError, match="final clock"):
        assert_same(text, "modern", "all", fast, general)


def test_the_switches_turn_the_fast_paths_off(monkeypatch):
    """GENERAL really is the general path: the bulk loop, which every fast path is reached
    through, is never entered, and under FAST it is; FAST["all"] is what the engine runs."""
    from zpviz.engine import bulk

    entered = []
    real = bulk.Bulk.bulk_access

    def noting(self, *a, **kw):
        entered.append(1)
        return real(self, *a, **kw)

    assert {name: getattr(Machine, name) for name in SWITCHES} == FAST["all"], "the app's defaults"
    monkeypatch.setattr(bulk.Bulk, "bulk_access", noting)
    text = ops_lesson(MIN_PAGES + 512, 4, 1)
    play(text, "modern", GENERAL)
    assert entered == []
    play(text, "modern", FAST["bulk"])
    assert entered


# ------------------------------------------------------------------ diagnostic: the skips engage
def engagement(text: str, kernel: str) -> dict[str, int]:
    """What the fast configurations did on a lesson (from the comparison's own runs where they
    were made): events written by the period skips alone, by periods and stretches, and the write
    steps the sweep took."""
    for name in ("bulk+periods", "bulk+stretches", "sweep", "populate"):
        if (text, kernel, name) not in ENGAGED:
            play(text, kernel, FAST[name], name)
    return {"periods": ENGAGED[(text, kernel, "bulk+periods")]["skipped"],
            "stretches": ENGAGED[(text, kernel, "bulk+stretches")]["skipped"],
            "swept_steps": ENGAGED[(text, kernel, "sweep")]["swept"],
            "swept_read_steps": ENGAGED[(text, kernel, "sweep")]["swept_reads"],
            "populated": ENGAGED[(text, kernel, "populate")]["populated"]}


@pytest.mark.parametrize("kernel,shape", QUICK)
def test_the_skips_engage_in_the_fixed_lessons(kernel, shape):
    """Not a correctness claim (skip counts are benchmark figures): the fixed lessons above must
    reach every fast path, or comparing them with the general path proves little.

    The period skip needs the whole machine to repeat: under 2.6.24 every read allocates, so
    that takes a whole cycle of every per-cpu free list (tens of thousands of pages), and on 16
    CPUs over two sockets it hardly ever happens at these sizes (modern: none up to 32,768
    pages); the stretches carry those steps."""
    got = engagement(fixed_lesson(shape), kernel)
    if kernel != "2.6.24" and (shape != "16cpu-2sock" or kernel == "2.6.23"):
        assert got["periods"] > 0, got
    assert got["stretches"] > got["periods"], got
    assert got["swept_steps"] >= 1, got
    # read steps on 3 CPUs or more whose faults allocate (2.6.24), or on 16 over two sockets: the sweep's
    # (Sweep.worth): the two reads of "r" at least
    if (kernel, shape) in (("2.6.24", "16cpu"), ("2.6.24", "4cpu"), ("2.6.24", "4cpu-2sock"), ("v5", "16cpu-2sock")):
        assert got["swept_read_steps"] >= 2, got
    # the mlock of the fresh region "m": all but its first pages (a PTE table, the anon_vma,
    # the page the walk learns from) go through the lean populate walk
    assert got["populated"] >= 500, got
    # ... and most of those as runs written at once (populate_runs.py): the walk is alone on CPU 0
    batched = ENGAGED[(fixed_lesson(shape), kernel, "populate")]["batched"]
    assert batched >= 400, batched


# ------------------------------------------------------------------ populate with other CPUs' work
def random_populate_lesson(seed: int) -> tuple[str, str]:
    """A seeded random lesson around the populate walk: MAP_LOCKED / MAP_POPULATE regions and
    mlock() / munlock() of several processes at once on 2 to 4 CPUs, their regions unlike (the
    first process wrote part of its own first): the walks interleave, and where one CPU has two
    processes to walk, the later walk starts among the others and ends alone (where the populate
    runs engage). Among them, writes that leave present pages and PTE lines behind on every CPU,
    MADV_DONTNEED and munmap that free frames (the free list), and reads. Returns (text, kernel)."""
    rnd = random.Random(seed)
    kernel = rnd.choice(VARIANTS)
    cpus = rnd.choice([2, 3, 4])
    sockets = 1 if cpus % 2 else rnd.choice([1, 2])
    procs = cpus + rnd.randint(1, 2)
    every = list(range(cpus))
    sizes = {"a": rnd.randint(700, 2600), "b": rnd.randint(300, 1500)}
    text = (f'[scenario]\ntitle = "populate {seed}"\ncpus = {cpus}\nsockets = {sockets}\n'
            f'[[process]]\nname = "app"\ncount = {procs}\n')
    for name, pages in sizes.items():
        text += f'[[vma]]\nname = "{name}"\nprocess = "app"\npages = {pages}\n'
    text += f'[[vma]]\nname = "l"\nprocess = "app"\npages = {rnd.randint(200, 1200)}\n'
    text += rnd.choice(["locked = true\n", "populate = true\n", ""])
    lo = rnd.randint(0, sizes["a"] // 2)
    text += f'[[step]]\nprocess = "app0"\nvma = "a"\npages = "{lo}-{sizes["a"] - 1}"\ndo = "write"\ncpus = {every}\n'
    for _ in range(rnd.randint(2, 6)):
        vma = rnd.choice(list(sizes))
        n = sizes[vma]
        lo = rnd.choice([0, 0, rnd.randint(0, n - 1)])
        hi = rnd.choice([n - 1, min(n - 1, lo + rnd.randint(0, 900))])
        op = rnd.choice(["mlock", "mlock", "mlock", "munlock", "write", "read", "dontneed", "munmap"])
        who = rnd.choice(['"app*"', '"app*"', '"app1"']) if op != "mlock" else '"app*"'
        step = f'[[step]]\nprocess = {who}\nvma = "{vma}"\npages = "{lo}-{hi}"\ncpus = {every}\n'
        if op == "dontneed":
            step += 'do = "madvise"\nadvice = "dontneed"\n'
        else:
            step += f'do = "{op}"\n'
        text += step
    return text, kernel


RANDOM_POPULATE_QUICK = int(os.environ.get("ZPVIZ_DIRECT_POPULATE_EXAMPLES", "6"))


@pytest.mark.parametrize("seed", range(RANDOM_POPULATE_QUICK))
def test_random_populate_lessons_as_general(seed):
    assert_all_configs_match(*random_populate_lesson(seed), configs=("populate", "populate-paged", "all"))


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(2000, 2000 + RANDOM_SLOW // 2))
def test_random_populate_lessons_as_general_long(seed):
    assert_all_configs_match(*random_populate_lesson(seed), configs=("populate", "populate-paged", "all"))


def test_the_populate_runs_engage_with_other_cpus_about():
    """Not a correctness claim: the random populate lessons reach the runs (populate_runs.py), some
    of them in a walk that began with other CPUs' walks interleaved, or the checks prove little."""
    batched = 0
    for seed in range(RANDOM_POPULATE_QUICK):
        text, kernel = random_populate_lesson(seed)
        if (text, kernel, "populate") not in ENGAGED:
            play(text, kernel, FAST["populate"], "populate")
        batched += ENGAGED[(text, kernel, "populate")]["batched"]
    assert batched >= 1000, batched


# mlock of 32 PTE tables' worth, two of them made before by writes of a few pages (one on 2 CPUs):
# past 31 tables made in a row, a refill falls on a table's allocation and on its first page's
# (a table's allocations move on by 513 = 17 mod PCP_BATCH)
SPAN_TABLES = ('[scenario]\ntitle = "tables"\ncpus = 2\nsockets = 2\n[[vma]]\nname = "t"\npages = 16384\n'
               '[[step]]\ndo = "write"\nvma = "t"\npages = "1600-1700/7"\ncpus = [0, 1]\n'
               '[[step]]\ndo = "write"\nvma = "t"\npages = "4100-4200"\ncpus = [1]\n'
               '[[step]]\ndo = "mlock"\nvma = "t"\n')


@pytest.mark.parametrize("kernel", VARIANTS)
def test_populate_runs_across_pte_tables_as_general(kernel):
    """The populate runs go on past a PTE table's end: the next table's first page (the table's
    frame allocated first, its struct page written before the page's, a refill at either
    allocation) is one more kind of page in the run, as the general walk played the first such
    page; tables made before (the writes) are crossed as plain ones. Against the general path;
    and (not a correctness claim) the runs made most of the tables, or this proves little."""
    assert_all_configs_match(SPAN_TABLES, kernel, configs=("populate", "all"))
    got = ENGAGED[(SPAN_TABLES, kernel, "populate")]
    assert got["tables"] >= 24 and got["batched"] >= 15500, got


@pytest.mark.parametrize("kernel", ["2.6.23", "modern"])
def test_populate_runs_across_pte_tables_without_a_trace(kernel):
    """A report-only run (the runs add their counters to the live totals) of SPAN_TABLES ends as
    the general walk's, the runs having made tables."""
    ends = []
    for fast in (True, False):
        m = Machine(loads(SPAN_TABLES, "direct.toml"), kernel, record_deltas=False)
        m.populate_enabled = m.populate_runs = fast
        list(m.run_steps())
        ends.append((final_state(m), m.batched_tables))
    assert ends[0][1] >= 24 and ends[1][1] == 0, (ends[0][1], ends[1][1])
    assert ends[0][0] == ends[1][0]


@pytest.mark.parametrize("seed", range(3))
def test_populate_runs_without_a_trace(seed):
    """A report-only run (no deltas: the runs add their counters to the live totals instead of
    recording them) ends in the same state with the populate runs as without."""
    text, kernel = random_populate_lesson(seed)
    ends = []
    for runs in (True, False):
        m = Machine(loads(text, "direct.toml"), kernel, record_deltas=False)
        m.populate_runs = runs
        list(m.run_steps())
        ends.append((final_state(m), m.batched_pages))
    assert ends[0][1] > 0 and ends[1][1] == 0, (ends[0][1], ends[1][1])
    assert ends[0][0] == ends[1][0]


def test_populate_runs_report_progress_as_the_walk_does():
    """With a progress callback (the app sets one) the runs engage too, and make the calls the
    lean walk's events would have made, page by page: the same calls with the same counts, and a
    cancel at the same event."""
    from zpviz.engine.core import Cancelled

    text = ('[scenario]\ntitle = "progress"\ncpus = 4\n[[vma]]\nname = "t"\npages = 20000\n'
            '[[step]]\ndo = "write"\nvma = "t"\npages = "0-99"\ncpus = [0, 1, 2, 3]\n'
            '[[step]]\ndo = "mlock"\nvma = "t"\n')

    def run(runs: bool, progress) -> Machine:
        m = Machine(loads(text, "progress.toml"), "2.6.32")
        m.populate_runs = runs
        m.progress = progress
        list(m.run_steps())
        return m

    calls: dict[bool, list[int]] = {True: [], False: []}
    batched = {runs: run(runs, calls[runs].append).batched_pages for runs in (True, False)}
    assert batched[True] > 15000 and batched[False] == 0, batched
    assert calls[True] == calls[False] and len(calls[True]) == 4, calls
    for runs in (True, False):
        with pytest.raises(Cancelled, match="12,388"):
            run(runs, lambda n: n < 10000)


@pytest.mark.parametrize("shape", ["4cpu", "4cpu-2sock"])
def test_allocating_reads_on_4_cpus_swept_as_general(shape):
    """2.6.24's reads (each a new page) on 4 CPUs are the sweep's now (Sweep.worth: 3 CPUs or
    more), without forcing it: the `sweep` and `all` configurations against the general path,
    with the sweep's counter pattern ids handed to the seal; every read fault swept."""
    cpus, sockets = SHAPES[shape]
    pages = MIN_PAGES + 512
    text = (f'[scenario]\ntitle = "reads"\ncpus = {cpus}\nsockets = {sockets}\n[[vma]]\nname = "r"\n'
            f'pages = {pages}\n')
    for step in (f'do = "read"\npages = "0-{pages - 1}/2"', 'do = "read"\ndeal = "block"'):
        text += f"[[step]]\nvma = \"r\"\ncpus = {list(range(cpus))}\n{step}\n"
    assert_all_configs_match(text, "2.6.24", configs=("sweep", "all"))
    got = ENGAGED[(text, "2.6.24", "sweep")]
    assert got["swept_reads"] == 2 and got["swept_events"] == pages, got
