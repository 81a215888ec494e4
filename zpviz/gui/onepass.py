"""A shown window's step repainted in one pass, not one pass per graphics view.

A QGraphicsScene processes its changed items in a queued call, and at the end of it sends the
window's pending repaint request at once (QGraphicsScenePrivate::_q_processDirtyItems, "immediately
dispatch all pending update requests on the views"), so that a scene's change shows without waiting.
A step changes the tour's four memory views (and the counters): each scene's queued call then
repaints the window, four passes a step, each with its own backing-store set-up and flush, the
window's other dirty widgets in the first.

`OnePassRepaints`, an event filter on the window, sees the window's repaint request (UpdateRequest)
arrive and, before letting it through, delivers the queued calls still waiting for the window's
graphics scenes: their items' changes are then marked dirty too, and the one request repaints all of
it. The requests those scenes send meanwhile find nothing posted (the one under way has left the
queue, and Qt posts no new one while widgets are dirty), and any that does come is dropped: the
request under way paints every dirty region. What is painted is what the passes painted, at the
same moment of the event loop (a scene's queued call is delivered a little earlier, before the
repaint it would have caused).
"""

from __future__ import annotations

import weakref

import shiboken6
from PySide6 import QtCore, QtWidgets

_UPDATE = QtCore.QEvent.Type.UpdateRequest
_META_CALL = QtCore.QEvent.Type.MetaCall
# The graphics views a window's repaint takes the scenes' changes of: the memory and counters views
# register as they are made. (Finding them with window.findChildren at every repaint walked the
# window's few thousand objects: ~0.6 ms a frame.) A graphics view not registered still shows its
# changes, in a repaint of its own.
_VIEWS: weakref.WeakSet = weakref.WeakSet()


def register(view: QtWidgets.QGraphicsView) -> None:
    """Let a window's one-pass repaint take `view`'s scene changes along."""
    _VIEWS.add(view)


class OnePassRepaints(QtCore.QObject):
    def __init__(self, window: QtWidgets.QWidget):
        super().__init__(window)
        self.window = window
        self._flushing = False
        self.merged = 0  # (for tests) repaint requests that took the scenes' changes with them
        window.installEventFilter(self)

    def eventFilter(self, obj, ev: QtCore.QEvent) -> bool:  # noqa: N802 (Qt's name)
        if obj is not self.window or ev.type() != _UPDATE:
            return False
        if self._flushing:
            return True  # a scene's own request while the one under way waits: that one paints it all
        self._flushing = True
        try:
            for view in list(_VIEWS):
                if not shiboken6.isValid(view) or view.window() is not self.window:
                    continue
                scene = view.scene()
                if scene is not None and view.isVisible():
                    QtCore.QCoreApplication.sendPostedEvents(scene, _META_CALL)
        finally:
            self._flushing = False
        self.merged += 1
        return False
