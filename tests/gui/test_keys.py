"""Every key binding, sent to the window and to widgets that would normally eat keys."""

from __future__ import annotations

import pytest
from PySide6 import QtCore, QtWidgets

from .conftest import COMPARE

Key = QtCore.Qt.Key
Mod = QtCore.Qt.KeyboardModifier


@pytest.fixture
def shown(window, qtbot):
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    qtbot.waitUntil(lambda: QtWidgets.QApplication.activeWindow() is window)
    return window


def targets(win):
    """Where a key may land: the window, the log, the timeline, a transport button, the compare table."""
    return [win, win.kernel_view.log, win.bar.timeline, win.bar.buttons["next"], win.diff,
            win.panes[0].view]


def press(qtbot, widget, key, mod=Mod.NoModifier):
    qtbot.keyClick(widget, key, mod)


@pytest.mark.parametrize("target", range(6))
def test_arrows_step_by_event_wherever_the_focus_is(shown, qtbot, target):
    w = targets(shown)[target]
    shown.set_frame(10)
    press(qtbot, w, Key.Key_Right)
    assert shown.frame == 11
    press(qtbot, w, Key.Key_Left)
    press(qtbot, w, Key.Key_Left)
    assert shown.frame == 9


@pytest.mark.parametrize("key,mod", [(Key.Key_Right, Mod.ShiftModifier), (Key.Key_PageDown, Mod.NoModifier)])
def test_next_step_keys(shown, qtbot, key, mod):
    ends = shown.lesson.stops.step_ends
    shown.set_frame(0)
    press(qtbot, shown, key, mod)
    assert shown.frame == ends[0]
    press(qtbot, shown, key, mod)
    assert shown.frame == ends[1]  # predict mode is off by default: no question on the way


@pytest.mark.parametrize("key,mod", [(Key.Key_Left, Mod.ShiftModifier), (Key.Key_PageUp, Mod.NoModifier)])
def test_previous_step_keys(shown, qtbot, key, mod):
    ends = shown.lesson.stops.step_ends
    shown.set_frame(ends[3])
    press(qtbot, shown, key, mod)
    assert shown.frame == ends[2]


def test_checkpoint_keys(shown, qtbot):
    cps = shown.lesson.stops.checkpoints
    shown.set_frame(0)
    press(qtbot, shown.bar.timeline, Key.Key_Right, Mod.ControlModifier)
    assert shown.frame == cps[0]
    press(qtbot, shown, Key.Key_Right, Mod.ControlModifier)
    assert shown.frame == cps[1]
    press(qtbot, shown, Key.Key_Left, Mod.ControlModifier)
    assert shown.frame == cps[0]


def test_home_end(shown, qtbot):
    press(qtbot, shown.kernel_view.log, Key.Key_End)
    assert shown.frame == shown.frame_count() - 1
    press(qtbot, shown.kernel_view.log, Key.Key_Home)
    assert shown.frame == 0


def test_space_plays_and_pauses(shown, qtbot):
    press(qtbot, shown.bar.buttons["toggle"], Key.Key_Space)
    assert shown.transport.playing and shown.bar.playing
    qtbot.waitUntil(lambda: shown.frame > 0, timeout=3000)  # the timer really plays
    press(qtbot, shown, Key.Key_Space)
    assert not shown.transport.playing


@pytest.mark.parametrize("key,mod", [(Key.Key_Plus, Mod.NoModifier), (Key.Key_Equal, Mod.NoModifier),
                                     (Key.Key_Plus, Mod.ShiftModifier)])
def test_faster(shown, qtbot, key, mod):
    before = shown.transport.speed
    press(qtbot, shown, key, mod)
    assert shown.transport.speed > before and shown.bar.speed.text().startswith(f"{shown.transport.speed:g}")


def test_slower(shown, qtbot):
    before = shown.transport.speed
    press(qtbot, shown, Key.Key_Minus)
    assert shown.transport.speed < before


