"""Export from the app: a small options dialog, then a QProgressDialog with Cancel.

The app's one export flow. File > Export... (Ctrl+E) and MainWindow.export_to reach it through the
window's `exporter` hook, which the launcher (zpviz.cli) sets to `export_window`: zpviz.gui never
imports zpviz.export, so the layers stay one-way (export drives the gui's window, not the reverse).
`parent` is the MainWindow, whose lesson (already simulated), variants, theme and step are the
defaults. The export renders a second, hidden window of the same class, so the window on the
projector never moves while the file is written.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from PySide6 import QtCore, QtWidgets

from zpviz.export.job import DEFAULT_FPS, DEFAULT_SIZE, FORMATS, ExportOptions, ExportResult, export, output_format
from zpviz.export.safe import ExportCancelled, ExportError
from zpviz.present.palette import THEMES

SIZES = ((3840, 2160), (1920, 1080), (1280, 720), (960, 540), (640, 360))
FILTERS = "MP4 video (*.mp4);;GIF animation (*.gif);;PNG image (*.png);;SVG drawing (*.svg)"


class ExportOptionsDialog(QtWidgets.QDialog):
    """What to export and how: file, steps, pacing, frame rate, size, theme, the still's step."""

    def __init__(self, parent, lesson, path: str | None = None, theme: str = "light", step: int | None = None):
        super().__init__(parent)
        self.setWindowTitle("Export")
        self.lesson = lesson
        kernels = tuple(getattr(lesson, "kernels", ()) or ())
        self.kernel = kernels[0] if kernels else None  # the variants the window shows, leading one first
        self.compare = kernels if getattr(lesson, "compare", False) and len(kernels) > 1 else None
        n = len(lesson.scenario.steps)
        form = QtWidgets.QFormLayout(self)
        row = QtWidgets.QHBoxLayout()
        self.path = QtWidgets.QLineEdit(path or self._default_path())
        browse = QtWidgets.QPushButton("Browse...")
        browse.clicked.connect(self._browse)
        row.addWidget(self.path, 1)
        row.addWidget(browse)
        form.addRow("File", row)
        self.first = QtWidgets.QSpinBox()
        self.last = QtWidgets.QSpinBox()
        for s in (self.first, self.last):
            s.setRange(1, max(n, 1))
        self.last.setValue(max(n, 1))
        steps = QtWidgets.QHBoxLayout()
        steps.addWidget(self.first)
        steps.addWidget(QtWidgets.QLabel("to"))
        steps.addWidget(self.last)
        steps.addStretch(1)
        form.addRow("Steps", steps)
        self.per = QtWidgets.QComboBox()
        self.per.addItem("every event, spread over each step's hold", "event")
        self.per.addItem("each step's end state", "step")
        form.addRow("Show", self.per)
        self.fps = QtWidgets.QDoubleSpinBox()
        self.fps.setRange(1, 60)
        self.fps.setDecimals(0)
        form.addRow("Frames per second", self.fps)
        self.size = QtWidgets.QComboBox()
        for w, h in SIZES:
            self.size.addItem(f"{w} \u00d7 {h}", f"{w}x{h}")  # strings: findData cannot match tuples
        form.addRow("Size", self.size)
        self.theme = QtWidgets.QComboBox()
        for name, t in THEMES.items():
            self.theme.addItem(t.label, name)
        self.theme.setCurrentIndex(max(0, self.theme.findData(theme)))
        form.addRow("Theme", self.theme)
        # A slide shows the lesson, not the app: the menu and status bars are left out unless asked for.
        self.chrome = QtWidgets.QCheckBox("Include the menu bar and the status bar")
        form.addRow("Window", self.chrome)
        self.still = QtWidgets.QSpinBox()
        self.still.setRange(1, max(n, 1))
        self.still.setValue(max(n, 1) if step is None else min(max(step + 1, 1), max(n, 1)))
        form.addRow("Still shows step", self.still)
        self.note = QtWidgets.QLabel()
        self.note.setWordWrap(True)
        form.addRow(self.note)
        buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Ok
                                             | QtWidgets.QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QtWidgets.QDialogButtonBox.StandardButton.Ok).setText("Export")
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self._fmt = ""
        self.path.textChanged.connect(self._format_changed)
        self._format_changed()

    def _default_path(self) -> str:
        src = getattr(self.lesson, "path", None) or "zpviz"
        return str(Path(src).with_suffix(".mp4"))

    def _browse(self) -> None:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Export to", self.path.text(), FILTERS)
        if path:
            self.path.setText(path)

    def fmt(self) -> str | None:
        try:
            return output_format(self.path.text().strip())
        except ValueError:
            return None

    def _format_changed(self) -> None:
        fmt = self.fmt()
        if fmt is None or fmt == self._fmt:
            self.note.setText("" if fmt else f"The file name must end in {', '.join('.' + f for f in FORMATS)}.")
            return
        self._fmt = fmt
        moving = fmt in ("mp4", "gif")
        for w in (self.first, self.last, self.per, self.fps):
            w.setEnabled(moving)
        self.still.setEnabled(not moving)
        self.fps.setMaximum(50 if fmt == "gif" else 60)
        self.fps.setValue(DEFAULT_FPS[fmt])
        self.size.setCurrentIndex(max(0, self.size.findData("{}x{}".format(*DEFAULT_SIZE[fmt]))))
        self.note.setText({"gif": "GIF: looping, one shared palette, unchanged pictures merged.",
                           "mp4": "MP4: H.264, plays in browsers and slide software.",
                           "png": "PNG: one still of the window.",
                           "svg": "SVG: a vector still; text stays text."}[fmt])

    def _accept(self) -> None:
        if self.fmt() is None:
            self.note.setText(f"The file name must end in {', '.join('.' + f for f in FORMATS)}.")
            return
        if self.first.value() > self.last.value():
            self.note.setText("The first step comes after the last.")
            return
        self.accept()

    def chosen_size(self) -> tuple[int, int]:
        w, h = str(self.size.currentData()).split("x")
        return int(w), int(h)

    def options(self) -> ExportOptions:
        fmt = self.fmt() or "mp4"
        moving = fmt in ("mp4", "gif")
        n = len(self.lesson.scenario.steps)
        first, last = self.first.value() - 1, self.last.value() - 1
        return ExportOptions(
            lesson=getattr(self.lesson, "path", "") or "", out=self.path.text().strip(),
            kernel=self.kernel, compare=self.compare,
            first=first if moving and first > 0 else None, last=last if moving and last < n - 1 else None,
            per=self.per.currentData(), fps=float(self.fps.value()) if moving else None,
            size=self.chosen_size(), theme=self.theme.currentData(), chrome=self.chrome.isChecked(),
            step=None if moving else self.still.value() - 1)


