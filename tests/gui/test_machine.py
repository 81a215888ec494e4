"""Run on this machine: the kernel's pane beside the model's, aligned by step, differences marked.

A fake runner hands back a canned report (the model's own, with known differences), so these tests
never touch the kernel; the tests marked `kernel` at the end do, on a tiny lesson.
"""

from __future__ import annotations

import copy
import os
import shutil

import numpy as np
import pytest
from PySide6 import QtWidgets

from zpviz.engine import simulate
from zpviz.kernel.client import KernelRunError
from zpviz.play import trace_report
from zpviz.present import codes as K
from zpviz.scenario import load

from .conftest import COMPARE, SMALL


@pytest.fixture(scope="module")
def report():
    """What the kernel 'reports' for SMALL: the model's report, but after step 3 (write 0-63) pages
    64-67 are anon (model: zero, none, zero, none) and page 70 was not observed."""
    real = trace_report(simulate(load(SMALL), "modern"), every_step=True)
    real["kernel"] = "linux-6.18.44-test"
    real["observed"] = {"pfns": True}
    t = real["steps"][3]["state"]["processes"]["main"]["vmas"]["table"]
    t["pages"][64:68] = ["anon"] * 4
    t["pages"][70] = None
    return real


@pytest.fixture
def machine(make_window, report):
    """A window whose runner is a fake returning `report`; calls are recorded in win.runs."""
    win = make_window()
    win.runs = []

    def fake(scenario, progress, cancel):
        win.runs.append(scenario)
        progress("this machine: step 7 of 7 done", 1.0)
        return copy.deepcopy(report)

    win.machine_job.runner = fake
    win.machine_job.skip_reason = lambda scenario: None
    return win


def table_slot(win, page: int) -> int:
    return win.lesson.lead.layout.proc("main").vmas[0].base + page


def test_the_machine_pane_appears_beside_the_model(machine):
    win = machine
    assert win.machine_pane is None and not win.docks["machine"].isVisibleTo(win)
    win.run_on_machine(sync=True)
    assert win.runs == [win.lesson.scenario]
    pane = win.machine_pane
    assert pane is not None and win.all_panes() == win.panes + [pane]
    assert pane.title.text() == "this machine: linux-6.18.44" and pane.title.isVisibleTo(win)
    assert win.panes[0].title.text().startswith("v5") and win.panes[0].title.isVisibleTo(win)
    assert win.docks["machine"].isVisibleTo(win)
    assert win.machine_panel.title.text() == "this machine: linux-6.18.44-test"
    assert "not observed" in win.legend.texts() and "differs from the model" in win.legend.texts()
    assert pane.view.phys is None and all(p.view.phys is None for p in win.panes)  # cell for cell
    assert "linux-6.18.44-test" in win.caption.kernel.text()
    img = win.render_image((1600, 900))
    assert not img.isNull()
    a, b = win.panes[0].view.view_rect(), pane.view.view_rect()
    assert abs(a.top() - b.top()) < 1e-6 and abs(a.height() - b.height()) < 1e-6  # zoom and pan together


