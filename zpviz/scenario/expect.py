"""Turn a step's `expect` tables into Claim objects, reporting every bad claim with its line."""

from __future__ import annotations

import re

from ..errors import LessonError
from . import fields as F
from .checks import Ctx, choices, kind, show, suggest
from .locate import Path
from .model import KERNEL_IDS, Claim, Range, variant_id
from .selectors import parse_selector, selector_max

_ERRNO = re.compile(r"^E[A-Z0-9]{1,15}$")
_SIGNAL = re.compile(r"^SIG[A-Z0-9]{1,12}$")
_BAD = object()  # a claim value already reported as a problem


def parse_expect(ctx: Ctx, raw: object, step_path: Path, *, vma: str | None,
                 vma_pages: int | None, has_process: bool) -> tuple[Claim, ...]:
    """Claims of one step. `vma_pages` is the step vma's size when known (selectors are checked
    against it); `vma`/`has_process` say whether vma and process fields make sense on this step."""
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
        for name, value, cpath in _flatten(body, vpath):
            value = _value(ctx, cpath, name, value, vma=vma, vma_pages=vma_pages, has_process=has_process)
            if value is not _BAD:
                claims.append(Claim(variant if variant == "*" else variant_id(variant), name, value,
                                    ctx.source(cpath)))
    return tuple(claims)


def _flatten(body: dict, vpath: Path):
    """(field, value, path) per claim; `fault_kinds = {read = 1}` and `fault_kinds.read = 1` (a dotted
    TOML key, the same table to tomllib) both give the field "fault_kinds.read"."""
    for key, value in body.items():
        if key == "fault_kinds" and isinstance(value, dict):
            for sub, v in value.items():
                yield f"fault_kinds.{sub}", v, vpath + (key, sub)
        else:
            yield key, value, vpath + (key,)


def _value(ctx: Ctx, path: Path, name: str, value: object, *, vma: str | None,
           vma_pages: int | None, has_process: bool) -> object:
    what = F.KINDS.get(name)
    if what is None:
        ctx.problem(path, f'unknown claim field "{name}"; valid fields: {choices(F.KINDS)}'
                          f"{suggest(name, F.KINDS)}")
        return _BAD
    if name in F.VMA_FIELDS and vma is None:
        ctx.problem(path, f"{name} describes the step's vma, and this step has no vma")
        return _BAD
    if name in F.PROCESS_FIELDS and not has_process:
        ctx.problem(path, f"{name} describes the step's process, and this step has none")
        return _BAD
    if what == "number":
        return _number(ctx, path, name, value)
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
    return _page_table(ctx, path, name, value, what, vma_pages)


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
