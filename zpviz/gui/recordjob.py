"""A recording in the background: `python -m zpviz record ...` in a process (and session) of its own.

Why a process and not a thread: ptrace ties a tracee to the thread that traced it, and the app's
Cancel must always work. Cancel sends SIGINT to the recorder's whole process group, exactly as
Ctrl+C in a terminal does: the recorder detaches from every thread it traces (zpviz.record's
finally clause; the program is never left stopped or traced) and the program gets its Ctrl+C.
If anything is still there a few seconds later, the group is killed (a traced program killed
with its tracer is let go by the kernel).

The recorder prints `zpviz record: progress N faults, M calls` lines on stderr (--progress);
the app polls the pipe on a timer, so nothing here blocks the GUI thread.
"""

from __future__ import annotations

import html
import os
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6 import QtCore, QtWidgets

if TYPE_CHECKING:  # the dialog and the recorder's modules are imported when first used, not at start
    from zpviz.gui.recorddialog import RecordRequest

PROGRESS = re.compile(r"zpviz record: progress (\d+) faults, (\d+) calls")
GRACE_S = 5.0  # after Cancel, how long the recorder gets to let go before the group is killed


def recorder_command() -> list[str]:
    """How the app runs the recorder (tests put a fake here)."""
    return [sys.executable, "-m", "zpviz", "record"]


def output_paths(req: RecordRequest) -> tuple[str, str]:
    """Where the recording and its lesson go: the working directory (like the command line), or a
    temporary folder when it is not writable."""
    stem = recording_name(req.command)
    stem = re.sub(r"[^A-Za-z0-9_.-]", "_", stem) or "program"
    stamp = time.strftime("%Y%m%d-%H%M%S")
    folder = req.cwd if os.access(req.cwd, os.W_OK) else tempfile.mkdtemp(prefix="zpviz-record-")
    base = os.path.join(folder, f"{stem}-{stamp}")
    return base + ".json.gz", base + ".toml"


INTERPRETERS = re.compile(r"(python[0-9.]*|sh|bash|dash|zsh|node|perl|ruby|java)$")


def recording_name(argv: list[str]) -> str:
    """python3 -S homework.py -> homework; python3 -m pkg.mod -> pkg.mod; ./a.out -> a.out."""
    prog = Path(argv[0]).name
    if not INTERPRETERS.match(prog):
        return prog
    rest = iter(argv[1:])
    for a in rest:
        if a in ("-m", "-jar"):
            return next(rest, prog)
        if a == "-c":
            return prog
        if not a.startswith("-"):
            return Path(a).stem or prog
    return prog


def arguments(req: RecordRequest, out: str, lesson: str) -> list[str]:
    args = ["--progress", "-o", out, "--lesson", lesson, "--snapshot-ms", f"{req.snapshot_ms:g}"]
    if req.keep_thp:
        args.append("--keep-thp")
    if req.max_events:
        args += ["--max-events", str(req.max_events)]
    if req.slice_ms is not None:
        args += ["--slice-ms", f"{req.slice_ms:g}"]
    return args + ["--"] + list(req.command)


