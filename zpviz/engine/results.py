"""What a step did (`StepResult`), as a trace keeps it. A module of its own, light to import: a
window that reads its traces from the cache decodes these without importing the machine
(present/tracecodec.py resolves only classes of modules already imported; docs/startup.md)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class StepResult:
    index: int
    do: str
    processes: tuple[str, ...]
    vma: str | None
    first_event: int
    end_event: int  # exclusive
    faults: int
    fault_kinds: dict[str, int]
    errno: str | None
    status: tuple[str, ...] | None
    signal_pages: tuple[int, ...]
    makespan_ns: int
    log: tuple[str, ...]
    dump: tuple[int, int] | None  # (pages written, holes) of a core dump
    # For the lecture's words (scenario/lecture.py): how many events had each events.OUTCOME
    # ("zero page": 1024, ...), and what the first event that faulted or failed did ("no fault" if none).
    outcomes: dict[str, int] = field(default_factory=dict)
    first_outcome: str = "no fault"
