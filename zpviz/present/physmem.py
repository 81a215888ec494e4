"""Physical memory: the frames behind the pages, the zero page(s) as big tiles, and mapping lines.

Frames below FIRST_FREE_PFN are the kernel's (frame 0), the 4 KiB zero page (pfn 1) and the
huge zero page (pfns 512..1023). The grid shows the frames the machine hands out; the zero page
and the huge zero page get tiles of their own, so many PTEs visibly fan into one page.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from zpviz.engine import constants as C
from zpviz.engine.memory import FIRST_FREE_PFN, HZERO_PFN, ZERO_PFN
from zpviz.present import codes as K

TILE_ROWS = 4  # rows of the grid's coordinate space each zero tile takes, above the frames


@dataclass(frozen=True)
class PhysLayout:
    width: int
    lo: int  # first pfn in the grid
    hi: int  # one past the last
    height: int  # rows of frames

    def cell_of(self, pfn: int) -> tuple[int, int] | None:
        """(row, col) of a frame in the grid, None for the reserved frames (zero pages, kernel)."""
        if not self.lo <= pfn < self.hi:
            return None
        return divmod(pfn - self.lo, self.width)

    def pfn_at(self, row: int, col: int) -> int:
        if not (0 <= row < self.height and 0 <= col < self.width):
            return -1
        pfn = self.lo + row * self.width + col
        return pfn if pfn < self.hi else -1


def phys_layout(n_frames: int, aspect: float = 1.4) -> PhysLayout:
    n = max(1, n_frames - FIRST_FREE_PFN)
    w = 8
    while w < 1024 and -(-n // w) / w > aspect:
        w *= 2
    return PhysLayout(w, FIRST_FREE_PFN, max(n_frames, FIRST_FREE_PFN + 1), max(1, -(-n // w)))


def phys_image(frame, pl: PhysLayout, flash: tuple[int, ...] = (), alert: bool = False) -> np.ndarray:
    codes = np.zeros(pl.height * pl.width, np.uint8)
    hi = min(pl.hi, len(frame.fkind))
    c = K.frame_codes(frame, pl.lo, hi)
    codes[:len(c)] = c
    for pfn in flash:
        if pl.lo <= pfn < hi:
            codes[pfn - pl.lo] |= K.FLASH | (K.ALERT if alert else 0)
    return codes.reshape(pl.height, pl.width)


def is_zero_pfn(pfn: int) -> bool:
    return pfn == ZERO_PFN


def is_huge_zero_pfn(pfn: int) -> bool:
    return HZERO_PFN <= pfn < HZERO_PFN + C.HPAGE_PAGES


@dataclass(frozen=True)
class ZeroTile:
    """What the zero page's tile says: its counts and how many PTEs point at it now."""

    name: str
    pfn: int
    refcount: int
    mapcount: int
    ptes: int  # present entries mapping it: PTEs, or for the huge zero page PMDs (see `unit`)
    unit: str = "PTE"  # "PMD" for the huge zero page: one PMD entry maps all 512 of its pages
    anon_faults_map_it: bool = True  # False: 2.6.24-2.6.31, where no anonymous fault maps ZERO_PAGE

    def text(self, short: bool = False, one_line: bool = False) -> str:
        """What the tile says; `short` for a narrow tile, `one_line` for a flat one (predict mode's
        short memory view at 720p). Counts are changes since boot.

        Under 2.6.24 (to 2.6.31) the kernel still has its empty_zero_page, but anonymous faults never
        map it: "0 PTEs map it" read as if this run had merely not got there yet."""
        if not self.anon_faults_map_it and self.ptes == 0:
            if one_line:
                return f"{self.name} \u00b7 not used for anonymous memory"
            if short:
                return f"{self.name} \u00b7 _count {self.refcount:+,}\nnot used for\nanonymous memory"
            return (f"{self.name} \u00b7 pfn {self.pfn} \u00b7 _count {self.refcount:+,}\n"
                    "not used for anonymous\nmemory since 2.6.24")
        units = f"{self.ptes:,} {self.unit}{'' if self.ptes == 1 else 's'}"
        if one_line:
            return f"{self.name} \u00b7 {units} \u00b7 _count {self.refcount:+,}"
        if short:
            return f"{self.name}\n{units}\n_count {self.refcount:+,}"
        return (f"{self.name} \u00b7 pfn {self.pfn}\n{units} map{'s' if self.ptes == 1 else ''} it\n"
                f"_count {self.refcount:+,} \u00b7 _mapcount {self.mapcount:+,}")


