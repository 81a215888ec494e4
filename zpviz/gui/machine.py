"""Mixed into MainWindow: "Run on this machine", the lesson on the running kernel beside the model.

The run happens in gui.machinerun (off the GUI thread, cancellable, progress in the status bar).
Its result, a present.machine.MachineRun, adds one pane after the model's: the kernel's address
space after the current step, the pages that differ from the `modern` model outlined, and a dock
that lists the differences. It stays while the lesson on screen is the one that ran (switching
variants or compare keeps it; an edit that changes the lesson drops it). A lesson this kernel
cannot run, or a failed run, is a banner: never a dialog in the middle of a lecture.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6 import QtCore, QtWidgets

from zpviz.gui.compareview import VariantPane
from zpviz.gui.theme import font, qcolor
from zpviz.present.palette import Theme

if TYPE_CHECKING:  # imported where a run is shown, not at every start (docs/startup.md)
    from zpviz.present import machine as M


class MachinePanel(QtWidgets.QWidget):
    """The dock: which kernel, how many differences at this step, and the list of them."""

    pageChosen = QtCore.Signal(int)  # slot of the page a clicked difference names

    def __init__(self, parent=None):
        super().__init__(parent)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(8, 4, 8, 4)
        self.title = QtWidgets.QLabel()
        self.title.setFont(font(13, bold=True))
        self.title.setWordWrap(True)
        self.summary = QtWidgets.QLabel()
        self.summary.setFont(font(11))
        self.summary.setWordWrap(True)
        self.count = QtWidgets.QLabel()
        self.count.setFont(font(14, bold=True))
        self.list = QtWidgets.QListWidget()
        self.list.setFont(font(12, mono=True))
        self.list.setWordWrap(True)
        self.list.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)  # the arrow keys stay the transport's
        self.list.itemClicked.connect(self._clicked)
        self.note = QtWidgets.QLabel()
        self.note.setFont(font(10))
        self.note.setWordWrap(True)
        for w in (self.title, self.summary, self.count):
            lay.addWidget(w)
        lay.addWidget(self.list, 1)
        lay.addWidget(self.note)

    def set_run(self, run: M.MachineRun | None) -> None:
        self.list.clear()
        if run is None:
            for w in (self.title, self.summary, self.count, self.note):
                w.setText("")
            return
        self.title.setText(f"this machine: {run.kernel}")
        self.summary.setText(run.summary_text())
        self.note.setText("" if run.root else "Not run as root: the kernel hides PFNs and page flags, so zero "
                          "pages of private memory, mlocked and huge show as \u201cnot observed\u201d.")
        self.note.setVisible(not run.root)

    def set_step(self, step: M.MachineStep | None, n_steps: int) -> None:
        self.list.clear()
        if step is None:
            self.count.setText("before the first step")
            return
        self.count.setText(f"after step {step.index + 1} of {n_steps}: {step.count_text()}")
        for line in step.lines:
            item = QtWidgets.QListWidgetItem(line.text)
            item.setData(QtCore.Qt.ItemDataRole.UserRole, line.slot)
            if line.slot >= 0:
                item.setToolTip("click to select this page")
            self.list.addItem(item)

    def lines(self) -> list[str]:
        return [self.list.item(i).text() for i in range(self.list.count())]

    def _clicked(self, item: QtWidgets.QListWidgetItem) -> None:
        slot = item.data(QtCore.Qt.ItemDataRole.UserRole)
        if isinstance(slot, int) and slot >= 0:
            self.pageChosen.emit(slot)

    def set_theme(self, theme: Theme) -> None:
        self.title.setStyleSheet(f"color: {theme.accent};")
        self.count.setStyleSheet(f"color: {theme.fg};")
        self.note.setStyleSheet(f"color: {qcolor(theme.muted).name()};")


class MachineOps:
    # ------------------------------------------------------------------ building
    def _build_machine_dock(self, area) -> None:
        self.machine: M.MachineRun | None = None
        self.machine_pane: VariantPane | None = None
        self._machine_scenario = None  # the lesson the shown run is of
        self._machine_pending = None  # ... the running one is of
        self.machine_panel = MachinePanel()
        self.machine_panel.pageChosen.connect(lambda slot: self._page_clicked(slot, False))
        self._dock("machine", "This machine", self.machine_panel, area)
        self.docks["machine"].hide()

    @property
    def machine_job(self):
        """The run itself (gui.machinerun.MachineJob), made at its first use: the run's modules (the
        worker's protocol, the kernel client) load at the first Ctrl+K, not at every start."""
        job = getattr(self, "_machine_job", None)
        if job is None:
            from zpviz.gui.machinerun import MachineJob

            job = self._machine_job = MachineJob(self)
            job.progress.connect(self._machine_progress)
            job.finished.connect(self._machine_done)
            job.failed.connect(lambda text: self._machine_problem("The run on this machine failed:", text))
            job.skipped.connect(lambda text: self._machine_problem("This lesson cannot run on this machine:", text))
        return job

    def _build_machine_job(self) -> None:
        """The run's progress and Cancel button in the status bar (after the loader's); the job itself
        is made when first used (machine_job)."""
        self._machine_job = None
        self.machine_label = QtWidgets.QLabel()
        self.machine_bar = QtWidgets.QProgressBar()
        self.machine_bar.setMaximumWidth(160)
        self.machine_bar.setTextVisible(False)
        self.machine_cancel = QtWidgets.QToolButton()
        self.machine_cancel.setText("Cancel")
        self.machine_cancel.setToolTip("Stop the run on this machine")
        self.machine_cancel.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
        self.machine_cancel.clicked.connect(self.cancel_machine_run)
        for w in (self.machine_label, self.machine_bar, self.machine_cancel):
            self.statusBar().addPermanentWidget(w)
            w.hide()
        self.actions_by_name["machine_cancel"].setEnabled(False)
        self.actions_by_name["machine_hide"].setEnabled(False)

    # ------------------------------------------------------------------ commands
    def run_on_machine(self, sync: bool = False) -> None:
        """Run the lesson on screen on this machine's kernel (in the background unless sync)."""
        if self.lesson is None:
            self.statusBar().showMessage("Open a lesson first, then run it on this machine", 5000)
            return
        self._machine_pending = self.lesson.scenario
        self._machine_busy(True)
        self._machine_progress("this machine: starting ...", -1.0)
        self.machine_job.start(self.lesson.scenario, self.lesson.lead.layout, sync=sync)

    def cancel_machine_run(self) -> None:
        if self._machine_job is not None and self.machine_job.cancel():
            self._machine_busy(False)
            self.statusBar().showMessage("The run on this machine was cancelled", 5000)

    def hide_machine(self) -> None:
        self._set_machine(None)

    # ------------------------------------------------------------------ results
    def _machine_busy(self, on: bool) -> None:
        for w in (self.machine_label, self.machine_bar, self.machine_cancel):
            w.setVisible(on)
        self.actions_by_name["machine_cancel"].setEnabled(on)
        self.actions_by_name["machine_run"].setEnabled(not on)

    def _machine_progress(self, text: str, fraction: float) -> None:
        self.machine_label.setText(text)
        if fraction < 0:
            self.machine_bar.setRange(0, 0)  # indeterminate: simulating the model, comparing
        else:
            self.machine_bar.setRange(0, 100)
            self.machine_bar.setValue(int(round(fraction * 100)))

    def _machine_done(self, run: M.MachineRun) -> None:
        self._machine_busy(False)
        if self.lesson is None or self.lesson.scenario != self._machine_pending:
            self.statusBar().showMessage("The lesson changed during the run on this machine: run it again", 8000)
            return
        self._machine_scenario = self._machine_pending
        self._set_machine(run)
        # a dock just shown joins its tab group on the next layout pass: raise it after that
        QtCore.QTimer.singleShot(0, self.docks["machine"].raise_)
        self.statusBar().showMessage(f"{run.title}: {run.summary_text()}", 8000)

    def _machine_problem(self, title: str, text: str) -> None:
        self._machine_busy(False)
        self.banner.show_message(title, text.splitlines() or [text])

    def _set_machine(self, run: M.MachineRun | None, arrange: bool = True) -> None:
        self.machine = run
        if run is None:
            self._machine_scenario = None
        self.legend.set_machine(run is not None)
        self.docks["machine"].setVisible(run is not None)
        self.machine_panel.set_run(run)
        self.actions_by_name["machine_hide"].setEnabled(run is not None)
        if arrange:
            self._arrangement = None
            self._arrange()

    def _keep_machine(self, lesson) -> None:
        """A new lesson on screen: keep this machine's run only if it is of the same lesson."""
        if self.machine is not None and lesson.scenario != self._machine_scenario:
            self._set_machine(None, arrange=False)

    # ------------------------------------------------------------------ the pane
    def _sync_machine_pane(self, stacked: bool) -> None:
        """Make (or remove) the pane after the model's; it has no physical memory to show."""
        want = self.machine is not None
        if want and self.machine_pane is None:
            pane = VariantPane(self.theme, show_phys=False, title_peers=self.title_peers)
            pane.set_theme(self.theme)
            pane.view.pageClicked.connect(self._page_clicked)
            pane.view.pageHovered.connect(self._page_hovered)
            self.area_layout.addWidget(pane, 1)
            self.machine_pane = pane
        elif not want and self.machine_pane is not None:
            self._drop_machine_pane()
        if self.machine_pane is not None:
            p = self.machine_pane
            p.view.set_compact(True, axis=stacked)
            p.view.set_layouts(self.lesson.grid, None)
            p.view.set_selection(self.selection)
            p.title.setText(self.machine.title)
            p.title.setToolTip("The same lesson, carried out on the running kernel: its state after each step\n"
                               + self.machine.summary_text())

    def _drop_machine_pane(self) -> None:
        if self.machine_pane is not None:
            if self.machine_pane.title in self.title_peers:
                self.title_peers.remove(self.machine_pane.title)
            self.area_layout.removeWidget(self.machine_pane)
            self.machine_pane.hide()
            self.machine_pane.deleteLater()
            self.machine_pane = None

    def _show_machine(self, frame: int) -> None:
        pane, run, L = self.machine_pane, self.machine, self.lesson
        if pane is None or run is None or L is None:
            return
        from zpviz.present import machine as M  # (imported by the run already: a dict lookup)

        k = run.step_at(L.lead, frame)
        step = run.steps[k] if k >= 0 else None
        pane.view.show_picture(M.machine_picture(L.grid, run, k, frame))
        pane.view.space.set_marks(M.mark_runs(L.grid, step.differs) if step is not None else M.mark_runs(L.grid, ()))
        pane.view.set_titles(f"Address space \u00b7 {L.grid.n_slots:,} pages")
        if step is None:
            pane.status.setText("the kernel is read after each step \u00b7 no step has run yet")
        else:
            pane.status.setText(f"after step {k + 1} of {len(run.steps)} \u00b7 {step.count_text()}")
        self.machine_panel.set_step(step, len(run.steps))

    def machine_hover_text(self, slot: int) -> str:
        if self.machine is None or self.lesson is None:
            return ""
        from zpviz.present import machine as M

        return M.hover_text(self.machine, self.machine.step_at(self.lesson.lead, self.frame), slot)