def test_f11_full_screen(shown, qtbot):
    press(qtbot, shown, Key.Key_F11)
    qtbot.waitUntil(shown.isFullScreen)
    assert not shown.menuBar().isVisible()
    press(qtbot, shown, Key.Key_F11)
    qtbot.waitUntil(lambda: not shown.isFullScreen())
    assert shown.menuBar().isVisible()


@pytest.mark.parametrize("key,mod", [(Key.Key_Equal, Mod.ControlModifier), (Key.Key_Plus, Mod.ControlModifier)])
def test_ctrl_equals_zooms_in(shown, qtbot, key, mod):
    before = shown.panes[0].view.view_rect().width()
    press(qtbot, shown, key, mod)
    assert shown.panes[0].view.view_rect().width() < before * 0.95


def test_ctrl_minus_zooms_out(shown, qtbot):
    before = shown.panes[0].view.view_rect().width()
    press(qtbot, shown, Key.Key_Minus, Mod.ControlModifier)
    assert shown.panes[0].view.view_rect().width() > before * 1.05


def test_wheel_zooms_drag_pans_and_0_fits_again(shown, qtbot):
    """The mouse wheel zooms the address space at the pointer, a drag pans it, the overview shows
    where the view is meanwhile, and 0 (or Ctrl+0) fits the whole grid again."""
    from PySide6 import QtGui

    view = shown.panes[0].view
    space = view.space
    full = view.view_rect()
    assert not space.overview.zoomed()
    vb = space.getViewBox()
    at = view.mapFromScene(vb.mapViewToScene(QtCore.QPointF(2, 2)))
    for _ in range(4):
        ev = QtGui.QWheelEvent(QtCore.QPointF(at), QtCore.QPointF(view.mapToGlobal(at)), QtCore.QPoint(0, 0),
                               QtCore.QPoint(0, 120), QtCore.Qt.MouseButton.NoButton, Mod.NoModifier,
                               QtCore.Qt.ScrollPhase.NoScrollPhase, False)
        QtWidgets.QApplication.sendEvent(view.viewport(), ev)
    zoomed = view.view_rect()
    assert zoomed.width() < full.width() * 0.8 and zoomed.contains(QtCore.QPointF(2, 2))
    assert space.overview.zoomed() and not space.overview.outline().isEmpty()
    qtbot.mousePress(view.viewport(), QtCore.Qt.MouseButton.LeftButton, pos=at)
    for k in range(1, 6):
        qtbot.mouseMove(view.viewport(), at + QtCore.QPoint(-12 * k, 0))
    qtbot.mouseRelease(view.viewport(), QtCore.Qt.MouseButton.LeftButton, pos=at + QtCore.QPoint(-60, 0))
    assert view.view_rect().left() > zoomed.left()
    press(qtbot, shown, Key.Key_0)
    assert abs(view.view_rect().width() - full.width()) < 1e-6 and not space.overview.zoomed()


def test_ctrl_o_opens(shown, qtbot, monkeypatch):
    monkeypatch.setattr(shown, "ask_open_path", lambda: str(COMPARE))
    press(qtbot, shown, Key.Key_O, Mod.ControlModifier)
    # the leading variant shows first; wait for the others to join
    qtbot.waitUntil(lambda: shown.lesson.scenario.title == "Three kernels, one read" and not shown.lesson.pending,
                    timeout=10000)
    assert shown.lesson.kernels == ("v5", "2.6.23", "2.6.24")  # the lesson's own compare key


def test_ctrl_e_exports(shown, qtbot, monkeypatch, tmp_path):
    out = tmp_path / "still.png"
    monkeypatch.setattr(shown, "ask_save_path", lambda: str(out))
    press(qtbot, shown, Key.Key_E, Mod.ControlModifier)
    assert out.exists() and out.stat().st_size > 1000


def test_ctrl_q_quits(shown, qtbot):
    press(qtbot, shown, Key.Key_Q, Mod.ControlModifier)
    qtbot.waitUntil(lambda: not shown.isVisible())


