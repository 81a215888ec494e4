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
SD_FIELDS = ("slot", "pte", "pfn", "vmf")  # slot deltas: the new PTE, pfn and vma flags of a page
FD_FIELDS = ("pfn", "ref", "map", "flags", "kind")  # frame deltas: the new struct page of a frame
CD_FIELDS = ("key", "value")  # per-CPU counter increments: key = cpu * 64 + counter


@dataclass(frozen=True)
class KernelPath:
    """The functions an event went through and the test that decided its outcome."""

    functions: tuple[str, ...]
    decision: str

    def text(self) -> str:
        return " -> ".join(self.functions) + (f"\n  {self.decision}" if self.decision else "")


class Recorder:
    """Flat, append-only storage: one `extend` per event for each kind of record, in int32
    (times in int64), so a million-event trace stays well under a few hundred MB.

    evi: EVENT_COLUMNS but t0/t1 per event; evt: t0, t1. sd/fd: per event a count, then that many
    (slot, pte, pfn, vmf) / (pfn, refcount, mapcount, flags, kind). cd: (cpu * 64 + counter, n)
    pairs. scalars: SCALARS but time_ns (it is the running maximum of t1).
    """

    INT_COLUMNS = tuple(c for c in EVENT_COLUMNS if c not in ("t0", "t1"))

    def __init__(self, deltas: bool = True) -> None:
        self.keep_deltas = deltas  # False for report-only runs: no trace will be built
        self.evi = array("i")
        self.evt = array("q")
        # one contiguous array per field, so a trace can gather and sort them without copies
        self.sd = tuple(array("i") for _ in SD_FIELDS)
        self.sd_n = array("i")
        self.fd = tuple(array("i") for _ in FD_FIELDS)
        self.fd_n = array("i")
        self.cd = tuple(array("i") for _ in CD_FIELDS)
        self.cd_n = array("i")
        self.scalars = array("i")  # len(SCALARS) - 1 per event
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

    def fault_of(self, e: int) -> int:
        return self.evi[e * len(self.INT_COLUMNS) + self.INT_COLUMNS.index("fault")]

    def event_columns(self) -> dict[str, np.ndarray]:
        """Column views over the recorded events (no copies)."""
        n = self.n_events
        mi = _view(self.evi, np.int32, len(self.INT_COLUMNS), n)
        mt = _view(self.evt, np.int64, 2, n)
        out = {k: mi[:, j] for j, k in enumerate(self.INT_COLUMNS)}
        out["t0"], out["t1"] = mt[:, 0], mt[:, 1]
        return {k: out[k] for k in EVENT_COLUMNS}

    def scalar_table(self) -> ScalarTable:
        t1 = _view(self.evt, np.int64, 2, self.n_events)[:, 1]
        return ScalarTable(np.maximum.accumulate(t1) if len(t1) else t1.copy(),
                           _view(self.scalars, np.int32, len(SCALARS) - 1, self.n_events))

    def deltas(self) -> dict[str, np.ndarray]:
        """The delta records as column views, with per-event offsets: event e's records of kind sd
        are sd_*[sd_off[e]:sd_off[e + 1]]."""
        out: dict[str, np.ndarray] = {}
        for prefix, cols, counts, names in (("sd", self.sd, self.sd_n, SD_FIELDS),
                                            ("fd", self.fd, self.fd_n, FD_FIELDS),
                                            ("cd", self.cd, self.cd_n, CD_FIELDS)):
            n = np.frombuffer(counts, dtype=np.int32) if len(counts) else np.zeros(0, np.int32)
            out[f"{prefix}_off"] = np.concatenate(([0], np.cumsum(n, dtype=np.int64)))
            for col, name in zip(cols, names):
                out[f"{prefix}_{name}"] = _view(col, np.int32, 1, -1)[:, 0]
        return out


def _view(a: array, dtype, width: int, rows: int) -> np.ndarray:
    if not len(a):
        return np.zeros((0, width), dtype)
    m = np.frombuffer(a, dtype=dtype).reshape(-1, width)
    return m if rows < 0 else m[:rows]


class ScalarTable:
    """The per-event scalar series as an (n_events, len(SCALARS)) table, time_ns kept in int64."""

    def __init__(self, time_ns: np.ndarray, rest: np.ndarray):
        self.time_ns = time_ns
        self.rest = rest
        self.shape = (len(time_ns), len(SCALARS))

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, key):
        if isinstance(key, tuple):
            rows, col = key
            if isinstance(col, (int, np.integer)):
                return self.time_ns[rows] if col == 0 else self.rest[rows, col - 1]
            return np.column_stack([self.time_ns[rows], self.rest[rows]])[:, col]
        if isinstance(key, (int, np.integer)):
            return np.concatenate(([self.time_ns[key]], self.rest[key].astype(np.int64)))
        return np.column_stack([self.time_ns[key], self.rest[key]])
