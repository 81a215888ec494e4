"""The record layout: every column the recorder keeps, by name, with its type.

This is the one definition of what an event record holds. Every writer to the recorder (Core.emit,
the bulk loop, the period skip, the micro stretches, the sweep) lays its rows out by these names,
and every reader (record.py's seal, the trace, the views) picks columns by them, so a column is
added, moved or retyped here and nowhere else. docs/engine.md describes the layout for readers.

The recorder's append arrays, per event:
  evi      one row of `Col` ints (int32)                    the event itself
  evt      one row of `TimeCol` ints (int64)                its start and end on its CPU's clock
  sd_n     a count, then that many `Sd` records (int32)     the new PTE, pfn and vma flags of a page
  fd_n     a count, then that many `Fd` records (int32)     the new struct page of a frame
  cd_n     a count, then that many `Cd` pairs (int32)       per-CPU counter increments
  scalars  one row of `Stored` ints (int32)                 the machine-wide series after the event

and, sparse (only events that change a watched line's MESI state have any):
  ld       `Ld` records (int32), in event order             a watched cache line's transition
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np

from zpviz.engine import constants as C


class Col(IntEnum):
    """The int columns of an event row (Recorder.evi), in row order."""

    STEP = 0  # the lesson step (-1: set-up)
    CPU = 1
    KIND = 2  # events.Kind
    PATH = 3  # index into the recorder's KernelPath list
    PROC = 4  # process index, -1 for none
    SLOT = 5  # the page (slot) the event is about, -1 for none
    PFN = 6  # the pfn that slot maps after the event (-1 without a slot)
    FAULT = 7  # events.FAULT_* (0: not a fault)
    FLAGS = 8  # events.EF_* bits


class TimeCol(IntEnum):
    """The time columns of an event (Recorder.evt), in row order: ns on the event's CPU clock."""

    T0 = 0
    T1 = 1


class Sd(IntEnum):
    """A slot delta: the page's new state after the event."""

    SLOT = 0
    PTE = 1  # constants.PTE_* bits
    PFN = 2
    VMF = 3  # constants.VM_* flags of the vma covering it


class Fd(IntEnum):
    """A frame delta: the frame's new struct page after the event."""

    PFN = 0
    REF = 1  # _count
    MAP = 2  # _mapcount (+1)
    FLAGS = 3  # constants.PG_*
    KIND = 4  # constants.FK_*


class Cd(IntEnum):
    """A counter increment: key (see counter_key) and the amount."""

    KEY = 0
    VALUE = 1


class Scalar(IntEnum):
    """The machine-wide series after each event, as the trace's scalar table has them."""

    TIME_NS = 0  # the machine clock after the event (max over CPUs): not stored, the running max of t1
    ZP_REFCOUNT = 1  # change of the zero page's _count since boot
    ZP_MAPCOUNT = 2
    ZP_LINE_WRITES = 3
    ZP_LINE_TRANSFERS = 4
    HZP_REFCOUNT = 5
    HZP_LINE_WRITES = 6
    HZP_LINE_TRANSFERS = 7
    FRAMES_USED = 8
    PT_FRAMES = 9
    RSS_PAGES = 10  # what the mm counters say, all live processes
    BAD_PAGE_MAPS = 11


class Stored(IntEnum):
    """The scalars the recorder stores per event (Recorder.scalars): Scalar without TIME_NS."""

    ZP_REFCOUNT = 0
    ZP_MAPCOUNT = 1
    ZP_LINE_WRITES = 2
    ZP_LINE_TRANSFERS = 3
    HZP_REFCOUNT = 4
    HZP_LINE_WRITES = 5
    HZP_LINE_TRANSFERS = 6
    FRAMES_USED = 7
    PT_FRAMES = 8
    RSS_PAGES = 9
    BAD_PAGE_MAPS = 10


class Ld(IntEnum):
    """A watched line's transition (cache.CacheModel.watch): one CPU's access that changed the
    line's MESI state. Sparse: a record names its event, and most events have none. Replaying a
    line's records in order (a write makes CPU the only holder, M; a read joins the holders, S,
    or is the only one, E) gives every CPU's copy at any frame."""

    EVENT = 0  # the event whose access it was
    LINE = 1  # the line's kind: constants.LK_ZERO (the zero page's struct page) or LK_HZERO
    CPU = 2  # the CPU that accessed it
    STATE = 3  # LineState of that CPU's copy after the access (M, E or S)
    FROM = 4  # the CPU whose cache supplied the line (a transfer), -1: memory, a sharer or itself
    COST = 5  # the access's latency, ns (waiting for a busy line not included)


class LineState(IntEnum):
    """A CPU's copy of a cache line, MESI."""

    I = 0  # noqa: E741  (the letter is the name)
    S = 1
    E = 2
    M = 3


# names, in order (the trace's event dict and frames' scalar dicts use these)
INT_COLUMNS = tuple(c.name.lower() for c in Col)
TIME_COLUMNS = tuple(c.name.lower() for c in TimeCol)
EVENT_COLUMNS = INT_COLUMNS[:Col.FLAGS] + TIME_COLUMNS + INT_COLUMNS[Col.FLAGS:]  # the trace's order
SD_FIELDS = tuple(c.name.lower() for c in Sd)
FD_FIELDS = tuple(c.name.lower() for c in Fd)
CD_FIELDS = tuple(c.name.lower() for c in Cd)
SCALARS = tuple(c.name.lower() for c in Scalar)
N_INT, N_TIME, N_STORED = len(Col), len(TimeCol), len(Stored)
N_SD, N_FD, N_CD = len(Sd), len(Fd), len(Cd)
LD_FIELDS = tuple(c.name.lower() for c in Ld)
N_LD = len(Ld)
# the lines a lesson may watch ([scenario] watch), by name -> line kind
WATCHABLE = {"zero_page_line": C.LK_ZERO, "huge_zero_page_line": C.LK_HZERO}

# the types: what the recorder appends (array typecodes) and what the trace hands out (numpy)
INT_CODE, TIME_CODE = "i", "q"  # every append array is INT_CODE but evt
INT_DTYPE, TIME_DTYPE = np.int32, np.int64
EVENT_DTYPES = {name: (TIME_DTYPE if name in TIME_COLUMNS else INT_DTYPE) for name in EVENT_COLUMNS}
SCALAR_DTYPES = {name: (TIME_DTYPE if name == "time_ns" else INT_DTYPE) for name in SCALARS}
# one structured row per event, for Trace.events_view
EVENT_RECORD = np.dtype([(name, EVENT_DTYPES[name]) for name in EVENT_COLUMNS])

# ------------------------------------------------------------------------------ counter keys
# A counter increment's key names a CPU and one of its counters (constants.CPU_COUNTERS, then a
# transfers-in count per line kind): cpu * KEY_STRIDE + counter.
KEY_STRIDE = 64
KEY_SHIFT = 6  # KEY_STRIDE == 1 << KEY_SHIFT: key >> KEY_SHIFT is the CPU
KEY_MASK = KEY_STRIDE - 1


def counter_key(cpu, counter):
    """The key of a CPU's counter (ints or numpy arrays)."""
    return cpu * KEY_STRIDE + counter


def key_cpu(key):
    return key >> KEY_SHIFT


def key_counter(key):
    return key & KEY_MASK


assert 1 << KEY_SHIFT == KEY_STRIDE and C.N_CPU_COUNTERS <= KEY_STRIDE, "every counter fits in a key"
assert tuple(s.name for s in Stored) == tuple(s.name for s in Scalar)[1:], "Stored is Scalar without TIME_NS"
