"""The lesson as frozen dataclasses: what docs/format.md section 1 describes, validated.

Everything here is immutable and plain (no numpy, no Qt), so the engine, the kernel runner and
the app can share one Scenario without copying it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# The five kernel variants, in the story's order: the one tuple every other list of ids derives from.
VARIANTS: tuple[str, ...] = ("2.6.23", "2.6.24", "v5", "2.6.32", "modern")
# "2.6.24" names the no-zero-page model, which follows 2.6.31, the tree the v5 patch applies to (so
# 2.6.24 against v5 is exactly that patch). "2.6.31" names it for what it is; both ids stay valid,
# and everything past the loader and the command line sees the canonical "2.6.24".
VARIANT_ALIASES: dict[str, str] = {"2.6.31": "2.6.24"}
KERNEL_IDS: tuple[str, ...] = ("2.6.23", "2.6.24", "2.6.31", "v5", "2.6.32", "modern")  # every id accepted


def variant_id(text: str) -> str:
    """The canonical id of a kernel variant named by any accepted id; ValueError naming the valid ones."""
    if text in VARIANTS:
        return text
    if text in VARIANT_ALIASES:
        return VARIANT_ALIASES[text]
    raise ValueError(f"unknown kernel variant {text!r}; valid: {', '.join(KERNEL_IDS)}")


def variant_aliases(canonical: str) -> tuple[str, ...]:
    """The other ids that name `canonical` ("2.6.24" -> ("2.6.31",))."""
    return tuple(a for a, c in VARIANT_ALIASES.items() if c == canonical)

OPS: tuple[str, ...] = (
    "say",  # narration only (a step with no `do`)
    "read",
    "write",
    "mlock",
    "munlock",
    "madvise",
    "mprotect",
    "munmap",
    "move_pages",
    "fork",
    "exit",
    "gup",
    "coredump",
    "smaps",  # read /proc/PID/smaps: a walk of every present PTE (zpviz addition)
)

# Ops whose step needs a vma and a page selection.
PAGE_OPS = frozenset(
    {"read", "write", "mlock", "munlock", "madvise", "mprotect", "munmap", "move_pages", "gup"}
)
ADVICES = ("dontneed", "populate_read", "populate_write")
PROTS = ("none", "r", "rw")


@dataclass(frozen=True)
class Source:
    """Where something came from in the lesson file, for error messages and claim reports."""

    file: str
    line: int | None
    table: str  # "scenario", "process 1", "vma 2", "step 4", "step 4 expect v5"


@dataclass(frozen=True)
class PageRange:
    """Pages lo..hi inclusive, every `stride`-th, relative to the vma's first page."""

    lo: int
    hi: int
    stride: int = 1


@dataclass(frozen=True)
class Selector:
    """A page selector (docs/format.md section 2). `all_pages` means "all"."""

    ranges: tuple[PageRange, ...] = ()
    all_pages: bool = False
    text: str = ""  # as written, for captions and claim messages


@dataclass(frozen=True)
class ProcessSpec:
    name: str
    count: int | None  # None: one process called `name`; n: name0 .. name{n-1}
    source: Source

    def instance_names(self) -> tuple[str, ...]:
        if self.count is None:
            return (self.name,)
        return tuple(f"{self.name}{i}" for i in range(self.count))


@dataclass(frozen=True)
class VmaSpec:
    name: str
    process: str  # a ProcessSpec name (each instance gets its own copy of the vma)
    pages: int
    prot: str = "rw"  # "none" | "r" | "rw"
    share: str = "private"  # "private" | "shared"
    backing: str = "anon"  # "anon" | "file"
    populate: bool = False
    locked: bool = False
    thp: bool = False
    source: Source = field(default=Source("", None, ""), compare=False)


