"""A frame's page-level answers share one per-pfn look-up, and a frame may be made from a nearer
frame already made instead of its keyframe (docs/speed.md, "A seek"): both must give exactly what
the plain per-slot formulas and a keyframe give."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from zpviz.engine import constants as C
from zpviz.engine.run import simulate
from zpviz.present import codes as K
from zpviz.present import physmem
from zpviz.scenario import load, loads
from zpviz.scenario.model import VARIANTS

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"

# huge zero page and THPs, mlock (PG_mlocked and 2.6.23's VM_LOCKED), the zero page, sharing by fork
LESSONS = ("17-huge-zero-page.toml", "08-mlock-writable.toml", "tour.toml", "thp-fork")
# anon THPs and small pages shared by a fork: a THP counts as mapped more than once by its head's
# mapcount in whole huge pages
THP_FORK = """[scenario]
title = "thp fork"
cpus = 2
[[vma]]
name = "big"
pages = 1024
thp = true
[[vma]]
name = "small"
pages = 64
[[step]]
do = "write"
vma = "big"
pages = "0-1023"
[[step]]
do = "write"
vma = "small"
pages = "0-31"
[[step]]
do = "fork"
child = "kid"
"""


def _plain_states(f) -> np.ndarray:
    st = np.full(f.pte.shape, C.ST_NONE, np.uint8)
    mapped = (f.vmf & C.VM_MAPPED) != 0
    st[~mapped] = C.ST_UNMAPPED
    present = mapped & ((f.pte & C.PTE_P) != 0)
    pfn = np.where(present, f.pfn, 0)
    kind = f.fkind[pfn]
    head = pfn - pfn % C.HPAGE_PAGES
    compound = (f.pflags[pfn] & (C.PG_HEAD | C.PG_TAIL)) != 0
    mapc = np.where(compound, -(-f.mapcount[head] // C.HPAGE_PAGES), f.mapcount[pfn])
    st[present & (kind == C.FK_ANON)] = C.ST_ANON
    st[present & (kind == C.FK_ANON) & (mapc > 1)] = C.ST_SHARED
    st[present & (kind == C.FK_SHMEM)] = C.ST_SHARED
    st[present & (kind == C.FK_FILE)] = C.ST_FILE
    st[present & ((kind == C.FK_ZERO) | (kind == C.FK_HZERO))] = C.ST_ZERO
    return st


def _plain_flags(f, pg_mlocked: bool) -> tuple[np.ndarray, np.ndarray]:
    present = ((f.pte & C.PTE_P) != 0) & ((f.vmf & C.VM_MAPPED) != 0)
    pfn = np.where(present, f.pfn, 0)
    huge = present & (((f.pflags[pfn] & (C.PG_HEAD | C.PG_TAIL)) != 0) | (f.fkind[pfn] == C.FK_HZERO))
    if not pg_mlocked:
        return huge, present & ((f.vmf & C.VM_LOCKED) != 0)
    head = np.where((f.pflags[pfn] & C.PG_TAIL) != 0, pfn - pfn % C.HPAGE_PAGES, pfn)
    return huge, present & ((f.pflags[head] & C.PG_MLOCKED) != 0)


@pytest.fixture(scope="module", params=LESSONS)
def lesson_traces(request):
    sc = loads(THP_FORK, "thp-fork.toml") if request.param == "thp-fork" else load(SCENARIOS / request.param)
    return [simulate(sc, kernel=v) for v in VARIANTS]


def test_page_answers_match_the_per_slot_formulas(lesson_traces):
    seen = np.zeros(C.ST_FILE + 1, bool)
    huge_seen = mlocked_seen = False
    for tr in lesson_traces:
        for i in sorted({0, len(tr) - 1, *(tr.step_end_frame(k) for k in range(len(tr.step_results)))}):
            f = tr.frame(i)
            states = f.page_states()
            assert states.dtype == np.uint8 and np.array_equal(states, _plain_states(f))
            assert states.flags.writeable  # a new array for the caller, as before
            assert np.array_equal(f.states, states) and not f.states.flags.writeable
            for pg_mlocked in (True, False):
                huge, mlocked = _plain_flags(f, pg_mlocked)
                assert np.array_equal(f.page_huge(), huge)
                assert np.array_equal(f.page_mlocked(pg_mlocked), mlocked)
                special = ((f.pte & C.PTE_S) != 0) & ((f.pte & C.PTE_P) != 0)
                want = (states + 1) | (huge * K.HUGE) | (mlocked * K.MLOCKED) | (special * K.SPECIAL)
                codes = K.slot_codes(f, pg_mlocked)
                assert codes.dtype == np.uint8 and np.array_equal(codes, want.astype(np.uint8))
            present = ((f.pte & C.PTE_P) != 0) & ((f.vmf & C.VM_MAPPED) != 0)
            assert np.array_equal(f.present, present) and not f.present.flags.writeable
            pfn = np.where(present, f.pfn, -1)
            tiles = physmem.zero_tiles(f)
            assert tiles[0].ptes == int((pfn == physmem.ZERO_PFN).sum())
            hz = int(((pfn >= physmem.HZERO_PFN) & (pfn < physmem.HZERO_PFN + C.HPAGE_PAGES)).sum())
            assert hz == 0 or tiles[1].ptes == -(-hz // C.HPAGE_PAGES)
            seen[np.unique(states)] = True
            huge_seen |= bool(f.page_huge().any())
            mlocked_seen |= bool(f.page_mlocked(tr.kernel.pg_mlocked).any())
    assert huge_seen or mlocked_seen  # each lesson shows at least one of the flags it is here for
    assert seen[C.ST_NONE] and (seen[C.ST_ZERO] or seen[C.ST_SHARED])
    if lesson_traces[0].scenario.title == "thp fork":
        assert seen[C.ST_SHARED] and huge_seen


def test_page_bits_are_read_only_and_frames_stay_immutable(lesson_traces):
    f = lesson_traces[0].frame(len(lesson_traces[0]) - 1)
    assert not f.page_bits.flags.writeable
    for name in ("pte", "pfn", "vmf", "refcount", "mapcount", "pflags", "fkind", "cpu"):
        assert not getattr(f, name).flags.writeable
    with pytest.raises(dataclasses.FrozenInstanceError):
        f.index = 3  # type: ignore[misc]


def _fields(f) -> dict:
    return {k.name: getattr(f, k.name) for k in dataclasses.fields(f)}


def _same(a, b) -> None:
    fa, fb = _fields(a), _fields(b)
    for name, va in fa.items():
        if isinstance(va, np.ndarray):
            assert va.dtype == fb[name].dtype and np.array_equal(va, fb[name]), name
        else:
            assert va == fb[name], name


def test_a_frame_made_from_a_nearer_frame_is_the_keyframes_frame():
    tr = simulate(load(SCENARIOS / "tour.toml"), kernel="modern")
    assert tr._k > 8  # several events between keyframes, so nearer frames exist
    n = len(tr)
    rng = np.random.default_rng(5)
    # a drag forward, a drag back, and jumps: frames made from whatever the cache holds
    order = [*range(1, n, max(1, tr._k // 5)), *range(n - 1, 0, -max(1, tr._k // 3)),
             *rng.integers(0, n, 60).tolist()]
    made = {}
    for i in order:
        made[i] = tr.frame(int(i))
    for i, f in made.items():
        tr._cache.clear()  # from its keyframe alone
        _same(f, tr.frame(int(i)))


def test_a_frame_one_event_on_patches_the_nearer_frames_lookups_to_the_same_values(lesson_traces):
    """A frame made from the frame before it takes that frame's page look-ups where the events
    between them wrote nothing (shared) and patches them where they did: the same arrays as made
    whole, through faults, zero-page mappings (refcount only), THPs, mlock, forks and exits."""
    patched = shared = 0
    for tr in lesson_traces:
        n = len(tr)
        stops = sorted({1, n - 1, *(tr.step_end_frame(k) for k in range(len(tr.step_results)))})
        # walk a stretch after each step's end, and back over it, asking every frame's page bits
        order = [i for e in stops for i in range(max(1, e - 3), min(n, e + 40))]
        order += order[::-1][:200]
        tr._cache.clear()
        made = []
        for i in order:
            f = tr.frame(i)
            near = f.__dict__.get("_near")
            bits = f.page_bits
            if near is not None and near.page_bits is not None:
                patched += 1
                shared += f._pfn_bits is near.pfn_bits
            made.append((f, bits.copy(), f._present, f._pfn_bits))
        for f, bits, present, pfn_bits in made:
            whole = dataclasses.replace(f)  # the same arrays, none of the look-ups made
            assert "_near" not in whole.__dict__
            assert np.array_equal(bits, whole.page_bits) and not f.page_bits.flags.writeable
            for a, b in zip(present, whole._present, strict=True):
                assert a.dtype == b.dtype and np.array_equal(a, b) and not a.flags.writeable
            assert pfn_bits.dtype == whole._pfn_bits.dtype and np.array_equal(pfn_bits, whole._pfn_bits)
    assert patched > 100 and 0 < shared  # the patch taken, and the per-pfn bits shared


def test_frames_made_one_event_on_share_no_array_that_was_written():
    tr = simulate(load(SCENARIOS / "tour.toml"), kernel="2.6.24")
    fs = [tr.frame(i) for i in range(tr.step_end_frame(1), tr.step_end_frame(1) + 30)]
    for f in fs:
        for name in ("pte", "pfn", "vmf", "refcount", "mapcount", "pflags", "fkind", "cpu"):
            assert not getattr(f, name).flags.writeable
    tr._cache.clear()
    for f in fs:
        _same(f, tr.frame(f.index))  # the cached frames' arrays unchanged by the frames made after them
        tr._cache.clear()
