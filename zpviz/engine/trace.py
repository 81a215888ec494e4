"""Trace: the recorded run as a random-access sequence of immutable frames.

Frame i is the state after i events (frame 0: the vmas exist, nothing is touched). The trace
keeps the machine's deltas plus keyframes spaced so that all keyframes together stay within a
memory budget; reading frame i copies the nearest keyframe at or before i and applies at most
one interval of deltas with numpy, so any frame costs the same whatever the order of reads.

Views read events by name, never by column position: `events_between` (a frame range's events,
one read-only array per column of columns.EVENT_COLUMNS), `event_column`, `scalar_series` (one
value per frame) and `Frame.cpu_counter`. docs/engine.md describes them.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from zpviz.engine import constants as C
from zpviz.engine.columns import EVENT_COLUMNS, EVENT_RECORD, KEY_STRIDE, N_LD, SCALARS, Scalar
from zpviz.engine.lines import LineHistory, LineStates, LineTransfers
from zpviz.engine.record import Deltas, KernelPath, ScalarTable

KEYFRAME_BUDGET_BYTES = 24 << 20
# Keyframes no closer than this many events: a frame costs a copy of the whole state plus the
# deltas since its keyframe, and up to this many events' deltas cost about as much as the copy
# (the tour: 0.05 ms a frame at 64 events, 0.06 ms at 1,024), while a small lesson's keyframes
# were most of what its trace weighs (the tour's 146 were 16 MB a variant, written to and read
# from the trace cache at every cold start; docs/startup.md)
KEYFRAME_MIN_EVENTS = 1024

# Frame.page_bits: a page's ST_* state in the low three bits, and two flags above them
PFN_STATE = 0x07
PFN_HUGE = 0x08
PFN_MLOCKED = 0x10
assert max(C.ST_UNMAPPED, C.ST_NONE, C.ST_ZERO, C.ST_ANON, C.ST_SHARED, C.ST_FILE) <= PFN_STATE
# what a present page is by its frame's kind (FK_*) alone: the huge zero page is huge whatever its
# flags; other kinds (free, page table, kernel) show as not present
_KIND_BITS = np.full(256, C.ST_NONE, np.uint8)
_KIND_BITS[[C.FK_ANON, C.FK_SHMEM, C.FK_FILE, C.FK_ZERO, C.FK_HZERO]] = (
    C.ST_ANON, C.ST_SHARED, C.ST_FILE, C.ST_ZERO, C.ST_ZERO | PFN_HUGE)
_KIND_BITS.flags.writeable = False


@dataclass(frozen=True)
class VmaLayout:
    index: int
    name: str
    proc: int
    base: int  # first slot
    npages: int
    vpage0: int
    backing: str
    shared: bool


@dataclass(frozen=True)
class ProcLayout:
    index: int
    name: str
    vmas: tuple[VmaLayout, ...]
    created_event: int  # -1: exists from the start; else the fork event that made it
    exit_event: int | None  # the event after which it is gone


@dataclass(frozen=True)
class Layout:
    procs: tuple[ProcLayout, ...]
    n_slots: int

    def proc(self, name: str) -> ProcLayout:
        for p in self.procs:
            if p.name == name:
                return p
        raise KeyError(name)


def _ro(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


@dataclass(frozen=True, eq=False)
class EventView:
    """The events of a frame range, one read-only array per column (columns.Col and TimeCol
    name them; docs/engine.md says what each holds). `first` is the first event's index."""

    first: int
    step: np.ndarray  # int32: the lesson step (-1: set-up)
    cpu: np.ndarray  # int32
    kind: np.ndarray  # int32: events.Kind
    path: np.ndarray  # int32: index into Trace.paths
    proc: np.ndarray  # int32: process index, -1 for none
    slot: np.ndarray  # int32: the page the event is about, -1 for none
    pfn: np.ndarray  # int32: the pfn that slot maps after the event
    fault: np.ndarray  # int32: events.FAULT_*
    t0: np.ndarray  # int64: start on the event's CPU clock, ns
    t1: np.ndarray  # int64: end
    flags: np.ndarray  # int32: events.EF_* bits

    def __len__(self) -> int:
        return len(self.step)

    def column(self, name: str) -> np.ndarray:
        if name not in EVENT_COLUMNS:
            raise KeyError(f"no event column {name!r}; the columns are {', '.join(EVENT_COLUMNS)}")
        return getattr(self, name)

    def records(self) -> np.ndarray:
        """The events as one structured array (dtype columns.EVENT_RECORD), a copy."""
        out = np.empty(len(self), EVENT_RECORD)
        for name in EVENT_COLUMNS:
            out[name] = getattr(self, name)
        return out


