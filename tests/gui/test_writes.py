"""What zpviz writes: its chosen output and its settings, nothing else; settings atomically.

Each command runs in a fresh process whose HOME, XDG_CONFIG_HOME, XDG_CACHE_HOME and TMPDIR are
folders of their own, from a working directory of its own; afterwards every file under them is
compared with before.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from .conftest import SMALL


def files_under(root) -> set[str]:
    return {os.path.relpath(os.path.join(d, f), root) for d, _, fs in os.walk(root) for f in fs} | \
        {os.path.relpath(d, root) + "/" for d, _, _ in os.walk(root)}


def run_isolated(tmp_path, *args) -> tuple[subprocess.CompletedProcess, set[str]]:
    """Run `zpviz ARGS` with every place it could write pointed into tmp_path; the new paths."""
    env_dirs = {"HOME": "home", "XDG_CONFIG_HOME": "config", "XDG_CACHE_HOME": "cache", "TMPDIR": "tmp"}
    for d in list(env_dirs.values()) + ["cwd"]:
        (tmp_path / d).mkdir()
    before = files_under(tmp_path)
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM", "XDG_RUNTIME_DIR", "XDG_DATA_HOME")}
    env.update({k: str(tmp_path / d) for k, d in env_dirs.items()})
    r = subprocess.run([sys.executable, "-m", "zpviz", *args], cwd=tmp_path / "cwd", env=env,
                       capture_output=True, text=True, timeout=180)
    return r, files_under(tmp_path) - before


def test_a_screenshot_writes_its_png_and_nothing_else(tmp_path):
    r, new = run_isolated(tmp_path, str(SMALL), "--step", "2", "--screenshot", "OUT.png")
    assert r.returncode == 0, r.stderr
    assert new == {"cwd/OUT.png"}, new  # not even settings: a rendered window keeps them in memory
    assert (tmp_path / "cwd" / "OUT.png").stat().st_size > 10_000


def test_run_json_writes_nothing(tmp_path):
    r, new = run_isolated(tmp_path, "run", str(SMALL), "--json")
    assert r.returncode == 0, r.stderr
    assert r.stdout.lstrip().startswith("{") and new == set(), new


def test_check_writes_nothing(tmp_path):
    r, new = run_isolated(tmp_path, "check", str(SMALL))
    assert r.returncode == 0, r.stdout + r.stderr
    assert new == set(), new


def test_settings_are_written_atomically(tmp_path, qapp):
    """QSettings writes a new file and renames it over the old one (QSaveFile): a crash or a full
    disk mid-write leaves the old settings whole. Each sync is a new inode; nothing is left behind."""
    from PySide6 import QtCore

    from zpviz.gui.mainwindow import MainWindow

    path = tmp_path / "zpviz.conf"
    settings = QtCore.QSettings(str(path), QtCore.QSettings.Format.IniFormat)
    assert settings.isAtomicSyncRequired()  # zpviz never turns it off: no direct-write fallback
    win = MainWindow(settings=settings)
    win.set_theme("dark")
    settings.sync()
    first = path.stat().st_ino
    win.add_recent(str(SMALL))
    settings.sync()
    assert path.stat().st_ino != first  # replaced, not rewritten in place
    assert sorted(p.name for p in tmp_path.iterdir()) == ["zpviz.conf"]  # no temp or lock file left
    again = QtCore.QSettings(str(path), QtCore.QSettings.Format.IniFormat)
    assert again.value("theme") == "dark" and again.value("recent") in ([str(SMALL.resolve())], str(SMALL.resolve()))
    win.deleteLater()


def test_the_app_settings_are_qsettings_with_atomic_sync(monkeypatch, qapp):
    """The lecturer's window (run_app) keeps its settings in QSettings("zpviz", "zpviz")."""
    from zpviz.gui.mainwindow import MainWindow

    win = MainWindow()
    assert type(win.settings).__name__ == "QSettings" and win.settings.isAtomicSyncRequired()
    assert win.settings.organizationName() == "zpviz" and win.settings.applicationName() == "zpviz"
    win.deleteLater()


@pytest.mark.parametrize("key", ["theme", "recent"])
def test_memory_settings_behave_like_qsettings(key):
    from zpviz.gui.settings import MemorySettings

    s = MemorySettings()
    assert s.value(key, "x") == "x" and not s.contains(key)
    s.setValue(key, ["a"])
    assert s.value(key) == ["a"] and s.allKeys() == [key]
    s.remove(key)
    s.sync()
    assert not s.contains(key)
