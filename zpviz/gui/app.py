"""run_app: the `zpviz [FILE]` entry point the command line calls.

With a screenshot path the window is rendered offscreen at the requested step and never shown;
without a display (and no screenshot) it says what to do instead of letting Qt abort.
"""

from __future__ import annotations

import os
import sys

SCREENSHOT_SIZE = (1920, 1080)
# Harmless messages of Qt's offscreen platform plugin, filtered so a screenshot run prints nothing.
_QUIET = ("This plugin does not support propagateSizeHints()", "This plugin does not support raise()",
          "This plugin does not support grabbing the keyboard")


def _no_display() -> bool:
    """True when a window could not be shown: Qt would abort, so run_app explains instead."""
    if not sys.platform.startswith("linux"):
        return False
    platform = os.environ.get("QT_QPA_PLATFORM", "").split(":")[0]
    if platform in ("offscreen", "minimal"):
        return True
    if platform == "xcb":
        return not os.environ.get("DISPLAY")
    if platform.startswith("wayland"):
        return not os.environ.get("WAYLAND_DISPLAY")
    if platform:  # eglfs, linuxfb, vnc ...: the user chose it on purpose
        return False
    return not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _message_filter(mode, context, message) -> None:
    if any(q in message for q in _QUIET):
        return
    sys.stderr.write(message + "\n")


def _app(screenshot: bool):
    from PySide6 import QtCore, QtWidgets

    app = QtWidgets.QApplication.instance()
    if app is None:
        if screenshot:
            os.environ["QT_QPA_PLATFORM"] = "offscreen"  # never a window, even with a display
        QtCore.QCoreApplication.setOrganizationName("zpviz")
        QtCore.QCoreApplication.setApplicationName("zpviz")
        QtCore.qInstallMessageHandler(_message_filter)
        app = QtWidgets.QApplication(sys.argv[:1])
        app.setDesktopFileName("zpviz")
    from zpviz.gui import safegc

    safegc.install()  # cycles collected from the event loop, never inside a Qt call (gui/safegc.py)
    return app


def run_app(path: str | None = None, kernel: str | None = None, compare: list[str] | None = None,
            step: int | None = None, screenshot: str | None = None, theme: str | None = None,
            size: tuple[int, int] = SCREENSHOT_SIZE, exporter=None, zoom: str | None = None,
            chrome: bool = False) -> int:
    """Open the app on a lesson (the built-in tour when path is None). Returns the exit code.
    zoom and chrome are for screenshots (see _render).

    0 fine; 2 an unusable file or arguments (the error on stderr), or no display. `exporter` is the
    window's export flow (zpviz.export.export_window, handed in by zpviz.cli; None: PNG only).
    """
    if screenshot is None and _no_display():
        sys.stderr.write("zpviz: no display to open a window on. Set DISPLAY (or WAYLAND_DISPLAY), "
                         "or render a still with --screenshot FILE.png\n")
        return 2
    from zpviz.present.palette import theme as check_theme

    try:
        if theme is not None:
            check_theme(theme)
    except ValueError as e:
        sys.stderr.write(f"zpviz: {e}\n")
        return 2
    if path is None:
        from zpviz.scenario.library import builtin_lessons, tour_path

        try:
            path = str(tour_path())
        except FileNotFoundError:
            found = builtin_lessons()
            path = str(found[0]) if found else None
    app = _app(screenshot is not None)
    from PySide6 import QtCore

    from zpviz.gui.mainwindow import MainWindow

    if screenshot is not None:
        return _screenshot(app, path, kernel, compare, step, screenshot, theme, size, zoom, chrome)
    win = MainWindow(theme=theme, settings=QtCore.QSettings(), restore=True)
    win.exporter = exporter
    if path is not None:
        try:
            _check_args(kernel, compare)
        except ValueError as e:
            sys.stderr.write(f"zpviz: {e}\n")
            return 2
        win.open_lesson(path, kernel, compare, step=step)
    show_on_screen(win)
    code = int(app.exec())
    _dispose(win)
    return code


def show_on_screen(win) -> None:
    """Show the window whole on its screen. The default size (1600x900) is more than a 720p
    projector has, and a size saved on a bigger monitor may be too: then the window is shrunk to
    the screen and maximised, so the transport bar and the docks are never past its edge."""
    from PySide6 import QtGui

    screen = win.screen() or QtGui.QGuiApplication.primaryScreen()
    avail = screen.availableGeometry() if screen is not None else None
    if avail is not None and not avail.isEmpty() and (win.width() > avail.width() or win.height() > avail.height()):
        win.resize(win.size().boundedTo(avail.size()))
        win.move(avail.topLeft())
        win.showMaximized()
    else:
        win.show()


def _dispose(win) -> None:
    """Delete the window while the QApplication still exists: left to interpreter shutdown,
    pyqtgraph's scenes can be torn down after Qt and crash the process on exit."""
    from PySide6 import QtCore

    win.close()
    win.deleteLater()
    QtCore.QCoreApplication.sendPostedEvents(None, QtCore.QEvent.Type.DeferredDelete)


def _check_args(kernel, compare) -> None:
    from zpviz.present.compare import parse_compare
    from zpviz.scenario.model import variant_id

    if kernel is not None:
        variant_id(kernel)
    if compare:
        parse_compare(compare)


def _screenshot(app, path, kernel, compare, step, out: str, theme, size=SCREENSHOT_SIZE, zoom=None,
                chrome=False) -> int:
    from zpviz.gui.settings import MemorySettings

    if path is None:
        sys.stderr.write("zpviz: no lesson to render (no FILE, and no built-in tour was found)\n")
        return 2
    try:
        _check_args(kernel, compare)
    except ValueError as e:
        sys.stderr.write(f"zpviz: {e}\n")
        return 2
    # a screenshot neither takes the user's settings nor writes any: only the PNG is written
    return _render(path, kernel, compare, step, out, theme, MemorySettings(), size, zoom, chrome)


def _render(path, kernel, compare, step, out, theme, settings, size=SCREENSHOT_SIZE, zoom=None, chrome=False) -> int:
    """Render the lesson at `step` (the end when None) to `out`: without the menu and status bars
    unless `chrome`, showing the region `zoom` names (present.zoom) when given."""
    from zpviz.gui.lessonio import save_image_atomic
    from zpviz.gui.mainwindow import MainWindow

    win = MainWindow(theme=theme or "light", settings=settings, offscreen=True)
    win.open_lesson(path, kernel, compare, sync=True, step=step)
    if win.lesson is None:
        for line in win.last_problems:
            sys.stderr.write(line + "\n")
        _dispose(win)
        return 2
    if step is not None:
        win.set_step(step)
    else:
        win.set_frame(win.frame_count() - 1)
    win.set_chrome(chrome)
    if zoom is not None:
        try:
            win.resize(*size)  # the zoom fits the window's final geometry
            win.zoom_region(zoom)
        except ValueError as e:
            sys.stderr.write(f"zpviz: {path}: {e}\n")
            _dispose(win)
            return 2
    img = win.render_image(size)
    _dispose(win)
    try:
        save_image_atomic(img, out)
    except OSError as e:
        sys.stderr.write(f"zpviz: cannot write {out}: {e}\n")
        return 2
    return 0
