"""Counter series: per-CPU bars at one frame, and whole-run time series for the charts.

Time series are indexed by frame (frame i = after event i - 1), so a chart's cursor and the
timeline slider share one x axis. Per-step quantities (makespan, stall) are plotted at each
step's end frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from zpviz.engine import constants as C

MAX_STALL_STEPS = 400  # per-step stall needs one frame per step: sample beyond this many steps


@dataclass(frozen=True, eq=False)
class CpuBars:
    hits: np.ndarray  # (ncpus,)
    misses: np.ndarray
    transfers: np.ndarray
    inv_sent: np.ndarray
    inv_recv: np.ndarray
    stall_ns: np.ndarray
    by_line: np.ndarray  # (ncpus, len(LINE_KIND_NAMES)) transfers in, by kind of line
    line_names: tuple[str, ...] = C.LINE_KIND_NAMES

    @property
    def ncpus(self) -> int:
        return len(self.hits)


def cpu_bars(frame) -> CpuBars:
    def counter(c: int) -> np.ndarray:
        return np.asarray(frame.cpu_counter(c), np.int64)

    by_line = [counter(C.C_BY_LINE + k) for k in range(len(C.LINE_KIND_NAMES))]
    return CpuBars(counter(C.C_HITS), counter(C.C_MISSES), counter(C.C_TRANSFERS), counter(C.C_INV_SENT),
                   counter(C.C_INV_RECV), counter(C.C_STALL), np.stack(by_line, axis=1))


def scalar(trace, name: str) -> np.ndarray:
    """One scalar per frame (frame 0 is 0)."""
    return trace.scalar_series(name)


@dataclass(frozen=True, eq=False)
class Series:
    zp_transfers: np.ndarray  # zero page (4K + huge) cache-line transfers, cumulative, per frame
    frames_used: np.ndarray
    rss_pages: np.ndarray
    pt_frames: np.ndarray
    time_ns: np.ndarray
    bad_page_maps: np.ndarray
    step_end: np.ndarray  # end frame per step
    makespan_ns: np.ndarray  # per step
    stall_x: np.ndarray  # frames at which stall_ns was sampled (step ends)
    stall_ns: np.ndarray  # stall (all CPUs) during the step ending there

    @property
    def n_frames(self) -> int:
        return len(self.time_ns)


def time_series(trace) -> Series:
    steps = trace.step_results
    end = np.array([r.end_event for r in steps], np.int64)
    mk = np.array([r.makespan_ns for r in steps], np.int64)
    pick = np.arange(len(steps))
    if len(steps) > MAX_STALL_STEPS:
        pick = np.unique(np.linspace(0, len(steps) - 1, MAX_STALL_STEPS).round().astype(np.int64))
    stall_x, stall = [], []
    for k in pick.tolist():
        r = steps[k]
        a = trace.frame(r.first_event).cpu_counter(C.C_STALL).sum()
        b = trace.frame(r.end_event).cpu_counter(C.C_STALL).sum()
        stall_x.append(r.end_event)
        stall.append(int(b - a))
    return Series(
        zp_transfers=scalar(trace, "zp_line_transfers") + scalar(trace, "hzp_line_transfers"),
        frames_used=scalar(trace, "frames_used"), rss_pages=scalar(trace, "rss_pages"),
        pt_frames=scalar(trace, "pt_frames"), time_ns=scalar(trace, "time_ns"),
        bad_page_maps=scalar(trace, "bad_page_maps"), step_end=end, makespan_ns=mk,
        stall_x=np.array(stall_x, np.int64), stall_ns=np.array(stall, np.int64))


def decimate(y: np.ndarray, n: int = 2000) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) with at most 2n points keeping each bucket's min and max, so peaks survive: a
    400,000-frame series plots as fast as a short one."""
    y = np.asarray(y)
    if len(y) <= 2 * n:
        return np.arange(len(y), dtype=np.float64), y.astype(np.float64)
    edges = np.linspace(0, len(y), n + 1).astype(np.int64)
    lo = np.minimum.reduceat(y, edges[:-1])
    hi = np.maximum.reduceat(y, edges[:-1])
    x = np.empty(2 * n, np.float64)
    x[0::2], x[1::2] = edges[:-1], edges[1:] - 1
    out = np.empty(2 * n, np.float64)
    out[0::2], out[1::2] = lo, hi
    return x, out


def ns_text(ns: float) -> str:
    if ns >= 1e9:
        return f"{ns / 1e9:.2f} s"
    if ns >= 1e6:
        return f"{ns / 1e6:.2f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.1f} \u00b5s"
    return f"{ns:.0f} ns"


def pages_text(pages: int) -> str:
    kb = pages * C.PAGE_KB
    if kb >= 1 << 20:
        return f"{kb / (1 << 20):.2f} GiB"
    if kb >= 1 << 10:
        return f"{kb / (1 << 10):.1f} MiB"
    return f"{kb} KiB"
