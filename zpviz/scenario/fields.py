"""The report fields a claim may name (docs/format.md "Claims", docs/report.md), in one table.

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
    # beyond the contract's report shape (docs/report.md), in the engine's state: "BUG: Bad page map" reports so far
    "bad_page_maps": ("bad_page_maps",),
}

# The step's own numbers: where each lives in the step's report entry.
STEP_NUMBERS: dict[str, tuple[str, ...]] = {
    "faults": ("faults",),
    "makespan_ns": ("makespan_ns",),
    **{f"fault_kinds.{k}": ("fault_kinds", k) for k in FAULT_KINDS},
    # additions to the report (docs/report.md): events of the step, its kernel log lines, a core dump's pages
    "events": ("events",),
    "log_lines": ("log_lines",),
    "dump.written": ("dump", "written"),
    "dump.holes": ("dump", "holes"),
}

# The run fields are run totals: their value after the step, counted from the start of the run.
# `step.FIELD` is the change of a run total over the step alone (the report's step entry carries it
# as `delta`); for step 0 the change since the run began, so MAP_POPULATE/MAP_LOCKED at mmap count.
DELTA_PREFIX = "step."
STEP_DELTAS: dict[str, tuple[str, ...]] = {
    f"{DELTA_PREFIX}{f}": ("delta", *path) for f, path in RUN_FIELDS.items()}

VMA_NUMBERS = ("rss_kb", "anon_kb", "locked_kb")

# Fields a claim may compare between variants (`{ of = "v5", times = { min = 2 } }`): the numbers
# that belong to the step or the run, which every variant has at the same step.
COMPARABLE = frozenset({*RUN_FIELDS, *STEP_NUMBERS, *STEP_DELTAS})

# Keys of a claim table that are not claims: they say whose vma or process the claims describe.
TARGET_KEYS = ("process", "vma")

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
    **{f: "number" for f in STEP_DELTAS},
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


def describe(field: str) -> str:
    """A field as claim messages name it: run totals say so, so nobody reads them as per-step."""
    if field in RUN_FIELDS:
        return f"{field} (run total)"
    if field in STEP_DELTAS:
        return f"{field} (change over this step)"
    return field
