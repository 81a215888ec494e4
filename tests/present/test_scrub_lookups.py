"""What a scrub's seek looks up more cheaply is what the plain formulas give: physmem.sampled_pairs (the mapping
lines of a long step's prefix, by key level), frame_codes and zero_tiles (docs/speed.md, "eleventh session")."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from zpviz.engine import constants as C
from zpviz.present import physmem


def _frame(rng, n_slots: int, present: float):
    on = rng.random(n_slots) < present
    mapped = rng.random(n_slots) < 0.9  # a present PTE in a vma gone (not VM_MAPPED) draws no line
    return SimpleNamespace(pte=np.where(on, C.PTE_P | C.PTE_W, 0).astype(np.int64),
                           vmf=np.where(mapped, C.VM_MAPPED, 0).astype(np.int64),
                           pfn=rng.integers(1, 1 << 20, n_slots).astype(np.int32))


@pytest.mark.parametrize("present", [1.0, 0.5, 0.02, 0.0])
@pytest.mark.parametrize("limit", [50, 400])
def test_sampled_pairs_are_mapping_pairs(present, limit):
    """Prefixes short and long of a step's first touches, pages mostly present, half, few and none:
    the same slots in the same order, and their pfns. It fails with the level taken one too high or
    the prefix's end left out."""
    rng = np.random.default_rng(int(present * 100) + limit)
    n_slots = 20000
    fr = _frame(rng, n_slots, present)
    slots = rng.permutation(n_slots)[:15000].astype(np.int64)  # the step's first touches, in order
    keys = physmem.line_keys(slots)
    bits = physmem.key_bits(keys)
    levels = physmem.KeyLevels(bits)
    for n in (0, 1, limit - 1, limit, limit + 1, 3 * limit, 4000, 9999, 15000):
        want = physmem.mapping_pairs(fr, slots[:n], limit, keys[:n], bits[:n])
        got = physmem.sampled_pairs(fr, slots, n, levels, limit)
        assert got[0].tolist() == want[0].tolist(), n
        assert got[1].tolist() == want[1].tolist() and got[1].dtype == want[1].dtype == np.int64, n


def test_sampled_pairs_when_even_the_shortest_keys_overflow():
    """More present slots with key 0 than the limit: line_level is 0 and keeps those (all of them)."""
    rng = np.random.default_rng(3)
    fr = _frame(rng, 3000, 1.0)
    slots = np.arange(3000, dtype=np.int64)
    keys = np.where(slots % 3 == 0, 0, physmem.line_keys(slots))
    bits = physmem.key_bits(keys)
    want = physmem.mapping_pairs(fr, slots, 100, keys, bits)
    got = physmem.sampled_pairs(fr, slots, 3000, physmem.KeyLevels(bits), 100)
    assert len(want[0]) > 100 and got[0].tolist() == want[0].tolist() and got[1].tolist() == want[1].tolist()


@pytest.mark.parametrize("lesson", ["17-huge-zero-page.toml", "08-mlock-writable.toml", "11-fork.toml"])
def test_frame_codes_and_zero_tiles_are_the_plain_formulas(lesson):
    """frame_codes' flags from byte masks and zero_tiles' counts through masks are the plain per-frame
    formulas (np.where, the present pfns gathered) at frames over the lesson, under every variant:
    the huge zero page, mlock, shared pages."""
    from pathlib import Path

    from zpviz.engine.memory import HZERO_PFN, ZERO_PFN
    from zpviz.engine.run import simulate
    from zpviz.present import codes as K
    from zpviz.scenario import load
    from zpviz.scenario.model import VARIANTS

    sc = load(Path(__file__).resolve().parents[2] / "scenarios" / lesson)
    for variant in VARIANTS:
        tr = simulate(sc, variant)
        for i in sorted({*range(0, len(tr), max(1, len(tr) // 25)), len(tr) - 1}):
            fr = tr.frame(i)
            want = (fr.fkind.astype(np.uint8) + np.uint8(1)) & K.F_KIND_MASK
            want |= np.where((fr.pflags & C.PG_MLOCKED) != 0, K.F_MLOCKED, 0).astype(np.uint8)
            want |= np.where(fr.mapcount > 1, K.F_SHARED, 0).astype(np.uint8)
            got = K.frame_codes(fr)
            assert got.dtype == np.uint8 and got.tolist() == want.tolist(), (variant, i)
            pfn = fr.pfn[fr.present]
            tiles = physmem.zero_tiles(fr)
            assert tiles[0].ptes == int(np.count_nonzero(pfn == ZERO_PFN)), (variant, i)
            hz = int(np.count_nonzero((pfn >= HZERO_PFN) & (pfn < HZERO_PFN + C.HPAGE_PAGES)))
            assert (len(tiles) > 1 and tiles[1].ptes == -(-hz // C.HPAGE_PAGES)) or (len(tiles) == 1 and hz == 0)
