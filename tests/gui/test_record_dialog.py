"""File > Record a program...: the dialog, and the recording in the background with progress,
Stop, Cancel and errors, driven with a fake recorder (tests/gui/fake_recorder.py: no root)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from PySide6 import QtCore, QtWidgets

from zpviz.gui.recorddialog import RecordDialog, RecordRequest, parse_command
from zpviz.gui.recordjob import arguments, recording_name

from .conftest import SMALL

FAKE = str(Path(__file__).with_name("fake_recorder.py"))


@pytest.fixture
def fake(tmp_path, monkeypatch):
    """fake(mode) -> the recorder command for a window; the program it runs sleeps until killed."""
    pidfile = tmp_path / "child.pid"
    monkeypatch.setenv("FAKE_CHILD_PID", str(pidfile))
    monkeypatch.setenv("FAKE_LESSON", str(SMALL))
    started = []

    def make(mode):
        started.append(pidfile)
        return [sys.executable, FAKE, mode]

    yield make
    if pidfile.exists():  # never leave the program behind, whatever the test did
        try:
            os.kill(int(pidfile.read_text()), 9)
        except (ProcessLookupError, ValueError):
            pass


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def _request(tmp_path, **kw):
    return RecordRequest([sys.executable, "-c", "import time; time.sleep(60)"], str(tmp_path), **kw)


def test_dialog_checks_the_command_and_builds_the_request(qtbot, tmp_path):
    dlg = RecordDialog(cwd=str(tmp_path))
    qtbot.addWidget(dlg)
    dlg.command.setText("")
    dlg.record_button.click()
    assert dlg.request is None and "give the program" in dlg.error.text()
    dlg.command.setText("no-such-program-zpviz --x")
    dlg.record_button.click()
    assert dlg.request is None and "command not found" in dlg.error.text()
    dlg.command.setText("python3 'unbalanced")
    dlg.record_button.click()
    assert "does not parse" in dlg.error.text()
    dlg.command.setText("python3 homework.py --size '10 00'")
    dlg.keep_thp.setChecked(True)
    dlg.max_events.setValue(5000)
    dlg.slice_ms.setValue(12.5)
    dlg.record_button.click()
    r = dlg.request
    assert r == RecordRequest(["python3", "homework.py", "--size", "10 00"], str(tmp_path), True, 5000, 12.5, 250.0)
    argv = arguments(r, "o.json.gz", "o.toml")
    assert argv[argv.index("--"):] == ["--", "python3", "homework.py", "--size", "10 00"]
    assert {"--keep-thp", "--progress"} <= set(argv) and argv[argv.index("--max-events") + 1] == "5000"
    assert argv[argv.index("--slice-ms") + 1] == "12.5" and argv[argv.index("--lesson") + 1] == "o.toml"


def test_a_relative_program_must_exist_in_the_working_directory(tmp_path):
    with pytest.raises(ValueError, match="no such file"):
        parse_command("./hw", str(tmp_path))
    (tmp_path / "hw").write_text("#!/bin/sh\n")
    with pytest.raises(ValueError, match="not executable"):
        parse_command("./hw", str(tmp_path))
    (tmp_path / "hw").chmod(0o755)
    assert parse_command("./hw 1", str(tmp_path)) == ["./hw", "1"]


def test_file_menu_dialog_records_in_the_background_and_opens_the_replay(make_window, qtbot, tmp_path, fake):
    win = make_window(path=None)
    win.record_command = fake("ok")
    win.sync_record_open = True
    assert win.actions_by_name["record"].text() == "Record a program..."

    def fill():
        dlg = win.record_dialog_open
        dlg.command.setText(f"{sys.executable} -c 'import time; time.sleep(0.3)'")
        dlg.cwd.setText(str(tmp_path))
        dlg.record_button.click()

    QtCore.QTimer.singleShot(0, fill)
    win.actions_by_name["record"].trigger()  # the dialog's exec() returns once fill() accepted it
    job = win.record_job
    assert job is not None and job.running, "the recording runs after the dialog closed"
    assert not win.record_status.isHidden()
    # the window is not blocked while it records: no modal widget, actions still work
    assert QtWidgets.QApplication.activeModalWidget() is None
    qtbot.waitUntil(lambda: job.faults >= 14, timeout=5000)
    assert "faults" in win.record_status.label.text()
    with qtbot.waitSignal(job.done, timeout=10000):
        pass
    assert win.record_status.isHidden()
    assert win.lesson is not None and win.path == job.lesson
    assert Path(job.lesson).parent == tmp_path and job.lesson.endswith(".toml")
    assert win.settings.value("record/cwd") == str(tmp_path)  # the next dialog starts from here


def test_cancel_ends_the_program_and_keeps_nothing(make_window, qtbot, tmp_path, fake):
    win = make_window(path=None)
    win.record_command = fake("slow")
    job = win.start_recording(_request(tmp_path))
    qtbot.waitUntil(lambda: job.faults > 0 and os.path.exists(os.environ["FAKE_CHILD_PID"]), timeout=5000)
    child = int(Path(os.environ["FAKE_CHILD_PID"]).read_text())
    assert _alive(child)
    with qtbot.waitSignal(job.cancelled, timeout=10000):
        win.record_status.cancel.click()
    assert not job.running and win.record_status.isHidden()
    assert not os.path.exists(job.lesson) and not os.path.exists(job.out), "Cancel keeps nothing"
    qtbot.waitUntil(lambda: not _alive(child), timeout=3000)
    assert win.lesson is None and "cancelled" in win.statusBar().currentMessage()


def test_stop_keeps_what_was_recorded_and_opens_it(make_window, qtbot, tmp_path, fake):
    win = make_window(path=None)
    win.record_command = fake("slow")
    win.sync_record_open = True
    job = win.start_recording(_request(tmp_path))
    qtbot.waitUntil(lambda: job.faults > 0, timeout=5000)
    with qtbot.waitSignal(job.done, timeout=10000):
        win.record_status.stop.click()
    assert win.lesson is not None and win.path == job.lesson


def test_a_failure_is_shown_in_the_window_with_what_to_do(make_window, qtbot, tmp_path, fake):
    win = make_window(path=None)
    win.record_command = fake("fail")
    job = win.start_recording(_request(tmp_path))
    with qtbot.waitSignal(job.failed, timeout=10000):
        pass
    text = win.banner.text()
    assert not win.banner.isHidden() and "recording failed" in text and "perf_event_paranoid=2" in text
    assert "zpviz record:" not in text and win.record_status.isHidden()


@pytest.mark.parametrize("argv, name", [(["python3", "-S", "hw/homework.py", "1"], "homework"), (["./a.out"], "a.out"),
                                        (["python3", "-m", "pkg.mod"], "pkg.mod"), (["bash", "-c", "x"], "bash")])
def test_the_files_are_named_after_the_program(argv, name):
    assert recording_name(argv) == name


def test_paranoid_3_disables_record_and_says_what_is_needed(qtbot, monkeypatch, tmp_path):
    from zpviz.record import perf

    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    monkeypatch.setattr(perf, "paranoid", lambda: 3)
    dlg = RecordDialog(cwd=str(tmp_path), command="python3 hw.py")
    qtbot.addWidget(dlg)
    assert not dlg.record_button.isEnabled()
    assert "perf_event_paranoid=2" in dlg.machine.text() and "root" in dlg.machine.text()
    monkeypatch.setattr(perf, "paranoid", lambda: 2)
    ordinary = RecordDialog(cwd=str(tmp_path))
    qtbot.addWidget(ordinary)
    assert ordinary.record_button.isEnabled() and "software" in ordinary.machine.text()


def test_closing_the_window_ends_the_recording_and_keeps_nothing(make_window, qtbot, tmp_path, fake):
    win = make_window(path=None)
    win.record_command = fake("slow")
    job = win.start_recording(_request(tmp_path))
    qtbot.waitUntil(lambda: job.faults > 0 and os.path.exists(os.environ["FAKE_CHILD_PID"]), timeout=5000)
    child = int(Path(os.environ["FAKE_CHILD_PID"]).read_text())
    win.close()
    assert not job.running and not os.path.exists(job.lesson) and not os.path.exists(job.out)
    qtbot.waitUntil(lambda: not _alive(child), timeout=3000)
