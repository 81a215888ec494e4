"""File > Record a program... with the real recorder (root and tracefs; skips elsewhere, saying so):
the app records a Python program in the background and opens its replay under the five kernels."""

from __future__ import annotations

import os
import sys

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from zpviz.engine import VARIANTS  # noqa: E402
from zpviz.gui.recorddialog import RecordRequest  # noqa: E402

from .conftest import PYTHON, _state, _tracer_of  # noqa: E402

PROG = """
import mmap
P = 4096
m = mmap.mmap(-1, 64 * P, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
for i in range(0, 64, 2):
    m[i * P]
for i in range(0, 64, 8):
    m[i * P] = 1
"""


@pytest.mark.qt_log_ignore(r"This plugin does not support")
def test_the_app_records_a_program_and_opens_its_replay(tracefs, qtbot, tmp_path):
    from PySide6 import QtCore

    from zpviz.gui.mainwindow import MainWindow

    (tmp_path / "hw.py").write_text(PROG)
    win = MainWindow(settings=QtCore.QSettings(str(tmp_path / "s.ini"), QtCore.QSettings.Format.IniFormat))
    qtbot.addWidget(win)
    win.sync_record_open = True
    job = win.start_recording(RecordRequest([PYTHON, "-S", "hw.py"], str(tmp_path), snapshot_ms=20))
    assert job.argv[:3] == [sys.executable, "-m", "zpviz"]
    with qtbot.waitSignal(job.done, timeout=60000):
        pass
    assert os.path.exists(job.out) and job.lesson.startswith(str(tmp_path / "hw-"))
    assert win.lesson is not None and win.path == job.lesson
    assert set(win.lesson.kernels) | set(getattr(win.lesson, "pending", ())) == set(VARIANTS)
    pid = job.proc.pid
    assert _tracer_of(pid) is None and _state(pid) is None


@pytest.mark.qt_log_ignore(r"This plugin does not support")
def test_cancel_lets_a_real_traced_program_go(tracefs, qtbot, tmp_path):
    from PySide6 import QtCore

    from zpviz.gui.mainwindow import MainWindow

    (tmp_path / "loop.py").write_text("import mmap, os, time\nopen('pid', 'w').write(str(os.getpid()))\n"
                                      "m = mmap.mmap(-1, 4096 * 4096, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)\n"
                                      "i = 0\nwhile True:\n    m[(i % 4096) * 4096] = 1\n    i += 1\n"
                                      "    time.sleep(0.001)\n")
    win = MainWindow(settings=QtCore.QSettings(str(tmp_path / "s.ini"), QtCore.QSettings.Format.IniFormat))
    qtbot.addWidget(win)
    job = win.start_recording(RecordRequest([PYTHON, "-S", "loop.py"], str(tmp_path)))
    qtbot.waitUntil(lambda: job.faults > 100 and (tmp_path / "pid").exists(), timeout=30000)
    prog = int((tmp_path / "pid").read_text())
    with qtbot.waitSignal(job.cancelled, timeout=15000):
        win.record_status.cancel.click()
    qtbot.waitUntil(lambda: _state(prog) in (None, "Z", "X"), timeout=5000)
    assert _tracer_of(prog) in (None, 0)
    assert not os.path.exists(job.lesson)
