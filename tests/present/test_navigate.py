"""Transport commands: by event, by step (end frames), by checkpoint, first and last."""

from __future__ import annotations

import pytest

from zpviz.present import navigate as N


@pytest.fixture
def stops(traces):
    return N.stops_for(traces["v5"])


def test_step_and_checkpoint_frames(traces, stops):
    tr = traces["v5"]
    assert stops.step_ends == tuple(tr.step_end_frame(k) for k in range(len(tr.step_results)))
    assert stops.checkpoints == (tr.step_end_frame(1), tr.step_end_frame(4))


def test_commands(stops):
    ends, last = stops.step_ends, stops.n_frames - 1
    assert N.go(stops, 5, "next") == 6 and N.go(stops, 5, "prev") == 4
    assert N.go(stops, 0, "prev") == 0 and N.go(stops, last, "next") == last
    assert N.go(stops, 0, "next_step") == ends[0]
    assert N.go(stops, ends[0], "next_step") == ends[1]
    assert N.go(stops, ends[1] - 3, "next_step") == ends[1]
    assert N.go(stops, ends[1], "prev_step") == ends[0]
    assert N.go(stops, ends[0], "prev_step") == 0
    assert N.go(stops, 0, "next_checkpoint") == stops.checkpoints[0]
    assert N.go(stops, stops.checkpoints[1], "next_checkpoint") == stops.checkpoints[1]  # none further: stay
    assert N.go(stops, last, "prev_checkpoint") == stops.checkpoints[1]
    assert N.go(stops, 3, "prev_checkpoint") == 3
    assert N.go(stops, 77, "first") == 0 and N.go(stops, 7, "last") == last
    with pytest.raises(ValueError):
        N.go(stops, 0, "sideways")


def test_step_walk_visits_every_step_end(stops):
    f, seen = 0, []
    while True:
        g = N.go(stops, f, "next_step")
        if g == f:
            break
        seen.append(g)
        f = g
    assert seen == list(stops.step_ends)
