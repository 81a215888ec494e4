"""Compare mode: alignment by lesson step, and the table of what differs."""

from __future__ import annotations

import pytest

from zpviz.engine import VARIANTS
from zpviz.present import compare as CMP


def test_step_ends_align_with_step_ends(traces):
    lead = traces["v5"]
    for other in traces.values():
        for s in range(len(lead.step_results)):
            assert CMP.aligned_frame(lead, lead.step_end_frame(s), other) == other.step_end_frame(s)
            assert other.step_of_frame(CMP.aligned_frame(lead, lead.step_end_frame(s), other)) == s
        assert CMP.aligned_frame(lead, 0, other) == 0


def test_alignment_is_monotone_and_stays_in_the_step(traces):
    lead, other = traces["v5"], traces["2.6.24"]
    prev = 0
    for f in range(len(lead)):
        g = CMP.aligned_frame(lead, f, other)
        assert g >= prev
        prev = g
        if f:
            assert other.step_of_frame(g) == lead.step_of_frame(f)


def test_diff_rows(traces):
    ts = [traces["2.6.23"], traces["2.6.24"], traces["v5"]]
    frames = [t.step_end_frame(1) for t in ts]
    rows = {r.label: r for r in CMP.diff_rows(ts, frames)}
    mem = rows["memory used"]
    assert mem.differs and mem.raw[1] > mem.raw[0] == mem.raw[2] == 0
    assert mem.best == (True, False, True)
    assert rows["zero-page line transfers so far"].raw[0] > 0 == rows["zero-page line transfers so far"].raw[2]
    assert not rows["faults so far"].differs
    # the step's own faults beside the run's total, both counted from the events
    assert rows["faults this step"].raw == tuple(t.step_results[1].faults for t in ts)
    assert rows["faults so far"].raw == tuple(sum(r.faults for r in t.step_results[:2]) for t in ts)
    text = CMP.summary_text(list(rows.values()), ("2.6.23", "2.6.24", "v5"))
    assert "memory used" in text and "faults" not in text


def test_parse_compare():
    assert CMP.parse_compare("2.6.23,v5") == ("2.6.23", "v5")
    assert CMP.parse_compare(["2.6.23", "v5,modern"]) == ("2.6.23", "v5", "modern")
    assert CMP.parse_compare("v5,v5") == ("v5",)
    assert CMP.parse_compare(None) == ()
    assert CMP.parse_compare("2.6.31,v5") == ("2.6.24", "v5")  # 2.6.31 names the 2.6.24 model
    assert CMP.parse_compare("2.6.24,2.6.31") == ("2.6.24",)
    assert CMP.parse_compare(",".join(VARIANTS)) == tuple(VARIANTS)  # all five: the most there are
    with pytest.raises(ValueError, match="unknown"):
        CMP.parse_compare("v5,2.6.99")


def test_times_in_the_table_take_three_figures():
    """Five of them side by side in a 720p dock: "474.7 µs" wrapped onto two lines."""
    f = CMP.short_ns_text
    assert [f(x) for x in (0, 999, 1_000, 9_994, 10_000, 474_700, 999_600, 1_234_000, 12_340_000, 2.5e9)] == [
        "0 ns", "999 ns", "1.00 µs", "9.99 µs", "10.0 µs", "475 µs", "1.00 ms", "1.23 ms", "12.3 ms", "2.50 s"]
