"""The replay's claims: what the kernel showed of the pages, as `expect` on a move_pages step:
at a process's end (its final page states, then its exit) and while it ran (the snapshots, every
thread of it stopped). A mixin of replay.Replay, whose fields it uses (spaces, vmas, steps,
unmapped, touched ...); its page-state readers serve the fork's replay too."""

from __future__ import annotations

from collections import Counter

from .pages import PAGE, unrle
from .replay_space import Space, _ranges, _runs, _sel_text

MAX_SNAPSHOT_CLAIMS = 12  # per process: the page states read while it ran, claimed at most this many times
MAX_CLAIM_RUNS = 800  # a final page-state claim with more runs than this is left out (and said so)
STATE_NAMES = {"n": "none", "z": "zero", "a": "anon", "s": "shared", "f": "file", "u": "unmapped"}


class Claims:
    def _end(self, pid: int, reason: str) -> None:
        """The process's final page states as claims, then (a child) its exit."""
        if pid in self.borrowed:  # a vfork child gives the parent's memory back: nothing of its own ends
            self.borrowed.discard(pid)
            self.spaces.pop(pid, None)
            return
        self._flush()
        p = self.procs[pid]
        sp = self.spaces.pop(pid, None)
        if sp is None:
            return
        if p.get("mappings"):
            self._final_claims(pid, sp, p["mappings"])
        if pid != self.root or pid in self.exited_root:
            self.steps.append({"do": "exit", "process": self._pname(pid), "_n": 0, "_exit_pages": True,
                               "_owner": self.image_of.get(pid),
                               "say": f"{self._pname(pid)} {reason}: its address space is torn down"})

    def _final_claims(self, pid: int, sp: Space, mappings: list[dict]) -> None:
        for name in sorted(sp.order, key=list(self.vmas).index):  # the regions still mapped at the end
            v = self.vmas[name]
            states, mlocked = _states_at(mappings, v.base, v.pages)
            present = [i for i, c in enumerate(states) if c not in "nu"]
            if present:
                self._uses(name, present[-1])
            lo, hi = ((x - v.base) // PAGE for x in sp.live[name])
            done_u = self.unmapped.get((pid, name), set())
            states = "".join("u" if (i < lo or i >= hi or i in done_u) else c for i, c in enumerate(states))
            if not any(c not in "nu" for c in states) and not self.touched.get((pid, name)):
                continue  # never touched, nothing there: no claim worth the words
            done = self.unmapped.get((pid, name), set())
            gone = [i for i, c in enumerate(states) if c == "u" and i not in done]
            for lo, hi in _runs(gone)[:64]:  # unmapped since, in ways the replay has not issued (brk, mremap)
                self._span(pid, name, v.base + lo * PAGE, v.base + (hi + 1) * PAGE, "munmap",
                           "gone by the end (the heap shrank, or mremap moved it)")

            claim: dict = {}
            if "?" not in states:
                by_state: dict[str, list[int]] = {}
                for i, c in enumerate(states):
                    by_state.setdefault(STATE_NAMES[c], []).append(i)
                pages = {_sel_text(idx): st for st, idx in by_state.items()}
                runs = sum(len(_ranges(idx)) for idx in by_state.values())
                if runs <= MAX_CLAIM_RUNS:
                    claim["pages"] = pages
                else:
                    self.notes.append(f"{name}: the final page states take {runs} runs; only its RSS is claimed")
            if mlocked is not None and "1" in mlocked:
                claim["mlocked"] = {_sel_text([i for i, c in enumerate(mlocked) if c == "1"]): True}
            claim["rss_kb"] = 4 * sum(1 for c in states if c in "as")
            claim["anon_kb"] = 4 * sum(1 for c in states if c in "as")
            self.steps.append({"do": "move_pages", "process": self._pname(pid), "vma": name, "pages": 0, "_n": 1,
                               "say": f"What the kernel showed at the end, in {name} of {self._pname(pid)}: "
                                      f"{_state_words(states)}.",
                               "expect": {"modern": claim}})

    def _snapshot_claims(self, pid: int, maps: list[dict], changed: list[tuple[int, int]], after_ns: int) -> None:
        """The page states read while the program ran (every thread of it stopped, so exactly the
        faults and calls before this moment have happened) as claims on the vmas that changed.
        Only a program image's own vmas (not a forked child's copy), only the pages inside the
        region as the replay has it at this moment, and only pages the kernel showed mapped."""
        sp = self.spaces.get(pid)
        if sp is None or pid in self.borrowed or self.image_of.get(pid) != self.names.get(pid):
            return
        relatives = {c for c, parent in self.forked_from.items() if parent == pid} | {self.forked_from.get(pid)}
        if any(r in self.spaces for r in relatives if r is not None):
            # A parent and its child share pages copy-on-write while both live, and which of them
            # touched a page first, relative to this moment, the replay knows only from syscall
            # times: a claim on page states then could fail by a race, not by the model. Skip it.
            return
        self._flush()
        for name in list(sp.order):
            v = self.vmas[name]
            lo_a, hi_a = sp.live[name]
            if not any(a < hi_a and b > lo_a for a, b in changed):
                continue
            states, mlocked = _states_at(maps, v.base, v.pages)
            lo, hi = (lo_a - v.base) // PAGE, min((hi_a - v.base) // PAGE, v.pages)
            done_u = self.unmapped.get((pid, name), set())
            idx = [i for i in range(max(lo, 0), hi) if i not in done_u and states[i] != "u"]
            if not idx or any(states[i] == "?" for i in idx):
                continue
            if not any(states[i] != "n" for i in idx) and not self.touched.get((pid, name)):
                continue
            by_state: dict[str, list[int]] = {}
            for i in idx:
                by_state.setdefault(STATE_NAMES[states[i]], []).append(i)
            if sum(len(_ranges(x)) for x in by_state.values()) > MAX_CLAIM_RUNS:
                continue
            claim: dict = {"pages": {_sel_text(x): st for st, x in by_state.items()}}
            if mlocked is not None and any(mlocked[i] == "1" for i in idx):
                claim["mlocked"] = {_sel_text([i for i in idx if mlocked[i] == "1"]): True}
            present = [i for i in idx if states[i] not in "n"]
            if present:
                self._uses(name, present[-1])
            sub = "".join(states[i] for i in idx)
            self.steps.append({"do": "move_pages", "process": self._pname(pid), "vma": name, "pages": idx[0], "_n": 1,
                               "say": f"What the kernel showed {after_ns / 1e6:,.0f} ms into the run (the program "
                                      f"stopped to read it), in {name} of {self._pname(pid)}: {_state_words(sub)}.",
                               "expect": {"modern": claim}})


def _snapshot_states(rec: dict):
    """(pid, every mapping at that moment, the (start, end) that changed, at_ns) for the snapshots
    taken while each process ran: its base (maps at exec or at fork) with each diff applied in
    turn. At most MAX_SNAPSHOT_CLAIMS per process, spread over its run."""
    for p in rec["processes"]:
        snaps = p.get("snapshots") or []
        base = p.get("maps_at_exec") or p.get("maps_at_fork")
        if not snaps or base is None:
            continue
        state = {(m["start"], m["end"]): m for m in base}
        keep = set(range(len(snaps))) if len(snaps) <= MAX_SNAPSHOT_CLAIMS else {
            round(k * (len(snaps) - 1) / (MAX_SNAPSHOT_CLAIMS - 1)) for k in range(MAX_SNAPSHOT_CLAIMS)}
        changed: list[tuple[int, int]] = []
        for k, snap in enumerate(snaps):
            for lo, hi in snap.get("gone") or []:
                state.pop((lo, hi), None)
                changed.append((lo, hi))
            for m in snap.get("mappings") or []:
                state[(m["start"], m["end"])] = m
                changed.append((m["start"], m["end"]))
            if k in keep:
                yield p["pid"], snap["at_ns"], list(state.values()), changed
                changed = []


def _states_at(mappings: list[dict], base: int, n: int) -> tuple[str, str | None]:
    """The final state code of each page of [base, base + n pages), "u" where nothing maps it."""
    st = bytearray(b"u" * n)
    ml = bytearray(b"0" * n)
    seen_ml = True
    end = base + n * PAGE
    for m in mappings:
        if m["end"] <= base or m["start"] >= end or m.get("pages") is None:
            continue
        s, e = max(m["start"], base), min(m["end"], end)
        a, b = (s - m["start"]) // PAGE, (e - m["start"]) // PAGE
        lo = (s - base) // PAGE
        st[lo:lo + b - a] = unrle(m["pages"])[a:b].encode()
        if m.get("mlocked") is not None:
            ml[lo:lo + b - a] = unrle(m["mlocked"])[a:b].encode()
        else:
            seen_ml = False
    mlocked = ml.decode()
    return st.decode(), (mlocked if seen_ml and "?" not in mlocked else None)


def _state_words(states: str) -> str:
    c = Counter(states)
    parts = [f"{c[k]:,} {STATE_NAMES[k]}" for k in "zasfnu" if c[k]]
    return ", ".join(parts)
