"""The "Cache line" dock: the zero page's struct-page line moving between CPUs, MESI style.

Draws present.cacheline's view model: sockets as frames, CPUs as boxes with their copy's state
letter and colour, a token at the CPU holding the line in M or E, and the latest transition as
an arrow with its cost. What it shows at a frame is the view model's for that frame; the one
thing it adds is motion: stepping to the line's next transfer, the token glides along the arrow
for a moment (never offscreen, so screenshots and exports show each frame's final picture).
"""

from __future__ import annotations

import math

from PySide6 import QtCore, QtGui, QtWidgets

from zpviz.gui.theme import font, qcolor
from zpviz.present.cacheline import CacheLineView, layout, state_colours
from zpviz.present.palette import Theme

TRAVEL_MS = 350  # the token's trip along the arrow when the lecturer steps to the next transfer
LEGEND = (("M", "modified"), ("E", "exclusive"), ("S", "shared"), ("I", "invalid"))


class CacheLineWidget(QtWidgets.QWidget):
    def __init__(self, theme: Theme, parent=None):
        super().__init__(parent)
        self.theme = theme
        self.view: CacheLineView | None = None
        self.setMinimumSize(220, 160)
        self.animate = QtGui.QGuiApplication.platformName() != "offscreen"
        self.travel = QtCore.QVariantAnimation(self)
        self.travel.setStartValue(0.0)
        self.travel.setEndValue(1.0)
        self.travel.setDuration(TRAVEL_MS)
        self.travel.setEasingCurve(QtCore.QEasingCurve.Type.InOutQuad)
        self.travel.valueChanged.connect(self.update)
        self._path: QtGui.QPainterPath | None = None  # the arrow being drawn, for the token to travel

    def set_theme(self, theme: Theme) -> None:
        self.theme = theme
        self.update()

    def set_view(self, view: CacheLineView | None) -> None:
        prev, self.view = self.view, view
        self.travel.stop()
        m = view.move if view is not None else None
        before = prev.move.seq if prev is not None and prev.move is not None else 0
        if self.animate and m is not None and m.current and m.cpu_from >= 0 and m.seq == before + 1:
            self.travel.start()  # exactly the next transition, forwards: one hop to watch
        self.update()

    @property
    def travelling(self) -> bool:
        return self.travel.state() == QtCore.QAbstractAnimation.State.Running

    # ------------------------------------------------------------------ painting
    def paintEvent(self, ev) -> None:  # noqa: N802 (Qt's name)
        p = QtGui.QPainter(self)
        p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
        th = self.theme
        p.fillRect(self.rect(), qcolor(th.panel))
        v = self.view
        w, h = self.width(), self.height()
        if v is None:
            p.setPen(qcolor(th.muted))
            p.setFont(font(11))
            p.drawText(self.rect().adjusted(10, 10, -10, -10), QtCore.Qt.TextFlag.TextWordWrap,
                       "This lesson watches no cache line ([scenario] watch).")
            return
        colours = state_colours(th)
        # the heading: what moved last, in words, and the totals
        p.setPen(qcolor(th.fg))
        head = font(12, bold=True)
        p.setFont(head)
        line1 = v.move.text if v.move is not None else "Nobody has the line yet: every copy is I"
        if v.move is not None and not v.move.current:
            line1 = "Last: " + line1
        elide = QtCore.Qt.TextElideMode.ElideRight
        p.drawText(QtCore.QRectF(8, 4, w - 16, 20), QtCore.Qt.AlignmentFlag.AlignLeft,
                   QtGui.QFontMetrics(head).elidedText(line1, elide, w - 16))
        p.setFont(font(11))
        p.setPen(qcolor(th.muted))
        p.drawText(QtCore.QRectF(8, 24, w - 16, 18), QtCore.Qt.AlignmentFlag.AlignLeft,
                   QtGui.QFontMetrics(p.font()).elidedText(v.totals, elide, w - 16))
        legend_h = 22
        g = layout(v, 4, 46, w - 8, h - 46 - legend_h - 2)
        # sockets
        for i, r in enumerate(g.sockets):
            p.setPen(QtGui.QPen(qcolor(th.grid), 1.5))
            p.setBrush(QtCore.Qt.BrushStyle.NoBrush)
            p.drawRoundedRect(QtCore.QRectF(r.x, r.y, r.w, r.h), 6, 6)
            p.setPen(qcolor(th.muted))
            p.setFont(font(10, bold=True))
            p.drawText(QtCore.QRectF(r.x + 6, r.y + 2, r.w - 12, 18), QtCore.Qt.AlignmentFlag.AlignLeft,
                       f"socket {i}")
        # CPU boxes
        for socket in v.sockets:
            for box in socket:
                r = g.boxes[box.cpu]
                fill, text = colours[box.state]
                rect = QtCore.QRectF(r.x, r.y, r.w, r.h)
                p.setPen(QtGui.QPen(qcolor(th.fg if box.state != "I" else th.grid), 1))
                p.setBrush(qcolor(fill))
                p.drawRoundedRect(rect, 3, 3)
                p.setPen(qcolor(text))
                p.setFont(font(max(7, g.label_px - 2)))
                p.drawText(rect.adjusted(3, 1, -2, 0), QtCore.Qt.AlignmentFlag.AlignLeft
                           | QtCore.Qt.AlignmentFlag.AlignTop, str(box.cpu))
                lf = QtGui.QFont(font(10, bold=True))
                lf.setPixelSize(g.letter_px)
                p.setFont(lf)
                p.drawText(rect.adjusted(0, g.label_px * 0.5, 0, 0), QtCore.Qt.AlignmentFlag.AlignCenter, box.state)
                if box.token and not self.travelling:
                    d = max(6.0, min(r.w, r.h) * 0.28)
                    p.setPen(QtGui.QPen(qcolor(th.fg), 1.5))
                    p.setBrush(qcolor(th.accent))
                    p.drawEllipse(QtCore.QRectF(r.x + r.w - d - 2, r.y + 2, d, d))
        # the latest transfer: an arrow from the CPU that supplied the line
        m = v.move
        if m is not None and m.cpu_from >= 0 and m.cpu_from in g.boxes and m.cpu_to in g.boxes:
            a, b = g.boxes[m.cpu_from], g.boxes[m.cpu_to]
            self._arrow(p, (a.cx, a.cy), (b.cx, b.cy), f"{m.cost_ns} ns", m.current,
                        QtCore.QRectF(0, 46, w, h - 46 - legend_h))
            if self.travelling and self._path is not None:
                pt = self._path.pointAtPercent(float(self.travel.currentValue() or 0.0))
                d = max(10.0, min(b.w, b.h) * 0.35)
                p.setPen(QtGui.QPen(qcolor(th.fg), 2))
                p.setBrush(qcolor(th.accent))
                p.drawEllipse(QtCore.QRectF(pt.x() - d / 2, pt.y() - d / 2, d, d))
        # legend
        p.setFont(font(10))
        x = 8.0
        y = h - legend_h
        for letter, word in LEGEND:
            fill, text = colours[letter]
            p.setPen(QtGui.QPen(qcolor(th.fg if letter != "I" else th.grid), 1))
            p.setBrush(qcolor(fill))
            p.drawRoundedRect(QtCore.QRectF(x, y + 2, 18, 16), 2, 2)
            p.setPen(qcolor(text))
            p.drawText(QtCore.QRectF(x, y + 2, 18, 16), QtCore.Qt.AlignmentFlag.AlignCenter, letter)
            p.setPen(qcolor(th.fg))
            p.drawText(QtCore.QRectF(x + 22, y, 90, 20), QtCore.Qt.AlignmentFlag.AlignVCenter, word)
            x += 22 + QtGui.QFontMetrics(p.font()).horizontalAdvance(word) + 12
        p.setBrush(qcolor(th.accent))
        p.setPen(QtGui.QPen(qcolor(th.fg), 1.5))
        p.drawEllipse(QtCore.QRectF(x, y + 5, 10, 10))
        p.drawText(QtCore.QRectF(x + 14, y, 120, 20), QtCore.Qt.AlignmentFlag.AlignVCenter, "owner")
        p.end()

    def _arrow(self, p: QtGui.QPainter, a, b, label: str, current: bool, inside: QtCore.QRectF) -> None:
        th = self.theme
        colour = qcolor(th.fg if current else th.muted)
        (x0, y0), (x1, y1) = a, b
        dx, dy = x1 - x0, y1 - y0
        dist = math.hypot(dx, dy) or 1.0
        ux, uy = dx / dist, dy / dist
        # bow the arrow sideways so it does not hide the boxes it passes over
        mx, my = (x0 + x1) / 2 - uy * min(40, dist * 0.25), (y0 + y1) / 2 + ux * min(40, dist * 0.25)
        path = QtGui.QPainterPath(QtCore.QPointF(x0, y0))
        path.quadTo(QtCore.QPointF(mx, my), QtCore.QPointF(x1, y1))
        self._path = path
        pen = QtGui.QPen(colour, 3 if current else 2)
        if not current:
            pen.setStyle(QtCore.Qt.PenStyle.DashLine)
        p.setPen(pen)
        p.setBrush(QtCore.Qt.BrushStyle.NoBrush)
        p.drawPath(path)
        # the head, along the curve's last direction
        hx, hy = x1 - mx, y1 - my
        hd = math.hypot(hx, hy) or 1.0
        hx, hy = hx / hd, hy / hd
        size = 11
        head = QtGui.QPolygonF([QtCore.QPointF(x1, y1),
                                QtCore.QPointF(x1 - hx * size - hy * size * 0.5, y1 - hy * size + hx * size * 0.5),
                                QtCore.QPointF(x1 - hx * size + hy * size * 0.5, y1 - hy * size - hx * size * 0.5)])
        p.setBrush(colour)
        p.drawPolygon(head)
        # the cost, on a plate at the bend
        p.setFont(font(11, bold=True))
        fm = QtGui.QFontMetrics(p.font())
        tw, tht = fm.horizontalAdvance(label) + 10, fm.height() + 2
        px = min(max(mx - tw / 2, inside.left() + 2), inside.right() - tw - 2)  # kept off the legend
        py = min(max(my - tht / 2, inside.top() + 2), inside.bottom() - tht - 2)
        plate = QtCore.QRectF(px, py, tw, tht)
        p.setPen(QtGui.QPen(colour, 1.5))
        p.setBrush(qcolor(th.panel))
        p.drawRoundedRect(plate, 4, 4)
        p.setPen(qcolor(th.fg))
        p.drawText(plate, QtCore.Qt.AlignmentFlag.AlignCenter, label)
