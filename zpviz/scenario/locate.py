"""Line numbers for the tables and keys of a TOML text.

tomllib returns plain dicts without positions, yet every problem must name its line. This scans
the text once at the level of statements: table headers, the key at the start of a `key = value`
line, and just enough of each value (strings, brackets, comments) to step over multi-line arrays
and strings so their contents are never taken for keys. Keys inside a one-line inline table
(`expect = { v5 = {...} }`) are not recorded; a lookup falls back to the longest recorded prefix,
which is that same line. It never raises, so it can also place a tomllib syntax error in a table.
"""

from __future__ import annotations

import json
import re

Path = tuple  # ("step", 3, "expect", "v5", "frames_used"): table names, array indices, keys

_BARE = re.compile(r"[A-Za-z0-9_-]+")
_TABLE_WORDS = {"process", "vma", "step"}


def label(path: Path) -> str:
    """The table name used in messages: "scenario", "vma 2", "step 4", "step 4 expect v5"."""
    if not path:
        return ""
    if path[0] in _TABLE_WORDS and (len(path) < 2 or not isinstance(path[1], int)):
        return str(path[0])  # [step] written for [[step]]
    if path[0] in _TABLE_WORDS:
        head = f"{path[0]} {path[1]}"
        if path[0] == "step" and len(path) >= 4 and path[2] == "expect":
            return f"{head} expect {path[3]}"
        return head
    return str(path[0]) if path[0] in ("scenario", "program") else "top level"  # a key above every table header


def _key(s: str, i: int) -> tuple[list[str], int]:
    """Parse a dotted key starting at s[i]; returns its parts and the index after it."""
    parts: list[str] = []
    n = len(s)
    while True:
        while i < n and s[i] in " \t":
            i += 1
        if i < n and s[i] in "\"'":
            q = s[i]
            j = i + 1
            while j < n and s[j] != q:
                j += 2 if (q == '"' and s[j] == "\\") else 1
            raw = s[i + 1 : j]
            if q == '"' and "\\" in raw:
                try:  # TOML basic-string escapes are a superset-compatible subset of JSON's
                    raw = json.loads(f'"{raw}"')
                except ValueError:
                    pass
            parts.append(raw)
            i = j + 1
        else:
            m = _BARE.match(s, i)
            if m is None:
                return parts, i
            parts.append(m.group())
            i = m.end()
        while i < n and s[i] in " \t":
            i += 1
        if i < n and s[i] == ".":
            i += 1
            continue
        return parts, i


class Locator:
    """Where each table and key of one TOML text starts."""

    def __init__(self, text: str):
        self._lines: dict[Path, int] = {}
        self._tables: list[tuple[int, Path]] = []  # (line, table path), in text order
        self._aot: dict[Path, int] = {}  # array-of-tables path -> elements seen so far
        self._depth = 0  # open [ and { of a value spanning lines
        self._ml: str | None = None  # the delimiter of an open multi-line string
        table: Path = ()
        # split on "\n" only, as tomllib counts lines (splitlines would also split on \x0c, \u2028 ...)
        for lineno, line in enumerate(text.split("\n"), start=1):
            try:
                table = self._statement(line.rstrip("\r"), lineno, table)
            except Exception:  # a locator must never turn a lesson error into a traceback
                self._depth, self._ml = 0, None

    def _indexed(self, names: list[str]) -> Path:
        """["step", "expect", "v5"] -> ("step", 3, "expect", "v5") after the 4th [[step]]."""
        path: Path = ()
        for name in names:
            path += (name,)
            if path in self._aot:
                path += (self._aot[path] - 1,)
        return path

    def _record(self, path: Path, lineno: int) -> None:
        for k in range(1, len(path) + 1):
            self._lines.setdefault(path[:k], lineno)

    def _statement(self, line: str, lineno: int, table: Path) -> Path:
        if self._ml is not None or self._depth > 0:
            self._value(line, 0)  # still inside a multi-line value: nothing here is a key
            return table
        s = line.lstrip()
        if not s or s[0] == "#":
            return table
        if s.startswith("[["):
            names, _ = _key(s, 2)
            parent = self._indexed(names[:-1]) + tuple(names[-1:])
            self._aot[parent] = self._aot.get(parent, 0) + 1
            table = parent + (self._aot[parent] - 1,)
            self._record(table, lineno)
            self._tables.append((lineno, table))
            return table
        if s[0] == "[":
            names, _ = _key(s, 1)
            table = self._indexed(names)
            self._record(table, lineno)
            self._tables.append((lineno, table))
            return table
        parts, i = _key(s, 0)
        if parts:
            self._record(table + tuple(parts), lineno)
            j = s.find("=", i)
            if j >= 0:
                self._value(s, j + 1)
        return table

    def _value(self, s: str, i: int) -> None:
        """Step over a value (or the rest of one), tracking brackets and multi-line strings."""
        n = len(s)
        while i < n:
            if self._ml is not None:
                end = s.find(self._ml, i)
                while end > 0 and self._ml == '"""' and _escaped(s, end):
                    end = s.find(self._ml, end + 1)
                if end < 0:
                    return
                i, self._ml = end + 3, None
                continue
            c = s[i]
            if c == "#":
                return
            if c in "\"'":
                if s.startswith(c * 3, i):
                    self._ml, i = c * 3, i + 3
                    continue
                j = i + 1
                while j < n and s[j] != c:
                    j += 2 if (c == '"' and s[j] == "\\") else 1
                i = j + 1
                continue
            if c in "[{":
                self._depth += 1
            elif c in "]}":
                self._depth = max(0, self._depth - 1)
            i += 1

    def line(self, path: Path) -> int | None:
        """The line of `path`, or of its longest recorded prefix (None if nothing matches)."""
        for k in range(len(path), 0, -1):
            hit = self._lines.get(tuple(path[:k]))
            if hit is not None:
                return hit
        return None

    def table_at(self, lineno: int) -> Path:
        """The table a line belongs to: the last header at or before it."""
        current: Path = ()
        for start, table in self._tables:
            if start > lineno:
                break
            current = table
        return current


def _escaped(s: str, i: int) -> bool:
    """Whether s[i] is preceded by an odd number of backslashes."""
    k = i - 1
    while k >= 0 and s[k] == "\\":
        k -= 1
    return (i - 1 - k) % 2 == 1
