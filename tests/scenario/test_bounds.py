"""Size bounds (docs/format.md section 6): refused up front, with a TooBigError that says so."""

from __future__ import annotations

from pathlib import Path

import pytest

from zpviz.errors import LessonError, TooBigError
from zpviz.scenario import MAX_PAGE_EVENTS, load, loads

from .lessons import line_of


def big(pages: int, body: str, *, count: int | None = None, populate: bool = False) -> str:
    proc = f'[[process]]\nname = "p"\ncount = {count}\n\n' if count else ""
    return (f'[scenario]\ntitle = "big"\n\n{proc}[[vma]]\nname = "v"\npages = {pages}\n'
            f"populate = {'true' if populate else 'false'}\n\n{body}")


def too_big(text: str) -> list:
    with pytest.raises(TooBigError) as info:
        loads(text, "big.toml")
    return info.value.problems


READ = '[[step]]\ndo = "read"\nvma = "v"\n'
WRITE = '[[step]]\ndo = "write"\nvma = "v"\n'


def test_page_events_up_to_the_limit_are_fine_and_one_more_is_refused():
    half = MAX_PAGE_EVENTS // 2
    assert len(loads(big(half, READ + READ)).steps) == 2
    text = big(half + 1, READ + READ)
    (p,) = too_big(text)
    assert f"the run would take {2 * half + 2:,} page-events, more than the limit of 2,000,000" in p.message
    assert (p.line, p.table) == (line_of(text, "[[step]]"), "step 0")  # the biggest share (a tie: the first)


def test_work_the_engine_could_not_do_in_seconds_is_refused():
    """Page-events are weighed by what their path costs the engine, times the variants played."""
    half = MAX_PAGE_EVENTS // 2
    text = big(half, READ + WRITE)  # within the page-event bound, but about 9 s of work
    (p,) = too_big(text)
    assert "the lesson would take the engine about 9 s to play (2,000,000 page-events under 1 kernel" in p.message
    assert (p.line, p.table) == (line_of(text, "[[step]]", 1), "step 1")  # writes cost more
    mlock = '[[step]]\ndo = "mlock"\nvma = "v"\n'
    loads(big(500_000, mlock))
    too_big(big(600_000, mlock))
    # the same lesson, compared with a second variant, is twice the work
    compared = big(200_000, mlock).replace('title = "big"', 'title = "big"\ncompare = ["v5"]')
    loads(compared)
    too_big(compared.replace("pages = 200000", "pages = 300000"))


def test_span_ops_count_the_whole_span_not_the_selected_pages():
    n = MAX_PAGE_EVENTS + 1
    sparse = f'pages = "0-{n - 1}/{n - 1}"\n'  # two pages, first and last
    assert loads(big(n, READ + sparse)).steps[0].pages.text == f"0-{n - 1}/{n - 1}"
    too_big(big(n, '[[step]]\ndo = "mlock"\nvma = "v"\n' + sparse))


def test_processes_multiply_the_events():
    text = big(20_000, '[[step]]\ndo = "read"\nprocess = "p*"\nvma = "v"\n', count=101)
    (p,) = too_big(text)
    assert "2,020,000 page-events" in p.message
    loads(big(20_000, '[[step]]\ndo = "read"\nprocess = "p*"\nvma = "v"\n', count=100))


def test_populate_fork_and_exit_walk_whole_vmas():
    (p,) = too_big(big(MAX_PAGE_EVENTS + 1, '[[step]]\nsay = "x"\n', populate=True))
    assert p.table == "vma 0"
    text = big(700_000, '[[step]]\ndo = "fork"\nchild = "c"\n[[step]]\ndo = "exit"\nprocess = "c"\n'
                        '[[step]]\ndo = "coredump"\n')
    (p,) = too_big(text)
    assert "2,100,000 page-events" in p.message


def test_total_pages_and_processes_are_bounded():
    (p,) = too_big(big(16_777_217, '[[step]]\nsay = "x"\n'))
    assert "16,777,217 pages" in p.message and p.table == "vma 0"
    (p,) = too_big(big(1, '[[step]]\nsay = "x"\n', count=4097))
    assert "4,097 processes; at most 4,096" in p.message and p.table == "process 0"
    forks = "".join(f'[[step]]\ndo = "fork"\nprocess = "p0"\nchild = "c{i}"\n' for i in range(1000))
    text = big(1, forks, count=3100)
    (p,) = too_big(text)
    assert "4,097 processes" in p.message and p.line == line_of(text, 'child = "c996"')


def test_steps_are_bounded():
    text = '[scenario]\ntitle = "t"\n' + '[[step]]\nsay = "x"\n' * 10_001
    (p,) = too_big(text)
    assert "10,001 steps; at most 10,000" in p.message
    assert p.line == 2 + 2 * 10_000 + 1  # the 10,001st [[step]]


def test_size_problems_come_with_the_others():
    text = big(MAX_PAGE_EVENTS + 1, READ + 'say = 3\n')
    with pytest.raises(TooBigError) as info:  # a TooBigError is a LessonError, so callers catch both alike
        loads(text)
    assert isinstance(info.value, LessonError) and len(info.value.problems) == 2


def test_files_over_one_mib_are_refused(tmp_path):
    text = '[scenario]\ntitle = "t"\n#' + "x" * (1 << 20) + '\n[[step]]\nsay = "x"\n'
    with pytest.raises(TooBigError, match="at most 1,048,576 bytes"):
        loads(text)
    with pytest.raises(TooBigError, match="the file is 1,048,594 bytes"):  # counted in UTF-8 bytes
        loads('[[step]]\nsay = "' + "\u00e9" * (1 << 19) + '"\n')
    f = tmp_path / "big.toml"
    f.write_text(text)
    with pytest.raises(TooBigError, match="at most 1,048,576 bytes"):
        load(f)


@pytest.mark.parametrize("path", sorted((Path(__file__).parents[2] / "bench" / "lessons").glob("near-budget-*.toml")),
                         ids=lambda p: p.stem)
def test_the_benchmarks_worst_lessons_sit_just_inside_the_work_budget(path):
    """bench/run.py times these to show the budget keeps `zpviz check` under 10 s: they must be
    accepted, and a third more of their biggest vma must not be."""
    text = path.read_text()
    sc = loads(text, path.name)
    pages = max(v.pages for v in sc.vmas)
    too_big(text.replace(f"pages = {pages}\n", f"pages = {pages * 4 // 3}\n"))
