"""GUI tests run offscreen; Qt warnings fail them (pyproject: qt_log_level_fail = WARNING)."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before anything imports Qt

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

DATA = Path(__file__).parent / "data"
SMALL = DATA / "small.toml"
COMPARE = DATA / "compare.toml"
BROKEN = DATA / "broken.toml"

# The offscreen platform plugin warns about window-manager features it lacks when a window is shown;
# they say nothing about zpviz, so only these exact messages are ignored.
OFFSCREEN_NOISE = r"This plugin does not support (propagateSizeHints|raise|grabbing the keyboard|setParent)"


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    for item in items:
        if Path(item.path).is_relative_to(here):
            item.add_marker(pytest.mark.qt_log_ignore(OFFSCREEN_NOISE))


@pytest.fixture
def settings(tmp_path):
    from PySide6 import QtCore

    return QtCore.QSettings(str(tmp_path / "settings.ini"), QtCore.QSettings.Format.IniFormat)


@pytest.fixture
def make_window(qtbot, settings):
    """make_window(path=SMALL, kernel=..., compare=...) -> a MainWindow (hidden) with the lesson loaded."""
    from zpviz.gui.mainwindow import MainWindow

    def make(path=SMALL, kernel="v5", compare=None, theme="light", size=(1280, 720)):
        win = MainWindow(theme=theme, settings=settings)
        qtbot.addWidget(win)
        win.resize(*size)
        if path is not None:
            win.open_lesson(str(path), kernel, compare, sync=True)
            assert win.lesson is not None, win.last_problems
        return win

    return make


@pytest.fixture
def window(make_window):
    return make_window()


@pytest.fixture(scope="session")
def small_lesson():
    from zpviz.present.session import build_lesson
    from zpviz.scenario import load

    return build_lesson(load(SMALL), "v5")