assert tuple(f for f in EventView.__dataclass_fields__ if f != "first") == EVENT_COLUMNS


# A frame made one event on from a frame already made (a step of the window) patches that frame's
# per-slot and per-pfn look-ups where the events since it wrote, when they wrote to at most
# 1/_PATCH_FRACTION of the slots and the pfns whose bits changed are at most _PATCH_PFNS
_PATCH_FRACTION = 8
_PATCH_PFNS = 16
_NO_INDEX = _ro(np.zeros(0, np.int64))


def _once_each(idx: np.ndarray, size: int) -> bool:
    """Whether no index in idx (each in 0..size-1) comes twice."""
    if len(idx) < 2:
        return True
    if len(idx) > size:
        return False
    if (idx[1:] > idx[:-1]).all():  # (increasing, as new frames are handed out: no scatter)
        return True
    seen = np.zeros(size, bool)
    seen[idx] = True
    return np.count_nonzero(seen) == len(idx)


@dataclass(frozen=True, eq=False)
class _Near:
    """What a frame made from a nearer frame may take of that frame's look-ups: the slots and pfns
    the events between them wrote (sorted, unique; a write may leave a value as it was), the nearer
    frame's _present, _pfn_bits and page_bits where it had made them, and its per-pfn fields."""

    slots: np.ndarray
    pfns: np.ndarray
    present: tuple[np.ndarray, np.ndarray, np.ndarray] | None
    pfn_bits: np.ndarray | None
    page_bits: np.ndarray | None
    fkind: np.ndarray
    pflags: np.ndarray
    mapcount: np.ndarray


