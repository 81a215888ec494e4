"""The "Cache line" dock: the zero page's struct-page line moving between CPUs, MESI style.

Draws present.cacheline's view model at projector size: the line's last hops as big CPU boxes
with an arrow and a cost per hop, bracketed by socket; below, one strip per socket with every
CPU's state, idle runs folded ("0-15 I"); every word at least the app's body size (BASE_PT).
What it shows at a frame is the view model's for that frame; the one thing it adds is motion:
stepping to the line's next transfer, the token glides along the newest arrow for a moment
(never offscreen, so screenshots and exports show each frame's final picture).
"""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

from zpviz.gui.theme import BASE_PT, font, qcolor
from zpviz.present.cacheline import CacheLineView, Geometry, Rect, Sizes, chain, layout, state_colours
from zpviz.present.palette import Theme

TRAVEL_MS = 350  # the token's trip along the arrow when the lecturer steps to the next transfer
LEGEND = (("M", "modified"), ("E", "exclusive"), ("S", "shared"), ("I", "invalid"))
NODE_PT, NODE_MAX_PT = 20, 34  # a chain box's CPU number: the biggest words in the dock, as big as fits
CHAIN_MIN = 4  # the chain's boxes grow only while at least this many still fit (3 hops)
AlignCenter = QtCore.Qt.AlignmentFlag.AlignCenter
AlignLeftV = QtCore.Qt.AlignmentFlag.AlignLeft | QtCore.Qt.AlignmentFlag.AlignVCenter


def _r(r: Rect) -> QtCore.QRectF:
    return QtCore.QRectF(r.x, r.y, r.w, r.h)


