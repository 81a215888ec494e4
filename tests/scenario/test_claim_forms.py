"""Issue 16's claim forms and author-facing messages: comparisons between variants, per-step changes
beside run totals, claims about another process's vma, ranges that cannot fail, and the errors a
lesson author meets (an op from C, a missing vma, a claim on a fork step, the 2.6.31 id)."""

from __future__ import annotations

from zpviz.play import lesson_report as run_report
from zpviz.scenario import loads
from zpviz.scenario.model import Compare, Range

from .lessons import lesson, line_of, only_problem, problems

READ_ALL = '[[step]]\ndo = "read"\nvma = "heap"\n'


def report(body: str, kernel: str) -> dict:
    return run_report(loads(lesson(body), "lesson.toml"), kernel)


def failed(rep: dict, step: int = 0) -> list[dict]:
    return rep["steps"][step]["expect"]["failed"]


# ---------------------------------------------------------------- comparisons between variants
def test_a_comparison_holds_when_the_ratio_is_in_range_and_fails_with_both_numbers_when_not():
    # 64 read faults: 2.6.24 allocates and clears a page per fault, v5 only writes a PTE
    body = READ_ALL + '[step.expect."2.6.24"]\nmakespan_ns = {{ of = "v5", times = {{ min = {n} }} }}\n'
    assert failed(report(body.format(n=2), "2.6.24")) == []
    (f,) = failed(report(body.format(n=50), "2.6.24"))
    assert f["field"] == "makespan_ns" and f["claimed"] == {"of": "v5", "times": {"min": 50, "max": None}}
    assert "claimed at least 50 times v5's, got " in f["message"] and " times v5's " in f["message"]


def test_a_comparison_may_be_exact_and_is_checked_by_zpviz_check_under_its_own_variant_only():
    body = READ_ALL + '[step.expect.v5]\nfaults = { of = "2.6.24", times = 1 }\n'
    assert failed(report(body, "v5")) == []
    assert report(body, "2.6.24")["steps"][0]["expect"] == {"ok": True, "failed": []}  # not its claim


def test_comparison_mistakes_are_refused_with_the_form_to_use():
    cases = [
        ('[step.expect.v5]\nmakespan_ns = { of = "v5", times = 2 }\n', "compares v5 with itself"),
        ('[step.expect.v5]\nmakespan_ns = { of = "v6", times = 2 }\n', 'unknown kernel variant "v6" in of'),
        ('[step.expect.v5]\nmakespan_ns = { of = "2.6.24" }\n', 'written { of = "v5", times = { min = 2 } }'),
        ('[step.expect.v5]\nrss_kb = { of = "2.6.24", times = 1 }\n', "rss_kb cannot be compared"),
    ]
    for claims, says in cases:
        text = lesson(READ_ALL + claims)
        p = only_problem(text)
        assert says in p.message, str(p)
        assert p.line == line_of(text, "= {", after=7)


def test_a_star_comparison_applies_to_every_variant_but_the_one_it_compares_with():
    body = READ_ALL + '[step.expect."*"]\nframes_used = {{ of = "2.6.24", times = {times} }}\n'
    assert report(body.format(times=0), "2.6.24")["expect_ok"]  # not compared with itself
    for k in ("v5", "2.6.23"):  # both map the zero page: 0 frames, 0 times 2.6.24's 64
        assert report(body.format(times=0), k)["expect_ok"]
    (f,) = failed(report(body.format(times="{ min = 1 }"), "v5"))
    assert f["message"].endswith("claimed at least 1 times 2.6.24's, got 0, 0 times 2.6.24's 64")


def test_2_6_31_names_the_same_variant_in_of():
    sc = loads(lesson(READ_ALL + '[step.expect.v5]\nfaults = { of = "2.6.31", times = 1 }\n'))
    assert sc.steps[0].expect[0].value == Compare("2.6.24", 1)


# ---------------------------------------------------------------- per-step changes beside run totals
def test_step_fields_are_the_change_over_the_step_and_the_plain_names_stay_run_totals():
    body = (READ_ALL + '[step.expect."2.6.24"]\nframes_used = 64\n'
            + '[[step]]\ndo = "write"\nvma = "heap"\npages = "0-3"\n'
            + '[step.expect."2.6.24"]\nframes_used = 64\n"step.frames_used" = 0\n'
            + '[step.expect.v5]\nframes_used = 4\nstep.frames_used = 4\nstep.pt_frames = 0\n')
    for k in ("2.6.24", "v5"):
        rep = report(body, k)
        assert rep["expect_ok"], [f["message"] for s in rep["steps"] for f in s["expect"]["failed"]]
    rep = report(body, "v5")
    assert rep["steps"][1]["delta"]["frames_used"] == 4 and rep["steps"][0]["delta"]["pt_frames"] == 3


def test_a_failed_run_total_says_it_is_a_run_total():
    (f,) = failed(report(READ_ALL + '[step.expect.v5]\nframes_used = 3\n', "v5"))
    assert "frames_used (run total) claimed 3, got 0" in f["message"] and f["field"] == "frames_used"
    (f,) = failed(report(READ_ALL + '[step.expect.v5]\nstep.frames_used = 3\n', "v5"))
    assert "step.frames_used (change over this step) claimed 3, got 0" in f["message"]


# ---------------------------------------------------------------- ranges that cannot fail
def test_a_fault_range_holding_every_possible_count_is_refused():
    text = lesson(READ_ALL + '[step.expect."*"]\nfaults = { min = 1, max = 64 }\n')
    p = only_problem(text)
    assert "holds every fault count this step can have from 1 to 64" in p.message
    assert p.line == line_of(text, "faults =")
    # a range that excludes some outcome is a claim
    loads(lesson(READ_ALL + '[step.expect."*"]\nfaults = { min = 60, max = 64 }\n'))
    loads(lesson(READ_ALL + '[step.expect."*"]\nfaults = { max = 10 }\n'))


