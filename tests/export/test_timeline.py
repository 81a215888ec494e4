"""The export timeline: fps x hold frames per step, events spread over a step's hold, --from/--to."""

from __future__ import annotations

import pytest

from tests.export.helpers import LONG, POPULATE, TINY, lesson
from zpviz.export.timeline import build_timeline, step_range, still_frame


def holds(lead):
    return [s.hold_seconds() for s in lead.scenario.steps]


@pytest.mark.parametrize("fps", [10, 24, 30])
@pytest.mark.parametrize("per", ["event", "step"])
def test_each_step_lasts_its_hold(fps, per):
    lead = lesson(TINY).lead
    tl = build_timeline(lead, fps, per)
    assert tl.steps == (0, 1, 2, 3)
    assert list(tl.step_counts) == [round(fps * h) for h in holds(lead)]
    assert tl.n_frames == sum(s.count for s in tl.shots)
    assert tl.duration == pytest.approx(sum(holds(lead)), abs=len(holds(lead)) / (2 * fps))


def _frames_by_step(tl):
    out: dict[int, list[int]] = {}
    for s in tl.shots:
        out.setdefault(s.step, []).extend([s.frame] * s.count)
    return out


def test_per_step_shows_each_steps_end_state():
    lead = lesson(TINY).lead
    for step, frames in _frames_by_step(build_timeline(lead, 20, "step")).items():
        assert set(frames) == {lead.step_end_frame(step)}


def test_per_event_reveals_events_in_order_then_rests_on_the_end_state():
    lead = lesson(TINY).lead
    tl = build_timeline(lead, 30, "event")
    frames = tl.frame_indices()
    assert frames == sorted(frames)
    for step, fs in _frames_by_step(tl).items():
        r = lead.step_results[step]
        assert fs[-1] == lead.step_end_frame(step)
        if r.end_event > r.first_event:
            assert all(r.first_event < f <= r.end_event for f in fs)
            assert fs.count(fs[-1]) >= 0.25 * len(fs)  # the end state rests so the room can read it


def test_a_long_step_takes_its_hold_not_one_frame_per_event():
    lead = lesson(LONG).lead
    tl = build_timeline(lead, 30, "event")
    r = lead.step_results[1]
    assert r.end_event - r.first_event == 4096
    assert tl.frames_of_step(1) == 120  # hold 4.0 s at 30 fps
    fs = _frames_by_step(tl)[1]
    assert len(set(fs)) > 60  # most frames show progress through the step ...
    assert fs[0] - r.first_event < 4096 / 60 and fs[-1] == r.end_event  # ... spread from start to end


def test_set_up_work_opens_an_export_from_step_0_only():
    lead = lesson(POPULATE).lead
    assert lead.setup_end > 0
    tl = build_timeline(lead, 10)
    assert tl.steps[0] == -1 and tl.shots[-1].frame == len(lead) - 1
    assert build_timeline(lead, 10, first=1).steps == (1,)


def test_from_to_pick_steps_inclusive():
    lead = lesson(TINY).lead
    tl = build_timeline(lead, 10, "step", first=1, last=2)
    assert tl.steps == (1, 2)
    assert tl.shots[0].frame == lead.step_end_frame(1) and tl.shots[-1].frame == lead.step_end_frame(2)


@pytest.mark.parametrize("first,last,msg", [(5, None, "--from 5 is out of range"), (None, -1, "--to -1"),
                                            (3, 1, "--from 3 is after --to 1")])
def test_bad_ranges_are_named(first, last, msg):
    with pytest.raises(ValueError, match=msg):
        step_range(4, first, last)


def test_bad_per_and_fps():
    lead = lesson(TINY).lead
    with pytest.raises(ValueError, match="--per"):
        build_timeline(lead, 10, "frame")
    with pytest.raises(ValueError, match="--fps"):
        build_timeline(lead, 0)


def test_still_is_the_last_step_or_step_n():
    lead = lesson(TINY).lead
    assert still_frame(lead, None) == len(lead) - 1 == lead.step_end_frame(3)
    assert still_frame(lead, 1) == lead.step_end_frame(1)
    with pytest.raises(ValueError, match="--step 4 is out of range"):
        still_frame(lead, 4)
