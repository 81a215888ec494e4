"""File > Record a program...: the dialog that asks what to record and how.

It only asks; recordjob.py runs `zpviz record` in a process of its own. The line under the
title says what this machine allows before anything runs (root and tracefs: the tracepoints; an
ordinary user: the software event and what it cannot see; perf_event_paranoid 3: nothing), so a
student learns what to do before pressing Record, not after.
"""

from __future__ import annotations

import os
import shlex
import shutil
from dataclasses import dataclass

from PySide6 import QtCore, QtWidgets

from zpviz.record import perf


@dataclass(frozen=True)
class RecordRequest:
    command: list[str]
    cwd: str
    keep_thp: bool = False
    max_events: int | None = None
    slice_ms: float | None = None  # None: the recorder's choice (one step per fault when few)
    snapshot_ms: float = 250.0  # 0: page states only at exec, fork and exit


def what_can_be_recorded() -> tuple[str, bool]:
    """(a sentence for the student, whether recording can work at all) on this machine, now."""
    root = os.geteuid() == 0
    try:
        level = perf.paranoid()
    except Exception:  # noqa: BLE001 - an unreadable sysctl: let the recorder say what fails
        level = 2
    if not root and level >= 3:
        return ("Recording is not possible as you are: kernel.perf_event_paranoid is 3. Run zpviz as root, "
                "or allow it once with: sudo sysctl kernel.perf_event_paranoid=2", False)
    if not root:
        return ("Not root: the recording uses the software page-fault event, which misses faults taken inside "
                "system calls, read or write, and mlocked pages (the replay has no claims). Run zpviz as root "
                "for the full recording.", True)
    if perf.tracefs_root() is None:
        return ("tracefs is not mounted, so the page-fault tracepoints cannot be found: the recording falls back "
                "to the software event. For the full recording run: sudo mount -t tracefs nodev "
                "/sys/kernel/tracing", True)
    return "Root with tracefs: every page fault is recorded, user and kernel, with its error code.", True


def parse_command(text: str, cwd: str) -> list[str]:
    """The command line as a list, or ValueError with what is wrong, in words."""
    try:
        argv = shlex.split(text)
    except ValueError as e:
        raise ValueError(f"the command line does not parse: {e}") from None
    if not argv:
        raise ValueError("give the program to record, e.g. python3 homework.py")
    prog = argv[0]
    if os.sep in prog:
        full = prog if os.path.isabs(prog) else os.path.join(cwd, prog)
        if not os.path.isfile(full):
            raise ValueError(f"{prog}: no such file in {cwd}")
        if not os.access(full, os.X_OK):
            raise ValueError(f"{prog} is not executable; run it through its interpreter, e.g. python3 {prog}")
    elif shutil.which(prog) is None:
        raise ValueError(f"{prog}: command not found on PATH")
    return argv


class RecordDialog(QtWidgets.QDialog):
    """Window-modal while the student fills it in; the recording itself never blocks the app."""

    def __init__(self, parent=None, cwd: str | None = None, command: str = ""):
        super().__init__(parent)
        self.setObjectName("record_dialog")
        self.setWindowTitle("Record a program")
        self.setWindowModality(QtCore.Qt.WindowModality.WindowModal)
        self.request: RecordRequest | None = None
        lay = QtWidgets.QVBoxLayout(self)
        intro = QtWidgets.QLabel("Run a program, record the page faults Linux takes for it, then replay the "
                                 "same accesses under the five kernels.")
        intro.setWordWrap(True)
        lay.addWidget(intro)
        text, self.possible = what_can_be_recorded()
        self.machine = QtWidgets.QLabel(text)
        self.machine.setObjectName("record_machine")
        self.machine.setWordWrap(True)
        self.machine.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(self.machine)

        form = QtWidgets.QFormLayout()
        self.command = QtWidgets.QLineEdit(command)
        self.command.setObjectName("record_command")
        self.command.setPlaceholderText("python3 homework.py --size 1000")
        form.addRow("Command line:", self.command)
        row = QtWidgets.QHBoxLayout()
        self.cwd = QtWidgets.QLineEdit(cwd or os.getcwd())
        self.cwd.setObjectName("record_cwd")
        browse = QtWidgets.QPushButton("Browse...")
        browse.clicked.connect(self._browse)
        row.addWidget(self.cwd, 1)
        row.addWidget(browse)
        form.addRow("Working directory:", row)
        self.keep_thp = QtWidgets.QCheckBox("Keep transparent huge pages as the system has them")
        self.keep_thp.setToolTip("Off (the default): THP is disabled for the program, so every first touch of "
                                 "a 4 KiB page is a fault the replay can use.")
        form.addRow("", self.keep_thp)
        self.max_events = QtWidgets.QSpinBox()
        self.max_events.setRange(0, 10_000_000)
        self.max_events.setSingleStep(1000)
        self.max_events.setSpecialValueText("no limit")
        self.max_events.setToolTip("Stop recording after this many faults; the program runs on to its end.")
        form.addRow("Max faults:", self.max_events)
        self.slice_ms = QtWidgets.QDoubleSpinBox()
        self.slice_ms.setRange(0, 3_600_000)
        self.slice_ms.setDecimals(1)
        self.slice_ms.setSuffix(" ms")
        self.slice_ms.setSpecialValueText("automatic")
        self.slice_ms.setToolTip("Each step of the replay groups the faults of this much time. Automatic: a "
                                 "200th of the run, or one step per fault for 40 faults or fewer.")
        form.addRow("Time slice per step:", self.slice_ms)
        self.snapshot_ms = QtWidgets.QSpinBox()
        self.snapshot_ms.setRange(0, 3_600_000)
        self.snapshot_ms.setValue(250)
        self.snapshot_ms.setSuffix(" ms")
        self.snapshot_ms.setSpecialValueText("only at start and end")
        self.snapshot_ms.setToolTip("Read the state of every page this often while the program runs.")
        form.addRow("Page states every:", self.snapshot_ms)
        lay.addLayout(form)

        self.error = QtWidgets.QLabel()
        self.error.setObjectName("record_error")
        self.error.setWordWrap(True)
        dark = self.palette().color(self.backgroundRole()).lightness() < 128
        self.error.setStyleSheet(f"color: {'#ff8a80' if dark else '#b00020'}; font-weight: bold")
        self.error.hide()
        lay.addWidget(self.error)
        buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Cancel)
        self.record_button = buttons.addButton("Record", QtWidgets.QDialogButtonBox.ButtonRole.AcceptRole)
        self.record_button.setObjectName("record_start")
        self.record_button.setEnabled(self.possible)
        self.record_button.setDefault(True)
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)
        self.resize(620, self.sizeHint().height())

    def _browse(self) -> None:
        d = QtWidgets.QFileDialog.getExistingDirectory(self, "Working directory", self.cwd.text())
        if d:
            self.cwd.setText(d)

    def _accept(self) -> None:
        cwd = os.path.abspath(os.path.expanduser(self.cwd.text().strip() or "."))
        try:
            if not os.path.isdir(cwd):
                raise ValueError(f"working directory {cwd} does not exist")
            argv = parse_command(self.command.text(), cwd)
        except ValueError as e:
            self.error.setText(str(e))
            self.error.show()
            return
        self.request = RecordRequest(argv, cwd, self.keep_thp.isChecked(), self.max_events.value() or None,
                                     self.slice_ms.value() or None, float(self.snapshot_ms.value()))
        self.accept()
