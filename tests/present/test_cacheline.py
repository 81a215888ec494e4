"""The "Cache line" view model: what it shows at a frame is the trace's state there, whatever was
shown before; its boxes fit and its letters read in every theme."""

from __future__ import annotations

import pytest

from tests.engine.test_cachelines import WATCHED
from zpviz.engine import simulate
from zpviz.engine.columns import Ld, LineState
from zpviz.present.cacheline import Sizes, layout, line_view, state_colours
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


def _shape(ncpus: int, sockets: int) -> str:
    """WATCHED with `ncpus` CPUs on `sockets` sockets, one small process per CPU (lesson 6's shape)."""
    cpus = ", ".join(str(c) for c in range(ncpus))
    text = WATCHED.replace("cpus = 8", f"cpus = {ncpus}").replace("sockets = 2", f"sockets = {sockets}")
    text = text.replace("count = 8", f"count = {ncpus}").replace("pages = 64", "pages = 4").replace("0-63/2", "0-3/2")
    return text.replace("cpus = [0, 1, 2, 3, 4, 5, 6, 7]", f"cpus = [{cpus}]")


# what the gui measures at 1280x720 (12 pt bold, 20 pt numbers), roughly: text 9 px a character
SIZES = Sizes(row_h=27, label_w=75, node_w=50, node_h=58, edge_w=36, cost_h=23, bracket_h=23,
              text_w=lambda s: 9.0 * len(s))


@pytest.mark.parametrize("ncpus,sockets", [(16, 2), (64, 4), (2, 1), (128, 2)])
def test_every_cpu_is_in_its_socket_strip_once_and_the_words_fit(ncpus, sockets):
    t = simulate(loads(_shape(ncpus, sockets), "t.toml"), "2.6.23")
    x, y, w, h = 4, 48, 427, 240  # the dock at 1280x720, less its heading and legend
    tx = t.line_transfers()
    for frame in (0, int(tx.event[len(tx) // 2]) + 1, len(t) - 1):
        v = line_view(t, frame)
        st = t.line_states(frame)
        g = layout(v, x, y, w, h, SIZES)
        assert [s.socket for s in g.strips] == list(range(sockets))
        seen = []
        for strip in g.strips:
            right = strip.label.right
            for seg, r in strip.pieces:
                # inside the dock, left to right, no overlap
                assert r.x >= right - 1e-6 and r.right <= x + w + 1e-6 and y <= r.y and r.bottom <= y + h
                right = r.right
                for cpu in range(seg.first, seg.last + 1):
                    assert t.scenario.socket_of(cpu) == strip.socket
                    assert LineState(int(st.states[cpu])).name == seg.state
                    seen.append(cpu)
                # a CPU holding the line is its own segment, its number and state readable
                assert seg.token == (seg.first == st.owner)
                if seg.token or ncpus <= 64:
                    assert r.w >= SIZES.text_w(seg.text), (seg, r)
        assert sorted(seen) == list(range(ncpus))  # every CPU's state, exactly once


def test_the_stage_chains_the_last_transfers_and_groups_them_by_socket():
    t = simulate(loads(_shape(64, 4), "t.toml"), "2.6.23")
    tx = t.line_transfers()
    far = [j for j in range(len(tx)) if not tx.same_socket[j]][3]
    v = line_view(t, int(tx.event[far]) + 1)
    g = layout(v, 4, 48, 427, 240, SIZES)
    k = len(g.nodes)
    assert k >= 4  # three hops at least, at projector size
    want = [int(tx.cpu_from[j]) for j in range(far - k + 2, far + 1)] + [int(tx.cpu_to[far])]
    assert all(int(tx.cpu_to[j]) == int(tx.cpu_from[j + 1]) for j in range(far - k + 2, far))  # one chain
    assert [n.box.cpu for n in g.nodes] == want
    last = g.edges[-1].hop
    assert last.current and not last.same_socket and last.cost_ns == int(tx.cost_ns[far])
    for n in g.nodes:  # each box shows that CPU's copy now
        assert n.box.state == LineState(int(t.line_states(int(tx.event[far]) + 1).states[n.box.cpu])).name
    for a, b in zip(g.nodes, g.nodes[1:]):
        assert a.rect.right + SIZES.edge_w <= b.rect.x + 1e-6
    # brackets: consecutive boxes on one socket share one; a hop across sockets crosses a boundary
    sockets = [s for s, _ in g.brackets]
    assert sockets == [s for i, s in enumerate(n.box.socket for n in g.nodes)
                       if i == 0 or g.nodes[i - 1].box.socket != s]
    assert len(g.brackets) >= 2
    # before any transition: no box; the first access from memory: the CPU that took it, alone
    assert layout(line_view(t, 0), 4, 48, 427, 240, SIZES).nodes == ()
    first = int(t.line_records()[0][Ld.EVENT]) + 1
    v1 = line_view(t, first)
    assert not v1.hops and v1.move.cpu_from < 0
    assert [n.box.cpu for n in layout(v1, 4, 48, 427, 240, SIZES).nodes] == [v1.move.cpu_to]


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
