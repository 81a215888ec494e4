"""Small panels: the legend, the error banner and the inspector."""

from __future__ import annotations

import html

from PySide6 import QtCore, QtGui, QtWidgets

from zpviz.gui.flow import FlowLayout
from zpviz.gui.marks import MarksItem, hatch_brush
from zpviz.gui.theme import font, qcolor
from zpviz.present.inspect import PageInfo
from zpviz.present.palette import LEGEND, MACHINE_LEGEND, Theme, glyph_table, page_lut


class Swatch(QtWidgets.QWidget):
    """One legend swatch: the cell's colour with its glyph, exactly as the grid draws it."""

    def __init__(self, code: int, parent=None, outline: bool = False):
        super().__init__(parent)
        self.code = code
        self.outline = outline  # drawn as the grid outlines a page that differs from the model
        self.alert = QtGui.QColor("#D55E00")
        self.ink = QtGui.QColor("#151515")
        self.colour = QtGui.QColor()
        self.glyph = ""
        self.badges = ""
        self.dark_ink = True
        self.border = QtGui.QColor("#777777")
        self.hatches: list[QtGui.QBrush] = []
        self.setFixedSize(26, 26)

    def set_theme(self, theme: Theme) -> None:
        r, g, b, _ = (int(v) for v in page_lut(theme)[self.code])
        self.colour = QtGui.QColor(r, g, b)
        gl = glyph_table(theme)[self.code]
        self.glyph, self.badges, self.dark_ink = gl.text, gl.badges, gl.dark_ink
        self.border = qcolor(theme.muted)
        # the grid's marks over the fill (gui.marks): hatching for mlocked and huge
        self.hatches = [hatch_brush(qcolor(theme.panel, 230), fwd) for bit, fwd in MarksItem.MARKS if self.code & bit]
        self.alert = qcolor(theme.alert)
        self.ink = qcolor(theme.fg)
        self.update()

    def paintEvent(self, ev) -> None:
        p = QtGui.QPainter(self)
        p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
        p.setPen(QtGui.QPen(self.border, 1))
        p.setBrush(self.colour)
        p.drawRect(QtCore.QRectF(0.5, 0.5, self.width() - 1, self.height() - 1))
        for brush in self.hatches:
            p.fillRect(QtCore.QRectF(1, 1, self.width() - 2, self.height() - 2), brush)
        p.setPen(QtGui.QColor(20, 20, 20) if self.dark_ink else QtGui.QColor(250, 250, 250))
        f = QtGui.QFont()
        f.setPixelSize(14)
        f.setBold(True)
        p.setFont(f)
        p.drawText(self.rect(), QtCore.Qt.AlignmentFlag.AlignCenter, self.glyph)
        if self.badges:
            f.setPixelSize(9)
            p.setFont(f)
            p.drawText(self.rect().adjusted(0, 1, -2, 0),
                       QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignTop, self.badges[:1])
        if self.outline:  # as gridview draws it: the alert colour over the text colour
            p.setPen(QtGui.QPen(self.ink, 5))
            p.setBrush(QtCore.Qt.BrushStyle.NoBrush)
            p.drawRect(QtCore.QRectF(2.5, 2.5, self.width() - 5, self.height() - 5))
            p.setPen(QtGui.QPen(self.alert, 2))
            p.setBrush(QtCore.Qt.BrushStyle.NoBrush)
            p.drawRect(QtCore.QRectF(2.5, 2.5, self.width() - 5, self.height() - 5))


class LegendBar(QtWidgets.QWidget):
    """Swatch + label per state; wraps onto a second row on narrow windows."""

    def __init__(self, parent=None):
        super().__init__(parent)
        lay = FlowLayout(self, spacing=14)
        lay.setContentsMargins(8, 2, 8, 2)
        self.swatches: list[Swatch] = []
        self.labels: list[QtWidgets.QLabel] = []
        for entry in LEGEND:
            lay.addWidget(self._entry(entry))
        self.lines_hint = QtWidgets.QLabel("lines: PTE \u2192 frame")
        self.lines_hint.setFont(font(12))
        lay.addWidget(self.lines_hint)
        # while this machine's pane shows: its extra codes (and no mapping lines: no panel has them)
        self.machine_items = [self._entry(e, outline=e is MACHINE_LEGEND[-1]) for e in MACHINE_LEGEND]
        for item in self.machine_items:
            lay.addWidget(item)
            item.hide()
        sp = self.sizePolicy()
        sp.setHeightForWidth(True)
        self.setSizePolicy(sp)

    def _entry(self, entry, outline: bool = False) -> QtWidgets.QWidget:
        item = QtWidgets.QWidget()
        row = QtWidgets.QHBoxLayout(item)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(6)
        sw = Swatch(entry.code, outline=outline)
        lab = QtWidgets.QLabel(entry.label)
        lab.setFont(font(12))
        item.setToolTip(entry.hint)
        row.addWidget(sw)
        row.addWidget(lab)
        self.swatches.append(sw)
        self.labels.append(lab)
        return item

    def set_machine(self, on: bool) -> None:
        for item in self.machine_items:
            item.setVisible(on)
        self.lines_hint.setVisible(not on)

    def set_theme(self, theme: Theme) -> None:
        for sw in self.swatches:
            sw.set_theme(theme)
        self.lines_hint.setStyleSheet(f"color: {theme.accent}; font-weight: bold;")

    def texts(self) -> list[str]:
        return [lab.text() for lab in self.labels if not lab.parentWidget().isHidden()]


class Banner(QtWidgets.QFrame):
    """A non-modal bar across the window: a broken edit, an open that failed. Never a dialog mid-lecture."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("banner")
        lay = QtWidgets.QHBoxLayout(self)
        lay.setContentsMargins(12, 6, 8, 6)
        self.label = QtWidgets.QLabel()
        self.label.setWordWrap(True)
        self.label.setFont(font(13))
        self.label.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(self.label, 1)
        close = QtWidgets.QToolButton()
        close.setText("\u00d7")
        close.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
        close.setToolTip("Dismiss")
        close.clicked.connect(self.hide)
        lay.addWidget(close, 0, QtCore.Qt.AlignmentFlag.AlignTop)
        self.hide()

    def show_message(self, title: str, lines: list[str]) -> None:
        body = "<br>".join(html.escape(x) for x in lines[:8])
        more = f"<br>... and {len(lines) - 8} more" if len(lines) > 8 else ""
        self.label.setText(f"<b>{html.escape(title)}</b><br><span style='font-family:monospace'>{body}{more}</span>")
        self.show()

    def text(self) -> str:
        return self.label.text()


class InspectorView(QtWidgets.QWidget):
    """The clicked page: its PTE, its frame's struct page, and how many PTEs share that frame."""

    def __init__(self, parent=None):
        super().__init__(parent)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(8, 4, 8, 4)
        self.text = QtWidgets.QLabel("Click a page to inspect it.\nShift+click adds pages to the selection; "
                                     "Esc clears it.")
        self.text.setFont(font(12, mono=True))
        self.text.setWordWrap(True)
        self.text.setAlignment(QtCore.Qt.AlignmentFlag.AlignTop | QtCore.Qt.AlignmentFlag.AlignLeft)
        self.text.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(self.text, 1)

    def set_info(self, info: PageInfo | None, sharers: int = 0, extra: list[str] | None = None) -> None:
        if info is None:
            self.text.setText("Click a page to inspect it.")
            return
        lines = info.lines()
        if info.frame is not None:
            lines.append(f"{sharers:,} PTE{'s' if sharers != 1 else ''} map this frame now")
        self.text.setText("\n".join(lines + (extra or [])))
