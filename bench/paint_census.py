"""Which widgets paint at a step of the window, and whether a shown window repaints any for nothing.

    QT_QPA_PLATFORM=offscreen python bench/paint_census.py [LESSON] [--kernel K] [--steps N] [--size WxH]

Steps the lesson (the tour by default, every variant side by side) from a third of the way in and
counts the paint events each widget gets a step, by class and parent class:

- `grab`: a window never shown, `set_frame` then `grab()` (what screenshots, exports and the
  bench's `window_step_ms_median` do): every widget of the window paints, once.
- `shown`: a shown window (the offscreen platform), `set_frame` then the event loop until no repaint
  is pending (`window_step_shown_ms_median`): Qt repaints the regions the step made dirty. For each
  such repaint, "unchanged" counts those after which the window's picture (its backing store) was
  the same in the painted rectangle as before the step: a repaint that changed nothing there, so a
  step that dirtied more than it changed.

Counts only, no times: an application-wide event filter costs each event a Python call, which would
swamp the few microseconds a small widget's paint takes (time a change with alternating blocks of
steps in one process instead, as docs/speed.md describes). Not a test; nothing here is asserted.
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("ZPVIZ_NO_CACHE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
from PySide6 import QtCore, QtWidgets  # noqa: E402

from bench import app_bench  # noqa: E402


def _name(w: QtWidgets.QWidget) -> str:
    parent = w.parentWidget()
    return f"{type(w).__name__} in {w.objectName() or (type(parent).__name__ if parent else '-')}"


class _Paints(QtCore.QObject):
    """The paint events (widget, rectangle) the application delivers while `on`."""

    def __init__(self):
        super().__init__()
        self.on = False
        self.seen: list[tuple[QtWidgets.QWidget, QtCore.QRect]] = []

    def eventFilter(self, obj, ev) -> bool:  # noqa: N802 (Qt's name)
        if self.on and ev.type() == QtCore.QEvent.Type.Paint and obj.isWidgetType():
            self.seen.append((obj, QtCore.QRect(ev.rect())))
        return False


def _screen(win) -> np.ndarray:
    img = win.backingStore().paintDevice()
    rows = np.frombuffer(img.constBits(), np.uint8).reshape(img.height(), img.bytesPerLine())
    return rows[:, :img.width() * 4].reshape(img.height(), img.width(), 4).copy()


def census(path: str, kernel: str | None, steps: int, size: tuple[int, int], shown: bool) -> tuple[dict, dict]:
    """Paint events a step per widget name, and (shown) those that changed no pixel of their rect."""
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    quiet = QtCore.qInstallMessageHandler(app_bench._offscreen_quiet)
    paints = _Paints()
    app.installEventFilter(paints)
    win = app_bench._window(path, kernel, size)
    total: collections.Counter = collections.Counter()
    unchanged: collections.Counter = collections.Counter()
    try:
        if shown:
            win.show()
            settle = app_bench._Repaints(win).settle
        else:
            def settle() -> None:
                win.grab()
        settle()
        start = win.frame_count() // 3
        win.set_frame(start)
        settle()
        for i in range(steps):
            before = _screen(win) if shown else None
            paints.seen.clear()
            paints.on = True
            win.set_frame(min(start + 1 + i, win.frame_count() - 1))
            settle()
            paints.on = False
            after = _screen(win) if shown else None
            for w, r in paints.seen:
                total[_name(w)] += 1
                if shown:
                    at = w.mapTo(win, r.topLeft()) if w is not win else r.topLeft()
                    y, x = slice(at.y(), at.y() + r.height()), slice(at.x(), at.x() + r.width())
                    if np.array_equal(before[y, x], after[y, x]):
                        unchanged[_name(w)] += 1
        app_bench._close(win)
    finally:
        app.removeEventFilter(paints)
        QtCore.qInstallMessageHandler(quiet)
    return ({k: v / steps for k, v in total.items()}, {k: v / steps for k, v in unchanged.items()})


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("lesson", nargs="?", default=str(app_bench.TOUR))
    ap.add_argument("--kernel", default=None, help="one variant (default: the lesson as it opens)")
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--size", default="1920x1080")
    a = ap.parse_args(argv)
    size = tuple(int(v) for v in a.size.lower().split("x"))
    for shown in (False, True):
        total, unchanged = census(a.lesson, a.kernel, a.steps, size, shown)
        print(f"{'shown window' if shown else 'grab of a window never shown'}: "
              f"{sum(total.values()):.1f} paint events a step"
              + (f", {sum(unchanged.values()):.1f} of them changed no pixel" if shown else ""))
        for k, v in sorted(total.items(), key=lambda kv: -kv[1]):
            print(f"  {v:6.2f}" + (f"  unchanged {unchanged.get(k, 0):5.2f}" if shown else "") + f"  {k}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
