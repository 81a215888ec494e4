"""distinct(): np.unique of an integer array, without numpy.ma.

numpy 2's np.unique asks np.ma.is_masked of its input, and so imports numpy.ma (13 ms) the first
time it runs: in a cold start that is the first simulation, on the way to the first picture
(docs/startup.md). A sort and a comparison of neighbours give the same sorted distinct values.
"""

from __future__ import annotations

import numpy as np


def distinct(a) -> np.ndarray:
    """The distinct values of `a` (integers, any shape), sorted, in a's dtype: np.unique(a)."""
    s = np.sort(np.asarray(a), axis=None)  # a sorted flat copy
    if len(s) < 2:
        return s
    keep = np.empty(len(s), bool)
    keep[0] = True
    np.not_equal(s[1:], s[:-1], out=keep[1:])
    return s[keep]
