"""The period skip's writes (engine/period.py): the pages of a skip's copies written run by run as
slices must be what the one scatter over all their pages writes, and both what the bulk loop plays.

test_bulk.py holds every skip to the loop; here the slice writes are also held to the scatter they
stand for (period.MIN_RUN set so high that no skip takes the slices), and `_runs`, which decides,
to a plain count of the pages.
"""

from __future__ import annotations

import random

import pytest

from tests.engine.test_bulk import long_lesson, not_skipping, skipping
from zpviz.engine import period


def brute_runs(x: list[int], shift: int, k: int) -> list[tuple[int, int]] | None:
    pages = [v + j * shift for j in range(k) for v in x]
    if len(set(pages)) != len(pages):
        return None
    runs: list[tuple[int, int]] = []
    for v in sorted(x):
        if runs and runs[-1][1] == v:
            runs[-1] = (runs[-1][0], v + 1)
        else:
            runs.append((v, v + 1))
    return runs


def test_runs_are_the_pages_and_refuse_any_page_written_twice():
    import numpy as np

    rnd = random.Random(18)
    for _ in range(400):
        n = rnd.randrange(1, 60)
        lo = rnd.randrange(0, 1000)
        x = [lo + rnd.randrange(0, 2 * n) for _ in range(n)]
        if rnd.random() < 0.5:
            x = sorted(set(x))
            rnd.shuffle(x)
        shift, k = rnd.randrange(1, 3 * n), rnd.randrange(1, 5)
        assert period._runs(np.array(x, np.int64), shift, k) == brute_runs(x, shift, k), (x, shift, k)


@pytest.mark.parametrize("kernel,steps,cpus,pages", [
    ("modern", ['do = "read"'], 4, 24576),  # zero-page reads: no frame moves
    ("2.6.24", ['do = "read"'], 1, 70000),  # reads that allocate: every page's pfn moves, frames copied
    ("2.6.23", ['do = "write"'], 1, 70000),  # writes (the sweep off, as in test_bulk): new frames
    ("modern", ['do = "write"'], 2, 40000),  # pages in three runs
    ("v5", ['do = "read"', 'do = "write"'], 2, 24576),  # writes over the zero page a read left
])
def test_slices_write_what_the_scatter_writes(monkeypatch, kernel, steps, cpus, pages):
    runs = []
    real = period._runs

    def noting(x, shift, k):
        out = real(x, shift, k)
        runs.append(out is not None and len(out) * period.MIN_RUN <= len(x))
        return out

    monkeypatch.setattr(period, "_runs", noting)
    text = long_lesson(pages, cpus, steps)
    sliced, skipped = skipping(text, kernel)
    assert skipped > 8000 and any(runs)  # the slices were taken
    monkeypatch.setattr(period, "MIN_RUN", 1 << 40)
    scattered, skipped_too = skipping(text, kernel)
    assert skipped_too == skipped
    played = not_skipping(text, kernel)
    for key in played:
        assert sliced[key] == scattered[key] == played[key], f"{key} differs under {kernel}"
