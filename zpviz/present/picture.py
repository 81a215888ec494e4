"""One memory picture: the codes, flashes and mapping lines a MemoryView draws for one frame."""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass

import numpy as np

from zpviz.engine import events as E
from zpviz.engine.kernels.base import ReadFaultZero
from zpviz.present import physmem
from zpviz.present.grid import frame_image

MAX_LINES = 400


@dataclass(frozen=True, eq=False)
class Picture:
    frame: int
    codes: np.ndarray  # (rows, cols) page codes
    phys: np.ndarray  # (rows, cols) frame codes
    tiles: tuple[physmem.ZeroTile, ...]
    flash_slots: tuple[int, ...]
    flash_pfns: tuple[int, ...]
    alert: bool
    line_slots: np.ndarray  # sources of mapping lines
    line_pfns: np.ndarray  # ... and the frames they point at


STEPS_KEPT = 8  # steps whose first touches are kept per trace (a scrub revisits a few)
_first_touches: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # trace -> {step: (slots, at)}
_lock = threading.Lock()


def step_touches(trace, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict]:
    """The slots step k's events touch, in order of first touch, the event index of each first
    touch (ascending), the slots' line keys and their bit lengths (physmem.line_keys, key_bits), and
    a dict for what is made from those once per step when needed (`_lines`' physmem.KeyLevels).
    Made once per step and kept: every frame of the step is a prefix of it, where sorting and
    hashing the step's events again at every frame cost ~10 ms a frame of a 262,144-page step."""
    with _lock:
        hit = _first_touches.setdefault(trace, {}).get(k)
    if hit is None:
        r = trace.step_results[k]
        s = trace.events["slot"][r.first_event:r.end_event]
        where = np.flatnonzero(s >= 0)
        u, first = np.unique(s[where], return_index=True)
        order = np.argsort(first, kind="stable")
        slots = u[order]
        keys = physmem.line_keys(slots)
        hit = (slots, where[first[order]] + r.first_event, keys, physmem.key_bits(keys), {})  # ({}: its KeyLevels)
    with _lock:  # (only the window's thread draws pictures today; the lock keeps it right if not)
        per = _first_touches.setdefault(trace, {})
        per.pop(k, None)
        per[k] = hit  # the most recently used last
        while len(per) > STEPS_KEPT:
            del per[next(iter(per))]
    return hit


def _prefix(trace, frame: int) -> tuple[tuple | None, int]:
    """The current step's touches (step_touches; None before the first step) and how many of them
    an event before `frame` made."""
    k = trace.step_of_frame(frame)
    if k < 0:
        return None, 0
    touches = step_touches(trace, k)
    return touches, int(np.searchsorted(touches[1], frame))


def _cut(touches: tuple | None, n: int) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """The first n touched slots, their keys and key bit lengths (none before the first step)."""
    if touches is None:
        return np.zeros(0, np.int64), None, None
    slots, _, keys, bits, _ = touches
    return slots[:n], keys[:n], bits[:n]


def _touched(trace, frame: int) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    return _cut(*_prefix(trace, frame))


LEVELS_FROM = 4 * MAX_LINES  # touched slots from which the lines are sampled by key level (physmem.sampled_pairs)


def _lines(trace, frame: int, fr) -> tuple[np.ndarray, np.ndarray]:
    """The mapping lines of the current step's touched slots up to `frame`: physmem.mapping_pairs
    of them, through physmem.sampled_pairs where the step's prefix is long (the same pairs)."""
    touches, n = _prefix(trace, frame)
    if n < LEVELS_FROM:
        slots, keys, bits = _cut(touches, n)
        return physmem.mapping_pairs(fr, slots, MAX_LINES, keys, bits)
    slots, _, _, bits, kept = touches
    if "levels" not in kept:  # once per step (an argsort of its touched slots' key lengths)
        kept["levels"] = physmem.KeyLevels(bits)
    return physmem.sampled_pairs(fr, slots, n, kept["levels"], MAX_LINES)


def touched_slots(trace, frame: int) -> np.ndarray:
    """Slots the current step's events touched up to this frame, in order of first touch."""
    return _touched(trace, frame)[0]


def picture_at(lesson, variant: int, frame: int, selected: tuple[int, ...] = (), phys: bool = True) -> Picture:
    """What a MemoryView draws for `variant` at `frame`. phys=False: for a view without the physical
    panel (compare mode): no frame image, zero-page tiles or mapping lines, which cost as much to
    make as the address-space image and would go unused."""
    trace = lesson.traces[variant]
    fr = trace.frame(frame)
    e = frame - 1
    flash_slots: tuple[int, ...] = ()
    flash_pfns: tuple[int, ...] = ()
    alert = False
    if 0 <= e < trace.n_events:
        ev = trace.events
        slot, pfn = int(ev["slot"][e]), int(ev["pfn"][e])
        flash_slots = (slot,) if 0 <= slot < lesson.grid.n_slots else ()
        flash_pfns = (pfn,) if pfn >= 0 else ()
        alert = bool(int(ev["flags"][e]) & (E.EF_BAD_PAGE | E.EF_SIGSEGV))
    codes = frame_image(fr, lesson.grid, trace.kernel.pg_mlocked, flash_slots, alert)
    if not phys:
        none = np.zeros(0, np.int64)
        return Picture(frame, codes, np.zeros((0, 0), np.uint8), (), flash_slots, flash_pfns, alert, none, none)
    pl = lesson.phys[variant]
    image = physmem.phys_image(fr, pl, flash_pfns, alert)
    if selected:
        ls, lp = physmem.mapping_pairs(fr, np.asarray(selected, np.int64), MAX_LINES)
    else:
        ls, lp = _lines(trace, frame, fr)
    tiles = physmem.zero_tiles(fr, trace.kernel.read_fault_zero is not ReadFaultZero.NEVER)
    return Picture(frame, codes, image, tiles, flash_slots, flash_pfns, alert, ls, lp)
