"""Loading a lesson: parse, simulate every variant and build the view-models, off the GUI thread.

A 262,144-page lesson takes seconds to simulate; the window stays responsive and keeps showing
what it had. Results come back through a queued signal; a newer request makes older ones stale,
so a quick succession of edits shows only the last.
"""

from __future__ import annotations

import threading
import traceback

from PySide6 import QtCore

from zpviz.errors import LessonError, Problem
from zpviz.present.session import Lesson, build_lesson
from zpviz.scenario import load


def build(path: str | None, scenario, kernel, compare, progress=None) -> Lesson:
    if scenario is None:
        scenario = load(path)
    return build_lesson(scenario, kernel, compare, progress)


def as_problems(exc: BaseException, path: str | None) -> list[str]:
    """Lines for the banner: file:line problems for a LessonError, else the error itself."""
    if isinstance(exc, LessonError):
        return [str(p) for p in exc.problems] or [str(exc)]
    return [f"{path or 'lesson'}: {type(exc).__name__}: {exc}"]


class Loader(QtCore.QObject):
    loaded = QtCore.Signal(object, object)  # Lesson, context
    failed = QtCore.Signal(object, object)  # exception, context
    progress = QtCore.Signal(str)
    started = QtCore.Signal()
    dropped = QtCore.Signal()  # a stale result was thrown away  # a background load began (the window shows a busy bar)
    _deliver = QtCore.Signal(int, object, object, object)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._gen = 0
        self._busy = 0
        self._deliver.connect(self._on_deliver, QtCore.Qt.ConnectionType.QueuedConnection)

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

        def work() -> None:
            try:
                lesson = build(path, scenario, kernel, compare, self.progress.emit)
            except Exception as e:  # noqa: BLE001
                self._deliver.emit(gen, None, _checked(e), context)
            else:
                self._deliver.emit(gen, lesson, None, context)

        threading.Thread(target=work, name="zpviz-load", daemon=True).start()

    def _on_deliver(self, gen: int, lesson, exc, context) -> None:
        self._busy -= 1
        if gen != self._gen:
            self.dropped.emit()
            return  # a newer request (or a cancel) superseded this one
        if exc is not None:
            self.failed.emit(exc, context)
        else:
            self.loaded.emit(lesson, context)

    def cancel(self) -> None:
        """Forget the running request: its result will be dropped (the simulation cannot be interrupted)."""
        self._gen += 1


def _checked(e: Exception) -> Exception:
    """Unexpected errors keep their traceback in the message, for the banner and bug reports."""
    if isinstance(e, (LessonError, ValueError, OSError)):
        return e
    tb = traceback.format_exception_only(type(e), e)[-1].strip()
    return LessonError([Problem("", None, "", f"internal error while building the lesson: {tb}")])
