"""The recorder: the machine writes each event and the state it changed here, nothing else.

Events are columns of ints; state changes are deltas holding the new value of each slot or
frame an event touched. trace.Trace turns these into keyframes for random access.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass

import numpy as np

# per-event scalar series, in this column order
SCALARS = (
    "time_ns",  # the machine clock after the event (max over CPUs)
    "zp_refcount",  # change of the zero page's _count since boot
    "zp_mapcount",
    "zp_line_writes",
    "zp_line_transfers",
    "hzp_refcount",
    "hzp_line_writes",
    "hzp_line_transfers",
    "frames_used",
    "pt_frames",
    "rss_pages",  # what the mm counters say, all live processes
    "bad_page_maps",
)
EVENT_COLUMNS = ("step", "cpu", "kind", "path", "proc", "slot", "pfn", "fault", "t0", "t1", "flags")


@dataclass(frozen=True)
class KernelPath:
    """The functions an event went through and the test that decided its outcome."""

    functions: tuple[str, ...]
    decision: str

    def text(self) -> str:
        return " -> ".join(self.functions) + (f"\n  {self.decision}" if self.decision else "")


class Recorder:
    """Flat, append-only storage: one `extend` per event for each kind of record.

    ev: EVENT_COLUMNS values per event. sd/fd/cd: per event a count, and that many records of
    (slot, pte, pfn, vmf) / (pfn, refcount, mapcount, flags, kind) / (cpu, counter, increment).
    """

    def __init__(self, deltas: bool = True) -> None:
        self.keep_deltas = deltas  # False for report-only runs: no trace will be built
        self.ev = array("q")
        self.sd = array("q")
        self.sd_n = array("l")
        self.fd = array("q")
        self.fd_n = array("l")
        self.cd = array("q")
        self.cd_n = array("l")
        self.scalars = array("q")  # len(SCALARS) per event
        self.paths: list[KernelPath] = []
        self._path_ids: dict[tuple[tuple[str, ...], str], int] = {}
        self.logs: dict[int, list[str]] = {}  # event -> kernel log lines it printed
        self.n_events = 0

    def path_id(self, functions: tuple[str, ...], decision: str) -> int:
        key = (functions, decision)
        i = self._path_ids.get(key)
        if i is None:
            i = self._path_ids[key] = len(self.paths)
            self.paths.append(KernelPath(functions, decision))
        return i

    def column(self, name: str) -> np.ndarray:
        return self.event_columns()[name]

    def event_columns(self) -> dict[str, np.ndarray]:
        m = np.frombuffer(self.ev, dtype=np.int64).reshape(-1, len(EVENT_COLUMNS)) if self.n_events \
            else np.zeros((0, len(EVENT_COLUMNS)), np.int64)
        return {k: m[:, j].copy() for j, k in enumerate(EVENT_COLUMNS)}

    def scalar_matrix(self) -> np.ndarray:
        m = np.frombuffer(self.scalars, dtype=np.int64) if len(self.scalars) else np.zeros(0, np.int64)
        return m.reshape(-1, len(SCALARS)).copy()

    def deltas(self) -> dict[str, np.ndarray]:
        """The delta records as columns, each with the event it belongs to (sorted by event)."""
        out: dict[str, np.ndarray] = {}
        ev_ids = np.arange(self.n_events, dtype=np.int64)
        for prefix, flat, counts, names in (
            ("sd", self.sd, self.sd_n, ("slot", "pte", "pfn", "vmf")),
            ("fd", self.fd, self.fd_n, ("pfn", "ref", "map", "flags", "kind")),
            ("cd", self.cd, self.cd_n, ("cpu", "counter", "value")),
        ):
            n = np.frombuffer(counts, dtype=np.int32 if counts.itemsize == 4 else np.int64) if len(counts) \
                else np.zeros(0, np.int64)
            m = np.frombuffer(flat, dtype=np.int64).reshape(-1, len(names)) if len(flat) \
                else np.zeros((0, len(names)), np.int64)
            out[f"{prefix}_ev"] = np.repeat(ev_ids, n)
            for j, name in enumerate(names):
                out[f"{prefix}_{name}"] = m[:, j].copy()
        return out
