"""Typed access to one TOML table, collecting problems instead of raising.

The loader reads every key through these getters, so a wrong type, an unknown key or a value out
of range becomes a Problem with file, line and table, and loading goes on with the default: one
pass then reports every mistake in the file.
"""

from __future__ import annotations

import datetime
import difflib
from collections.abc import Iterable

from ..errors import Problem
from .locate import Locator, Path, label
from .model import Source

MAX_PROBLEMS = 200  # beyond this a lecturer learns nothing more, and a message stays readable


def kind(value: object) -> str:
    """What TOML type a value is, in a lecturer's words (bool first: in Python it is an int)."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number with a fraction"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, (datetime.date, datetime.time)):
        return "a date or time"
    return type(value).__name__


def show(value: object) -> str:
    """A value as TOML would spell it, shortened for messages."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + (value if len(value) <= 40 else value[:37] + "...") + '"'
    if isinstance(value, (list, dict)):
        text = repr(value)
        return text if len(text) <= 40 else text[:37] + "..."
    return str(value)


def choices(valid: Iterable[str]) -> str:
    return ", ".join(valid)


def suggest(word: str, valid: Iterable[str]) -> str:
    """'; did you mean "read"?' for a near miss, else ''."""
    valid = list(valid)
    same = [v for v in valid if v.casefold() == word.casefold()]
    # 0.5: one wrong character in a two-character id ("v6" for "v5") is still a near miss
    close = same or difflib.get_close_matches(word, valid, n=1, cutoff=0.5)
    return f'; did you mean "{close[0]}"?' if close else ""


class Ctx:
    """The problems found so far in one file, and where its keys are."""

    def __init__(self, file: str, locator: Locator):
        self.file = file
        self.loc = locator
        self.problems: list[Problem] = []
        self.too_big = False  # some problem is a size bound: raise TooBigError
        # Names of processes and vmas whose table was rejected: steps naming them stay quiet, since
        # "no such vma" would only repeat the problem already reported at the declaration.
        self.broken: set[str] = set()

    def source(self, path: Path) -> Source:
        return Source(self.file, self.loc.line(path), label(path))

    def problem(self, path: Path, message: str, *, too_big: bool = False) -> None:
        self.too_big |= too_big
        self.problems.append(Problem(self.file, self.loc.line(path), label(path), message))

    def problem_at(self, where: Source, message: str, *, too_big: bool = False) -> None:
        self.too_big |= too_big
        self.problems.append(Problem(where.file, where.line, where.table, message))

    def sorted_problems(self) -> list[Problem]:
        """In file order (problems without a line last), at most MAX_PROBLEMS of them."""
        out = sorted(self.problems, key=lambda p: (p.line is None, p.line or 0))
        if len(out) > MAX_PROBLEMS:
            rest = len(out) - MAX_PROBLEMS
            out = out[:MAX_PROBLEMS] + [Problem(self.file, None, "", f"... and {rest} more problems")]
        return out


_MISSING = object()


class Table:
    """One TOML table of the lesson, read key by key."""

    def __init__(self, ctx: Ctx, data: dict, path: Path):
        self.ctx, self.data, self.path = ctx, data, path

    def src(self, key: str | None = None) -> Source:
        return self.ctx.source(self.path + ((key,) if key else ()))

    def problem(self, key: str | None, message: str, **kw: bool) -> None:
        self.ctx.problem(self.path + ((key,) if key else ()), message, **kw)

    def has(self, key: str) -> bool:
        return key in self.data

    def keys(self, valid: Iterable[str], what: str = "") -> None:
        """Report every key that is not in `valid`, saying which are."""
        valid = list(valid)
        for key in self.data:
            if key not in valid:
                where = f" {what}" if what else ""
                self.problem(key, f'unknown key "{key}"{where}; valid keys: {choices(valid)}'
                                  f"{suggest(key, valid)}")

    def _get(self, key: str, want: str, ok: bool, value: object) -> bool:
        if not ok:
            self.problem(key, f"{key} must be {want}, got {show(value)} ({kind(value)})")
        return ok

    def get_str(self, key: str, default: str | None = None, *, required: bool = False,
            one_of: Iterable[str] | None = None, nonempty: bool = False) -> str | None:
        value = self.data.get(key, _MISSING)
        if value is _MISSING:
            if required:
                self.problem(None, f'missing key "{key}"')
            return default
        if not self._get(key, "a string", isinstance(value, str), value):
            return default
        if one_of is not None:
            valid = list(one_of)
            if value not in valid:
                self.problem(key, f'{key} = {show(value)} is not valid; valid values: {choices(valid)}'
                                  f'{suggest(value, valid)}')
                return default
        if nonempty and not value.strip():
            self.problem(key, f"{key} must not be empty")
            return default
        return value

    def get_bool(self, key: str, default: bool = False) -> bool:
        value = self.data.get(key, _MISSING)
        if value is _MISSING:
            return default
        if not self._get(key, "true or false", isinstance(value, bool), value):
            return default
        return value

    def get_int(self, key: str, default: int | None = None, *, lo: int | None = None,
            hi: int | None = None, required: bool = False) -> int | None:
        value = self.data.get(key, _MISSING)
        if value is _MISSING:
            if required:
                self.problem(None, f'missing key "{key}"')
            return default
        is_int = isinstance(value, int) and not isinstance(value, bool)
        if not self._get(key, "an integer", is_int, value):
            return default
        return value if self._in_range(key, value, lo, hi) else default

    def get_number(self, key: str, default: float | None = None, *, lo: float | None = None,
               hi: float | None = None, lo_open: bool = False) -> float | None:
        value = self.data.get(key, _MISSING)
        if value is _MISSING:
            return default
        is_num = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not self._get(key, "a number", is_num, value):
            return default
        if lo_open and lo is not None and value <= lo:
            self.problem(key, f"{key} must be more than {_num(lo)}, got {show(value)}")
            return default
        return float(value) if self._in_range(key, value, None if lo_open else lo, hi) else default

    def _in_range(self, key: str, value: float, lo: float | None, hi: float | None) -> bool:
        if value != value:  # NaN: TOML allows `nan`, and it compares false with every bound
            self.problem(key, f"{key} must be a number, got nan")
            return False
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            if lo is not None and hi is not None:
                bounds = f"from {_num(lo)} to {_num(hi)}"
            else:
                bounds = f"at least {_num(lo)}" if lo is not None else f"at most {_num(hi)}"
            self.problem(key, f"{key} must be {bounds}, got {show(value)}")
            return False
        return True


def _num(x: float) -> str:
    return str(x) if isinstance(x, int) else f"{x:g}"
