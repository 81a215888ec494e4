"""What the program panel shows at a frame: the lesson's [program] and the line its current step runs.

No Qt here: the app's dock (gui/programview.py) and any exporter draw from this.
"""

from __future__ import annotations

from dataclasses import dataclass

LANGUAGE_NAMES = {"c": "C", "python": "Python"}


@dataclass(frozen=True)
class ProgramView:
    title: str  # "count.c \u00b7 C"
    language: str  # "c" or "python"
    lines: tuple[str, ...]
    current: int | None  # 1-based: the line the current step runs; None before the first step or for a step without one


def program_view(scenario, step: int) -> ProgramView | None:
    """The panel's content after lesson step `step` (-1: before the first); None without a [program]."""
    prog = getattr(scenario, "program", None)
    if prog is None:
        return None
    lang = LANGUAGE_NAMES.get(prog.language, prog.language)
    title = f"{prog.name} \u00b7 {lang}" if prog.name else lang
    current = scenario.steps[step].line if 0 <= step < len(scenario.steps) else None
    return ProgramView(title, prog.language, prog.lines, current)


def program_at(trace, frame: int) -> ProgramView | None:
    """The panel's content at a frame of a played lesson (the step its last event belongs to)."""
    return program_view(trace.scenario, trace.step_of_frame(frame))
