"""The application's Fusion style with its dock title-bar icons made once.

A QDockWidget asks the style for its float and close icons at every layout and every paint (the
title's text rectangle is worked out from the icons' sizes: QCommonStyle::subElementRect), and
QFusionStyle builds each of those icons anew from six PNG files of its resources, looking the image
plugins up for each file: ~2 % of a window step, and the same again each time a layout places the
docks. `CachedIconsStyle` is a QProxyStyle over Fusion that keeps those icons. Only icons that
Fusion makes from its resource files alone (the same for every widget, option and palette) are
kept; everything else goes to Fusion as before, so the pictures are the same.
"""

from __future__ import annotations

from PySide6 import QtWidgets

SP = QtWidgets.QStyle.StandardPixmap
# Fusion makes these from its own PNG files (QFusionStyle::iconFromTheme), whatever the widget
KEPT = frozenset({SP.SP_TitleBarNormalButton, SP.SP_TitleBarCloseButton, SP.SP_DockWidgetCloseButton})


class CachedIconsStyle(QtWidgets.QProxyStyle):
    def __init__(self) -> None:
        super().__init__(QtWidgets.QStyleFactory.create("Fusion"))
        self._icons: dict = {}

    def standardIcon(self, sp, option=None, widget=None):  # noqa: N802 (Qt's name)
        if sp not in KEPT:
            return super().standardIcon(sp, option, widget)
        icon = self._icons.get(sp)
        if icon is None:
            icon = self._icons[sp] = super().standardIcon(sp, option, widget)
        return icon


def install() -> None:
    """Make the application's style a CachedIconsStyle, once, when it is Fusion (the style of
    the offscreen platform and of desktops without a platform style). Other styles may draw these
    icons from the palette, so they are left alone."""
    app = QtWidgets.QApplication.instance()
    if app is None:
        return
    style = app.style()
    if isinstance(style, CachedIconsStyle) or style.name().lower() != "fusion":
        return
    app.setStyle(CachedIconsStyle())
