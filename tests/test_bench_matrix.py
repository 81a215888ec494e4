"""The shape matrix (bench/matrix.py) leaves out a shape whose kind of fault the variant never takes,
rather than printing a ratio of noise (2.6.24's "COW": its reads mapped new writable pages)."""

from __future__ import annotations

import math

from bench import matrix as M

READ_THEN_WRITE = ['do = "read"', 'do = "write"']


def test_the_cow_step_counts_its_faults():
    text = M.lesson(64, 1, 1, READ_THEN_WRITE)
    assert M._timed(text, "2.6.24", 1)[1] == 0  # the read already mapped writable pages
    assert M._timed(text, "modern", 1)[1] == 64  # one COW of the zero page a page


def test_no_cow_rate_where_the_write_takes_no_fault():
    assert math.isnan(M.shape_rates("2.6.24", 1, 1, 64, 1)["cow"])
    assert M._shown(None) == "-" and M._shown(0.4567) == "0.46"
