"""heap.py: where a run's memory comes from, and the cycle collector paused during a run."""

import gc
import sys

import pytest

from tests.engine.util import lesson
from zpviz.engine import heap
from zpviz.engine.run import simulate
from zpviz.scenario import loads

LESSON = lesson("""
[[vma]]
name = "t"
pages = 8192
[[step]]
do = "read"
vma = "t"
cpus = [0, 1]
""", cpus=2, extra='kernel = "modern"')


def test_the_collector_is_paused_inside_and_on_again_after():
    assert gc.isenabled()
    with heap.collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError), heap.collector_paused():
        raise RuntimeError("a run that fails")
    assert gc.isenabled()


def test_a_collector_that_was_off_stays_off():
    gc.disable()
    try:
        with heap.collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_run_pauses_the_collector_and_leaves_it_on():
    seen = []  # whether it was on at each progress call (every 4,096 events)
    simulate(loads(LESSON, "heap.toml"), progress=lambda n: seen.append(gc.isenabled()))
    assert seen and not any(seen)
    assert gc.isenabled()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_the_heap_settings_are_applied_once():
    first = heap.keep_freed_memory()
    assert heap.keep_freed_memory() is first
    assert isinstance(first, bool)
