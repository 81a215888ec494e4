"""CacheModel.access_writes (the bulk path's) must answer exactly as CacheModel.access does."""

from __future__ import annotations

import copy

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from zpviz.engine import cache as L
from zpviz.engine.cache import CacheModel
from zpviz.engine.costs import Costs
from zpviz.engine.period import pte_line_ids, ptl_line_ids

LINES = [L.ZERO_LINE, L.HZERO_LINE, L.ZONE_LOCK, L.struct_page_line(2000), L.pte_line(0, 8), L.ptl_line(1, 0)]
events = st.lists(st.tuples(st.integers(0, 3), st.integers(0, 300),
                            st.lists(st.tuples(st.sampled_from(LINES), st.booleans()), min_size=1, max_size=6)),
                  min_size=1, max_size=40)


@settings(max_examples=200, deadline=None)
@given(history=events, cpu=st.integers(0, 3), t=st.integers(0, 5000),
       lines=st.lists(st.sampled_from(LINES), min_size=1, max_size=6), sockets=st.sampled_from([[0] * 4, [0, 0, 1, 1]]))
def test_write_only_access_is_access(history, cpu, t, lines, sockets):
    m = CacheModel(4, sockets, Costs())
    clock = 0
    for c, dt, acc in history:  # reads and writes in any order leave lines shared, owned, busy
        clock += dt
        m.access(c, clock, acc, [])
    a, b = m, copy.deepcopy(m)
    out_a: list[int] = []
    out_b: list[int] = []
    assert a.access(cpu, t, [(ln, True) for ln in lines], out_a) == b.access_writes(cpu, t, lines, out_b)
    assert out_a == out_b
    assert (a.owner, a.sharers, a.busy, a.zero_writes, a.zero_transfers, a.hzero_writes, a.hzero_transfers) == \
           (b.owner, b.sharers, b.busy, b.zero_writes, b.zero_transfers, b.hzero_writes, b.hzero_transfers)


def test_vectorised_line_ids_are_the_cache_models():
    """period.py names the lines of whole page ranges at once; they must be the lines the model uses."""
    vp = [0, 7, 8, 511, 512, 0x7F0000123]
    for proc in (0, 3):
        assert pte_line_ids(proc, np.array([v // 8 for v in vp])).tolist() == [L.pte_line(proc, v) for v in vp]
        assert ptl_line_ids(proc, np.array([v // 512 for v in vp])).tolist() == [L.ptl_line(proc, v) for v in vp]
