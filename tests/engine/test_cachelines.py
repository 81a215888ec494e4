"""The watched cache lines: the engine's Ld records agree with the cache model's own counters, the
state at a frame is the replay of the records before it, and watching changes nothing else."""

from __future__ import annotations

import numpy as np
import pytest

from tests.engine.util import lesson
from zpviz.engine import constants as C
from zpviz.engine.cache import ZERO_LINE, CacheModel
from zpviz.engine.columns import Ld, LineState
from zpviz.engine.costs import Costs
from zpviz.engine.record import Recorder
from zpviz.engine.run import simulate
from zpviz.errors import LessonError
from zpviz.scenario import loads

# lesson 5's shape, smaller: 8 CPUs on 2 sockets read, COW half, exit
BODY = """
[[process]]
name = "app"
count = 8
[[vma]]
name = "r"
process = "app"
pages = 64
[[step]]
do = "read"
process = "app*"
vma = "r"
cpus = [0, 1, 2, 3, 4, 5, 6, 7]
[[step]]
do = "write"
process = "app*"
vma = "r"
pages = "0-63/2"
cpus = [0, 1, 2, 3, 4, 5, 6, 7]
[[step]]
do = "exit"
process = "app*"
cpus = [0, 1, 2, 3, 4, 5, 6, 7]
"""
WATCHED = lesson(BODY, cpus=8, extra='sockets = 2\nwatch = ["zero_page_line"]')
PLAIN = lesson(BODY, cpus=8, extra="sockets = 2")


@pytest.fixture(scope="module")
def trace():
    return simulate(loads(WATCHED, "t.toml"), "2.6.23")


def _replay(records: np.ndarray, ncpus: int) -> list[str]:
    """An independent MESI replay of Ld rows: the letters of every CPU's copy."""
    st = ["I"] * ncpus
    for r in records:
        cpu, state = int(r[Ld.CPU]), LineState(int(r[Ld.STATE])).name
        if state == "M" or state == "E":
            st = ["I"] * ncpus
        else:
            st = ["S" if s != "I" else "I" for s in st]
        st[cpu] = state
    return st


def test_transfers_are_the_models_own_count_step_by_step(trace):
    series = trace.scalar_series("zp_line_transfers")
    assert series[-1] > 300  # the lesson bounces the line: a check that can fail
    for s in range(len(trace.scenario.steps)):
        a, b = trace.step_start_frame(s), trace.step_end_frame(s)
        assert len(trace.line_transfers(a, b)) == series[b] - series[a]


def test_every_line_write_that_moved_it_is_a_record(trace):
    # 2.6.23 only writes the zero page's line: a transition is a write that missed (the line was
    # elsewhere), and after the first every one of them is a transfer from the last writer
    rec = trace.line_records()
    assert (rec[:, Ld.STATE] == LineState.M).all()
    assert rec[0, Ld.FROM] == -1 and (rec[1:, Ld.FROM] == rec[:-1, Ld.CPU]).all()
    writes = trace.scalar_series("zp_line_writes")[-1]
    assert len(rec) <= writes


def test_transfer_costs_and_sockets(trace):
    tx = trace.line_transfers()
    costs = Costs()
    sock = [trace.scenario.socket_of(c) for c in range(trace.ncpus)]
    assert list(tx.same_socket) == [sock[a] == sock[b] for a, b in zip(tx.cpu_from, tx.cpu_to)]
    assert set(tx.cost_ns[tx.same_socket]) == {costs.same_socket_ns}
    assert set(tx.cost_ns[~tx.same_socket]) == {costs.cross_socket_ns}
    assert tx.same_socket.any() and (~tx.same_socket).any()


def test_state_at_a_frame_is_the_replay_of_the_events_before_it(trace):
    rng = np.random.default_rng(5)
    frames = sorted({0, 1, len(trace) - 1, *rng.integers(0, len(trace), 40).tolist()})
    for i in frames[::-1] + frames:  # backwards, then forwards: no state carried between reads
        got = trace.line_states(i)
        want = _replay(trace.line_records(0, i), trace.ncpus)
        assert "".join(LineState(int(s)).name for s in got.states) == "".join(want)
        m = [c for c, s in enumerate(want) if s in "ME"]
        assert got.owner == (m[0] if m else -1)
        before = trace.line_records(0, i)
        assert got.last_cpu == (int(before[-1, Ld.CPU]) if len(before) else -1)
    # the line is somewhere in M once the first read fault ran
    assert trace.line_states(len(trace) - 1).owner >= 0


