"""The Counters view is made when first on screen (gui.lazycounters): behind the tour's Compare tab
it is not made at all, raised it shows the current frame, a screenshot whose front tab is Counters
shows it, and what the window told it before (theme, series, bars, frame) is what it shows."""

from __future__ import annotations

import numpy as np

from zpviz.gui.counters import CountersView
from zpviz.gui.lazycounters import LazyCounters
from zpviz.present import palette, series

from .conftest import BROKEN, COMPARE, SMALL


def _expected_bars(win):
    return series.cpu_bars(win.lesson.lead.frame(win.frame))


def test_the_placeholder_has_the_views_size_hints(qtbot):
    """The window's layout (and every picture of it) is the same before the view is made."""
    slot = LazyCounters(palette.theme("light"))
    qtbot.addWidget(slot)
    hints = (slot.sizeHint(), slot.minimumSizeHint(), slot.minimumSize(), slot.maximumSize(),
             slot.sizePolicy().horizontalPolicy(), slot.sizePolicy().verticalPolicy())
    assert slot.view is None
    view = CountersView(palette.theme("light"))
    qtbot.addWidget(view)
    assert hints == (view.sizeHint(), view.minimumSizeHint(), view.minimumSize(), view.maximumSize(),
                     view.sizePolicy().horizontalPolicy(), view.sizePolicy().verticalPolicy())
    v = slot.build()  # then the slot gives the view's own (a QGraphicsView's follows its scene rect)
    v.resize(300, 200)
    assert (slot.sizeHint(), slot.minimumSizeHint()) == (v.sizeHint(), v.minimumSizeHint())
    assert v.sizeHint() != hints[0]  # (so the check above compares the view's, not a constant)
    assert slot.minimumSize() == v.minimumSize()


def test_counters_behind_compare_are_made_when_their_tab_is_raised(make_window, qtbot):
    win = make_window(compare="v5,2.6.23")
    win.show()
    qtbot.waitExposed(win)
    assert win.counters_slot.view is None  # behind the Compare tab: never made
    last = win.frame_count() - 1
    win.set_frame(last)
    assert win.counters_slot.view is None
    win.docks["counters"].raise_()
    qtbot.waitUntil(lambda: win.counters_slot.view is not None)
    c = win.counters_slot.view
    win.grab()
    assert c._frame == last and c._shown_upto == last
    assert c._series is win.lesson.series
    assert np.array_equal(c._bars.hits, _expected_bars(win).hits)
    assert c._curves[1][0].getData()[0].max() <= last
    win.set_frame(1)  # and it follows the steps from then on
    win.grab()
    assert c._shown_upto == 1 and np.array_equal(c._bars.hits, _expected_bars(win).hits)


def test_a_screenshot_of_a_lesson_in_front_of_counters_shows_them(make_window):
    win = make_window(path=SMALL, kernel="v5")  # one variant: the Counters tab in front
    last = win.frame_count() - 1
    win.set_frame(last)
    assert win.counters_slot.view is None
    win.render_image((1280, 720))
    c = win.counters_slot.view
    assert c is not None and c.isVisibleTo(win) and c.width() > 100 and c.height() >= c.minimumHeight()
    assert c._shown_upto == last
    assert np.array_equal(c._bars.hits, _expected_bars(win).hits)


def test_a_screenshot_of_the_compare_tab_does_not_make_them(make_window):
    win = make_window(compare="v5,2.6.23")
    win.render_image((1280, 720))
    assert win.counters_slot.view is None
    assert win.counters is win.counters_slot.view is not None  # asked for by name: made


def test_a_theme_chosen_before_the_view_is_made_applies(make_window):
    win = make_window(compare="v5,2.6.23", theme="light")
    win.set_theme("dark")
    assert win.counters_slot.view is None
    c = win.counters
    dark = palette.theme("dark")
    assert c.theme.name == "dark"
    assert c.backgroundBrush().color().name() == dark.bg.lower()


def test_a_window_shown_with_counters_in_front_makes_and_shows_them(make_window, qtbot):
    win = make_window(path=SMALL, kernel="v5")
    win.set_frame(2)
    assert win.counters_slot.view is None
    win.show()
    qtbot.waitExposed(win)
    c = win.counters_slot.view
    assert c is not None and c.isVisible() and c.geometry() == win.counters_slot.rect()
    win.grab()
    assert c._shown_upto == 2


def _shown_while_opening(qtbot, settings, path, **kw):
    """A window shown while its first lesson opens in the background, as `zpviz FILE` does."""
    from zpviz.gui.mainwindow import MainWindow

    win = MainWindow(settings=settings)
    qtbot.addWidget(win)
    win.resize(1280, 720)
    win.open_lesson(str(path), **kw)
    win.show()
    qtbot.waitExposed(win)
    return win


def test_not_made_while_the_first_lesson_opens_behind_compare(qtbot, settings):
    """Shown while the tour-like lesson opens, the Counters tab is in front of the empty window;
    the lesson raises Compare over it, so the view is never made."""
    win = _shown_while_opening(qtbot, settings, COMPARE, compare=["v5", "2.6.23"])
    assert win.lesson is None and win.loader.busy  # still opening: (the view would have been made here)
    assert win.counters_slot.view is None
    qtbot.waitUntil(lambda: not win.loader.busy and win.lesson is not None and not win.lesson.pending, timeout=60000)
    assert win.counters_slot.view is None
    win.docks["counters"].raise_()  # and raised later, it is made as before
    qtbot.waitUntil(lambda: win.counters_slot.view is not None)


def test_made_once_the_first_lesson_opens_in_front_of_counters(qtbot, settings):
    win = _shown_while_opening(qtbot, settings, SMALL, kernel="v5")  # one variant: Counters in front
    qtbot.waitUntil(lambda: win.lesson is not None, timeout=60000)
    c = win.counters_slot.view
    assert c is not None and c.isVisible()
    win.grab()
    assert c._series is win.lesson.series and c._shown_upto == win.frame


def test_made_when_the_first_lesson_fails_to_open(qtbot, settings):
    win = _shown_while_opening(qtbot, settings, BROKEN)
    qtbot.waitUntil(lambda: not win.loader.busy and bool(win.last_problems), timeout=60000)
    assert win.lesson is None and win.counters_slot.view is not None  # the empty window, as before
