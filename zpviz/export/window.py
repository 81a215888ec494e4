"""The window an export renders: the app's own MainWindow, hidden, showing an already built lesson.

It is a second instance of the window class the lecturer sees (not the live window, so an
export never moves what the room is looking at), made with offscreen=True and throwaway
settings, so an export never changes the app's look or the user's saved theme, layout or recent
files. Its pictures come from MainWindow.render_image, the method `zpviz --screenshot` uses.
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


def make_export_window(lesson, theme: str, size: tuple[int, int], chrome: bool = False):
    """A hidden MainWindow at `size`, theme `theme`, showing `lesson` at its first frame, without
    the menu bar and status bar unless `chrome` (an export is a slide).

    offscreen=True: the window carries its theme itself and never restyles the application (so
    exporting from the app in another theme leaves the lecturer's window alone) and never saves
    its layout.
    """
    from PySide6 import QtCore

    from zpviz.gui.mainwindow import MainWindow

    settings = _Settings()
    win = MainWindow(theme=theme, settings=settings.qsettings, offscreen=True)
    win._zpviz_export_settings = settings  # lives as long as the window
    win.setAttribute(QtCore.Qt.WidgetAttribute.WA_DontShowOnScreen, True)
    win.set_chrome(chrome)
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
