"""App soak: random lecture actions through the window's public methods, offscreen, without a crash
or a leak. Loads are synchronous (no sleeps); the event loop is pumped now and then, as the app's
would, so deleted panes are really freed. No action may open a modal dialog."""

from __future__ import annotations

import copy
import gc
import os
import random
import time

import pytest
from PySide6 import QtCore, QtWidgets

from zpviz.engine import VARIANTS, simulate
from zpviz.play import trace_report
from zpviz.scenario import load

from .conftest import BROKEN, COMPARE, SMALL

PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE / 2**20


@pytest.fixture
def no_dialogs(monkeypatch):
    """Any modal dialog would block the soak (and a lecture): fail instead."""
    def refuse(*a, **k):
        raise AssertionError("a modal dialog was opened")

    for cls, name in ((QtWidgets.QFileDialog, "getOpenFileName"), (QtWidgets.QFileDialog, "getSaveFileName"),
                      (QtWidgets.QMessageBox, "information"), (QtWidgets.QMessageBox, "warning"),
                      (QtWidgets.QDialog, "exec")):
        monkeypatch.setattr(cls, name, refuse)


def fake_machine(win) -> None:
    """'Run on this machine' with the model's own report, a few pages changed: no kernel involved."""
    reports = {}

    def runner(scenario, progress, cancel):
        if scenario.path not in reports:
            r = trace_report(simulate(scenario, "modern"), every_step=True)
            for e in r["steps"][1:]:
                for p in e["state"]["processes"].values():
                    for v in p["vmas"].values():
                        v["pages"][:3] = ["anon", None, "zero"][:len(v["pages"])]
            reports[scenario.path] = r
        return copy.deepcopy(reports[scenario.path])

    win.machine_job.runner = runner
    win.machine_job.skip_reason = lambda scenario: None


def pump() -> None:
    QtWidgets.QApplication.processEvents()
    QtCore.QCoreApplication.sendPostedEvents(None, QtCore.QEvent.Type.DeferredDelete)


def soak(win, n: int, seed: int, warmup: int = 0) -> dict:
    """n random actions; the RSS after `warmup` actions and at the end (MB), and the time taken."""
    rng = random.Random(seed)
    win.sync_reload = True
    variants = tuple(VARIANTS)
    cmds = ("toggle", "next", "prev", "next_step", "prev_step", "next_checkpoint", "prev_checkpoint", "first",
            "last", "faster", "slower")

    def last() -> int:
        return max(win.frame_count() - 1, 0)

    actions = [  # (weight, action): lecture-time actions often, loads and rebuilds rarely
        (40, lambda: win.command(rng.choice(cmds))),
        (12, lambda: win.transport.tick(rng.choice((0.01, 0.1, 0.5, 3.0)))),
        (8, lambda: win.set_frame(rng.randrange(last() + 1))),
        (5, lambda: win.set_step(rng.randrange(-1, 9))),
        (3, lambda: win.set_predict_mode(not win.predict_mode)),
        (3, lambda: win.answer_predict(rng.randrange(6))),
        (3, lambda: win.lesson and win._page_clicked(rng.randrange(win.lesson.grid.n_slots), rng.random() < .5)),
        (2, win.escape),
        (2, lambda: win.zoom(rng.choice((0.8, 1.25)))),
        (1, win.reset_zoom),
        (0.6, lambda: win.set_theme(rng.choice(("light", "dark", "contrast")))),  # restyles the app: 80 ms
        (0.3, win.cycle_theme),
        (1, win.toggle_presenter),
        (1.5, lambda: win.set_compare(rng.sample(variants, rng.randint(2, 5)), sync=True)),
        (1, lambda: win.set_compare((), sync=True)),
        (0.7, lambda: win.set_kernel(rng.choice(variants), sync=True)),
        (0.7, win.reload),
        (0.5, lambda: win.open_lesson(str(BROKEN), sync=True)),
        (0.7, lambda: win.open_lesson(str(rng.choice((SMALL, COMPARE))), rng.choice((None, "v5", "modern")),
                                      sync=True)),
        (0.8, lambda: win.run_on_machine(sync=True)),
        (0.4, win.hide_machine),
    ]
    weights = [w for w, _ in actions]
    fns = [f for _, f in actions]
    before = None
    t0 = time.monotonic()
    for i in range(n):
        if i == warmup:
            gc.collect()
            pump()
            before = rss_mb()
        rng.choices(fns, weights)[0]()
        if i % 64 == 0:
            pump()
        if win.lesson is not None:
            assert 0 <= win.frame <= last(), i
            assert win.panes[0].view.picture.frame == win.frame, i
            if win.machine_pane is not None:
                assert win.machine_pane.view.picture.frame == win.frame, i
    win.transport.pause()
    if win.presenter is not None:
        win.presenter.hide()
    gc.collect()
    pump()
    return {"before": before, "after": rss_mb(), "seconds": time.monotonic() - t0}


def make(make_window):
    win = make_window(path=SMALL, kernel="v5")
    fake_machine(win)
    return win


def test_soak_2000_random_app_actions(make_window, no_dialogs):
    figures = soak(make(make_window), 2000, seed=11, warmup=500)
    assert figures["after"] - figures["before"] < 50, figures


@pytest.mark.slow
def test_soak_50000_random_app_actions_without_a_leak(make_window, no_dialogs, capsys):
    figures = soak(make(make_window), 50_000, seed=12, warmup=5000)
    with capsys.disabled():
        print(f"\nsoak 50,000 actions: RSS {figures['before']:.1f} MB after the warm-up, {figures['after']:.1f} MB "
              f"at the end ({figures['after'] - figures['before']:+.1f} MB), {figures['seconds']:.0f} s")
    assert figures["after"] - figures["before"] < 50, figures


def test_the_soak_lessons_load():
    assert load(SMALL) and load(COMPARE)
