"""The watched cache lines' history: every CPU's MESI copy at any frame, and the transfers.

The cache model logs each state change of a watched line as a columns.Ld record (cache.py,
`CacheModel.watch_lines`). This replays them: a write leaves its CPU the only holder, in M; a
read is the only holder (E) or joins the holders, every one of them then in S. The state at a
frame comes from the records of the events before it, from the nearest of keyframes kept every
KEY_RECORDS records, never from what a view played before.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from zpviz.engine.columns import N_LD, WATCHABLE, Ld, LineState

KEY_RECORDS = 256  # a keyframe of every CPU's state every this many records of a line

_I, _S, _E, _M = (int(s) for s in (LineState.I, LineState.S, LineState.E, LineState.M))


@dataclass(frozen=True, eq=False)
class LineStates:
    """One watched line at one frame."""

    line: str
    states: np.ndarray  # uint8 per CPU: columns.LineState
    owner: int  # the CPU holding it in M or E, -1 when shared or nowhere
    last_cpu: int  # the CPU of the latest transition before the frame, -1: none yet
    last_event: int  # that transition's event, -1: none yet


@dataclass(frozen=True, eq=False)
class LineTransfers:
    """The transfers of a watched line (a copy supplied by another CPU's cache) in a range of
    events, one array per field."""

    line: str
    event: np.ndarray  # int64
    cpu_from: np.ndarray
    cpu_to: np.ndarray
    cost_ns: np.ndarray
    same_socket: np.ndarray  # bool

    def __len__(self) -> int:
        return len(self.event)


def _apply(holders: dict[int, int], cpu: int, state: int) -> None:
    """One record, in place: holders maps each CPU holding a copy to its state."""
    if state == _M:
        holders.clear()
        holders[cpu] = _M
    elif state == _E:
        holders.clear()  # (nobody else held it: the model gives E only to a lone reader)
        holders[cpu] = _E
    else:
        for c in holders:
            holders[c] = _S
        holders[cpu] = _S


class LineHistory:
    """The Ld records of one run, split by line, with keyframes built on first use."""

    def __init__(self, records: np.ndarray, watched: tuple[str, ...], sockets: list[int], ncpus: int):
        records = np.asarray(records, np.int64).reshape(-1, N_LD)
        self.watched = tuple(watched)
        self.ncpus = ncpus
        self.sockets = np.asarray(sockets, np.int64)
        self.rec = {name: records[records[:, Ld.LINE] == WATCHABLE[name]] for name in self.watched}
        self.keys: dict[str, list[np.ndarray]] = {}

    def _records(self, line: str) -> np.ndarray:
        r = self.rec.get(line)
        if r is None:
            raise KeyError(f"the line {line!r} is not watched by this lesson; it watches "
                           f"{', '.join(self.watched) or 'none'} ([scenario] watch, docs/cacheline.md)")
        return r

    def _keyframes(self, line: str) -> list[np.ndarray]:
        keys = self.keys.get(line)
        if keys is None:
            r = self._records(line)
            holders: dict[int, int] = {}
            keys = [np.zeros(self.ncpus, np.uint8)]
            for j, (cpu, state) in enumerate(zip(r[:, Ld.CPU].tolist(), r[:, Ld.STATE].tolist()), 1):
                _apply(holders, cpu, state)
                if j % KEY_RECORDS == 0:
                    k = np.zeros(self.ncpus, np.uint8)
                    k[list(holders)] = list(holders.values())
                    keys.append(k)
            self.keys[line] = keys
        return keys

    def states(self, line: str, frame: int) -> LineStates:
        """Every CPU's copy after events 0..frame-1."""
        r = self._records(line)
        n = int(np.searchsorted(r[:, Ld.EVENT], frame, side="left"))  # records of events < frame
        keys = self._keyframes(line)
        kf = n // KEY_RECORDS
        st = keys[kf].copy()
        holders = {int(c): int(st[c]) for c in np.flatnonzero(st)}
        for cpu, state in zip(r[kf * KEY_RECORDS:n, Ld.CPU].tolist(), r[kf * KEY_RECORDS:n, Ld.STATE].tolist()):
            _apply(holders, cpu, state)
        st[:] = _I
        if holders:
            st[list(holders)] = list(holders.values())
        own = np.flatnonzero(st >= _E)
        st.flags.writeable = False
        return LineStates(line=line, states=st, owner=int(own[0]) if len(own) else -1,
                          last_cpu=int(r[n - 1, Ld.CPU]) if n else -1, last_event=int(r[n - 1, Ld.EVENT]) if n else -1)

    def records(self, line: str, first: int, end: int) -> np.ndarray:
        """The Ld records (int64 rows) of events first..end-1."""
        r = self._records(line)
        lo, hi = np.searchsorted(r[:, Ld.EVENT], [first, end], side="left")
        return r[lo:hi]

    def transfers(self, line: str, first: int, end: int) -> LineTransfers:
        r = self.records(line, first, end)
        r = r[r[:, Ld.FROM] >= 0]
        src, dst = r[:, Ld.FROM], r[:, Ld.CPU]
        return LineTransfers(line=line, event=r[:, Ld.EVENT].copy(), cpu_from=src.copy(), cpu_to=dst.copy(),
                             cost_ns=r[:, Ld.COST].copy(), same_socket=self.sockets[src] == self.sockets[dst])
