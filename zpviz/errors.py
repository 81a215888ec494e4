"""Typed errors shared by the loader, the engine and the command line.

A LessonError carries every problem found in one lesson file, each with the file, the line and
the table it came from, so a lecturer can fix them all in one pass.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    file: str
    line: int | None  # 1-based; None when the problem is not tied to one line
    table: str  # "scenario", "vma 2", "step 4", "step 4 expect v5", ...
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: [{self.table}] {self.message}" if self.table else f"{where}: {self.message}"


class LessonError(Exception):
    """A lesson file cannot be used. `problems` lists every reason, in file order."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class TooBigError(LessonError):
    """The lesson would exceed a size bound (page-events, pages, CPUs ...)."""
