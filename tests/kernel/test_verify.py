"""compare_reports / format_differences on hand-made reports (no kernel needed)."""

from __future__ import annotations

import copy

import pytest

from zpviz.scenario.verify import DEFAULT_FIELDS, OPTIONAL_FIELDS, Difference, compare_reports, format_differences


def vma_state(pages, mlocked=None, huge=None, rss=0, anon=0, locked=0):
    n = len(pages)
    return {"pages": list(pages), "mlocked": mlocked or [False] * n, "huge": huge or [False] * n,
            "vm_locked": False, "rss_kb": rss, "anon_kb": anon, "locked_kb": locked}


def report(*steps):
    out = []
    for i, (do, vmas, extra) in enumerate(steps):
        entry = {"index": i, "do": do, "process": "main", "vma": "t", "faults": 0, "errno": None, "status": None,
                 "state": {"processes": {"main": {"exited": False, "vmas": vmas}}}}
        entry.update(extra)
        out.append(entry)
    return {"steps": out, "final": out[-1]["state"]}


MODEL = report(("read", {"t": vma_state(["zero"] * 600)}, {}),
               ("move_pages", {"t": vma_state(["zero"] * 600)}, {"status": ["-EFAULT", "-ENOENT"]}))


def test_identical_reports_have_no_differences():
    assert compare_reports(MODEL, copy.deepcopy(MODEL)) == []
    assert format_differences([]) == "no differences"


def test_page_runs_are_folded():
    real = copy.deepcopy(MODEL)
    real["steps"][0]["state"]["processes"]["main"]["vmas"]["t"]["pages"][:512] = ["anon"] * 512
    real["steps"][0]["state"]["processes"]["main"]["vmas"]["t"]["pages"][520] = "none"
    diffs = compare_reports(MODEL, real)
    assert len(diffs) == 513
    assert diffs[0] == Difference(0, "main", "t", "pages", 0, "zero", "anon", "read")
    assert str(diffs[0]) == "step 0 (read) main/t pages[0]: model zero, kernel anon"
    text = format_differences(diffs)
    assert "step 0 (read) main/t pages 0-511: model zero, kernel anon" in text
    assert "step 0 (read) main/t page 520: model zero, kernel none" in text
    assert text.startswith("513 differences in 1 step")


def test_nulls_on_the_kernel_side_are_not_observed_not_different():
    real = copy.deepcopy(MODEL)
    v = real["steps"][0]["state"]["processes"]["main"]["vmas"]["t"]
    v["pages"] = [None] * 600
    v["mlocked"] = [None] * 600
    v["rss_kb"] = None
    assert compare_reports(MODEL, real) == []


def test_errno_status_and_kb_fields_are_compared():
    real = copy.deepcopy(MODEL)
    real["steps"][1]["status"] = ["-EFAULT", "node0"]
    real["steps"][0]["errno"] = "EINVAL"
    real["steps"][1]["state"]["processes"]["main"]["vmas"]["t"]["anon_kb"] = 4
    diffs = compare_reports(MODEL, real)
    assert [(d.step, d.field, d.page, d.model, d.kernel) for d in diffs] == [
        (0, "errno", None, None, "EINVAL"), (1, "status", 1, "-ENOENT", "node0"), (1, "anon_kb", None, 0, 4)]
    assert "step 1 (move_pages) main/t entry 1: model -ENOENT, kernel node0" in format_differences(diffs)
    real["steps"][0]["carried_out"] = False  # a step the kernel did not carry out: its errno says nothing
    assert [d.field for d in compare_reports(MODEL, real)] == ["status", "anon_kb"]


def test_processes_that_differ_in_existence_or_exit():
    real = copy.deepcopy(MODEL)
    real["steps"][1]["state"]["processes"]["kid"] = {"exited": False, "vmas": {}}
    real["steps"][1]["state"]["processes"]["main"] = {"exited": True, "vmas": {}}
    diffs = compare_reports(MODEL, real)
    assert [(d.process, d.field, d.model, d.kernel) for d in diffs] == [
        ("main", "exited", False, True), ("kid", "process", "absent", "exists")]


def test_both_reports_need_every_step_states():
    real = copy.deepcopy(MODEL)
    del real["steps"][1]["state"]
    with pytest.raises(ValueError, match="every_step"):
        compare_reports(MODEL, real)


def test_faults_and_vm_locked_only_on_request():
    real = copy.deepcopy(MODEL)
    real["steps"][0]["faults"] = 4
    real["steps"][1]["faults"] = None  # not measured (a fork): never a difference
    real["steps"][1]["state"]["processes"]["main"]["vmas"]["t"]["vm_locked"] = True
    assert compare_reports(MODEL, real) == []
    diffs = compare_reports(MODEL, real, DEFAULT_FIELDS + OPTIONAL_FIELDS)
    assert [(d.step, d.field, d.model, d.kernel) for d in diffs] == [(0, "faults", 0, 4), (1, "vm_locked", False, True)]
