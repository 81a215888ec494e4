"""The counters' y axes fit the largest value shown; PrefixMax answers that without a pass over
the whole series, and must answer exactly what the pass did."""

from __future__ import annotations

import numpy as np
import pytest

from zpviz.gui.counters import PrefixMax

B = PrefixMax.BLOCK


@pytest.mark.parametrize("n", [0, 1, 7, B - 1, B, B + 1, 3 * B + 17])
def test_prefix_max_is_the_max_of_the_prefix(n):
    rng = np.random.default_rng(n)
    for a in (rng.integers(-5, 1000, n), rng.random(n) * 1e6, np.cumsum(rng.integers(0, 3, n)), -np.ones(n)):
        pm = PrefixMax(a)
        for k in range(-1, n + 3):
            assert pm.upto(k) == a[:max(k, 0)].max(initial=0), (n, k)
