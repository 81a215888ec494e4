"""The program dock: shown for a lesson with a [program], the current step's line highlighted."""

from __future__ import annotations

from pathlib import Path

import pytest

from zpviz.present.program import program_view
from zpviz.scenario import load

from .conftest import SMALL

DOUBLE_FAULT = Path(__file__).resolve().parents[2] / "scenarios" / "21-double-fault.toml"


def _highlighted(win) -> tuple[int, ...]:
    """The 1-based lines the panel paints as current (its extra selections' blocks)."""
    return tuple(sorted({s.cursor.blockNumber() + 1 for s in win.program_panel.extraSelections()}))


def test_program_view_follows_the_steps_lines():
    sc = load(DOUBLE_FAULT)
    assert [program_view(sc, k).current for k in range(-1, len(sc.steps))] == [None, 6, 7, 11, None]
    v = program_view(sc, 0)
    assert v.title == "count.c \u00b7 C" and "ls[i*1024]" in v.lines[v.current - 1]


def test_the_dock_shows_the_program_and_highlights_each_steps_line(make_window):
    win = make_window(DOUBLE_FAULT, kernel="modern")
    dock = win.docks["program"]
    assert dock.isVisibleTo(win)
    assert dock.windowTitle() == "Program \u00b7 count.c"
    for step, line in ((0, 6), (1, 7), (2, 11)):
        win.set_step(step)
        assert win.program_panel.current_line() == line
        assert _highlighted(win) == (line,)
        shown = win.program_panel.document().findBlockByNumber(line - 1).text()
        assert shown.startswith(f"{line:>2} \u2192 ")  # the arrow is on that line and no other
    assert win.program_panel.toPlainText().count("\u2192") == 1
    win.set_step(3)  # the closing narration runs no line
    assert win.program_panel.current_line() is None and _highlighted(win) == ()


@pytest.mark.parametrize("theme", ["dark", "contrast"])
def test_a_theme_change_keeps_the_line_and_uses_the_themes_accent(make_window, theme):
    win = make_window(DOUBLE_FAULT, kernel="modern")
    win.set_step(1)
    win.set_theme(theme)
    assert _highlighted(win) == (7,)
    bar = win.program_panel.extraSelections()[0]
    assert bar.format.background().color().name().lower() == win.theme.accent.lower()


def test_a_lesson_without_a_program_hides_the_dock(make_window):
    win = make_window(DOUBLE_FAULT, kernel="modern")
    win.open_lesson(str(SMALL), "v5", None, sync=True)
    assert not win.docks["program"].isVisibleTo(win)
    assert win.program_panel.toPlainText() == ""
    assert win.program_panel.extraSelections() == []
    doc = win.program_panel.document()
    revision = doc.revision()
    for frame in range(1, 6):  # each frame of it: the empty panel is left as it is
        win.set_frame(frame)
    assert doc.revision() == revision and win.program_panel.toPlainText() == ""
    win.open_lesson(str(DOUBLE_FAULT), "modern", None, sync=True)  # a program again after none
    win.set_step(1)
    assert win.docks["program"].isVisibleTo(win) and _highlighted(win) == (7,)


def test_the_program_is_readable_beside_the_grid_at_1280x720(make_window):
    win = make_window(DOUBLE_FAULT, kernel="modern", size=(1280, 720))
    win.render_image((1280, 720))
    panel = win.program_panel
    longest = max(len(line) for line in load(DOUBLE_FAULT).program.lines) + 5  # the gutter: "NN → "
    assert panel.viewport().width() >= panel.fontMetrics().horizontalAdvance("x" * longest)
    assert panel.font().pointSize() >= 12


def test_a_frame_on_the_same_line_repaints_nothing_and_a_moved_view_is_centred_again(qtbot):
    """set_view at every frame: on the line already highlighted, in a view that has not moved or
    resized, nothing is set (setting the selections again repaints the dock for nothing); after a
    resize or a scroll the line is centred again, as highlighting it anew does."""
    from PySide6 import QtCore

    from zpviz.gui.programview import ProgramPanel
    from zpviz.present.palette import theme
    from zpviz.present.program import ProgramView

    view = ProgramView("loop.c \u00b7 C", "c", tuple(f"x[{i}] = {i};  // line {i}" for i in range(1, 81)), 40)

    def panel() -> ProgramPanel:
        p = ProgramPanel()
        qtbot.addWidget(p)
        p.set_theme(theme("light"))
        p.resize(300, 160)
        p.show()
        qtbot.waitExposed(p)
        return p

    class Paints(QtCore.QObject):
        n = 0

        def eventFilter(self, obj, ev) -> bool:  # noqa: N802 (Qt's name)
            self.n += ev.type() == QtCore.QEvent.Type.Paint
            return False

    p, ref = panel(), panel()
    for _ in range(2):  # the first shows the scroll bar, narrowing the view: the second centres again
        for w in (p, ref):
            w.set_view(view)
        QtCore.QCoreApplication.processEvents()
    paints = Paints(p)
    p.viewport().installEventFilter(paints)
    for _ in range(5):
        p.set_view(view)
        QtCore.QCoreApplication.processEvents()
    assert paints.n == 0
    for change in (lambda w: w.resize(300, 220), lambda w: w.verticalScrollBar().setValue(0)):
        change(p)
        change(ref)
        QtCore.QCoreApplication.processEvents()
        p.set_view(view)
        ref._highlight_now(view.current)  # the line highlighted anew, whatever was set before
        assert p.verticalScrollBar().value() == ref.verticalScrollBar().value() > 0
        assert p.verticalScrollBar().value() != 0
    p.set_view(ProgramView(view.title, view.language, view.lines, 41))  # a new line: the bar moves
    assert tuple(sorted({s.cursor.blockNumber() + 1 for s in p.extraSelections()})) == (41,)
