"""Fewer garbage collections while the app starts (docs/startup.md).

A cold start to the tour's first frame allocates a few hundred thousand objects that live on
(modules, classes, PySide6's enums, the lesson's view-models): with Python's default thresholds
(700, 10, 10) that is some 135 young collections, 12 middle ones and a full one, each walking
objects that are all still alive: 0.04-0.05 s of CPU here (~0.12 s on the slow laptop of
issue 15), for next to no garbage. `hold` raises the young generation's threshold for the start;
`release` puts the thresholds back once the first lesson frame is on screen (MainWindow, after
the paint), and the collector goes on as before. Nothing is frozen or switched off: a start that
makes garbage still has it collected, every START_THRESHOLD allocations.
"""

from __future__ import annotations

import gc

START_THRESHOLD = 100_000  # young objects between collections while starting (a start makes fewer)

_saved: tuple[int, int, int] | None = None  # the thresholds before `hold`
_state = "idle"  # then "held", then "released": the start is held once


def hold() -> None:
    """Raise the young generation's threshold until `release` (once a process; later calls do nothing)."""
    global _saved, _state
    if _state != "idle":
        return
    _saved, _state = gc.get_threshold(), "held"
    if _saved[0] != 0:  # 0: automatic collection is off (the program chose so): left off
        gc.set_threshold(max(_saved[0], START_THRESHOLD), *_saved[1:])


def release() -> None:
    """The thresholds as they were before `hold`, unless changed since by someone else."""
    global _state
    if _state != "held":
        return
    _state = "released"
    if _saved[0] != 0 and gc.get_threshold()[0] == max(_saved[0], START_THRESHOLD):
        gc.set_threshold(*_saved)


def holding() -> bool:
    return _state == "held"
