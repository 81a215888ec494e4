"""Replaying a recording: the program's regions, and its faults and calls as lesson steps.

Each region the program mapped (heap, stack, every anonymous mmap) is followed through the
recorded calls (mmap, munmap, brk, mremap, fork, exec) so that every fault lands on the region
that held its address at that moment; the steps (reads, writes, the calls that change pages,
fork and exit) and the final-state claims come out in time order. lesson.py turns them into
the lesson's text. The full story is in docs/recording.md.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field

from .calls import MADVICE, MAP_ANONYMOUS, MAP_LOCKED, MAP_POPULATE, MAP_SHARED
from .pages import PAGE, mapping_kind, unrle

PF_WRITE = 2
MAX_SNAPSHOT_CLAIMS = 12  # per process: the page states read while it ran, claimed at most this many times
MAX_CLAIM_RUNS = 800  # a final page-state claim with more runs than this is left out (and said so)
STATE_NAMES = {"n": "none", "z": "zero", "a": "anon", "s": "shared", "f": "file", "u": "unmapped"}
COST_US = {"read": 3, "write": 6, "mlock": 15, "populate": 15, "munlock": 8, "mprotect": 8, "madvise": 11,
           "munmap": 11, "fork": 11, "exit": 11, "move_pages": 7, "gup": 15}


@dataclass
class Vma:
    """A region the lesson replays, declared once (in the first process; fork copies it)."""

    name: str
    base: int  # address of page 0
    pages: int
    prot: str
    origin: str  # what made it: "the stack at exec", "mmap(...)"
    owner: str = ""  # the process it is declared in: the program image (exec) whose lineage mapped it
    faults: int = 0
    thp: bool = False


@dataclass
class Space:
    """One process's view: the regions it has mapped now (name -> [lo, hi) addresses)."""

    live: dict[str, list[int]] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)  # newest last: a new mapping over an old address wins
    heap: str | None = None
    brk: int | None = None
    holes: dict[str, list[tuple[int, int]]] = field(default_factory=dict)  # munmapped inside a live span
    last: str | None = None

    def copy(self) -> Space:
        return Space({k: list(v) for k, v in self.live.items()}, list(self.order), self.heap, self.brk,
                     {k: list(v) for k, v in self.holes.items()})

    def _has(self, name: str, addr: int) -> bool:
        span = self.live.get(name)
        if not span or not span[0] <= addr < span[1]:
            return False
        return not any(a <= addr < b for a, b in self.holes.get(name, ()))

    def find(self, addr: int) -> str | None:
        if self.last is not None and self._has(self.last, addr):
            return self.last
        for name in reversed(self.order):
            if self._has(name, addr):
                self.last = name
                return name
        return None


def _prot(bits: int) -> str:
    return "none" if not bits & 3 else "rw" if bits & 2 else "r"


def _ranges(pages: list[int]) -> list:
    """Sorted page numbers as a compact selector: ints, "LO-HI" and "LO-HI/STRIDE"."""
    out: list = []
    i, n = 0, len(pages)
    while i < n:
        j = i
        if i + 1 < n:
            d = pages[i + 1] - pages[i]
            while j + 1 < n and pages[j + 1] - pages[j] == d:
                j += 1
            if j - i + 1 < 3 and d != 1:
                j = i
        if j == i:
            out.append(pages[i])
        else:
            d = pages[i + 1] - pages[i]
            out.append(f"{pages[i]}-{pages[j]}" + (f"/{d}" if d > 1 else ""))
        i = j + 1
    return out


def _sel_text(pages: list[int]) -> str:
    return ", ".join(str(x) for x in _ranges(pages))


