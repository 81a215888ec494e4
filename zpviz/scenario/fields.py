"""The report fields a claim may name (scenario-format.md sections 1 and 8), in one table.

The loader uses it to reject unknown claim fields and values of the wrong kind; the claim checker
uses it to find each field in a step report or a state. Keeping both on one table means a field
added here is at once writable in lessons and checkable.
"""

from __future__ import annotations

PAGE_STATES = ("unmapped", "none", "zero", "anon", "shared", "file")
FAULT_KINDS = ("read", "write", "cow", "gup", "huge")

# Run-wide fields: where each lives in a "final"-shaped state.
RUN_FIELDS: dict[str, tuple[str, ...]] = {
    "frames_used": ("frames_used",),
    "pt_frames": ("pt_frames",),
    "zero_page_refcount_delta": ("zero_page", "refcount_delta"),
    "zero_page_mapcount_delta": ("zero_page", "mapcount_delta"),
    "zero_page_line_writes": ("zero_page", "line_writes"),
    "zero_page_line_transfers": ("zero_page", "line_transfers"),
    "huge_zero_page_refcount_delta": ("huge_zero_page", "refcount_delta"),
    "huge_zero_page_line_writes": ("huge_zero_page", "line_writes"),
    "huge_zero_page_line_transfers": ("huge_zero_page", "line_transfers"),
    # beyond section 8's shape, in the engine's state: "BUG: Bad page map" reports so far
    "bad_page_maps": ("bad_page_maps",),
}

# The step's own numbers: where each lives in the step's report entry.
STEP_NUMBERS: dict[str, tuple[str, ...]] = {
    "faults": ("faults",),
    "makespan_ns": ("makespan_ns",),
    **{f"fault_kinds.{k}": ("fault_kinds", k) for k in FAULT_KINDS},
    # additions to section 8: events of the step, its kernel log lines, a core dump's pages
    "events": ("events",),
    "log_lines": ("log_lines",),
    "dump.written": ("dump", "written"),
    "dump.holes": ("dump", "holes"),
}

VMA_NUMBERS = ("rss_kb", "anon_kb", "locked_kb")

# field -> kind of value it takes. Kinds:
#   number      an int or float, or a Range table {min, max}
#   errno       an error name ("EINVAL") or "none" for null
#   signal      a signal name ("SIGSEGV") or "none" for null
#   status      a string every entry must equal, or the list of entries
#   flag        true / false
#   page_states { SELECTOR = STATE }
#   page_flags  { SELECTOR = true/false }
#   log         a string, or a list of strings, the step's kernel log must contain
KINDS: dict[str, str] = {
    **{f: "number" for f in RUN_FIELDS},
    **{f: "number" for f in STEP_NUMBERS},
    **{f: "number" for f in VMA_NUMBERS},
    "errno": "errno",
    "signal": "signal",
    "status": "status",
    "log": "log",
    "vm_locked": "flag",
    "exited": "flag",
    "pages": "page_states",
    "mlocked": "page_flags",
    "huge": "page_flags",
}

# Fields that describe the step's vma (need a `vma` on the step) or its process.
VMA_FIELDS = frozenset({*VMA_NUMBERS, "vm_locked", "pages", "mlocked", "huge"})
PROCESS_FIELDS = frozenset({"exited"})

# Report values a claim may spell as "none", since TOML has no null.
NULL_WORDS = ("none", "null")
