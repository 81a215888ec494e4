"""A dock's title bar that says more than its tab.

Docks tabbed together in the right column share some 380 px at 1280x720, and Qt names a tab and
the title bar over its dock by the same windowTitle: "Per-CPU counters · v5" and "Cache line ·
2.6.23" cut every tab to "C…", "Per-CPU counters ·…". A DockTitle lets the tab keep the dock's
short name (its windowTitle) while the bar over the dock shows the whole heading, which says whose
counters or cache line the dock shows.
"""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from zpviz.gui.theme import BASE_PT, font


class DockTitle(QtWidgets.QWidget):
    def __init__(self, dock: QtWidgets.QDockWidget):
        super().__init__(dock)
        self.dock = dock
        lay = QtWidgets.QHBoxLayout(self)
        lay.setContentsMargins(8, 4, 4, 4)
        lay.setSpacing(2)
        self.label = QtWidgets.QLabel(dock.windowTitle())
        self.label.setFont(font(BASE_PT, bold=True))  # as QDockWidget's own title (theme.stylesheet)
        # never widens the dock: a long heading is cut, whole in its tooltip
        self.label.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Preferred)
        lay.addWidget(self.label, 1)
        style = self.style()
        for icon, tip, slot in ((QtWidgets.QStyle.StandardPixmap.SP_TitleBarNormalButton, "Float", self._float),
                                (QtWidgets.QStyle.StandardPixmap.SP_TitleBarCloseButton, "Close", dock.close)):
            b = QtWidgets.QToolButton()
            b.setIcon(style.standardIcon(icon))
            b.setToolTip(tip)
            b.setAutoRaise(True)
            b.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
            b.setStyleSheet("QToolButton { border: 0; padding: 0px; min-width: 14px; background: transparent; }")
            b.setIconSize(QtCore.QSize(10, 10))
            b.clicked.connect(slot)
            lay.addWidget(b)

    def _float(self) -> None:
        self.dock.setFloating(not self.dock.isFloating())

    def set_heading(self, text: str) -> None:
        self.label.setText(text)
        self.label.setToolTip(text)

    def heading(self) -> str:
        return self.label.text()


def set_heading(dock: QtWidgets.QDockWidget, tab: str, heading: str) -> None:
    """The dock's tab says `tab`, the bar over it `heading` (a DockTitle is made the first time)."""
    dock.setWindowTitle(tab)
    bar = dock.titleBarWidget()
    if not isinstance(bar, DockTitle):
        bar = DockTitle(dock)
        dock.setTitleBarWidget(bar)
    bar.set_heading(heading)