class _Progress:
    """Feeds a QProgressDialog from export()'s progress callback (frames, fps, time left)."""

    def __init__(self, dlg: QtWidgets.QProgressDialog, name: str):
        self.dlg, self.name = dlg, name
        self.t0 = time.monotonic()
        self.last = 0.0

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - self.last < 0.1:
            QtWidgets.QApplication.processEvents()  # the Cancel button stays live
            return
        self.last = now
        rate = done / max(now - self.t0, 1e-6)
        left = int((total - done) / rate) if rate > 0 else 0
        self.dlg.setMaximum(max(total, 1))
        self.dlg.setValue(min(done, max(total, 1) - 1) if done < total else total)
        self.dlg.setLabelText(f"Exporting {self.name}\n{done:,} of {total:,} frames \u00b7 {rate:.0f} frames/s"
                              f" \u00b7 {left // 60}:{left % 60:02d} left")
        QtWidgets.QApplication.processEvents()


def run_with_progress(parent, options: ExportOptions, lesson) -> ExportResult | None:
    """Run one export behind a window-modal progress dialog. None when cancelled or failed (told to the user)."""
    name = os.path.basename(options.out)
    dlg = QtWidgets.QProgressDialog(f"Exporting {name} ...", "Cancel", 0, 0, parent)
    dlg.setWindowTitle("Export")
    dlg.setWindowModality(QtCore.Qt.WindowModality.WindowModal)
    dlg.setMinimumDuration(0)
    dlg.setAutoClose(False)
    dlg.setAutoReset(False)
    dlg.show()
    QtWidgets.QApplication.processEvents()
    try:
        return export(options, lesson=lesson, progress=_Progress(dlg, name), cancelled=dlg.wasCanceled)
    except ExportCancelled:
        return None
    except (ExportError, ValueError, OSError) as e:
        QtWidgets.QMessageBox.warning(parent, "Export failed", str(e))
        return None
    finally:
        dlg.close()
        dlg.deleteLater()


def export_with_dialog(parent, path: str | None = None, *, lesson=None, ask: bool = True,
                       options: ExportOptions | None = None) -> ExportResult | None:
    """File > Export...: ask what to export (unless `options` is given or ask=False), then export it.

    `parent` is the main window: its `lesson` and `theme` are the defaults. Returns the result, or
    None when the user cancelled or the export failed (a message box said why).
    """
    lesson = lesson if lesson is not None else getattr(parent, "lesson", None)
    if lesson is None:
        QtWidgets.QMessageBox.information(parent, "Export", "Open a lesson first.")
        return None
    theme = getattr(getattr(parent, "theme", None), "name", "light")
    if options is None:
        dlg = ExportOptionsDialog(parent, lesson, path, theme, step=_current_step(parent, lesson))
        if ask and dlg.exec() != QtWidgets.QDialog.DialogCode.Accepted:
            return None
        options = dlg.options()
    result = run_with_progress(parent, options, lesson)
    if result is not None and hasattr(parent, "statusBar"):
        parent.statusBar().showMessage(f"Exported {result.path}", 5000)
    return result


def _current_step(parent, lesson) -> int | None:
    """The step the window shows now (a still exports what is on screen), or None."""
    frame = getattr(parent, "frame", None)
    lead = getattr(lesson, "lead", None)
    if frame is None or lead is None:
        return None
    return max(lead.step_of_frame(frame), 0)


def export_window(window, path: str | None = None, *, ask: bool = True) -> ExportResult | None:
    """The window's `exporter` hook: ask for options (the file too when `path` is None), then export.
    ask=False exports with the defaults: the window's variants, theme and step."""
    return export_with_dialog(window, path, ask=ask)
