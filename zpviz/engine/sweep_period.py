"""The sweep's period skip (sweep.py): where the loop's machine comes back to a state it was in,
shifted in time and along the step's pages, the faults since then are written again, shifted,
as many times as the step allows, instead of played.

The sweep's loop (sweep_loop.py) is a deterministic function of a small state: each CPU's next
start, the owner and busy time of the fixed lines (fault lock, mm counter, zone lock), each CPU's
per-cpu free-list count, the owner and busy time of the PTE-table locks and PTE lines, which PTE
tables exist, and the lines each CPU's faults write from here on. Every CHECK faults `Periods`
notes that state, relative: times less the earliest next start (a busy time before it counts as
"past": no fault can wait for it), line numbers less the lowest any CPU writes next. Where a note
repeats one taken p faults before (checkpoint A, then B), the loop from B does what it did from
A, shifted by D ns and by a whole number of PTE tables and lines, for as long as the step's pages
go on in the same pattern: each CPU's table and line numbers ahead are those from A shifted
(`skip`), the lines and tables nobody has written yet in the step were as they are now at
the step's start, shifted alike, and no upper page table is missing. Then K periods are written
at once (`skip`): the faults' ints (sweep.py's `done`) plus K times D, the faults played in full
(page-table allocations) with their tables shifted, and the state moved on as K periods would
move it. The state compared is everything `_round` and `_Timing._in_full` read, so the faults
written are the ones the loop would have played.

In a 2.6.24 read on 4 CPUs (one socket) the machine repeats itself after 63,488 faults (124 PTE
tables; the per-cpu lists' 31 pages and the tables' 512 pages must come round together), on two
sockets after 31,744, on 16 CPUs over two sockets after 111,104; on 16 CPUs over one socket the
first repeat comes after 253,952 faults: the CPUs take turns at the PTE tables (16 of them, so a
rhythm of 16 tables), in which each CPU allocates 513 pages, 17 (mod 31) of the per-cpu batch, so
the per-cpu counts come back only after 31 rhythms (docs/engine.md, "Why 16 CPUs on one socket
repeat so late"). Where a repeat leaves no whole period in the step (there, or after the whole
periods written), `_prefix` writes the faults from A to the latest later note X that fits, and
the state becomes X's, shifted: each note keeps what that needs (`_raw`). tests/engine/test_sweep.py checks the skip
against the general path (a smaller per-cpu batch brings the period within a quick test's step)
and, slow, against the loop on those 1 GiB steps.
"""

from __future__ import annotations

from array import array
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from zpviz.engine.sweep import _Timing

CHECK = 512  # faults between notes of the state (a period is a multiple of it: sweep.py's steps
# take PTE tables of 512 pages whole)
PREFIX = True  # a repeat with no whole period left writes a prefix of one (`Periods._prefix`)
LOOSE_PCP = True  # the per-cpu counts out of the key where the faults allocate nothing (`Periods.loose`)
PREFIX_TRIES = 4  # full checks of candidate notes X per repeat, and repeats with no prefix a step
WIDE = 64  # PTE lines between the lowest a CPU writes next and the highest written, beyond which
# no note is taken (speed only: CPUs that far apart have drifted, not locked into a rhythm, as in
# the COW of the headline shape, where a note would hold hundreds of lines and none ever repeated)