def test_the_pane_is_aligned_by_step(machine):
    win = machine
    win.run_on_machine(sync=True)
    L, run = win.lesson, win.machine
    for k, r in enumerate(L.lead.step_results):
        for frame in (r.first_event + 1, (r.first_event + r.end_event + 1) // 2, r.end_event):
            win.set_frame(frame)
            got = win.machine_pane.view.picture.codes
            assert np.array_equal(got, L.grid.codes(run.steps[k].codes)), (k, frame)
            assert win.machine_pane.status.text().startswith(f"after step {k + 1} of 7")
    win.set_frame(0)  # the lesson opens with words: the state after them
    assert np.array_equal(win.machine_pane.view.picture.codes, L.grid.codes(run.steps[0].codes))
    # while playing, the pane follows the step the transport is in
    win.transport.play()
    for _ in range(400):
        win.transport.tick(0.1)
        k = L.lead.step_of_frame(win.frame)
        assert np.array_equal(win.machine_pane.view.picture.codes, L.grid.codes(run.steps[max(k, 0)].codes))
    win.transport.pause()


def test_differences_are_outlined_counted_and_listed(machine):
    win = machine
    win.run_on_machine(sync=True)
    win.set_step(2)
    assert win.machine_pane.view.space.marks.path().isEmpty()
    assert "no differences at this step" in win.machine_pane.status.text()
    win.set_step(3)
    space = win.machine_pane.view.space
    runs = space._mark_runs.tolist()
    cells = [win.lesson.grid.cell_of(table_slot(win, p)) for p in (64, 65, 66, 67)]
    assert sum(c1 - c0 for _, c0, c1 in runs) == 4 and {(r, c) for r, c in cells} == {
        (r, c) for r, c0, c1 in runs for c in range(c0, c1)}
    assert not space.marks.path().isEmpty() and space.marks.isVisible()
    assert "4 differences at this step" in win.machine_pane.status.text()
    assert win.machine_panel.count.text() == "after step 4 of 7: 4 differences at this step"
    assert win.machine_panel.lines() == ["main/table pages 64, 66: model zero, kernel anon",
                                         "main/table pages 65, 67: model none, kernel anon"]
    code = win.machine_pane.view.picture.codes[win.lesson.grid.cell_of(table_slot(win, 70))]
    assert code == K.UNKNOWN  # not observed: shown, not counted as a difference
    assert "differs" in win.machine_hover_text(table_slot(win, 64))
    # a listed difference selects its page, in every pane
    win.machine_panel.list.itemClicked.emit(win.machine_panel.list.item(1))
    assert win.selection == (table_slot(win, 65),)
    assert win.machine_pane.view.selected == win.selection == win.panes[0].view.selected


def test_switching_variants_keeps_the_run_another_lesson_drops_it(machine):
    win = machine
    win.run_on_machine(sync=True)
    win.set_compare(("2.6.23", "v5", "modern"), sync=True)
    assert win.machine is not None and len(win.all_panes()) == 4 and win.all_panes()[-1] is win.machine_pane
    win.set_theme("contrast")
    assert win.machine_pane.view.theme.name == "contrast"
    win.set_compare((), sync=True)
    assert win.machine is not None and len(win.all_panes()) == 2
    win.open_lesson(str(COMPARE), sync=True)
    assert win.machine is None and win.machine_pane is None and not win.docks["machine"].isVisibleTo(win)
    assert "not observed" not in win.legend.texts()
    win.run_on_machine(sync=True)  # the canned report is SMALL's: it does not fit, and says so
    assert win.machine is None and "failed" in win.banner.text()


def test_hide_removes_the_pane(machine):
    machine.run_on_machine(sync=True)
    machine.actions_by_name["machine_hide"].trigger()
    assert machine.machine is None and machine.machine_pane is None and len(machine.all_panes()) == 1
    assert machine.panes[0].view.phys is not None  # physical memory is back


def test_the_run_is_off_the_gui_thread_shows_progress_and_cancel_stops_it(machine, qtbot):
    win = machine
    started = []

    def slow(scenario, progress, cancel):
        progress("this machine: step 1 of 7 done", 1 / 7)
        started.append(True)
        assert cancel.wait(30), "never cancelled"
        cancel.check()  # raises MachineCancelled

    win.machine_job.runner = slow
    win.actions_by_name["machine_run"].trigger()
    assert win.machine_job.busy and win.machine_cancel.isVisibleTo(win)
    qtbot.waitUntil(lambda: win.machine_label.text() == "this machine: step 1 of 7 done", timeout=10000)
    assert win.machine_bar.value() == 14 and not win.actions_by_name["machine_run"].isEnabled()
    win.command("next")  # the window is still serving the lecture
    assert win.frame == 1
    with qtbot.waitSignal(win.machine_job.stopped, timeout=10000):
        win.machine_cancel.click()
        assert not win.machine_cancel.isVisibleTo(win)
    assert started and win.machine is None and not win.machine_job.busy
    assert win.statusBar().currentMessage() == "The run on this machine was cancelled"
    assert win.actions_by_name["machine_run"].isEnabled() and not win.banner.isVisibleTo(win)


def test_a_lesson_this_kernel_cannot_run_is_a_banner_not_a_dialog(machine, qtbot):
    win = machine
    win.machine_job.skip_reason = lambda scenario: "the lesson wants thp_use_zero_page = false"
    win.actions_by_name["machine_run"].trigger()
    qtbot.waitUntil(lambda: win.banner.isVisibleTo(win), timeout=10000)
    assert "cannot run on this machine" in win.banner.text() and "thp_use_zero_page" in win.banner.text()
    assert win.runs == [] and win.machine is None and not win.machine_job.busy
    assert QtWidgets.QApplication.activeModalWidget() is None


def test_a_failed_run_is_a_banner(machine):
    def broken(scenario, progress, cancel):
        raise KernelRunError("the supervisor died during 'op'")

    machine.machine_job.runner = broken
    machine.run_on_machine(sync=True)
    assert "The run on this machine failed" in machine.banner.text() and "supervisor died" in machine.banner.text()
    assert machine.machine is None and not machine.machine_cancel.isVisibleTo(machine)


def test_the_real_skip_reason_shows_in_a_banner(make_window, tmp_path):
    """With the real probe: a lesson that wants the huge zero page off, where it is on (or no THP)."""
    from zpviz.kernel.probe import skip_reason

    path = tmp_path / "off.toml"
    path.write_text('[scenario]\ntitle = "Off"\nthp_use_zero_page = false\n[[vma]]\nname = "h"\npages = 512\n'
                    'thp = true\n[[step]]\ndo = "read"\nvma = "h"\npages = "0"\n')
    win = make_window(path=path, kernel="modern")
    why = skip_reason(win.lesson.scenario)
    if why is None:
        pytest.skip("use_zero_page is 0 here: this lesson would run")
    win.machine_job.runner = lambda *a: pytest.fail("the runner must not be called")
    win.run_on_machine(sync=True)
    assert why in win.banner.text().replace("&#x27;", "'") or why[:40] in win.banner.text()


def test_the_worker_refuses_a_lesson_edited_since_it_was_loaded(tmp_path):
    from zpviz.gui.machinerun import MachineRunError, lesson_text

    path = tmp_path / "lesson.toml"
    shutil.copy(SMALL, path)
    sc = load(path)
    assert lesson_text(sc) == path.read_text()
    path.write_text(path.read_text().replace("pages = 256", "pages = 512"))
    with pytest.raises(MachineRunError, match="changed since it was loaded"):
        lesson_text(sc)
    os.unlink(path)
    with pytest.raises(MachineRunError, match="cannot read"):
        lesson_text(sc)


def test_predict_mode_does_not_give_the_answer_away(machine):
    """At a predict stop the room has not seen the step: neither has the kernel pane."""
    win = machine
    win.run_on_machine(sync=True)
    win.set_predict_mode(True)
    win.set_frame(0)
    win.command("next_step")  # step 1 is a predict step: playback stops before its first fault
    q = win.predict.question
    assert q is not None and win.frame == q.stop
    assert win.machine_pane.status.text().startswith(f"after step {q.step} of 7")  # the step before it
    win.predict.answer("zero page")
    assert win.machine_pane.status.text().startswith(f"after step {q.step + 1} of 7")


def test_the_run_modules_load_at_the_first_run_not_at_start():
    """A window that never ran on this machine has not imported the run's modules (a fresh process:
    this one's other tests have imported them)."""
    import subprocess
    import sys

    code = ("import sys; from PySide6 import QtWidgets; app = QtWidgets.QApplication([]); "
            "from zpviz.gui.mainwindow import MainWindow; w = MainWindow(offscreen=True); w.close(); "
            "print(sorted(m for m in sys.modules if m in ('zpviz.gui.machinerun', 'zpviz.kernel.client')))")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]"
