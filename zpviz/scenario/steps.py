"""Validate the `[[step]]` tables, in order, against the processes as they exist at each step."""

from __future__ import annotations

import difflib
import re
from dataclasses import replace

from ..errors import LessonError
from . import narration
from .checks import Ctx, Table, choices, kind, show
from .expect import StepFacts, parse_expect
from .model import ADVICES, OPS, PAGE_OPS, PROTS, Selector, Source, Step
from .selectors import parse_selector, selector_count, selector_max, span
from .world import World

MAX_PROCESSES = 4_096  # docs/format.md section 6 bounds; load.py re-exports them
MAX_TOTAL_PAGES = 16_777_216
NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.+-]{0,63}$")
NAME_RULE = 'use letters, digits, "_", "-", "." and "+", at most 64 characters'
DEALS = ("round-robin", "block")
NARRATION_KEYS = ("say", "notes", "hold", "checkpoint", "predict", "line")
_PLACE = ("process", "cpus", "cpu", "deal")
_PAGES = _PLACE + ("vma", "pages")
OP_KEYS: dict[str, tuple[str, ...]] = {
    "say": (),
    "read": _PAGES,
    "write": _PAGES,
    "mlock": _PAGES + ("onfault",),
    "munlock": _PAGES,
    "madvise": _PAGES + ("advice",),
    "mprotect": _PAGES + ("prot",),
    "munmap": _PAGES,
    "move_pages": _PAGES,
    "gup": _PAGES + ("write", "force", "pin", "longterm"),
    "fork": _PLACE + ("child",),
    "exit": _PLACE,
    "coredump": _PLACE,
    "smaps": _PLACE,
}
SPAN_OPS = frozenset({"mlock", "munlock", "madvise", "mprotect", "munmap"})

# What one page-event costs the engine, in microseconds (measured on the reference 2-core VM,
# slowest variant, the trace included), so that the loader can refuse a lesson that would take
# more than a few seconds before it starts. User reads and writes of plain private anonymous
# memory take the engine's bulk path; everything else the general one.
COST_US = {"read": 3, "write": 6, "general": 11, "mlock": 15, "gup": 15, "populate": 15, "munlock": 8,
           "mprotect": 8, "coredump": 8, "smaps": 7, "move_pages": 7, "madvise": 11, "munmap": 11, "fork": 11,
           "exit": 11}


def cost_us(op: str, vma_plain: bool) -> int:
    if op in ("read", "write"):
        return COST_US[op] if vma_plain else COST_US["general"]
    return COST_US.get(op, COST_US["general"])
VALID_OPS = (*OPS[1:], "say")  # "say" last: it is usually written by leaving `do` out

# What a lesson author may write for `do`, thinking of C or of the kernel, and what it is in this
# format. A near-miss spelling suggestion would mislead here ("calloc" is not a typo of "mlock").
_MAP = "a mapping is a [[vma]] table (pages, prot, share, backing, populate, locked, thp), not a step"
OP_HINTS = {
    "calloc": f'; calloc of a large size is an mmap of fresh anonymous memory: {_MAP}; its pages start '
              f'"none" and read as zeros, so touching them is do = "read" or do = "write"',
    "malloc": f"; {_MAP}; touching the memory is do = \"read\" or do = \"write\"",
    "mmap": f"; {_MAP}",
    "free": '; free of a large block is munmap: do = "munmap"',
    "memset": '; memset stores to each page: do = "write"',
    "store": '; a store is do = "write"',
    "load": '; a load is do = "read"',
    "touch": '; touching a page is do = "read" or do = "write"',
    "mlock2": '; mlock2(MLOCK_ONFAULT) is do = "mlock" with onfault = true',
    "pin_user_pages": '; pinning is do = "gup" with pin = true (longterm = true for a long-term pin)',
    "get_user_pages": '; that is do = "gup"',
    "ptrace": '; ptrace and /proc/PID/mem reach user memory with do = "gup" (force = true)',
    "madvise_dontneed": '; that is do = "madvise" with advice = "dontneed"',
    "dump": '; a core dump is do = "coredump"',
}


def _near_op(op: str) -> str:
    """A suggestion only for a real near miss of an op's spelling (e.g. "mlcok", "reads")."""
    close = difflib.get_close_matches(op.lower(), OPS, n=1, cutoff=0.75)
    return f'; did you mean "{close[0]}"?' if close else ""


