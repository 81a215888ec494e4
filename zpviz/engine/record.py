"""The recorder: the machine writes each event and the state it changed here, nothing else.

Events are columns of ints; state changes are deltas holding the new value of each slot or
frame an event touched. Between steps the run calls `seal`, which moves what has been appended
into compact columns (each in the smallest integer type its values need), so the append arrays
hold one step's events at most; `finish` hands the columns to trace.Trace, which adds keyframes
for random access.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass
from itertools import chain

import numpy as np

from zpviz.engine.columns import (  # noqa: F401  (SCALARS and the field names are re-exported)
    CD_FIELDS,
    EVENT_COLUMNS,
    FD_FIELDS,
    INT_CODE,
    INT_COLUMNS,
    INT_DTYPE,
    N_CD,
    N_FD,
    N_INT,
    N_LD,
    N_SD,
    N_STORED,
    N_TIME,
    SCALARS,
    SD_FIELDS,
    TIME_CODE,
    TIME_DTYPE,
    Cd,
    Scalar,
    Stored,
    TimeCol,
)
from zpviz.engine.distinct import distinct

CHECK_SHIFT = 10  # running record offsets and scalar values are kept every 1,024 events
SEAL_EVENTS = 1 << 12  # the run seals the append arrays after a step that leaves this many
BATCH = 1 << 15  # events sealed at a time


@dataclass(frozen=True)
class KernelPath:
    """The functions an event went through and the test that decided its outcome."""

    functions: tuple[str, ...]
    decision: str

    def text(self) -> str:
        return " -> ".join(self.functions) + (f"\n  {self.decision}" if self.decision else "")


# ------------------------------------------------------------------------------ compact columns
_DTYPES = {"b": np.int8, "B": np.uint8, "h": np.int16, "H": np.uint16, "i": np.int32, "q": np.int64}


def _code(lo: int, hi: int) -> str:
    """The smallest array typecode holding every value in lo..hi."""
    if lo >= 0:
        for c, m in (("B", 1 << 8), ("H", 1 << 16), ("i", 1 << 31)):
            if hi < m:
                return c
    else:
        for c, m in (("b", 1 << 7), ("h", 1 << 15), ("i", 1 << 31)):
            if -m <= lo and hi < m:
                return c
    return "q"


_MULT: dict[int, np.ndarray] = {}  # row width -> the odd multipliers _unique_rows hashes with


def _mix(x: int) -> int:
    """splitmix64's finaliser, cut to 62 bits: well-spread fixed multipliers with no generator to
    build (numpy.random's first use costs milliseconds, and this runs at every seal)."""
    x = (x + 0x9E3779B97F4A7C15) & (1 << 64) - 1
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & (1 << 64) - 1
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & (1 << 64) - 1
    return (x ^ (x >> 31)) >> 2


def _unique_rows(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For a 2-d int array: the index of one row of each distinct value, and for each row the
    position of its value among those. Rows are told apart by a 64-bit hash (sorting rows as
    structured values is some 50 times slower), checked, with that slow way if two collide."""
    w = rows.shape[1]
    mult = _MULT.get(w)
    if mult is None:
        mult = _MULT[w] = np.array([_mix(w << 32 | j) | 1 for j in range(w)], np.int64)
    h = rows.astype(np.int64) @ mult  # wraps around: fine for a hash
    # any row of each value will do (they are equal): the last, by a plain scatter, which spares
    # np.unique the stable sort that return_index needs (about 3 times slower on a step's rows)
    values, inv = np.unique(h, return_inverse=True)
    inv = inv.reshape(-1)
    first = np.empty(len(values), np.int64)
    first[inv] = np.arange(len(h))
    if np.array_equal(rows[first][inv], rows):
        return first, inv
    _, first, inv = np.unique(rows, axis=0, return_index=True, return_inverse=True)
    return first, inv.reshape(-1)


def _nonzero_columns(rows: np.ndarray, fold: int = 64) -> list[bool]:
    """For a 2-d int array, whether each column has a value other than 0. The rows are OR-ed
    `fold` at a time as one long row first: a reduction over axis 0 of a narrow array costs a
    ufunc call per row (~0.3 ms for 32,768 rows of 11), of a wide one a few per thousand values."""
    n, w = rows.shape
    whole = n - n % fold
    acc = np.zeros(w, rows.dtype)
    if whole:
        wide = np.bitwise_or.reduce(rows[:whole].reshape(-1, fold * w), axis=0)
        acc |= np.bitwise_or.reduce(wide.reshape(fold, w), axis=0)
    if whole < n:
        acc |= np.bitwise_or.reduce(rows[whole:], axis=0)
    return (acc != 0).tolist()


def _ramp(n: np.ndarray) -> np.ndarray:
    """0..n[0]-1, 0..n[1]-1, ... in one array."""
    total = int(n.sum())
    if not total:
        return np.zeros(0, np.int64)
    start = np.cumsum(n) - n
    return np.arange(total, dtype=np.int64) - np.repeat(start, n)


def _ints(a: array) -> np.ndarray:
    return np.frombuffer(a, np.int32) if len(a) else np.zeros(0, np.int32)


def raw_bytes(x: np.ndarray) -> memoryview:
    """An array's bytes without a copy (array.frombytes takes plain byte buffers only); the
    engine's fast writers append to the recorder's arrays through this too."""
    return memoryview(np.ascontiguousarray(x)).cast("B")


SMALL_FLUSH = 128  # events below which RecordBatch.flush does without numpy


class RecordBatch:
    """Records in flat lists, each in its columns.py layout with the fields interleaved, moved into
    the recorder's arrays a few hundred events at a time: one list.extend per record instead of one
    array call per field. The bulk loop and the lean populate walk fill one each; their hot loops
    bind the lists to locals and extend them in place.

    evi: Col rows; evt: TimeCol rows; sd: one Sd record per event; fd/fdn: Fd records and how many
    each event has; cd/cdn: Cd pairs and how many; sc: Stored rows."""

    def __init__(self, rec: Recorder):
        self.rec = rec
        self.evi: list[int] = []
        self.evt: list[int] = []
        self.sd: list[int] = []
        self.fd: list[int] = []
        self.fdn: list[int] = []
        self.cd: list[int] = []
        self.cdn: list[int] = []
        self.sc: list[int] = []

    def lists(self) -> tuple[list[int], ...]:
        return self.evi, self.evt, self.sd, self.fd, self.fdn, self.cd, self.cdn, self.sc

    def flush(self) -> None:
        if not self.evt:
            return
        if len(self.evt) < 2 * SMALL_FLUSH:
            return self._flush_small()
        rec = self.rec
        _put(rec.evt, self.evt)
        if not rec.keep_deltas:
            _put(rec.evi, self.evi)
        else:
            # every int32 list read into numpy at once (numpy turns a list of ints into bytes
            # faster than array.extend, and one call costs less than nine), then cut
            parts = (self.evi, self.sd, self.fd, self.fdn, self.cd, self.cdn, self.sc)
            sizes = [len(x) for x in parts]
            flat = np.fromiter(chain.from_iterable(parts), INT_DTYPE, sum(sizes))
            evi, sd, fd, fdn, cd, cdn, sc = np.split(flat, np.cumsum(sizes[:-1]))
            rec.evi.frombytes(evi.tobytes())
            _put_fields(rec.sd, sd)
            rec.sd_n.frombytes(np.ones(len(sd) // N_SD, INT_DTYPE).tobytes())
            _put_fields(rec.fd, fd)
            rec.fd_n.frombytes(fdn.tobytes())
            _put_fields(rec.cd, cd)
            rec.cd_n.frombytes(cdn.tobytes())
            rec.scalars.frombytes(sc.tobytes())
        for b in self.lists():
            b.clear()

    def _flush_small(self) -> None:
        """flush for a few events (the bulk loop flushes at every checkpoint of the skips, often
        after a stretch of 16): each list straight into an array of the recorder's type, which
        costs less than numpy's fixed overhead per call there (a record kind's fields taken apart
        by slices of it). The same bytes as flush's numpy path."""
        rec = self.rec
        rec.evt.fromlist(self.evt)  # (straight into the recorder's arrays: no array in between)
        rec.evi.fromlist(self.evi)
        if rec.keep_deltas:
            for values, cols in ((self.sd, rec.sd), (self.fd, rec.fd), (self.cd, rec.cd)):
                if values:
                    n = len(cols)
                    for j, col in enumerate(cols):
                        col.fromlist(values[j::n])
            rec.sd_n += array(INT_CODE, [1]) * (len(self.sd) // N_SD)
            rec.fd_n.fromlist(self.fdn)
            rec.cd_n.fromlist(self.cdn)
            rec.scalars.fromlist(self.sc)
        for b in self.lists():
            b.clear()


def _put_fields(cols: tuple[array, ...], values: np.ndarray) -> None:
    """Interleaved records (field 0, field 1, ... of each) into one array per field: transposed
    once, rather than a list slice and a conversion per field."""
    if not len(values):
        return
    for col, x in zip(cols, np.ascontiguousarray(values.reshape(-1, len(cols)).T)):
        col.frombytes(x.tobytes())


def _put(col: array, values: list[int]) -> None:
    # np.fromiter with the length given: some 3 times faster than np.array(list) on numpy 2
    col.frombytes(np.fromiter(values, _DTYPES[col.typecode], len(values)).tobytes())


class _Col:
    """A growing column of ints in the smallest type holding every value so far (widened, rarely,
    when a value needs it). Leading zeros are only counted until the first non-zero value: a
    column that stays zero costs nothing, and np.zeros of it takes no memory until written."""

    __slots__ = ("code", "lo", "hi", "zeros", "a")

    def __init__(self) -> None:
        self.code = "B"
        self.lo = self.hi = 0
        self.zeros = 0
        self.a: array | None = None

    def __len__(self) -> int:
        return self.zeros + (len(self.a) if self.a is not None else 0)

    def extend(self, x: np.ndarray) -> None:
        if not len(x):
            return
        if self.code == "i" and x.dtype == np.int32 and self.a is not None:  # (as wide as it gets)
            self.a.frombytes(raw_bytes(x))
            return
        lo, hi = int(x.min()), int(x.max())
        if lo < self.lo or hi > self.hi:
            self.lo, self.hi = min(lo, self.lo), max(hi, self.hi)
            code = _code(self.lo, self.hi)
            if code != self.code:
                if self.a is not None:
                    wide = array(code)
                    wide.frombytes(raw_bytes(np.frombuffer(self.a, _DTYPES[self.code]).astype(_DTYPES[code])))
                    self.a = wide
                self.code = code
        if self.a is None:
            if lo == hi == 0:
                self.zeros += len(x)
                return
            self.a = array(self.code, bytes(self.zeros * array(self.code).itemsize))
            self.zeros = 0
        self.a.frombytes(raw_bytes(np.ascontiguousarray(x, _DTYPES[self.code])))

    def widen(self, dtype) -> np.ndarray:
        """The column as a new array of dtype, emptying this one."""
        out = np.zeros(len(self), dtype) if self.a is None else self.numpy().astype(dtype)
        self.a, self.zeros = None, 0
        return out

    def extend_zeros(self, n: int) -> None:
        """extend(np.zeros(n)), without the array."""
        if self.a is None:
            self.zeros += n
        else:
            self.a.frombytes(bytes(n * self.a.itemsize))

    def numpy(self) -> np.ndarray:
        """The column as a numpy array over the same memory (no copy)."""
        dt = _DTYPES[self.code]
        if self.a is None or not len(self.a):
            return np.zeros(self.zeros, dt)
        return np.frombuffer(self.a, dt)

    @property
    def all_zero(self) -> bool:
        return self.a is None


# ------------------------------------------------------------------------------ the recorder
class Recorder:
    """Flat, append-only storage: one `extend` per event for each kind of record, in int32
    (times in int64).

    The layout of every array is columns.py's: evi one `Col` row per event, evt one `TimeCol`
    row; sd/fd: per event a count, then that many `Sd` / `Fd` records; cd: `Cd` pairs (a
    counter_key and an increment); scalars: one `Stored` row (the scalars but time_ns, which is
    the running maximum of t1).

    An event's counter increments may instead be appended as the id of a pattern already
    registered (`append_by_pattern`: a count of 0, no pairs); `cd_pairs` reads every event's
    pairs back either way.

    These arrays hold the events appended since the last `seal` (all of them if nobody seals):
    event e is at position e - sealed. `seal` empties them in place, so the engine may keep their
    bound methods. Seal only between steps: inside one the engine reads back what it appended
    (period.py, Machine._result).
    """

    INT_COLUMNS = INT_COLUMNS

    def __init__(self, deltas: bool = True) -> None:
        self.keep_deltas = deltas  # False for report-only runs: no trace will be built
        self.evi = array(INT_CODE)
        self.evt = array(TIME_CODE)
        # one array per field
        self.sd = tuple(array(INT_CODE) for _ in SD_FIELDS)
        self.sd_n = array(INT_CODE)
        self.fd = tuple(array(INT_CODE) for _ in FD_FIELDS)
        self.fd_n = array(INT_CODE)
        self.cd = tuple(array(INT_CODE) for _ in CD_FIELDS)
        self.cd_n = array(INT_CODE)
        self.scalars = array(INT_CODE)  # N_STORED per event
        # Ld records of the watched cache lines, the whole run's (sparse: the cache model appends
        # them, cache.CacheModel.watch_lines; a seal leaves them here)
        self.ld = array(INT_CODE)
        self.ld_checked = 0  # records check_layout has seen
        self.paths: list[KernelPath] = []
        self._path_ids: dict[tuple[tuple[str, ...], str], int] = {}
        self.logs: dict[int, list[str]] = {}  # event -> kernel log lines it printed
        self.n_events = 0
        self.sealed = 0  # events moved out of the append arrays
        # runs of appended events whose counter-increment pattern ids are known already (first
        # event, ids): a writer that copies events says so, and the seal need not hash them again
        self.known_pids: list[tuple[int, np.ndarray]] = []
        # runs of appended events (first, n) whose counter increments are given by their pattern id
        # alone (append_by_pattern): their cd count is 0 in the append arrays and no pairs are
        # there; cd_pairs gives them back whole
        self.by_pattern: list[tuple[int, int]] = []
        self._closed = False
        self._s = _Sealed()

    def path_id(self, functions: tuple[str, ...], decision: str) -> int:
        key = (functions, decision)
        i = self._path_ids.get(key)
        if i is None:
            i = self._path_ids[key] = len(self.paths)
            self.paths.append(KernelPath(functions, decision))
        return i

    def recent_events(self, first: int, end: int) -> np.ndarray:
        """A copy of the int columns (INT_COLUMNS) of events first..end-1, which must not be sealed
        yet: the run seals only between steps, so a step may read back its own events."""
        assert first >= self.sealed, "those events are sealed already"
        rows = np.frombuffer(self.evi, INT_DTYPE).reshape(-1, N_INT)
        return rows[first - self.sealed:end - self.sealed].copy()  # a copy: the view must not outlive this

    def recent_columns(self, first: int, end: int, *cols: int) -> list[np.ndarray]:
        """Copies of the int columns `cols` (columns.Col) of events first..end-1, which must not be
        sealed yet: recent_events for a few columns, without copying the others."""
        assert first >= self.sealed, "those events are sealed already"
        rows = np.frombuffer(self.evi, INT_DTYPE).reshape(-1, N_INT)[first - self.sealed:end - self.sealed]
        return [rows[:, c].copy() for c in cols]

    def pattern_ids(self, first: int, end: int) -> np.ndarray:
        """The counter-increment pattern ids of events first..end-1, which must not be sealed yet
        (registering any pattern not seen before)."""
        assert first >= self.sealed, "those events are sealed already"
        counts = np.frombuffer(self.cd_n, np.int32)
        lo = int(counts[:first - self.sealed].sum(dtype=np.int64))
        c = counts[first - self.sealed:end - self.sealed]
        hi = lo + int(c.sum())
        keys, vals = (np.frombuffer(a, np.int32)[lo:hi] for a in self.cd)
        return self._s._pattern_ids(c, keys, vals, self._known(first, end))

    def _known(self, first: int, end: int) -> np.ndarray | None:
        """The pattern ids of events first..end-1 that writers gave (known_patterns), -1 where none
        did; None if none did for any (a period copied again need not be hashed again)."""
        known = None
        for f, pids in self.known_pids:
            lo, hi = max(f, first), min(f + len(pids), end)
            if lo < hi:
                if known is None:
                    known = np.full(end - first, -1, np.int64)
                known[lo - first:hi - first] = pids[lo - f:hi - f]
        return known

    def pattern_id(self, keys: np.ndarray, vals: np.ndarray) -> int:
        """The pattern id of one event's counter increments (keys and values in order),
        registering it if it is new: for a writer that knows which of its events share a list."""
        return self._s._id(np.concatenate([np.asarray(keys, np.int32), np.asarray(vals, np.int32)]))

    def known_patterns(self, first: int, pids: np.ndarray) -> None:
        """The counter-increment pattern ids of events first.. (appended, pairs and all) are known
        already: pids. The seal takes them instead of hashing those events again."""
        self.known_pids.append((first, pids))

    def append_by_pattern(self, pids: np.ndarray) -> None:
        """The counter increments of the events being appended now (the next len(pids), whose
        other records their writer appends itself) as pattern ids of patterns already registered,
        instead of pairs: a count of 0 each in cd_n and no pairs, the ids noted (known_patterns).
        The seal needs nothing more, and cd_pairs gives the pairs back to a writer that reads
        them (a copy of a copy). What a period skip writes k times over costs no pairs at all."""
        first = self.n_events_appended()
        pids = np.asarray(pids, np.int64)
        if len(pids) and (pids.min() < 0 or pids.max() >= len(self._s.pat)):
            raise ValueError("append_by_pattern: pattern ids not registered")
        self.cd_n.frombytes(bytes(4 * len(pids)))
        self.known_patterns(first, pids)
        self.by_pattern.append((first, len(pids)))

    def n_events_appended(self) -> int:
        """The event the next cd_n entry belongs to (the cd records are appended per event)."""
        return self.sealed + len(self.cd_n)

    def cd_pairs(self, first: int, end: int, at: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per event first..end-1 (not sealed yet) its number of counter increments, then their
        keys and values in event order (copies, int32): as appended, with the events appended
        by pattern (append_by_pattern) given their pattern's pairs. `at`, if the caller knows it:
        where event first's pairs start in the append arrays (len(cd[0]) when it was next)."""
        assert first >= self.sealed, "those events are sealed already"
        s0 = self.sealed
        counts_all = np.frombuffer(self.cd_n, INT_DTYPE)
        counts = counts_all[first - s0:end - s0].astype(np.int64)
        lo = int(counts_all[:first - s0].sum(dtype=np.int64)) if at is None else at
        hi = lo + int(counts.sum())
        assert hi <= len(self.cd[0]), "cd_pairs: `at` past the pairs appended"
        keys, vals = (np.frombuffer(a, INT_DTYPE)[lo:hi].copy() for a in self.cd)
        del counts_all
        runs = [(max(f, first), min(f + n, end)) for f, n in self.by_pattern if f < end and f + n > first]
        if not runs:
            return counts.astype(INT_DTYPE), keys, vals
        # the events by pattern: their pairs from the pattern table, the others' as appended
        known = self._known(first, end)
        by = np.zeros(end - first, bool)
        for a, b in runs:
            by[a - first:b - first] = True
        pat_len, pat_start, pat_keys, pat_vals = self._s.pattern_table()
        full = counts.copy()
        full[by] = pat_len[known[by]]
        out_start = np.cumsum(full) - full
        n_out = int(full.sum())
        out_k, out_v = np.empty(n_out, INT_DTYPE), np.empty(n_out, INT_DTYPE)
        # the appended pairs, event by event in order, go to the places of the events not by pattern
        mine = ~by
        dst = np.repeat(out_start[mine], full[mine]) + _ramp(full[mine])
        out_k[dst], out_v[dst] = keys, vals
        src = np.repeat(pat_start[known[by]], full[by]) + _ramp(full[by])
        dst = np.repeat(out_start[by], full[by]) + _ramp(full[by])
        out_k[dst], out_v[dst] = pat_keys[src], pat_vals[src]
        return full.astype(INT_DTYPE), out_k, out_v

    def recent_times(self, first: int, end: int) -> np.ndarray:
        """The same for the (t0, t1) of those events."""
        assert first >= self.sealed, "those events are sealed already"
        return np.frombuffer(self.evt, TIME_DTYPE).reshape(-1, N_TIME)[first - self.sealed:end - self.sealed].copy()

    def check_layout(self) -> None:
        """RuntimeError unless the append arrays hold exactly the unsealed events, whole, in the
        layout of columns.py: a row of each per event, and as many records as the counts say."""
        k = self.n_events - self.sealed
        rows = {"evi": (len(self.evi), k * N_INT), "evt": (len(self.evt), k * N_TIME),
                "scalars": (len(self.scalars), k * N_STORED), "sd_n": (len(self.sd_n), k),
                "fd_n": (len(self.fd_n), k), "cd_n": (len(self.cd_n), k)}
        for name, counts, arrays, fields in (("sd", self.sd_n, self.sd, SD_FIELDS),
                                             ("fd", self.fd_n, self.fd, FD_FIELDS),
                                             ("cd", self.cd_n, self.cd, CD_FIELDS)):
            want = int(np.frombuffer(counts, INT_DTYPE).sum(dtype=np.int64)) if len(counts) else 0
            for field, a in zip(fields, arrays):
                rows[f"{name}.{field}"] = (len(a), want)
        bad = [f"{name}: {got} values, {want} expected" for name, (got, want) in rows.items() if got != want]
        bad += self._check_lines()
        if bad:
            raise RuntimeError(f"the recorder's arrays do not hold {k} whole events (events "
                               f"{self.sealed}..{self.n_events - 1}): " + "; ".join(bad))

    def _check_lines(self) -> list[str]:
        """What is off in the Ld records appended since the last check: whole records, of events
        that exist, in event order."""
        if len(self.ld) % N_LD:
            return [f"ld: {len(self.ld)} values, not whole records of {N_LD}"]
        ld = np.frombuffer(self.ld, INT_DTYPE).reshape(-1, N_LD) if len(self.ld) else np.zeros((0, N_LD), INT_DTYPE)
        new = ld[max(self.ld_checked - 1, 0):, 0]
        bad = []
        if len(new) and (new[-1] >= self.n_events or (len(new) > 1 and (np.diff(new) < 0).any())):
            bad.append(f"ld: records of events {int(new.min())}..{int(new.max())} out of order or past "
                       f"the {self.n_events} events")
        else:
            self.ld_checked = len(ld)
        return bad

    def line_records(self) -> np.ndarray:
        """The watched lines' Ld records so far, a (n, N_LD) int32 copy."""
        if not len(self.ld):
            return np.zeros((0, N_LD), INT_DTYPE)
        return np.frombuffer(self.ld, INT_DTYPE).reshape(-1, N_LD).copy()

    def seal(self, last: bool = False) -> None:
        """Move the events appended so far into the compact columns and empty the append arrays
        (in place). Only between steps; RuntimeError if the arrays do not hold whole events in
        the layout of columns.py (a writer that broke it, or a seal inside an event). last: the
        seal of `finish`, after which nothing is appended (its event columns go straight into
        the trace's types)."""
        k = self.n_events - self.sealed
        if k <= 0 or self._closed or not self.keep_deltas:
            return
        self.check_layout()
        known = np.full(k, -1, np.int64)
        for first, pids in self.known_pids:
            known[first - self.sealed:first - self.sealed + len(pids)] = pids
        self.known_pids = []
        self.by_pattern = []
        self._s.add(self, self.sealed, k, known, last)  # its numpy views of the arrays are gone when it returns
        for a in (self.evi, self.evt, self.sd_n, self.fd_n, self.cd_n, self.scalars, *self.sd, *self.fd, *self.cd):
            # shrink, then empty: a big buffer is an mmap'd block, which realloc shrinks in place
            # (del a[:] alone would free it, and glibc would answer by raising its mmap threshold
            # past the buffer's size, so the next step's records grow on the heap and leave holes
            # there, some 25 MB at a million events); emptying 8 items keeps the buffer
            del a[8:]
            del a[:]
        self.sealed += k

    def finish(self) -> tuple[dict[str, np.ndarray], ScalarTable, Deltas]:
        """End the recording: the event columns, the scalar table and the deltas, over the
        recorder's own memory. Nothing may be appended afterwards."""
        if not self.keep_deltas:
            raise RuntimeError("a recorder without deltas cannot make a trace")
        self.seal(last=True)
        if self.sealed != self.n_events:
            raise RuntimeError("finish() inside an event")
        self._closed = True
        s, self._s = self._s, _Sealed()
        return s.finish(self.n_events)


class _Sealed:
    """The compact columns `Recorder.seal` fills.

    Per event: the int columns, t0 as the step from the event before's and t1 - t0 (widened to
    the trace's int32 and int64 only when the run is over), but for the last seal's events (a
    lesson of one big step: all of them), which go straight into the trace's types (compacting
    them would cost two passes more over each column and save no memory: the trace holds them
    wide); the record counts of sd and fd; a
    pattern id for the counter increments (a run has a few hundred distinct per-event lists of
    (key, value) pairs, stored once each); and the change of each scalar since the event before,
    or zero at a checkpoint. Every 2**shift events: the records before it and the scalars at it.
    """

    def __init__(self) -> None:
        self.shift = CHECK_SHIFT
        self.ev = [_Col() for _ in INT_COLUMNS]
        self.t0_step, self.dur = _Col(), _Col()  # t0 minus the event before's t0; t1 - t0
        self.t0_last = 0
        # the last seal's event columns and times, in the trace's types (None before it)
        self.tail: tuple[list[np.ndarray], list[np.ndarray]] | None = None
        self.tmax = 0  # running maximum of t1
        self.tck: list[int] = []  # time_ns at each checkpoint
        self.sc = [_Col() for _ in SCALARS[1:]]
        self.sck: list[np.ndarray] = []  # the other scalars at checkpoints
        self.last = np.zeros(N_STORED, np.int64)
        self.rec = {p: [_Col() for _ in f] for p, f in (("sd", SD_FIELDS), ("fd", FD_FIELDS))}
        self.n = {p: _Col() for p in ("sd", "fd")}
        self.total = {"sd": 0, "fd": 0}
        self.off: dict[str, list[int]] = {"sd": [], "fd": []}  # records before each checkpoint
        self.pid = _Col()
        self.patterns: dict[bytes, int] = {}  # count, keys, values (int32 bytes) -> pattern id
        self.pat: list[np.ndarray] = []  # per pattern: keys then values

    def add(self, r: Recorder, s: int, k: int, known: np.ndarray, last: bool = False) -> None:
        """Take events s..s+k-1 from the recorder's append arrays (which hold exactly those), a
        slice of BATCH events at a time, so the temporaries stay small. known: each event's
        pattern id where its writer knew it, else -1. last: finish's seal (the event columns
        into `tail`, in the trace's types)."""
        ev = np.frombuffer(r.evi, INT_DTYPE).reshape(k, N_INT)
        t = np.frombuffer(r.evt, TIME_DTYPE).reshape(k, N_TIME)
        if last:
            evs, ts = [np.empty(k, INT_DTYPE) for _ in INT_COLUMNS], [np.empty(k, TIME_DTYPE) for _ in range(N_TIME)]
            self.tail = evs, ts
        sc = np.frombuffer(r.scalars, INT_DTYPE).reshape(k, N_STORED)
        # the slot and frame records in one piece (nothing of theirs depends on the slices: a
        # column widened part way holds what it would have held made at once)
        every = 1 << self.shift
        at = np.arange((-s) % every, k, every)  # the checkpoint events
        for p, arrays, counts in (("sd", r.sd, r.sd_n), ("fd", r.fd, r.fd_n)):
            c = np.frombuffer(counts, INT_DTYPE)
            self.n[p].extend(c)
            before = np.cumsum(c, dtype=np.int64)  # (to the event, then less its own below)
            self.off[p].extend((before[at] - c[at] + self.total[p]).tolist())
            self.total[p] += int(before[-1])
            for a, col in zip(arrays, self.rec[p]):
                col.extend(_ints(a))
        del c, before
        cd_n, (keys, vals) = np.frombuffer(r.cd_n, INT_DTYPE), [_ints(a) for a in r.cd]
        first = 0  # the first pair of the slice
        for i in range(0, k, BATCH):
            j = min(k, i + BATCH)
            c = cd_n[i:j]
            end = first + int(c.sum())
            recs = (c, keys[first:end], vals[first:end])
            first = end
            # the rows transposed a slice at a time (a slice's rows stay in the cache while its
            # columns are written)
            if last:  # straight into the columns the trace will hold
                for q, col in enumerate(evs):
                    np.copyto(col[i:j], ev[i:j, q])
                for q, col in enumerate(ts):
                    np.copyto(col[i:j], t[i:j, q])
                t1 = ts[TimeCol.T1][i:j]
            else:
                t1 = self._compact(ev[i:j], t[i:j])
            self._add(s + i, t1, sc[i:j], recs, known[i:j])

    def _compact(self, ev: np.ndarray, t: np.ndarray) -> np.ndarray:
        """A slice of event rows and times into the compact columns; its t1, contiguous."""
        for col, x in zip(self.ev, np.ascontiguousarray(ev.T)):
            col.extend(x)
        t0, t1 = np.ascontiguousarray(t.T)
        step = np.empty(len(t0), np.int64)
        step[0] = t0[0] - self.t0_last
        np.subtract(t0[1:], t0[:-1], out=step[1:])
        self.t0_step.extend(step)
        self.t0_last = int(t0[-1])
        self.dur.extend(t1 - t0)
        return t1

    def _add(self, s: int, t1: np.ndarray, v: np.ndarray, recs: tuple, known: np.ndarray) -> None:
        k = len(t1)
        every = 1 << self.shift
        at = np.arange((-s) % every, k, every)  # the checkpoint events in this slice
        if len(at):  # time_ns at the checkpoints: the running maximum of t1 there, from the
            # maxima between them (a reduction per stretch is some 5 times faster than the
            # running maximum of every event)
            run = np.maximum.reduceat(t1[:at[-1] + 1], np.concatenate(([0], at[:-1] + 1)))
            np.maximum.accumulate(run, out=run)
            np.maximum(run, self.tmax, out=run)
            self.tck.extend(run.tolist())
        self.tmax = max(self.tmax, int(t1.max()))

        # the changes in int32 where no value is negative (then no difference of two int32s
        # overflows): half the memory of int64 to write and to read back. Taken row by row (the
        # rows are contiguous), and only the scalars that changed at all are taken out as columns
        # (most scalars of most steps never change: a zero-page read changes none but pt_frames)
        wide = np.int32 if v.size and v.min() >= 0 and self.last.min() >= 0 else np.int64
        d = np.empty(v.shape, wide)
        np.subtract(v[0], self.last, out=d[0], dtype=wide, casting="unsafe")
        np.subtract(v[1:], v[:-1], out=d[1:], dtype=wide)
        d[at] = 0
        self.sck.extend(v[at].astype(np.int64))
        self.last = v[-1].astype(np.int64)
        for col, changed, x in zip(self.sc, _nonzero_columns(d), d.T):
            if changed:
                col.extend(np.ascontiguousarray(x))
            else:
                col.extend_zeros(k)

        self.pid.extend(self._pattern_ids(*recs, known))

    def _pattern_ids(self, c: np.ndarray, keys: np.ndarray, vals: np.ndarray,
                     known: np.ndarray | None = None) -> np.ndarray:
        """Per event, the id of its list of counter increments (keys and values in order); where
        `known` gives one (>= 0), that one."""
        pid = np.empty(len(c), np.int64)
        todo = None  # the events to hash by index, where writers knew some (a period skip: most)
        if known is not None:
            todo = np.flatnonzero(known < 0)
            if not len(todo):  # (the sweep's, and a period skip's copies: nothing to hash)
                pid[:] = known
                return pid
            if len(todo) == len(c):
                todo = None
            else:
                pid[:] = known  # (the unknown ones are set below)
        start = np.cumsum(c, dtype=np.int64)
        start -= c
        ct = c if todo is None else c[todo]
        for n in distinct(ct).tolist():
            evs = np.flatnonzero(ct == n)
            if todo is not None:
                evs = todo[evs]
            if n == 0:
                pid[evs] = self._id(np.zeros(0, np.int32))
                continue
            idx = start[evs][:, None] + np.arange(n)
            rows = np.concatenate([keys[idx], vals[idx]], axis=1)
            del idx
            first, inv = _unique_rows(rows)
            ids = np.array([self._id(row) for row in rows[first]], np.int64)
            pid[evs] = ids[inv]
        return pid

    def pattern_table(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Per registered pattern its number of pairs and where they start in the flat keys and
        values that follow (rebuilt only when patterns were added)."""
        t = getattr(self, "_table", None)
        if t is None or len(t[0]) != len(self.pat):
            lens = np.array([len(p) // 2 for p in self.pat], np.int64)
            keys = np.concatenate([np.zeros(0, np.int32)] + [p[:len(p) // 2] for p in self.pat])
            vals = np.concatenate([np.zeros(0, np.int32)] + [p[len(p) // 2:] for p in self.pat])
            t = self._table = (lens, np.cumsum(lens) - lens, keys, vals)
        return t

    def _id(self, row: np.ndarray) -> int:
        key = row.astype(np.int32).tobytes()
        i = self.patterns.get(key)
        if i is None:
            i = self.patterns[key] = len(self.pat)
            self.pat.append(row.astype(np.int32))
        return i

    def finish(self, n: int) -> tuple[dict[str, np.ndarray], ScalarTable, Deltas]:
        # the event columns in the types the trace shows, one at a time, each compact column
        # dropped as soon as it is widened, and the last seal's joined to them (or taken as they
        # are where there is nothing before them: a lesson of one big step)
        tail_ev, tail_t = self.tail if self.tail is not None else ([None] * N_INT, [None] * N_TIME)
        self.tail = None
        events = {name: _joined(col, tail_ev, j, INT_DTYPE) for j, (name, col) in enumerate(zip(INT_COLUMNS, self.ev))}
        t0 = self.t0_step.widen(TIME_DTYPE)
        np.cumsum(t0, out=t0)
        t1 = self.dur.widen(TIME_DTYPE)
        t1 += t0
        events["t0"] = _joined(t0, tail_t, TimeCol.T0, TIME_DTYPE)
        del t0
        events["t1"] = _joined(t1, tail_t, TimeCol.T1, TIME_DTYPE)
        del t1
        events = {k: events[k] for k in EVENT_COLUMNS}
        scalars = ScalarTable(
            n, self.shift, events["t1"], np.array(self.tck, np.int64),
            np.array(self.sck, np.int64).reshape(-1, N_STORED),
            [None if col.all_zero else col.numpy() for col in self.sc])
        off = {}
        for p in ("sd", "fd"):
            ck = self.off[p]
            if n % (1 << self.shift) == 0:  # the offset at event n, the end of the last range
                ck.append(self.total[p])
            off[p] = np.array(ck, np.int64)
        halves = [len(p) // 2 for p in self.pat]
        pat_key = np.concatenate([np.zeros(0, np.int32)] + [p[:h] for p, h in zip(self.pat, halves)])
        pat_val = np.concatenate([np.zeros(0, np.int32)] + [p[h:] for p, h in zip(self.pat, halves)])
        deltas = Deltas(
            shift=self.shift,
            sd={f: col.numpy() for f, col in zip(SD_FIELDS, self.rec["sd"])},
            fd={f: col.numpy() for f, col in zip(FD_FIELDS, self.rec["fd"])},
            counts={p: self.n[p].numpy() for p in ("sd", "fd")}, offsets=off,
            cd_pid=self.pid.numpy(), pat_key=pat_key.astype(np.int64), pat_val=pat_val.astype(np.int64),
            pat_of=np.repeat(np.arange(len(halves)), halves), n_patterns=len(halves))
        return events, scalars, deltas


def _joined(head: _Col | np.ndarray, tail: list[np.ndarray | None], j: int, dtype) -> np.ndarray:
    """Column j in dtype: head's values (a compact column, emptied; or an array), then tail[j]'s
    (the last seal's column, dropped from tail), which is taken as it is where head is empty."""
    last, tail[j] = tail[j], None
    if last is None:
        return head.widen(dtype) if isinstance(head, _Col) else head
    if not len(head):
        return last
    out = np.empty(len(head) + len(last), dtype)
    m = len(head)
    out[:m] = head.numpy() if isinstance(head, _Col) else head
    out[m:] = last
    if isinstance(head, _Col):
        head.a, head.zeros = None, 0  # (dropped)
    return out


# ------------------------------------------------------------------------------ what a trace reads
class Deltas:
    """The delta records of a finished run.

    sd / fd: one array per field and per-event record counts; the records of events a..b-1 are
    offset(kind, a) .. offset(kind, b) - 1. Counter increments: per event a pattern id; pattern
    p's pairs are (pat_key, pat_val)[pat_of == p].
    """

    def __init__(self, *, shift: int, sd: dict[str, np.ndarray], fd: dict[str, np.ndarray],
                 counts: dict[str, np.ndarray], offsets: dict[str, np.ndarray], cd_pid: np.ndarray,
                 pat_key: np.ndarray, pat_val: np.ndarray, pat_of: np.ndarray, n_patterns: int) -> None:
        self.sd, self.fd = sd, fd
        self._counts, self._offsets = counts, offsets
        self.cd_pid = cd_pid
        self.pat_key, self.pat_val, self.pat_of = pat_key, pat_val, pat_of
        self.n_patterns = n_patterns
        self.shift = shift  # offsets are kept every 2**shift events

    def offset(self, kind: str, e: int) -> int:
        """Records of kind ("sd" or "fd") before event e."""
        b = e >> self.shift
        base = b << self.shift
        o = int(self._offsets[kind][b])
        if e > base:
            o += int(self._counts[kind][base:e].sum())
        return o

    def counter_sums(self, a: int, b: int, width: int) -> np.ndarray:
        """The counter increments of events a..b-1 summed per key (columns.counter_key), as floats."""
        uses = np.bincount(self.cd_pid[a:b], minlength=self.n_patterns)
        return np.bincount(self.pat_key, weights=self.pat_val * uses[self.pat_of], minlength=width)

    @property
    def nbytes(self) -> int:
        arrays = [*self.sd.values(), *self.fd.values(), *self._counts.values(), *self._offsets.values(),
                  self.cd_pid, self.pat_key, self.pat_val, self.pat_of]
        return sum(a.nbytes for a in arrays)


class ScalarTable:
    """The per-event scalar series as an (n_events, len(SCALARS)) table: time_ns in int64, the
    others in int32.

    Stored as the change of each scalar per event, with the values every 2**shift events; time_ns
    is the running maximum of the events' t1. Row reads sum at most one interval of changes;
    column reads add them all up.
    """

    def __init__(self, n: int, shift: int, t1: np.ndarray, time_at: np.ndarray, at: np.ndarray,
                 changes: list[np.ndarray | None]) -> None:
        self._t1 = t1
        self._time_at = time_at
        self._at = at
        self._changes = changes
        self.shape = (n, len(SCALARS))
        self.shift = shift

    def __len__(self) -> int:
        return self.shape[0]

    def row(self, i: int) -> list[int]:
        """Scalars after event i, as ints in SCALARS order."""
        n = self.shape[0]
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError(f"event {i} out of range 0..{n - 1}")
        b = i >> self.shift
        base = b << self.shift
        t = int(self._time_at[b])
        if i > base:
            t = max(t, int(self._t1[base + 1:i + 1].max()))
        out = [t]
        at = self._at[b].tolist()
        for j, ch in enumerate(self._changes):
            out.append(at[j] + int(ch[base + 1:i + 1].sum()) if ch is not None and i > base else at[j])
        return out

    def column(self, j: int) -> np.ndarray:
        """Scalar j for every event (time_ns int64, the others int32)."""
        n = self.shape[0]
        if j < 0:
            j += len(SCALARS)
        if not 0 <= j < len(SCALARS):
            raise IndexError(f"scalar {j} out of range")
        if j == Scalar.TIME_NS:
            return np.maximum.accumulate(self._t1) if n else np.zeros(0, np.int64)
        k = Stored[Scalar(j).name]  # its place among the stored scalars
        ch = self._changes[k]
        at = self._at[:, k]
        if ch is None:
            return np.repeat(at.astype(np.int32), 1 << self.shift)[:n]
        v = np.cumsum(ch, dtype=np.int64)
        v += np.repeat(at - v[:: 1 << self.shift], 1 << self.shift)[:n]
        return v.astype(np.int32)

    def __getitem__(self, key):
        if isinstance(key, tuple):
            rows, col = key
            if isinstance(col, (int, np.integer)):
                if isinstance(rows, (int, np.integer)):
                    return (np.int64 if col % len(SCALARS) == Scalar.TIME_NS else np.int32)(self.row(int(rows))[col])
                return self.column(int(col))[rows]
            return self._table(rows)[:, col]
        if isinstance(key, (int, np.integer)):
            return np.array(self.row(int(key)), np.int64)
        return self._table(key)

    def _table(self, rows) -> np.ndarray:
        first = self.column(Scalar.TIME_NS)[rows]
        out = np.empty(first.shape + (len(SCALARS),), np.int64)
        out[..., Scalar.TIME_NS] = first
        for s in Scalar:
            if s is not Scalar.TIME_NS:
                out[..., s] = self.column(s)[rows]
        return out

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        t = self._table(slice(None))
        return t if dtype is None else t.astype(dtype)
