"""Compare mode: one lesson under several kernel variants, aligned by lesson step, and what differs.

Variants emit different numbers of events for the same step (2.6.24 allocates where v5 maps the
zero page; v5 prints Bad page maps others do not), so frames are aligned by step: a frame part-way
through step k of the leading variant maps to the same fraction of step k in each other variant.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import numpy as np

from zpviz.present.series import pages_text
from zpviz.scenario.model import KERNEL_IDS, variant_id

MIN_VARIANTS, MAX_VARIANTS = 2, 5


def aligned_frame(lead, frame: int, other) -> int:
    """The frame of `other` that corresponds to `frame` of `lead` (same lesson, another variant)."""
    if frame <= 0:
        return 0
    k = lead.step_of_frame(frame)
    if k < 0:  # set-up before step 0: proportionally through the other's set-up
        if lead.setup_end <= 0:
            return 0
        return round(frame / lead.setup_end * other.setup_end)
    a = lead.step_results[k]
    b = other.step_results[k]
    n_a = a.end_event - a.first_event
    n_b = b.end_event - b.first_event
    done = (frame - a.first_event) / max(n_a, 1)
    return b.first_event + max(1 if n_b else 0, min(n_b, round(done * n_b)))


@dataclass(frozen=True)
class Row:
    label: str
    values: tuple[str, ...]  # one per variant, formatted
    raw: tuple[int, ...]
    differs: bool
    best: tuple[bool, ...]  # which variants have the lowest value (lower is better for every row)


_FAULTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _faults_upto(trace) -> np.ndarray:
    """Faults taken before each frame (frame 0: none), counted once per trace: the table is redrawn
    on every frame, and a million-event lesson must not be summed again each time."""
    got = _FAULTS.get(trace)
    if got is None:
        got = _FAULTS[trace] = np.concatenate(([0], np.cumsum(trace.event_column("fault") != 0)))
    return got


def _step_start(trace, frame: int) -> int:
    """The first frame of the step `frame` belongs to (0 before the first step)."""
    k = trace.step_of_frame(frame)
    return trace.step_results[k].first_event if k >= 0 else 0


def _faults_so_far(t, f: int) -> int:
    return int(_faults_upto(t)[f])


def _faults_this_step(t, f: int) -> int:
    counts = _faults_upto(t)
    return int(counts[f] - counts[_step_start(t, f)])


def short_ns_text(ns: float) -> str:
    """A time to three significant figures ("475 µs", "1.23 ms", "12.3 ms"): five of them side by side
    in a 720p dock, "474.7 µs" wrapped onto two lines; the fourth figure told the room nothing."""
    for div, unit in ((1e9, "s"), (1e6, "ms"), (1e3, "\u00b5s")):
        if ns >= div * 0.9995:
            v = ns / div
            return f"{v:.2f} {unit}" if v < 9.995 else f"{v:.1f} {unit}" if v < 99.95 else f"{v:.0f} {unit}"
    return f"{ns:.0f} ns"


# Quantities that only grow over a run say so ("so far"): a reader must not take them for the step's
# own; the step's share of the faults stands beside their total. Bad page maps come before the long
# rows: at 1280x720 the dock shows about six rows, and the last was cut off in lessons 9 and 24.
ROWS = (
    ("memory used", lambda t, f: int(t.frame(f).scalars["frames_used"]), pages_text),
    ("page tables", lambda t, f: int(t.frame(f).scalars["pt_frames"]), pages_text),
    ("faults this step", _faults_this_step, lambda v: f"{v:,}"),
    ("faults so far", _faults_so_far, lambda v: f"{v:,}"),
    ("Bad page maps so far", lambda t, f: int(t.frame(f).scalars["bad_page_maps"]), lambda v: f"{v:,}"),
    ("zero-page line transfers so far", lambda t, f: int(t.frame(f).scalars["zp_line_transfers"]
                                                         + t.frame(f).scalars["hzp_line_transfers"]),
     lambda v: f"{v:,}"),
    ("time so far (the makespans of every step)", lambda t, f: int(t.frame(f).scalars["time_ns"]),
     short_ns_text),
)



def diff_rows(traces, frames) -> list[Row]:
    """The summary table: one row per quantity, one column per variant, at the given (aligned) frames."""
    rows = []
    for label, get, fmt in ROWS:
        raw = tuple(get(t, f) for t, f in zip(traces, frames))
        lo = min(raw) if raw else 0
        rows.append(Row(label, tuple(fmt(v) for v in raw), raw, len(set(raw)) > 1,
                        tuple(v == lo and len(set(raw)) > 1 for v in raw)))
    return rows


def summary_text(rows: list[Row], kernels: tuple[str, ...]) -> str:
    """One sentence per differing row, for the caption area and the export."""
    out = []
    for r in rows:
        if not r.differs:
            continue
        parts = ", ".join(f"{k} {v}" for k, v in zip(kernels, r.values))
        out.append(f"{r.label}: {parts}")
    return "; ".join(out) if out else "No difference so far."


def parse_compare(text: str | list[str] | tuple[str, ...] | None) -> tuple[str, ...]:
    """'2.6.23,v5' or a list -> a validated tuple of 2..5 distinct canonical variant ids."""
    if text is None:
        return ()
    items = text.split(",") if isinstance(text, str) else [x for part in text for x in str(part).split(",")]
    written = [i.strip() for i in items if i.strip()]
    bad = [i for i in written if i not in KERNEL_IDS]
    if bad:
        raise ValueError(f"unknown kernel variant {', '.join(bad)}; valid: {', '.join(KERNEL_IDS)}")
    ids = tuple(dict.fromkeys(variant_id(i) for i in written))
    if len(ids) == 1:
        return ids  # a single variant is not a comparison; the caller treats it as --kernel
    return ids