def test_watching_changes_nothing_else():
    a = simulate(loads(WATCHED, "t.toml"), "2.6.23")
    b = simulate(loads(PLAIN, "t.toml"), "2.6.23")
    for name in ("cpu", "kind", "slot", "pfn", "t0", "t1"):
        assert np.array_equal(a.event_column(name), b.event_column(name)), name
    assert np.array_equal(a.scalar_series("time_ns"), b.scalar_series("time_ns"))
    assert a.watched == ("zero_page_line",) and b.watched == ()
    with pytest.raises(KeyError, match="not watched"):
        b.line_states(3)


def test_no_records_where_the_line_is_never_written():
    tr = simulate(loads(WATCHED, "t.toml"), "v5")
    assert len(tr.line_records()) == 0
    assert (tr.line_states(len(tr) - 1).states == LineState.I).all()


def test_mesi_letters_from_the_cache_model():
    """E for a lone reader, S once a second reads, M for a writer with every other copy I."""

    cm = CacheModel(4, [0, 0, 1, 1], Costs())
    rec = Recorder()
    cm.watch_lines([C.LK_ZERO], rec)
    out: list[int] = []
    for e, (cpu, write) in enumerate([(0, False), (1, False), (2, True), (2, True), (3, False)]):
        rec.n_events = e
        cm.access(cpu, 0, [(ZERO_LINE, write)], out)
    ld = rec.line_records()
    assert [LineState(int(s)).name for s in ld[:, Ld.STATE]] == ["E", "S", "M", "S"]  # a hit is no record
    assert list(ld[:, Ld.EVENT]) == [0, 1, 2, 4]
    assert list(ld[:, Ld.FROM]) == [-1, -1, -1, 2]  # only the last came from another cache
    assert _replay(ld, 4) == ["I", "I", "S", "S"]
    cm.access_writes(1, 0, [ZERO_LINE], out)
    assert LineState(int(rec.line_records()[-1, Ld.STATE])).name == "M"


def test_bad_watch_names_the_line():
    with pytest.raises(LessonError, match="zero_page_line"):
        loads(lesson(BODY, cpus=8, extra='watch = ["zero_page"]'), "t.toml")
    with pytest.raises(LessonError, match="watch must be a list"):
        loads(lesson(BODY, cpus=8, extra='watch = "zero_page_line"'), "t.toml")


def test_the_recorder_refuses_records_of_events_that_do_not_exist():
    rec = Recorder()
    rec.ld.extend((5, C.LK_ZERO, 0, int(LineState.M), -1, 80))
    with pytest.raises(RuntimeError, match="ld"):
        rec.check_layout()


def test_the_huge_zero_pages_line_too():
    text = lesson("""
    [[process]]
    name = "w"
    count = 4
    [[vma]]
    name = "big"
    process = "w"
    pages = 1024
    thp = true
    [[step]]
    do = "read"
    process = "w*"
    vma = "big"
    cpus = [0, 1, 2, 3]
    [[step]]
    do = "exit"
    process = "w*"
    cpus = [3, 2, 1, 0]
    """, cpus=4, extra='sockets = 2\nwatch = ["huge_zero_page_line", "zero_page_line"]')
    tr = simulate(loads(text, "t.toml"), "modern")
    series = tr.scalar_series("hzp_line_transfers")
    assert series[-1] > 0
    assert len(tr.line_transfers(line="huge_zero_page_line")) == series[-1]
    assert len(tr.line_transfers(line="zero_page_line")) == tr.scalar_series("zp_line_transfers")[-1]
    end = tr.line_states(len(tr) - 1, "huge_zero_page_line")
    assert end.owner >= 0 and (end.states == LineState.M).sum() == 1