def test_an_open_range_from_zero_is_refused_where_the_field_cannot_be_negative():
    p = only_problem(lesson(READ_ALL + '[step.expect."*"]\nmakespan_ns = { min = 0 }\n'))
    assert "it is never negative" in p.message
    loads(lesson(READ_ALL + '[step.expect."*"]\nstep.frames_used = { min = 0 }\n'))  # a change may be < 0
    loads(lesson(READ_ALL + '[step.expect."*"]\nzero_page_refcount_delta = { min = 0 }\n'))


def test_a_kb_range_holding_the_whole_vma_is_refused():
    p = only_problem(lesson(READ_ALL + '[step.expect."*"]\nrss_kb = { max = 256 }\n'))
    assert "holds every value the vma can have (0..256 kB for 64 pages)" in p.message
    loads(lesson(READ_ALL + '[step.expect."*"]\nrss_kb = { max = 255 }\n'))


# ---------------------------------------------------------------- the errors a lesson author meets
def test_an_op_from_c_is_explained_not_matched_to_a_lookalike():
    p = only_problem(lesson('[[step]]\ndo = "calloc"\nvma = "heap"\n'))
    assert "mlock" not in p.message.split("valid ops:")[1].split(";", 1)[1]
    assert "[[vma]] table" in p.message and 'do = "read"' in p.message
    p = only_problem(lesson('[[step]]\ndo = "mlcok"\nvma = "heap"\n'))
    assert p.message.endswith('did you mean "mlock"?')
    p = only_problem(lesson('[[step]]\ndo = "frobnicate"\nvma = "heap"\n'))
    assert "did you mean" not in p.message


def test_a_missing_vma_is_one_problem_not_one_per_claim():
    text = lesson('[[step]]\ndo = "read"\npages = "0-3"\n[step.expect."*"]\nfaults = 4\n'
                  'pages = { "0-3" = "zero" }\nrss_kb = 0\nmlocked = { all = false }\nhuge = { all = false }\n'
                  'vm_locked = false\n')
    p = only_problem(text)
    assert 'needs vma = NAME' in p.message
    text = lesson('[[step]]\ndo = "read"\nvma = "hep"\n[step.expect."*"]\npages = { 0 = "zero" }\nrss_kb = 0\n')
    p = only_problem(text)
    assert 'has no vma "hep"' in p.message and 'did you mean "heap"' in p.message


def test_a_claim_on_a_fork_step_says_how_to_name_the_vma_and_process():
    text = lesson(READ_ALL + '[[step]]\ndo = "fork"\nchild = "kid"\n[step.expect."*"]\npages = { all = "zero" }\n')
    p = only_problem(text)
    assert 'vma = "NAME"' in p.message and 'process = "NAME"' in p.message and 'do = "fork"' in p.message


def test_a_claim_table_may_name_the_childs_vma_on_the_fork_step():
    body = (READ_ALL + '[[step]]\ndo = "fork"\nchild = "kid"\n'
            + '[step.expect."*"]\nprocess = "kid"\nvma = "heap"\npages = {{ all = "{state}" }}\nrss_kb = 0\n')
    sc = loads(lesson(body.format(state="none")))
    c = sc.steps[1].expect[0]
    assert (c.processes, c.vma) == (("kid",), "heap")
    # a vma with only zero-page reads has no anon_vma: fork does not copy its PTEs (copy_page_range)
    assert report(body.format(state="none"), "v5")["expect_ok"]
    (f,) = failed(report(body.format(state="zero"), "v5"), 1)
    assert f["field"] == 'pages["all"] of kid' and '"none" at pages 0, 1' in f["actual"]
    # the names are checked against the processes and vmas as they are after the step
    p = only_problem(lesson(body.format(state="zero").replace('process = "kid"', 'process = "kdi"')))
    assert 'unknown process "kdi"' in p.message and 'did you mean "kid"' in p.message
    p = only_problem(lesson(body.format(state="zero").replace('"kid"\nvma = "heap"', '"kid"\nvma = "stack"')))
    assert 'has no vma "stack"' in p.message


def test_expect_2_6_31_is_a_valid_variant_and_no_longer_a_near_miss():
    sc = loads(lesson(READ_ALL + '[step.expect."2.6.31"]\nframes_used = 64\n'))
    assert sc.steps[0].expect[0].variant == "2.6.24"
    assert problems(lesson(READ_ALL + '[step.expect."2.6.31"]\nframes_used = 64\n'
                           '[step.expect."2.6.24"]\nframes_used = 64\n'))[0].message.startswith(
        'expect."2.6.24" and expect."2.6.31" name the same kernel variant')


def test_range_values_still_load_as_ranges():
    sc = loads(lesson(READ_ALL + '[step.expect."*"]\nmakespan_ns = { min = 10 }\n'))
    assert sc.steps[0].expect[0].value == Range(10, None)


def test_check_plays_each_variant_once(monkeypatch, capsys):
    """A comparison claim reads the other variant's report when `zpviz check` already made it: lesson
    3 compares 2.6.24's makespan with v5's and plays three variants, so three runs, not four."""
    from pathlib import Path

    from zpviz import cli, play

    runs: list[str] = []
    real = play.run_report
    monkeypatch.setattr(play, "run_report", lambda sc, k=None, *a, **kw: runs.append(k) or real(sc, k, *a, **kw))
    lesson = Path(__file__).resolve().parents[2] / "scenarios" / "03-no-zero-page-2624.toml"
    assert cli.main(["check", str(lesson)]) == 0, capsys.readouterr()
    assert sorted(runs) == ["2.6.23", "2.6.24", "v5"]
