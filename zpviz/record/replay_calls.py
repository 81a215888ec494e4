"""The replay's system calls: each recorded address-space call (mmap, munmap, brk, mremap,
mprotect, madvise, mlock and friends, fork, vfork) followed through the process's Space and
written as lesson steps on the regions it touched. A mixin of replay.Replay, whose fields it uses
(spaces, vmas, names, steps, notes ...)."""

from __future__ import annotations

from .calls import MADVICE, MAP_ANONYMOUS, MAP_LOCKED, MAP_POPULATE, MAP_SHARED
from .pages import PAGE
from .replay_claims import _states_at
from .replay_space import Space, _pg, _prot, _size


class CallSteps:
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


def _caption_call(proc: str, why: str, vma: str, n: int) -> str:
    return f"{proc}: {why} ({n:,} page{'s' if n != 1 else ''} of {vma})"