def zero_tiles(frame, anon_faults_map_it: bool = True) -> tuple[ZeroTile, ...]:
    """The zero page always; the huge zero page when this machine has one in use or ever used it.
    anon_faults_map_it: False for a kernel whose anonymous faults never map the zero page (2.6.24)."""
    # the present slots' pfns counted through masks, not gathered first (a copy of up to every slot's
    # pfn at every frame); the frame's present mask is made once and shared with the grid
    pfn, present = frame.pfn, frame.present
    zero = pfn == ZERO_PFN
    zero &= present
    huge = pfn >= HZERO_PFN
    huge &= pfn < HZERO_PFN + C.HPAGE_PAGES
    huge &= present
    s = frame.scalars
    tiles = [ZeroTile("ZERO_PAGE", ZERO_PFN, s.get("zp_refcount", 0), s.get("zp_mapcount", 0),
                      int(np.count_nonzero(zero)), anon_faults_map_it=anon_faults_map_it)]
    hz = int(np.count_nonzero(huge))
    if hz or s.get("hzp_refcount", 0) or s.get("hzp_line_writes", 0):
        # only a PMD maps the huge zero page (a split leaves PTEs to the small one): count PMDs, not pages
        tiles.append(ZeroTile("huge zero page", HZERO_PFN, s.get("hzp_refcount", 0), 0,
                              -(-hz // C.HPAGE_PAGES), unit="PMD"))
    return tuple(tiles)


def line_keys(slots: np.ndarray) -> np.ndarray:
    """A fixed pseudo-random 32-bit key per slot (splitmix64's finaliser, top half): what decides
    whether a slot's mapping line is drawn when there are too many to draw them all."""
    x = np.asarray(slots).astype(np.uint64)
    with np.errstate(over="ignore"):
        x = x + np.uint64(0x9E3779B97F4A7C15)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        x = x ^ (x >> np.uint64(31))
    return (x >> np.uint64(32)).astype(np.int64)


def key_bits(keys: np.ndarray) -> np.ndarray:
    """Each key's bit length (frexp's exponent; exact below 2**53): key < 2**k  <=>  bits <= k."""
    return np.frexp(np.asarray(keys, np.float64))[1].astype(np.intp)


def line_level(keys: np.ndarray, limit: int, bits: np.ndarray | None = None) -> int:
    """The largest k (0..32) with at most `limit` of `keys` below 2**k: the stable sample is the
    slots whose key is below it. It only falls (halving the lines) as more slots qualify, so
    between falls a newly mapped page adds its line and takes none away: the fan grows without
    reshuffling (the view then draws only the new lines), where an even sample by rank moved half
    of them at every fault and the fan shimmered. `bits`: key_bits(keys), if the caller keeps them."""
    if len(keys) <= limit:
        return 32
    below = np.cumsum(np.bincount(key_bits(keys) if bits is None else bits, minlength=33))  # keys under 2**k
    return int(np.flatnonzero(below <= limit)[-1]) if below[0] <= limit else 0


def stable_sample(slots: np.ndarray, limit: int, keys: np.ndarray | None = None,
                  bits: np.ndarray | None = None) -> np.ndarray:
    """Mask of the slots kept when at most `limit` lines may show: those whose line_keys fall under
    2**line_level. Which slots these are depends on the slot alone (and the level), not on its
    rank among the others. (Slots share a key only by a 2**-32 chance: the bound can then be
    overstepped by that, never by more.) `keys`, `bits`: line_keys(slots) and their key_bits,
    if the caller keeps them."""
    if keys is None:
        keys, bits = line_keys(slots), None
    level = line_level(keys, limit, bits)
    return keys < (1 << level)


def mapping_pairs(frame, slots: np.ndarray, limit: int = 400, keys: np.ndarray | None = None,
                  bits: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(slots, pfns) of the present pages among `slots`, in their order, at most `limit` of them,
    sampled by the stable rule of `stable_sample` when there are more (`keys`, `bits`: the slots'
    line_keys and key_bits, if the caller keeps them: a scrub through a 262,144-page step then
    does not hash every slot again at every frame)."""
    slots = np.asarray(slots, np.int64)
    if len(slots) == 0:
        return slots, slots
    present = ((frame.pte[slots] & C.PTE_P) != 0) & ((frame.vmf[slots] & C.VM_MAPPED) != 0)
    slots = slots[present]
    if len(slots) > limit:
        if keys is not None:
            keys = keys[present]
            bits = bits[present] if bits is not None else None
        slots = slots[stable_sample(slots, limit, keys, bits)]
    return slots, frame.pfn[slots].astype(np.int64)


class KeyLevels:
    """A step's touched slots (in order of first touch) grouped by their keys' bit lengths: where
    `sampled_pairs` finds the slots a prefix's stable sample can keep without looking at the others."""

    def __init__(self, bits: np.ndarray):
        # positions by bit length, ascending in each group (the lengths, 0..32, as bytes: numpy's stable
        # sort of bytes is a radix sort, twice as fast as of intp)
        order = np.argsort(np.asarray(bits).astype(np.uint8), kind="stable")
        self.pos = order
        self.starts = np.searchsorted(np.asarray(bits)[order], np.arange(34))  # bits == b: starts[b]:starts[b + 1]


def sampled_pairs(frame, slots: np.ndarray, n: int, levels: KeyLevels,
                  limit: int = 400) -> tuple[np.ndarray, np.ndarray]:
    """mapping_pairs(frame, slots[:n], limit, keys[:n], bits[:n]) for `slots` whose key bit lengths
    `levels` holds: the same slots and pfns. The sample keeps the present slots whose key is below
    2**k, k the largest level that keeps at most `limit` (line_level); counted up from the shortest
    keys, the levels above the first one that overflows are never looked at. A step's prefix of
    262,144 touched pages was gathered and hashed whole at every frame (~0.5 ms a seek of a scrub);
    the present pages under the level are ~limit of them."""
    pos, starts = levels.pos, levels.starts
    kept: list[np.ndarray] = []
    total = 0
    for b in range(33):
        grp = pos[starts[b]:starts[b + 1]]
        if len(grp):
            grp = grp[:int(np.searchsorted(grp, n))]  # first touched inside the prefix
        if len(grp):
            s = slots[grp]
            grp = grp[((frame.pte[s] & C.PTE_P) != 0) & ((frame.vmf[s] & C.VM_MAPPED) != 0)]
        if total + len(grp) > limit:
            if b == 0:  # even the zero keys overflow: line_level is 0, and keeps those
                kept = [grp]
            break
        kept.append(grp)
        total += len(grp)
    sel = np.sort(np.concatenate(kept)) if kept else np.zeros(0, np.int64)
    out = np.asarray(slots, np.int64)[sel]
    return out, frame.pfn[out].astype(np.int64)
