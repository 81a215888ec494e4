"""The main window: caption, memory views, legend and transport in the middle; kernel path,
compare table, counters and inspector in docks. The projector sees only this window.

A comparison opens with its leading variant (build_lesson's partial lesson) while the others
wait in their panes, and join_variants puts each in place when it is ready.

Public API (also what the exporter drives, offscreen): open_lesson, set_lesson, join_variants, set_frame,
set_step, set_theme, set_kernel, set_compare, set_predict_mode, render_image, frame_count;
run_on_machine, cancel_machine_run, hide_machine (the lesson on this machine's kernel, gui.machine).
"""

from __future__ import annotations

import dataclasses
import time
from typing import TYPE_CHECKING

from PySide6 import QtCore, QtWidgets

from zpviz.engine import policy
from zpviz.gui import actions, iconstyle, safegc, startgc
from zpviz.gui.cachelineview import CacheLineWidget
from zpviz.gui.caption import CaptionBar
from zpviz.gui.compareview import DiffTable, VariantPane
from zpviz.gui.docktitle import set_heading
from zpviz.gui.icons import app_icon
from zpviz.gui.interact import Interaction
from zpviz.gui.kernelview import KernelPathView
from zpviz.gui.lazycounters import LazyCounters
from zpviz.gui.lessonio import LessonIO
from zpviz.gui.loader import Loader
from zpviz.gui.machine import MachineOps
from zpviz.gui.onepass import OnePassRepaints
from zpviz.gui.panels import Banner, InspectorView, LegendBar
from zpviz.gui.predictpanel import PredictPanel
from zpviz.gui.programview import ProgramPanel
from zpviz.gui.recordjob import RecordOps
from zpviz.gui.steady import HintHolder, SteadyLabel
from zpviz.gui.theme import font
from zpviz.gui.transport import Transport
from zpviz.gui.transportbar import TransportBar
from zpviz.gui.viewops import ViewOps
from zpviz.present import captions, compare, kpath, palette, series
from zpviz.present.arrange import arrange
from zpviz.present.cacheline import line_view
from zpviz.present.grid import grid_layout
from zpviz.present.picture import picture_at
from zpviz.present.pool import MIN_CELL_PX
from zpviz.present.program import program_at
from zpviz.present.session import Lesson

if TYPE_CHECKING:  # made, and imported, when first on screen (gui/lazycounters.py)
    from zpviz.gui.counters import CountersView

DEFAULT_SIZE = QtCore.QSize(1600, 900)


