"""Playback as a pure function of time: holds honoured, events spread over a step, stops, seeking."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zpviz.present import playback as PB


def plan_from(sizes, holds, setup=0):
    frames, f = [], setup
    for n in sizes:
        frames.append((f, f + n))
        f += n
    return PB.build_plan(frames, holds, f + 1, setup)


def test_each_step_lasts_its_hold_and_shows_its_last_frame():
    plan = plan_from([1, 100, 3], [2.0, 6.0, 4.0])
    segs = plan.segments
    assert [s.hold for s in segs] == [2.0, 6.0, 4.0]
    assert plan.total == pytest.approx(PB.LEAD_S + 12.0)
    assert PB.index_at(plan, 0.0) == 0  # the untouched state first
    assert PB.index_at(plan, segs[0].start) == 1
    big = segs[1]
    assert PB.index_at(plan, big.start) == big.first + 1  # the step's first event at once
    assert PB.index_at(plan, big.start + big.animate) == big.last  # all its events within ANIMATE of the hold
    assert big.animate <= PB.ANIMATE * 6.0
    assert PB.index_at(plan, big.start + big.hold - 0.01) == big.last  # then it rests
    assert PB.index_at(plan, plan.total + 5) == plan.n_frames - 1


def test_a_long_step_spreads_its_events_over_the_hold():
    plan = plan_from([16384], [6.0])
    seg = plan.segments[0]
    mids = [PB.index_at(plan, seg.start + seg.animate * k / 4) for k in range(5)]
    assert mids == sorted(mids) and mids[-1] == 16384
    assert 16384 * 0.2 < mids[1] < 16384 * 0.3


def test_few_events_are_not_dragged_out():
    plan = plan_from([3], [10.0])
    assert plan.segments[0].animate == pytest.approx(2 * PB.MAX_EVENT_S)


def test_setup_segment():
    plan = plan_from([2], [2.0], setup=5)
    assert plan.segments[0].step == -1 and plan.segments[0].last == 5
    assert PB.index_at(plan, plan.segments[1].start) == 6


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(1, 400), min_size=1, max_size=12), st.data())
def test_index_at_is_monotone_and_time_of_round_trips(sizes, data):
    holds = data.draw(st.lists(st.floats(0.2, 15.0), min_size=len(sizes), max_size=len(sizes)))
    plan = plan_from(sizes, holds)
    ts = sorted(data.draw(st.lists(st.floats(0, plan.total + 1), min_size=2, max_size=30)))
    frames = [PB.index_at(plan, t) for t in ts]
    assert frames == sorted(frames)
    assert all(0 <= f < plan.n_frames for f in frames)
    for f in data.draw(st.lists(st.integers(0, plan.n_frames - 1), max_size=20)):
        assert PB.index_at(plan, PB.time_of(plan, f)) == f  # seek, then play: carries on from there


def test_next_index_advances_with_speed_and_ends():
    plan = plan_from([10, 10], [4.0, 4.0])
    tk = PB.next_index(plan, 0, 0.0, 1.0, speed=2.0)
    assert tk.t == pytest.approx(2.0) and tk.frame == PB.index_at(plan, 2.0)
    tk = PB.next_index(plan, tk.frame, plan.total - 0.1, 1.0)
    assert tk.done and tk.frame == plan.n_frames - 1


def test_next_index_pauses_at_a_stop_and_resumes_past_it():
    plan = plan_from([5, 5, 5], [3.0, 3.0, 3.0])
    stop = plan.segments[1].first  # step 1 is a predict step: pause before its first event
    t, frame = 0.0, 0
    while True:
        tk = PB.next_index(plan, frame, t, 0.25, stops=(stop,))
        t, frame = tk.t, tk.frame
        if tk.stop is not None:
            break
        assert frame <= stop
    assert frame == stop and t == pytest.approx(plan.segments[1].start)
    tk = PB.next_index(plan, frame, t, 0.05, stops=(stop,))  # resumed: no second stop
    assert tk.stop is None and tk.frame == stop + 1
