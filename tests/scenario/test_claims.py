"""Claims (`[step.expect.VARIANT]`) checked against report-shaped data (docs/report.md)."""

from __future__ import annotations

import copy

import pytest

from zpviz.scenario import ClaimFailure, check_report, check_step_claims, claims_for, loads

from .lessons import line_of

TEXT = """\
[scenario]
title = "Sparse reads"
kernel = "v5"

[[process]]
name = "s"
count = 2

[[vma]]
name = "table"
process = "s"
pages = 8

[[step]]
do = "read"
process = "s*"
vma = "table"
pages = "0-7/2"

[step.expect."*"]
frames_used = 0
faults = 4
pages = { "0-7/2" = "zero", "1-7/2" = "none" }

[step.expect.v5]
zero_page_line_transfers = { min = 1, max = 10 }
log = "Bad page map"
mlocked = { all = false }
rss_kb = 16
fault_kinds.read = 4
errno = "none"
signal = "none"
vm_locked = false

[step.expect."2.6.24"]
frames_used = 4

[[step]]
do = "move_pages"
process = "s0"
vma = "table"
pages = "0-1"

[step.expect."*"]
status = "node0"
exited = false
"""
LESSON = loads(TEXT, "lesson.toml")
READ, MOVE = LESSON.steps


def vma_state(pages):
    return {"pages": list(pages), "mlocked": [False] * 8, "huge": [False] * 8, "vm_locked": False,
            "rss_kb": 16, "anon_kb": 0, "locked_kb": 0}


SPARSE = ["zero", "none"] * 4
STATE = {
    "processes": {"s0": {"exited": False, "vmas": {"table": vma_state(SPARSE)}},
                  "s1": {"exited": False, "vmas": {"table": vma_state(SPARSE)}}},
    "zero_page": {"refcount_delta": 0, "mapcount_delta": 0, "line_writes": 0, "line_transfers": 3},
    "huge_zero_page": {"refcount_delta": 0, "line_writes": 0, "line_transfers": 0},
    "frames_used": 0, "pt_frames": 2, "cpus": [],
}
REPORT = {"index": 0, "do": "read", "process": ["s0", "s1"], "vma": "table", "faults": 4,
          "fault_kinds": {"read": 4, "write": 0, "cow": 0, "gup": 0, "huge": 0}, "errno": None, "status": None,
          "signal": None, "makespan_ns": 10, "log": ["x", "BUG: Bad page map in process s0"]}


def failures(variant="v5", report=REPORT, state=STATE, step=READ):
    return check_step_claims(step, variant, report, state, title=LESSON.title)


def test_claims_that_hold_pass():
    assert failures("v5") == []
    assert failures("2.6.23") == []  # only the "*" claims apply


def test_star_claims_apply_to_every_variant_and_a_variants_own_claim_replaces_them():
    assert [c.field for c in claims_for(READ, "2.6.32")] == ["frames_used", "faults", "pages"]
    under_2624 = claims_for(READ, "2.6.24")
    assert [(c.variant, c.field, c.value) for c in under_2624 if c.field == "frames_used"] == [
        ("2.6.24", "frames_used", 4)]
    (f,) = failures("2.6.24")  # the "*" frames_used = 0 is replaced, and 4 is not what happened
    assert (f.field, f.claimed, f.actual, f.line) == ("frames_used", 4, 0, line_of(TEXT, "frames_used = 4"))


def test_a_failure_names_file_line_step_variant_field_claimed_and_actual():
    state = copy.deepcopy(STATE)
    state["frames_used"] = 1024
    (f,) = failures("v5", state=state)
    assert f == ClaimFailure("Sparse reads", "lesson.toml", line_of(TEXT, "frames_used = 0"), 0, "v5",
                             "frames_used", 0, 1024)
    line = line_of(TEXT, "frames_used = 0")
    assert str(f) == f"lesson.toml:{line}: step 0 under v5: frames_used (run total) claimed 0, got 1024"
    assert f.to_json()["message"] == str(f)


def test_ranges():
    state = copy.deepcopy(STATE)
    state["zero_page"]["line_transfers"] = 11
    (f,) = failures(state=state)
    assert str(f).endswith("zero_page_line_transfers (run total) claimed 1..10, got 11")
    state["zero_page"]["line_transfers"] = 1
    assert failures(state=state) == []


