"""This machine's run beside the model (present.machine), and building a lesson with progress and cancel."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from zpviz.engine import Cancelled
from zpviz.engine import constants as C
from zpviz.play import trace_report
from zpviz.present import codes as K
from zpviz.present import machine as M
from zpviz.present import palette as P
from zpviz.present.grid import grid_layout
from zpviz.present.session import build_lesson
from zpviz.scenario import loads


@pytest.fixture(scope="module")
def model(traces):
    return trace_report(traces["modern"], every_step=True)


def vma_state(report, step, vma="table", proc="main"):
    return report["steps"][step]["state"]["processes"][proc]["vmas"][vma]


def canned(model):
    """The kernel's report as the model's with known differences: after step 3 (write 0-63) pages
    64-67 are anon (the model: zero, none, zero, none), page 70 was not observed, and Rss is 16 KiB more."""
    real = copy.deepcopy(model)
    real["kernel"] = "linux-6.18.44-fc-v657"
    real["observed"] = {"pfns": True}
    t = vma_state(real, 3)
    t["pages"][64:68] = ["anon"] * 4
    t["pages"][70] = None
    t["rss_kb"] += 16
    return real


def test_state_codes_match_the_models_own_codes(traces, model):
    """A report state turned into codes gives what the model's frames give (without the SPECIAL bit)."""
    tr = traces["modern"]
    for k in range(len(tr.step_results)):
        got = M.state_codes(model["steps"][k]["state"], tr.layout)
        want = K.slot_codes(tr.frame(tr.step_end_frame(k)), tr.kernel.pg_mlocked) & ~np.uint8(K.SPECIAL)
        assert np.array_equal(got, want), k
    assert not got.flags.writeable


def test_nulls_are_unknown_and_absent_processes_unmapped(traces, model):
    tr = traces["modern"]
    state = copy.deepcopy(model["steps"][6]["state"])
    t = state["processes"]["main"]["vmas"]["table"]
    t["pages"][5], t["mlocked"][5], t["huge"][6] = None, None, None
    del state["processes"]["child"]
    codes = M.state_codes(state, tr.layout)
    base = tr.layout.proc("main").vmas[0].base
    assert codes[base + 5] == K.UNKNOWN and K.describe(int(codes[base + 5])) == "not observed"
    assert codes[base + 6] & K.STATE_MASK == 1 + C.ST_ANON  # a null flag is simply not drawn
    child = tr.layout.proc("child")
    assert (codes[child.vmas[0].base:child.vmas[0].base + child.vmas[0].npages] == 1 + C.ST_UNMAPPED).all()
    assert (M.state_codes(None, tr.layout) == 1 + C.ST_UNMAPPED).all()


def test_differences_per_step_slots_lines_and_counts(traces, model):
    tr = traces["modern"]
    run = M.machine_run(tr.layout, model, canned(model))
    base = tr.layout.proc("main").vmas[0].base
    assert [s.count for s in run.steps] == [0, 0, 0, 5, 0, 0, 0]
    s3 = run.steps[3]
    assert s3.differs.tolist() == [base + 64, base + 65, base + 66, base + 67]
    assert [x.text for x in s3.lines] == [
        "main/table pages 64, 66: model zero, kernel anon", "main/table pages 65, 67: model none, kernel anon",
        "main/table rss_kb: model 256, kernel 272"]
    assert [x.slot for x in s3.lines] == [base + 64, base + 65, -1]
    assert s3.codes[base + 70] == K.UNKNOWN  # null: not a difference, shown as not observed
    assert s3.count_text() == "5 differences at this step" and run.steps[0].count_text() == \
        "no differences at this step"
    assert run.summary_text() == "5 differences from the modern model in 1 step"
    assert run.title == "this machine: linux-6.18.44" and run.root
    same = M.machine_run(tr.layout, model, model)
    assert same.total == 0 and same.summary_text() == "no differences from the modern model"


def test_the_kernel_pane_shows_the_state_after_the_current_step(traces, model):
    tr = traces["modern"]
    run = M.machine_run(tr.layout, model, canned(model))
    assert run.step_at(tr, 0) == 0  # step 0 only says something: it is over before the first event
    for k, r in enumerate(tr.step_results):
        if r.end_event > r.first_event:
            assert run.step_at(tr, r.first_event + 1) == k  # during its events: the state after it
            assert run.step_at(tr, r.end_event) == k
    assert run.step_at(tr, len(tr) - 1) == len(run.steps) - 1


def test_mark_runs_fold_adjacent_cells_per_row(traces):
    g = grid_layout(traces["modern"].layout, 16)
    base = traces["modern"].layout.proc("main").vmas[0].base
    runs = M.mark_runs(g, np.array([base + 14, base + 15, base + 16, base + 17, base + 20]))
    r0 = g.cell_of(base)[0]
    assert runs.tolist() == [[r0, 14, 16], [r0 + 1, 0, 2], [r0 + 1, 4, 5]]
    assert M.mark_runs(g, np.zeros(0, np.int64)).shape == (0, 3)


def test_hover_and_picture(traces, model):
    tr = traces["modern"]
    run = M.machine_run(tr.layout, model, canned(model))
    base = tr.layout.proc("main").vmas[0].base
    text = M.hover_text(run, 3, base + 64)
    assert "after step 4" in text and "this machine: anon" in text and "modern model: zero page" in text
    assert "differs" in text and "differs" not in M.hover_text(run, 3, base)
    g = grid_layout(tr.layout)
    assert np.array_equal(M.machine_picture(g, run, 3, 99).codes, g.codes(run.steps[3].codes))
    before = M.machine_picture(g, run, -1, 0).codes
    assert set(np.unique(before)) <= {K.GAP, K.UNKNOWN}


@pytest.mark.parametrize("name", P.THEME_NAMES)
def test_not_observed_has_its_own_opaque_colour_and_glyph(name):
    t = P.theme(name)
    lut = P.page_lut(t)
    assert lut[K.UNKNOWN, 3] == 255
    others = [P.lightness(tuple(int(v) for v in lut[1 + s, :3])) for s in range(K.N_STATES)]
    assert min(abs(P.lightness(tuple(int(v) for v in lut[K.UNKNOWN, :3])) - g) for g in others) >= 5
    assert P.glyph_table(t)[K.UNKNOWN].text == "?"


def test_build_lesson_reports_events_and_can_be_cancelled(scenario):
    said = []
    build_lesson(scenario, "v5", progress=said.append)
    assert said[0] == "Simulating under v5 ..." and said[-1] == "Preparing the views ..."
    big = loads('[[vma]]\nname = "r"\npages = 20000\n[[step]]\ndo = "read"\nvma = "r"\n', "big.toml")
    said.clear()
    build_lesson(big, "v5", progress=said.append)
    assert "Simulating under v5: 8,192 events" in said
    with pytest.raises(Cancelled):  # False from the callback stops the simulation part-way
        build_lesson(big, "v5", progress=lambda text: not text.endswith("events"))
    with pytest.raises(Cancelled):  # ... or before it starts
        build_lesson(scenario, compare=["v5", "2.6.23"], progress=lambda text: False)
