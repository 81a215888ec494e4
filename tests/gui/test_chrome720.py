"""The window's chrome at 1280x720 (a projector): the docks' tabs, the caption in predict mode, the
counters' plots with the menu and status bars, the zero-page plot's labels."""

from __future__ import annotations

from pathlib import Path

from PySide6 import QtGui, QtWidgets

LESSONS = Path(__file__).parents[2] / "scenarios"


def test_every_dock_tab_reads_whole_at_720p_and_the_docks_name_their_kernel(make_window):
    """Lesson 5 comparing four kernels: "Compare", "Per-CPU counters · 2.6.23", "Inspector" and
    "Cache line · 2.6.23" shared some 380 px and Qt cut them to "C…", "Per-CPU counters ·…". The
    tabs now say the short names, whole, and the bar over each dock says whose it is."""
    from zpviz.gui.docktitle import DockTitle

    win = make_window(LESSONS / "05-cacheline-bounce.toml", kernel="2.6.23", compare=["2.6.24", "v5", "modern"])
    win.set_step(1)
    win.render_image((1280, 720))
    bars = [tb for tb in win.findChildren(QtWidgets.QTabBar) if tb.count() >= 4]
    assert bars, "the right column's docks are tabbed"
    for tb in bars:
        texts = [tb.tabText(i) for i in range(tb.count())]
        assert {"Compare", "Counters", "Inspector", "Cache line"} <= set(texts)
        for i in range(tb.count()):
            assert tb.tabRect(i).width() >= tb.tabSizeHint(i).width(), (texts[i], tb.tabRect(i).width())
    assert bars[0].tabText(bars[0].currentIndex()) == "Cache line"  # the lesson opens on its cache line
    for name, heading in (("counters", "Per-CPU counters \u00b7 2.6.23"), ("cacheline", "Cache line \u00b7 2.6.23")):
        dock = win.docks[name]
        dock.show()
        dock.raise_()
        win.render_image((1280, 720))
        bar = dock.titleBarWidget()
        assert isinstance(bar, DockTitle) and bar.heading() == heading
        assert bar.label.isVisibleTo(win)
        assert QtGui.QFontMetrics(bar.label.font()).horizontalAdvance(heading) <= bar.label.width(), heading
