"""Widgets whose content changes every frame, without re-laying out the whole window for it.

`QLabel.setText` always calls `updateGeometry()`, and so does a table sized to its contents
(`AdjustToContents`) at every change of a cell: the parent's layout is invalidated, and
`QLayout::activate` then calls `updateGeometry()` on its own widget whatever changed, so one new
frame counter re-lays out every ancestor up to the main window's layout, which lays out every dock
(~1 ms a step at 1920x1080, Qt asking the style for the docks' title-bar icons included).

A HintHolder is a widget with no layout holding one such widget and standing in the layout in its
place: it has the widget's size hints, height for width, size policy and visibility, and the
widget fills it, so both are laid out and painted exactly where the widget alone was. A widget's
`updateGeometry()` stops at a parent without a layout; the holder calls its own only when the
widget's hints differ from the ones the layout last used: after a new content (`check()`, which a
SteadyLabel calls at each new text; in a shown window also when the widget asks for a layout), a
change of font, style, margins or visibility, and a resize.

A held widget's size limits are the holder's: set them on the holder, not on the widget.
"""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

# events after which the held widget's hints may differ from the ones the layout has
_RESYNC = {QtCore.QEvent.Type.FontChange, QtCore.QEvent.Type.StyleChange, QtCore.QEvent.Type.ContentsRectChange,
           QtCore.QEvent.Type.LayoutDirectionChange, QtCore.QEvent.Type.Polish,
           QtCore.QEvent.Type.ShowToParent, QtCore.QEvent.Type.HideToParent}


class HintHolder(QtWidgets.QWidget):
    def __init__(self, widget: QtWidgets.QWidget, parent: QtWidgets.QWidget):
        super().__init__(parent)  # (in its parent before the widget moves in, as into a layout)
        self.held = widget
        self._hints: tuple | None = None
        self._quiet_width = -1  # the width at which a change was last let pass without a relayout
        widget.setParent(self)
        widget.installEventFilter(self)
        self.sync()

    # the held widget's hints are the holder's
    def sizeHint(self) -> QtCore.QSize:  # noqa: N802 (Qt's name)
        return self.held.sizeHint()

    def minimumSizeHint(self) -> QtCore.QSize:  # noqa: N802 (Qt's name)
        return self.held.minimumSizeHint()

    def hasHeightForWidth(self) -> bool:  # noqa: N802 (Qt's name)
        return self.held.hasHeightForWidth()

    def heightForWidth(self, width: int) -> int:  # noqa: N802 (Qt's name)
        return self.held.heightForWidth(width)

    def _measure(self) -> tuple:
        w = self.held
        hfw = w.heightForWidth(self.width()) if w.hasHeightForWidth() else -1
        return w.sizeHint(), w.minimumSizeHint(), w.sizePolicy(), hfw

    def check(self) -> None:
        """After new content: a relayout only if the hints the layout used are no longer the widget's."""
        hints = self._measure()
        if hints != self._hints:
            self._hints = hints
            self._quiet_width = -1
            self.updateGeometry()
        elif self._quiet_width < 0:
            self._quiet_width = self.width()

    def sync(self) -> None:
        """After a change of font, style, wrap or visibility: mirror it, and lay out again."""
        self.setSizePolicy(self.held.sizePolicy())
        hidden = self.held.isHidden()  # hidden by a hide(): the held widget's parent, the holder, is not hidden else
        if hidden and not self.isHidden():
            self.hide()
        elif not hidden and self.isHidden() and self.parentWidget() is not None:  # (a holder not yet in its layout
            self.show()  # is a hidden window of its own: showing it would open one)
        # not measured here: asked for its hints inside its own font or polish event, a label under a
        # style sheet lost its own font at the next application font (the next check() measures)
        self._hints = None
        self._quiet_width = -1
        self.updateGeometry()

    def eventFilter(self, obj, ev: QtCore.QEvent) -> bool:  # noqa: N802 (Qt's name)
        if obj is self.held and ev.type() in _RESYNC:
            self.sync()
        return False

    def event(self, ev: QtCore.QEvent) -> bool:
        if ev.type() == QtCore.QEvent.Type.LayoutRequest:  # (a shown window: the held widget's updateGeometry)
            self.check()
            return True
        return super().event(ev)

    def resizeEvent(self, ev) -> None:  # noqa: N802 (Qt's name)
        self.held.setGeometry(self.rect())
        if self._quiet_width >= 0 and self.width() != self._quiet_width:
            # the layout keeps heights for a few widths; one kept from before a quiet change would be
            # stale at this new width: forget them
            self.sync()
        else:
            self.check()  # (a table's resize may refit its headers)


class SteadyLabel(QtWidgets.QLabel):
    """A QLabel for a text that changes every frame: put `holder()` in the layout, not the label."""

    def __init__(self, text: str = ""):
        super().__init__(text)
        self._holder: HintHolder | None = None
        self._min_width = 0

    def holder(self, parent: QtWidgets.QWidget) -> HintHolder:
        """The holder, in `parent` (the layout's widget), with the label in it."""
        if self._holder is None:
            self._holder = HintHolder(self, parent)
            self._holder.setMinimumWidth(self._min_width)
        return self._holder

    def setText(self, text: str) -> None:  # noqa: N802 (Qt's name)
        if text == self.text():
            return
        super().setText(text)
        if self._holder is not None:
            self._holder.check()

    def setWordWrap(self, on: bool) -> None:  # noqa: N802 (Qt's name)
        super().setWordWrap(on)  # sets the height-for-width flag of the size policy
        if self._holder is not None:
            self._holder.sync()

    def limit_width(self, minimum: int) -> None:
        """The label's minimum width (the holder's, which the layout sees)."""
        self._min_width = minimum
        if self._holder is not None:
            self._holder.setMinimumWidth(minimum)
