"""Labels a room can read at 1280x720: vma titles over many small vmas, and the zero page's tile when
the physical-memory view is narrow."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6 import QtGui

from zpviz.gui.gridview import TITLE_MIN_PX

LESSONS = Path(__file__).parents[2] / "scenarios"


@pytest.mark.parametrize("lesson", ["10-populate.toml", "11-fork.toml", "tour.toml"])
def test_vma_titles_are_legible_or_the_axis_names_the_vmas(make_window, lesson):
    """Lessons 10 and 11 at 720p drew each vma's title at 9 px (its box spilling onto the row above):
    a title shows at TITLE_MIN_PX or more; where rows are too thin for that, only the first title
    shows (it has the margin above the grid) and the address axis names every vma."""
    win = make_window(path=LESSONS / lesson, kernel="modern", size=(1280, 720))
    win.set_step(1)
    win.render_image((1280, 720))
    space = win.panes[0].view.space
    shown = [t for t in space.headers if t.isVisible()]
    assert shown
    for t in shown:
        assert t.textItem.font().pixelSize() >= TITLE_MIN_PX, t.textItem.toPlainText()
    if len(shown) < len(space.headers):
        assert space.addr_axis.names and shown == space.headers[:1]


@pytest.mark.parametrize("lesson,kernel", [("09-mlock-readonly.toml", "v5"), ("10-populate.toml", "modern")])
def test_zero_page_tile_words_are_legible_in_a_narrow_view(make_window, lesson, kernel):
    """Lesson 9 at 720p: few frames make a narrow grid, and the tile as narrow as the grid had its words
    at 9 px. The tile spans the view, so its words are 12 px or more and fit it."""
    win = make_window(path=LESSONS / lesson, kernel=kernel, size=(1280, 720))
    win.set_step(2)
    win.render_image((1280, 720))
    phys = win.panes[0].view.phys
    assert phys is not None and phys._tiles
    for _, rect, text in phys._tiles:
        f = text.textItem.font()
        assert f.pixelSize() >= 12
        tile_px = phys.mapViewToDevice(rect.rect()).boundingRect().width()
        fm = QtGui.QFontMetrics(f)
        assert max(fm.horizontalAdvance(line) for line in text.textItem.toPlainText().split("\n")) <= tile_px


def _asking_at_720p(make_window):
    """Lesson 9 under v5 at 1280x720 in predict mode, stopped at its first question."""
    win = make_window(path=LESSONS / "09-mlock-readonly.toml", kernel="v5", size=(1280, 720))
    win.set_predict_mode(True)
    stop = sorted(win.lesson.questions)[0]
    win.set_frame(stop)
    win._ask(stop)
    win.render_image((1280, 720))
    return win


def test_zero_page_tile_in_predict_mode_says_one_line_at_a_legible_size(make_window):
    """Predict mode at 720p: the question panel leaves the memory view about 130 px tall, the tile
    flat, and its three lines came out at 7 px. A flat tile says one line instead, at 12 px or more,
    inside the tile."""
    win = _asking_at_720p(make_window)
    assert win.predict.question is not None
    phys = win.panes[0].view.phys
    (_, rect, text), *_ = phys._tiles
    shown = text.textItem.toPlainText()
    f = text.textItem.font()
    box = phys.mapViewToDevice(rect.rect()).boundingRect()
    fm = QtGui.QFontMetrics(f)
    assert f.pixelSize() >= 12 and shown.startswith("ZERO_PAGE")
    assert max(fm.horizontalAdvance(x) for x in shown.split("\n")) <= box.width()
    assert fm.lineSpacing() * (shown.count("\n") + 1) <= box.height() + 2


def test_predict_answers_are_whole_at_720p(make_window):
    """The seven first-fault answers at 1280x720: two rows of 48 px buttons did not fit under the
    question, so the column squeezed them to 30 px and cut their words through the middle. Each
    button now gets the height it asks for, its words whole, at 14 pt."""
    win = _asking_at_720p(make_window)
    buttons = win.predict.buttons
    assert len(buttons) == 7
    for b in buttons:
        assert b.height() >= b.sizeHint().height(), (b.text(), b.height(), b.sizeHint().height())
        assert b.font().pointSize() >= 14 and QtGui.QFontMetrics(b.font()).height() <= b.height() - 4