def test_ctrl_p_presenter_and_keys_work_there(shown, qtbot):
    press(qtbot, shown, Key.Key_P, Mod.ControlModifier)
    p = shown.presenter
    assert p is not None and p.isVisible()
    p.activateWindow()
    qtbot.waitUntil(lambda: QtWidgets.QApplication.activeWindow() is p)
    shown.set_frame(5)
    press(qtbot, p, Key.Key_Right)  # the lecturer's screen drives the projector
    assert shown.frame == 6
    press(qtbot, p, Key.Key_P, Mod.ControlModifier)
    assert not p.isVisible()


def test_predict_mode_key_and_answers(shown, qtbot):
    press(qtbot, shown, Key.Key_P, Mod.ControlModifier | Mod.ShiftModifier)
    assert shown.predict_mode
    shown.set_frame(0)
    press(qtbot, shown, Key.Key_PageDown)  # to the end of step 0 = just before predict step 1: it asks
    assert shown.predict.question is not None and not shown.predict.revealed
    press(qtbot, shown, Key.Key_1)
    assert shown.predict.revealed and shown.predict.choice == "zero page"
    press(qtbot, shown, Key.Key_Home)  # back to the start: the questions are asked again
    press(qtbot, shown, Key.Key_PageDown)
    press(qtbot, shown, Key.Key_PageDown)  # moving on without a guess reveals the answer
    assert shown.predict.revealed and shown.predict.choice is None


def test_escape_clears_selection(shown, qtbot):
    shown.panes[0].view.pageClicked.emit(3, False)
    press(qtbot, shown, Key.Key_Escape)
    assert shown.selection == ()


def test_keys_are_inactive_behind_a_modal_dialog(shown, qtbot):
    """A dialog keeps its own arrow keys: Qt disables application shortcuts behind a modal."""
    shown.browse_lessons()
    dlg = shown.browser
    qtbot.waitUntil(lambda: QtWidgets.QApplication.activeModalWidget() is dlg)
    shown.set_frame(4)
    press(qtbot, dlg.list, Key.Key_Right)
    assert shown.frame == 4
    dlg.reject()


def test_ctrl_r_reloads_ctrl_t_cycles_theme_ctrl_0_fits_ctrl_b_browses(shown, qtbot, monkeypatch):
    calls = []
    monkeypatch.setattr(shown.loader, "request", lambda *a, **k: calls.append(k.get("context")))
    press(qtbot, shown, Key.Key_R, Mod.ControlModifier)
    assert calls and calls[-1]["reload"]
    before = shown.theme.name
    press(qtbot, shown, Key.Key_T, Mod.ControlModifier)
    assert shown.theme.name != before
    width = shown.panes[0].view.view_rect().width()
    shown.zoom(0.5)
    press(qtbot, shown, Key.Key_0, Mod.ControlModifier)
    assert abs(shown.panes[0].view.view_rect().width() - width) < width * 0.05
    press(qtbot, shown, Key.Key_B, Mod.ControlModifier)
    assert shown.browser.isVisible()
    shown.browser.reject()


def test_ctrl_k_runs_on_this_machine_ctrl_shift_k_hides_it(shown, qtbot):
    from zpviz.engine import simulate
    from zpviz.play import trace_report

    shown.machine_job.skip_reason = lambda sc: None
    shown.machine_job.runner = lambda sc, progress, cancel: trace_report(simulate(sc, "modern"), every_step=True)
    press(qtbot, shown, Key.Key_K, Mod.ControlModifier)
    qtbot.waitUntil(lambda: shown.machine_pane is not None, timeout=20000)
    from zpviz.gui.actions import keys_text

    assert "Ctrl+K: Run on this machine" in keys_text()
    press(qtbot, shown, Key.Key_K, Mod.ControlModifier | Mod.ShiftModifier)
    assert shown.machine_pane is None
