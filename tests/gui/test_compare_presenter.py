"""Compare mode in the window, and the presenter view."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from PySide6 import QtGui, QtWidgets

from zpviz.present import compare as CMP

from .conftest import COMPARE


def test_compare_aligns_variants_by_step(make_window):
    win = make_window(path=COMPARE, kernel=None)
    L = win.lesson
    assert L.kernels == ("v5", "2.6.23", "2.6.24") and len(win.panes) == 3
    assert win.docks["compare"].isVisibleTo(win)
    for k in range(len(L.lead.step_results)):
        win.set_step(k)
        for i, pane in enumerate(win.panes):
            f = pane.view.picture.frame
            assert f == L.traces[i].step_end_frame(k)
    mid = L.lead.step_results[1].first_event + 10
    win.set_frame(mid)
    for i, pane in enumerate(win.panes):
        assert L.traces[i].step_of_frame(pane.view.picture.frame) == 1
        assert pane.view.picture.frame == CMP.aligned_frame(L.lead, mid, L.traces[i])


def test_compare_summary_says_what_differs(make_window):
    win = make_window(path=COMPARE, kernel=None)
    win.set_step(1)
    labels = [win.diff.verticalHeaderItem(r).toolTip() for r in range(win.diff.rowCount())]
    assert labels[:6] == ["memory used", "page tables", "faults this step", "faults so far",
                          "Bad page maps so far", "zero-page line transfers so far"]
    assert [win.diff.horizontalHeaderItem(c).text() for c in range(3)] == ["v5", "2.6.23", "2.6.24"]
    assert win.diff.cell_text(0, 0) == "0 KiB" and win.diff.cell_text(0, 2) == "256 KiB"
    assert "memory used" in win.diff_summary.text()
    assert "comparing v5" in win.caption.kernel.text()
    # at the step's end each pane's status is its own outcome line (present.outcome)
    assert "\u2192 zero page, 0 new pages" in win.panes[0].status.text()
    assert "new zeroed pages" in win.panes[2].status.text()
    win.set_frame(win.lesson.lead.step_results[1].first_event + 2)  # part-way: the current event
    assert "mapped the zero page" in win.panes[0].status.text()


def test_compare_menu_and_programmatic(make_window):
    win = make_window()
    win.set_compare(("2.6.23", "v5", "modern", "2.6.24", "2.6.32"), sync=True)
    assert len(win.panes) == 5 and win.lesson.compare
    assert all(win.compare_actions[k].isChecked() for k in win.lesson.kernels)
    img = win.render_image((1920, 1080))
    assert not img.isNull()
    win.set_compare((), sync=True)
    assert len(win.panes) == 1 and not win.docks["compare"].isVisibleTo(win)


@pytest.mark.parametrize("size", [(1280, 720), (1024, 768), (1920, 1080)])
def test_five_variants_fit_a_projector(make_window, size):
    """Five variants in a 720p window: the window stays the screen's size (the panes stacked
    used to need 1,046 px and push it past the bottom of the screen). Every title shows its kernel
    id; each line is whole or visibly cut, never clipped; all titles share one size and one
    number of lines, so the grids under them start level."""
    lesson = Path(__file__).parents[2] / "scenarios" / "04-cow-from-zero.toml"
    win = make_window(path=lesson, size=(640, 400))  # opened small, as a first run may be
    win.set_compare(("2.6.23", "2.6.24", "v5", "2.6.32", "modern"), sync=True)
    img = win.render_image(size)
    assert (img.width(), img.height()) == size and (win.width(), win.height()) == size
    titles = [p.title for p in win.panes]
    from zpviz.scenario.model import variant_aliases

    for t, kid in zip(titles, win.lesson.kernels):
        ids = (kid, *variant_aliases(kid))  # the 2.6.24 model is titled by what it models, 2.6.31
        assert t.text().startswith(ids) and t.full_text().startswith(ids)
        words = t.full_text().replace(":", "").split()
        for line in t.text().split("\n"):
            assert t.fontMetrics().horizontalAdvance(line) <= t.width()
            assert line.endswith("\u2026") or all(w in words for w in line.replace(":", "").split())
    assert len({(t.font().pointSize(), t.height()) for t in titles}) == 1
    assert titles[0].font().pointSize() >= 10
    grids = {p.view.mapTo(win, p.view.rect().topLeft()).y() for p in win.panes}
    assert len(grids) == 1
    for p in win.panes:  # the vmas' titles inside the grids stay inside their pane too
        vb = p.view.space.getViewBox()
        shown = [t for t in p.view.space.headers if t.isVisible()]
        assert shown
        for t in shown:
            text = t.textItem.toPlainText()
            assert text and QtGui.QFontMetrics(t.textItem.font()).horizontalAdvance(text) <= vb.width()


@pytest.mark.parametrize("size,n,two_lines", [((1920, 1080), 4, False), ((1280, 720), 4, True), ((1280, 720), 5, True)])
def test_compare_table_names_give_way_to_values(make_window, size, n, two_lines):
    """Row names take one line where the dock has room; in a 720p window they break onto two so
    every value keeps a column wide enough to read ("236.1 µs" is not cut to "2…")."""
    lesson = Path(__file__).parents[2] / "scenarios" / "04-cow-from-zero.toml"
    win = make_window(path=lesson, kernel=None, size=size)
    win.set_compare(("2.6.23", "2.6.24", "v5", "2.6.32", "modern")[:n], sync=True)
    win.render_image(size)
    t = win.diff
    names = [t.verticalHeaderItem(r).text() for r in range(t.rowCount())]
    zero = next(n for n in names if n.replace("\n", " ") == "zero-page line moves so far")
    assert ("\n" in zero) == two_lines
    assert [t.verticalHeaderItem(r).toolTip() for r in range(2)] == ["memory used", "page tables"]
    for r in range(t.rowCount()):  # cells wrap at spaces: each word must fit its column whole
        for c in range(t.columnCount()):
            it = t.item(r, c)
            fm = QtGui.QFontMetrics(it.font())
            assert all(fm.horizontalAdvance(w) <= t.columnWidth(c) - 4 for w in it.text().split()), it.text()


def test_titles_are_whole_where_there_is_room(make_window):
    win = make_window(path=COMPARE, kernel=None, size=(1920, 1080))
    win.render_image((1920, 1080))
    for p in win.panes:
        assert p.title.text().replace("\n", " ") == p.title.full_text()
        assert p.title.font().pointSize() >= 12


def test_compare_views_zoom_together(make_window):
    win = make_window(path=COMPARE, kernel=None)
    win.render_image((1600, 900))
    win.zoom(0.5)
    a, b = (p.view.view_rect() for p in win.panes[:2])
    assert abs(a.width() - b.width()) < 1e-6 and abs(a.top() - b.top()) < 1e-6


def test_presenter_view_has_notes_next_step_and_clock(window, qtbot):
    window.toggle_presenter()
    p = window.presenter
    qtbot.waitExposed(p)
    window.set_step(0)
    assert p.notes.toPlainText().startswith("Ask: how much memory")
    assert p.next.text() == "Every read fault maps the same zero page."
    assert "Step 1 of 7" in p.step.text()
    assert ":" in p.clock.text() and p.elapsed.text().count(":") == 1
    window.set_step(6)
    assert p.notes.toPlainText() == "Last step." and p.next.text() == "End of the lesson."
    window.transport.secondTick.emit()  # the clock ticks from the transport's timer
    assert p.elapsed.text().startswith("00:0")
    # the projector window carries no notes anywhere
    texts = " ".join(w.text() for w in window.findChildren(QtWidgets.QLabel))
    assert "Ask: how much memory" not in texts and "Last step." not in texts
    window.toggle_presenter()
    assert not p.isVisible()


@pytest.mark.parametrize("lesson,step", [("02-sparse-table.toml", 2), ("09-mlock-readonly.toml", 2)])
def test_every_compare_row_shows_whole_on_a_720p_projector(make_window, lesson, step):
    """Five kernels at 1280x720 (lessons 2 and 9, the room's view): every row of the compare table,
    down to "time so far", shows without scrolling, and every value is one line that fits its column.
    The review saw the last row behind a scroll bar and "474.7 µs" wrapped onto two lines."""
    from zpviz.gui.theme import font
    from zpviz.scenario.model import VARIANTS

    path = Path(__file__).parents[2] / "scenarios" / lesson
    win = make_window(path=path, kernel="v5", size=(1280, 720))
    win.set_compare(tuple(v for v in VARIANTS if v != "v5"), sync=True)
    win.set_step(step)
    win.render_image((1280, 720))
    t = win.diff
    assert t.rowCount() == 7 and t.columnCount() == 5
    last = t.rowCount() - 1
    assert t.rowViewportPosition(0) == 0
    assert t.rowViewportPosition(last) + t.rowHeight(last) <= t.viewport().height(), "the last row needs scrolling"
    for r in range(t.rowCount()):
        pt = int(re.search(r"font-size: (\d+)pt", t.verticalHeader().styleSheet()).group(1))  # what paints it
        name_fm = QtGui.QFontMetrics(font(pt, bold=True))
        lines = t.verticalHeaderItem(r).text().split("\n")
        assert len(lines) * name_fm.height() <= t.rowHeight(r) + len(lines)  # the name's lines, not cut
        assert all(name_fm.horizontalAdvance(x) <= t.verticalHeader().width() for x in lines)
        for c in range(t.columnCount()):
            it = t.item(r, c)
            fm = QtGui.QFontMetrics(it.font())
            assert fm.horizontalAdvance(it.text()) <= t.columnWidth(c) - 4, it.text()  # whole, on one line
            assert fm.height() <= t.rowHeight(r) and it.font().pointSize() >= 8


def test_compare_row_names_grow_where_the_values_keep_their_size(make_window):
    """Five kernels at 1920x1080: the values have their full 12 pt and the dock room to spare, so the
    wrapped row names are 11 pt, not the 9 pt a 720p dock needs."""
    from zpviz.scenario.model import VARIANTS

    lesson = Path(__file__).parents[2] / "scenarios" / "02-sparse-table.toml"
    win = make_window(path=lesson, kernel="v5", size=(1920, 1080))
    win.set_compare(tuple(v for v in VARIANTS if v != "v5"), sync=True)
    win.set_step(2)
    win.render_image((1920, 1080))
    t = win.diff
    assert t.item(0, 0).font().pointSize() == 12
    assert int(re.search(r"font-size: (\d+)pt", t.verticalHeader().styleSheet()).group(1)) == 11
