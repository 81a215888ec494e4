"""Page selectors: parse, resolve, span, selector_max (docs/format.md section 2)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from zpviz.errors import LessonError
from zpviz.scenario import PageRange, Selector, Source, parse_selector, resolve, selector_count, selector_max, span

HERE = Source("lesson.toml", 12, "step 3")


@pytest.mark.parametrize(
    ("value", "ranges", "all_pages"),
    [
        ("all", (), True),
        (7, (PageRange(7, 7),), False),
        ("7", (PageRange(7, 7),), False),
        ("0-15", (PageRange(0, 15),), False),
        ("0-15/4", (PageRange(0, 15, 4),), False),
        (" 3 - 9 / 2 ", (PageRange(3, 9, 2),), False),
        ([0, "4-7", 12], (PageRange(0, 0), PageRange(4, 7), PageRange(12, 12)), False),
        ("0, 4-7, 12", (PageRange(0, 0), PageRange(4, 7), PageRange(12, 12)), False),
        (["all", 3], (PageRange(3, 3),), True),
    ],
)
def test_parse(value, ranges, all_pages):
    sel = parse_selector(value, HERE)
    assert sel.ranges == ranges
    assert sel.all_pages is all_pages


@pytest.mark.parametrize(
    ("value", "says"),
    [
        (-1, "cannot be negative"),
        ("-3", "cannot be negative"),
        ("15-0", "runs backwards (15 > 0)"),
        ("0-15/0", "stride must be at least 1"),
        ("0-15/", "expected"),
        ("abc", "expected"),
        ("", "expected"),
        ([], "empty list"),
        ([[1, 2]], "lists inside"),
        (True, "a boolean"),
        (1.5, "expected"),
        ({"a": 1}, "expected"),
        ("1" * 13, "expected"),  # more digits than any vma could need: refused, not int()-ed
        ([0, "4-2"], "runs backwards"),
    ],
)
def test_parse_errors_name_the_place(value, says):
    with pytest.raises(LessonError) as info:
        parse_selector(value, HERE)
    (p,) = info.value.problems
    assert (p.file, p.line, p.table) == ("lesson.toml", 12, "step 3")
    assert says in p.message


def test_resolve_and_span_examples():
    sel = parse_selector("0-15/4", HERE)
    assert resolve(sel, 16).tolist() == [0, 4, 8, 12]
    assert selector_max(sel) == 12  # the last page selected, not the range's end
    assert span(sel, 16) == (0, 12)
    mixed = parse_selector([12, "4-7", 0, 5], HERE)
    got = resolve(mixed, 13)
    assert got.dtype == np.int64
    assert got.tolist() == [0, 4, 5, 6, 7, 12]
    assert span(mixed, 13) == (0, 12)
    everything = parse_selector("all", HERE)
    assert resolve(everything, 5).tolist() == [0, 1, 2, 3, 4]
    assert span(everything, 5) == (0, 4)
    assert selector_max(everything) is None


def test_resolve_refuses_pages_beyond_the_vma():
    sel = parse_selector("0-16", HERE)
    with pytest.raises(ValueError, match="page 16"):
        resolve(sel, 16)
    with pytest.raises(ValueError):
        span(sel, 16)
    assert len(resolve(sel, 17)) == 17


ranges = st.builds(
    lambda lo, n, stride: (lo, lo + n, stride),
    st.integers(0, 300), st.integers(0, 300), st.integers(1, 40),
)


def _text(r: tuple[int, int, int]) -> str:
    lo, hi, stride = r
    return f"{lo}-{hi}/{stride}" if stride > 1 else (f"{lo}-{hi}" if hi > lo else str(lo))


@given(st.lists(ranges, min_size=1, max_size=6), st.integers(0, 50))
def test_resolve_matches_brute_force(items, extra):
    sel = parse_selector([_text(r) for r in items], HERE)
    expected = sorted({p for lo, hi, stride in items for p in range(lo, hi + 1, stride)})
    npages = expected[-1] + 1 + extra
    got = resolve(sel, npages)
    assert got.tolist() == expected
    assert selector_max(sel) == expected[-1]
    assert span(sel, npages) == (expected[0], expected[-1])
    # the loader's size estimate may overcount overlaps, never undercount
    assert len(expected) <= selector_count(sel, npages) <= npages


@given(ranges)
def test_count_is_exact_for_one_range(r):
    sel = parse_selector(_text(r), HERE)
    assert selector_count(sel, 1000) == len(resolve(sel, 1000))


@given(st.integers(1, 2000))
def test_all_selects_every_page(npages):
    sel = Selector(all_pages=True, text="all")
    assert selector_count(sel, npages) == npages
    assert span(sel, npages) == (0, npages - 1)
