"""Replaying a recording: the program's regions, and its faults and calls as lesson steps.

Each region the program mapped (heap, stack, every anonymous mmap) is followed through the
recorded calls (mmap, munmap, brk, mremap, fork, exec) so that every fault lands on the region
that held its address at that moment; the steps (reads, writes, the calls that change pages,
fork and exit) and the final-state claims come out in time order. lesson.py turns them into
the lesson's text. The full story is in docs/recording.md.

Replay is one object in four modules: this one walks the recording in time order and writes the
fault steps; replay_calls.py turns each address-space call into steps, replay_claims.py the page
states the kernel showed into claims, and replay_space.py holds the regions and page helpers.
"""

from __future__ import annotations

import os
from collections import Counter

from .pages import PAGE, mapping_kind, unrle
from .replay_calls import CallSteps
from .replay_claims import Claims, _snapshot_states
from .replay_space import Space, Vma, _perm_bits, _prot, _ranges

PF_WRITE = 2
COST_US = {"read": 3, "write": 6, "mlock": 15, "populate": 15, "munlock": 8, "mprotect": 8, "madvise": 11,
           "munmap": 11, "fork": 11, "exit": 11, "move_pages": 7, "gup": 15}


class Replay(CallSteps, Claims):
    def __init__(self, rec: dict, slice_ns: int | None = None, caps: dict[str, int] | None = None):
        """caps: vma -> pages, to declare a vma only as far as the program used it (see lesson._fit)."""
        self.rec = rec
        self.caps = caps or {}
        self.extent: dict[str, int] = {}  # vma -> the highest page the replay makes present
        self.procs = {p["pid"]: p for p in rec["processes"]}
        self.root = rec.get("root_pid") or (rec["processes"][0]["pid"] if rec["processes"] else None)
        self.vmas: dict[str, Vma] = {}
        self.spaces: dict[int, Space] = {}
        self.names: dict[int, str] = {}
        self.steps: list[dict] = []
        self.open: dict[tuple, dict] = {}  # (pid, vma, op) -> the step being filled
        self.notes: list[str] = []
        self.skipped: Counter = Counter()  # where the faults that are not replayed went
        self.duplicates = 0
        self.n_mmap = 0
        self.touched: dict[tuple[int, str], dict[int, str]] = {}  # (pid, vma) -> page -> "r"/"w" so far
        self.unmapped: dict[tuple[int, str], set[int]] = {}
        self.borrowed: set[int] = set()  # vfork children, running in their parent's memory
        self.forked_from: dict[int, int] = {}  # child pid -> parent pid
        self.skipped_calls: Counter = Counter()  # madvise advice the model has no op for
        self.exited_root: set[int] = set()
        self.images: list[str] = []  # one declared process per program image (the program, and each exec)
        self.image_of: dict[int, str] = {}  # pid -> the image its memory descends from
        self.slice_ns = slice_ns
        self.replayed_faults = 0

    # ------------------------------------------------------------------ names and regions
    def _pname(self, pid: int) -> str:
        if pid not in self.names:
            self.names[pid] = self._fresh_name(self.procs.get(pid, {}).get("comm"), pid)
        return self.names[pid]

    def _fresh_name(self, comm: str | None, pid: int) -> str:
        comm = "".join(c if c.isalnum() or c in "_.+-" else "_" for c in comm or "") or "proc"
        name, k = f"{comm}-{pid}"[:56], 1
        while name in self.names.values():  # a process that execs gets a new name for its new image
            k += 1
            name = f"{comm}-{pid}.{k}"[:64]
        return name

    def _vma(self, name: str, lo: int, hi: int, prot: str, origin: str, pid: int | None = None) -> str:
        base = name
        k = 1
        while name in self.vmas:
            k += 1
            name = f"{base}.{k}"
        owner = self.image_of.get(pid, self.images[0] if self.images else "") if pid is not None else self.images[-1]
        pages = min(max(1, (hi - lo) // PAGE), self.caps.get(name, 1 << 62))
        self.vmas[name] = Vma(name, lo, pages, prot, origin, owner)
        return name

    def _grow(self, name: str, hi: int) -> None:
        v = self.vmas[name]
        v.pages = min(max(v.pages, -(-(hi - v.base) // PAGE)), self.caps.get(name, 1 << 62))

    def _uses(self, name: str, top: int) -> None:
        self.extent[name] = max(self.extent.get(name, -1), top)

    def _start(self, pid: int) -> None:
        """A program image at its exec stop (the program, or a child that execs): a process of its
        own in the lesson, with its anonymous mappings, and the pages already there."""
        p = self.procs[pid]
        self.names[pid] = self._fresh_name(p.get("comm"), pid)
        self.images.append(self.names[pid])
        self.image_of[pid] = self.names[pid]
        sp = self.spaces[pid] = Space()
        final = {m["path"]: m for m in (p.get("mappings") or []) if m["path"] == "[stack]"}
        for m in p.get("maps_at_exec") or []:
            if mapping_kind(m) != "anon":
                continue
            lo, hi = m["start"], m["end"]
            if m["path"] == "[stack]" and "[stack]" in final:
                lo = min(lo, final["[stack]"]["start"])  # the stack grows down: number from its lowest page
            label = {"[stack]": "stack", "[heap]": "heap"}.get(m["path"], "anon")
            name = self._vma(label, lo, hi, _prot(_perm_bits(m["perms"])), f"{m['path'] or 'anonymous'} at exec",
                             pid)
            sp.live[name] = [lo, hi]
            sp.order.append(name)
            if label == "heap":
                sp.heap, sp.brk = name, hi
            self._prefill(pid, name, m)
        if sp.heap is None:
            heap = next((m for m in p.get("mappings") or [] if m["path"] == "[heap]"), None)
            if heap is not None:  # named now so that every brk grows the same vma
                sp.heap = self._vma("heap", heap["start"], heap["start"] + PAGE, "rw", "the heap (brk)", pid)
                sp.brk = heap["start"]
                sp.live[sp.heap] = [heap["start"], heap["start"]]
                sp.order.append(sp.heap)

    def _prefill(self, pid: int, name: str, m: dict) -> None:
        """Pages present at exec (argv and environment on the stack) arrive without a fault: touch them."""
        if not m.get("pages"):
            return
        states = unrle(m["pages"])
        off = (m["start"] - self.vmas[name].base) // PAGE
        for code, op in (("z", "read"), ("a", "write")):
            pages = [off + i for i, c in enumerate(states) if c == code]
            if pages:
                self._op_step(pid, "read" if op == "read" else "write", name, pages,
                              "pages the kernel filled at exec, without a fault", claim=False)

    # ------------------------------------------------------------------ steps
    def _flush(self) -> None:
        for step in sorted(self.open.values(), key=lambda s: s["_t"]):
            pages = sorted(step.pop("_pages"))
            step["pages"] = _ranges(pages)
            step["_n"] = len(pages)
            step["_list"] = pages
            self.steps.append(step)
        self.open.clear()

    def _op_step(self, pid: int, op: str, vma: str, pages: list[int] | None, say: str, claim=True, **extra):
        self._flush()
        step = {"do": op, "process": self._pname(pid), "vma": vma, "say": say, **extra}
        if pages is not None:
            step["pages"] = _ranges(sorted(set(pages)))
            step["_n"] = len(set(pages))
            self._uses(vma, max(pages))
        self.steps.append(step)
        return step

    def _fault(self, t: int, pid: int, addr: int, err: int | None, mode: str, cpu: int) -> None:
        sp = self.spaces.get(pid)
        if sp is None:
            self.skipped["in processes not replayed (after an exec of another program)"] += 1
            return
        name = sp.find(addr)
        if name is None:
            self.skipped[self._where(pid, addr, t)] += 1
            return
        v = self.vmas[name]
        page = (addr - v.base) // PAGE
        op = "write" if err is not None and err & PF_WRITE else "read"
        key = (pid, name, op)
        touched = self.touched.setdefault((pid, name), {})
        step = self.open.get(key)
        if step is not None and page in step["_pages"]:
            # a second fault on a page this step already faults in: a retried fault or two racing
            # threads; the replay accesses each page of a step once, so it is counted once
            self.duplicates += 1
            step["_dups"] += 1
            return
        conflict = any(k[0] == pid and k[1] == name and k[2] != op and page in s["_pages"]
                       for k, s in self.open.items())
        first = min((s["_t"] for s in self.open.values()), default=t)
        if conflict or (self.slice_ns is not None and t - first > self.slice_ns):
            self._flush()
        step = self.open.get(key)
        if step is None:
            step = self.open[key] = {"do": op, "process": self._pname(pid), "vma": name, "_t": t, "_pages": set(),
                                     "_faults": 0, "_dups": 0, "_kernel": 0, "_cpus": Counter()}
        step["_pages"].add(page)
        self._uses(name, page)
        step["_faults"] += 1
        step["_kernel"] += mode == "k"
        step["_cpus"][cpu] += 1
        touched[page] = "w" if op == "write" else "r"
        v.faults += 1
        self.replayed_faults += 1

    def _where(self, pid: int, addr: int, t: int) -> str:
        """Which kind of mapping a fault not replayed hit (from the final maps, best effort)."""
        for m in self.procs.get(pid, {}).get("mappings") or []:
            if m["start"] <= addr < m["end"]:
                kind = mapping_kind(m)
                if kind == "file":
                    return f"file mapping {os.path.basename(m['path'])}"
                return {"shared": "shared memory", "special": m["path"]}.get(kind, "anonymous memory mapped "
                                                                                  "before recording began")
        return "memory unmapped before the program ended"

    # ------------------------------------------------------------------ the whole recording
    def build(self) -> None:
        rec = self.rec
        if self.root not in self.procs or self.procs[self.root].get("exec_ns") is None:
            raise ValueError("the recording has no exec of the program: nothing to replay")
        root = self.procs[self.root]
        self._start(self.root)
        f = rec["faults"]
        events: list[tuple] = []
        start = root["exec_ns"]
        for i, t in enumerate(f["time_ns"]):
            if t > start or f["pid"][i] != self.root:
                events.append((t, 1, i))
        for j, c in enumerate(rec["calls"]):  # a call acts at its return; fork before the child first runs
            events.append((c["t0"] if c["name"] == "fork" else c["t1"], 0, j))
        if rec.get("source") == "tracepoints":  # the software event's replay is a guess: nothing to claim
            for pid, at, maps, changed in _snapshot_states(rec):
                events.append((at, 4, (pid, maps, changed)))
        for p in rec["processes"]:
            if p["pid"] == self.root:
                continue
            if p.get("exec_ns") is not None and p.get("maps_at_exec") is not None:
                events.append((p["exec_ns"], 2, p["pid"]))
            if p.get("final_ns") is not None or p.get("exit_ns") is not None:
                events.append((p.get("final_ns") or p["exit_ns"], 3, p["pid"]))
        events.sort()
        guessed = self._guess_writes() if rec.get("source") != "tracepoints" else None
        for t, kind, i in events:
            if kind == 1:
                if f["pid"][i] == self.root and t <= start:
                    continue
                err = f["error_code"][i] if guessed is None else (PF_WRITE if i in guessed else 0)
                self._fault(t, f["pid"][i], f["address"][i], err, f["mode"][i], f["cpu"][i])
            elif kind == 0:
                c = rec["calls"][i]
                if t >= start:
                    self._call(c)
            elif kind == 4:
                if t > start:
                    self._snapshot_claims(*i, t - start)
            elif kind == 2:  # a child execs: its old memory ends, and a new program image begins
                if i in self.spaces:
                    self._end(i, "execs another program")
                self._start(i)
            else:
                if i in self.spaces:
                    self._end(i, "exits")
        self._end(self.root, "ends")

    def _guess_writes(self) -> set[int]:
        """Without the error code (the software event), which faults were writes: the last fault on a
        page that ended as an anonymous page; every other fault is taken as a read."""
        f = self.rec["faults"]
        last: dict[tuple[int, int], int] = {}
        for i, (p, a) in enumerate(zip(f["pid"], f["address"])):
            last[(p, a // PAGE)] = i
        final: dict[int, list[dict]] = {p["pid"]: p.get("mappings") or [] for p in self.rec["processes"]}
        out = set()
        for (pid, page), i in last.items():
            addr = page * PAGE
            for m in final.get(pid, ()):
                if m["start"] <= addr < m["end"] and m.get("pages"):
                    if unrle(m["pages"])[(addr - m["start"]) // PAGE] in "as":
                        out.add(i)
                    break
        self.notes.append("Recorded without the tracepoints (the software event, as an ordinary user): a fault is "
                          "taken as a write when it is the last on a page that ended as an anonymous page, as a read "
                          "otherwise, and faults the kernel took inside system calls were not seen. The replay is "
                          "an approximation, so it carries no claims; record as root to check the model.")
        return out

    def cost_s(self, steps: list[dict], used: set[str] | None = None) -> float:
        """The loader's estimate (scenario/steps.py COST_US) over the five variants; fork and exit walk
        every page of the process's vmas (those declared in its image, of `used`)."""
        pages: dict[str, int] = {}
        for n, v in self.vmas.items():
            if used is None or n in used:
                pages[v.owner] = pages.get(v.owner, 0) + v.pages
        us = 0.0
        for s in steps:
            if s.get("_fork_pages") or s.get("_exit_pages"):
                us += pages.get(s.get("_owner"), sum(pages.values())) * 11
                continue
            op = s["do"]
            if op == "madvise" and str(s.get("advice", "")).startswith("populate"):
                op = "populate"
            us += s.get("_n", 0) * COST_US.get(op, 11)
        return us * 1e-6 * 5
