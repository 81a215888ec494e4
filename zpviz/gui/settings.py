"""Settings that live in memory only, for windows that are only rendered (screenshots).

Such a window must neither take the user's theme, layout or recent files nor write anything but
its picture: not even a throwaway settings file in a temporary folder. The lecturer's window uses
QSettings, which already writes atomically (QSaveFile: a temporary file renamed over the old one).
"""

from __future__ import annotations


class MemorySettings:
    """The part of QSettings the window uses, kept in a dict."""

    def __init__(self):
        self._values: dict[str, object] = {}

    def value(self, key: str, default=None, type=None):  # noqa: A002 - QSettings' own keyword
        return self._values.get(key, default)

    def setValue(self, key: str, value) -> None:  # noqa: N802 - the QSettings name
        self._values[key] = value

    def contains(self, key: str) -> bool:
        return key in self._values

    def remove(self, key: str) -> None:
        self._values.pop(key, None)

    def allKeys(self) -> list[str]:  # noqa: N802
        return list(self._values)

    def sync(self) -> None:
        """Nothing to write."""
