"""The `[program]` table: a short program shown beside the grid, and each step's `line` in it.

A lesson may show the few lines of C or Python whose memory accesses its steps play, with the line
the current step runs highlighted (docs/program.md). The text is only ever shown, never run.
"""

from __future__ import annotations

from .checks import Ctx, Table, choices, kind, show
from .model import Program, Step

LANGUAGES = ("c", "python")
PROGRAM_KEYS = ("language", "text", "name")
MAX_LINES = 40  # beside the grid at 1280x720: a short program, not a listing
MAX_WIDTH = 100


def read_program(ctx: Ctx, data: dict) -> Program | None:
    """The [program] table, or None when the lesson has none (or it is unusable: problems said why)."""
    raw = data.get("program")
    if raw is None:
        return None
    if not isinstance(raw, dict):
        ctx.problem(("program",), f"write [program] once, as a table with language and text; got "
                                  f"{show(raw)} ({kind(raw)})")
        return None
    t = Table(ctx, raw, ("program",))
    t.keys(PROGRAM_KEYS, what="in [program]")
    language = t.get_str("language", required=True, one_of=LANGUAGES)
    text = t.get_str("text", required=True, nonempty=True)
    name = t.get_str("name", "") or ""
    if text is None or language is None:
        return None
    lines = text.rstrip("\n").split("\n")
    if len(lines) > MAX_LINES:
        t.problem("text", f"the program has {len(lines)} lines; at most {MAX_LINES} fit beside the grid: "
                          f"show only the lines the steps run")
        return None
    wide = next((i for i, line in enumerate(lines, 1) if len(line.expandtabs(4)) > MAX_WIDTH), None)
    if wide is not None:
        t.problem("text", f"line {wide} of the program is {len(lines[wide - 1].expandtabs(4))} characters "
                          f"long; at most {MAX_WIDTH} stay readable on a projector")
        return None
    return Program(language=language, text=text, name=name, source=t.src())


def check_lines(ctx: Ctx, steps: tuple[Step, ...], program: Program | None, had_program: bool) -> None:
    """Every step's `line` must name a line of the program; a line without a program is a mistake."""
    for s in steps:
        if s.line is None:
            continue
        where = ("step", s.index, "line")
        if program is None:
            if not had_program:  # an unusable [program] has its own message already
                ctx.problem(where, f"line = {s.line} names a line of the lesson's program, but the lesson "
                                   f"has no [program]; add one with language ({choices(LANGUAGES)}) and text")
        elif s.line > len(program.lines):
            ctx.problem(where, f"line = {s.line} is past the end of the program, which has "
                               f"{len(program.lines)} lines (1..{len(program.lines)})")
