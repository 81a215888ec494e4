"""The window's lesson files: open, reload when the file changes, recent files, export, layout.

A broken edit never replaces what is on screen: the last good lesson stays, and a banner names
the file and line. Opening a broken file shows its problems the same way; the app stays usable.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from pathlib import Path

from PySide6 import QtCore, QtWidgets

from zpviz.gui.loader import as_problems
from zpviz.gui.transport import Debouncer
from zpviz.present.session import same_place

MAX_RECENT = 10


def save_image_atomic(img, path: str) -> None:
    """Write a QImage as PNG via a temp file in the same folder and os.replace: never a torn file."""
    folder = os.path.dirname(os.path.abspath(path)) or "."
    fd, tmp = tempfile.mkstemp(prefix=".zpviz-", suffix=".png", dir=folder)
    os.close(fd)
    try:
        if not img.save(tmp, "PNG"):
            raise OSError(f"cannot write {path}")
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; a screenshot is an ordinary file
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


class LessonIO:
    """Mixed into MainWindow: everything about lesson files and settings."""

    def __init__(self):
        self.path: str | None = None
        self.kernel_arg: str | None = None
        self.compare_arg: tuple[str, ...] | None = None
        self.last_problems: list[str] = []
        self.watcher = QtCore.QFileSystemWatcher(self)
        self.watcher.fileChanged.connect(self._file_changed)
        self.watcher.directoryChanged.connect(self._dir_changed)
        self._reload_later = Debouncer(self.reload, 300, self)
        self.loader.loaded.connect(self._loaded)
        self.loader.partial.connect(self._partial)
        self.loader.failed.connect(self._failed)
        self.loader.progress.connect(self._progress)
        # The export flow for GIF, MP4 and SVG (and Ctrl+E's options dialog): callable(window, path or None).
        # zpviz.cli sets it to zpviz.export.export_window; gui never imports export (the layers contract).
        self.exporter = None
        self._build_busy()
        self._update_recent_menu()

    # ------------------------------------------------------------------ progress while simulating
    def _build_busy(self) -> None:
        """A busy bar and a Cancel button in the status bar while a lesson simulates (never modal)."""
        self.busy_bar = QtWidgets.QProgressBar()
        self.busy_bar.setRange(0, 0)  # indeterminate: the engine reports no fraction
        self.busy_bar.setMaximumWidth(160)
        self.busy_cancel = QtWidgets.QToolButton()
        self.busy_cancel.setText("Cancel")
        self.busy_cancel.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
        self.busy_cancel.clicked.connect(self.cancel_loading)
        for w in (self.busy_bar, self.busy_cancel):
            self.statusBar().addPermanentWidget(w)
            w.hide()
        self.loader.started.connect(lambda: self._show_busy(True))
        self.loader.dropped.connect(lambda: self._show_busy(self.loader.busy))

    def _show_busy(self, on: bool) -> None:
        self.busy_bar.setVisible(on)
        self.busy_cancel.setVisible(on)

    def _progress(self, text: str) -> None:
        self.statusBar().showMessage(text)
        self.show_loading(text)

    def _settle_pending(self) -> None:
        """The variants still simulating will not come (cancelled, failed, superseded): show the
        ready ones alone rather than panes that wait for ever."""
        if self.lesson is not None and self.lesson.pending:
            self.set_lesson(dataclasses.replace(self.lesson, pending=()), self.frame)

    def cancel_loading(self) -> None:
        """Drop the lesson being simulated; the one on screen stays (its ready variants)."""
        self.loader.cancel()
        self._settle_pending()
        self._show_busy(False)
        self.statusBar().showMessage("Loading cancelled", 4000)

    # ------------------------------------------------------------------ open
    def open_lesson(self, path: str, kernel: str | None = None, compare=None, sync: bool = False,
                    step: int | None = None) -> None:
        """Open a lesson file. With sync the simulation runs now (tests, screenshots, the exporter)."""
        self.kernel_arg, self.compare_arg = kernel, (tuple(compare) if compare else None)
        self.statusBar().showMessage(f"Opening {path} ...")
        if self.lesson is None and not sync:  # not "No lesson open" while the first picture is coming
            self.welcome.setText(f"<b>Opening {Path(path).name} ...</b>")
        self.loader.request(str(path), kernel=kernel, compare=compare, sync=sync,
                            context={"open": True, "step": step})

    def reload(self) -> None:
        """Load the open file again, at the same step; keep the old lesson if the new one is broken."""
        if not self.path:
            return
        self._watch(self.path)
        self.loader.request(self.path, kernel=self.kernel_arg, compare=self.compare_arg,
                            context={"reload": True, "frame": self.frame},
                            sync=getattr(self, "sync_reload", False))

    def set_kernel(self, kernel: str, sync: bool = False) -> None:
        if self.path is None and self.lesson is None:
            return
        self.kernel_arg, self.compare_arg = kernel, None
        self._rebuild(sync)

    def set_compare(self, kernels, sync: bool = False) -> None:
        """Compare 2..5 variants side by side; () or one variant turns compare off."""
        kernels = tuple(kernels or ())
        if len(kernels) == 1:
            self.kernel_arg, self.compare_arg = kernels[0], None
        elif not kernels:
            self.compare_arg = None
            self.kernel_arg = self.kernel_arg or (self.lesson.kernels[0] if self.lesson else None)
        else:
            self.compare_arg = kernels
        self._rebuild(sync)

    def compare_from_menu(self) -> None:
        chosen = tuple(k for k, a in self.compare_actions.items() if a.isChecked())
        self.set_compare(chosen if len(chosen) >= 2 else ())

    def _rebuild(self, sync: bool) -> None:
        if self.lesson is None:
            return
        ctx = {"reload": True, "frame": self.frame}
        if self.path:
            self.loader.request(self.path, kernel=self.kernel_arg, compare=self.compare_arg, sync=sync, context=ctx)
        else:
            self.loader.request(None, scenario=self.lesson.scenario, kernel=self.kernel_arg, compare=self.compare_arg,
                                sync=sync, context=ctx)

    def _loaded(self, lesson, ctx) -> None:
        self._show_busy(self.loader.busy)
        self.statusBar().clearMessage()
        if ctx.get("shown"):  # its first variants are on screen already: the rest join them
            self.join_variants(lesson)
            return
        self._show_loaded(lesson, ctx)

    def _partial(self, lesson, ctx) -> None:
        """The lesson with its leading variant ready: on screen now, the others wait in their panes."""
        if ctx.get("shown"):
            self.join_variants(lesson)
            return
        ctx["shown"] = True
        self._show_loaded(lesson, ctx)

    def _show_loaded(self, lesson, ctx) -> None:
        self.banner.hide()
        self.last_problems = []
        old = self.lesson
        path = ctx.get("path")
        if ctx.get("open"):
            step = ctx.get("step")
            last = len(lesson.lead.step_results) - 1
            frame = 0 if step is None else lesson.lead.step_end_frame(max(-1, min(step, last)))
        else:
            frame = same_place(old, ctx.get("frame", 0), lesson)
        if path:
            self.path = str(path)
            self._watch(self.path)
            self.add_recent(self.path)
        self.set_lesson(lesson, frame)

    def _failed(self, exc, ctx) -> None:
        self._show_busy(self.loader.busy)
        self.statusBar().clearMessage()
        self._settle_pending()
        path = ctx.get("path")
        lines = as_problems(exc, path)
        self.last_problems = lines
        if path:
            if ctx.get("open"):
                self.path = str(path)  # watch it: fixing the file loads it
            self._watch(str(path))
        if self.lesson is not None and (ctx.get("reload") or ctx.get("open")):
            what = "The edit broke the lesson" if ctx.get("reload") else "Cannot open the lesson"
            self.banner.show_message(f"{what} \u2014 still showing the last good version:", lines)
        else:
            self.banner.show_message("Cannot open the lesson:", lines)
            self._empty_state(lines)

    # ------------------------------------------------------------------ watching
    def _watch(self, path: str) -> None:
        files, dirs = self.watcher.files(), self.watcher.directories()
        if files:
            self.watcher.removePaths(files)
        if dirs:
            self.watcher.removePaths(dirs)
        if os.path.exists(path):
            self.watcher.addPath(path)
        folder = os.path.dirname(os.path.abspath(path))
        if os.path.isdir(folder):
            self.watcher.addPath(folder)  # editors that save by rename replace the watched file

    def _file_changed(self, path: str) -> None:
        if self.path and os.path.abspath(path) == os.path.abspath(self.path):
            self._reload_later.poke()

    def _dir_changed(self, _dir: str) -> None:
        if self.path and os.path.exists(self.path) and self.path not in self.watcher.files():
            self.watcher.addPath(self.path)
            self._reload_later.poke()

    # ------------------------------------------------------------------ dialogs
    def ask_open_path(self) -> str | None:
        start = os.path.dirname(self.path) if self.path else str(Path.home())
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Open a lesson", start, "Lessons (*.toml);;All files (*)")
        return path or None

    def open_dialog(self) -> None:
        path = self.ask_open_path()
        if path:
            self.open_lesson(path)

    def browse_lessons(self) -> None:
        from zpviz.gui.browser import LessonBrowser

        self.browser = LessonBrowser(self)
        self.browser.lessonChosen.connect(lambda p: self.open_lesson(p))
        self.browser.open()  # window-modal: its arrow keys stay its own

    # ------------------------------------------------------------------ recent files
    def recent(self) -> list[str]:
        v = self.settings.value("recent", [])
        if isinstance(v, str):
            v = [v]
        return [str(x) for x in (v or [])]

    def add_recent(self, path: str) -> None:
        path = os.path.abspath(path)
        items = [path] + [p for p in self.recent() if p != path]
        self.settings.setValue("recent", items[:MAX_RECENT])
        self._update_recent_menu()

    def _update_recent_menu(self) -> None:
        m = getattr(self, "recent_menu", None)
        if m is None:
            return
        m.clear()
        for p in self.recent():
            a = m.addAction(p)
            a.triggered.connect(lambda _=False, x=p: self.open_lesson(x))
        m.setEnabled(bool(self.recent()))

    # ------------------------------------------------------------------ layout
    def save_layout(self) -> None:
        if self._offscreen:
            return
        self.settings.setValue("geometry", self.saveGeometry())
        self.settings.setValue("state", self.saveState())

    def restore_layout(self) -> None:
        geo = self.settings.value("geometry")
        state = self.settings.value("state")
        if geo is not None:
            self.restoreGeometry(geo)
        if state is not None:
            self._layout_restored = bool(self.restoreState(state))
        self.docks["machine"].setVisible(self.machine is not None)  # saved open, but no run yet
        self.set_predict_mode(str(self.settings.value("predict", "false")).lower() == "true")

    # ------------------------------------------------------------------ export
    def ask_save_path(self) -> str | None:
        """A PNG of the window, where no exporter is installed (zpviz without its export extra)."""
        start = os.path.splitext(self.path)[0] + ".png" if self.path else str(Path.home() / "zpviz.png")
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Export", start, "PNG image (*.png)")
        return path or None

    def export_dialog(self) -> None:
        """Ctrl+E: the exporter's options dialog (every format), else a PNG of the window."""
        if self.lesson is None:
            return
        if self.exporter is not None:
            self._export(lambda: self.exporter(self, None), "export")
            return
        path = self.ask_save_path()
        if path:
            self.export_to(path)

    def export_to(self, path: str) -> None:
        """PNG: this window as it is now, exactly what is on screen. GIF, MP4, SVG: the exporter hook."""
        if path.lower().endswith(".png"):
            if self._export(lambda: save_image_atomic(self.render_image(), path), path):
                self.statusBar().showMessage(f"Saved {path}", 5000)
        elif self.exporter is None:
            self.banner.show_message("Export", [f"Exporting {os.path.splitext(path)[1]} needs zpviz's export extra "
                                                "(pip install 'zpviz[export]'); PNG always works."])
        else:
            self._export(lambda: self.exporter(self, path), path)

    def _export(self, run, what: str) -> bool:
        """Run an export (the exporter reports its own success); a failure is a banner, never the end
        of the lecture."""
        try:
            run()
        except Exception as e:  # noqa: BLE001 - an export failure must not end the lecture
            self.banner.show_message("Export failed", [f"{what}: {e}"])
            return False
        return True
