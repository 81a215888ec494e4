"""The command line's progress bar: frames done, frames per second and the time left, on stderr."""

from __future__ import annotations

import sys
import time
from typing import TextIO

WIDTH = 28
EVERY_S = 0.2  # redraw at most five times a second


def _clock(seconds: float) -> str:
    s = int(max(0, round(seconds)))
    m, s = divmod(s, 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class ProgressBar:
    """Call it with (done, total) as frames are written; close() ends the line."""

    def __init__(self, label: str = "", stream: TextIO | None = None, enabled: bool = True,
                 clock=time.monotonic):
        self.label = label
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self._clock = clock
        self._t0 = clock()
        self._last = -1.0
        self._shown = False
        self.done = 0

    def line(self, done: int, total: int) -> str:
        elapsed = max(self._clock() - self._t0, 1e-9)
        frac = done / total if total else 1.0
        fill = int(WIDTH * frac)
        rate = done / elapsed
        left = (total - done) / rate if rate > 0 else 0.0
        bar = "#" * fill + "-" * (WIDTH - fill)
        head = f"{self.label} " if self.label else ""
        return (f"{head}[{bar}] {frac:4.0%} {done}/{total} frames  {rate:5.1f} fps  "
                f"{_clock(left)} left")

    def __call__(self, done: int, total: int) -> None:
        self.done = done
        if not self.enabled:
            return
        now = self._clock()
        if done < total and now - self._last < EVERY_S:
            return
        self._last = now
        self.stream.write("\r" + self.line(done, total))
        self.stream.flush()
        self._shown = True

    def close(self) -> None:
        if self.enabled and self._shown:
            self.stream.write("\n")
            self.stream.flush()
            self._shown = False


def wants_bar(stream: TextIO, forced: bool) -> bool:
    if forced:
        return True
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
