"""Which trace frame each output frame of an export shows: the lesson's timing at a fixed frame rate.

Pure (no Qt). Each step lasts its hold time, `round(fps * hold)` output frames
(docs/format.md section 5). With per="event" the frame shown at time t is the app's own
playback mapping (present.playback.index_at), so a long step's events are spread over its hold
exactly as in the window; with per="step" a step shows its end state for its whole hold.

Output frames are kept as runs ("shots") of one trace frame, so writers repeat or merge a
picture instead of rendering it again.
"""

from __future__ import annotations

from dataclasses import dataclass

from zpviz.present.playback import index_at, plan_for

PER = ("event", "step")


@dataclass(frozen=True)
class Shot:
    """`count` consecutive output frames that all show trace frame `frame` during step `step`."""

    frame: int
    count: int
    step: int  # lesson step, -1 for the set-up work (MAP_POPULATE / MAP_LOCKED) before step 0


@dataclass(frozen=True)
class Timeline:
    fps: float
    shots: tuple[Shot, ...]
    steps: tuple[int, ...]  # the segments in order (-1: set-up)
    step_counts: tuple[int, ...]  # output frames of each entry of `steps`

    @property
    def n_frames(self) -> int:
        return sum(self.step_counts)

    @property
    def duration(self) -> float:
        return self.n_frames / self.fps

    def frames_of_step(self, step: int) -> int:
        return self.step_counts[self.steps.index(step)]

    def frame_indices(self) -> list[int]:
        """The trace frame of every output frame (for tests and --frames; long lessons: prefer shots)."""
        return [s.frame for s in self.shots for _ in range(s.count)]

    def distinct(self) -> int:
        return len(self.shots)


def step_range(n_steps: int, first: int | None, last: int | None) -> tuple[int, int]:
    """Validate --from/--to (0-based, inclusive) against a lesson of n_steps steps."""
    if n_steps <= 0:
        raise ValueError("the lesson has no steps to export")
    lo = 0 if first is None else first
    hi = n_steps - 1 if last is None else last
    for name, v in (("--from", lo), ("--to", hi)):
        if not 0 <= v < n_steps:
            raise ValueError(f"{name} {v} is out of range: the lesson has steps 0..{n_steps - 1}")
    if lo > hi:
        raise ValueError(f"--from {lo} is after --to {hi}")
    return lo, hi


def _append(shots: list[Shot], frame: int, step: int) -> None:
    if shots and shots[-1].frame == frame and shots[-1].step == step:
        last = shots[-1]
        shots[-1] = Shot(frame, last.count + 1, step)
    else:
        shots.append(Shot(frame, 1, step))


def build_timeline(trace, fps: float, per: str = "event", first: int | None = None,
                   last: int | None = None) -> Timeline:
    """The export timeline of steps first..last (inclusive; default: the whole lesson).

    An export that starts at step 0 of a lesson with set-up work (MAP_POPULATE, MAP_LOCKED) opens
    with that work, as the app's playback does; the leading still frame of the app is not exported.
    """
    if per not in PER:
        raise ValueError(f"--per must be one of {', '.join(PER)}, not {per!r}")
    if not fps > 0:
        raise ValueError(f"--fps must be positive, not {fps}")
    lo, hi = step_range(len(trace.scenario.steps), first, last)
    plan = plan_for(trace)
    shots: list[Shot] = []
    steps: list[int] = []
    counts: list[int] = []
    for seg in plan.segments:
        if not (lo <= seg.step <= hi or (seg.step < 0 and lo == 0)):
            continue
        n = max(1, round(fps * seg.hold))
        for j in range(n):
            if per == "step":
                frame = seg.last if seg.n >= 1 else seg.first
            else:  # j/fps stays at least half a frame short of the next segment, so no rounding slips
                frame = index_at(plan, seg.start + j / fps)
            _append(shots, frame, seg.step)
        steps.append(seg.step)
        counts.append(n)
    return Timeline(float(fps), tuple(shots), tuple(steps), tuple(counts))


def still_frame(trace, step: int | None) -> int:
    """The trace frame of a still: the state after step `step`, or after the last step."""
    n = len(trace.scenario.steps)
    if step is None:
        return len(trace) - 1 if n == 0 else trace.step_end_frame(n - 1)
    if not 0 <= step < n:
        raise ValueError(f"--step {step} is out of range: the lesson has steps 0..{n - 1}")
    return trace.step_end_frame(step)
