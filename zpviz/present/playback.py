"""Playback as a pure function of time: which frame is on screen t seconds into the lesson.

Each lesson step owns the frames its events produced and stays on screen for its hold time.
Its events are spread over the first part of the hold (at most ANIMATE of it, and no slower than
MAX_EVENT_S per event), then the final state rests so the room can read the caption. A 16,384-page
step therefore takes its hold time, not 16,384 ticks. The transport's timer only feeds `dt` into
`next_index`; everything else is here and tested without a clock.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

ANIMATE = 0.7  # share of a step's hold spent revealing its events
MAX_EVENT_S = 0.6  # a step of few events shows each for at most this long
LEAD_S = 0.6  # frame 0 (nothing touched yet) stays this long before the first step
SETUP_HOLD_S = 2.0  # MAP_POPULATE / MAP_LOCKED work before step 0
SPEEDS = (0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0, 8.0, 16.0)


@dataclass(frozen=True)
class Segment:
    step: int  # -1: set-up before step 0
    first: int  # frame shown before the segment (its events produce first+1 .. last)
    last: int
    start: float  # seconds since the start of the lesson
    hold: float
    animate: float  # seconds over which first+1 .. last appear

    @property
    def n(self) -> int:
        return self.last - self.first


@dataclass(frozen=True)
class Plan:
    segments: tuple[Segment, ...]
    n_frames: int
    total: float  # seconds

    def _seg_starts(self) -> list[float]:
        return [s.start for s in self.segments]


def build_plan(step_frames: list[tuple[int, int]], holds: list[float], n_frames: int, setup_end: int = 0) -> Plan:
    """step_frames[k] = (first, last): step k turns frame `first` into frame `last` (first < last)."""
    segs: list[Segment] = []
    t = LEAD_S
    spans = list(zip(range(len(step_frames)), step_frames, holds))
    if setup_end > 0:
        spans.insert(0, (-1, (0, setup_end), SETUP_HOLD_S))
    for step, (first, last), hold in spans:
        n = last - first
        hold = max(float(hold), 0.05)
        anim = 0.0 if n <= 1 else min(ANIMATE * hold, (n - 1) * MAX_EVENT_S)
        segs.append(Segment(step, first, last, t, hold, anim))
        t += hold
    return Plan(tuple(segs), n_frames, t)


def plan_for(trace) -> Plan:
    steps = trace.scenario.steps
    frames = [(r.first_event, r.end_event) for r in trace.step_results]
    return build_plan(frames, [s.hold_seconds() for s in steps], len(trace), trace.setup_end)


def _segment_at(plan: Plan, t: float) -> Segment | None:
    i = bisect.bisect_right(plan._seg_starts(), t) - 1
    return plan.segments[i] if i >= 0 else None


def index_at(plan: Plan, t: float) -> int:
    """The frame on screen at time t."""
    seg = _segment_at(plan, t)
    if seg is None:
        return 0
    if seg.n <= 1 or seg.animate <= 0:
        return seg.last if seg.n >= 1 else seg.first
    j = int((t - seg.start) / seg.animate * (seg.n - 1) + 1e-9) + 1  # epsilon: time_of must round-trip
    return seg.first + min(max(j, 1), seg.n)


def time_of(plan: Plan, frame: int) -> float:
    """When `frame` first appears (so resuming play after a seek carries on from there)."""
    if frame <= 0 or not plan.segments:
        return 0.0
    for seg in plan.segments:
        if seg.first < frame <= seg.last:
            if seg.n <= 1 or seg.animate <= 0:
                return seg.start
            return seg.start + seg.animate * (frame - seg.first - 1) / (seg.n - 1)
    return plan.total


@dataclass(frozen=True)
class Tick:
    t: float
    frame: int
    stop: int | None = None  # a stop frame playback reached (it pauses there), else None
    done: bool = False  # the end of the lesson


def next_index(plan: Plan, frame: int, t: float, dt: float, speed: float = 1.0,
               stops: tuple[int, ...] = ()) -> Tick:
    """One transport tick: advance t by dt * speed, unless a stop frame lies between.

    `stops` are frames at which playback must pause (predict steps: the frame before their first
    event). Entering the step that starts there returns that frame, with t at the step's start, so
    resuming reveals the step's first event next and does not stop there again.
    """
    t2 = max(0.0, t + dt * speed)
    for s in sorted(stops):
        seg = next((g for g in plan.segments if g.first == s), None)
        if seg is not None and t < seg.start <= t2 and frame <= s:
            return Tick(seg.start, s, stop=s)
    f2 = index_at(plan, t2)
    done = t2 >= plan.total and f2 >= plan.n_frames - 1
    return Tick(min(t2, plan.total), f2, done=done)
