"""Page selectors (docs/format.md section 2): parse what a lecturer wrote, resolve it to pages.

Parsing happens once, in the loader, so every mistake is reported with its line; resolving is
cheap numpy so the engine can call it per step on vmas of millions of pages.
"""

from __future__ import annotations

import re

import numpy as np

from ..errors import LessonError, Problem
from .model import PageRange, Selector, Source

# A page number has at most 12 digits: far beyond any vma the size bounds allow, and it keeps
# int() away from Python's limit on huge digit strings (which would raise, not report).
_NUM = r"(\d{1,12})"
_ITEM = re.compile(rf"^{_NUM}(?:\s*-\s*{_NUM}(?:\s*/\s*{_NUM})?)?$")
_NEGATIVE = re.compile(r"^-\s*\d+")

SYNTAX = '"all", a page number, "LO-HI" or "LO-HI/STRIDE" (or a list of these)'


def _fail(where: Source, message: str) -> LessonError:
    return LessonError([Problem(where.file, where.line, where.table, message)])


def _show(value: object) -> str:
    """The value the way the lecturer wrote it in TOML, for messages."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + (value if len(value) <= 40 else value[:37] + "...") + '"'
    return repr(value)


def _item(value: object, where: Source) -> PageRange | None:
    """One element of a selector; None stands for "all"."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        kind = "a boolean" if isinstance(value, bool) else type(value).__name__
        raise _fail(where, f"bad page selector {_show(value)} ({kind}): expected {SYNTAX}")
    if isinstance(value, int):
        if value < 0:
            raise _fail(where, f"bad page selector {value}: page numbers cannot be negative")
        return PageRange(value, value)
    text = value.strip()
    if text == "all":
        return None
    m = _ITEM.match(text)
    if m is None:
        if _NEGATIVE.match(text):
            raise _fail(where, f"bad page selector {_show(value)}: page numbers cannot be negative")
        raise _fail(where, f"bad page selector {_show(value)}: expected {SYNTAX}")
    lo = int(m.group(1))
    hi = lo if m.group(2) is None else int(m.group(2))
    stride = 1 if m.group(3) is None else int(m.group(3))
    if lo > hi:
        raise _fail(where, f"bad page selector {_show(value)}: the range runs backwards ({lo} > {hi})")
    if stride < 1:
        raise _fail(where, f"bad page selector {_show(value)}: the stride must be at least 1")
    return PageRange(lo, hi, stride)


def parse_selector(value: object, where: Source) -> Selector:
    """Parse a selector as TOML gives it: an int, a string, or a list of ints and strings.

    A string may also hold several items separated by commas ("0, 4-7, 12"): that is the only
    way to write a list where TOML wants a string, namely as a key of a `pages = {...}` claim.
    Raises LessonError with one Problem located at `where`.
    """
    if isinstance(value, list):
        if not value:
            raise _fail(where, f"bad page selector []: an empty list selects nothing; expected {SYNTAX}")
        items: list[object] = []
        for v in value:
            if isinstance(v, list):
                raise _fail(where, "bad page selector: lists inside a selector list are not allowed")
            items.append(v)
        text = ", ".join(str(v) for v in value)
    elif isinstance(value, str):
        if not value.strip():
            raise _fail(where, f'bad page selector "": expected {SYNTAX}')
        items = [part for part in value.split(",")]
        text = value.strip()
    else:
        items, text = [value], _show(value)
    ranges: list[PageRange] = []
    all_pages = False
    for v in items:
        r = _item(v, where)
        if r is None:
            all_pages = True
        else:
            ranges.append(r)
    return Selector(ranges=tuple(ranges), all_pages=all_pages, text=text)


def _last(r: PageRange) -> int:
    """The highest page a range actually selects ("0-15/4" selects 12 last, not 15)."""
    return r.lo + (r.hi - r.lo) // r.stride * r.stride


def selector_max(selector: Selector) -> int | None:
    """The highest page the selector names, or None for "all" (which fits any vma)."""
    if selector.all_pages or not selector.ranges:
        return None
    return max(_last(r) for r in selector.ranges)


def selector_count(selector: Selector, npages: int) -> int:
    """How many pages the selector picks, at most: exact unless ranges overlap.

    The loader's size estimate uses this instead of resolve() so it never builds arrays.
    """
    if selector.all_pages:
        return npages
    return min(npages, sum((_last(r) - r.lo) // r.stride + 1 for r in selector.ranges))


def _check_fits(selector: Selector, npages: int) -> None:
    top = selector_max(selector)
    if top is not None and top >= npages:
        raise ValueError(f"page selector {selector.text!r} names page {top}, the vma has {npages} pages")


def resolve(selector: Selector, npages: int) -> np.ndarray:
    """The selected page indices: int64, sorted, unique. Pages >= npages raise ValueError
    (the loader has already rejected such lessons, so this is a caller's mistake)."""
    _check_fits(selector, npages)
    if selector.all_pages:
        return np.arange(npages, dtype=np.int64)
    parts = [np.arange(r.lo, _last(r) + 1, r.stride, dtype=np.int64) for r in selector.ranges]
    if len(parts) == 1:
        return parts[0]  # one range is already sorted and unique
    return np.unique(np.concatenate(parts))


def span(selector: Selector, npages: int) -> tuple[int, int]:
    """[lowest, highest] of the selection, inclusive: what mlock, munlock, madvise, mprotect and
    munmap act on (docs/format.md section 2)."""
    _check_fits(selector, npages)
    if selector.all_pages:
        return 0, npages - 1
    return min(r.lo for r in selector.ranges), max(_last(r) for r in selector.ranges)
