"""The "Cache line" view model: what it shows at a frame is the trace's state there, whatever was
shown before; its boxes fit and its letters read in every theme."""

from __future__ import annotations

import pytest

from tests.engine.test_cachelines import WATCHED
from zpviz.engine import simulate
from zpviz.engine.columns import LineState
from zpviz.present.cacheline import layout, line_view, state_colours
from zpviz.present.palette import THEMES, lightness, luminance, rgb
from zpviz.scenario import loads


@pytest.fixture(scope="module")
def trace():
    return simulate(loads(WATCHED, "t.toml"), "2.6.23")


def _letters(view) -> str:
    return "".join(b.state for s in view.sockets for b in s)


def test_the_view_is_the_trace_at_that_frame_in_any_order(trace):
    tx = trace.line_transfers()
    frames = [int(e) + 1 for e in tx.event[::37]] + [0, len(trace) - 1]
    for i in frames + frames[::-1]:
        v = line_view(trace, i)
        st = trace.line_states(i)
        assert _letters(v) == "".join(LineState(int(s)).name for s in st.states)
        owners = [b.cpu for s in v.sockets for b in s if b.token]
        assert owners == ([st.owner] if st.owner >= 0 else [])
        assert [len(s) for s in v.sockets] == [4, 4]  # 8 CPUs on 2 sockets


def test_the_current_transfer_is_an_arrow_with_its_cost(trace):
    tx = trace.line_transfers()
    far = [j for j in range(len(tx)) if not tx.same_socket[j]][0]
    e = int(tx.event[far])
    v = line_view(trace, e + 1)
    m = v.move
    assert (m.cpu_from, m.cpu_to, m.cost_ns, m.same_socket, m.current) == (
        int(tx.cpu_from[far]), int(tx.cpu_to[far]), int(tx.cost_ns[far]), False, True)
    assert "across sockets" in m.text and f"{m.cost_ns} ns" in m.text
    # a frame later the same move is still the latest, no longer the current event's
    later = line_view(trace, e + 2)
    if trace.line_records(e + 1, e + 2).shape[0] == 0:
        assert later.move.event == e and not later.move.current
    assert line_view(trace, 0).move is None and line_view(trace, 0).totals == "no transfer so far"
    n = len(trace.line_transfers(0, e + 1))
    assert f"{n:,} transfers" in v.totals


def test_no_view_for_a_lesson_that_watches_nothing():
    t = simulate(loads(WATCHED.replace('watch = ["zero_page_line"]', ""), "t.toml"), "2.6.23")
    assert line_view(t, 5) is None


@pytest.mark.parametrize("ncpus,sockets", [(16, 2), (64, 4), (2, 1)])
def test_boxes_fit_without_overlap_at_projector_size(ncpus, sockets):
    text = WATCHED.replace("cpus = 8", f"cpus = {ncpus}").replace("sockets = 2", f"sockets = {sockets}")
    text = text.replace("count = 8", "count = 2").replace("cpus = [0, 1, 2, 3, 4, 5, 6, 7]", "cpus = [0, 1]")
    t = simulate(loads(text, "t.toml"), "2.6.23")
    v = line_view(t, len(t) - 1)
    x, y, w, h = 4, 46, 420, 260  # the dock at 1280x720, less its heading and legend
    g = layout(v, x, y, w, h)
    rects = list(g.boxes.values())
    assert len(rects) == ncpus
    for r in rects:
        assert x <= r.x and r.x + r.w <= x + w and y <= r.y and r.y + r.h <= y + h
        assert r.w >= 24 and r.h >= 20  # a state letter and a CPU number fit
    for i, a in enumerate(rects):
        for b in rects[i + 1:]:
            assert a.x + a.w <= b.x or b.x + b.w <= a.x or a.y + a.h <= b.y or b.y + b.h <= a.y
    assert g.letter_px >= 10


def _contrast(a: str, b: str) -> float:
    la, lb = sorted((luminance(rgb(a)), luminance(rgb(b))), reverse=True)
    return (la + 0.05) / (lb + 0.05)


@pytest.mark.parametrize("name", list(THEMES))
def test_state_letters_read_in_every_theme(name):
    th = THEMES[name]
    c = state_colours(th)
    for k in "MES":
        fill, text = c[k]
        assert _contrast(fill, text) >= 3.0, (k, fill, text)
        assert _contrast(fill, th.panel) >= 1.3, (k, "the box must stand out of the panel")
    # M, E and S differ in lightness too, for a grey-scale projector
    ls = sorted(lightness(rgb(c[k][0])) for k in "MES")
    assert min(b - a for a, b in zip(ls, ls[1:])) >= 5


def test_a_cached_trace_keeps_its_line_records(trace, tmp_path):
    from zpviz.present.tracecache import TraceCache

    cache = TraceCache(tmp_path)
    sc = trace.scenario
    trace.line_states(len(trace) // 2)  # its keyframes built: they are stored too, or rebuilt
    assert cache.put(trace, sc, "2.6.23")
    back = cache.get(sc, "2.6.23")
    assert back is not None and back.watched == trace.watched
    for i in (0, 7, len(trace) // 3, len(trace) - 1):
        assert _letters(line_view(back, i)) == _letters(line_view(trace, i))
    assert len(back.line_transfers()) == len(trace.line_transfers())
