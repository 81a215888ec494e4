"""Turn a step's `expect` tables into Claim objects, reporting every bad claim with its line."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from ..errors import LessonError
from . import fields as F
from .checks import Ctx, Table, choices, kind, show, suggest
from .locate import Path
from .model import KERNEL_IDS, Claim, Compare, Range, variant_id
from .selectors import parse_selector, selector_max
from .world import World

_ERRNO = re.compile(r"^E[A-Z0-9]{1,15}$")
_SIGNAL = re.compile(r"^SIG[A-Z0-9]{1,12}$")
_BAD = object()  # a claim value already reported as a problem


@dataclass(frozen=True)
class StepFacts:
    """What the step tells the claim parser: its op, its vma and what bounds its outcomes.

    vma_pages: the step vma's size when known (selectors are checked against it). vma_reported: the
    step's vma is missing or wrong and that was already reported, so claims about it stay quiet.
    fault_bound: the most faults the step can take (selected pages times processes) when known."""

    op: str | None = None
    vma: str | None = None
    vma_pages: int | None = None
    has_process: bool = True
    vma_reported: bool = False
    fault_bound: int | None = None
    world: World | None = None  # the processes as they are after the step, for `process` and `vma` keys
    instances: tuple[str, ...] = ()  # the processes the step acts on


def parse_expect(ctx: Ctx, raw: object, step_path: Path, *, vma: str | None = None,
                 vma_pages: int | None = None, has_process: bool = True,
                 facts: StepFacts | None = None) -> tuple[Claim, ...]:
    """Claims of one step. `facts` says what the step is (the keyword arguments are the older way
    of giving its vma, its size and whether it acts on a process)."""
    facts = facts or StepFacts(vma=vma, vma_pages=vma_pages, has_process=has_process)
    path = step_path + ("expect",)
    if not isinstance(raw, dict):
        ctx.problem(path, f'expect must be a table per variant, e.g. [step.expect.v5] or [step.expect."*"]; '
                          f"got {show(raw)} ({kind(raw)})")
        return ()
    valid = ("*", *KERNEL_IDS)
    claims: list[Claim] = []
    seen: dict[str, str] = {}  # canonical id -> the id written
    for variant, body in raw.items():
        vpath = path + (variant,)
        if variant in valid and variant != "*":
            canonical = variant_id(variant)
            if canonical in seen:
                ctx.problem(vpath, f'expect."{variant}" and expect."{seen[canonical]}" name the same kernel '
                                   f"variant; put these claims under one of them")
                continue
            seen[canonical] = variant
        if variant not in valid:
            hint = suggest(variant, valid)
            if variant.isdigit() or variant in F.KINDS:
                hint = ('; claims go under a variant: [step.expect."2.6.24"] (quote ids with dots) '
                        'or [step.expect."*"]')
            ctx.problem(vpath, f'unknown kernel variant "{variant}" in expect; valid: "*", '
                               f"{choices(KERNEL_IDS)}{hint}")
            continue
        if not isinstance(body, dict):
            ctx.problem(vpath, f"expect.{variant} must be a table of claims, got {show(body)} ({kind(body)})")
            continue
        own = "*" if variant == "*" else variant_id(variant)
        target = _target(ctx, body, vpath, facts)
        if target is None:
            continue
        tfacts, procs, tvma = target
        for name, value, cpath in _flatten(body, vpath):
            value = _value(ctx, cpath, name, value, tfacts, own)
            if value is not _BAD:
                claims.append(Claim(own, name, value, ctx.source(cpath), procs, tvma))
    return tuple(claims)


def _target(ctx: Ctx, body: dict, vpath: Path, facts: StepFacts):
    """The `process` and `vma` keys of a claim table: (facts for its claims, processes, vma), or
    None when they are wrong (reported)."""
    if not any(k in body for k in F.TARGET_KEYS):
        return facts, (), None
    if facts.world is None:
        ctx.problem(vpath, "process and vma in a claim table need a step that acts on processes")
        return None
    t = Table(ctx, body, vpath)
    procs: tuple[str, ...] = ()
    if "process" in body:
        resolved = facts.world.resolve(t)  # reports a wrong name itself, with the processes that exist
        if resolved is None:
            return None
        procs = resolved[1]
    vma = facts.vma
    if "vma" in body:
        vma = t.get_str("vma")
        if vma is None:
            return None
    if vma is None:
        return replace(facts, vma=None, vma_pages=None), procs, None
    instances = procs or facts.instances
    sizes = facts.world.vma_sizes(t, instances, vma) if instances else None
    if sizes is None and instances:
        return None
    return replace(facts, vma=vma, vma_pages=min(sizes) if sizes else None, vma_reported=False,
                   fault_bound=facts.fault_bound), procs, vma


def _flatten(body: dict, vpath: Path):
    """(field, value, path) per claim; `fault_kinds = {read = 1}` and `fault_kinds.read = 1` (a dotted
    TOML key, the same table to tomllib) both give the field "fault_kinds.read"; so for `step.` and
    `dump.` fields."""
    for key, value in body.items():
        if key in F.TARGET_KEYS:
            continue  # not a claim: whose vma or process the claims describe (see _target)
        if key in ("fault_kinds", "step", "dump") and isinstance(value, dict) and "of" not in value:
            # `step.frames_used = 64` is the table step = { frames_used = 64 } to tomllib
            for sub, v in value.items():
                yield f"{key}.{sub}", v, vpath + (key, sub)
        else:
            yield key, value, vpath + (key,)


def _value(ctx: Ctx, path: Path, name: str, value: object, facts: StepFacts, variant: str) -> object:
    what = F.KINDS.get(name)
    if what is None:
        ctx.problem(path, f'unknown claim field "{name}"; valid fields: {choices(F.KINDS)}'
                          f"{suggest(name, F.KINDS)}")
        return _BAD
    if name in F.VMA_FIELDS and facts.vma is None:
        if facts.vma_reported:
            return _BAD  # the step's missing or unknown vma is reported once, at the step
        if facts.world is None:  # a narration step: it acts on nothing, so it cannot name a vma
            ctx.problem(path, f"{name} describes the step's vma, and this step has no vma; claim it on "
                              f"a step that acts on that vma")
            return _BAD
        op = f' (do = "{facts.op}")' if facts.op else ""
        ctx.problem(path, f"{name} describes a vma, and this step{op} has none. To claim the state of a "
                          f'vma here, name it in this claim table: vma = "NAME" (and process = "NAME" for '
                          f"another process than the step's, e.g. a fork's child); or claim it on a later "
                          f"step that acts on that vma")
        return _BAD
    if name in F.PROCESS_FIELDS and not facts.has_process:
        ctx.problem(path, f"{name} describes the step's process, and this step has none")
        return _BAD
    if what == "number":
        if isinstance(value, dict) and "of" in value:
            return _compare(ctx, path, name, value, variant)
        got = _number(ctx, path, name, value)
        if isinstance(got, Range):
            _too_wide(ctx, path, name, got, facts)
        return got
    if what in ("errno", "signal"):
        return _null_or_name(ctx, path, name, value, _ERRNO if what == "errno" else _SIGNAL)
    if what == "flag":
        if isinstance(value, bool):
            return value
        ctx.problem(path, f"{name} must be true or false, got {show(value)} ({kind(value)})")
        return _BAD
    if what == "status":
        if isinstance(value, str):
            return value
        if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            return tuple(value)
        ctx.problem(path, f'status must be a string (every entry, e.g. "node0") or a list of strings, '
                          f"got {show(value)} ({kind(value)})")
        return _BAD
    if what == "log":
        if isinstance(value, str) and value:
            return value
        if isinstance(value, list) and value and all(isinstance(v, str) and v for v in value):
            return tuple(value)
        ctx.problem(path, f"log must be a non-empty string or a list of them, "
                          f"got {show(value)} ({kind(value)})")
        return _BAD
    return _page_table(ctx, path, name, value, what, facts.vma_pages)


def _too_wide(ctx: Ctx, path: Path, name: str, r: Range, facts: StepFacts) -> None:
    """A range that holds every outcome the step could have is a claim that cannot fail."""
    lo = -1 if r.min is None else r.min
    hi = float("inf") if r.max is None else r.max
    can_fall = name.endswith("_delta") or name.startswith(F.DELTA_PREFIX)  # changes may be negative
    if r.max is None and lo <= 0 and not can_fall:
        ctx.problem(path, f"{name}: the range {_range(r)} holds every value {name} can have (it is never "
                          f"negative), so the claim cannot fail; give a max, or a min above 0")
    elif name in F.VMA_NUMBERS and facts.vma_pages is not None:
        top = facts.vma_pages * 4  # a vma's Rss, Anonymous or Locked never exceeds its size
        if lo <= 0 and hi >= top:
            ctx.problem(path, f"{name}: the range {_range(r)} holds every value the vma can have "
                              f"(0..{top} kB for {facts.vma_pages} pages), so the claim cannot fail; "
                              f"claim what you expect, or a narrower range")
    elif (name == "faults" or name.startswith("fault_kinds.")) and facts.fault_bound is not None:
        n = facts.fault_bound
        if lo <= 1 and hi >= n:
            ctx.problem(path, f"{name}: the range {_range(r)} holds every fault count this step can have "
                              f"from 1 to {n} (it touches {n} pages, one fault each at most), so it only "
                              f"says that the step faulted at all; claim the count you expect, or a "
                              f"narrower range")


def _range(r: Range) -> str:
    parts = [f"{k} = {v:g}" for k, v in (("min", r.min), ("max", r.max)) if v is not None]
    return "{ " + ", ".join(parts) + " }"


def _compare(ctx: Ctx, path: Path, name: str, value: dict, variant: str) -> object:
    example = '{ of = "v5", times = { min = 2 } } (at least twice v5\'s)'
    if name not in F.COMPARABLE:
        ctx.problem(path, f"{name} cannot be compared between variants; comparable fields: run totals, "
                          f"the step's numbers and step.* changes ({choices(sorted(F.COMPARABLE))})")
        return _BAD
    bad = [k for k in value if k not in ("of", "times")]
    of = value.get("of")
    if bad or not isinstance(of, str) or "times" not in value:
        ctx.problem(path, f"{name}: a comparison is written {example}; got {show(value)}")
        return _BAD
    if of not in KERNEL_IDS:
        ctx.problem(path, f'{name}: unknown kernel variant "{of}" in of; valid: {choices(KERNEL_IDS)}'
                          f"{suggest(of, KERNEL_IDS)}")
        return _BAD
    if variant_id(of) == variant:
        ctx.problem(path, f'{name}: compares {variant} with itself; put the claim under the other variant '
                          f'or name another in of')
        return _BAD
    times = _number(ctx, path + ("times",), f"{name}.times", value["times"])
    if times is _BAD:
        return _BAD
    return Compare(variant_id(of), times)


def _number(ctx: Ctx, path: Path, name: str, value: object) -> object:
    def is_num(v: object) -> bool:
        return isinstance(v, (int, float)) and not isinstance(v, bool) and v == v  # v == v: not NaN

    if is_num(value):
        return value
    if isinstance(value, dict):
        bad = [k for k in value if k not in ("min", "max")]
        if bad or not value or not all(is_num(v) for v in value.values()):
            ctx.problem(path, f"{name}: a range is written {{ min = 200, max = 300 }} "
                              f"(either may be left out), got {show(value)}")
            return _BAD
        lo, hi = value.get("min"), value.get("max")
        if lo is not None and hi is not None and lo > hi:
            ctx.problem(path, f"{name}: the range is empty (min {lo} > max {hi})")
            return _BAD
        return Range(lo, hi)
    ctx.problem(path, f"{name} must be a number or a range {{ min = ..., max = ... }}, "
                      f"got {show(value)} ({kind(value)})")
    return _BAD


def _null_or_name(ctx: Ctx, path: Path, name: str, value: object, pattern: re.Pattern) -> object:
    if isinstance(value, str):
        if value.lower() in F.NULL_WORDS:
            return None
        if pattern.match(value):
            return value
    example = '"ENOMEM"' if name == "errno" else '"SIGSEGV"'
    ctx.problem(path, f'{name} must be a name like {example}, or "none" for no {name}; got {show(value)}')
    return _BAD


def _page_table(ctx: Ctx, path: Path, name: str, value: object, what: str, vma_pages: int | None) -> object:
    want = "a state (" + ", ".join(F.PAGE_STATES) + ")" if what == "page_states" else "true or false"
    if not isinstance(value, dict) or not value:
        shape = "STATE" if what == "page_states" else "BOOL"
        ctx.problem(path, f"{name} must be a table {{ SELECTOR = {shape} }}, "
                          f'e.g. {{ "0-15" = ... }}; got {show(value)} ({kind(value)})')
        return _BAD
    entries = []
    ok = True
    for text, state in value.items():
        where = ctx.source(path + (text,))
        try:
            sel = parse_selector(text, where)
        except LessonError as e:
            ctx.problems.extend(e.problems)
            ok = False
            continue
        top = selector_max(sel)
        if vma_pages is not None and top is not None and top >= vma_pages:
            ctx.problem(path + (text,), f'{name}: selector "{text}" names page {top}, '
                                        f"the vma has {vma_pages} pages (0..{vma_pages - 1})")
            ok = False
        if what == "page_states":
            good = isinstance(state, str) and state in F.PAGE_STATES
        else:
            good = isinstance(state, bool)
        if not good:
            ctx.problem(path + (text,), f'{name}."{text}" must be {want}, got {show(state)}'
                                        + (suggest(state, F.PAGE_STATES) if isinstance(state, str) else ""))
            ok = False
            continue
        entries.append((sel, state))
    return tuple(entries) if ok else _BAD
