"""uint8 cell codes: one byte per virtual page (and per physical frame) that a single LUT colours.

A virtual page's code packs its state (the run report's six states, plus 0 for "no cell here")
with three flag bits and two event bits:

    bits 0-2  state: 0 gap (no page), 1 + ST_* (unmapped, none, zero, anon, shared, file),
              7 UNKNOWN: the running kernel's run could not observe the page (no root, say)
    bit 3     HUGE      part of a THP or the huge zero page
    bit 4     MLOCKED   PG_mlocked (2.6.23: present in a VM_LOCKED vma)
    bit 5     SPECIAL   the PTE has _PAGE_SPECIAL
    bit 6     FLASH     the current event touched this page
    bit 7     ALERT     ... and it printed "BUG: Bad page map" or raised SIGSEGV

All 256 combinations are valid, so the image needs no clipping and the LUT no branches.
"""

from __future__ import annotations

import numpy as np

from zpviz.engine import constants as C
from zpviz.engine.trace import PFN_HUGE, PFN_MLOCKED, PFN_STATE

GAP = 0
STATE_MASK = 0x07
HUGE = 0x08
MLOCKED = 0x10
SPECIAL = 0x20
FLASH = 0x40
ALERT = 0x80
N_STATES = len(C.STATE_NAMES)  # codes 1..6
UNKNOWN = STATE_MASK  # 7: a null in the real kernel's report; the model never produces it
# slot_codes adds 1 to Frame.page_bits: the engine's flag bits must be these codes' bits
assert (PFN_STATE, PFN_HUGE, PFN_MLOCKED) == (STATE_MASK, HUGE, MLOCKED) and N_STATES < STATE_MASK

# physical frames: bits 0-3 FK_* + 1 (0: no frame drawn), bit 4 mlocked, bit 5 mapped more than
# once, bit 6 flash, bit 7 alert (the same meaning as for pages)
F_KIND_MASK = 0x0F
F_MLOCKED = 0x10
F_SHARED = 0x20
FRAME_KIND_NAMES = ("free", "anon", "file", "shmem", "zero", "huge zero", "page table", "kernel")


def state_of(code: int) -> int:
    """The ST_* state of a page code, or -1 for a gap."""
    s = code & STATE_MASK
    return s - 1 if 1 <= s <= N_STATES else -1


def slot_codes(frame, pg_mlocked: bool = True) -> np.ndarray:
    """One code per slot (uint8), without the event bits."""
    # Frame.page_bits has the state in bits 0-2 (at most ST_FILE = 5, so + 1 cannot carry into
    # bit 3) and HUGE and MLOCKED (PG_mlocked) where the codes have them: one add makes the codes
    codes = frame.page_bits + np.uint8(1)
    if not pg_mlocked:  # 2.6.23: mlocked means a present page in a VM_LOCKED vma
        codes &= np.uint8(~MLOCKED & 0xFF)
        codes |= frame.page_mlocked(False).view(np.uint8) * np.uint8(MLOCKED)
    special = (frame.pte & (C.PTE_S | C.PTE_P)) == (C.PTE_S | C.PTE_P)
    codes |= special.view(np.uint8) * np.uint8(SPECIAL)
    return codes


def frame_codes(frame, lo: int = 0, hi: int | None = None) -> np.ndarray:
    """One code per physical frame lo..hi-1 (uint8): kind + 1, mlocked, shared; free frames are 1."""
    kind = frame.fkind[lo:hi]
    codes = (kind.astype(np.uint8) + np.uint8(1)) & F_KIND_MASK
    # each flag from its boolean mask as bytes (np.where made int64 arrays to cast back: ~0.4 ms a
    # frame of the million-event lesson's 263,683 frames, at every seek of a scrub)
    codes |= ((frame.pflags[lo:hi] & C.PG_MLOCKED) != 0).view(np.uint8) * np.uint8(F_MLOCKED)
    codes |= (frame.mapcount[lo:hi] > 1).view(np.uint8) * np.uint8(F_SHARED)
    return codes


def describe(code: int) -> str:
    """Words for a page code, for tooltips and tests: "zero page, special PTE"."""
    s = state_of(code)
    if code & STATE_MASK == UNKNOWN:
        return "not observed"
    if s < 0:
        return "no page"
    words = [{"none": "not present", "zero": "zero page", "unmapped": "unmapped"}.get(C.STATE_NAMES[s],
                                                                                    C.STATE_NAMES[s])]
    for bit, word in ((HUGE, "huge"), (MLOCKED, "mlocked"), (SPECIAL, "special PTE")):
        if code & bit:
            words.append(word)
    return ", ".join(words)
