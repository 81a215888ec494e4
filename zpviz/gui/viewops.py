"""Mixed into MainWindow: themes, zoom, full screen, the presenter view and offscreen rendering."""

from __future__ import annotations

import dataclasses
import time

from PySide6 import QtCore, QtGui, QtWidgets

from zpviz.gui import actions
from zpviz.gui.theme import apply_theme, apply_to_window
from zpviz.present import captions, palette
from zpviz.present.predict import option_text


class ViewOps:
    # ------------------------------------------------------------------ view
    def set_theme(self, name: str) -> None:
        self.theme = palette.theme(name)
        # the window carries its theme itself (an offscreen export window must not restyle the app);
        # the lecturer's window also themes the application: dialogs, tooltips, the presenter view
        apply_to_window(self, self.theme)
        app = QtWidgets.QApplication.instance()
        if app is not None and not self._offscreen:
            apply_theme(app, self.theme)
        self.caption.set_theme(self.theme)
        self.legend.set_theme(self.theme)
        self.bar.set_theme(self.theme)
        self.kernel_view.set_theme(self.theme)
        self.program_panel.set_theme(self.theme)
        self.counters_slot.set_theme(self.theme)
        self.cacheline.set_theme(self.theme)
        self.diff.set_theme(self.theme)
        for p in self.all_panes():
            p.set_theme(self.theme)
        self.machine_panel.set_theme(self.theme)
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
        self._zoom_slots = None
        for p in self.all_panes():
            p.view.reset_view()

    def zoom_region(self, spec: str) -> None:
        """Show the region `spec` names (`--zoom VMA[:PAGES]`, present.zoom) in every pane; ValueError
        for a spec the lesson has no such region for."""
        from zpviz.present.zoom import parse_zoom, zoom_slots

        if self.lesson is None or not self.panes:
            raise ValueError("--zoom: no lesson is open")
        first, last = zoom_slots(parse_zoom(spec), self.lesson.grid)
        self._zoom_slots = (first, last)  # panes made anew (a resize can) take it up again
        self.panes[0].view.space.zoom_to(first, last)  # linked panes follow

    def set_output_scale(self, scale: float) -> None:
        """An export scales the window's picture by `scale` (< 1: a 960x540 GIF is a 1280x720 window):
        pool the grids so a block still spans MIN_CELL_PX pixels in the picture."""
        from zpviz.present.pool import MIN_CELL_PX

        self.output_scale = max(0.05, min(1.0, scale))
        for p in self.all_panes():
            p.view.space.image.min_px = MIN_CELL_PX / self.output_scale

    def set_chrome(self, on: bool) -> None:
        """Menu bar and status bar: a lecturer's window has them; a screenshot or an export (a slide)
        leaves them out unless asked for (--chrome). Every key still works without the menu bar."""
        self.menuBar().setVisible(on)
        self.statusBar().setVisible(on)

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
        info = captions.presenter_at(self.lesson.lead, self.frame, self.presenter.elapsed_s(), time.strftime("%H:%M"),
                                     others=self.lesson.traces[1:])
        q = self.predict.question
        if q is not None and not self.predict.revealed:  # the lecturer's screen knows the answer first
            extra = f" ({q.detail})" if q.detail else ""
            answer = option_text(q.answer) if q.kind == "choice" else q.answer
            info = dataclasses.replace(info, notes=f"PREDICT \u2014 the answer: {answer}{extra}\n\n{info.notes}")
        self.presenter.set_info(info)

    def _second(self) -> None:
        if self.presenter is not None and self.presenter.isVisible():
            self.presenter.tick()

    def show_keys(self) -> None:
        QtWidgets.QMessageBox.information(self, "zpviz keys", actions.keys_text())

    def resizeEvent(self, ev) -> None:
        super().resizeEvent(ev)
        self.caption.set_scale(max(0.72, min(1.25, self.height() / 1080)), max_height=int(self.height() * 0.15))

    # ------------------------------------------------------------------ offscreen rendering
    def grab(self, *args, **kwargs) -> QtGui.QPixmap:
        """QWidget.grab, with a window never shown created first (not shown): see docs/speed.md,
        "A grab of a window never shown". Qt's grab of a window whose native window was never
        created sends the window and its hidden docks their pending Resize events again at every
        grab (~30, with the dock layouts they set off); once created, a grab with nothing moved
        sends none. Same pixels."""
        if not self.isVisible() and not self.testAttribute(QtCore.Qt.WidgetAttribute.WA_WState_Created):
            self.create()
        return super().grab(*args, **kwargs)

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
                self._fit_docks(force=True)
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
        if not self.isVisible():  # grab() paints a hidden window; it is never shown for it
            self.ensurePolished()
            # A hidden window's children get their resize events only inside grab(), too late for the
            # compare area to re-arrange: panes it makes then are not painted (a 1280x720 compare
            # screenshot showed none). Lay the window out top-down now and arrange for the final size.
            for w in [self, *self.findChildren(QtWidgets.QWidget)]:
                lay = w.layout()
                if lay is not None:
                    lay.activate()
            if self.lesson is not None:
                self._arrange(show=False)
            # Its widgets get their Resize events (and the docks lay out their contents) only when
            # painted: the program scrolled to its line for the 98x68 px it had before the window's
            # layout, and a screenshot showed it scrolled otherwise than the room's window. A paint
            # of one pixel delivers them now, before show_frame fits the texts to the final sizes.
            self.render(QtGui.QImage(1, 1, QtGui.QImage.Format.Format_RGB32), QtCore.QPoint(0, 0),
                        QtGui.QRegion(0, 0, 1, 1))
        self.counters_if_on_screen()  # made only when the picture shows it (gui.lazycounters)
        for _ in range(3):
            QtWidgets.QApplication.sendPostedEvents()
            QtWidgets.QApplication.processEvents()
        if self.lesson is not None:
            self.show_frame(self.frame)  # recompute lines and glyphs for the final geometry
            QtWidgets.QApplication.processEvents()
        if not self.isVisible():
            # A scroll area shows or hides its bar when its widget asks for a new layout or it is
            # resized; in a window never shown Qt posts neither (the resize waits for the grab):
            # the kernel path kept the bar a taller path had needed in a shorter dock the step before
            for area in self.findChildren(QtWidgets.QScrollArea):
                QtCore.QCoreApplication.sendEvent(area, QtCore.QEvent(QtCore.QEvent.Type.LayoutRequest))

