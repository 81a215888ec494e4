"""Loading a lesson: parse, simulate every variant and build the view-models, off the GUI thread.

A lesson comparing variants arrives in parts: `partial` carries it as soon as its leading variant
is ready (the others pending), and again as each other variant joins; `loaded` carries it whole.

A 262,144-page lesson takes seconds to simulate; the window stays responsive and keeps showing
what it had. Results come back through a queued signal; a newer request makes older ones stale,
so a quick succession of edits shows only the last. A stale or cancelled request also stops its
simulation at the engine's next progress call (every 4,096 events), so its thread does not go
on burning a CPU for a result nobody will see.
"""

from __future__ import annotations

import threading
import time
import traceback

from PySide6 import QtCore

from zpviz.engine.cancel import Cancelled
from zpviz.errors import LessonError, Problem
from zpviz.present.session import Lesson, build_lesson
from zpviz.scenario import load


def build(path: str | None, scenario, kernel, compare, progress=None, partial=None) -> Lesson:
    if scenario is None:
        scenario = load(path)
    return build_lesson(scenario, kernel, compare, progress, partial)


def as_problems(exc: BaseException, path: str | None) -> list[str]:
    """Lines for the banner: file:line problems for a LessonError, else the error itself."""
    if isinstance(exc, LessonError):
        return [str(p) for p in exc.problems] or [str(exc)]
    return [f"{path or 'lesson'}: {type(exc).__name__}: {exc}"]


PROGRESS_EVERY_S = 0.1  # event counts reach the status bar at most this often
# After handing over a partial lesson the worker waits (at most this long) until the window has
# drawn it: simulating the next variant meanwhile would take the interpreter's lock from the GUI
# thread half the time and delay the first picture by as much.
DRAWN_WAIT_S = 3.0


class Loader(QtCore.QObject):
    loaded = QtCore.Signal(object, object)  # Lesson, context
    partial = QtCore.Signal(object, object)  # Lesson with variants still pending, context
    failed = QtCore.Signal(object, object)  # exception, context
    progress = QtCore.Signal(str)
    started = QtCore.Signal()  # a background load began (the window shows a busy bar)
    dropped = QtCore.Signal()  # a stale result was thrown away
    cancelled = QtCore.Signal(object)  # context: a stale request's simulation really stopped part-way
    _deliver = QtCore.Signal(int, object, object, object)
    _partial = QtCore.Signal(int, object, object, object)
    _progress = QtCore.Signal(int, str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._gen = 0
        self._busy = 0
        self._deliver.connect(self._on_deliver, QtCore.Qt.ConnectionType.QueuedConnection)
        self._progress.connect(self._on_progress, QtCore.Qt.ConnectionType.QueuedConnection)
        self._partial.connect(self._on_partial, QtCore.Qt.ConnectionType.QueuedConnection)

    @property
    def busy(self) -> bool:
        return self._busy > 0

    def request(self, path: str | None = None, scenario=None, kernel=None, compare=None, *, sync: bool = False,
                context: dict | None = None) -> None:
        self._gen += 1
        gen = self._gen
        context = dict(context or {}, path=path or (scenario.path if scenario is not None else None))
        if sync:
            try:
                lesson = build(path, scenario, kernel, compare)
            except Exception as e:  # noqa: BLE001 - every failure becomes a banner, never a crash
                self.failed.emit(_checked(e), context)
            else:
                self.loaded.emit(lesson, context)
            return
        self._busy += 1
        self.started.emit()

        last = [0.0]

        def progress(text: str) -> bool:
            """The engine's and build_lesson's callback, on the worker thread: False stops the work."""
            if gen != self._gen:
                return False
            now = time.monotonic()
            if now - last[0] >= PROGRESS_EVERY_S or text.endswith("..."):  # phases always, counts ~10/s
                last[0] = now
                self._progress.emit(gen, text)  # queued: _on_progress drops it if it arrives stale
            return True

        def partial(lesson: Lesson) -> None:
            if gen != self._gen:
                return
            drawn = threading.Event()
            self._partial.emit(gen, lesson, context, drawn)  # queued: _on_partial drops it if stale
            deadline = time.monotonic() + DRAWN_WAIT_S
            while not drawn.wait(0.05) and gen == self._gen and time.monotonic() < deadline:
                pass

        def work() -> None:
            try:
                lesson = build(path, scenario, kernel, compare, progress, partial)
            except Cancelled as e:
                self._deliver.emit(gen, None, e, context)
            except Exception as e:  # noqa: BLE001
                self._deliver.emit(gen, None, _checked(e), context)
            else:
                self._deliver.emit(gen, lesson, None, context)

        threading.Thread(target=work, name="zpviz-load", daemon=True).start()

    def _on_progress(self, gen: int, text: str) -> None:
        if gen == self._gen:
            self.progress.emit(text)

    def _on_partial(self, gen: int, lesson, context, drawn: threading.Event) -> None:
        if gen == self._gen:
            self.partial.emit(lesson, context)
        # after the paints that showing it posted (posted events go before a zero timer)
        QtCore.QTimer.singleShot(0, drawn.set)

    def _on_deliver(self, gen: int, lesson, exc, context) -> None:
        self._busy -= 1
        if isinstance(exc, Cancelled):
            self.cancelled.emit(context)
        if gen != self._gen:
            self.dropped.emit()
            return  # a newer request (or a cancel) superseded this one
        if exc is not None:
            self.failed.emit(exc, context)
        else:
            self.loaded.emit(lesson, context)

    def cancel(self) -> None:
        """Stop the running request: its simulation stops within 4,096 events and nothing is shown."""
        self._gen += 1


def _checked(e: Exception) -> Exception:
    """Unexpected errors keep their traceback in the message, for the banner and bug reports."""
    if isinstance(e, (LessonError, ValueError, OSError)):
        return e
    tb = traceback.format_exception_only(type(e), e)[-1].strip()
    return LessonError([Problem("", None, "", f"internal error while building the lesson: {tb}")])
