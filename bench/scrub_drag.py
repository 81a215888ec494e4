"""A lecturer's drag of the timeline of the million-event lesson, in a shown window (offscreen platform).

bench/app_bench.scrub_times calls the window's seek and grabs the whole never-shown window after each:
the figure the issue's target is set on. This is the drag itself, as a lecturer makes it: the window
zpviz opens (not an offscreen render window: the application's theme applies, so the plots and the
mapping lines are antialiased), shown, at 1920x1080; a press on the timeline's track, `n` mouse moves
across it (each a seek of ~1/n of the lesson, what a quick drag sends), a release; after each move the
event loop runs until the window has no repaint pending, so each move is one frame on the screen (the
window repaints what the seek changed, not every widget). Printed as JSON: frames per second of wall
time and of this process's CPU time, each the best of `rounds` drags. Run in a process of its own (it
themes the application):

    python bench/scrub_drag.py [--pages 262144] [--n 60] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def drag_times(pages: int = 262144, n: int = 60, rounds: int = 3, kernel: str = "modern",
               size: tuple[int, int] = (1920, 1080)) -> dict:
    from PySide6 import QtCore, QtGui, QtWidgets

    from bench.app_bench import _offscreen_quiet, _Repaints
    from bench.run import million_event_lesson
    from zpviz.gui.mainwindow import MainWindow

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])  # noqa: F841 (held: it must outlive the window)
    QtCore.qInstallMessageHandler(_offscreen_quiet)
    d = Path(tempfile.mkdtemp())
    lesson = d / "million.toml"
    lesson.write_text(million_event_lesson(pages))
    win = MainWindow(settings=QtCore.QSettings(str(d / "s.ini"), QtCore.QSettings.Format.IniFormat))
    win.open_lesson(str(lesson), kernel, None, sync=True)
    win.resize(*size)
    win.show()
    settle = _Repaints(win).settle
    settle()
    tl = win.bar.timeline
    left = QtCore.Qt.MouseButton.LeftButton

    def mouse(kind, x: float, button, buttons) -> None:
        pos = QtCore.QPointF(x, tl.height() / 2)
        QtWidgets.QApplication.sendEvent(tl, QtGui.QMouseEvent(kind, pos, tl.mapToGlobal(pos), button, buttons,
                                                                 QtCore.Qt.KeyboardModifier.NoModifier))

    walls, cpus = [], []
    x0, x1 = 12.0, tl.width() - 12.0
    for _ in range(rounds):
        mouse(QtCore.QEvent.Type.MouseButtonPress, x0, left, left)
        settle()
        t, c = time.perf_counter(), time.process_time()
        for i in range(1, n + 1):
            mouse(QtCore.QEvent.Type.MouseMove, x0 + (x1 - x0) * i / n, QtCore.Qt.MouseButton.NoButton, left)
            settle()
        walls.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
        mouse(QtCore.QEvent.Type.MouseButtonRelease, x1, left, QtCore.Qt.MouseButton.NoButton)
        settle()
    events = win.lesson.lead.n_events
    win.close()
    return {"scrub_drag_fps": round(n / min(walls), 1), "scrub_drag_cpu_fps": round(n / min(cpus), 1),
            "scrub_drag_trace_events": events, "scrub_drag_rounds": rounds}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", type=int, default=262144)
    ap.add_argument("--n", type=int, default=60)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    print(json.dumps(drag_times(a.pages, a.n, a.rounds)))
    sys.stdout.flush()
    os._exit(0)  # (the window's teardown at interpreter exit is no part of the figure)


if __name__ == "__main__":
    main()
