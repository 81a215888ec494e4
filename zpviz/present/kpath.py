"""The kernel path of an event: the functions it went through, the test that decided, and the log.

Frame i shows the state after event i - 1, so the "current event" of frame i is event i - 1
(none for frame 0).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

from zpviz.engine import events as E
from zpviz.present.grid import address_text

KIND_TEXT = {
    E.Kind.NARRATE: "narration", E.Kind.IDLE: "nothing to do",
    E.Kind.READ_ZERO: "read fault: mapped the zero page", E.Kind.READ_ALLOC: "read fault: new zeroed page",
    E.Kind.READ_CACHE: "read fault: page-cache / shmem page", E.Kind.WRITE_ALLOC: "write fault: new page",
    E.Kind.WRITE_SHARED: "write fault: shared page made writable", E.Kind.COW_ZERO: "COW of the zero page",
    E.Kind.COW_COPY: "COW: copied the page", E.Kind.WP_REUSE: "write fault: page reused in place",
    E.Kind.HUGE_ZERO: "huge fault: mapped the huge zero page", E.Kind.HUGE_ALLOC: "huge fault: new THP",
    E.Kind.HUGE_COW_ZERO: "COW of the huge zero page: new THP", E.Kind.SEGV: "SIGSEGV",
    E.Kind.GUP: "get_user_pages: one page", E.Kind.GUP_ERROR: "get_user_pages failed",
    E.Kind.MLOCK: "mlock walk", E.Kind.MUNLOCK: "munlock walk", E.Kind.ZAP: "PTE zapped",
    E.Kind.STAT: "page looked up (move_pages, smaps)", E.Kind.FORK_COPY: "fork: PTE copied",
    E.Kind.FORK_VMAS: "fork: the child's vmas copied",
    E.Kind.DUMP_WRITE: "core dump: page written",
    E.Kind.DUMP_HOLE: "core dump: hole", E.Kind.SPLIT: "huge PMD split", E.Kind.PROTECT: "mprotect: PTE changed",
    E.Kind.BAD_PAGE: "Bad page map",
}
COW_KINDS = frozenset({E.Kind.COW_ZERO, E.Kind.COW_COPY, E.Kind.HUGE_COW_ZERO})



# The words the room sees for an outcome (the report keeps the engine's names). "copy" is every
# write fault that gives a page a private copy of its own (wp_page_copy), the zero page's too,
# where the new page is only cleared: shown as "copy", it contradicted the lesson 4, 18 and 21
# captions ("allocates a page and clears it instead of copying"). The predict panel's answers and
# the kernel path dock say the same words.
OUTCOME_WORDS = {"copy": "copy-on-write"}


def outcome_text(outcome) -> str:
    """An outcome (or a first-fault answer) as the room reads it."""
    return OUTCOME_WORDS.get(outcome, outcome) if isinstance(outcome, str) else str(outcome)


@dataclass(frozen=True)
class EventView:
    event: int
    step: int
    cpu: int
    kind: int
    what: str  # KIND_TEXT
    outcome: str  # events.outcome as the room reads it (outcome_text): "zero page", "copy-on-write", ...
    where: str  # "main · table page 12 (0x7f...)" or ""
    slot: int
    pfn: int
    functions: tuple[str, ...]
    decision: str
    log: tuple[str, ...]  # lines this event printed
    bad: bool  # printed "BUG: Bad page map"
    segv: bool
    t0: int
    t1: int

    def path_text(self) -> str:
        return " \u2192 ".join(self.functions)

    def headline(self) -> str:
        if self.kind == E.Kind.NARRATE:
            return "Narration: no kernel work in this step"
        head = f"event {self.event:,} \u00b7 CPU {self.cpu} \u00b7 {self.what}"
        return head + (f" \u00b7 {self.where}" if self.where else "")


def event_view(trace, frame_index: int, grid=None) -> EventView | None:
    e = frame_index - 1
    if e < 0 or e >= trace.n_events:
        return None
    ev = trace.events
    kind = int(ev["kind"][e])
    slot = int(ev["slot"][e])
    where = ""
    if slot >= 0 and grid is not None and slot < grid.n_slots:
        b = grid.block_of_slot(slot)
        if b is not None:
            where = f"{b.proc_name} \u00b7 {b.vma} page {slot - b.base} ({address_text(grid.slot_address(slot))})"
    path = trace.path_of_event(e)
    flags = int(ev["flags"][e])
    return EventView(
        event=e, step=int(ev["step"][e]), cpu=int(ev["cpu"][e]), kind=kind,
        what=KIND_TEXT.get(E.Kind(kind), E.Kind(kind).name.lower()), outcome=outcome_text(E.outcome(kind)), where=where,
        slot=slot, pfn=int(ev["pfn"][e]), functions=tuple(path.functions), decision=path.decision,
        log=tuple(trace.logs.get(e, ())), bad=bool(flags & E.EF_BAD_PAGE), segv=bool(flags & E.EF_SIGSEGV),
        t0=int(ev["t0"][e]), t1=int(ev["t1"][e]))


@dataclass(frozen=True)
class LogLine:
    event: int
    text: str

    @property
    def bad(self) -> bool:
        return "Bad page map" in self.text or self.text.startswith("BUG")


class LogIndex:
    """The kernel log as dmesg would show it at any frame: lines printed by events before it."""

    def __init__(self, trace):
        self.lines: list[LogLine] = [LogLine(e, line) for e in sorted(trace.logs) for line in trace.logs[e]]
        self._events = [ln.event for ln in self.lines]

    def upto(self, frame_index: int, last: int = 200) -> list[LogLine]:
        """The last `last` lines printed by events 0 .. frame_index - 1."""
        n = bisect.bisect_left(self._events, frame_index)
        return self.lines[max(0, n - last):n]

    def count_upto(self, frame_index: int) -> int:
        return bisect.bisect_left(self._events, frame_index)
