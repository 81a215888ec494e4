"""The window an export renders: the app's own MainWindow, hidden, showing an already built lesson.

It is a second instance of the window class the lecturer sees (not the live window, so an
export never moves what the room is looking at), with throwaway settings so an export never
changes the user's saved theme, layout or recent files. Its pictures come from
MainWindow.render_image, the same method `zpviz --screenshot` uses.
"""

from __future__ import annotations

import os
import tempfile


class _Settings:
    """A QSettings in a temporary folder, removed with the window."""

    def __init__(self):
        from PySide6 import QtCore

        self.dir = tempfile.TemporaryDirectory(prefix="zpviz-export-")
        self.qsettings = QtCore.QSettings(os.path.join(self.dir.name, "settings.ini"),
                                          QtCore.QSettings.Format.IniFormat)


def export_window(lesson, theme: str, size: tuple[int, int]):
    """A hidden MainWindow at `size`, theme `theme`, showing `lesson` at its first frame."""
    from PySide6 import QtCore

    from zpviz.gui.mainwindow import MainWindow

    settings = _Settings()
    win = MainWindow(theme=theme, settings=settings.qsettings)
    win._offscreen = True  # never save this window's layout over the user's
    win._zpviz_export_settings = settings  # lives as long as the window
    win.setAttribute(QtCore.Qt.WidgetAttribute.WA_DontShowOnScreen, True)
    win.resize(*size)
    win.set_lesson(lesson, 0)
    return win
