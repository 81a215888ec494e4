"""Compare mode: one lesson under several kernel variants, aligned by lesson step, and what differs.

Variants emit different numbers of events for the same step (2.6.24 allocates where v5 maps the
zero page; v5 prints Bad page maps others do not), so frames are aligned by step: a frame part-way
through step k of the leading variant maps to the same fraction of step k in each other variant.
"""

from __future__ import annotations

from dataclasses import dataclass

from zpviz.present.series import ns_text, pages_text
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


def _cum_faults(trace, frame: int) -> int:
    return int((trace.events["fault"][:frame] != 0).sum())


ROWS = (
    ("memory used", lambda t, f: int(t.frame(f).scalars["frames_used"]), pages_text),
    ("page tables", lambda t, f: int(t.frame(f).scalars["pt_frames"]), pages_text),
    ("faults", _cum_faults, lambda v: f"{v:,}"),
    ("zero-page line transfers", lambda t, f: int(t.frame(f).scalars["zp_line_transfers"]
                                                  + t.frame(f).scalars["hzp_line_transfers"]), lambda v: f"{v:,}"),
    ("time so far (the makespans of every step)", lambda t, f: int(t.frame(f).scalars["time_ns"]), ns_text),
    ("Bad page maps", lambda t, f: int(t.frame(f).scalars["bad_page_maps"]), lambda v: f"{v:,}"),
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