def test_step_fields_errno_signal_and_log():
    report = dict(REPORT, errno="ENOMEM", signal={"name": "SIGSEGV", "pages": [3]}, faults=True,
                  fault_kinds={"read": 3}, log=["nothing"])
    got = {f.field: (f.claimed, f.actual) for f in failures(report=report)}
    assert got["errno"] == (None, "ENOMEM")
    assert got["signal"] == (None, "SIGSEGV")
    assert got["faults"] == (4, True)  # a boolean is never a count
    assert got["fault_kinds.read"] == (4, 3)
    assert got["log"][0] == "Bad page map"
    assert str(got["log"][1]) == "a log of 1 lines: nothing"
    assert len(got) == 5


def test_pages_claims_compare_every_selected_page_in_every_named_process():
    state = copy.deepcopy(STATE)
    state["processes"]["s1"]["vmas"]["table"]["pages"][2] = "anon"
    state["processes"]["s1"]["vmas"]["table"]["pages"][6] = "anon"
    state["processes"]["s1"]["vmas"]["table"]["pages"][4] = "unmapped"
    (f,) = failures(state=state)
    assert f.field == 'pages["0-7/2"] of s1'
    assert str(f).endswith('pages["0-7/2"] of s1 claimed "zero", got "anon" at pages 2, 6; "unmapped" at page 4 '
                           "(3 of 4 selected pages)")


def test_vma_claims_on_a_missing_vma_or_process_fail_with_a_reason():
    state = copy.deepcopy(STATE)
    state["processes"]["s1"] = {"exited": True, "vmas": {}}
    got = failures(state=state)
    assert {f.field for f in got} == {"pages of s1", "mlocked of s1", "rss_kb of s1", "vm_locked of s1"}
    assert all(str(f.actual) == 'no vma "table" (it has exited)' for f in got)


def test_kb_fields_must_hold_for_each_process_not_their_sum():
    state = copy.deepcopy(STATE)
    state["processes"]["s0"]["vmas"]["table"]["rss_kb"] = 32
    state["processes"]["s1"]["vmas"]["table"]["rss_kb"] = 0  # the sum is still 32 = 2 x 16
    assert sorted(f.field for f in failures(state=state)) == ["rss_kb of s0", "rss_kb of s1"]


def test_status_and_process_claims():
    report = {"index": 1, "status": ["node0", "node0"], "log": []}
    assert check_step_claims(MOVE, "v5", report, STATE) == []
    (f,) = check_step_claims(MOVE, "v5", dict(report, status=["node0", "-ENOENT"]), STATE)
    assert str(f).endswith('status claimed "node0", got ["node0", "-ENOENT"]')
    state = copy.deepcopy(STATE)
    state["processes"]["s0"]["exited"] = True
    (f,) = check_step_claims(MOVE, "v5", report, state)
    assert (f.field, f.claimed, f.actual) == ("exited", False, True)


def test_missing_report_fields_fail_rather_than_pass():
    (f,) = check_step_claims(READ, "2.6.23", dict(REPORT, faults=None), {**STATE, "frames_used": None})[:1]
    assert f.actual is None
    got = check_step_claims(READ, "2.6.23", {}, {})
    assert {f.field for f in got} >= {"frames_used", "faults"}


def test_check_report_uses_each_steps_state_or_final_for_the_last():
    report = {"kernel": "v5", "steps": [dict(REPORT, state=STATE), {"index": 1, "status": ["node0", "node0"]}],
              "final": STATE}
    assert check_report(LESSON, report) == []
    bad = copy.deepcopy(report)
    bad["final"]["processes"]["s0"]["exited"] = True
    assert [f.step for f in check_report(LESSON, bad)] == [1]
    del bad["steps"][0]["state"]
    with pytest.raises(ValueError, match="--every-step"):
        check_report(LESSON, bad)


def test_numpy_values_in_the_state_compare_as_numbers_and_booleans():
    import numpy as np

    state = copy.deepcopy(STATE)
    state["frames_used"] = np.int64(0)
    state["zero_page"]["line_transfers"] = np.int64(3)
    state["processes"]["s0"]["vmas"]["table"]["vm_locked"] = np.False_
    state["processes"]["s0"]["vmas"]["table"]["mlocked"] = list(np.zeros(8, dtype=bool))
    assert failures(state=state) == []
    state["processes"]["s0"]["vmas"]["table"]["mlocked"] = [0] * 8  # 0 is not false
    (f,) = failures(state=state)
    assert str(f).endswith('mlocked["all"] of s0 claimed false, got 0 at pages 0, 1, 2, 3, 4, ... '
                           "(8 of 8 selected pages)")
