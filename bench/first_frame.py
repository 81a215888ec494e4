"""The process bench/app_bench.startup_first_frame_s times: the app opening a lesson in a window
(offscreen) as `zpviz FILE` does, until the first picture of the lesson is painted. It prints
"first-frame <time.time()>" then and quits. Not a test; nothing else runs it."""

from __future__ import annotations

import os
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def main(path: str) -> int:
    try:  # what zpviz.cli.main sets before numpy is imported (a checkout from before it: nothing)
        from zpviz.cli import BLAS_THREADS
    except ImportError:
        BLAS_THREADS = {}
    for name, value in BLAS_THREADS.items():
        os.environ.setdefault(name, value)
    try:
        from zpviz.present import prefetch
    except ImportError:  # a checkout from before the start-up worker (docs/startup.md): timed the same
        prefetch = None
    if prefetch is not None:
        prefetch.start(path)  # as zpviz.cli does before Qt is imported: the lesson simulates meanwhile
    from zpviz.gui.app import _app, show_on_screen  # what run_app uses, minus the no-display check

    app = _app(False)
    from zpviz.gui.mainwindow import MainWindow
    from zpviz.gui.settings import MemorySettings

    win = MainWindow(settings=MemorySettings(), restore=False)
    win.resize(1920, 1080)

    def shown(_frame: int) -> None:
        from PySide6 import QtWidgets  # (imported by now; not before zpviz.gui, which goes first)

        if win.lesson is None:
            return
        win.frameShown.disconnect(shown)
        # the panes of the lesson just set are laid out by posted events (layout requests): without
        # them the paint showed an empty pane area, 0.14 s before the lesson's picture (docs/startup.md)
        QtWidgets.QApplication.sendPostedEvents()
        win.repaint()  # the picture drawn now, not when the event loop gets round to it
        print(f"first-frame {time.time():.4f}", flush=True)
        app.quit()

    win.frameShown.connect(shown)
    win.open_lesson(path)
    show_on_screen(win)
    app.exec()
    win.close()
    win.deleteLater()
    return 0


if __name__ == "__main__":
    import importlib.util

    if importlib.util.find_spec("zpviz") is None:  # not installed: the checkout this script is in
        sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    raise SystemExit(main(sys.argv[1]))
