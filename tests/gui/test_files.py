"""Lessons on disk: reload on change (good and broken edits), opening broken files, recent files,
window layout, the lesson browser, and loading off the GUI thread."""

from __future__ import annotations

import os
import re
import shutil

from .conftest import BROKEN, COMPARE, SMALL


def copy_lesson(tmp_path, src=SMALL):
    dst = tmp_path / "lesson.toml"
    shutil.copy(src, dst)
    return dst


def edit(path, old, new):
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_good_edit_reloads_at_the_same_step(make_window, tmp_path):
    path = copy_lesson(tmp_path)
    win = make_window(path=path)
    win.sync_reload = True
    win.set_step(3)
    edit(path, "A write to a zero-page PTE copies: copy on write.", "Writes copy (edited).")
    win.reload()
    assert win.caption.text() == "Writes copy (edited)."
    assert win.lesson.lead.step_of_frame(win.frame) == 3 and not win.banner.isVisibleTo(win)


def test_broken_edit_keeps_the_last_good_lesson_with_a_banner(make_window, tmp_path):
    path = copy_lesson(tmp_path)
    win = make_window(path=path)
    win.sync_reload = True
    win.set_step(2)
    good = win.lesson
    edit(path, 'vma = "lib"', 'vma = "nosuchvma"')
    win.reload()
    assert win.lesson is good and win.lesson.lead.step_of_frame(win.frame) == 2
    assert win.banner.isVisibleTo(win)
    text = win.banner.text()
    assert "lesson.toml:" in text and "nosuchvma" in text and "last good" in text
    edit(path, 'vma = "nosuchvma"', 'vma = "lib"')
    win.reload()
    assert not win.banner.isVisibleTo(win) and win.lesson is not good


def test_the_file_watcher_reloads_by_itself(make_window, tmp_path, qtbot):
    path = copy_lesson(tmp_path)
    win = make_window(path=path)
    win.set_step(1)
    edit(path, "Every read fault maps the same zero page.", "Watched and reloaded.")
    qtbot.waitUntil(lambda: win.caption.text() == "Watched and reloaded.", timeout=8000)
    tmp = tmp_path / "lesson.toml.tmp"  # an editor that saves by writing a new file and renaming it
    tmp.write_text(path.read_text().replace("Watched and reloaded.", "Saved by rename."))
    os.replace(tmp, path)
    qtbot.waitUntil(lambda: win.caption.text() == "Saved by rename.", timeout=8000)
    assert win.lesson.lead.step_of_frame(win.frame) == 1


def test_opening_a_broken_file_shows_file_and_line_and_stays_usable(make_window):
    win = make_window(path=None)
    win.open_lesson(str(BROKEN), sync=True)
    assert win.lesson is None
    assert "broken.toml:10" in win.banner.text() and "nosuchvma" in win.welcome.text()
    win.command("next")
    win.open_lesson(str(SMALL), sync=True)
    assert win.lesson is not None and not win.banner.isVisibleTo(win)


def test_opening_a_broken_file_over_a_good_one_keeps_the_good_one(window):
    good = window.lesson
    window.open_lesson(str(BROKEN), sync=True)
    assert window.lesson is good and "broken.toml:10" in window.banner.text()


def test_missing_file_and_bad_variant(window):
    window.open_lesson("/nonexistent/lesson.toml", sync=True)
    assert "cannot read" in window.banner.text()
    window.open_lesson(str(SMALL), kernel="2.6.99", sync=True)
    assert "unknown kernel variant" in window.banner.text()


def test_recent_files_are_remembered(make_window, settings):
    win = make_window()
    win.open_lesson(str(COMPARE), sync=True)
    assert win.recent()[:2] == [str(COMPARE.resolve()), str(SMALL.resolve())]
    assert [a.text() for a in win.recent_menu.actions()][:2] == win.recent()[:2]
    settings.sync()
    from zpviz.gui.mainwindow import MainWindow

    again = MainWindow(settings=settings)
    assert again.recent()[0] == str(COMPARE.resolve())
    again.deleteLater()


def test_window_layout_and_theme_are_restored(qtbot, settings):
    from zpviz.gui.mainwindow import MainWindow

    a = MainWindow(settings=settings)
    qtbot.addWidget(a)
    a.set_theme("dark")
    a.show()
    qtbot.waitExposed(a)
    a.resize(1111, 777)
    qtbot.waitUntil(lambda: a.width() == 1111)
    a.docks["counters"].hide()
    a.set_predict_mode(True)
    a.save_layout()
    settings.sync()
    b = MainWindow(settings=settings, restore=True)
    qtbot.addWidget(b)
    assert b.theme.name == "dark" and b.predict_mode
    assert b.docks["counters"].isHidden()
    # the geometry is saved and Qt accepts it back (the offscreen screen clamps the exact size)
    assert settings.value("geometry") is not None and b.restoreGeometry(settings.value("geometry"))


