"""Timeline markers: where the faults, COWs, bad page maps and checkpoints are along the lesson.

A big lesson has hundreds of thousands of events, so markers are binned into as many columns as
the timeline has pixels; each bin says how many of each mark it holds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from zpviz.engine import events as E

MARK_KINDS = ("fault", "cow", "bad")
COW = (int(E.Kind.COW_ZERO), int(E.Kind.COW_COPY), int(E.Kind.HUGE_COW_ZERO))


@dataclass(frozen=True, eq=False)
class Marks:
    n_frames: int
    fault: np.ndarray  # frames made by a fault event (sorted)
    cow: np.ndarray
    bad: np.ndarray  # frames whose event printed Bad page map or raised SIGSEGV
    checkpoints: tuple[int, ...]  # end frames of checkpoint steps
    step_ends: tuple[int, ...]


def marks_for(trace, checkpoints: tuple[int, ...] = (), step_ends: tuple[int, ...] = ()) -> Marks:
    ev = trace.events
    frames = np.arange(1, trace.n_events + 1, dtype=np.int64)
    kind = ev["kind"]
    bad = (ev["flags"] & (E.EF_BAD_PAGE | E.EF_SIGSEGV)) != 0
    return Marks(len(trace), frames[ev["fault"] != 0], frames[np.isin(kind, COW)], frames[bad],
                 tuple(checkpoints), tuple(step_ends))


def binned(marks: Marks, nbins: int) -> dict[str, np.ndarray]:
    """Counts per bin for each mark kind; bin b covers frames [b*n/nbins, (b+1)*n/nbins)."""
    nbins = max(1, nbins)
    out = {}
    for name in MARK_KINDS:
        f = getattr(marks, name)
        b = np.minimum((f * nbins) // max(marks.n_frames, 1), nbins - 1)
        out[name] = np.bincount(b, minlength=nbins)
    return out


def frac(marks: Marks, frame: int) -> float:
    """Position of a frame along the timeline, 0..1."""
    return frame / max(marks.n_frames - 1, 1)


def frame_at(marks: Marks, x: float) -> int:
    """The frame at position x (0..1) along the timeline."""
    return int(round(min(max(x, 0.0), 1.0) * max(marks.n_frames - 1, 0)))
