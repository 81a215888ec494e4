"""The main window: caption, memory views, legend and transport in the middle; kernel path,
compare table, counters and inspector in docks. The projector sees only this window.

Public API (also what the exporter drives, offscreen): open_lesson, set_lesson, set_frame,
set_step, set_theme, set_kernel, set_compare, set_predict_mode, render_image, frame_count.
"""

from __future__ import annotations

import dataclasses
import time

from PySide6 import QtCore, QtGui, QtWidgets

from zpviz.gui import actions
from zpviz.gui.caption import CaptionBar
from zpviz.gui.compareview import DiffTable, VariantPane
from zpviz.gui.counters import CountersView
from zpviz.gui.icons import app_icon
from zpviz.gui.kernelview import KernelPathView
from zpviz.gui.lessonio import LessonIO
from zpviz.gui.loader import Loader
from zpviz.gui.panels import Banner, InspectorView, LegendBar
from zpviz.gui.predictpanel import PredictPanel
from zpviz.gui.theme import apply_theme, font
from zpviz.gui.transport import Transport
from zpviz.gui.transportbar import TransportBar
from zpviz.present import captions, compare, kpath, palette, series
from zpviz.present.arrange import arrange
from zpviz.present.grid import grid_layout
from zpviz.present.inspect import page_info
from zpviz.present.picture import picture_at
from zpviz.present.session import Lesson

DEFAULT_SIZE = QtCore.QSize(1600, 900)