class Periods:
    """The notes of one sweep step's loop state and the skips they allow."""

    def __init__(self, tm: _Timing):
        self.tm = tm
        sw = tm.sw
        self.notes: dict[bytes, int] = {}  # a note's key -> its place in `order`
        # per-cpu counts -> the one note with them whose key is not built yet (its place and
        # `_key`'s parts), None once a second note had them (then both keys are in `notes`)
        self.first: dict[tuple, tuple | None] = {}
        self.order: list[tuple[array, tuple]] = []  # every note since the last skip: (`here`, `_raw`)
        self.prefix = PREFIX  # whether a repeat with no whole period left may write a prefix of one
        self.failed = 0  # repeats where no prefix fitted
        self.skipped = 0
        self.cpus = sorted(sw.lists)
        # Where the step's faults allocate no page (zero-page reads) the per-cpu counts move only
        # with the page tables its faults played in full allocate: one a note, so they came round
        # only after 31 rhythms (the batch; 16 CPUs over two sockets: never within 1 GiB). There
        # they stay out of the key (`loose`), and a skip checks instead that no table allocation
        # between the notes refilled a list and that none in the copies would (`_pcp_room`).
        self.loose = LOOSE_PCP and not sw.alloc
        self.pcps: list[list[int]] = []  # each note's per-cpu counts, as `order`
        # what the step's lines and tables were before it (a line nobody has written yet in the
        # step is still so); a busy time past the step's start would need comparing in time
        # (as the step found them: the loop's own lists have its first fault, played in full, in them)
        self.ptl0 = sw.ptl_owner  # (int64 arrays, Sweep.plan's: read only)
        self.pte0 = sw.pte_owner
        self.table0 = np.asarray(sw.has_table, bool)
        late = {x for x, t in sw.m.cache.busy.items() if t > sw.start}  # (lines still busy: seldom any)
        self.ok = (not late or late.isdisjoint(sw.ptl_ids.tolist() + sw.pte_ids.tolist())) and all(
            len(sw.pi[c]) < 2 or (np.diff(sw.pi[c]).min() >= 0 and np.diff(sw.ei[c]).min() >= 0) for c in self.cpus
        ) and bool((np.diff(sw.table_of_line) >= 0).all())
        # (each CPU's tables and lines in order: a line below every CPU's next is never written
        # again; and a line's table never lower than a lower line's, which `note` reads)

    def note(self, k: int) -> int:
        """At a checkpoint: note the state; if it repeats an earlier note, skip whole periods,
        at most k faults. Returns the faults written."""
        if not self.ok:
            return 0
        tm = self.tm
        sh, mask = tm.sh, tm.mask
        heap = sorted(tm.heap)
        if not heap:
            return 0
        t0 = heap[0] >> sh
        pos, tl, ei = tm.pos, tm.table_of_line, tm.ei
        ys = [ei[e & mask][pos[e & mask]] for e in heap]  # each CPU's next line, heap order
        ylo = min(ys)
        yhi = max([ei[c][pos[c] - 1] for c in self.cpus if pos[c]] + [ylo])
        if yhi - ylo > WIDE:  # (CPUs spread far apart: no rhythm to find, and a long note to take)
            return 0
        # (a line's table never decreases with the line, table_of_line being numbered in order
        # (`ok`): the lowest next table is the lowest next line's, the highest written the
        # highest written line's)
        xlo, xhi = tl[ylo], tl[yhi]
        fixed = tm.fixed.values()
        busy = tm.pte_busy[ylo:yhi + 1]
        busy += tm.ptl_busy[xlo:xhi + 1]
        busy += [b for _, b in fixed]
        pcp = list(tm.pcp)
        # what the key is made of, copied now (`_key`)
        parts = (heap, ys, busy, [o for o, _ in fixed], pcp, t0, ylo, yhi, xlo, xhi,
                 tm.pte_owner[ylo:yhi + 1], tm.ptl_owner[xlo:xhi + 1], tm.table[xlo:xhi + 1])
        here = array("q", [len(tm.done), t0, ylo, xlo, yhi, xhi, tm.tables] + [pos[c] for c in self.cpus])
        at = len(self.order)
        if self.loose:
            key = self._key(parts)
        else:
            # the per-cpu counts are in the key, so a note can repeat only one with the same
            # counts: its key is built only where an earlier note has them (the first such note's
            # then too, before this one's is looked up: `notes` keeps the latest of equal keys)
            counts = tuple(pcp)
            first = self.first.get(counts, 0)  # (0: no note with these counts yet)
            if first == 0:
                self.first[counts] = (at, parts)
                key = None
            else:
                if first is not None:
                    self.notes[self._key(first[1])] = first[0]
                    self.first[counts] = None
                key = self._key(parts)
        before = None
        if key is not None:
            before = self.notes.get(key)
            self.notes[key] = at
        self.order.append((here, self._raw(ylo, yhi, xlo, xhi, pcp) if self.prefix else ()))
        self.pcps.append(pcp)  # (read only, as _raw's: one copy for both)
        if before is None:
            return 0
        a_note = self.order[before][0]
        n = self.skip(a_note, here, k, self.pcps[before])
        if self.prefix:
            # after K whole periods the state is B's again, shifted K times: what is left of the
            # step may still hold a prefix of one more
            kp = n // (here[0] - a_note[0]) if n else 0
            shifted = array("q", [v + kp * (v - w) for v, w in zip(here, a_note)])
            n += self._prefix(before, shifted, k - n)
        if n:
            self.notes.clear()  # (notes from before the skip name faults the skip has moved past)
            self.first.clear()
            self.order.clear()
            self.pcps.clear()
        return n

    def _key(self, parts: tuple) -> bytes:
        """A note's key: its state relative to its earliest next start and its lowest lines
        (one bytes object, which the garbage collector does not track: a tuple of tuples kept
        per note made it run through the step's big lists several times a step)."""
        heap, ys, busy, owners, pcp, t0, ylo, yhi, xlo, xhi, pte_o, ptl_o, table = parts
        tl, base = self.tm.table_of_line, t0 << self.tm.sh
        key = [e - base for e in heap]
        key += [y - ylo for y in ys]
        key += [tl[y] - xlo for y in ys]  # each CPU's next table
        key += [b - t0 if b > t0 else 0 for b in busy]  # (0: in the past, no fault waits for it)
        key += owners
        if not self.loose:
            key += pcp
        key += (yhi - ylo, xhi - xlo)
        key += pte_o
        key += ptl_o
        key += table
        return array("q", key).tobytes()

    def _raw(self, ylo: int, yhi: int, xlo: int, xhi: int, pcp: list[int]) -> tuple:
        """What a prefix ending at this note needs of the state as it is here (raw, not relative);
        pcp: a copy of the per-cpu counts."""
        tm = self.tm
        return (list(tm.heap), [list(v) for v in tm.fixed.values()], pcp, tm.pte_owner[ylo:yhi + 1],
                tm.pte_busy[ylo:yhi + 1], tm.ptl_owner[xlo:xhi + 1], tm.ptl_busy[xlo:xhi + 1], tm.latest)

    def _prefix(self, ia: int, b_note: array, k: int) -> int:
        """Where note B repeats note A but no whole period is written (the step ends first): write
        the faults from A to the latest later note X that fits again from B, shifted, and leave the
        state as X's shifted. Returns the faults written."""
        tm = self.tm
        a, ta, ylo_a, xlo_a, yhi_a, xhi_a, tables_a, *pos_a = self.order[ia][0]
        b, tb, ylo_b, xlo_b, yhi_b, xhi_b, tables_b, *pos_b = b_note
        p, d, dy, dx = b - a, tb - ta, ylo_b - ylo_a, xlo_b - xlo_a
        if p <= 0 or d <= 0 or dy <= 0 or dx <= 0:
            return 0
        count = tm.count
        tries = 0
        for ix in range(len(self.order) - 2, ia, -1):  # (the latest X first: the longest prefix)
            here, raw = self.order[ix]
            x = here[0]
            if x >= b or x - a > k:
                continue
            pos_x = here[7:]
            heap_x = raw[0]
            # every CPU still at work at X is still at work after the prefix (the heap is X's)
            if any(pos_b[i] + pos_x[i] - pos_a[i] >= count[c] for i, c in enumerate(self.cpus)
                   if pos_x[i] < count[c]) or len(heap_x) != len(tm.heap):
                continue
            if any(pos_x[i] == pos_a[i] and pos_b[i] < count[c] for i, c in enumerate(self.cpus)):
                continue
            fits = self._prefix_fits(a, pos_a, pos_b, pos_x, here, dy, dx, ylo_a, xlo_a, yhi_b, xhi_b)
            if fits is not None and self.loose:  # (the counts from A to X, taken on from now)
                room = self._pcp_room(fits[1], self.pcps[ia], self.pcps[ix], 1)
                fits = None if room is None else fits
            if fits is not None:
                return self._write_prefix(a, b, x, d, dx, dy, here, raw, pos_a, pos_b, ylo_a, xlo_a, *fits)
            tries += 1
            if tries >= PREFIX_TRIES:
                break
        # (speed only: each full check costs some 30 numpy calls; a step whose prefixes keep
        # failing stops trying, so that a long step's notes cannot cost their number squared)
        self.failed += 1
        if self.failed >= PREFIX_TRIES:
            self.prefix = False
        return 0

    def _prefix_fits(self, a, pos_a, pos_b, pos_x, here, dy, dx, ylo_a, xlo_a, yhi_b, xhi_b) -> tuple | None:
        """The prefix's allow-list, checked before anything is written: (tables shift, faults
        played in full in it) where it is exact, else None."""
        sw = self.tm.sw
        for i, c in enumerate(self.cpus):  # each CPU's tables and lines in the prefix: A's shifted
            n = pos_x[i] - pos_a[i]
            if not n:
                continue
            for seq, shift in ((sw.pi[c], dx), (sw.ei[c], dy)):
                if pos_b[i] + n > len(seq) or (seq[pos_b[i]:pos_b[i] + n] - seq[pos_a[i]:pos_x[i]] != shift).any():
                    return None
        yhi_x, xhi_x = here[4], here[5]
        if yhi_x + dy < yhi_b or xhi_x + dx < xhi_b:
            return None  # (lines B wrote beyond X's window shifted: the state would not be X's)
        yend, xend = yhi_x + dy + 1, xhi_x + dx + 1
        for arr, lo, end, shift in ((self.pte0, ylo_a, yend, dy), (self.ptl0, xlo_a, xend, dx),
                                    (self.table0, xlo_a, xend, dx)):
            if end > len(arr) or (arr[lo + shift:end] != arr[lo:end - shift]).any():
                return None
        ptl_no = sw.ptl_no
        dtab = int(ptl_no[xlo_a + dx] - ptl_no[xlo_a])
        seg = ptl_no[xlo_a:xend]
        if (seg[dx:] - seg[:len(seg) - dx] != dtab).any():
            return None
        full = self._played_between(a, here[0], dtab, 1)
        return None if full is None else (dtab, full)

    def _write_prefix(self, a, b, x, d, dx, dy, here, raw, pos_a, pos_b, ylo_a, xlo_a, dtab, full) -> int:
        tm = self.tm
        sh = tm.sh
        p = b - a
        heap_x, fixed_x, pcp_x, pte_o, pte_b, ptl_o, ptl_b, latest_x = raw
        ylo_x, xlo_x, yhi_x, xhi_x = here[2], here[3], here[4], here[5]
        part = np.frombuffer(tm.done, np.int64)[a:x].copy()  # (no view may outlive the append)
        tm.done.frombytes((part + (d << sh)).tobytes())
        self._copy_played(full, p, d, dtab, 1)
        for i, c in enumerate(self.cpus):
            tm.pos[c] = pos_b[i] + here[7 + i] - pos_a[i]
        tm.heap = [e + (d << sh) for e in heap_x]  # (X's heap, shifted: the same order)
        for v, (o, bz) in zip(tm.fixed.values(), fixed_x):
            v[0], v[1] = o, bz + d
        if self.loose:  # (no list refilled from A to X, none does in the prefix: _prefix)
            for c, u in self._allocs(full).items():
                tm.pcp[c] -= u
        else:
            tm.pcp[:] = pcp_x
        for lo_a, lo_x, hi_x, step, own, busy, win_o, win_b in (
                (ylo_a, ylo_x, yhi_x, dy, tm.pte_owner, tm.pte_busy, pte_o, pte_b),
                (xlo_a, xlo_x, xhi_x, dx, tm.ptl_owner, tm.ptl_busy, ptl_o, ptl_b)):
            # lines written for the last time between A and X: as they are now (nothing after X wrote them)
            own[lo_a + step:lo_x + step] = own[lo_a:lo_x]
            busy[lo_a + step:lo_x + step] = [t + d for t in busy[lo_a:lo_x]]
            own[lo_x + step:hi_x + 1 + step] = win_o
            busy[lo_x + step:hi_x + 1 + step] = [t + d for t in win_b]
        self.skipped += x - a
        tm.latest = max(tm.latest, latest_x + d, int((part.max() + (d << sh)) >> sh))
        return x - a

    def _played_between(self, a: int, b: int, dtab: int, times: int) -> list | None:
        """The faults played in full (page-table allocations) among faults a..b, where they may be
        written again `times` times, each `dtab` tables further on: PTE tables only (an upper table
        is not a shape to repeat), and no upper table missing for the tables the copies allocate.
        None where not."""
        tm = self.tm
        full = [(e, pl) for e, pl in tm.played.items() if a <= e < b]
        if any(key[0] != "pte" for _, pl in full for key in pl.tables):
            return None
        for t in (key[1] + m * dtab for _, pl in full for key in pl.tables for m in range(1, times + 1)):
            if (3, t >> 18) not in tm.upper or (2, t >> 9) not in tm.upper:
                return None
        return full

    def _copy_played(self, full: list, p: int, d: int, dtab: int, times: int) -> None:
        """Note the faults played in full among those written again: `times` copies, the m-th p
        faults, m*d ns and m*dtab tables on, with the tables they allocate."""
        tm = self.tm
        for e, pl in full:
            for m in range(1, times + 1):
                tabs = [(key[0], key[1] + m * dtab) for key in pl.tables]
                tm.played[e + m * p] = type(pl)(pl.end + m * d, tabs, pl.out)
                for key in tabs:
                    tm.upper.add(key)
                    tm.table[int(np.searchsorted(tm.sw.ptl_no, key[1]))] = True
        tm.tables += times * sum(len(pl.tables) for _, pl in full)

    def _allocs(self, full: list) -> dict[int, int]:
        """The frames each CPU's faults played in full among `full` allocate (their tables)."""
        done, mask = self.tm.done, self.tm.mask
        out: dict[int, int] = {}
        for e, pl in full:
            c = done[e] & mask
            out[c] = out.get(c, 0) + len(pl.tables)
        return out

    def _pcp_room(self, full: list, pcp_a: list, pcp_b: list, most: int) -> int | None:
        """For a `loose` key: how many copies (at most `most`) of the allocations in `full`, made
        from the counts as they are now, find every CPU's per-cpu list non-empty, provided none
        refilled between A and B (each count fell by exactly its CPU's allocations, which a refill
        would have raised by the batch): then each copy takes the same lines and time. None where not."""
        pcp = self.tm.pcp
        al = self._allocs(full)
        if any(pcp_a[c] - pcp_b[c] != al.get(c, 0) for c in range(len(pcp))):
            return None
        for c, u in al.items():
            if u:
                most = min(most, pcp[c] // u)
        return most if most >= 1 else None

    def skip(self, a_note: array, b_note: array, k: int, pcp_a: list | None = None) -> int:
        """Write K periods (the faults between notes A and B, repeated, shifted) where the step's
        pages allow, at most k faults."""
        tm, sw = self.tm, self.tm.sw
        a, ta, ylo_a, xlo_a, yhi_a, xhi_a, tables_a, *pos_a = a_note
        b, tb, ylo_b, xlo_b, yhi_b, xhi_b, tables_b, *pos_b = b_note
        p, d, dy, dx = b - a, tb - ta, ylo_b - ylo_a, xlo_b - xlo_a
        if p <= 0 or d <= 0:
            return 0
        j = {c: pb - pa for c, pa, pb in zip(self.cpus, pos_a, pos_b)}
        count = tm.count
        most = k // p
        for c in self.cpus:
            if j[c]:
                most = min(most, (count[c] - pos_b[self.cpus.index(c)]) // j[c])
            elif pos_b[self.cpus.index(c)] < count[c]:
                return 0  # (a CPU with work left that did none in a period: not a shape to skip)
        if most < 1:
            return 0
        # each CPU's tables and lines ahead: those from A shifted, for K periods
        for c, pa in zip(self.cpus, pos_a):
            if not j[c]:
                continue
            end = pos_b[self.cpus.index(c)] + most * j[c]  # (the last fault a skip of `most` writes)
            for seq, shift in ((sw.pi[c], dx), (sw.ei[c], dy)):
                bad = np.flatnonzero(seq[pa + j[c]:end] - seq[pa:end - j[c]] != shift)
                if len(bad):  # (fault pa + r is where it breaks: the periods wholly before it)
                    most = min(most, int(bad[0]) // j[c])
            if most < 1:
                return 0
        # the lines and tables first written in the periods skipped: as they were before the step,
        # shifted alike (and the tables' numbers, which the faults played in full note, too)
        yend, xend = yhi_b + most * dy + 1, xhi_b + most * dx + 1
        for arr, lo, hi, end, shift in ((self.pte0, ylo_a, yhi_b, yend, dy), (self.ptl0, xlo_a, xhi_b, xend, dx),
                                        (self.table0, xlo_a, xhi_b, xend, dx)):
            if end > len(arr):
                return 0
            bad = np.flatnonzero(arr[lo + shift:end] != arr[lo:end - shift])
            if len(bad):  # (line lo + r differs from lo + r + shift: the skip must end before that one)
                most = min(most, (lo + int(bad[0]) + shift - hi - 1) // shift)
                if most < 1:
                    return 0
        ptl_no = sw.ptl_no
        dtab = int(ptl_no[xlo_b] - ptl_no[xlo_a])
        seg = ptl_no[xlo_a:xend]
        if (seg[dx:] - seg[:len(seg) - dx] != dtab).any():
            return 0
        full = self._played_between(a, b, dtab, most)
        if full is None:
            return 0
        if self.loose:
            room = self._pcp_room(full, pcp_a, self.tm.pcp, most)
            if room is None:
                return 0
            most = room
            for c, u in self._allocs(full).items():
                self.tm.pcp[c] -= most * u
        self._write(a, b, p, d, dx, dy, dtab, most, full, j, (ylo_a, ylo_b, yhi_b), (xlo_a, xlo_b, xhi_b))
        return most * p

    def _write(self, a, b, p, d, dx, dy, dtab, K, full, j, ys, xs) -> None:
        tm = self.tm
        sh = tm.sh
        period = np.frombuffer(tm.done, np.int64)[a:b].copy()  # (no view may outlive the append)
        shifts = (np.arange(1, K + 1, dtype=np.int64) * d) << sh
        tm.done.frombytes((period[None, :] + shifts[:, None]).tobytes())
        self._copy_played(full, p, d, dtab, K)
        for c in self.cpus:
            tm.pos[c] += K * j[c]
        tm.heap = [e + ((K * d) << sh) for e in tm.heap]  # (the same order)
        for v in tm.fixed.values():
            v[1] += K * d
        for (lo_a, lo_b, hi_b), step, own, busy in ((ys, dy, tm.pte_owner, tm.pte_busy),
                                                    (xs, dx, tm.ptl_owner, tm.ptl_busy)):
            done_o, done_b = own[lo_a:lo_b], busy[lo_a:lo_b]  # lines written for the last time since A
            win_o, win_b = own[lo_b:hi_b + 1], busy[lo_b:hi_b + 1]
            for m in range(1, K + 1):
                own[lo_a + m * step:lo_b + m * step] = done_o
                busy[lo_a + m * step:lo_b + m * step] = [x + m * d for x in done_b]
            own[lo_b + K * step:hi_b + 1 + K * step] = win_o
            busy[lo_b + K * step:hi_b + 1 + K * step] = [x + K * d for x in win_b]
        self.skipped += K * p  # (notes from before the skip name faults the skip has moved past)
        tm.latest = max(tm.latest, int((period.max() + shifts[-1]) >> sh))
