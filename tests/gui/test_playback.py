"""Playback through the transport: ticks (no sleeping), holds, speed, predict stops, the soak."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from zpviz.present import playback as PB

ROOT = Path(__file__).resolve().parents[2]


def run(win, seconds, dt=0.05):
    """Advance playback by `seconds`, as the timer would in ticks of dt."""
    n = int(seconds / dt)
    for _ in range(n):
        win.transport.tick(dt)
    win.transport.tick(seconds - n * dt + 1e-6)


def test_playback_honours_hold_times(window):
    L = window.lesson
    window.set_frame(0)
    seg = next(s for s in L.plan.segments if s.step == 1)
    window.transport.play()
    run(window, seg.start + 0.01)
    assert window.lesson.lead.step_of_frame(window.frame) == 1  # step 1 has begun
    run(window, seg.hold - 0.2)
    assert window.frame == seg.last  # all its events shown, the step still on screen
    assert window.caption.text() == L.scenario.steps[1].say


def test_speed_scales_time(window):
    window.set_frame(0)
    window.transport.set_speed_index(PB.SPEEDS.index(4.0))
    window.transport.play()
    run(window, window.lesson.plan.total / 4 + 0.5)
    assert window.frame == window.frame_count() - 1


def test_play_stops_at_the_end(window, qtbot):
    window.set_frame(window.frame_count() - 3)
    window.transport.play()
    assert window.transport.playing
    run(window, 30)
    assert window.frame == window.frame_count() - 1 and not window.transport.playing


def test_play_at_the_end_restarts(window):
    window.set_frame(window.frame_count() - 1)
    window.transport.play()
    assert window.frame == 0 and window.transport.playing
    window.transport.pause()


def test_predict_mode_pauses_asks_and_reveals(window):
    window.set_predict_mode(True)
    window.set_frame(0)
    window.transport.play()
    run(window, 10)
    q = window.predict.question
    assert q is not None and q.step == 1 and not window.transport.playing
    assert window.frame == q.stop  # the first fault has not happened on screen
    assert window.predict.isVisibleTo(window) and "What will the first fault do?" in window.predict.prompt.text()
    window.predict.answer("copy")  # the room guessed wrong
    assert "Not copy-on-write" in window.predict.result.text() and "zero page" in window.predict.result.text()
    assert "3  copy-on-write" in [b.text() for b in window.predict.buttons]
    assert window.frame == q.reveal  # the first fault is now on screen, flashing
    assert window.panes[0].view.picture.flash_slots
    window.command("toggle")  # carry on
    assert window.transport.playing and window.predict.question is None
    run(window, 20)
    q2 = window.predict.question
    assert q2 is not None and q2.step == 3 and q2.answer == "copy"
    window.predict.answer("copy")
    assert window.predict.result.text().startswith("<b>Right")


def test_predict_off_plays_through(window):
    window.set_frame(0)
    window.transport.play()
    run(window, window.lesson.plan.total + 1)
    assert window.predict.question is None and window.frame == window.frame_count() - 1


def test_predict_questions_differ_by_kernel(make_window):
    win = make_window(kernel="2.6.24")
    win.set_predict_mode(True)
    win.set_frame(0)
    win.command("next_step")
    assert win.predict.question.answer == "new page"


def soak(win, n, seed):
    rng = random.Random(seed)
    cmds = ["next", "prev", "next_step", "prev_step", "next_checkpoint", "prev_checkpoint", "first", "last",
            "toggle", "faster", "slower"]
    last = win.frame_count() - 1
    for i in range(n):
        r = rng.random()
        if r < 0.55:
            win.command(rng.choice(cmds))
        elif r < 0.7:
            win.set_frame(rng.randrange(last + 1))
        elif r < 0.9:
            win.transport.tick(rng.choice((0.01, 0.1, 0.5, 3.0)))
        elif r < 0.95:
            win.set_predict_mode(not win.predict_mode)
        elif win.predict.question is not None:
            win.answer_predict(rng.randrange(6))
        else:
            win._page_clicked(rng.randrange(win.lesson.grid.n_slots), rng.random() < 0.5)
        assert 0 <= win.frame <= last
        assert win.panes[0].view.picture.frame == win.frame, i
    win.transport.pause()


def test_soak_2000_random_transport_actions(make_window):
    soak(make_window(compare="v5,2.6.23"), 2000, seed=1)


@pytest.mark.slow
def test_soak_20000_random_transport_actions(make_window):
    soak(make_window(compare="v5,2.6.23"), 20000, seed=2)


def test_a_first_fault_question_fits_a_720p_window(qtbot, settings):
    """The seven first-fault answers on one line needed 1,469 px: a '1280x720' window in predict mode
    grew wider than the projector. Four to a line now, and the picture keeps its size."""
    from zpviz.gui.mainwindow import MainWindow

    win = MainWindow(theme="light", settings=settings, offscreen=True)
    qtbot.addWidget(win)
    win.open_lesson(str(ROOT / "scenarios" / "04-cow-from-zero.toml"), "modern", None, sync=True)
    win.set_chrome(False)
    win.set_predict_mode(True)
    win.set_frame(0)
    win.transport.play()
    run(win, 30)
    assert win.predict.question is not None and len(win.predict.question.options) == 7
    img = win.render_image((1280, 720))
    assert (img.width(), img.height()) == (1280, 720)
    assert all(b.isVisibleTo(win) for b in win.predict.buttons)
