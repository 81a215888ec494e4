"""engine.distinct: np.unique's sorted distinct values, without numpy.ma (docs/startup.md)."""

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from zpviz.engine.distinct import distinct


@given(hnp.arrays(st.sampled_from([np.int64, np.int32, np.uint16, np.uint8, np.int8]),
                  hnp.array_shapes(min_dims=1, max_dims=2, min_side=0, max_side=40)))
def test_distinct_is_np_unique(a):
    got, want = distinct(a), np.unique(a)
    assert got.dtype == want.dtype
    assert np.array_equal(got, want)


def test_distinct_leaves_its_input_alone():
    a = np.array([3, 1, 3, 2], np.int64)
    assert distinct(a).tolist() == [1, 2, 3]
    assert a.tolist() == [3, 1, 3, 2]


@pytest.mark.parametrize("kernel", ["modern", "2.6.23"])
def test_simulating_the_tour_does_not_import_numpy_ma(kernel):
    """The first simulation of a process (the window's, on a busy machine) pays no 13 ms import
    of numpy.ma: np.unique asks np.ma.is_masked, so the engine uses distinct() instead."""
    code = ("import sys\n"
            "from zpviz.engine import simulate\n"
            "from zpviz.scenario import load\n"
            "from zpviz.scenario.library import tour_path\n"
            f"simulate(load(str(tour_path())), {kernel!r})\n"
            "print('numpy.ma' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip() == "False"
