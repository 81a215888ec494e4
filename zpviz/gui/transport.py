"""The transport: play, pause, step, seek, speed. The app's only timers live in this module.

Playback time maps to frames through present.playback (pure, tested without a clock); the
timer only measures real elapsed time and feeds it in. Predict mode's stops are frames at
which playback and stepping pause until the question is revealed.
"""

from __future__ import annotations

import time

from PySide6 import QtCore

from zpviz.present import navigate, playback

TICK_MS = 33  # ~30 frames a second is plenty for a projector


class Transport(QtCore.QObject):
    frameChanged = QtCore.Signal(int)
    playingChanged = QtCore.Signal(bool)
    speedChanged = QtCore.Signal(float)
    stopReached = QtCore.Signal(int)  # a predict stop: the window asks its question
    secondTick = QtCore.Signal()  # once a second, for clocks

    def __init__(self, parent=None):
        super().__init__(parent)
        self._timer = QtCore.QTimer(self)
        self._timer.setInterval(TICK_MS)
        self._timer.setTimerType(QtCore.Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self._on_timer)
        self._clock = QtCore.QTimer(self)
        self._clock.setInterval(1000)
        self._clock.timeout.connect(self.secondTick.emit)
        self._clock.start()
        self.plan: playback.Plan | None = None
        self.stops: navigate.Stops | None = None
        self.frame = 0
        self.t = 0.0
        self.speed_index = playback.SPEEDS.index(1.0)
        self._armed: set[int] = set()  # every predict stop of the lesson (predict mode on)
        self.pending: set[int] = set()  # ... of which not yet revealed
        self._last = 0.0

    # ------------------------------------------------------------------ model
    def set_lesson(self, plan: playback.Plan, stops: navigate.Stops, frame: int = 0) -> None:
        self.plan = plan
        self.stops = stops
        self.seek(frame)

    @property
    def n_frames(self) -> int:
        return self.stops.n_frames if self.stops else 0

    @property
    def speed(self) -> float:
        return playback.SPEEDS[self.speed_index]

    @property
    def playing(self) -> bool:
        return self._timer.isActive()

    # ------------------------------------------------------------------ commands
    def seek(self, frame: int) -> None:
        if self.stops is None:
            return
        frame = navigate.clamp(self.stops, frame)
        self.t = playback.time_of(self.plan, frame) if self.plan else 0.0
        self._set_frame(frame, force=True)

    def go(self, command: str) -> None:
        """A transport command (present.navigate.go); stepping forward pauses at a pending predict stop."""
        if self.stops is None:
            return
        self.pause()
        target = navigate.go(self.stops, self.frame, command)
        if command in ("next", "next_step"):
            if self.frame in self.pending:  # the question here is still open: ask it again
                self.stopReached.emit(self.frame)
                return
            hit = [s for s in self.pending if self.frame < s <= target]
            if hit:
                self.seek(min(hit))
                self.stopReached.emit(min(hit))
                return
        if command == "first":
            self.rearm()
        self.seek(target)

    def play(self) -> None:
        if self.stops is None or self.playing:
            return
        if self.frame >= self.n_frames - 1:
            self.seek(0)
        if self.frame in self.pending:
            self.stopReached.emit(self.frame)
            return
        self._last = time.monotonic()
        self._timer.start()
        self.playingChanged.emit(True)

    def pause(self) -> None:
        if self._timer.isActive():
            self._timer.stop()
            self.playingChanged.emit(False)

    def toggle(self) -> None:
        self.pause() if self.playing else self.play()

    def faster(self) -> None:
        self.set_speed_index(self.speed_index + 1)

    def slower(self) -> None:
        self.set_speed_index(self.speed_index - 1)

    def set_speed_index(self, i: int) -> None:
        i = max(0, min(len(playback.SPEEDS) - 1, i))
        if i != self.speed_index:
            self.speed_index = i
            self.speedChanged.emit(self.speed)

    def rearm(self) -> None:
        """Ask every predict question again (going back to the start of the lesson)."""
        self.pending = set(self._armed)

    def set_predict_stops(self, stops: set[int]) -> None:
        self._armed = set(stops)
        self.pending = set(stops)

    def resolve(self, stop: int) -> None:
        """The question at `stop` was revealed: do not stop there again."""
        self.pending.discard(stop)

    # ------------------------------------------------------------------ time
    def tick(self, dt: float) -> None:
        """Advance playback by dt seconds of wall time (the timer calls this; tests call it directly).

        Does nothing while paused, exactly as when the timer is stopped."""
        if self.plan is None or not self.playing:
            return
        tk = playback.next_index(self.plan, self.frame, self.t, dt, self.speed, tuple(self.pending))
        self.t = tk.t
        self._set_frame(tk.frame)
        if tk.stop is not None:
            self.pause()
            self.stopReached.emit(tk.stop)
        elif tk.done:
            self.pause()

    def _on_timer(self) -> None:
        now = time.monotonic()
        dt, self._last = min(now - self._last, 0.25), now  # a stalled UI must not skip a whole step
        self.tick(dt)

    def _set_frame(self, frame: int, force: bool = False) -> None:
        if frame != self.frame or force:
            self.frame = frame
            self.frameChanged.emit(frame)


class Debouncer(QtCore.QObject):
    """Call `fn` once, `ms` after the last poke: editors save in several writes."""

    def __init__(self, fn, ms: int = 300, parent=None):
        super().__init__(parent)
        self._timer = QtCore.QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(ms)
        self._timer.timeout.connect(fn)

    def poke(self) -> None:
        self._timer.start()

    def flush(self) -> None:
        """Run now if a call is pending (tests, and reloading before a screenshot)."""
        if self._timer.isActive():
            self._timer.stop()
            self._timer.timeout.emit()
