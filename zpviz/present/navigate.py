"""Where each transport command goes: by event, by lesson step, by checkpoint, first and last.

A lesson step is shown by its end frame (the state after the step, as `--step N` means), so
"next step" jumps to the next end frame after the current frame and "previous step" to the last
end frame before it (frame 0 before the first).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass


@dataclass(frozen=True)
class Stops:
    n_frames: int
    step_ends: tuple[int, ...]  # end frame of each step, ascending
    checkpoints: tuple[int, ...]  # end frames of the checkpoint steps
    step_starts: tuple[int, ...]  # frame before each step's first event


def stops_for(trace) -> Stops:
    ends = tuple(int(r.end_event) for r in trace.step_results)
    starts = tuple(int(r.first_event) for r in trace.step_results)
    cps = tuple(ends[s.index] for s in trace.scenario.steps if s.checkpoint and s.index < len(ends))
    return Stops(len(trace), ends, cps, starts)


def clamp(st: Stops, frame: int) -> int:
    return max(0, min(st.n_frames - 1, frame))


def _after(marks: tuple[int, ...], frame: int, default: int) -> int:
    i = bisect.bisect_right(marks, frame)
    return marks[i] if i < len(marks) else default


def _before(marks: tuple[int, ...], frame: int, default: int) -> int:
    i = bisect.bisect_left(marks, frame) - 1
    return marks[i] if i >= 0 else default


def go(st: Stops, frame: int, command: str) -> int:
    """The frame a transport command leads to from `frame`.

    Commands: next, prev (one event), next_step, prev_step, next_checkpoint, prev_checkpoint, first, last.
    Checkpoint moves stay put when there is no checkpoint that way.
    """
    last = st.n_frames - 1
    if command == "next":
        return clamp(st, frame + 1)
    if command == "prev":
        return clamp(st, frame - 1)
    if command == "next_step":
        return _after(st.step_ends, frame, last)
    if command == "prev_step":
        return _before(st.step_ends, frame, 0)
    if command == "next_checkpoint":
        return _after(st.checkpoints, frame, frame)
    if command == "prev_checkpoint":
        return _before(st.checkpoints, frame, frame)
    if command == "first":
        return 0
    if command == "last":
        return last
    raise ValueError(f"unknown transport command {command!r}")

