"""Opening a comparison: the leading variant's picture shows as soon as it is simulated; the
others wait in their own panes, saying what is happening, and join when ready."""

from __future__ import annotations

import threading

import pytest

from tests.gui.conftest import COMPARE
from zpviz.present import session
from zpviz.present.tracecache import simulate_cached


@pytest.fixture
def held(monkeypatch):
    """The variants after the leading one are simulated only once the test lets them go."""
    go = threading.Event()
    simulated = []

    def gated(scenario, variant, progress=None, cache=None, store=True):
        if simulated:
            assert go.wait(30), "the test never let the other variants go"
        simulated.append(variant)
        return simulate_cached(scenario, variant, progress, cache, store)

    monkeypatch.setattr(session, "simulate_cached", gated)
    yield go
    go.set()  # never leave the loader's thread waiting


def open_async(make_window, qtbot):
    win = make_window(path=None)
    win.open_lesson(str(COMPARE), None, None)
    assert "Opening compare.toml" in win.welcome.text()  # not "No lesson open" while it loads
    qtbot.waitUntil(lambda: win.lesson is not None, timeout=20000)
    return win


def test_the_first_variant_shows_while_the_others_load(make_window, qtbot, held):
    win = open_async(make_window, qtbot)
    L = win.lesson
    assert L.kernels == ("v5",) and L.pending == ("2.6.23", "2.6.24")
    assert len(win.panes) == 3  # laid out for all three from the start: nothing jumps when they join
    lead, *waiting = win.panes
    assert not lead.is_waiting and not lead.view.isHidden()
    assert all(p.is_waiting and p.view.isHidden() for p in waiting)
    assert [p.title.full_text().split(":")[0] for p in win.panes] == ["v5 patch", "2.6.23", "2.6.31"]
    qtbot.waitUntil(lambda: "Simulating under 2.6.23" in waiting[0].waiting_text.text(), timeout=20000)
    assert "2.6.23" in waiting[1].waiting_text.text() and win.busy_bar.isVisibleTo(win)
    # the lecturer can already step through the leading variant
    win.set_step(1)
    frame = win.frame
    assert frame > 0 and win.caption.say.text()

    held.set()
    qtbot.waitUntil(lambda: not win.lesson.pending, timeout=20000)
    L = win.lesson
    assert L.kernels == ("v5", "2.6.23", "2.6.24") and len(L.traces) == 3
    assert not any(p.is_waiting for p in win.panes) and len(win.panes) == 3
    assert win.frame == frame  # joining variants does not move the lecture
    assert win.diff.columnCount() == 3 and not win.busy_bar.isVisibleTo(win)
    assert all(p.status.text() for p in win.panes)  # each pane says what its event did


def test_cancelling_keeps_the_ready_variant_alone(make_window, qtbot, held):
    win = open_async(make_window, qtbot)
    assert win.lesson.pending
    win.cancel_loading()
    assert win.lesson.kernels == ("v5",) and not win.lesson.pending
    assert len(win.panes) == 1 and not win.panes[0].is_waiting
    held.set()
    qtbot.wait(50)
    assert win.lesson.kernels == ("v5",)  # the cancelled variants never arrive late


def test_a_sync_open_shows_every_variant_at_once(make_window):
    win = make_window(path=COMPARE, kernel=None)  # screenshots and exports: the finished lesson
    assert win.lesson.kernels == ("v5", "2.6.23", "2.6.24") and not win.lesson.pending
    assert not any(p.is_waiting for p in win.panes)


def test_a_lesson_from_the_trace_cache_shows_the_same_picture(make_window, tmp_path, monkeypatch):
    from tests.gui.conftest import SMALL
    from zpviz.present import tracecache

    monkeypatch.delenv("ZPVIZ_NO_CACHE", raising=False)
    monkeypatch.setenv("ZPVIZ_CACHE_DIR", str(tmp_path / "cache"))
    fresh = make_window(path=SMALL, kernel="v5", size=(960, 540))
    assert len(list((tmp_path / "cache").glob("*.npz"))) == 1
    fresh.set_step(3)
    monkeypatch.setattr(tracecache, "simulate", lambda *a, **k: pytest.fail("simulated although cached"))
    cached = make_window(path=SMALL, kernel="v5", size=(960, 540))
    cached.set_step(3)
    assert cached.frame == fresh.frame
    assert cached.render_image((960, 540)) == fresh.render_image((960, 540))


def test_the_next_in_line_says_it_is_being_simulated(make_window, qtbot, monkeypatch):
    """As the queue moves, a waiting pane's words move with it: once 2.6.23 has joined, 2.6.24 is the
    one being simulated, no longer 'waiting for 2.6.23'."""
    go = threading.Event()

    def gated(scenario, variant, progress=None, cache=None, store=True):
        if variant == "2.6.24":
            assert go.wait(30), "the test never let 2.6.24 go"
        return simulate_cached(scenario, variant, progress, cache, store)

    monkeypatch.setattr(session, "simulate_cached", gated)
    try:
        win = make_window(path=None)
        win.open_lesson(str(COMPARE), None, None)
        qtbot.waitUntil(lambda: win.lesson is not None and win.lesson.pending == ("2.6.24",), timeout=20000)
        last = win.panes[2]
        qtbot.waitUntil(lambda: last.waiting_text.text() == "Simulating under 2.6.24 ...", timeout=20000)
        assert last.is_waiting
    finally:
        go.set()
    qtbot.waitUntil(lambda: not win.lesson.pending, timeout=20000)
