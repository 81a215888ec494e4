"""The window an export renders: the app's own MainWindow, hidden, showing an already built lesson.

It is a second instance of the window class the lecturer sees (not the live window, so an
export never moves what the room is looking at), with throwaway settings so an export never
changes the user's saved theme, layout or recent files. Its pictures come from
MainWindow.render_image, the same method `zpviz --screenshot` uses.
"""

from __future__ import annotations

import os
import shutil
import tempfile


class _Settings:
    """A QSettings in a temporary folder; close() removes both (dispose_window calls it)."""

    def __init__(self):
        from PySide6 import QtCore

        self.dir = tempfile.mkdtemp(prefix="zpviz-export-")
        self.qsettings = QtCore.QSettings(os.path.join(self.dir, "settings.ini"), QtCore.QSettings.Format.IniFormat)

    def close(self) -> None:
        self.qsettings.sync()  # nothing pending, so nothing is written after the folder is gone
        shutil.rmtree(self.dir, ignore_errors=True)


def make_export_window(lesson, theme: str, size: tuple[int, int]):
    """A hidden MainWindow at `size`, theme `theme`, showing `lesson` at its first frame."""
    from PySide6 import QtCore, QtWidgets

    from zpviz.gui.mainwindow import MainWindow
    from zpviz.gui.theme import apply_theme
    from zpviz.present.palette import theme as theme_named

    # The window applies its theme (app font, palette, style sheet) only at the end of its
    # constructor, so the first window of a process is built with the default font and its menu
    # bar stays smaller than in every later window. Applying the theme first makes an export's
    # picture the same whether or not its window is the process's first.
    apply_theme(QtWidgets.QApplication.instance(), theme_named(theme))
    settings = _Settings()
    win = MainWindow(theme=theme, settings=settings.qsettings)
    win._offscreen = True  # never save this window's layout over the user's
    win._zpviz_export_settings = settings  # lives as long as the window
    win.setAttribute(QtCore.Qt.WidgetAttribute.WA_DontShowOnScreen, True)
    win.resize(*size)
    win.set_lesson(lesson, 0)
    return win


def dispose_window(win) -> None:
    """Delete an export window now, while the QApplication exists (pyqtgraph scenes left to
    interpreter shutdown can be torn down after Qt and crash the process), and its settings."""
    from PySide6 import QtCore

    settings = getattr(win, "_zpviz_export_settings", None)
    win.close()
    win.deleteLater()
    QtCore.QCoreApplication.sendPostedEvents(None, QtCore.QEvent.Type.DeferredDelete)
    if settings is not None:
        settings.close()