class Replay:
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

    # ------------------------------------------------------------------ calls
    def _call(self, c: dict) -> None:
        pid = c["pid"]
        sp = self.spaces.get(pid)
        if sp is None or c["errno"] is not None:
            return
        name, args, res = c["name"], c["args"], c["result"]
        if name == "mmap":
            self._mmap(pid, sp, args, res, c["text"], c["t1"])
        elif name == "munmap":
            self._unmap(pid, sp, args[0], args[0] + _pg(args[1]), c["text"])
        elif name == "brk":
            self._brk(pid, sp, res)
        elif name == "mremap":
            self._mremap(pid, sp, args, res, c["text"])
        elif name in ("mprotect", "madvise", "mlock", "munlock", "mlock2"):
            self._span_call(pid, sp, name, args, c["text"])
        elif name == "mlockall" and args[0] & 1:
            for vma in list(sp.order):
                lo, hi = sp.live[vma]
                if hi > lo:
                    self._span(pid, vma, lo, hi, "mlock", "mlockall(MCL_CURRENT)", onfault=bool(args[0] & 4))
            if args[0] & 2:
                self.notes.append("mlockall(MCL_FUTURE) locks later mappings too; the replay does not")
        elif name == "munlockall":
            for vma in list(sp.order):
                lo, hi = sp.live[vma]
                if hi > lo:
                    self._span(pid, vma, lo, hi, "munlock", "munlockall()")
        elif name == "fork":
            self._fork(pid, res, c)
        elif name == "vfork" and res in self.procs:  # shares the parent's memory until it execs or exits
            self.spaces[res] = sp
            self.names[res] = self._pname(pid)
            self.borrowed.add(res)

    def _mmap(self, pid: int, sp: Space, args: list[int], addr: int, text: str, t: int = 0) -> None:
        length, prot, flags, fd = _pg(args[1]), args[2], args[3], args[4] & 0xFFFFFFFF
        self._unmap(pid, sp, addr, addr + length, None)  # MAP_FIXED over older mappings replaces them
        if not flags & MAP_ANONYMOUS or flags & MAP_SHARED or fd != 0xFFFFFFFF:
            return  # file-backed or shared: named in the notes by the faults that hit it
        self.n_mmap += 1
        label = f"mmap{self.n_mmap}-{_size(length)}"  # numbered in mapping order, with its size, as students see it
        parts = self._thp_parts(pid, addr, addr + length, t)
        names = []
        for suffix, lo, hi, thp in parts:
            name = self._vma(label + suffix, lo, hi, _prot(prot), text, pid)
            self.vmas[name].thp = thp
            sp.live[name] = [lo, hi]
            sp.order.append(name)
            names.append(name)
        if len(parts) > 1:
            middle = next(n for n, (_, _, _, thp) in zip(names, parts) if thp)
            self.notes.append(f"{label} was given MADV_HUGEPAGE: its 2 MiB-aligned middle is the vma {middle} "
                              f"(thp = true); the pages before and after it are vmas of their own")
        for vma in names:
            a, b = sp.live[vma]
            if flags & MAP_LOCKED:
                self._span(pid, vma, a, b, "mlock", "MAP_LOCKED: mmap faults every page in, locked")
            elif flags & MAP_POPULATE and prot & 3:  # populate_vma_page_range: GUP, writing if the vma is writable
                self._span(pid, vma, a, b, "gup", "MAP_POPULATE: mmap faults every page in through "
                           "get_user_pages, no fault exception", write=bool(prot & 2))

    def _thp_parts(self, pid: int, lo: int, hi: int, t: int) -> list[tuple[str, int, int, bool]]:
        """Under --keep-thp, a region that is later given MADV_HUGEPAGE: its unaligned head, its 2 MiB
        aligned middle (a thp vma, as the model knows them) and its tail. Otherwise the region whole."""
        whole = [("", lo, hi, False)]
        if self.rec.get("thp") != "system":
            return whole
        hinted = any(c["pid"] == pid and c["name"] == "madvise" and c["args"][2] == 14 and c["errno"] is None
                     and c["t1"] >= t and c["args"][0] < hi and lo < c["args"][0] + c["args"][1]
                     for c in self.rec["calls"])
        huge = 512 * PAGE
        a, b = -(-lo // huge) * huge, hi // huge * huge
        if not hinted or b - a < huge:
            return whole
        parts = [("-head", lo, a, False)] if a > lo else []
        parts.append(("", a, b, True))
        if hi > b:
            parts.append(("-tail", b, hi, False))
        return parts

    def _brk(self, pid: int, sp: Space, new: int) -> None:
        if sp.heap is None or new is None or sp.brk is None:
            if sp.heap is None and new:
                sp.heap = self._vma("heap", new, new + PAGE, "rw", "the heap (brk)", pid)
                sp.live[sp.heap] = [new, new]
                sp.order.append(sp.heap)
                sp.brk = new
            return
        top = _pg(new)
        lo, hi = sp.live.get(sp.heap, [self.vmas[sp.heap].base, sp.brk])
        if top > hi:
            sp.live[sp.heap] = [lo, top]
            self._grow(sp.heap, top)
        elif top < hi:  # the heap shrank: its pages are freed (the vma stays for the replay)
            sp.live[sp.heap] = [lo, top]
            self._span(pid, sp.heap, top, hi, "madvise", f"brk({new:#x}) gives back the top of the heap",
                       advice="dontneed")
        sp.brk = new

    def _mremap(self, pid: int, sp: Space, args: list[int], new: int, text: str) -> None:
        old, old_len, new_len = args[0], _pg(args[1]), _pg(args[2])
        name = sp.find(old)
        if name is None:
            return
        if new == old:
            lo, hi = sp.live[name]
            if old + new_len > hi:
                sp.live[name] = [lo, old + new_len]
                self._grow(name, old + new_len)
            elif old + new_len < hi:
                self._unmap(pid, sp, old + new_len, old + old_len, text)
            return
        # moved: the pages go with it, without faults. The replay touches the same pages at the new place.
        v = self.vmas[name]
        moved = {p - (old - v.base) // PAGE: op for p, op in self.touched.get((pid, name), {}).items()
                 if old <= v.base + p * PAGE < old + old_len}
        self.n_mmap += 1
        to = self._vma(f"mmap{self.n_mmap}-{_size(new_len)}", new, new + new_len, v.prot, text, pid)
        sp.live[to] = [new, new + new_len]
        sp.order.append(to)
        for op in ("read", "write"):
            pages = sorted(p for p, o in moved.items() if (o == "w") == (op == "write") and p * PAGE < new_len)
            if pages:
                self._op_step(pid, op, to, pages, f"{text} moved {len(pages)} pages here (no fault in the kernel)",
                              claim=False)
                self.touched.setdefault((pid, to), {}).update({p: moved[p] for p in pages})
        self._unmap(pid, sp, old, old + old_len, text)

    def _span_call(self, pid: int, sp: Space, name: str, args: list[int], text: str) -> None:
        lo, hi = args[0], args[0] + _pg(args[1])
        extra: dict = {}
        if name == "mprotect":
            extra = {"prot": _prot(args[2])}
        elif name == "madvise":
            advice = {"DONTNEED": "dontneed", "POPULATE_READ": "populate_read",
                      "POPULATE_WRITE": "populate_write", "FREE": "dontneed"}.get(MADVICE.get(args[2], ""))
            if advice is None:
                if not (args[2] == 14 and self.rec.get("thp") == "system"):  # HUGEPAGE: a thp vma already
                    self.skipped_calls[MADVICE.get(args[2], str(args[2]))] += 1
                return
            extra = {"advice": advice}
        elif name == "mlock2":
            name, extra = "mlock", {"onfault": bool(args[2] & 1)}
        for vma in list(sp.order):
            a, b = sp.live[vma]
            if a < hi and lo < b:
                self._span(pid, vma, max(a, lo), min(b, hi), name, text, **extra)

    def _span(self, pid: int, vma: str, lo: int, hi: int, op: str, why: str, **extra) -> None:
        base = self.vmas[vma].base
        first, last = (lo - base) // PAGE, min((hi - base) // PAGE, self.vmas[vma].pages) - 1
        if last < first:
            return  # beyond what the vma is declared as (a cap): nothing of the replay is there
        if op in ("mlock", "gup") or str(extra.get("advice", "")).startswith("populate"):
            self._uses(vma, last)
        step = self._op_step(pid, op, vma, None, _caption_call(self._pname(pid), why, vma, last - first + 1), **extra)
        step["pages"] = f"{first}-{last}" if last > first else first
        step["_n"] = last - first + 1
        if op in ("munmap",) or extra.get("advice") == "dontneed":
            t = self.touched.get((pid, vma), {})
            for p in [p for p in t if first <= p <= last]:
                del t[p]
        if op == "munmap":
            self.unmapped.setdefault((pid, vma), set()).update(range(first, last + 1))

    def _unmap(self, pid: int, sp: Space, lo: int, hi: int, why: str | None) -> None:
        for vma in list(sp.order):
            a, b = sp.live[vma]
            if a < hi and lo < b and b > a:
                self._span(pid, vma, max(a, lo), min(b, hi), "munmap", why or "a new mapping replaces this one")
                if lo <= a and b <= hi:
                    del sp.live[vma]
                    sp.order.remove(vma)
                elif lo <= a:
                    sp.live[vma] = [hi, b]
                elif b <= hi:
                    sp.live[vma] = [a, lo]
                else:  # a hole in the middle: the vma keeps its span, minus the hole
                    sp.holes.setdefault(vma, []).append((lo, hi))

    def _fork(self, parent: int, child: int, c: dict) -> None:
        if child not in self.procs:
            return
        self._flush()
        self.forked_from[child] = parent
        self.spaces[child] = self.spaces[parent].copy()
        self.image_of[child] = self.image_of.get(parent, self.images[0])
        self.names[child] = self._fresh_name(self.procs[parent].get("comm"), child)  # its name until it execs
        for (p, vma), t in list(self.touched.items()):
            if p == parent:
                self.touched[(child, vma)] = dict(t)
        for (p, vma), u in list(self.unmapped.items()):
            if p == parent:
                self.unmapped[(child, vma)] = set(u)
        self.steps.append({"do": "fork", "process": self._pname(parent), "child": self._pname(child),
                           "say": f"{self._pname(parent)} forks {self._pname(child)}: the child gets a copy "
                                  f"of every mapping, private pages shared copy-on-write", "_n": 0,
                           "_fork_pages": True, "_owner": self.image_of[child]})
        # copy_page_range copies a vma's PTEs only if it has an anon_vma. The kernel merges
        # adjacent anonymous mmaps into one vma, so a region that was only read can share an
        # anon_vma with a written neighbour, and its zero-page PTEs are copied; the lesson's vma
        # stands alone and has none. Touch those zero pages in the child so both agree.
        at_fork = self.procs[child].get("maps_at_fork")
        if at_fork:
            sp = self.spaces[child]
            for vma in list(sp.order):
                v = self.vmas[vma]
                st, _ = _states_at(at_fork, v.base, v.pages)
                zeros = [i for i, c in enumerate(st) if c == "z"]
                if zeros:
                    self._op_step(child, "read", vma, zeros, "fork copied these zero-page PTEs (the kernel's vma "
                                  "had an anon_vma from a merged neighbour); the replay reads them, no fault in "
                                  "the kernel", claim=False)

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


def _size(n: int) -> str:
    """A mapping's size for its name: 8K, 256K, 300M, 2G."""
    for unit, shift in (("G", 30), ("M", 20)):
        if n >= 1 << shift and n % (1 << shift) == 0 or n >= 16 << shift:
            return f"{round(n / (1 << shift))}{unit}"
    return f"{round(n / 1024)}K"


def _pg(n: int) -> int:
    return -(-n // PAGE) * PAGE


def _perm_bits(perms: str) -> int:
    return (1 if perms[0] == "r" else 0) | (2 if perms[1] == "w" else 0)


def _runs(idx: list[int]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for i in idx:
        if out and out[-1][1] == i - 1:
            out[-1] = (out[-1][0], i)
        else:
            out.append((i, i))
    return out


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


def _caption_call(proc: str, why: str, vma: str, n: int) -> str:
    return f"{proc}: {why} ({n:,} page{'s' if n != 1 else ''} of {vma})"