@dataclass(frozen=True)
class Claim:
    """One `[step.expect.VARIANT]` key: `field` should equal `value` after the step.

    value: an int, str, bool or None; a Range; or for field "pages" a tuple of (Selector, state).
    For field "log": a string the step's kernel log must contain (or a tuple of such strings).
    Also (see scenario/fields.py): "mlocked" and "huge" hold a tuple of (Selector, bool); "errno" and
    "signal" a name or None (written "none"); "status" a str every entry must equal, or a tuple.
    """

    variant: str  # a variant id or "*"
    field: str
    value: object
    source: Source
    # `process = ...` and `vma = ...` written in the claim's table: whose vma and process the vma and
    # process fields describe, when not the step's own (a fork step's child, say). () / None: the step's.
    processes: tuple[str, ...] = ()  # live instances, globs expanded by the loader
    vma: str | None = None


@dataclass(frozen=True)
class Compare:
    """A claim value that compares variants: this variant's number is `times` times variant `of`'s
    at the same step. `times`: a number, or a Range ({ min = 2 } is "at least twice")."""

    of: str  # a canonical variant id
    times: object  # int | float | Range


@dataclass(frozen=True)
class Range:
    min: float | None = None
    max: float | None = None

    def __contains__(self, x: object) -> bool:
        if not isinstance(x, (int, float)) or isinstance(x, bool):
            return False
        return (self.min is None or x >= self.min) and (self.max is None or x <= self.max)


# What a predict step may ask (docs/lecture.md). The first fault's outcome is a choice; the numbers are
# read off the variant's own run after the step; the "which kernel" answers compare the variants on
# screen after the step (compare mode only).
FIRST_FAULT = "first_fault"
NUMERIC_ANSWERS: tuple[str, ...] = ("faults", "frames_used", "rss_kb", "zero_page_line_transfers", "makespan_ns")
WHICH_KERNEL_ANSWERS: tuple[str, ...] = ("most_memory", "least_memory", "most_faults", "fewest_faults",
                                         "slowest", "fastest", "most_zero_page_line_transfers")
ANSWERS: tuple[str, ...] = (FIRST_FAULT, *NUMERIC_ANSWERS, *WHICH_KERNEL_ANSWERS)


@dataclass(frozen=True)
class Ask:
    """A predict step's question: its own words (never the caption) and what answers it."""

    ask: str = ""  # "" for `predict = true`: the app words the first-fault question itself
    answer: str = FIRST_FAULT  # one of ANSWERS

    @property
    def numeric(self) -> bool:
        return self.answer in NUMERIC_ANSWERS

    @property
    def which_kernel(self) -> bool:
        return self.answer in WHICH_KERNEL_ANSWERS


def _text_for(default: str, table: tuple[tuple[str, str], ...], variant: str | None) -> str:
    """A variant's own text from a per-variant table, else the "*" default."""
    if variant is not None:
        try:
            variant = variant_id(variant)
        except ValueError:
            return default
        for v, text in table:
            if v == variant:
                return text
    return default


@dataclass(frozen=True)
class Program:
    """The short program a lesson may show beside the grid (`[program]`, docs/program.md)."""

    language: str  # "c" or "python"
    text: str
    name: str = ""  # a file name for the panel's title, e.g. "count.c"
    source: Source = field(default=Source("", None, ""), compare=False)

    @property
    def lines(self) -> tuple[str, ...]:
        return tuple(self.text.rstrip("\n").split("\n"))


