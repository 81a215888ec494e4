"""Issue 17's words in the window: each pane its own caption and outcome, an honest predict mode
(the question, never the caption; R reveals; a number guessed; which kernel; the score), and charts
that show nothing past the playhead."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6 import QtCore

LESSON = """
[scenario]
title = "Words per kernel"
kernel = "v5"
compare = ["2.6.24"]
cpus = 1

[[vma]]
name = "t"
pages = 64

[[step]]
say = "A table of 64 pages."

[[step]]
do = "read"
vma = "t"
pages = "all"
predict = { ask = "How many frames of data will the table use?", answer = "frames_used" }
notes = { "*" = "zero page notes", "2.6.24" = "no zero page notes" }
[step.say]
"*" = "Every read maps the zero page: use_zero_page() said yes."
"2.6.31" = "No zero page here: do_anonymous_page allocates 64 zeroed pages."

[[step]]
do = "write"
vma = "t"
pages = "0-7"
predict = { ask = "Which kernel uses the most memory now?", answer = "most_memory" }
say = "Eight writes."

[[step]]
do = "read"
vma = "t"
pages = "all"
predict = true
say = "Read it all again."
"""
ZERO = "Every read maps the zero page"
NOZERO = "No zero page here"


@pytest.fixture
def lesson_file(tmp_path):
    f = tmp_path / "words.toml"
    f.write_text(LESSON)
    return f


def test_each_compare_pane_shows_its_own_caption_and_outcome(make_window, lesson_file):
    win = make_window(path=lesson_file, kernel=None)
    assert win.lesson.kernels == ("v5", "2.6.24")
    win.set_step(1)
    v5, old = win.panes
    assert v5.words.full_caption().startswith(ZERO) and old.words.full_caption().startswith(NOZERO)
    assert v5.status.text() == "64 read faults \u2192 zero page, 0 new pages"
    assert old.status.text() == "64 read faults \u2192 64 new zeroed pages, 256 KiB"
    # the texts differ: the big caption says what the step does, not one kernel's story
    assert ZERO not in win.caption.text() and NOZERO not in win.caption.text()
    assert win.caption.text() == "Process main reads every page of t. Below, what each kernel did."
    win.set_step(2)  # one text for every variant: the caption bar shows it
    assert win.caption.text() == "Eight writes."


def test_single_variant_caption_and_presenter_use_that_variants_words(make_window, lesson_file, qtbot):
    win = make_window(path=lesson_file, kernel="2.6.24")
    win.set_step(1)
    assert win.caption.text().startswith(NOZERO)
    win.toggle_presenter()
    assert win.presenter.now.text().startswith(NOZERO)
    assert win.presenter.notes.toPlainText() == "no zero page notes"
    win.set_kernel("v5", sync=True)
    win.set_step(1)
    win._refresh_presenter()
    assert win.presenter.now.text().startswith(ZERO) and win.presenter.notes.toPlainText() == "zero page notes"
    win.toggle_presenter()


def test_exported_caption_is_the_variants(lesson_file):
    from zpviz.export.job import _caption
    from zpviz.present.session import build_lesson
    from zpviz.scenario import load

    sc = load(lesson_file)
    for kid, text in (("2.6.31", NOZERO), ("v5", ZERO)):
        L = build_lesson(sc, kid)
        assert text in _caption(L, L.lead.step_end_frame(1))


def test_predict_prompt_is_the_question_not_the_caption_and_r_reveals(make_window, lesson_file, qtbot):
    win = make_window(path=lesson_file, kernel="2.6.24")
    win.show()
    qtbot.waitExposed(win)
    win.set_predict_mode(True)
    win.set_frame(0)
    win.command("next_step")  # the end of step 0: the stop before predict step 1
    q = win.predict.question
    assert q is not None and q.step == 1 and q.kind == "number"
    prompt = win.predict.prompt.text()
    assert "How many frames of data" in prompt
    assert NOZERO not in prompt and ZERO not in prompt and NOZERO not in win.caption.text()
    # the room's guess, typed; R reveals it with the true number from this variant's run
    win.toggle_presenter()  # the lecturer's screen knows the answer before the room does
    assert "PREDICT \u2014 the answer: 64 pages" in win.presenter.notes.toPlainText()
    qtbot.keyClicks(win.predict.guess, "50")
    qtbot.keyClick(win.predict.guess, QtCore.Qt.Key.Key_R)
    assert win.predict.revealed
    text = win.predict.result.text()
    assert "you said 50" in text and "64 pages" in text and "14 too low" in text
    assert win.caption.text().startswith(NOZERO)  # now the caption shows
    assert win.score().asked == 1 and win.score().right == 0
    win._refresh_presenter()
    assert "PREDICT" not in win.presenter.notes.toPlainText()
    win.toggle_presenter()


def test_which_kernel_question_and_the_score(make_window, lesson_file, qtbot):
    win = make_window(path=lesson_file, kernel=None)
    win.set_predict_mode(True)
    qs = sorted(win.lesson.questions.values(), key=lambda q: q.step)
    assert [q.kind for q in qs] == ["number", "kernel", "choice"]
    which = qs[1]
    assert which.options == ("v5", "2.6.24") and which.answer == "2.6.24"  # 64 frames + 0 vs 8 copies
    win.set_frame(which.stop)
    win._ask(which.stop)
    assert win.predict.question is which and "Which kernel" in win.predict.prompt.text()
    win.answer_predict(1)  # "2.6.24"
    assert win.predict.result.text().startswith("<b>Right")
    first = qs[0]
    win.set_frame(first.stop)
    win._ask(first.stop)
    win.reveal_predict()  # R without a guess: asked, not right
    assert win.predict.revealed and win.predict.choice is None
    assert (win.score().right, win.score().asked) == (1, 2)
    win.show_score()
    assert "1 right of 2 asked" in win.banner.text()


def test_charts_stop_at_the_playhead(make_window, lesson_file):
    win = make_window(path=lesson_file, kernel="2.6.24")
    c = win.counters
    end1 = win.lesson.lead.step_end_frame(1)
    win.set_frame(win.lesson.lead.step_results[1].first_event)  # before the reads
    c.grab()  # what is drawn (a view off screen, as a dock tabbed away, draws the frame when painted)
    for item, _ in c._curves:
        x, _y = item.getData()
        assert x is None or len(x) == 0 or x.max() <= win.frame
    mem = c._curves[1][0].getData()[1]  # memory used (MiB), up to here: nothing yet
    assert mem is None or len(mem) == 0 or np.max(mem) == 0
    assert c.steps.getViewBox().viewRange()[1][1] == pytest.approx(1.08)  # the axis floor: no step's time yet
    for item, _, _ in c._step_bars:
        assert not np.any(item.opts["height"][item.opts["x"] > win.frame])
    win.set_frame(end1)
    c.grab()
    x, y = c._curves[1][0].getData()
    assert x.max() == end1 and y.max() == pytest.approx(0.25)
    # the playhead is a cursor: dashed, not a solid data-coloured line
    assert all(cur.pen.style() == QtCore.Qt.PenStyle.DashLine for cur in c.cursors)


def test_timeline_hides_marks_past_the_playhead(make_window, lesson_file):
    win = make_window(path=lesson_file, kernel="2.6.24")
    tl = win.bar.timeline
    win.set_frame(0)
    img = tl.grab().toImage()
    from zpviz.gui.theme import qcolor

    want = qcolor(win.theme.series[0]).rgb()
    ticks = sum(img.pixel(x, y) == want for x in range(20, img.width() - 10) for y in range(8, 20))
    assert ticks == 0  # frame 0: every fault is in the future
    win.set_frame(win.frame_count() - 1)
    img = tl.grab().toImage()
    ticks = sum(img.pixel(x, y) == want for x in range(20, img.width() - 10) for y in range(8, 20))
    assert ticks > 0