def test_lesson_browser_lists_and_opens(make_window, qtbot):
    from zpviz.gui.browser import LessonBrowser

    win = make_window(path=None)
    dlg = LessonBrowser(win, paths=[SMALL, COMPARE, BROKEN])
    qtbot.addWidget(dlg)
    texts = [dlg.list.item(i).text() for i in range(dlg.list.count())]
    assert texts[0].startswith("Sparse reads share one zero page") and "7 steps" in texts[0]
    assert "cannot be loaded" in texts[2] and "broken.toml:10" in texts[2]
    with qtbot.waitSignal(dlg.lessonChosen) as chosen:
        dlg.choose(1)
    assert chosen.args == [str(COMPARE)]


def test_builtin_browser_opens_from_the_menu(window, qtbot):
    window.browse_lessons()
    assert window.browser.isVisible()
    window.browser.reject()


def test_loading_runs_off_the_gui_thread(make_window, qtbot, tmp_path):
    """A big lesson simulates in a thread; the window keeps showing (and serving) the old one."""
    path = tmp_path / "big.toml"
    path.write_text('[scenario]\ntitle = "Big"\ncpus = 4\n[[vma]]\nname = "t"\npages = 65536\n'
                    '[[step]]\ndo = "read"\nvma = "t"\npages = "all"\ncpus = [0, 1, 2, 3]\nsay = "All."\n')
    win = make_window()
    old = win.lesson
    said(win)
    win.open_lesson(str(path))
    assert win.loader.busy and win.lesson is old
    win.command("next")  # the UI still works while the thread simulates
    assert win.frame == 1
    qtbot.waitUntil(lambda: win.lesson is not old, timeout=60000)
    assert win.lesson.scenario.title == "Big" and win.lesson.grid.n_slots == 65536
    win.set_frame(40000)
    assert win.panes[0].view.picture.codes.size >= 65536


def test_stale_loads_are_dropped(make_window, qtbot):
    win = make_window()
    win.open_lesson(str(COMPARE))
    win.open_lesson(str(SMALL), kernel="2.6.23")
    qtbot.waitUntil(lambda: not win.loader.busy, timeout=20000)
    assert win.lesson.kernels == ("2.6.23",)


def counting(win) -> bool:
    """The status bar has shown how many events are simulated so far.

    Every message is recorded as it is shown (see `said`): polling the current one would miss
    counts that a busy simulation thread lets the event loop show only between two polls."""
    return any(re.fullmatch(r"Simulating under \S+: [\d,]+ events", m) for m in said(win))


def said(win) -> list[str]:
    if not hasattr(win, "_said"):
        win._said = []
        win.statusBar().messageChanged.connect(win._said.append)
    return win._said


# an mlock walk takes the engine's general path, event by event: several seconds, long enough to
# cancel (a read of plain anonymous memory would take the bulk path and be over in a moment)
SLOW_LESSON = ('[scenario]\ntitle = "Big"\n[[vma]]\nname = "t"\npages = 480000\n'
               '[[step]]\ndo = "mlock"\nvma = "t"\nsay = "All."\n')


def test_a_slow_load_shows_events_and_cancel_stops_the_simulation(make_window, qtbot, tmp_path):
    path = tmp_path / "big.toml"
    path.write_text(SLOW_LESSON)
    win = make_window()
    old = win.lesson
    said(win)
    win.open_lesson(str(path))
    assert win.busy_bar.isVisibleTo(win) and win.busy_cancel.isVisibleTo(win)
    # the engine reports every 4,096 events; the status bar says how many so far
    qtbot.waitUntil(lambda: counting(win), timeout=30000)
    assert any(m.startswith("Simulating under modern: ") for m in said(win))
    with qtbot.waitSignal(win.loader.cancelled, timeout=30000) as stopped:
        win.busy_cancel.click()
        assert not win.busy_cancel.isVisibleTo(win)
    # the simulation raised engine.Cancelled part-way: the thread stopped, not merely its result
    assert stopped.args[0]["path"] == str(path)
    qtbot.waitUntil(lambda: not win.loader.busy, timeout=5000)
    assert win.lesson is old and win.statusBar().currentMessage() == "Loading cancelled"


def test_a_newer_request_stops_the_older_simulation(make_window, qtbot, tmp_path):
    path = tmp_path / "big.toml"
    path.write_text(SLOW_LESSON)
    win = make_window()
    said(win)
    win.open_lesson(str(path))
    qtbot.waitUntil(lambda: counting(win), timeout=30000)
    with qtbot.waitSignal(win.loader.cancelled, timeout=30000):
        win.open_lesson(str(SMALL), kernel="2.6.23")
    qtbot.waitUntil(lambda: not win.loader.busy, timeout=20000)
    assert win.lesson.kernels == ("2.6.23",) and win.lesson.scenario.title != "Big"
