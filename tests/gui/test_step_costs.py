"""What a window step no longer does again: the work that only repeats what is on screen."""

from __future__ import annotations

import pytest

from zpviz.gui.caption import CaptionBar
from zpviz.gui.counters import CountersView, nice_top
from zpviz.present import series
from zpviz.present.palette import theme


@pytest.mark.parametrize("x", [0.0, 0.4, 1.0, 1.2, 2.9, 7.0, 11.0, 345.0, 1001.0, 2.3e6])
def test_the_bar_charts_range_moves_in_nice_steps_and_keeps_the_bar_big(x):
    top = nice_top(x)
    assert top >= x and (x <= 1 or top <= 1.5 * x)  # the tallest bar fills 2/3 of the chart or more
    mantissa = top / 10 ** len(str(int(top))[1:])
    assert mantissa in (1, 1.5, 2, 3, 4, 5, 6, 8, 10)


def test_the_counters_draw_bars_only_when_they_changed_and_can_be_seen(qtbot, small_lesson, monkeypatch):
    from PySide6 import QtWidgets

    host = QtWidgets.QTabWidget()  # as behind the Compare tab: a page that is not current is hidden
    qtbot.addWidget(host)
    v = CountersView(theme("light"))
    host.addTab(QtWidgets.QLabel("compare"), "Compare")
    host.addTab(v, "Counters")
    host.resize(500, 500)
    host.show()
    drawn = []
    real = CountersView._draw_bars
    monkeypatch.setattr(CountersView, "_draw_bars", lambda self, b: drawn.append(b) or real(self, b))
    tr = small_lesson.lead
    first, last = series.cpu_bars(tr.frame(1)), series.cpu_bars(tr.frame(len(tr) - 1))
    v.set_bars(first)
    v.set_bars(last)
    assert drawn == [] and not v.isVisible()  # waiting behind the other tab
    host.setCurrentIndex(1)
    assert drawn == [last]  # shown: the latest bars, once
    v.set_bars(series.cpu_bars(tr.frame(len(tr) - 1)))  # the same values again: nothing to draw
    assert drawn == [last]
    v.set_bars(first)
    assert drawn == [last, first]
    assert list(v.hit_bars.opts["height"]) == [float(h) for h in first.hits]


def test_the_caption_measures_its_narration_only_when_it_changes(qtbot, monkeypatch):
    from PySide6 import QtGui

    bar = CaptionBar()
    qtbot.addWidget(bar)
    bar.resize(900, 200)
    bar.set_scale(1.0, max_height=40)  # room for about one line: a long narration gets smaller
    measured = []
    real = QtGui.QFontMetrics.boundingRect
    monkeypatch.setattr(QtGui.QFontMetrics, "boundingRect", lambda self, *a: measured.append(1) or real(self, *a))
    from zpviz.present.captions import Caption

    long = "A narration long enough to need more than one line at the biggest size, " * 3
    cap = Caption(step=0, n_steps=2, say=long, counter="Step 1 of 2", detail="event 1", kernel="v5", lesson="l")
    bar.set_caption(cap)
    n = len(measured)
    assert n > 1 and bar.say.font().pointSize() < 30  # fitted: shrunk below the largest size
    bar.set_caption(cap)  # the next event of the same step
    assert len(measured) == n
    bar.set_scale(1.0, max_height=90)  # more room: measured again
    assert len(measured) > n


def test_counters_in_a_dock_tabbed_away_draw_their_frame_when_painted(make_window):
    """Qt does not hide a dock tabbed behind another: it moves it outside the window. The counters
    there (behind Compare) leave their lines and bars as they are until a paint could show them."""
    win = make_window(compare="v5,2.6.23")
    win.layout().activate()  # the docks where a shown window has them
    c = win.counters
    dock = win.docks["counters"]
    assert not dock.isHidden() and not win.rect().intersects(dock.geometry())  # tabbed away, not hidden
    last = win.frame_count() - 1
    win.set_frame(last)
    assert c._shown_upto != last
    win.grab()  # nothing paints it there
    assert c._shown_upto != last
    win.docks["counters"].raise_()
    win.layout().activate()
    win.grab()
    assert c._shown_upto == last and c._curves[1][0].getData()[0].max() <= last