class CacheLineWidget(QtWidgets.QWidget):
    def __init__(self, theme: Theme, parent=None):
        super().__init__(parent)
        self.theme = theme
        self.view: CacheLineView | None = None
        self.setMinimumSize(260, 200)
        self.animate = QtGui.QGuiApplication.platformName() != "offscreen"
        self.travel = QtCore.QVariantAnimation(self)
        self.travel.setStartValue(0.0)
        self.travel.setEndValue(1.0)
        self.travel.setDuration(TRAVEL_MS)
        self.travel.setEasingCurve(QtCore.QEasingCurve.Type.InOutQuad)
        self.travel.valueChanged.connect(self.update)
        self._path: QtGui.QPainterPath | None = None  # the newest arrow, for the token to travel
        self.body = font(BASE_PT)
        self.bold = font(BASE_PT, bold=True)
        self.mono = font(BASE_PT, bold=True, mono=True)  # state letters: a serifed I, not a bar
        self.node_pt = NODE_PT
        self.geometry_: Geometry | None = None  # the last painted layout (tests read it)
        self._laid: tuple | None = None  # ((id, w, h), node_pt, geometry, view) of the last layout

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

    # ------------------------------------------------------------------ geometry
    @property
    def number(self) -> QtGui.QFont:
        return font(self.node_pt, bold=True)

    @property
    def letter(self) -> QtGui.QFont:
        return font(max(BASE_PT + 2, self.node_pt * 7 // 10), bold=True, mono=True)

    def sizes(self) -> Sizes:
        """Pixel sizes from the dock's fonts: boxes and rows hold their words at full size."""
        fb, fm, fn, fl = (QtGui.QFontMetricsF(f) for f in (self.bold, self.mono, self.number, self.letter))
        node_w = max(fn.horizontalAdvance("888") + 14, fl.height() * 2.2)
        cost_w = fb.horizontalAdvance("888 ns") + 10
        return Sizes(row_h=fb.height() + 8, label_w=fb.horizontalAdvance("socket 8"), node_w=node_w,
                     node_h=fn.height() + fl.height() + 8, edge_w=max(34.0, cost_w - node_w + 6),
                     cost_h=fb.height() + 4, bracket_h=fb.height() + 4, text_w=fm.horizontalAdvance)

    def heading_h(self, w: float | None = None) -> float:
        """The heading's height at width w (the dock's): one line each where they fit, more where not."""
        lines = self._heading_lines(self.width() if w is None else w)
        if not lines:
            return QtGui.QFontMetricsF(self.bold).lineSpacing() + QtGui.QFontMetricsF(self.body).lineSpacing() + 10
        return sum(QtGui.QFontMetricsF(f).lineSpacing() + 2 for _, f, _ in lines) + 6

    def _heading_lines(self, w: float) -> list[tuple[str, QtGui.QFont, str]]:
        """What moved last and the totals so far, each broken at its " · " onto more lines where the
        dock is too narrow for one: in the full 720p window lesson 5's totals lost their cost
        ("4,095 transfers · 511 across sockets · 204.7…"). A part too long even alone is elided."""
        v = self.view
        if v is None:
            return []
        line1 = v.move.text if v.move is not None else "No CPU has touched the line so far"
        if v.move is not None and not v.move.current:
            line1 = "Last: " + line1
        th = self.theme
        room = max(1.0, w - 16)
        out = []
        for text, f, colour in ((line1, self.bold, th.fg), (v.totals, self.body, th.muted)):
            fm = QtGui.QFontMetricsF(f)
            lines: list[str] = []
            for part in text.split(" \u00b7 "):
                if lines and fm.horizontalAdvance(lines[-1] + " \u00b7 " + part) <= room:
                    lines[-1] += " \u00b7 " + part
                else:
                    lines.append(part)
            out.extend((line, f, colour) for line in lines)
        return out

    def legend_h(self) -> float:
        return QtGui.QFontMetricsF(self.body).height() + 8

    def layout_for(self, w: float, h: float) -> Geometry | None:
        if self.view is None:
            return None
        key = (id(self.view), w, h)
        # a repaint of the same view at the same size (the token travelling): as laid out
        if self._laid is not None and self._laid[0] == key and self._laid[3] is self.view:
            self.node_pt = self._laid[1]
            return self._laid[2]
        g = self._fit(w, h)
        self._laid = (key, self.node_pt, g, self.view)
        return g

    def _fit(self, w: float, h: float) -> Geometry:
        top = self.heading_h(w)
        want = min(CHAIN_MIN, len(chain(self.view)[0]))
        for pt in range(NODE_MAX_PT, NODE_PT - 1, -2):  # the biggest boxes that still show the last hops
            self.node_pt = pt
            g = layout(self.view, 4, top, w - 8, h - top - self.legend_h(), self.sizes())
            if len(g.nodes) >= want:
                return g
        return g

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
            p.setFont(self.body)
            p.drawText(self.rect().adjusted(10, 10, -10, -10), QtCore.Qt.TextFlag.TextWordWrap,
                       "This lesson watches no cache line ([scenario] watch).")
            return
        g = self.geometry_ = self.layout_for(w, h)
        self._heading(p, v, w)
        self._stage(p, v, g)
        self._strips(p, g)
        self._legend(p, v, h)
        p.end()

    def _heading(self, p: QtGui.QPainter, v: CacheLineView, w: int) -> None:
        """What moved last, in words, and the totals so far."""
        elide = QtCore.Qt.TextElideMode.ElideRight
        y = 4.0
        for text, f, colour in self._heading_lines(w):
            fm = QtGui.QFontMetrics(f)
            p.setFont(f)
            p.setPen(qcolor(colour))
            p.drawText(QtCore.QRectF(8, y, w - 16, fm.height()), AlignLeftV, fm.elidedText(text, elide, w - 16))
            y += fm.lineSpacing() + 2

    def _box(self, p: QtGui.QPainter, r: QtCore.QRectF, state: str, radius: float = 4) -> str:
        """A state's filled box; returns the colour its words take."""
        th = self.theme
        fill, text = state_colours(th)[state]
        p.setPen(QtGui.QPen(qcolor(th.fg if state != "I" else th.grid), 1.5 if state != "I" else 1))
        p.setBrush(qcolor(fill))
        p.drawRoundedRect(r, radius, radius)
        return text

    def _token(self, p: QtGui.QPainter, cx: float, cy: float, d: float) -> None:
        p.setPen(QtGui.QPen(qcolor(self.theme.fg), 1.5))
        p.setBrush(qcolor(self.theme.accent))
        p.drawEllipse(QtCore.QRectF(cx - d / 2, cy - d / 2, d, d))

    def _stage(self, p: QtGui.QPainter, v: CacheLineView, g: Geometry) -> None:
        """The last hops: big boxes, an arrow and its cost per hop, brackets per socket."""
        th = self.theme
        self._path = None
        if not g.nodes:  # no transition yet, or no room for boxes: the last hops in one line of words
            big = font(BASE_PT + 4, bold=True)
            f = big if QtGui.QFontMetricsF(big).height() <= g.stage.h else self.bold
            p.setFont(f)
            p.setPen(qcolor(th.muted if v.move is None else th.fg))
            if v.move is None:
                words = "Every copy is invalid"
            else:
                cpus, links = chain(v)
                words = "CPU " + str(cpus[0]) + "".join(
                    (" \u2192 " if hop is not None else " \u2026 ") + str(c) for hop, c in zip(links, cpus[1:]))
            words = QtGui.QFontMetrics(f).elidedText(words, QtCore.Qt.TextElideMode.ElideLeft, int(g.stage.w - 12))
            p.drawText(_r(g.stage), AlignCenter, words)
            return
        fb = QtGui.QFontMetricsF(self.bold)
        for socket, r in g.brackets:
            p.setPen(QtGui.QPen(qcolor(th.muted), 2))
            y = r.y + 1
            p.drawPolyline([QtCore.QPointF(r.x, y - 4), QtCore.QPointF(r.x, y), QtCore.QPointF(r.right, y),
                            QtCore.QPointF(r.right, y - 4)])
            p.setFont(self.bold)
            words = f"socket {socket}"
            tw = fb.horizontalAdvance(words) + 4
            p.drawText(QtCore.QRectF(r.cx - tw / 2, y + 2, tw, fb.height()), AlignCenter, words)
        for e in g.edges:
            y = e.a.cy
            x0, x1 = e.a.right + 3, e.b.x - 3
            if e.hop is None:  # the line came back some other way in between
                p.setPen(qcolor(th.muted))
                p.setFont(self.bold)
                p.drawText(QtCore.QRectF(x0, y - fb.height() / 2, x1 - x0, fb.height()), AlignCenter, "\u2026")
                continue
            colour = qcolor(th.fg if e.hop.current else th.muted)
            pen = QtGui.QPen(colour, 3.5 if e.hop.current else 2.5)
            if not e.hop.current:
                pen.setStyle(QtCore.Qt.PenStyle.DashLine)
            p.setPen(pen)
            p.drawLine(QtCore.QPointF(x0, y), QtCore.QPointF(x1 - 9, y))
            p.setPen(QtCore.Qt.PenStyle.NoPen)
            p.setBrush(colour)
            p.drawPolygon(QtGui.QPolygonF([QtCore.QPointF(x1, y), QtCore.QPointF(x1 - 11, y - 6.5),
                                           QtCore.QPointF(x1 - 11, y + 6.5)]))
            if e.hop.current:
                path = QtGui.QPainterPath(QtCore.QPointF(e.a.cx, e.a.cy))
                path.lineTo(QtCore.QPointF(e.b.cx, e.b.cy))
                self._path = path
            # the cost, above the arrow (wider than the gap: the row above the boxes is free)
            words = f"{e.hop.cost_ns} ns"
            tw = fb.horizontalAdvance(words) + 8
            cx = (x0 + x1) / 2
            plate = QtCore.QRectF(cx - tw / 2, e.a.y - fb.height() - 6, tw, fb.height() + 2)
            p.setFont(self.bold)
            if not e.hop.same_socket:  # across sockets: the expensive hop, on a plate
                p.setPen(QtGui.QPen(colour, 1.5))
                p.setBrush(qcolor(th.panel))
                p.drawRoundedRect(plate, 4, 4)
            p.setPen(colour)
            p.drawText(plate, AlignCenter, words)
        fn, fl = QtGui.QFontMetricsF(self.number), QtGui.QFontMetricsF(self.letter)
        for n in g.nodes:
            r = _r(n.rect)
            text = self._box(p, r, n.box.state, 6)
            p.setPen(qcolor(text))
            p.setFont(self.number)
            p.drawText(QtCore.QRectF(r.x(), r.y() + 3, r.width(), fn.height()), AlignCenter, str(n.box.cpu))
            p.setFont(self.letter)
            p.drawText(QtCore.QRectF(r.x(), r.bottom() - fl.height() - 4, r.width(), fl.height()), AlignCenter,
                       n.box.state)
            if n.box.token and not self.travelling:
                d = max(10.0, n.rect.w * 0.22)
                self._token(p, n.rect.right - d * 0.3, n.rect.y + d * 0.3, d)
        if self.travelling and self._path is not None:
            pt = self._path.pointAtPercent(float(self.travel.currentValue() or 0.0))
            self._token(p, pt.x(), pt.y(), max(12.0, g.nodes[-1].rect.w * 0.3))

    def _strips(self, p: QtGui.QPainter, g: Geometry) -> None:
        """Every CPU's state, one strip per socket, runs in one state folded into one segment."""
        th = self.theme
        fb = QtGui.QFontMetricsF(self.mono)
        for s in g.strips:
            p.setFont(self.bold)
            p.setPen(qcolor(th.muted))
            p.drawText(_r(s.label), AlignLeftV, f"socket {s.socket}")
            p.setFont(self.mono)
            for seg, r in s.pieces:
                q = _r(r).adjusted(1, 0, -1, 0)
                text = self._box(p, q, seg.state, 3)
                if seg.count > 1 and r.w / seg.count >= 3:  # one tick per CPU: the run's size, seen
                    p.setPen(QtGui.QPen(qcolor(th.grid), 1))
                    for j in range(1, seg.count):
                        x = r.x + r.w * j / seg.count
                        p.drawLine(QtCore.QPointF(x, q.bottom() - 4), QtCore.QPointF(x, q.bottom() - 1))
                right = 0.0
                if seg.token:  # the token first: the one segment that must never lose its mark
                    d = min(fb.height() * 0.55, q.width() - 4)
                    right = d + 6
                    self._token(p, q.right() - d / 2 - 3, q.center().y(), d)
                room = q.width() - right
                words = next((t for t in (seg.text, seg.state) if fb.horizontalAdvance(t) + 6 <= room), "")
                if words:
                    p.setPen(qcolor(text if seg.state != "I" else th.fg))
                    p.drawText(q.adjusted(0, 0, -right, 0), AlignCenter, words)

    def _legend(self, p: QtGui.QPainter, v: CacheLineView, h: int) -> None:
        """The states on screen, and the token."""
        th = self.theme
        shown = {b.state for s in v.sockets for b in s}
        fm = QtGui.QFontMetricsF(self.body)
        p.setFont(self.body)
        side = fm.height()
        x, y = 8.0, h - self.legend_h() + 4
        items = [(letter, word) for letter, word in LEGEND if letter in shown]
        token = any(b.token for s in v.sockets for b in s)
        for letter, word in items:
            tw = fm.horizontalAdvance(word)
            if x + side + 4 + tw > self.width() - 4:
                return  # a narrow dock: the legend as far as it fits whole
            text = self._box(p, QtCore.QRectF(x, y, side, side), letter, 2)
            p.setPen(qcolor(text))
            p.setFont(self.mono)
            p.drawText(QtCore.QRectF(x, y, side, side), AlignCenter, letter)
            p.setFont(self.body)
            p.setPen(qcolor(th.fg))
            p.drawText(QtCore.QRectF(x + side + 4, y, tw + 2, side), AlignLeftV, word)
            x += side + 4 + tw + 14
        if token:
            word = next((t for t in ("holds it (M or E)", "holds it")
                         if x + side * 0.8 + fm.horizontalAdvance(t) <= self.width() - 4), None)
            if word is not None:
                self._token(p, x + side * 0.35, y + side / 2, side * 0.6)
                p.setPen(qcolor(th.fg))
                p.drawText(QtCore.QRectF(x + side * 0.8, y, fm.horizontalAdvance(word) + 4, side), AlignLeftV, word)