class RecordJob(QtCore.QObject):
    """One recording. Signals: progress(faults, calls, seconds), done(lesson path, summary lines),
    failed(message lines), cancelled()."""

    progress = QtCore.Signal(int, int, float)
    done = QtCore.Signal(str, list)
    failed = QtCore.Signal(list)
    cancelled = QtCore.Signal()

    def __init__(self, req: RecordRequest, command: list[str] | None = None, parent=None):
        super().__init__(parent)
        self.req = req
        self.out, self.lesson = output_paths(req)
        self.argv = (command or recorder_command()) + arguments(req, self.out, self.lesson)
        self.proc: subprocess.Popen | None = None
        self.lines: list[str] = []
        self._buf = b""
        self._keep = True
        self._stopping_since: float | None = None
        self._started = 0.0
        self.faults = self.calls = 0
        self.timer = QtCore.QTimer(self)
        self.timer.setInterval(100)
        self.timer.timeout.connect(self._poll)

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    def start(self) -> None:
        env = dict(os.environ)
        src = str(Path(__file__).resolve().parents[2])  # this zpviz, also when run from a checkout
        env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        self.proc = subprocess.Popen(self.argv, cwd=self.req.cwd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, env=env, start_new_session=True)
        os.set_blocking(self.proc.stderr.fileno(), False)
        self._started = time.monotonic()
        self.timer.start()

    def stop(self, keep: bool) -> None:
        """End the recording like Ctrl+C: keep=True opens what was recorded, False throws it away."""
        if not self.running:
            return
        self._keep = keep and self._keep
        if self._stopping_since is None:
            self._stopping_since = time.monotonic()
            self._signal(signal.SIGINT)

    def abandon(self) -> None:
        """The window closes: end the recording now, like Cancel, but waiting here (at most GRACE_S)
        since no timer will run after; nothing is kept and nothing is left running."""
        if not self.running:
            return
        self.timer.stop()
        self._signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=GRACE_S)
        except subprocess.TimeoutExpired:
            pass
        self._signal(signal.SIGKILL)
        self.proc.wait()
        self.proc.stderr.close()
        for path in (self.out, self.lesson):
            try:
                os.unlink(path)
            except OSError:
                pass

    def _signal(self, sig: int) -> None:
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            pass

    def _read(self) -> None:
        try:
            chunk = self.proc.stderr.read()
        except (BlockingIOError, ValueError):
            chunk = None
        if not chunk:
            return
        self._buf += chunk
        *whole, self._buf = self._buf.split(b"\n")
        for raw in whole:
            line = raw.decode(errors="replace").rstrip()
            m = PROGRESS.fullmatch(line)
            if m:
                self.faults, self.calls = int(m.group(1)), int(m.group(2))
            elif line:
                self.lines.append(line)
                del self.lines[:-200]

    def _poll(self) -> None:
        self._read()
        self.progress.emit(self.faults, self.calls, time.monotonic() - self._started)
        if self.proc.poll() is None:
            if self._stopping_since is not None and time.monotonic() - self._stopping_since > GRACE_S:
                self._signal(signal.SIGKILL)  # the program ignored its Ctrl+C: end it, it is traced no more
            return
        self.timer.stop()
        self._read()
        if self._buf:
            self.lines.append(self._buf.decode(errors="replace").rstrip())
        self.proc.stderr.close()
        self._signal(signal.SIGKILL)  # anything the program left running in its session goes with it
        if self._stopping_since is not None and not self._keep:
            for path in (self.out, self.lesson):
                try:
                    os.unlink(path)
                except OSError:
                    pass
            self.cancelled.emit()
        elif self.proc.returncode == 0 and os.path.exists(self.lesson):
            self.done.emit(self.lesson, self.lines)
        else:
            self.failed.emit(explain_failure(self.lines, self.proc.returncode))


def explain_failure(lines: list[str], code: int) -> list[str]:
    """What went wrong, in the recorder's own words (they say what to do), without its noise."""
    said = [x.removeprefix("zpviz record: ").removeprefix("zpviz: ") for x in lines
            if x.startswith(("zpviz record:", "zpviz:", "usage:"))]
    if said:
        return said[-6:]
    tail = [x for x in lines if x.strip()][-6:]
    return [f"the recorder ended with status {code}"] + tail


class RecordStatus(QtWidgets.QWidget):
    """In the status bar while recording: what runs, faults so far, Stop (keep) and Cancel. Never modal."""

    def __init__(self, parent=None):
        super().__init__(parent)
        lay = QtWidgets.QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.label = QtWidgets.QLabel()
        self.label.setObjectName("record_progress")
        self.label.setMinimumWidth(self.label.fontMetrics().horizontalAdvance("Recording homework: 1,000,000 faults, "
                                                                             "10,000 calls, 100.0 s"))
        self.stop = QtWidgets.QToolButton()
        self.stop.setText("Stop and show")
        self.stop.setObjectName("record_stop")
        self.stop.setToolTip("End the recording now (like Ctrl+C) and open what was recorded")
        self.cancel = QtWidgets.QToolButton()
        self.cancel.setText("Cancel")
        self.cancel.setObjectName("record_cancel")
        self.cancel.setToolTip("End the recording and the program, and keep nothing")
        for w in (self.label, self.stop, self.cancel):
            w.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
            lay.addWidget(w)
        self.hide()


