"""Mixed into MainWindow: predict mode, the selection, hover and the inspector."""

from __future__ import annotations

from PySide6 import QtGui, QtWidgets

from zpviz.engine import constants as C
from zpviz.present.inspect import frame_info, page_info
from zpviz.present.predict import Score, score_of


class Interaction:
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
            self._refresh_presenter()

    def answer_predict(self, index: int) -> None:
        if self.predict.open_unrevealed:
            self.predict.answer_index(index)

    def reveal_predict(self) -> None:
        """The lecturer's key (R): reveal the open question, with the room's answer if it gave one."""
        if self.predict.open_unrevealed:
            self.predict.reveal()

    def _revealed(self, choice) -> None:
        q = self.predict.question
        if q is None:
            return
        # the lecture's score: every question revealed counts as asked, right only with a right answer
        key = (self.lesson.path if self.lesson else "", q.step)
        self.predict_results[key] = bool(q.is_right(choice))
        self.transport.resolve(q.stop)
        self.transport.seek(q.reveal)

    def score(self) -> Score:
        return score_of(self.predict_results)

    def show_score(self) -> None:
        """The score so far (S): shown on demand in the banner, never on its own."""
        s = self.score()
        lines = [f"{path.rsplit('/', 1)[-1]} step {k + 1}: {'right' if ok else 'not right'}"
                 for (path, k), ok in self.predict_results.items()]
        self.banner.show_message(s.text(), lines[-8:])

    def reset_score(self) -> None:
        self.predict_results.clear()

    # ------------------------------------------------------------------ selection, hover
    def _page_clicked(self, slot: int, add: bool) -> None:
        self.selection = tuple(dict.fromkeys(self.selection + (slot,))) if add else (slot,)
        for p in self.all_panes():
            p.view.set_selection(self.selection)
        self.docks["inspector"].show()
        self.docks["inspector"].raise_()
        self.show_frame(self.frame)

    def clear_selection(self) -> None:
        self.selection = ()
        for p in self.all_panes():
            p.view.set_selection(())
        self.show_frame(self.frame)

    def _page_hovered(self, slot: int) -> None:
        L = self.lesson
        view = self.sender()
        if L is None or slot < 0 or not isinstance(view, QtWidgets.QWidget):
            QtWidgets.QToolTip.hideText()
            return
        if self.machine_pane is not None and view is self.machine_pane.view:
            QtWidgets.QToolTip.showText(QtGui.QCursor.pos(), self.machine_hover_text(slot), view)
            return
        i = next((k for k, p in enumerate(self.panes) if p.view is view), 0)
        f = L.aligned(self.frame)[i]
        info = page_info(L.traces[i].frame(f), L.grid, slot, L.traces[i].kernel.pg_mlocked)
        if info is not None:
            QtWidgets.QToolTip.showText(QtGui.QCursor.pos(), info.text(), view)

    def _frame_hovered(self, pfn: int) -> None:
        """Hovering physical memory: the struct page of that frame (or a zero-page tile)."""
        L = self.lesson
        view = self.sender()
        if L is None or pfn < 0 or not isinstance(view, QtWidgets.QWidget):
            return
        i = next((k for k, p in enumerate(self.panes) if p.view is view), 0)
        info = frame_info(L.traces[i].frame(L.aligned(self.frame)[i]), pfn)
        if info is not None:
            QtWidgets.QToolTip.showText(QtGui.QCursor.pos(), "\n".join(info.lines()), view)

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
            present = (fr.pte & C.PTE_P) != 0
            sharers = int((present & (fr.pfn == info.frame.pfn)).sum())
        extra = [f"selected: {len(self.selection)} page{'s' if len(self.selection) != 1 else ''}"]
        self.inspector.set_info(info, sharers, extra)