class MainWindow(LessonIO, Interaction, ViewOps, MachineOps, RecordOps, QtWidgets.QMainWindow):
    lessonChanged = QtCore.Signal()
    variantsJoined = QtCore.Signal()  # a compared variant still simulating is now on screen
    frameShown = QtCore.Signal(int)

    def __init__(self, theme: str | None = None, settings: QtCore.QSettings | None = None, restore: bool = False,
                 offscreen: bool = False):
        """offscreen: a window only rendered (screenshots, exports): it never restyles the
        application and never saves its layout over the user's."""
        # Fusion with its dock icons made once (gui/iconstyle: the same look), before any widget is
        # made: restyling the application later polishes every widget again
        iconstyle.install()
        safegc.install()  # cycles collected from the event loop, never inside a Qt call (gui/safegc.py)
        QtWidgets.QMainWindow.__init__(self)
        self.setWindowTitle("zpviz")
        self.setWindowIcon(app_icon())
        self.settings = settings if settings is not None else QtCore.QSettings("zpviz", "zpviz")
        name = theme or str(self.settings.value("theme", "light"))
        try:
            self.theme = palette.theme(name)
        except ValueError:
            self.theme = palette.theme("light")
        self.lesson: Lesson | None = None
        self.selection: tuple[int, ...] = ()
        self.predict_mode = False
        self.predict_results: dict[tuple[str, int], bool] = {}  # (lesson, step) -> right: the lecture's score
        self.presenter = None
        self._offscreen = offscreen
        self._started = time.monotonic()
        self.transport = Transport(self)
        self.loader = Loader(self)
        self._build_central()
        self._build_docks()
        actions.build_menus(self)
        LessonIO.__init__(self)
        # after LessonIO's slots: the lesson (or the error) is in place when these run
        for done in (self.loader.partial, self.loader.loaded, self.loader.failed, self.loader.dropped):
            done.connect(self._counters_settle)
        self._build_machine_job()
        self._build_record_job()
        self.transport.frameChanged.connect(self.show_frame)
        self.transport.playingChanged.connect(self.bar.set_playing)
        self.transport.speedChanged.connect(self.bar.set_speed)
        self.transport.stopReached.connect(self._ask)
        self.transport.secondTick.connect(self._second)
        self.bar.command.connect(self.command)
        self.bar.timeline.seekRequested.connect(self._seek)
        self.predict.answered.connect(self._revealed)
        # a step's graphics views repainted in one pass of the window, not one each (gui/onepass)
        self.one_pass = OnePassRepaints(self)
        self.resize(DEFAULT_SIZE)
        self.set_theme(self.theme.name)
        self._empty_state()
        if restore:
            self.restore_layout()

    # ------------------------------------------------------------------ building
    def _build_central(self) -> None:
        central = QtWidgets.QWidget()
        lay = QtWidgets.QVBoxLayout(central)
        lay.setContentsMargins(8, 6, 8, 6)
        lay.setSpacing(6)
        self.banner = Banner()
        lay.addWidget(self.banner)
        self.caption = CaptionBar()
        lay.addWidget(self.caption)
        self.predict = PredictPanel()
        lay.addWidget(self.predict)
        self.area = QtWidgets.QWidget()
        self.area_layout = QtWidgets.QHBoxLayout(self.area)
        self.area_layout.setContentsMargins(0, 0, 0, 0)
        self.area_layout.setSpacing(10)
        self.area.installEventFilter(self)
        # the panes' own least sizes must never make the window taller than the screen (a 720p
        # projector): present.arrange picks a layout that fits, and this keeps Qt from overruling it
        self.area.setMinimumSize(200, 150)
        self._arrangement = None
        self._layout_restored = False
        lay.addWidget(self.area, 1)
        self.welcome = QtWidgets.QLabel()
        self.welcome.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.welcome.setWordWrap(True)
        self.welcome.setFont(font(18))
        self.area_layout.addWidget(self.welcome)
        self.panes: list[VariantPane] = []
        self.title_peers: list = []  # the panes' titles, set at one size (compareview.FitLabel)
        self.legend = LegendBar()
        lay.addWidget(self.legend)
        self.bar = TransportBar(self.theme)
        lay.addWidget(self.bar)
        self.setCentralWidget(central)

    def _dock(self, name: str, title: str, widget: QtWidgets.QWidget, area) -> QtWidgets.QDockWidget:
        d = QtWidgets.QDockWidget(title, self)
        d.setObjectName(f"dock_{name}")
        d.setWidget(widget)
        d.setFeatures(QtWidgets.QDockWidget.DockWidgetFeature.DockWidgetMovable
                      | QtWidgets.QDockWidget.DockWidgetFeature.DockWidgetClosable
                      | QtWidgets.QDockWidget.DockWidgetFeature.DockWidgetFloatable)
        self.addDockWidget(area, d)
        self.docks[name] = d
        return d

    def _build_docks(self) -> None:
        self.docks: dict[str, QtWidgets.QDockWidget] = {}
        right = QtCore.Qt.DockWidgetArea.RightDockWidgetArea
        # the lesson's program, when it has one: at the top of the right column, above the kernel path
        # (docs/program.md). Not on the left: at 1280x720 the transport bar leaves the docks about
        # 500 px in all, and a program needs the right column's whole width to be read
        self.program_panel = ProgramPanel()
        self._dock("program", "Program", self.program_panel, right)
        self.docks["program"].hide()
        self.kernel_view = KernelPathView()
        self._dock("kernel", "Kernel path", self.kernel_view, right)
        cmp = QtWidgets.QWidget()
        cl = QtWidgets.QVBoxLayout(cmp)
        cl.setContentsMargins(6, 2, 6, 2)
        self.diff = DiffTable()  # new cells every frame, sized to them: laid out again only when its hints change
        self.diff_holder = HintHolder(self.diff, cmp)
        cl.addWidget(self.diff_holder, 1)
        self.diff_summary = SteadyLabel()  # a new text every frame: no relayout of the window for it
        self.diff_summary.setWordWrap(True)
        self.diff_summary.setFont(font(10))
        cl.addWidget(self.diff_summary.holder(cmp))
        self._dock("compare", "Compare", cmp, right)
        # made when first on screen (gui.lazycounters): the tour shows the Compare tab over it
        self.counters_slot = LazyCounters(self.theme)
        self._dock("counters", "Counters", self.counters_slot, right)
        self._counters_in_front = False  # the dock's last visibilityChanged
        self.docks["counters"].visibilityChanged.connect(self._counters_seen)
        set_heading(self.docks["counters"], "Counters", "Per-CPU counters")
        self.inspector = InspectorView()
        self._dock("inspector", "Inspector", self.inspector, right)
        # one tabbed stack under the kernel path: the compare table, the counters, the inspector
        self.tabifyDockWidget(self.docks["compare"], self.docks["counters"])
        self.tabifyDockWidget(self.docks["counters"], self.docks["inspector"])
        self._build_machine_dock(right)
        self.tabifyDockWidget(self.docks["inspector"], self.docks["machine"])
        # the watched cache line, MESI style (docs/cacheline.md): only for lessons that watch one
        self.cacheline = CacheLineWidget(self.theme)
        self._dock("cacheline", "Cache line", self.cacheline, right)
        set_heading(self.docks["cacheline"], "Cache line", "Cache line")
        self.tabifyDockWidget(self.docks["machine"], self.docks["cacheline"])
        self.docks["cacheline"].hide()
        self.docks["counters"].raise_()
        self.docks["compare"].hide()
        self.setCorner(QtCore.Qt.Corner.BottomRightCorner, right)
        self.setCorner(QtCore.Qt.Corner.TopRightCorner, right)

    @property
    def counters(self) -> CountersView:
        """The Counters view, made now if it was not yet (an export, the presenter, a test)."""
        return self.counters_slot.build()

    def _counters_seen(self, visible: bool) -> None:
        """The dock shown, floated or its tab raised: the view is made and shows the latest frame.
        Not while the window's first lesson is opening (its Counters tab in front of an empty
        window): the lesson decides which tab is in front (the tour's is Compare), and making the
        view meanwhile took 0.09 s from the first variant's simulation (docs/startup.md)."""
        self._counters_in_front = visible
        if visible and not self._opening():
            self.counters_slot.build()

    def _opening(self) -> bool:
        return self.lesson is None and self.loader.busy

    def _counters_settle(self, *_args) -> None:
        """A load ended or showed its first variant: the view is made if its tab is still in front."""
        if self._counters_in_front and not self._opening():
            self.counters_slot.build()

    def counters_if_on_screen(self) -> None:
        """A hidden window about to be painted (a screenshot, an export): the view is made when the
        picture would show the dock (not hidden, not tabbed away: Qt moves those outside the window)."""
        d = self.docks["counters"]
        if self.counters_slot.view is None and d.isVisibleTo(self) and (
                d.isFloating() or self.rect().intersects(d.geometry())):
            self.counters_slot.build()

    def _fit_docks(self, force: bool = False) -> None:
        """Default dock sizes for the window's size; a layout the user saved wins (unless forced)."""
        if self._layout_restored and not force:
            return
        w, h = max(self.width(), 640), max(self.height(), 400)
        program = self.docks["program"].isVisibleTo(self)
        share = 0.3 if self.lesson is not None and self.lesson.n_variants > 1 and not program else 0.34
        self.resizeDocks([self.docks["kernel"]], [int(w * share)], QtCore.Qt.Orientation.Horizontal)
        if program:  # its lines plus the title bar, at most a third of the height
            rows = len(self.lesson.lead.scenario.program.lines) if self.lesson is not None else 10
            top = min(int(h * 0.34), 40 + 19 * rows)
            self.resizeDocks([self.docks["program"], self.docks["kernel"], self.docks["counters"]],
                             [top, int(h * 0.3), h - top - int(h * 0.3)], QtCore.Qt.Orientation.Vertical)
        else:
            top = 0.38 if h >= 900 else 0.43  # a 720p projector: the whole kernel path over the tabs
            self.resizeDocks([self.docks["kernel"], self.docks["counters"]], [int(h * top), int(h * (1 - top))],
                             QtCore.Qt.Orientation.Vertical)

    # ------------------------------------------------------------------ lesson
    def set_lesson(self, lesson: Lesson, frame: int | None = None) -> None:
        """Show an already built lesson (present.session.build_lesson), at `frame` (default: the first)."""
        self.lesson = lesson
        self._zoom_slots = None  # a zoom names slots of the lesson it was made for
        for p in self.all_panes():
            p.view.space.focus = None
        self.selection = ()
        self._keep_machine(lesson)
        self._arrangement = None
        self._arrange(show=False)
        self.counters_slot.set_series(lesson.series)
        self.bar.timeline.set_marks(lesson.marks)
        comparing = lesson.n_variants > 1
        self.docks["compare"].setVisible(comparing)
        # side by side, the kernel path and the per-CPU counters follow the first variant only: say
        # which, as the cache-line dock does (a v5 Bad page map beside 2.6.32's quiet pane read as both)
        lead = " \u00b7 " + lesson.kernels[0] if comparing else ""
        self.docks["kernel"].setWindowTitle("Kernel path" + lead)
        # tabbed docks: a short tab, the kernel in the bar over the dock (gui.docktitle)
        set_heading(self.docks["counters"], "Counters", "Per-CPU counters" + lead)
        prog = lesson.lead.scenario.program
        self.docks["program"].setVisible(prog is not None)
        self.docks["program"].setWindowTitle(f"Program \u00b7 {prog.name}" if prog is not None and prog.name
                                             else "Program")
        watching = bool(getattr(lesson.lead, "watched", ()))
        self.docks["cacheline"].setVisible(watching)
        set_heading(self.docks["cacheline"], "Cache line",
                    "Cache line \u00b7 " + lesson.kernels[0] if watching else "Cache line")
        front = "cacheline" if watching else "compare" if comparing else "counters"
        self.layout().activate()  # the dock area makes the tabs of the docks just shown: then one can be raised
        self._to_front(self.docks[front])
        self.welcome.hide()
        for kid, a in self.kernel_actions.items():
            a.setChecked(kid == lesson.kernels[0])
        self._check_compare_actions()
        self.setWindowTitle(f"zpviz \u2014 {lesson.scenario.title}")
        self.predict.close_question()
        self.transport.pause()
        self.transport.set_predict_stops(set(lesson.questions) if self.predict_mode else set())
        self._fit_docks()
        self.transport.set_lesson(lesson.plan, lesson.stops, 0 if frame is None else frame)
        self.lessonChanged.emit()

    @staticmethod
    def _to_front(dock: QtWidgets.QDockWidget) -> None:
        """Its tab in front. Qt brings a tab forward on a change of z-order only: a dock already on
        top of its siblings is lowered first, or the first tab of the stack stayed in front."""
        dock.lower()
        dock.raise_()

    def _check_compare_actions(self) -> None:
        L = self.lesson
        for kid, a in self.compare_actions.items():
            a.setChecked(L.n_variants > 1 and kid in L.kernels + L.pending)

    def join_variants(self, lesson: Lesson) -> None:
        """More variants of the lesson on screen are ready (build_lesson's partial lessons): they
        take the panes that waited for them; the frame, the selection and playback carry on."""
        old = self.lesson
        if old is None or old.lead is not lesson.lead:
            self.set_lesson(lesson)
            return
        self.lesson = dataclasses.replace(lesson, grid=old.grid)  # _arrange may have widened the grid
        self._arrangement = None
        self._arrange(show=True)
        self._check_compare_actions()
        self.variantsJoined.emit()

    def show_loading(self, text: str) -> None:
        """Progress of the load: in the pane that waits for the variant being simulated."""
        L = self.lesson
        if L is None or not L.pending:
            return
        waiting = self.panes[len(L.traces):]
        for k, pane in zip(L.pending, waiting):
            if f" under {k}" in text:
                pane.set_waiting(text)

    def _arrange(self, show: bool = True) -> None:
        """Pick side by side or stacked, the grid's row width and the physical panel for the area's size."""
        L = self.lesson
        if L is None:
            return
        size = self.area.size()
        machine = self.machine is not None
        a = arrange(L.lead.layout, L.n_variants + machine, max(size.width(), 200), max(size.height(), 150),
                    phys=not machine)
        self._stretch(a)
        if self._arrangement is not None and a.key() == self._arrangement.key():
            return
        self._arrangement = a
        if L.grid.width != a.width:
            self.lesson = L = dataclasses.replace(L, grid=grid_layout(L.lead.layout, a.width))
        remade = len(self.panes) != L.n_variants or any(p.show_phys != a.phys for p in self.panes)
        if remade:
            self._make_panes(L.n_variants, a.phys)
        self._sync_machine_pane(a.stacked)
        self._stretch(a)
        self.area_layout.setDirection(QtWidgets.QBoxLayout.Direction.TopToBottom if a.stacked
                                      else QtWidgets.QBoxLayout.Direction.LeftToRight)
        side_by_side = L.n_variants > 1 or machine  # each pane says which kernel it is
        for i, (pane, trace, pl) in enumerate(zip(self.panes, L.traces, L.phys)):
            pane.set_waiting(None)
            pane.view.set_compact(side_by_side, axis=i == 0 or a.stacked)
            pane.view.set_layouts(L.grid, pl)
            pane.view.set_selection(self.selection)
            self._title_pane(pane, trace.kernel, side_by_side)
        for j, (pane, k) in enumerate(zip(self.panes[len(L.traces):], L.pending)):
            # said again as the queue moves: the next in line is being simulated now, not waiting
            text = f"Simulating under {k} ..." if j == 0 else f"{k}: waiting for {L.pending[j - 1]}"
            if not pane.is_waiting or pane.waiting_text.text() != text:
                pane.set_waiting(text)
            self._title_pane(pane, policy(k), side_by_side)
            pane.status.setText("")
        ready = self.panes[:len(L.traces)] + self.all_panes()[len(self.panes):]  # not the panes still waiting
        spaces = [p.view.space for p in ready]
        for sp in spaces:  # an export's scale (ViewOps.set_output_scale) holds for panes made anew
            sp.image.min_px = MIN_CELL_PX / getattr(self, "output_scale", 1.0)
        spaces[0].link(spaces)  # compare: zoom and pan all variants together, cell for cell
        if remade and getattr(self, "_zoom_slots", None) is not None:
            spaces[0].zoom_to(*self._zoom_slots)
        if show:
            self.show_frame(self.frame)

    @staticmethod
    def _title_pane(pane: VariantPane, pol, side_by_side: bool) -> None:
        pane.title.setText(captions.kernel_title(pol))
        pane.title.setVisible(side_by_side)
        pane.status.setVisible(side_by_side)
        pane.words.setVisible(side_by_side)
        pane.title.setToolTip(pol.blurb)

    def _stretch(self, a) -> None:
        """Side by side, only the first pane has the address axis: give it that much more width,
        so every variant's grid gets the same pixels (their views are linked and aspect-locked)."""
        n = len(self.all_panes())
        if n <= 1 or a.stacked:
            for i in range(n):
                self.area_layout.setStretch(i + 1, 1)
            return
        axis = 110
        plot = max(1, (self.area.width() - axis) // n)
        for i in range(n):
            self.area_layout.setStretch(i + 1, plot + (axis if i == 0 else 0))  # +1: the welcome label

    def eventFilter(self, obj, ev) -> bool:
        if obj is self.area and ev.type() == QtCore.QEvent.Type.Resize:
            self._arrange()
        return False

    def all_panes(self) -> list[VariantPane]:
        """The model's panes, then this machine's if it shows."""
        return self.panes + ([self.machine_pane] if self.machine_pane is not None else [])

    def _make_panes(self, n: int, phys: bool) -> None:
        self._drop_machine_pane()  # remade after the model's, so it stays last
        for p in self.panes:
            self.area_layout.removeWidget(p)
            p.hide()
            p.deleteLater()
        self.panes = []
        self.title_peers: list = []  # the panes' titles, set at one size (compareview.FitLabel)
        self.words_peers: list = []  # their captions, set at one height (panewords.PaneWords)
        for _ in range(n):
            pane = VariantPane(self.theme, show_phys=phys, title_peers=self.title_peers, words_peers=self.words_peers,
                               on_view=self._wire_view)
            pane.set_theme(self.theme)
            self.area_layout.addWidget(pane, 1)
            self.panes.append(pane)

    def _wire_view(self, view) -> None:
        view.pageClicked.connect(self._page_clicked)
        view.pageHovered.connect(self._page_hovered)
        view.frameHovered.connect(self._frame_hovered)

    def _empty_state(self, problems: list[str] | None = None) -> None:
        if self.lesson is not None:
            return
        msg = "<b>No lesson open.</b><br><br>Ctrl+O opens a lesson file, Ctrl+B the built-in lessons."
        if problems:
            msg = "<b>The lesson could not be opened.</b><br><br>" + "<br>".join(problems[:12])
        self.welcome.setText(msg)
        self.welcome.show()
        self.caption.say.setText("zpviz: page faults and the zero page")
        self.caption.detail.setText("")

    # ------------------------------------------------------------------ frames
    def frame_count(self) -> int:
        return self.lesson.n_frames if self.lesson else 0

    @property
    def frame(self) -> int:
        return self.transport.frame

    def set_frame(self, frame: int) -> None:
        """Show frame `frame` of the leading variant (the others aligned by step)."""
        self.transport.pause()
        self.transport.seek(frame)

    def set_step(self, step: int) -> None:
        """Show the state after lesson step `step` (0-based, as --step)."""
        if self.lesson is None:
            return
        n = len(self.lesson.lead.step_results)
        self.set_frame(self.lesson.lead.step_end_frame(max(-1, min(step, n - 1))))

    def show_frame(self, frame: int) -> None:
        L = self.lesson
        if L is None:
            return
        frames = L.aligned(frame)
        lead = L.lead
        side_by_side = L.n_variants > 1 or self.machine is not None
        own = captions.compare_words(L.traces, frames)[1] if L.compare else []  # each pane's own words
        lead_ev = None
        for i, pane in enumerate(self.panes[:len(L.traces)]):  # the panes still waiting have no trace
            pic = picture_at(L, i, frames[i], self.selection, phys=pane.view.phys is not None)
            pane.view.show_picture(pic)
            fr = L.traces[i].frame(frames[i])
            used = fr.scalars.get("frames_used", 0)
            pane.view.set_titles(f"Address space \u00b7 {L.grid.n_slots:,} pages",
                                 f"Physical memory \u00b7 {series.pages_text(used)} used")
            if side_by_side:
                ev = kpath.event_view(L.traces[i], frames[i], L.grid)
                if i == 0:
                    lead_ev = ev  # the lead's, at `frame` (frames[0]): the kernel path dock's too
                self._pane_words(pane, i, frames[i], ev, fr, own[i] if i < len(own) else "")
        self._show_machine(frame)
        cap = captions.caption_at(lead, frame)
        if L.compare:
            cap = captions.shared_caption(L.traces, frames, cap)
        if side_by_side:
            names = L.kernels + L.pending + ((self.machine.kernel,) if self.machine is not None else ())
            cap = dataclasses.replace(cap, kernel="comparing " + " \u00b7 ".join(names))
        self.caption.set_caption(cap)
        ev = lead_ev if lead_ev is not None and frames[0] == frame else kpath.event_view(lead, frame, L.grid)
        narr = lead.scenario.summary_for(str(lead.kernel.id)) if frame == 0 else ""
        self.kernel_view.set_event(ev, narr)
        self.kernel_view.set_log(L.logs[0].upto(frame), L.logs[0].count_upto(frame))
        self.program_panel.set_view(program_at(lead, frame))
        self.counters_slot.set_bars(series.cpu_bars(lead.frame(frame)))
        self.counters_slot.set_frame(frame)
        watched = getattr(lead, "watched", ())
        if watched:
            self.cacheline.set_view(line_view(lead, frame, watched[0]))
        self.bar.set_position(frame, L.n_frames)
        if L.n_variants > 1:  # the ready ones; the others join the table when they join the panes
            rows = compare.diff_rows(L.traces, frames)
            self.diff.set_rows(L.kernels, rows)
            self.diff_holder.check()
            self.diff_summary.setText(compare.summary_text([r for r in rows if r.differs][:2], L.kernels)
                                      if not L.pending else f"{', '.join(L.pending)}: still simulating")
            tip = compare.summary_text(rows, L.kernels)
            if tip != self.diff_summary.toolTip():  # (each set sends the label an event)
                self.diff_summary.setToolTip(tip)
        self._refresh_inspector()
        self._refresh_presenter()
        if startgc.holding() and not hasattr(self, "_gc_timer"):  # the start is over once this frame is painted
            self._gc_timer = QtCore.QTimer(self, singleShot=True, interval=0)  # a timer: after the posted paints
            self._gc_timer.timeout.connect(startgc.release)  # (QTimer.singleShot(0) would be a posted event)
            self._gc_timer.start()
        self.frameShown.emit(frame)

    def _pane_words(self, pane, i: int, frame: int, ev, fr, say: str) -> None:
        """A compare pane's own words, its variant's at its aligned frame: once the step is done, its
        outcome line ("1,024 read faults \u2192 zero page, 0 new pages") as the status; under it what
        its caption says beyond the sentences shown over all panes (present.captions.compare_words)."""
        L = self.lesson
        t = L.traces[i]
        k = t.step_of_frame(frame)
        done = k >= 0 and frame == t.step_results[k].end_event and i < len(L.outcomes)
        text = L.outcomes[i][k] if done else self._status(ev, fr)
        pane.status.setText(text)  # panewords.FitLines: two lines at most, cut visibly
        stacked = self._arrangement is not None and self._arrangement.stacked
        pane.words.set_caption(say, 1 if stacked else 2)

    @staticmethod
    def _status(ev, fr) -> str:
        what = ev.what if ev is not None else "before the first event"
        bad = fr.scalars.get("bad_page_maps", 0)
        return f"{what} \u00b7 {series.pages_text(fr.scalars.get('frames_used', 0))} used" + \
            (f" \u00b7 {bad} Bad page map{'s' if bad != 1 else ''}" if bad else "")

    # ------------------------------------------------------------------ transport
    def command(self, cmd: str) -> None:
        """A transport command from a key, a button or a test: see present.navigate.go."""
        if self.lesson is None:
            return
        if self.predict.open_unrevealed and cmd in ("toggle", "next", "next_step"):
            self.predict.reveal()  # the lecturer moves on: reveal (with a number typed, if any)
            return
        if self.predict.question is not None and cmd not in ("faster", "slower"):
            self.predict.close_question()
        if cmd == "toggle":
            self.transport.toggle()
        elif cmd == "faster":
            self.transport.faster()
        elif cmd == "slower":
            self.transport.slower()
        else:
            self.transport.go(cmd)

    def _seek(self, frame: int) -> None:
        self.predict.close_question()
        self.set_frame(frame)

    def closeEvent(self, ev) -> None:
        self.transport.pause()
        if self._machine_job is not None:  # never made: nothing ran
            self.machine_job.cancel()  # its worker process cleans up after itself
        if self.record_job is not None:
            self.record_job.abandon()  # the recorder lets the program go and keeps nothing
        self.save_layout()
        if self.presenter is not None:
            self.presenter.close()
        super().closeEvent(ev)
