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
    assert dock.isVisibleTo(win) and "2.6.23" in dock.windowTitle()
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