class MainWindow(LessonIO, QtWidgets.QMainWindow):
    lessonChanged = QtCore.Signal()
    frameShown = QtCore.Signal(int)

    def __init__(self, theme: str | None = None, settings: QtCore.QSettings | None = None, restore: bool = False):
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
        self.presenter = None
        self._offscreen = False
        self._started = time.monotonic()
        self.transport = Transport(self)
        self.loader = Loader(self)
        self._build_central()
        self._build_docks()
        actions.build_menus(self)
        LessonIO.__init__(self)
        self.transport.frameChanged.connect(self.show_frame)
        self.transport.playingChanged.connect(self.bar.set_playing)
        self.transport.speedChanged.connect(self.bar.set_speed)
        self.transport.stopReached.connect(self._ask)
        self.transport.secondTick.connect(self._second)
        self.bar.command.connect(self.command)
        self.bar.timeline.seekRequested.connect(self._seek)
        self.predict.answered.connect(self._revealed)
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
        self._arrangement = None
        lay.addWidget(self.area, 1)
        self.welcome = QtWidgets.QLabel()
        self.welcome.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.welcome.setWordWrap(True)
        self.welcome.setFont(font(18))
        self.area_layout.addWidget(self.welcome)
        self.panes: list[VariantPane] = []
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
        self.kernel_view = KernelPathView()
        self._dock("kernel", "Kernel path", self.kernel_view, right)
        cmp = QtWidgets.QWidget()
        cl = QtWidgets.QVBoxLayout(cmp)
        cl.setContentsMargins(6, 2, 6, 2)
        self.diff = DiffTable()
        cl.addWidget(self.diff, 1)
        self.diff_summary = QtWidgets.QLabel()
        self.diff_summary.setWordWrap(True)
        self.diff_summary.setFont(font(10))
        cl.addWidget(self.diff_summary)
        self._dock("compare", "Compare", cmp, right)
        self.counters = CountersView(self.theme)
        self._dock("counters", "Per-CPU counters", self.counters, right)
        self.inspector = InspectorView()
        self._dock("inspector", "Inspector", self.inspector, right)
        self.tabifyDockWidget(self.docks["counters"], self.docks["inspector"])
        self.docks["counters"].raise_()
        self.docks["compare"].hide()
        self.setCorner(QtCore.Qt.Corner.BottomRightCorner, right)
        self.setCorner(QtCore.Qt.Corner.TopRightCorner, right)

    def _fit_docks(self) -> None:
        w, h = max(self.width(), 640), max(self.height(), 400)
        share = 0.3 if self.lesson is not None and self.lesson.compare else 0.34
        self.resizeDocks([self.docks["kernel"]], [int(w * share)], QtCore.Qt.Orientation.Horizontal)
        shown = [self.docks[n] for n in ("kernel", "compare", "counters") if not self.docks[n].isHidden()]
        shares = {"kernel": 0.27, "compare": 0.35, "counters": 0.38} if not self.docks["compare"].isHidden() \
            else {"kernel": 0.4, "counters": 0.6}
        self.resizeDocks(shown, [int(h * shares[d.objectName()[5:]]) for d in shown], QtCore.Qt.Orientation.Vertical)

    # ------------------------------------------------------------------ lesson
    def set_lesson(self, lesson: Lesson, frame: int | None = None) -> None:
        """Show an already built lesson (present.session.build_lesson), at `frame` (default: the first)."""
        self.lesson = lesson
        self.selection = ()
        self._arrangement = None
        self._arrange(show=False)
        self.counters.set_series(lesson.series)
        self.bar.timeline.set_marks(lesson.marks)
        self.docks["compare"].setVisible(lesson.compare)
        self.welcome.hide()
        for kid, a in self.kernel_actions.items():
            a.setChecked(kid == lesson.kernels[0])
        for kid, a in self.compare_actions.items():
            a.setChecked(lesson.compare and kid in lesson.kernels)
        self.setWindowTitle(f"zpviz \u2014 {lesson.scenario.title}")
        self.predict.close_question()
        self.transport.pause()
        self.transport.set_predict_stops(set(lesson.questions) if self.predict_mode else set())
        self._fit_docks()
        self.transport.set_lesson(lesson.plan, lesson.stops, 0 if frame is None else frame)
        self.lessonChanged.emit()

    def _arrange(self, show: bool = True) -> None:
        """Pick side by side or stacked, the grid's row width and the physical panel for the area's size."""
        L = self.lesson
        if L is None:
            return
        size = self.area.size()
        a = arrange(L.lead.layout, len(L.traces), max(size.width(), 200), max(size.height(), 150))
        self._stretch(a)
        if self._arrangement is not None and a.key() == self._arrangement.key():
            return
        self._arrangement = a
        if L.grid.width != a.width:
            self.lesson = L = dataclasses.replace(L, grid=grid_layout(L.lead.layout, a.width))
        if len(self.panes) != len(L.traces) or any((p.view.phys is not None) != a.phys for p in self.panes):
            self._make_panes(len(L.traces), a.phys)
            self._stretch(a)
        self.area_layout.setDirection(QtWidgets.QBoxLayout.Direction.TopToBottom if a.stacked
                                      else QtWidgets.QBoxLayout.Direction.LeftToRight)
        for i, (pane, trace, pl) in enumerate(zip(self.panes, L.traces, L.phys)):
            pane.view.set_compact(L.compare, axis=i == 0 or a.stacked)
            pane.view.set_layouts(L.grid, pl)
            pane.view.set_selection(self.selection)
            pol = trace.kernel
            pane.title.setText(captions.kernel_title(pol))
            pane.title.setVisible(L.compare)
            pane.status.setVisible(L.compare)
            pane.title.setToolTip(pol.blurb)
        vb0 = self.panes[0].view.space.getViewBox()
        for p in self.panes[1:]:  # compare: zoom and pan all variants together
            p.view.space.getViewBox().setXLink(vb0)
            p.view.space.getViewBox().setYLink(vb0)
        if show:
            self.show_frame(self.frame)

    def _stretch(self, a) -> None:
        """Side by side, only the first pane has the address axis: give it that much more width,
        so every variant's grid gets the same pixels (their views are linked and aspect-locked)."""
        n = len(self.panes)
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

    def _make_panes(self, n: int, phys: bool) -> None:
        for p in self.panes:
            self.area_layout.removeWidget(p)
            p.hide()
            p.deleteLater()
        self.panes = []
        for _ in range(n):
            pane = VariantPane(self.theme, show_phys=phys)
            pane.set_theme(self.theme)
            pane.view.pageClicked.connect(self._page_clicked)
            pane.view.pageHovered.connect(self._page_hovered)
            self.area_layout.addWidget(pane, 1)
            self.panes.append(pane)

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
        for i, pane in enumerate(self.panes):
            pic = picture_at(L, i, frames[i], self.selection)
            pane.view.show_picture(pic)
            fr = L.traces[i].frame(frames[i])
            used = fr.scalars.get("frames_used", 0)
            pane.view.set_titles(f"Address space \u00b7 {L.grid.n_slots:,} pages",
                                 f"Physical memory \u00b7 {series.pages_text(used)} used")
            if L.compare:
                ev = kpath.event_view(L.traces[i], frames[i], L.grid)
                pane.status.setText(self._status(ev, fr))
        cap = captions.caption_at(lead, frame)
        if L.compare:
            cap = dataclasses.replace(cap, kernel="comparing " + " \u00b7 ".join(L.kernels))
        self.caption.set_caption(cap)
        ev = kpath.event_view(lead, frame, L.grid)
        narr = lead.scenario.summary if frame == 0 else ""
        self.kernel_view.set_event(ev, narr)
        self.kernel_view.set_log(L.logs[0].upto(frame), L.logs[0].count_upto(frame))
        self.counters.set_bars(series.cpu_bars(lead.frame(frame)))
        self.counters.set_frame(frame)
        self.bar.set_position(frame, L.n_frames)
        if L.compare:
            rows = compare.diff_rows(L.traces, frames)
            self.diff.set_rows(L.kernels, rows)
            self.diff_summary.setText(compare.summary_text([r for r in rows if r.differs][:2], L.kernels))
            self.diff_summary.setToolTip(compare.summary_text(rows, L.kernels))
        self._refresh_inspector()
        self._refresh_presenter()
        self.frameShown.emit(frame)

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
            self.predict.answer(None)  # the lecturer moves on: reveal without a guess
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

    # ------------------------------------------------------------------ predict
    def set_predict_mode(self, on: bool) -> None:
        self.predict_mode = bool(on)
        self.actions_by_name["predict"].setChecked(self.predict_mode)
        self.settings.setValue("predict", self.predict_mode)
        if self.lesson is not None:
            self.transport.set_predict_stops(set(self.lesson.questions) if on else set())
        if not on:
            self.predict.close_question()

    def set_predict_mode_from_action(self) -> None:
        self.set_predict_mode(self.actions_by_name["predict"].isChecked())

    def _ask(self, stop: int) -> None:
        q = self.lesson.questions.get(stop) if self.lesson else None
        if q is None:
            self.transport.resolve(stop)
            return
        if self.predict.question is not q:
            self.predict.ask(q)

    def answer_predict(self, index: int) -> None:
        if self.predict.open_unrevealed:
            self.predict.answer_index(index)

    def _revealed(self, choice) -> None:
        q = self.predict.question
        if q is None:
            return
        self.transport.resolve(q.stop)
        self.transport.seek(q.reveal)

    # ------------------------------------------------------------------ selection, hover
    def _page_clicked(self, slot: int, add: bool) -> None:
        self.selection = tuple(dict.fromkeys(self.selection + (slot,))) if add else (slot,)
        for p in self.panes:
            p.view.set_selection(self.selection)
        self.docks["inspector"].show()
        self.docks["inspector"].raise_()
        self.show_frame(self.frame)

    def clear_selection(self) -> None:
        self.selection = ()
        for p in self.panes:
            p.view.set_selection(())
        self.show_frame(self.frame)

    def _page_hovered(self, slot: int) -> None:
        L = self.lesson
        view = self.sender()
        if L is None or slot < 0 or not isinstance(view, QtWidgets.QWidget):
            QtWidgets.QToolTip.hideText()
            return
        i = next((k for k, p in enumerate(self.panes) if p.view is view), 0)
        f = L.aligned(self.frame)[i]
        info = page_info(L.traces[i].frame(f), L.grid, slot, L.traces[i].kernel.pg_mlocked)
        if info is not None:
            QtWidgets.QToolTip.showText(QtGui.QCursor.pos(), info.text(), view)

    def hover_text(self, slot: int, variant: int = 0) -> str:
        """The hover tooltip's text for a page (tests and the exporter use it without a mouse)."""
        L = self.lesson
        f = L.aligned(self.frame)[variant]
        info = page_info(L.traces[variant].frame(f), L.grid, slot, L.traces[variant].kernel.pg_mlocked)
        return info.text() if info else ""

    def _refresh_inspector(self) -> None:
        L = self.lesson
        if L is None or not self.selection:
            self.inspector.set_info(None)
            return
        slot = self.selection[-1]
        fr = L.lead.frame(self.frame)
        info = page_info(fr, L.grid, slot, L.lead.kernel.pg_mlocked)
        sharers = 0
        if info is not None and info.frame is not None:
            present = (fr.pte & 1) != 0
            sharers = int((present & (fr.pfn == info.frame.pfn)).sum())
        extra = [f"selected: {len(self.selection)} page{'s' if len(self.selection) != 1 else ''}"]
        self.inspector.set_info(info, sharers, extra)

    # ------------------------------------------------------------------ view
    def set_theme(self, name: str) -> None:
        self.theme = palette.theme(name)
        app = QtWidgets.QApplication.instance()
        if app is not None:
            apply_theme(app, self.theme)
        self.caption.set_theme(self.theme)
        self.legend.set_theme(self.theme)
        self.bar.set_theme(self.theme)
        self.kernel_view.set_theme(self.theme)
        self.counters.set_theme(self.theme)
        self.diff.set_theme(self.theme)
        for p in self.panes:
            p.set_theme(self.theme)
        if self.presenter is not None:
            self.presenter.set_theme(self.theme)
        for n, a in getattr(self, "theme_actions", {}).items():
            a.setChecked(n == self.theme.name)
        self.settings.setValue("theme", self.theme.name)
        if self.lesson is not None:
            self.show_frame(self.frame)

    def cycle_theme(self) -> None:
        names = palette.THEME_NAMES
        self.set_theme(names[(names.index(self.theme.name) + 1) % len(names)])

    def zoom(self, factor: float) -> None:
        if self.panes:  # compare panes are linked to the first: they follow
            self.panes[0].view.zoom(factor)

    def reset_zoom(self) -> None:
        for p in self.panes:
            p.view.reset_view()

    def toggle_fullscreen(self) -> None:
        if self.isFullScreen():
            self.showNormal()
            self.menuBar().show()
        else:
            self.menuBar().hide()  # a clean projector picture; every key still works
            self.showFullScreen()

    def escape(self) -> None:
        if self.isFullScreen():
            self.toggle_fullscreen()
        elif self.selection:
            self.clear_selection()
        elif self.predict.question is not None and self.predict.revealed:
            self.predict.close_question()

    def toggle_presenter(self) -> None:
        from zpviz.gui.presenter import PresenterWindow

        if self.presenter is None:
            self.presenter = PresenterWindow(self)
            self.presenter.set_theme(self.theme)
            screens = QtGui.QGuiApplication.screens()
            if len(screens) > 1:  # the lecturer's screen: not the one the projector window is on
                mine = self.screen()
                other = next((s for s in screens if s is not mine), screens[0])
                self.presenter.move(other.availableGeometry().topLeft())
        if self.presenter.isVisible():
            self.presenter.hide()
        else:
            self.presenter.show()
            self._refresh_presenter()

    def _refresh_presenter(self) -> None:
        if self.presenter is None or not self.presenter.isVisible() or self.lesson is None:
            return
        info = captions.presenter_at(self.lesson.lead, self.frame, self.presenter.elapsed_s(), time.strftime("%H:%M"))
        self.presenter.set_info(info)

    def _second(self) -> None:
        if self.presenter is not None and self.presenter.isVisible():
            self.presenter.tick()

    def show_keys(self) -> None:
        QtWidgets.QMessageBox.information(self, "zpviz keys", actions.keys_text())

    def resizeEvent(self, ev) -> None:
        super().resizeEvent(ev)
        self.caption.set_scale(max(0.72, min(1.25, self.height() / 1080)))

    # ------------------------------------------------------------------ offscreen rendering
    def render_image(self, size: QtCore.QSize | tuple[int, int] | None = None) -> QtGui.QImage:
        """The window as a QImage at `size`, without showing it (QT_QPA_PLATFORM=offscreen works).

        A hidden window is resized to `size` and rendered; a visible one is rendered as it is and
        scaled, so exporting never resizes what the room is looking at.
        """
        if isinstance(size, tuple):
            size = QtCore.QSize(*size)
        if not self.isVisible():
            if size is not None and size != self.size():
                self.resize(size)
                self._fit_docks()
            self._settle()
            img = self.grab().toImage()
        else:
            self._settle()
            img = self.grab().toImage()
            if size is not None and img.size() != size:
                img = img.scaled(size, QtCore.Qt.AspectRatioMode.IgnoreAspectRatio,
                                 QtCore.Qt.TransformationMode.SmoothTransformation)
        return img.convertToFormat(QtGui.QImage.Format.Format_RGB32)

    def _settle(self) -> None:
        """Let layouts and pyqtgraph's deferred range updates happen before grabbing."""
        if not self.isVisible():
            self.setAttribute(QtCore.Qt.WidgetAttribute.WA_DontShowOnScreen, True)
            self.ensurePolished()
            lay = self.layout()
            if lay is not None:
                lay.activate()
        for _ in range(3):
            QtWidgets.QApplication.sendPostedEvents()
            QtWidgets.QApplication.processEvents()
        if self.lesson is not None:
            self.show_frame(self.frame)  # recompute lines and glyphs for the final geometry
            QtWidgets.QApplication.processEvents()

    def closeEvent(self, ev) -> None:
        self.transport.pause()
        self.save_layout()
        if self.presenter is not None:
            self.presenter.close()
        super().closeEvent(ev)
