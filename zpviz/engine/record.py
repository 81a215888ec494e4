"""The recorder: the machine writes each event and the state it changed here, nothing else.

Events are columns of ints; state changes are deltas holding the new value of each slot or
frame an event touched. trace.Trace turns these into keyframes for random access.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field

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


@dataclass
class Recorder:
    ev: dict[str, array] = field(default_factory=lambda: {c: array("q") for c in EVENT_COLUMNS})
    # slot deltas: the new (pte, pfn, vmf) of a slot after event `ev`
    sd_ev: array = field(default_factory=lambda: array("q"))
    sd_slot: array = field(default_factory=lambda: array("q"))
    sd_pte: array = field(default_factory=lambda: array("B"))
    sd_pfn: array = field(default_factory=lambda: array("q"))
    sd_vmf: array = field(default_factory=lambda: array("H"))
    # frame deltas: the new struct page of a frame after event `ev`
    fd_ev: array = field(default_factory=lambda: array("q"))
    fd_pfn: array = field(default_factory=lambda: array("q"))
    fd_ref: array = field(default_factory=lambda: array("l"))
    fd_map: array = field(default_factory=lambda: array("l"))
    fd_flags: array = field(default_factory=lambda: array("H"))
    fd_kind: array = field(default_factory=lambda: array("B"))
    # per-CPU counter increments of event `ev`
    cd_ev: array = field(default_factory=lambda: array("q"))
    cd_cpu: array = field(default_factory=lambda: array("l"))
    cd_counter: array = field(default_factory=lambda: array("l"))
    cd_value: array = field(default_factory=lambda: array("q"))
    scalars: array = field(default_factory=lambda: array("q"))  # len(SCALARS) per event
    paths: list[KernelPath] = field(default_factory=list)
    _path_ids: dict[KernelPath, int] = field(default_factory=dict)
    logs: dict[int, list[str]] = field(default_factory=dict)  # event -> kernel log lines it printed

    @property
    def n_events(self) -> int:
        return len(self.ev["step"])

    def path_id(self, functions: tuple[str, ...], decision: str) -> int:
        p = KernelPath(functions, decision)
        i = self._path_ids.get(p)
        if i is None:
            i = self._path_ids[p] = len(self.paths)
            self.paths.append(p)
        return i

    def event_columns(self) -> dict[str, np.ndarray]:
        return {k: np.frombuffer(v, dtype=np.int64).copy() if len(v) else np.zeros(0, np.int64)
                for k, v in self.ev.items()}

    def scalar_matrix(self) -> np.ndarray:
        m = np.frombuffer(self.scalars, dtype=np.int64) if len(self.scalars) else np.zeros(0, np.int64)
        return m.reshape(-1, len(SCALARS)).copy()
