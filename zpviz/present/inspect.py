"""What hovering or clicking a cell shows: the page's address, PTE bits, pfn and struct page."""

from __future__ import annotations

from dataclasses import dataclass

from zpviz.engine import constants as C
from zpviz.present import codes as K
from zpviz.present.grid import GridLayout, address_text

PG_NAMES = (("mlocked", C.PG_MLOCKED), ("reserved", C.PG_RESERVED), ("lru", C.PG_LRU), ("head", C.PG_HEAD),
            ("tail", C.PG_TAIL), ("unevictable", C.PG_UNEVICTABLE), ("referenced", C.PG_REFERENCED),
            ("anon_exclusive", C.PG_ANON_EXCLUSIVE))


def pte_bits_text(pte: int) -> str:
    """'P W D A S' with '-' for each clear bit (and 'PMD' when mapped by a huge PMD)."""
    bits = [name if pte & bit else "-" for name, bit in C.PTE_BITS if name != "PMD"]
    return " ".join(bits) + ("  PMD" if pte & C.PTE_HUGE else "")


def flag_names(value: int, names) -> str:
    return ", ".join(n for n, bit in names if value & bit) or "-"


@dataclass(frozen=True)
class FrameInfo:
    pfn: int
    kind: str
    refcount: int
    mapcount: int
    flags: str

    def lines(self) -> list[str]:
        return [f"pfn {self.pfn} \u00b7 {self.kind}", f"_count {self.refcount}  \u00b7  _mapcount {self.mapcount}",
                f"flags {self.flags}"]


@dataclass(frozen=True)
class PageInfo:
    slot: int
    proc: str
    vma: str
    page: int  # index within the vma
    address: int
    state: str  # codes.describe of the cell
    pte: str
    vma_flags: str
    frame: FrameInfo | None  # None when not present

    def title(self) -> str:
        return f"{self.proc} \u00b7 {self.vma} page {self.page}"

    def lines(self) -> list[str]:
        out = [self.title(), f"address {address_text(self.address)}", self.state,
               f"PTE  {self.pte}"]
        if self.frame is not None:
            out += self.frame.lines()
        out.append(f"vma {self.vma_flags}")
        return out

    def text(self) -> str:
        return "\n".join(self.lines())


def frame_info(frame, pfn: int) -> FrameInfo | None:
    if not 0 <= pfn < len(frame.fkind):
        return None
    kind = int(frame.fkind[pfn])
    return FrameInfo(pfn, K.FRAME_KIND_NAMES[kind] if kind < len(K.FRAME_KIND_NAMES) else str(kind),
                     int(frame.refcount[pfn]), int(frame.mapcount[pfn]), flag_names(int(frame.pflags[pfn]), PG_NAMES))


def page_info(frame, grid: GridLayout, slot: int, pg_mlocked: bool = True, code: int | None = None) -> PageInfo | None:
    """`code`: the cell's code if the caller has it (the view does), else computed from the frame."""
    b = grid.block_of_slot(slot)
    if b is None:
        return None
    pte = int(frame.pte[slot])
    vmf = int(frame.vmf[slot])
    if code is None:
        code = int(K.slot_codes(frame, pg_mlocked)[slot])
    present = bool(pte & C.PTE_P) and bool(vmf & C.VM_MAPPED)
    return PageInfo(slot, b.proc_name, b.vma, slot - b.base, grid.slot_address(slot), K.describe(code),
                    pte_bits_text(pte), flag_names(vmf, C.VM_FLAG_NAMES) if vmf & C.VM_MAPPED else "unmapped",
                    frame_info(frame, int(frame.pfn[slot])) if present else None)
