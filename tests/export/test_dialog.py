"""The app's export: the options dialog and export_with_dialog (progress dialog with Cancel)."""

from __future__ import annotations

import pytest
from PySide6 import QtCore, QtGui, QtWidgets

from tests.export.helpers import TINY, lesson
from zpviz.export.dialog import ExportOptionsDialog, export_with_dialog
from zpviz.export.job import ExportOptions


@pytest.fixture
def window(qtbot, tmp_path):
    """The app's main window with the tiny lesson, hidden, with throwaway settings."""
    from zpviz.gui.mainwindow import MainWindow

    settings = QtCore.QSettings(str(tmp_path / "settings.ini"), QtCore.QSettings.Format.IniFormat)
    win = MainWindow(theme="dark", settings=settings)  # the lecturer's window: it themes the app
    qtbot.addWidget(win)
    win.set_lesson(lesson(TINY), 0)
    return win


def test_options_follow_the_format(qapp):
    L = lesson(TINY)
    dlg = ExportOptionsDialog(None, L, "talk.gif", "dark")
    assert dlg.fps.value() == 15 and dlg.fps.maximum() == 50 and dlg.chosen_size() == (960, 540)
    assert dlg.first.isEnabled() and not dlg.still.isEnabled()
    dlg.first.setValue(2)
    dlg.per.setCurrentIndex(1)
    o = dlg.options()
    assert (o.out, o.first, o.last, o.per, o.fps, o.size, o.theme, o.step) == \
        ("talk.gif", 1, None, "step", 15.0, (960, 540), "dark", None)
    assert o.chrome is False  # a slide leaves the menu and status bars out unless asked
    dlg.chrome.setChecked(True)
    assert dlg.options().chrome is True
    dlg.path.setText("slide.svg")
    assert not dlg.first.isEnabled() and dlg.still.isEnabled()
    dlg.still.setValue(2)
    o = dlg.options()
    assert (o.fmt, o.step, o.first, o.fps) == ("svg", 1, None, None)
    dlg.path.setText("slide.doc")
    assert "must end in" in dlg.note.text()
    dlg.deleteLater()


def test_export_with_dialog_in_another_theme_leaves_the_apps_look_alone(window, tmp_path):
    out = tmp_path / "w.gif"
    before = QtWidgets.QApplication.palette().color(QtGui.QPalette.ColorRole.Window).name()
    o = ExportOptions(lesson=str(TINY), out=str(out), fps=10, size=(640, 360), theme="light")
    r = export_with_dialog(window, options=o)
    assert r is not None and out.exists() and r.frames == 22
    assert QtWidgets.QApplication.palette().color(QtGui.QPalette.ColorRole.Window).name() == before
    assert window.theme.name == "dark"


def test_cancel_writes_nothing(window, tmp_path, monkeypatch):
    monkeypatch.setattr(QtWidgets.QProgressDialog, "wasCanceled", lambda self: True)
    out = tmp_path / "c.mp4"
    assert export_with_dialog(window, options=ExportOptions(lesson="", out=str(out), size=(640, 360))) is None
    assert not out.exists() and not [p for p in tmp_path.iterdir() if ".zpviz-" in p.name]


def test_failure_is_shown_not_raised(window, tmp_path, monkeypatch):
    shown = []
    monkeypatch.setattr(QtWidgets.QMessageBox, "warning", lambda *a: shown.append(a[2]))
    o = ExportOptions(lesson="", out=str(tmp_path / "no" / "x.gif"), size=(640, 360))
    assert export_with_dialog(window, options=o) is None
    assert shown and "does not exist" in shown[0]


def test_package_hooks_exist():
    import zpviz.export as exp

    assert callable(exp.export_with_dialog) and callable(exp.export_window) and callable(exp.export)
