"""`--zoom VMA[:PAGES]`: the region of the address space a screenshot or export shows.

VMA is a vma's name ("table"), or "process.vma" where two processes have a vma of that name;
PAGES is "FIRST-LAST" or one page, counted from the vma's first page (as a step's `pages`).
Without PAGES the whole vma is shown. The result is a run of slots, so it does not depend on
the grid's row width, which changes with the window's size.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_SPEC = re.compile(r"^(?P<vma>[^:\s][^:]*?)(?::(?P<lo>\d+)(?:-(?P<hi>\d+))?)?$")


@dataclass(frozen=True)
class ZoomSpec:
    vma: str
    first: int | None = None  # page within the vma (None: the whole vma)
    last: int | None = None

    @property
    def text(self) -> str:
        if self.first is None:
            return self.vma
        return f"{self.vma}:{self.first}" + (f"-{self.last}" if self.last != self.first else "")


def parse_zoom(text: str) -> ZoomSpec:
    """A ZoomSpec, or ValueError saying how to write one."""
    m = _SPEC.match(text.strip())
    if not m:
        raise ValueError(f"--zoom {text!r}: write VMA or VMA:FIRST-LAST, e.g. --zoom table:0-511")
    lo = m.group("lo")
    hi = m.group("hi") or lo
    if lo is None:
        return ZoomSpec(m.group("vma").strip())
    first, last = int(lo), int(hi)
    if last < first:
        raise ValueError(f"--zoom {text!r}: the last page ({last}) comes before the first ({first})")
    return ZoomSpec(m.group("vma").strip(), first, last)


def zoom_slots(spec: ZoomSpec, grid) -> tuple[int, int]:
    """(first slot, last slot) the spec names in a present.grid.GridLayout, or ValueError naming
    the vmas there are and the pages a vma has."""
    name = spec.vma
    found = [b for b in grid.blocks if b.vma == name or f"{b.proc_name}.{b.vma}" == name]
    if not found:
        have = ", ".join(dict.fromkeys(b.vma for b in grid.blocks)) or "none"
        raise ValueError(f"--zoom {spec.text!r}: no vma named {name!r}; the lesson's vmas: {have}")
    if len(found) > 1:
        which = ", ".join(f"{b.proc_name}.{b.vma}" for b in found)
        raise ValueError(f"--zoom {spec.text!r}: {len(found)} processes have a vma {name!r}; name one: {which}")
    b = found[0]
    if spec.first is None:
        return b.base, b.base + b.npages - 1
    if spec.last >= b.npages:
        raise ValueError(f"--zoom {spec.text!r}: {name} has pages 0-{b.npages - 1}")
    return b.base + spec.first, b.base + spec.last


def zoom_cells(first: int, last: int, grid) -> tuple[int, int, int, int]:
    """(row0, col0, row1, col1), end exclusive: the cells to fit for slots first..last. One row's
    part shows just those cells; several rows show whole rows."""
    r0, c0 = grid.cell_of(first)
    r1, c1 = grid.cell_of(last)
    if r0 == r1:
        return r0, c0, r0 + 1, c1 + 1
    return r0, 0, r1 + 1, grid.width