class StepReader:
    """Reads the steps one by one, replaying process creation and exit, and counting page-events."""

    def __init__(self, ctx: Ctx, world: World, cpus: int | None):
        self.ctx, self.world, self.cpus = ctx, world, cpus
        self.events: list[tuple[int, Source, int]] = []  # (page-events, the table causing them, µs each)

    def step(self, index: int, raw: dict) -> Step:
        t = Table(self.ctx, raw, ("step", index))
        op = self._op(t)
        if op is not None:
            t.keys(("do", *NARRATION_KEYS, *OP_KEYS[op], "expect"), what=f'for do = "{op}"')
        say, says = narration.text_table(t, "say")
        notes, notes_by = narration.text_table(t, "notes")
        question = narration.predict(t, op, t.data.get("vma") if isinstance(t.data.get("vma"), str) else None)
        kw: dict = dict(
            say=say, says=says, notes=notes, notes_by=notes_by, question=question, predict=question is not None,
            hold=t.get_number("hold", None, lo=0, hi=600, lo_open=True), checkpoint=t.get_bool("checkpoint"),
            line=t.get_int("line", None, lo=1),  # checked against the [program] by program.check_lines
        )
        facts = StepFacts(op=op, has_process=op != "say")
        if op not in (None, "say"):
            resolved = self.world.resolve(t)
            written, instances = resolved if resolved else ((), ())
            kw.update(processes=written, instances=instances, cpus=self._cpus(t),
                      deal=t.get_str("deal", "round-robin", one_of=DEALS) or "round-robin")
            facts = replace(facts, world=self.world, instances=instances, vma_reported=resolved is None)
            if op in PAGE_OPS:
                before = len(self.ctx.problems)
                vma, npages, kw["pages"] = self._pages(t, op, instances, resolved is not None)
                kw["vma"] = vma
                bound = None
                if op in ("read", "write") and kw["pages"] is not None and npages is not None:
                    bound = selector_count(kw["pages"], npages) * len(instances)
                # a missing or unknown vma is reported here once; claims about it then stay quiet
                facts = replace(facts, vma=vma, vma_pages=npages, fault_bound=bound,
                                vma_reported=facts.vma_reported or vma is None
                                or (npages is None and len(self.ctx.problems) > before))
            else:
                self._process_op(t, op, index, instances, resolved is not None, kw)
            kw.update(self._args(t, op))
        elif op is None:  # a bad `do` was reported: judge the claims by what the step seems to be
            vma = raw.get("vma") if isinstance(raw.get("vma"), str) else None
            facts = replace(facts, vma=vma, vma_reported=vma is None)
        if "expect" in raw:
            kw["expect"] = parse_expect(self.ctx, raw["expect"], t.path, facts=facts)
        return Step(index=index, do=op or "say", source=t.src(), **kw)

    def _op(self, t: Table) -> str | None:
        if "do" not in t.data:
            extra = [k for k in t.data if k not in NARRATION_KEYS and k != "expect"]
            if extra:
                t.problem(None, f'this step has {", ".join(extra)} but no `do`; say what it does, '
                                f"do = one of: {choices(VALID_OPS)} (a narration step has only "
                                f"{', '.join(NARRATION_KEYS)})")
                return None
            return "say"
        op = t.data["do"]
        if not isinstance(op, str):
            t.problem("do", f"do must be a string, got {show(op)} ({kind(op)}); "
                            f"valid ops: {choices(VALID_OPS)}")
            return None
        if op not in OPS:
            hint = OP_HINTS.get(op.lower()) or _near_op(op)
            t.problem("do", f'unknown op "{op}"; valid ops: {choices(VALID_OPS)}{hint}')
            return None
        return op

    def _cpus(self, t: Table) -> tuple[int, ...]:
        if t.has("cpus") and t.has("cpu"):
            t.problem("cpu", "give cpu = N or cpus = [...], not both")
        top = None if self.cpus is None else self.cpus - 1
        if t.has("cpus"):
            raw = t.data["cpus"]
            if not isinstance(raw, list) or not raw:
                t.problem("cpus", f"cpus must be a non-empty list of CPU numbers, "
                                  f"got {show(raw)} ({kind(raw)})")
                return (0,)
            out: list[int] = []
            bad: list[int] = []  # out of range, reported once each
            twice = False
            for c in raw:
                if isinstance(c, bool) or not isinstance(c, int):
                    t.problem("cpus", f"cpus entries must be integers, got {show(c)} ({kind(c)})")
                elif c in out or c in bad:
                    twice = True
                elif c < 0 or (top is not None and c > top):
                    t.problem("cpus", f"cpu {c} does not exist: the scenario has "
                                      f"cpus = {self.cpus} (0..{top})")
                    bad.append(c)
                else:
                    out.append(c)
            if twice:
                t.problem("cpus", "cpus lists a CPU more than once")
            return tuple(out) or (0,)
        cpu = t.get_int("cpu", 0, lo=0, hi=top)
        return (cpu,)

    def _pages(self, t: Table, op: str, instances: tuple[str, ...], known: bool):
        vma = t.get_str("vma")
        if not t.has("vma"):
            vmas = list(self.world.live[instances[0]]) if instances else []
            t.problem(None, f'do = "{op}" needs vma = NAME (which mapping); '
                            f'vmas: {", ".join(vmas) or "(none: add a [[vma]])"}')
        sizes = self.world.vma_sizes(t, instances, vma) if vma is not None and known else None
        npages = min(sizes) if sizes else None
        sel: Selector | None = Selector(all_pages=True, text="all")
        if t.has("pages"):
            try:
                sel = parse_selector(t.data["pages"], t.src("pages"))
            except LessonError as e:
                self.ctx.problems.extend(e.problems)
                sel = None
        if sel is not None and npages is not None:
            top = selector_max(sel)
            if top is not None and top >= npages:
                t.problem("pages", f'pages {show(t.data["pages"])} names page {top}, but vma "{vma}" has '
                                   f"{npages} pages (0..{npages - 1})")
                sel = None
            else:
                lo, hi = span(sel, npages)
                per = hi - lo + 1 if op in SPAN_OPS else selector_count(sel, npages)
                populate = op == "madvise" and str(t.data.get("advice", "")).startswith("populate")
                cost = cost_us("populate" if populate else op, vma in self.world.plain)
                self.events.append((per * len(instances), t.src(), cost))
        return vma, npages, sel

    def _process_op(self, t: Table, op: str, index: int, instances: tuple[str, ...], known: bool,
                    kw: dict) -> None:
        if op == "fork":
            if not t.has("child"):
                t.problem(None, 'do = "fork" needs child = NAME, the name the new process gets')
            child = t.get_str("child")
            if child is not None and not NAME.match(child):
                t.problem("child", f'child name "{child}" is not valid: {NAME_RULE}')
                child = None
            elif child is not None and child in self.world.taken:
                t.problem("child", f'child "{child}" clashes with an existing process name; pick a new name')
                child = None
            if known and len(instances) != 1:
                t.problem("process", f"fork forks one process; process names {len(instances)}: "
                                     f"{', '.join(instances[:8])}")
            elif known and child is not None:
                before = (self.world.created, self.world.pages)
                self.events.append((self.world.fork(instances[0], child), t.src(), cost_us("fork", False)))
                # report each bound once, at the fork that crosses it
                if before[0] <= MAX_PROCESSES < self.world.created:
                    t.problem("child", f"this fork makes {self.world.created:,} processes; at most "
                                       f"{MAX_PROCESSES:,} are allowed", too_big=True)
                if before[1] <= MAX_TOTAL_PAGES < self.world.pages:
                    t.problem("child", f"after this fork the vmas add up to {self.world.pages:,} pages "
                                       f"over all processes; at most {MAX_TOTAL_PAGES:,} are allowed",
                              too_big=True)
            kw["child"] = child
            return
        for name in instances:  # exit and coredump walk every vma of every named process
            pages = self.world.exit(name, index) if op == "exit" else sum(self.world.live[name].values())
            self.events.append((pages, t.src(), cost_us(op, False)))

    def _args(self, t: Table, op: str) -> dict:
        if op == "mlock":
            return {"onfault": t.get_bool("onfault")}
        if op in ("madvise", "mprotect"):
            key, valid = ("advice", ADVICES) if op == "madvise" else ("prot", PROTS)
            if not t.has(key):
                t.problem(None, f'do = "{op}" needs {key} = one of: {choices(valid)}')
            return {key: t.get_str(key, one_of=valid)}
        if op == "gup":
            return {k: t.get_bool(k) for k in ("write", "force", "pin", "longterm")}
        return {}
