"""A window stepped to a frame paints what a window made at that frame paints (docs/views.md, "A
stepped window, a screenshot and an export agree"), and the memory pane's split stays put as the
amount of memory in its title changes."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6 import QtCore, QtGui

TOUR = Path(__file__).parents[2] / "scenarios" / "tour.toml"
LESSON2 = Path(__file__).parents[2] / "scenarios" / "02-sparse-table.toml"
FRAME = 3133  # the tour under modern, inside step 5: the Counters' axes had widened by then


def _fresh(lesson_path, kernel: str | None, frame: int, size: tuple[int, int], compare=None) -> QtGui.QImage:
    """The picture `zpviz --screenshot` makes: a window opened on the lesson, put at `frame`, rendered."""
    from zpviz.gui.mainwindow import MainWindow
    from zpviz.gui.settings import MemorySettings

    win = MainWindow(theme="light", settings=MemorySettings(), offscreen=True)
    try:
        win.open_lesson(str(lesson_path), kernel, compare, sync=True)
        win.set_frame(frame)
        win.set_chrome(False)
        return win.render_image(size)
    finally:
        win.close()
        win.deleteLater()
        QtCore.QCoreApplication.sendPostedEvents(None, QtCore.QEvent.Type.DeferredDelete)


def _differ(a: QtGui.QImage, b: QtGui.QImage) -> QtCore.QRect | None:
    """The bounding box of the pixels that differ, None when the pictures are the same."""
    if a == b:
        return None
    box = QtCore.QRect()
    for y in range(a.height()):
        for x in range(0, a.width(), 2):
            if a.pixel(x, y) != b.pixel(x, y):
                box = box.united(QtCore.QRect(x, y, 1, 1))
    return box


@pytest.mark.parametrize("path,kernel,size,compare", [
    (TOUR, "modern", (1280, 720), None), (TOUR, "modern", (1920, 1080), None), (LESSON2, "2.6.24", (1920, 1080), None),
    (TOUR, None, (1280, 720), None),  # the tour as it opens: its four variants compared, at 720p
    (TOUR, None, (1280, 720), ("modern",)),  # compare mode with one pane (counters, physical memory, fan)
])
def test_an_export_window_stepped_to_a_frame_paints_what_a_screenshot_of_it_does(qapp, path, kernel, size, compare):
    """The export's window (zpviz.export) stepped from the first frame through a lesson, grabbed at
    each stop, against a window made at each stop. The tour under modern: the Counters' y axes were
    as wide as the widest labels drawn so far, set while painting (the next picture's layout), so
    the charts stood a few pixels apart (at 1920x1080 at every step); at 1280x720 the kernel path
    kept the scroll bar of an earlier step's long path. Lesson 2: the program, scrolled to its line
    as Qt scrolls a hidden text view, stood a line lower than in a screenshot. Compare mode at
    1280x720 (four panes, and one): a change once altered the 720p compare screenshot unseen."""
    from zpviz.export.window import dispose_window, make_export_window
    from zpviz.present.session import build_lesson
    from zpviz.scenario import load

    lesson = build_lesson(load(path), kernel, compare)
    ends = [lesson.lead.step_end_frame(s) for s in range(len(lesson.lead.step_results))]
    stops = sorted({ends[1], ends[3], ends[-1]} | ({FRAME, ends[4]} if path == TOUR and kernel else set()))
    win = make_export_window(lesson, "light", size)
    try:
        win.render_image(size)  # the first frame, as an export's first picture
        stepped = {}
        for frame in stops:
            win.set_frame(frame)
            stepped[frame] = win.render_image(size)
    finally:
        dispose_window(win)
    for frame in stops:
        assert _differ(stepped[frame], _fresh(path, kernel, frame, size, compare)) is None, frame


def test_the_memory_split_stays_as_the_memory_in_its_title_grows(qapp):
    """The tour under modern, step 2 ("0 KiB used") to step 4 ("256 KiB used"): the physical
    title's own width shared the pane, and the address space lost 16 px to it at 1920x1080."""
    from zpviz.gui.memview import MemoryView
    from zpviz.present.palette import THEMES

    view = MemoryView(THEMES["light"])
    for pane_px in (809, 1232):  # a single kernel's pane at 1280x720 and at 1920x1080
        view.ci.setGeometry(QtCore.QRectF(0, 0, pane_px, 500))
        widths = set()
        for amount in ("0 KiB", "256 KiB", "4.0 MiB", "1023.9 MiB"):
            view.set_titles("Address space \u00b7 21,568 pages", f"Physical memory \u00b7 {amount} used")
            view.ci.layout.activate()
            widths.add((round(view.space.geometry().width(), 1), round(view.phys.geometry().width(), 1)))
        assert len(widths) == 1, (pane_px, widths)
    view.deleteLater()


def test_a_narration_after_a_long_path_is_shown_at_the_full_size(qtbot, small_lesson):
    """The kernel path shrinks a long path to fit its dock; a narration or a step with nothing to
    do that follows kept that smaller size (lesson 2 under v5 at 1280x720: "no fault" at 11 pt when
    stepped there, 14 pt in a screenshot of the same frame)."""
    from zpviz.gui.kernelview import PATH_PT, KernelPathView
    from zpviz.present import kpath
    from zpviz.present.palette import THEMES

    v = KernelPathView()
    qtbot.addWidget(v)
    v.set_theme(THEMES["light"])
    v.resize(300, 160)  # a short, narrow dock: a long path cannot keep the full size
    v.show()
    qtbot.waitExposed(v)
    tr = small_lesson.lead
    views = [ev for ev in (kpath.event_view(tr, f, small_lesson.grid) for f in range(1, len(tr))) if ev is not None]
    v.set_event(max(views, key=lambda ev: len(ev.functions)))
    assert v.path_pt() < PATH_PT
    v.set_event(None, "a narration")
    assert v.path_pt() == PATH_PT
