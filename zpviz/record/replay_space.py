"""The replay's address spaces: the regions a lesson declares (Vma), each process's view of them
as the recorded calls change it (Space), and the page-number and size helpers the steps are
written with."""

from __future__ import annotations

from dataclasses import dataclass, field

from .pages import PAGE


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