@dataclass(frozen=True)
class Step:
    index: int  # 0-based, narration steps included
    do: str  # one of OPS ("say" for narration)
    processes: tuple[str, ...] = ()  # as written: names or globs; () means the first process
    vma: str | None = None
    pages: Selector | None = None
    cpus: tuple[int, ...] = (0,)
    deal: str = "round-robin"  # or "block"
    say: str = ""
    notes: str = ""
    hold: float | None = None  # None: derived from the caption length (see hold_seconds)
    predict: bool = False
    checkpoint: bool = False
    # op arguments
    onfault: bool = False  # mlock
    advice: str | None = None  # madvise
    prot: str | None = None  # mprotect
    child: str | None = None  # fork
    write: bool = False  # gup
    force: bool = False  # gup
    pin: bool = False  # gup
    longterm: bool = False  # gup
    expect: tuple[Claim, ...] = ()
    source: Source = field(default=Source("", None, ""), compare=False)
    # Added by the loader (after `source` so positional construction keeps working): the process
    # instances the step acts on, as they exist at this step: globs expanded, fork children
    # included, the first process when none is named. () for narration steps.
    instances: tuple[str, ...] = ()
    line: int | None = None  # the line of the lesson's [program] this step runs (1-based), if any
    # `say` and `notes` written as tables keyed by variant (docs/lecture.md): `say`/`notes` above hold
    # the "*" text, these each variant's own, as (canonical id, text) pairs. Read them with say_for.
    says: tuple[tuple[str, str], ...] = ()
    notes_by: tuple[tuple[str, str], ...] = ()
    question: Ask | None = None  # set whenever `predict` is; `predict = true` is Ask()

    def __post_init__(self) -> None:
        if self.predict and self.question is None:  # Step(predict=True) as code built it before questions
            object.__setattr__(self, "question", Ask())

    @property
    def is_narration(self) -> bool:
        return self.do == "say"

    def say_for(self, variant: str | None) -> str:
        """The caption shown under `variant` (any accepted id): its own text, else the "*" one."""
        return _text_for(self.say, self.says, variant)

    def notes_for(self, variant: str | None) -> str:
        return _text_for(self.notes, self.notes_by, variant)

    @property
    def varies(self) -> bool:
        """Whether some variant has a caption of its own."""
        return any(text != self.say for _, text in self.says)

    def hold_seconds(self) -> float:
        """How long the step stays on screen: as written, else enough time to read the caption."""
        if self.hold is not None:
            return self.hold
        words = max([len(self.say.split())] + [len(t.split()) for _, t in self.says])
        return max(2.0, min(12.0, 1.5 + words / 3.0))  # about 180 words a minute, plus a beat


# the cache lines a lesson may watch ([scenario] watch): their MESI transitions go into the trace
WATCHABLE_LINES = ("zero_page_line", "huge_zero_page_line")


@dataclass(frozen=True)
class Scenario:
    path: str
    title: str
    summary: str = ""
    kernel: str = "modern"
    compare: tuple[str, ...] = ()
    cpus: int = 1
    sockets: int = 1
    thp_use_zero_page: bool = True
    seed: int = 0
    processes: tuple[ProcessSpec, ...] = ()  # never empty after loading ("main" by default)
    vmas: tuple[VmaSpec, ...] = ()
    steps: tuple[Step, ...] = ()
    source: Source = field(default=Source("", None, ""), compare=False)
    # What the loader counted before anything ran: page-events over every step (the contract's bound
    # is on these) and the engine time they are estimated to take over every variant the lesson plays.
    page_events: int = field(default=0, compare=False)
    work_s: float = field(default=0.0, compare=False)
    program: Program | None = None  # the [program] table, if the lesson has one
    summaries: tuple[tuple[str, str], ...] = ()  # `summary` as a table keyed by variant: each one's own
    watch: tuple[str, ...] = ()  # cache lines whose MESI transitions the trace records (columns.WATCHABLE)

    def summary_for(self, variant: str | None) -> str:
        return _text_for(self.summary, self.summaries, variant)

    def variants(self) -> tuple[str, ...]:
        """Every variant the lesson plays: its kernel, `compare`, and the variants its claims name."""
        named = {c.variant for s in self.steps for c in s.expect} - {"*"}
        own = (self.kernel, *self.compare)
        return (*own, *sorted(named - set(own), key=VARIANTS.index))

    def socket_of(self, cpu: int) -> int:
        """CPUs are split evenly over sockets, in order."""
        per = max(1, -(-self.cpus // self.sockets))
        return cpu // per

    def process_names(self) -> tuple[str, ...]:
        """Every process instance that exists at the start, in declaration order."""
        return tuple(n for p in self.processes for n in p.instance_names())

    def vmas_of(self, spec_name: str) -> tuple[VmaSpec, ...]:
        return tuple(v for v in self.vmas if v.process == spec_name)

    def spec_of_instance(self, instance: str) -> ProcessSpec | None:
        for p in self.processes:
            if instance in p.instance_names():
                return p
        return None
