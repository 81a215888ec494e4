"""The "Cache line" dock: shown for a lesson that watches the zero page's line, following the
frame forwards and backwards from the trace, hidden for lessons that watch nothing."""

from __future__ import annotations

import pytest

from tests.engine.test_cachelines import WATCHED
from zpviz.engine.columns import LineState


@pytest.fixture
def watched_file(tmp_path):
    p = tmp_path / "bounce.toml"
    p.write_text(WATCHED)
    return p


def _letters(win) -> str:
    return "".join(b.state for s in win.cacheline.view.sockets for b in s)


def test_the_dock_follows_playback_both_ways(make_window, watched_file):
    win = make_window(watched_file, kernel="2.6.23")
    dock = win.docks["cacheline"]
    assert dock.isVisibleTo(win) and "2.6.23" in dock.titleBarWidget().heading()
    tr = win.lesson.lead
    tx = tr.line_transfers()
    frames = [int(tx.event[j]) + 1 for j in (5, 40, 90)]
    for f in frames + frames[::-1] + [0]:
        win.set_frame(f)
        want = "".join(LineState(int(s)).name for s in tr.line_states(f).states)
        assert _letters(win) == want
    win.set_frame(frames[1])
    m = win.cacheline.view.move
    j = 40
    assert m.current and (m.cpu_from, m.cpu_to, m.cost_ns) == (int(tx.cpu_from[j]), int(tx.cpu_to[j]),
                                                              int(tx.cost_ns[j]))
    # it draws: the owner's box is in M's colour somewhere in the dock's pixels
    win.cacheline.resize(430, 330)
    img = win.cacheline.grab().toImage()
    from zpviz.present.cacheline import state_colours
    m_fill = state_colours(win.theme)["M"][0].lower()
    seen = {img.pixelColor(x, y).name() for x in range(0, 430, 3) for y in range(40, 300, 3)}
    assert m_fill in seen


def test_themes_and_hidden_for_lessons_that_watch_nothing(make_window, watched_file):
    win = make_window(watched_file, kernel="2.6.23")
    for name in ("dark", "contrast", "light"):
        win.set_theme(name)
        assert win.cacheline.theme.name == name
    win2 = make_window()  # the small lesson: no watch
    assert not win2.docks["cacheline"].isVisibleTo(win2)


def test_the_token_travels_one_hop_forward_and_never_offscreen(make_window, watched_file, qtbot):
    win = make_window(watched_file, kernel="2.6.23")
    w = win.cacheline
    assert not w.animate  # offscreen: screenshots and exports show each frame's final picture
    tr = win.lesson.lead
    tx = tr.line_transfers()
    e0, e1 = int(tx.event[10]), int(tx.event[11])
    w.animate = True  # as on a real screen
    win.set_frame(e0 + 1)
    win.set_frame(e1 + 1)  # the next transfer: the token travels
    assert w.travelling and w.view.move.seq == len(tr.line_records(0, e1 + 1))
    qtbot.waitUntil(lambda: not w.travelling, timeout=3000)
    win.set_frame(e0 + 1)  # backwards: no trip, the state is simply the trace's
    assert not w.travelling
    win.set_frame(int(tx.event[40]) + 1)  # a jump: no trip either
    assert not w.travelling


@pytest.mark.parametrize("ncpus,sockets", [(64, 4), (16, 2)])
def test_readable_on_a_720p_projector(make_window, tmp_path, ncpus, sockets):
    """Lesson 6's shape (64 CPUs, four sockets) and lesson 5's (16 on two) in the window at
    1280x720: every word at least the app's body size and whole, the last hops as big boxes, and
    every CPU's state in its socket's strip."""
    from PySide6 import QtGui

    from tests.present.test_cacheline import _shape
    from zpviz.gui.theme import BASE_PT

    p = tmp_path / "storm.toml"
    p.write_text(_shape(ncpus, sockets))
    win = make_window(p, kernel="2.6.23", size=(1280, 720))
    win.show()
    w = win.cacheline
    tr = win.lesson.lead
    tx = tr.line_transfers()
    far = [j for j in range(len(tx)) if not tx.same_socket[j]][2]
    frame = int(tx.event[far]) + 1
    win.set_frame(frame)
    w.grab()  # paints: the layout drawn is the one checked
    g, v = w.geometry_, w.view
    assert g is not None and w.width() >= 380  # the dock's share of a 720p window
    for f in (w.body, w.bold, w.mono, w.number, w.letter):
        assert f.pointSize() >= BASE_PT
    assert w.number.pointSize() >= 20  # the boxes' CPU numbers: the biggest words in the dock
    # the last three hops at least, as boxes tall enough for a number and a letter
    assert len(g.nodes) >= 4 and all(n.rect.h >= 48 and n.rect.w >= 40 for n in g.nodes)
    assert g.nodes[-1].box.cpu == int(tx.cpu_to[far]) and g.edges[-1].hop.cost_ns == int(tx.cost_ns[far])
    # the words fit: the heading and the totals whole, each strip segment's CPUs and state whole
    for text, f in ((v.move.text, w.bold), (v.totals, w.body)):
        assert QtGui.QFontMetrics(f).horizontalAdvance(text) <= w.width() - 16, text
    fm = QtGui.QFontMetricsF(w.mono)
    states = tr.line_states(frame).states
    seen = []
    for strip in g.strips:
        for seg, r in strip.pieces:
            assert fm.horizontalAdvance(seg.text) + 4 <= r.w, (seg.text, r.w)
            assert all(LineState(int(states[c])).name == seg.state for c in range(seg.first, seg.last + 1))
            seen += range(seg.first, seg.last + 1)
    assert sorted(seen) == list(range(ncpus))
    # nothing below the legend's row or past the dock's edge
    bottom = w.height() - w.legend_h()
    rects = [n.rect for n in g.nodes] + [r for _, r in g.brackets] + [r for s in g.strips for _, r in s.pieces]
    assert all(r.x >= 0 and r.right <= w.width() and r.y >= w.heading_h() - 1 and r.bottom <= bottom for r in rects)


def test_heading_whole_in_the_full_720p_window(make_window):
    """Lesson 5 as it opens (four kernels compared) at 1280x720: the dock is narrower than alone, and
    the totals were cut ("4,095 transfers · 511 across sockets · 204.7…"). The heading breaks at its
    " · " onto another line instead: every word shows, and the stage starts below it."""
    from pathlib import Path

    from PySide6 import QtGui

    lesson = Path(__file__).parents[2] / "scenarios" / "05-cacheline-bounce.toml"
    win = make_window(lesson, kernel=None, size=(1280, 720))
    win.set_step(1)
    win.docks["cacheline"].show()
    win.docks["cacheline"].raise_()
    win.render_image((1280, 720))
    w = win.cacheline
    w.grab()
    lines = w._heading_lines(w.width())
    shown = " \u00b7 ".join(text for text, _, _ in lines)
    for text, f, _ in lines:
        assert QtGui.QFontMetrics(f).horizontalAdvance(text) <= w.width() - 16, text
    assert w.view.totals in shown and w.view.move.text in shown
    assert len(lines) > 2  # (this window is narrow enough that the totals take two lines)
    assert all(n.rect.y >= w.heading_h() - 1 for n in w.geometry_.nodes)
