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


def test_the_caption_starts_whole_in_predict_mode_at_720p(make_window):
    """Lesson 9's third question in the real window (menu and status bars) at 1280x720: the question
    and its seven answers leave the caption 100 px for six lines, and the label centred them, cutting
    the first line ("mlock(lookup). ...") through the middle at the top. The caption now shows whole
    lines from its first word, smaller, and ends in an ellipsis when even that is too long."""
    win = make_window(path=LESSONS / "09-mlock-readonly.toml", kernel="v5", size=(1280, 720))
    win.show()
    win.statusBar().showMessage("ready")
    win.set_predict_mode(True)
    stop = sorted(win.lesson.questions)[0]
    win.set_frame(stop)
    win._ask(stop)
    win.render_image((1280, 720))
    assert win.menuBar().isVisible() and win.predict.isVisible()
    say = win.caption.say
    text = say.text()
    room = say.contentsRect().height()
    assert say.heightForWidth(say.width()) > room, "(the case: the caption is squeezed)"
    f, lines = say.shown()
    fm = QtGui.QFontMetrics(f)
    assert len(lines) * fm.lineSpacing() <= room  # whole lines only
    assert lines[0] and text.startswith(lines[0])  # from the first word on
    assert f.pointSize() >= say.MIN_PT
    assert all(fm.horizontalAdvance(line) <= say.contentsRect().width() for line in lines)
    assert lines[-1].endswith("\u2026") or " ".join(lines) == " ".join(text.split())
    assert say.toolTip() == text


def test_the_counters_plots_keep_a_usable_height_in_the_real_720p_window(make_window):
    """Lesson 2 in the window a lecturer sees at 1280x720 (menu and status bars, the program over the
    kernel path): the counters' three rows of plots were 9 px tall each. Where three rows leave less
    than MIN_PLOT_PX the plots go into two, and the dock keeps room for those; the window stays 720 px."""
    from zpviz.gui.counters import MIN_PLOT_PX

    win = make_window(path=LESSONS / "02-sparse-table.toml", kernel="v5", size=(1280, 720))
    win.show()
    win.statusBar().showMessage("ready")
    win.set_step(1)
    win.render_image((1280, 720))
    assert win.menuBar().isVisible() and win.docks["program"].isVisible()
    assert win.height() == 720
    c = win.counters
    assert c.isVisible() and c._rows == 2  # (the case: three rows do not fit)
    for p in (c.access, c.lines, c.zp, c.steps, c.mem):
        assert p.getViewBox().height() >= MIN_PLOT_PX - 1, (p.titleLabel.text, p.getViewBox().height())
    for p in (c.zp, c.steps, c.mem):  # the frame numbers under them stand apart
        ax = p.getAxis("bottom")
        lo, hi = p.getViewBox().viewRange()[0]
        width = ax.geometry().width()
        fm = QtGui.QFontMetrics(ax.style["tickFont"])
        values = sorted(v for _, vs in ax.tickValues(lo, hi, width) for v in vs if lo <= v <= hi)
        gaps = [(b - a) / (hi - lo) * width for a, b in zip(values, values[1:])]
        assert all(g >= fm.horizontalAdvance(f"{max(abs(lo), abs(hi)):.0f}") for g in gaps), values


def _shown_labels(axis) -> list[str]:
    """The labels pyqtgraph draws on `axis` (it drops one that does not fit inside the axis)."""
    img = QtGui.QImage(8, 8, QtGui.QImage.Format.Format_RGB32)
    p = QtGui.QPainter(img)
    try:
        specs = axis.generateDrawSpecs(p)
    finally:
        p.end()
    return [text for _, _, text in specs[2]] if specs else []


def test_the_zero_page_plot_names_its_thousands_at_720p(make_window):
    """Lesson 5 comparing four kernels at 1280x720: some 8,000 zero-page line transfers, and the y
    axis's label "5000" was wider than the axis, so pyqtgraph drew none. Thousands read "5k" now."""
    from zpviz.gui.counters import short_count

    win = make_window(LESSONS / "05-cacheline-bounce.toml", kernel="2.6.23", compare=["2.6.24", "v5", "modern"])
    win.set_step(3)
    win.docks["counters"].show()
    win.docks["counters"].raise_()
    win.render_image((1280, 720))
    c = win.counters
    assert c.zp.getViewBox().viewRange()[1][1] > 2000  # (the case: four-digit counts)
    for plot in (c.zp, c.access, c.steps):
        labels = _shown_labels(plot.getAxis("left"))
        assert labels and all(len(t) <= 4 for t in labels), labels
    assert any(t.endswith("k") for t in _shown_labels(c.zp.getAxis("left")))
    assert [short_count(v) for v in (999, 1000, 1500, 2000, 12500, 20000, 3e6)] == \
        ["999", "1k", "1.5k", "2k", "12.5k", "20k", "3M"]