class RecordOps:
    """Mixed into MainWindow: File > Record a program..."""

    def _build_record_job(self) -> None:
        self.record_job: RecordJob | None = None
        self.record_command = None  # None: recorder_command(); tests give a fake recorder
        self.record_status = RecordStatus()
        self.statusBar().addPermanentWidget(self.record_status)
        self.record_status.stop.clicked.connect(lambda: self.stop_recording(keep=True))
        self.record_status.cancel.clicked.connect(lambda: self.stop_recording(keep=False))
        self._record_last: tuple[str, str] = ("", "")

    def record_dialog(self) -> None:
        """Ask what to record (window-modal), then record in the background."""
        if self.record_job is not None and self.record_job.running:
            self.statusBar().showMessage("A recording is running: stop it first (in the status bar)", 5000)
            return
        cmd, cwd = self._record_last
        cmd = cmd or str(self.settings.value("record/command", ""))  # what this student recorded last time
        cwd = cwd or str(self.settings.value("record/cwd", ""))
        from zpviz.gui.recorddialog import RecordDialog  # (not at start: docs/startup.md)

        dlg = RecordDialog(self, cwd=cwd if cwd and os.path.isdir(cwd) else None, command=cmd)
        self.record_dialog_open = dlg  # tests reach it; exec() below returns when it closes
        if dlg.exec() == QtWidgets.QDialog.DialogCode.Accepted and dlg.request is not None:
            self.start_recording(dlg.request)
        self.record_dialog_open = None

    def start_recording(self, req: RecordRequest) -> RecordJob:
        self._record_last = (shlex.join(req.command), req.cwd)
        if not self._offscreen:
            self.settings.setValue("record/command", self._record_last[0])
            self.settings.setValue("record/cwd", req.cwd)
        job = RecordJob(req, self.record_command, self)
        job.progress.connect(self._record_progress)
        job.done.connect(self._record_done)
        job.failed.connect(self._record_failed)
        job.cancelled.connect(self._record_cancelled)
        self.record_job = job
        self.banner.hide()
        try:
            job.start()
        except OSError as e:
            self._record_failed([f"cannot start the recorder: {e.strerror or e}"])
            return job
        self.record_status.show()
        self.record_status.stop.setEnabled(True)
        if self.lesson is None:
            self.welcome.setText(f"<b>Recording {html.escape(shlex.join(req.command))}</b><br>in {html.escape(req.cwd)}"
                                 f"<br><br>Its replay under the five kernels opens here when it ends.")
        self._record_progress(0, 0, 0.0)
        return job

    def stop_recording(self, keep: bool) -> None:
        job = self.record_job
        if job is None or not job.running:
            return
        job.stop(keep)
        self.record_status.stop.setEnabled(False)
        self.record_status.label.setText("Stopping: letting the program go ..." if keep else
                                         "Cancelling: ending the program ...")

    def _record_progress(self, faults: int, calls: int, secs: float) -> None:
        job = self.record_job
        if job is None or job._stopping_since is not None:
            return
        self.record_status.label.setText(f"Recording {recording_name(job.req.command)}: {faults:,} faults, "
                                         f"{calls:,} calls, {secs:.1f} s")
        self.record_status.label.setToolTip(shlex.join(job.req.command))

    def _record_done(self, lesson: str, lines: list[str]) -> None:
        self.record_status.hide()
        self.statusBar().showMessage(f"Recorded to {self.record_job.out}; opening its replay {lesson}", 8000)
        self.open_lesson(lesson, sync=getattr(self, "sync_record_open", False))

    def _record_failed(self, lines: list[str]) -> None:
        self.record_status.hide()
        if self.lesson is None:
            self._empty_state()
        self.banner.show_message("The recording failed:", lines)

    def _record_cancelled(self) -> None:
        self.record_status.hide()
        if self.lesson is None:
            self._empty_state()
        self.statusBar().showMessage("Recording cancelled: the program was ended, nothing was kept", 6000)