@dataclass(frozen=True, eq=False)
class Frame:
    """The whole machine after `index` events. Arrays are read-only views owned by this frame."""

    index: int
    step: int  # the step whose event made this frame (-1: set-up; frame 0 is -1 too)
    event: int  # the event that made it, -1 for frame 0
    pte: np.ndarray  # uint8 per slot
    pfn: np.ndarray  # int32 per slot (-1: none)
    vmf: np.ndarray  # uint16 per slot
    refcount: np.ndarray  # int32 per frame (pfn)
    mapcount: np.ndarray
    pflags: np.ndarray  # uint16
    fkind: np.ndarray  # uint8
    cpu: np.ndarray  # (ncpus, N_CPU_COUNTERS) int64
    scalars: dict[str, int]  # by columns.SCALARS name

    @property
    def _state(self) -> dict[str, np.ndarray]:
        """The arrays a keyframe holds, by the keyframe's names (Trace.frame starts from them)."""
        return {"pte": self.pte, "pfn": self.pfn, "vmf": self.vmf, "refcount": self.refcount,
                "mapcount": self.mapcount, "pflags": self.pflags, "fkind": self.fkind, "cpu": self.cpu}

    def cpu_counter(self, counter: int) -> np.ndarray:
        """One counter (constants.C_*, or C_BY_LINE + a line kind) for every CPU."""
        if not 0 <= counter < self.cpu.shape[1]:
            raise IndexError(f"counter {counter} out of range 0..{self.cpu.shape[1] - 1}")
        return self.cpu[:, counter]

    @cached_property
    def states(self) -> np.ndarray:
        """page_states(), computed once per frame."""
        return _ro(self.page_states())

    # page_states, page_mlocked and page_huge share one look-up per frame: whether each slot is
    # present, and, per pfn, what a page mapping that frame is (PFN_STATE, PFN_HUGE, PFN_MLOCKED).
    # Every page-level answer is then one gather of that per-pfn table by the slots' pfns, where
    # the three methods used to gather fkind, mapcount and pflags (twice) per slot each, per call.

    @cached_property
    def _present(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(mapped, present) per slot, and the pfn of each present slot (0 elsewhere)."""
        near = self.__dict__.get("_near")
        if near is not None and near.present is not None:
            s = near.slots  # only these slots' pte, pfn and vmf may differ from the nearer frame's
            if not len(s):
                return near.present
            if len(s) <= len(self.pte) // _PATCH_FRACTION:
                mapped, present, pfn = (a.copy() for a in near.present)
                ms = (self.vmf[s] & C.VM_MAPPED) != 0
                ps = ms & ((self.pte[s] & C.PTE_P) != 0)
                mapped[s], present[s], pfn[s] = ms, ps, np.where(ps, self.pfn[s], 0)
                return _ro(mapped), _ro(present), _ro(pfn)
        mapped = (self.vmf & C.VM_MAPPED) != 0
        present = mapped & ((self.pte & C.PTE_P) != 0)
        return _ro(mapped), _ro(present), _ro(np.where(present, self.pfn, 0))

    @cached_property
    def _pfn_bits(self) -> np.ndarray:
        """Per pfn (uint8): PFN_STATE, the ST_* state of a present page mapping this frame; PFN_HUGE,
        part of a THP or the huge zero page; PFN_MLOCKED, PG_mlocked on its head page (itself
        outside a THP)."""
        near = self.__dict__.get("_near")
        if near is not None and near.pfn_bits is not None:
            p = near.pfns  # only these pfns' fields may differ from the nearer frame's (refcount
            # alone, as a zero-page mapping changes, leaves every bit as it was)
            if not len(p) or (np.array_equal(self.fkind[p], near.fkind[p]) and np.array_equal(
                    self.pflags[p], near.pflags[p]) and np.array_equal(self.mapcount[p], near.mapcount[p])):
                return near.pfn_bits
            compound = C.PG_HEAD | C.PG_TAIL
            if (len(p) <= _PATCH_PFNS and not ((self.pflags[p] | near.pflags[p]) & compound).any()
                    and (p % C.HPAGE_PAGES).all()):
                # pages outside THPs, before and after, none where a THP's head would be: a page's
                # bits are its own fields', and no other pfn's bits are taken from these pages'
                # fields (a tail's are its head's, at a multiple of HPAGE_PAGES)
                bits = near.pfn_bits.copy()
                kind, mapcount = self.fkind[p], self.mapcount[p]
                b = _KIND_BITS[kind]
                b[(kind == C.FK_ANON) & (mapcount > 1)] = C.ST_SHARED
                b |= ((self.pflags[p] & C.PG_MLOCKED) != 0).view(np.uint8) * np.uint8(PFN_MLOCKED)
                bits[p] = b
                return _ro(bits)
        n = len(self.fkind)
        kind, pflags, mapcount = self.fkind, self.pflags, self.mapcount
        bits = _KIND_BITS[kind]  # a new array
        compound = (pflags & (C.PG_HEAD | C.PG_TAIL)) != 0

        def of_head(a: np.ndarray) -> np.ndarray:  # a[pfn - pfn % HPAGE_PAGES] for every pfn
            return np.repeat(a[::C.HPAGE_PAGES], C.HPAGE_PAGES)[:n]

        # an anon page mapped more than once is shared; a THP's mapcount is its head's, in whole
        # huge pages (ceil(head / 512) > 1 is head > 512)
        shared = kind == C.FK_ANON
        shared &= np.where(compound, of_head(mapcount) > C.HPAGE_PAGES, mapcount > 1)
        bits[shared] = C.ST_SHARED
        bits |= compound.view(np.uint8) * np.uint8(PFN_HUGE)
        tail = (pflags & C.PG_TAIL) != 0
        mlocked = (np.where(tail, of_head(pflags), pflags) & C.PG_MLOCKED) != 0
        bits |= mlocked.view(np.uint8) * np.uint8(PFN_MLOCKED)
        return _ro(bits)

    @property
    def present(self) -> np.ndarray:
        """Per slot (bool, read-only, made once per frame): a vma maps it and its PTE is present."""
        return self._present[1]

    @cached_property
    def page_bits(self) -> np.ndarray:
        """Per slot (uint8, read-only): the page's ST_* state in PFN_STATE, and PFN_HUGE and
        PFN_MLOCKED (PG_mlocked) set only on present pages; page_states, page_huge and
        page_mlocked in one array."""
        mapped, present, pfn = self._present
        pfn_bits = self._pfn_bits
        near = self.__dict__.pop("_near", None)  # (its last use: the nearer frame's arrays go with it)
        if near is not None and near.page_bits is not None:
            # a slot's bits depend on its mapped, present and pfn, and its pfn's bits: patch the
            # nearer frame's where one of those may have changed (the same values as made whole)
            if pfn_bits is near.pfn_bits:
                changed = np.zeros(0, np.intp)
            elif len(near.pfns) <= _PATCH_PFNS and pfn_bits.shape == near.pfn_bits.shape:
                changed = np.flatnonzero(pfn_bits != near.pfn_bits)
            else:
                changed = None
            if changed is not None and len(changed) <= _PATCH_PFNS:
                s = near.slots
                if len(changed):  # the slots mapping a pfn whose bits changed (np.isin, for a few)
                    mapping = pfn == changed[0]
                    for q in changed[1:]:
                        mapping |= pfn == q
                    s = np.union1d(s, np.flatnonzero(mapping))
                if not len(s):
                    return near.page_bits
                if len(s) <= len(pfn) // _PATCH_FRACTION:
                    bits = near.page_bits.copy()
                    b = pfn_bits.take(pfn[s])
                    b[~present[s]] = C.ST_NONE
                    b[~mapped[s]] = C.ST_UNMAPPED
                    bits[s] = b
                    return _ro(bits)
        bits = pfn_bits.take(pfn)  # (a new array; take: ~9 us for 21,568 slots, indexing ~17)
        bits[~present] = C.ST_NONE
        bits[~mapped] = C.ST_UNMAPPED
        return _ro(bits)

    def page_states(self) -> np.ndarray:
        """The contract's page state per slot, as ST_* codes (uint8)."""
        return self.page_bits & PFN_STATE

    def page_mlocked(self, pg_mlocked: bool = True) -> np.ndarray:
        present = self._present[1]
        if not pg_mlocked:  # 2.6.23: a present page in a VM_LOCKED vma
            return present & ((self.vmf & C.VM_LOCKED) != 0)
        return (self.page_bits & PFN_MLOCKED) != 0

    def page_huge(self) -> np.ndarray:
        return (self.page_bits & PFN_HUGE) != 0


class Trace(Sequence[Frame]):
    def __init__(self, *, scenario, kernel, layout: Layout, events: dict[str, np.ndarray], paths: list[KernelPath],
                 logs: dict[int, list[str]], step_results: list, setup_end: int, scalars: ScalarTable,
                 init: dict[str, np.ndarray], deltas: Deltas, ncpus: int,
                 kernel_log: list[str], notes: list[str], cache_size: int = 8,
                 lines: np.ndarray | None = None, watched: tuple[str, ...] = ()):
        self.scenario = scenario
        self.kernel = kernel
        self.seed = scenario.seed
        self.layout = layout
        self.events = {name: _ro(col) for name, col in events.items()}  # by columns.EVENT_COLUMNS name
        self.paths = paths
        self.logs = logs
        self.step_results = step_results
        self.setup_end = setup_end
        self.scalars = scalars
        self.ncpus = ncpus
        self.kernel_log = kernel_log
        self.notes = notes
        self._d = deltas
        self._cache: OrderedDict[int, Frame] = OrderedDict()
        self._cache_size = cache_size
        n_ev = len(events["step"])
        self.n_events = n_ev
        self._build_keyframes(init, n_ev)
        self.watched = tuple(watched)  # the cache lines whose transitions were recorded
        self._lines = LineHistory(np.zeros((0, N_LD), np.int32) if lines is None else lines, self.watched,
                                  [scenario.socket_of(c) for c in range(ncpus)], ncpus)

    # ------------------------------------------------------------------ Sequence
    def __len__(self) -> int:
        return self.n_events + 1

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return [self.frame(j) for j in range(*i.indices(len(self)))]
        return self.frame(i)

    # ------------------------------------------------------------------ steps
    def step_end_frame(self, step: int) -> int:
        """The frame showing the state after step `step` (its last event)."""
        if step < 0:
            return self.setup_end
        return self.step_results[step].end_event

    def step_start_frame(self, step: int) -> int:
        """The frame just before step `step` begins."""
        return self.step_results[step].first_event if step >= 0 else 0

    def step_of_frame(self, i: int) -> int:
        return -1 if i == 0 else int(self.events["step"][i - 1])

    def path_of_event(self, e: int) -> KernelPath:
        return self.paths[int(self.events["path"][e])]

    # ------------------------------------------------------------------ reading events by name
    def _event_range(self, first: int, end: int | None) -> tuple[int, int]:
        end = self.n_events if end is None else end
        if not 0 <= first <= end <= self.n_events:
            raise IndexError(f"events {first}..{end} out of range 0..{self.n_events}")
        return first, end

    def event_column(self, name: str, first: int = 0, end: int | None = None) -> np.ndarray:
        """One column of events first..end-1 (read-only). Frame f is the state after events
        0..f-1, so the events between frames a and b are first=a, end=b."""
        if name not in EVENT_COLUMNS:
            raise KeyError(f"no event column {name!r}; the columns are {', '.join(EVENT_COLUMNS)}")
        first, end = self._event_range(first, end)
        return self.events[name][first:end]

    def events_between(self, first: int = 0, end: int | None = None) -> EventView:
        """Events first..end-1 (those that turn frame `first` into frame `end`), by name."""
        first, end = self._event_range(first, end)
        return EventView(first=first, **{name: self.events[name][first:end] for name in EVENT_COLUMNS})

    def scalar_series(self, name: str) -> np.ndarray:
        """One machine-wide scalar (columns.SCALARS) per frame, frame 0 being 0 (int64)."""
        if name not in SCALARS:
            raise KeyError(f"no scalar {name!r}; the scalars are {', '.join(SCALARS)}")
        out = np.zeros(len(self), np.int64)
        if self.n_events:
            out[1:] = self.scalars.column(Scalar[name.upper()])
        return out

    # ------------------------------------------------------------------ watched cache lines
    def line_states(self, frame: int, line: str = "zero_page_line") -> LineStates:
        """Every CPU's copy (columns.LineState) of a watched line at frame `frame` (after events
        0..frame-1), and the CPU holding it in M or E. KeyError for a line the lesson does not
        watch ([scenario] watch)."""
        n = len(self)
        if not 0 <= frame < n:
            raise IndexError(f"frame {frame} out of range 0..{n - 1}")
        return self._lines.states(line, frame)

    def line_transfers(self, first: int = 0, end: int | None = None,
                       line: str = "zero_page_line") -> LineTransfers:
        """The watched line's transfers from one CPU's cache to another's in events first..end-1:
        cpu_from, cpu_to, cost_ns, same_socket per transfer (and its event). Their count is the
        change of the line's *_line_transfers scalar over the range."""
        first, end = self._event_range(first, end)
        return self._lines.transfers(line, first, end)

    def line_records(self, first: int = 0, end: int | None = None, line: str = "zero_page_line") -> np.ndarray:
        """Every recorded transition (columns.Ld rows, int64) of a watched line in events first..end-1."""
        first, end = self._event_range(first, end)
        return self._lines.records(line, first, end)

    # ------------------------------------------------------------------ keyframes
    def _build_keyframes(self, init: dict[str, np.ndarray], n_ev: int) -> None:
        state_bytes = sum(a.nbytes for a in init.values()) + 1
        n_kf = int(max(1, min(n_ev // KEYFRAME_MIN_EVENTS + 1, KEYFRAME_BUDGET_BYTES // state_bytes)))
        self._k = max(1, -(-n_ev // n_kf)) if n_ev else 1
        # keyframe 0 is init itself (the run hands it over), the last one the working copy: every
        # keyframe between is a copy
        self._keys = [dict(init, cpu=np.zeros((self.ncpus, C.N_CPU_COUNTERS), np.int64))]
        cur = {k: v.copy() for k, v in self._keys[0].items()}
        last = -(-n_ev // self._k) if n_ev else 0
        for j in range(1, last + 1):
            changed = self._apply(cur, (j - 1) * self._k, j * self._k)
            # an array no event of the interval changed is the previous keyframe's: frame() copies
            # a keyframe before applying anything to it, so keyframes may share what is alike
            prev = self._keys[-1]
            self._keys.append({k: (v if j == last else v.copy()) if k in changed else prev[k]
                               for k, v in cur.items()})

    def _apply(self, cur: dict[str, np.ndarray], a: int, b: int, track: bool = True,
               touched: dict[str, np.ndarray] | None = None) -> set[str]:
        """Apply the deltas of events a..b-1 to cur in place; returns the names of the arrays whose
        values changed (track=False: every array written is named, unchecked; frame() uses none
        of them, and comparing 7 arrays was about half of making a frame one event on). A read-only
        array in cur (a frame's, shared) is copied before it is written, and its copy put in cur.
        touched: gets the indices written, by "sd" (slots) and "fd" (pfns), sorted and unique."""
        d = self._d
        b = min(b, self.n_events)
        changed: set[str] = set()
        if b <= a:
            return changed
        for prefix, ids, fields in (("sd", "slot", (("pte", "pte"), ("pfn", "pfn"), ("vmf", "vmf"))),
                                    ("fd", "pfn", (("ref", "refcount"), ("map", "mapcount"),
                                                   ("flags", "pflags"), ("kind", "fkind")))):
            lo, hi = d.offset(prefix, a), d.offset(prefix, b)
            if hi <= lo:
                continue
            cols = d.sd if prefix == "sd" else d.fd
            idx = cols[ids][lo:hi]
            if touched is None and _once_each(idx := idx.astype(np.intp, copy=False), len(cur[fields[0][1]])):
                # every index written once (a keyframe's interval of faults on distinct pages, as
                # most are): the records apply as they are, in any order, with no sort and no
                # gathers (the order matters only for touched, which wants them sorted)
                uniq, last = idx, slice(lo, hi)
            else:
                # last write wins: keep the final delta of each index within the range (a stable
                # sort keeps each index's deltas in event order, so the last of each run is the
                # final one; some 4 times faster than np.unique of the reversed indices with
                # return_index)
                order = np.argsort(idx, kind="stable")
                ordered = idx[order]
                keep = np.empty(len(ordered), bool)
                keep[-1] = True
                np.not_equal(ordered[1:], ordered[:-1], out=keep[:-1])
                uniq = ordered[keep]
                last = lo + order[keep]
            if touched is not None:
                touched[prefix] = uniq
            uniq = uniq.astype(np.intp, copy=False)  # (once: numpy converts an int32 index at each use)
            for src, dst in fields:
                new = cols[src][last]
                arr = cur[dst]
                # (a few first: where the field changes, as most do, that settles it cheaply)
                if track and np.array_equal(arr[uniq[:16]], new[:16]) and np.array_equal(arr[uniq], new):
                    continue
                if not arr.flags.writeable:
                    arr = cur[dst] = arr.copy()
                arr[uniq] = new
                changed.add(dst)
        # key = columns.counter_key(cpu, counter); bincount is far faster than np.add.at
        width = self.ncpus * KEY_STRIDE
        sums = d.counter_sums(a, b, width)
        add = sums[:width].reshape(self.ncpus, KEY_STRIDE)[:, : C.N_CPU_COUNTERS].astype(np.int64)
        if add.any():
            if cur["cpu"].flags.writeable:
                cur["cpu"] += add
            else:
                cur["cpu"] = cur["cpu"] + add
            changed.add("cpu")
        return changed

    def frame(self, i: int) -> Frame:
        n = len(self)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError(f"frame {i} out of range 0..{n - 1}")
        f = self._cache.get(i)
        if f is not None:
            self._cache.move_to_end(i)
            return f
        kf = i // self._k
        start, base = kf * self._k, self._keys[kf]
        near = None
        for j, g in self._cache.items():
            # a frame already made after the keyframe is nearer: apply only the events since it (a
            # drag of the timeline asks for frames a few thousand events apart, a keyframe
            # interval can hold hundreds of thousands)
            if start < j < i:
                start, base, near = j, g._state, g
        # the indices written are wanted only to patch a nearer frame's look-ups; from a keyframe
        # none are kept, and without them _apply may take its unsorted path (no sort, no gathers)
        touched: dict[str, np.ndarray] | None = None if near is None else {}
        if near is None:
            cur = {k: v.copy() for k, v in base.items()}
        else:  # a frame's arrays are read-only: _apply copies those it writes, the others are shared
            cur = dict(base)
        self._apply(cur, start, i, track=False, touched=touched)
        sc = dict(zip(SCALARS, self.scalars.row(i - 1))) if i else dict.fromkeys(SCALARS, 0)
        f = Frame(index=i, step=self.step_of_frame(i), event=i - 1, pte=_ro(cur["pte"]), pfn=_ro(cur["pfn"]),
                  vmf=_ro(cur["vmf"]), refcount=_ro(cur["refcount"]), mapcount=_ro(cur["mapcount"]),
                  pflags=_ro(cur["pflags"]), fkind=_ro(cur["fkind"]), cpu=_ro(cur["cpu"]), scalars=sc)
        if near is not None:
            made = near.__dict__  # the look-ups the nearer frame has made (cached_property keeps them there)
            if "_present" in made or "_pfn_bits" in made:
                object.__setattr__(f, "_near", _Near(
                    slots=touched.get("sd", _NO_INDEX), pfns=touched.get("fd", _NO_INDEX),
                    present=made.get("_present"), pfn_bits=made.get("_pfn_bits"), page_bits=made.get("page_bits"),
                    fkind=near.fkind, pflags=near.pflags, mapcount=near.mapcount))
        self._cache[i] = f
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return f

    def alive(self, proc: int, frame: int) -> bool:
        p = self.layout.procs[proc]
        e = frame - 1  # events applied: 0..frame-1
        if p.created_event >= 0 and e < p.created_event:
            return False
        return not (p.exit_event is not None and e >= p.exit_event)
