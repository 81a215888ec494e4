"""Per-CPU counters as bars and the run's counters over time, with pyqtgraph.

Bars: per CPU, cache hits and misses, and cache-line transfers in by kind of line (stacked) with
invalidations received. Over time (x = frame, the timeline's axis): the zero page's cache-line
transfers, stall and makespan per step, and memory used / RSS / page tables.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui

from zpviz.gui import onepass
from zpviz.gui.bars import Bars
from zpviz.gui.itemcache import VectorSafeCaches, cache_drawing
from zpviz.gui.playhead import Playhead
from zpviz.gui.theme import qcolor
from zpviz.present.palette import Theme
from zpviz.present.series import CpuBars, Series, decimate

LINE_LABELS = ("zero page", "huge zero", "struct page", "PTE", "lock", "mm ctr")
class GridAxis(pg.AxisItem):
    """An axis whose grid lines are filled spans instead of stroked lines: the same pixels, ~20x faster.

    A bar plot's grid is some 55 translucent one-pixel lines across the plot, and Qt's raster
    engine blends a translucent cosmetic line pixel by pixel: replaying them took 3-14 ms per axis
    whenever its range changed (at every seek of a scrub: counts and memory grow). A horizontal or
    vertical line of a cosmetic one-pixel solid pen, without antialiasing (as pyqtgraph draws
    ticks), covers exactly the pixels from floor(start) to floor(end) on row (or column) floor(y)
    in device coordinates, so it is filled as that rectangle, which the engine blends as one span.
    Everything else (the axis line, other ticks, the labels) is drawn as pyqtgraph draws it, in the
    same order. A painter that is not raster or whose transform does more than translate gets
    pyqtgraph's own picture."""

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self._parts: tuple | None = None  # (axis-line picture, tick lines, labels picture)
        self._valid: QtGui.QPicture | None = None  # what self.picture holds while _parts is current

    LABEL_GAP = 1.1  # from one y label to the next: its height and a tenth more
    integer = False  # the axis counts things: no step below 1

    def tickSpacing(self, minVal, maxVal, size):  # noqa: N802 (pyqtgraph's name)
        """On a y axis, one level of ticks, no more of them than their labels fit one above another
        (a nice step: 1, 2 or 5 times a power of ten). The plots of a 720p dock are 30-40 px tall, and
        pyqtgraph's two levels put "0.4" and "0.6" on top of each other there (lesson 2)."""
        if maxVal <= minVal:
            return pg.AxisItem.tickSpacing(self, minVal, maxVal, size)  # (not super(): tests borrow this)
        if self.orientation not in ("left", "right"):
            return _x_spacing(self, minVal, maxVal, size)
        font = self.style["tickFont"] or QtGui.QFont()
        label_px = QtGui.QFontMetrics(font).height() * self.LABEL_GAP
        fit = max(1.0, size / label_px)  # intervals that keep labels apart
        span = maxVal - minVal
        half = span * label_px / self.LABEL_GAP / 2 / max(size, 1.0)  # half a label, in the axis's units
        room = span - half  # a label's half below the top (pyqtgraph hides one that crosses an end)
        if room <= half or (self.integer and room < 1):
            return [(span * 10, 0)]  # no label fits inside the plot (or no whole count does): none
        lo = 1.0 if self.integer else 0.0
        mag = 10.0 ** math.floor(math.log10(room))
        nice = [k * mag * 10.0 ** e for e in range(-3, 1) for k in (1, 2, 5)
                if max(lo, half) <= k * mag * 10.0 ** e <= room]
        if not nice:
            return [(span * 10, 0)]
        # the finest step that keeps the labels apart, else one label alone: the largest 1, 2, 3, 4 or 5
        # times a power of ten inside the plot (0..600 in 38 px: "200" and "400" overlapped; now "400")
        step = next((x for x in nice if span / x <= fit), None)
        if step is None:
            step = max(k * mag * 10.0 ** e for e in range(-3, 1) for k in (1, 2, 3, 4, 5)
                       if max(lo, half) <= k * mag * 10.0 ** e <= room)
        return [(step, 0)]

    def tickStrings(self, values, scale, spacing):  # noqa: N802 (pyqtgraph's name)
        """Thousands as "2k", millions as "3M" on a y axis: its labels get some 30 px, and pyqtgraph
        drops a label wider than its axis, so lesson 5's zero-page transfers ("2000") had none."""
        strings = pg.AxisItem.tickStrings(self, values, scale, spacing)
        if self.orientation not in ("left", "right"):
            return strings
        return [short_count(v * scale) if abs(v * scale) >= 1000 else s for v, s in zip(values, strings)]

    def paint(self, p: QtGui.QPainter, opt=None, widget=None) -> None:
        engine = p.paintEngine()
        t = p.transform()
        if (engine is None or engine.type() != QtGui.QPaintEngine.Type.Raster
                or t.type().value > QtGui.QTransform.TransformationType.TxTranslate.value):
            if self.picture is not None and self.picture is self._valid:
                self.picture = None  # pyqtgraph's picture (a vector device gets lines, not spans)
            super().paint(p, opt, widget)
            return
        if self.picture is None or self.picture is not self._valid:  # pyqtgraph invalidates by picture = None
            self._parts = self._build()
            self.picture = self._valid = QtGui.QPicture()
        line, ticks, labels = self._parts
        line.play(p)
        p.save()
        p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, False)
        dx, dy = t.dx(), t.dy()
        for pen, a, b in ticks:
            if _span_line(pen, a, b):
                x0, x1 = sorted((math.floor(a.x() + dx), math.floor(b.x() + dx)))
                y0, y1 = sorted((math.floor(a.y() + dy), math.floor(b.y() + dy)))
                p.resetTransform()
                p.fillRect(QtCore.QRect(x0, y0, x1 - x0 + 1, y1 - y0 + 1), pen.color())
                p.setTransform(t)
            else:
                p.setPen(pen)
                p.drawLine(a, b)
        p.restore()
        labels.play(p)

    def _build(self) -> tuple:
        """AxisItem.paint's picture in three parts, as its drawPicture draws it."""
        line, labels = QtGui.QPicture(), QtGui.QPicture()
        q = QtGui.QPainter(labels)
        try:
            if self.style["tickFont"]:
                q.setFont(self.style["tickFont"])
            specs = self.generateDrawSpecs(q)
            if specs is None:
                return line, [], labels
            (pen, p1, p2), ticks, texts = specs
            q.setRenderHint(QtGui.QPainter.RenderHint.TextAntialiasing, True)
            q.setPen(self.textPen())
            q.setClipRect(self.boundingRect().toAlignedRect())
            for rect, flags, text in texts:
                q.drawText(rect, int(flags), text)
        finally:
            q.end()
        q = QtGui.QPainter(line)
        q.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, False)
        q.setPen(pen)
        q.drawLine(p1, p2)
        q.end()
        return line, [(QtGui.QPen(pen), QtCore.QPointF(a), QtCore.QPointF(b)) for pen, a, b in ticks], labels


def short_count(v: float) -> str:
    """1000 -> "1k", 1500 -> "1.5k", 20000 -> "20k", 3e6 -> "3M": at most three figures and a letter."""
    for div, letter in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(v) >= div:
            return f"{round(v / div, 2 if abs(v) < 10 * div else 1 if abs(v) < 100 * div else 0):g}{letter}"
    return f"{v:g}"


# The widest label a y axis can show: short_count gives at most three figures, a point and a letter
# ("12.5k", "1.25k"); below 1000 pyqtgraph's own strings are narrower ("0.05", "250").
Y_LABEL_WIDEST = "00.0k"


def y_axis_px(axis: pg.AxisItem) -> int:
    """A y axis's width for its widest possible label, whatever the values shown now. pyqtgraph
    widens an axis to the labels it has drawn so far, while it paints (too late for that picture:
    the layout follows at the next pass) and never back by less than 10 px, so a chart's place in
    the dock depended on the frames shown before: a window stepped to a frame and a screenshot made
    at it placed the charts a few pixels apart, and a shown window's charts moved as counts grew."""
    font = axis.style["tickFont"] or QtGui.QFont()
    text = math.ceil(QtGui.QFontMetricsF(font).horizontalAdvance(Y_LABEL_WIDEST))
    return text + 1 + int(axis.style["tickTextOffset"][0]) + max(0, int(axis.style["tickLength"]))


def _x_spacing(axis: pg.AxisItem, lo: float, hi: float, size: float) -> list:
    """On an x axis, one level of ticks whose labels stand apart: a 1-2-5 step at least as wide as
    the widest label and a space. In a third of a 720p dock pyqtgraph's frame numbers ran
    together ("200400600800")."""
    font = axis.style["tickFont"] or QtGui.QFont()
    fm = QtGui.QFontMetrics(font)
    widest = fm.horizontalAdvance(f"{max(abs(lo), abs(hi)):.0f}") + fm.horizontalAdvance("  ")
    least = (hi - lo) * widest / max(size, 1.0)  # in the axis's units
    levels = pg.AxisItem.tickSpacing(axis, lo, hi, size)
    fine = [lv for lv in levels if lv[0] >= least]
    if fine:
        return [fine[-1]]  # the finest level that stands apart
    mag = 10.0 ** math.floor(math.log10(least))
    return [(next(k * mag for k in (1, 2, 5, 10) if k * mag >= least), 0)]


def _span_line(pen: QtGui.QPen, a: QtCore.QPointF, b: QtCore.QPointF) -> bool:
    """A line drawn exactly as a one-pixel-wide rectangle: horizontal or vertical, at least 2 px long,
    of a cosmetic solid pen one pixel wide (or zero: Qt's cosmetic default)."""
    if pen.style() != QtCore.Qt.PenStyle.SolidLine or pen.brush().style() != QtCore.Qt.BrushStyle.SolidPattern:
        return False
    if not (pen.isCosmetic() and pen.widthF() <= 1.0):
        return False
    return (a.y() == b.y() and abs(a.x() - b.x()) >= 2) or (a.x() == b.x() and abs(a.y() - b.y()) >= 2)


NICE_STEPS = (1, 1.5, 2, 3, 4, 5, 6, 8, 10)


def nice_top(x: float) -> float:
    """The bar charts' y range: the next 1, 1.5, 2, 3, 4, 5, 6 or 8 times a power of ten at or above
    x. A range that moves only in such steps leaves the axis (ticks and labels, a cached drawing)
    as it is for many frames, where one that followed the tallest bar was laid out again and
    moved under the lecturer's eyes at every frame; the tallest bar still fills 2/3 of it or more."""
    if x <= 1:
        return 1.0
    mag = 10.0 ** math.floor(math.log10(x))
    return next(s * mag for s in NICE_STEPS if s * mag >= x * (1 - 1e-12))


def _set_bars(item: pg.BarGraphItem, **opts: np.ndarray) -> None:
    """setOpts only when a value differs from the item's: a step changes a few of the 11 bar items,
    and each setOpts prepares the bars' data and drawing again (~0.1 ms an item)."""
    if all(np.array_equal(item.opts.get(k), v) for k, v in opts.items()):
        return
    item.setOpts(**opts)


def _bar_plot(title: str) -> pg.PlotItem:
    p = pg.PlotItem(title=title, axisItems={"left": GridAxis("left"), "bottom": GridAxis("bottom")})
    label = p.titleLabel

    def update_min() -> None:  # LabelItem pins its minimum width to its text: long titles widened the dock
        label.setMinimumWidth(10)
        label.setMinimumHeight(label.itemRect().height())

    label.updateMin = update_min
    # over the y axis too, not the plot alone: in a third of a 720p dock "makespan □ stall" was cut
    p.layout.removeItem(label)
    p.layout.addItem(label, 0, 0, 1, 3)
    p.setMenuEnabled(False)
    p.hideButtons()
    p.getViewBox().setMouseEnabled(False, False)
    p.showGrid(y=True, alpha=0.25)
    for name in ("left", "bottom"):
        p.getAxis(name).enableAutoSIPrefix(False)  # the hidden axis label would carry the x1e5 scale
        cache_drawing(p.getAxis(name))  # redrawn when its range changes (the bar plots' y as counts grow)
    cache_drawing(label.item)
    return p


MIN_PLOT_PX = 36  # a plot's least height: one y label inside it and the bars still read
ROW_CHROME_PX = 52  # a row's two-line title and x axis at 9 pt

HEAD_CHUNK = 256  # points: the cached head of a line grows in steps of this many


class GrowingLine:
    """A time series drawn up to the playhead, as two curves: a cached head, whose points grow in
    steps of HEAD_CHUNK, and a short tail from the head's last point to the playhead, the only part
    stroked again at a frame. A step moved the end of every line, and re-stroking the whole wide
    line (up to 4,000 points) each frame cost ~2 ms. The pictures are the same: pyqtgraph draws a
    wide opaque line without antialiasing as separate segments (its segmented-line mode), so
    splitting the segments over two curves draws the same pixels. getData() is what is shown."""

    def __init__(self, plot: pg.PlotItem, x: np.ndarray, y: np.ndarray, colour: str):
        self.x, self.y = x, y
        pen = pg.mkPen(qcolor(colour), width=2.5)
        self.head = pg.PlotDataItem(x[:0], y[:0], pen=pen)
        self.tail = pg.PlotDataItem(x[:0], y[:0], pen=pen)
        cache_drawing(self.head.curve)  # redrawn when the head grows, the view's range changes or its size
        plot.addItem(self.head)
        plot.addItem(self.tail)
        self._n = 0
        self._split = 0

    def show_upto(self, n: int) -> None:
        """Draw the first n points."""
        if n == self._n:
            return
        self._n = n
        split = (n - 1) // HEAD_CHUNK * HEAD_CHUNK if n > HEAD_CHUNK else 0  # the point both share
        if split != self._split:
            self._split = split
            self.head.setData(self.x[:split + 1] if split else self.x[:0], self.y[:split + 1] if split else self.y[:0])
        self.tail.setData(self.x[split:n], self.y[split:n])

    def getData(self) -> tuple[np.ndarray, np.ndarray]:  # noqa: N802 (as pyqtgraph's)
        return self.x[:self._n], self.y[:self._n]


class PrefixMax:
    """max(a[:n], initial=0) in a few microseconds: a running maximum per block of BLOCK values,
    made once per series, and a look at the last part block. The y axes fit what is shown at each
    frame, and the maximum of up to a million frames of four series took ~3 ms a seek of a scrub."""

    BLOCK = 1024

    def __init__(self, a: np.ndarray):
        self.a = a
        nb = len(a) // self.BLOCK
        self.blocks = np.maximum.accumulate(a[:nb * self.BLOCK].reshape(nb, self.BLOCK).max(axis=1)) if nb else a[:0]

    def upto(self, n: int):
        """The largest of the first n values, 0 if larger (or none)."""
        n = min(max(n, 0), len(self.a))
        full = n // self.BLOCK
        top = self.a[full * self.BLOCK:n].max(initial=0)
        return max(top, self.blocks[full - 1]) if full else top


def _line(plot: pg.PlotItem, y: np.ndarray, colour: str) -> GrowingLine:
    """A line that stays fast at 400,000 frames: decimated once (min/max per bucket) in present."""
    x, yy = decimate(y)
    return GrowingLine(plot, x, yy, colour)


class CountersView(VectorSafeCaches, pg.GraphicsLayoutWidget):
    def __init__(self, theme: Theme, parent=None):
        super().__init__(parent=parent)
        self.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
        self.theme = theme
        self.ci.setSpacing(4)
        self.ci.setContentsMargins(2, 2, 2, 2)
        self.access = _bar_plot("")
        self.lines = _bar_plot("")
        self.zp = _bar_plot("")
        self.steps = _bar_plot("")
        self.mem = _bar_plot("")
        for p in (self.access, self.lines, self.zp):  # counts: a "0.5" line transfers is no count
            p.getAxis("left").integer = True
        for p in (self.access, self.lines):  # the CPUs' names thin out as the plot narrows
            p.getViewBox().sigResized.connect(lambda _vb, p=p: self._cpu_ticks(p))
        self._rows = 0
        self._place(3)
        # never a sliver: the dock keeps room for two rows of plots MIN_PLOT_PX tall
        self.setMinimumHeight(self.height_for_rows(2))
        self.cursors = []
        for p in (self.zp, self.steps, self.mem):
            c = Playhead(angle=90, movable=False)
            p.addItem(c, ignoreBounds=True)
            self.cursors.append(c)
        self._series: Series | None = None
        self._frame = 0
        self._curves: list = []
        self._step_bars: list = []
        self._bars_shown: list | None = None
        self._shown_upto: int | None = None
        self._bars: CpuBars | None = None
        self._bars_drawn: tuple | None = None  # (theme, the values) the bar items show now
        onepass.register(self)  # its scene's changes join the window's one repaint
        self.set_theme(theme)

    @staticmethod
    def height_for_rows(rows: int) -> int:
        """The view's least height for `rows` rows of plots, each MIN_PLOT_PX tall."""
        return rows * (ROW_CHROME_PX + MIN_PLOT_PX) + (rows - 1) * 4 + 4

    def _place(self, rows: int) -> None:
        """The plots in three rows (cache | lines, zero page | per step, memory), or where that
        leaves them less than MIN_PLOT_PX (lesson 2's counters under its program at 1280x720: 9 px)
        in two: cache | zero page | per step, lines | memory."""
        if rows == self._rows:
            return
        self._rows = rows
        plots = (self.access, self.lines, self.zp, self.steps, self.mem)  # in the order of `places`
        for p in plots:
            if p in self.ci.items:
                self.ci.removeItem(p)
        # six columns: halves and thirds of the width
        if rows >= 3:
            places = ((0, 0, 3), (0, 3, 3), (1, 0, 3), (1, 3, 3), (2, 0, 6))
        else:
            # the plots with the longest keys (kinds of line, memory's three) get the halves
            places = ((0, 0, 2), (1, 0, 3), (0, 2, 2), (0, 4, 2), (1, 3, 3))
        for p, (r, c, span) in zip(plots, places):
            self.addItem(p, row=r, col=c, colspan=span)
        for c in range(6):  # in two rows the cache plot, with the shortest keys, is the narrowest
            self.ci.layout.setColumnStretchFactor(c, 1 if rows >= 3 else 5 if c < 2 else 6)
        if hasattr(self, "_bars"):  # (made after the first placing)
            self._titles()  # the memory plot's keys go under its name in a third of the width

    def resizeEvent(self, ev) -> None:  # noqa: N802 (Qt's name)
        if getattr(self, "_rows", 0):  # (pyqtgraph calls this, with None, before __init__ has made the plots)
            self._place(3 if self.height() >= self.height_for_rows(3) else 2)
        super().resizeEvent(ev)

    def paintEvent(self, ev) -> None:  # noqa: N802 (Qt's name)
        """The frame and bars waiting to be drawn first; VectorSafeCaches keeps an SVG's axes and
        lines vectors."""
        self._flush_frame()
        self._flush_bars()
        super().paintEvent(ev)

    def render(self, p: QtGui.QPainter, *args, **kw) -> None:
        self._flush_frame()
        self._flush_bars()
        super().render(p, *args, **kw)

    # ------------------------------------------------------------------ look
    def set_theme(self, theme: Theme) -> None:
        self.theme = theme
        self.setBackground(qcolor(theme.bg))
        small = QtGui.QFont()
        small.setPointSize(9)
        for p in (self.access, self.lines, self.zp, self.steps, self.mem):
            p.getViewBox().setBackgroundColor(qcolor(theme.panel))
            for name in ("left", "bottom"):
                ax = p.getAxis(name)
                ax.setPen(pg.mkPen(qcolor(theme.grid)))
                ax.setTextPen(pg.mkPen(qcolor(theme.muted)))
                ax.setStyle(tickFont=small)
            p.getAxis("left").setWidth(y_axis_px(p.getAxis("left")))  # one width at every frame (y_axis_px)
        for c in self.cursors:  # a playhead, not a data spike: dashed, muted, with a marker at the top
            c.setPen(pg.mkPen(qcolor(theme.muted), width=1.5, style=QtCore.Qt.PenStyle.DashLine))
            c.clearMarkers()
            c.addMarker("v", position=1.0, size=12)
        self._titles()
        if self._series is not None:
            self.set_series(self._series)
        if self._bars is not None:
            self._bars_drawn = None
            self._flush_bars()
        else:
            self._titles()

    # ------------------------------------------------------------------ data
    def set_series(self, s: Series) -> None:
        """The whole run's time series (once per lesson). Only what lies at or before the playhead is
        drawn (set_frame clips it): in predict mode the next step's spike must not show early."""
        self._series = s
        th = self.theme
        for p in (self.zp, self.mem, self.steps):
            p.clear()
        for p, c in zip((self.zp, self.steps, self.mem), self.cursors):
            p.addItem(c, ignoreBounds=True)
        mib = 4.0 / 1024.0
        lines = [_line(self.zp, s.zp_transfers, th.series[0])]
        for i, arr in enumerate((s.frames_used, s.rss_pages, s.pt_frames)):  # keys in the title
            lines.append(_line(self.mem, arr * mib, th.series[i]))
        self._curves = [(line, (line.x, line.y)) for line in lines]
        self._step_bars = []
        self._bars_shown = None  # which step bars _flush_frame last showed
        w = max(1.0, s.n_frames / max(len(s.step_end), 1) * 0.35) if len(s.step_end) else 0.0
        if len(s.step_end):
            bars = [(Bars(x=s.step_end - w / 2, height=s.makespan_ns / 1e3, width=w,
                                     brush=qcolor(th.series[0]), pen=pg.mkPen(None)), s.step_end, s.makespan_ns / 1e3)]
            if len(s.stall_x):
                bars.append((Bars(x=s.stall_x + w / 2, height=s.stall_ns / 1e3, width=w,
                                             brush=pg.mkBrush(None), pen=pg.mkPen(qcolor(th.series[1]), width=2)),
                             s.stall_x, s.stall_ns / 1e3))
            for b, _, _ in bars:
                self.steps.addItem(b)
            self._step_bars = bars
        for p in (self.zp, self.steps, self.mem):
            p.setXRange(0, max(1, s.n_frames - 1) + (w if p is self.steps else 0), padding=0.02)
        self._shown_upto = None
        self._tops: tuple | None = None
        self._prefix_max = (PrefixMax(s.zp_transfers),
                            PrefixMax(np.maximum(np.maximum(s.frames_used, s.rss_pages), s.pt_frames)))
        self.set_frame(self._frame)

    def set_frame(self, frame: int) -> None:
        """Move the playhead and draw the series up to it, never past it: the lines end there, the
        per-step bars of steps not yet finished are empty, and each y axis fits what is shown.
        Off screen (a tab behind Compare) this waits, as the bars do, until painted or shown."""
        self._frame = frame
        if self._on_screen():
            self._flush_frame()

    def _flush_frame(self) -> None:
        frame = self._frame
        for c in self.cursors:
            c.setValue(frame)
        s = self._series
        if s is None or frame == self._shown_upto:
            return
        self._shown_upto = frame
        mib = 4.0 / 1024.0
        for item, (x, _y) in self._curves:
            item.show_upto(int(np.searchsorted(x, frame, side="right")))
        shown = [at <= frame for _item, at, _height in self._step_bars]
        before_all = self._bars_shown or [None] * len(shown)
        for (item, _at, height), now, before in zip(self._step_bars, shown, before_all, strict=True):
            # the steps ended by this frame: bars set only when that changes (a step's end, a seek back),
            # not at every frame, where setOpts made the item's picture and its bounds anew for nothing
            if before is None or not np.array_equal(now, before):
                item.setOpts(height=np.where(now, height, 0.0))
        self._bars_shown = shown
        done = s.step_end <= frame
        zp_top, mem_top = self._prefix_max
        tops = (float(zp_top.upto(frame + 1)),
                max(float(s.makespan_ns[done].max(initial=0)),
                    float(s.stall_ns[s.stall_x <= frame].max(initial=0)) if len(s.stall_x) else 0.0) / 1e3,
                float(mem_top.upto(frame + 1)) * mib)
        if tops != self._tops:
            before = self._tops or (None, None, None)
            self._tops = tops
            for p, top, was in zip((self.zp, self.steps, self.mem), tops, before):
                if top != was:  # only the plots whose top moved (a scrub's seek moves one or two)
                    p.setYRange(0, max(top, 1.0) * 1.08, padding=0)  # counts start at 0; an all-zero series too
            self._transforms_now()

    def _titles(self, bars: CpuBars | None = None) -> None:
        """Titles double as legends (coloured keys), so no legend box hides a bar."""
        th = self.theme

        def key(colour: str, text: str, hollow: bool = False) -> str:
            box = "\u25a1" if hollow else "\u25a0"
            return f"<span style='color:{colour}'>{box}</span>&nbsp;{text}"

        bars = bars or self._bars
        kinds = [j for j in range(len(LINE_LABELS)) if bars is not None and bars.by_line[:, j].any()]
        titles = {
            self.access: "Cache per CPU<br>" + "  ".join((key(th.series[2], "hits"), key(th.series[1], "misses"))),
            self.lines: "Line transfers in<br>" + " ".join([key(th.line_kinds[j], LINE_LABELS[j]) for j in kinds]
                                                          + [key(th.fg, "inval.", True)]),
            self.zp: "Zero-page line transfers<br>" + key(th.series[0], "total, all CPUs"),
            self.steps: "Per step (\u00b5s)<br>" + "  ".join((key(th.series[0], "makespan"),
                                                             key(th.series[1], "stall", True))),
            self.mem: ("Memory (MiB): " if self._rows >= 3 else "Memory (MiB)<br>")
            + "  ".join(key(th.series[i], n) for i, n in enumerate(("used", "RSS", "page tables"))),
        }
        for p, text in titles.items():
            p.setTitle(text, size="9pt", color=th.fg)

    def _bar_items(self, n: int) -> None:
        """Create the bar items once per CPU count and theme; frames only update their heights."""
        th = self.theme
        key = (n, th.name)
        if getattr(self, "_bar_key", None) == key:
            return
        self._bar_key = key
        self.access.clear()
        self.lines.clear()
        x = np.arange(n, dtype=np.float64)
        z = np.zeros(n)
        self.hit_bars = Bars(x=x - 0.2, height=z, width=0.38, brush=qcolor(th.series[2]), pen=pg.mkPen(None))
        self.miss_bars = Bars(x=x + 0.2, height=z, width=0.38, brush=qcolor(th.series[1]),
                                         pen=pg.mkPen(None))
        self.access.addItem(self.hit_bars)
        self.access.addItem(self.miss_bars)
        self.line_bars = []
        for j in range(len(LINE_LABELS)):
            item = Bars(x=x - 0.15, y0=z, height=z, width=0.55, brush=qcolor(th.line_kinds[j]),
                                   pen=pg.mkPen(None))
            self.lines.addItem(item)
            self.line_bars.append(item)
        self.inv_bars = Bars(x=x + 0.3, height=z, width=0.25, brush=pg.mkBrush(None),
                                        pen=pg.mkPen(qcolor(th.fg), width=1.5))
        self.lines.addItem(self.inv_bars)
        self._ncpus = n
        for p in (self.access, self.lines):
            p.setXRange(-0.6, n - 0.4, padding=0)
            self._cpu_ticks(p)
        self._kinds = None

    def _cpu_ticks(self, p: pg.PlotItem) -> None:
        """Name every CPU under its bars where the names fit side by side, else every 2nd, 4th...:
        lesson 5's 16 CPUs in a 720p dock ran together as "91011121314"."""
        n = getattr(self, "_ncpus", 0)
        if not n:
            return
        ax = p.getAxis("bottom")
        fm = QtGui.QFontMetrics(ax.style["tickFont"] or QtGui.QFont())
        room = max(p.getViewBox().width(), 1.0) / n  # px per CPU
        names = [f"CPU{i}" for i in range(n)]
        if n > 4 or fm.horizontalAdvance(f"CPU{n - 1}  ") > room:  # numbers alone where the names would thin out
            names = [str(i) for i in range(n)]
        widest = max(fm.horizontalAdvance(x) for x in names) + fm.horizontalAdvance("  ")
        step = 1
        while step < n and step * room < widest:
            step *= 2
        ticks = [[(i, names[i]) for i in range(0, n, step)]]
        if ticks != getattr(ax, "_cpu_ticks", None):
            ax._cpu_ticks = ticks
            ax.setTicks(ticks)

    def set_bars(self, b: CpuBars) -> None:
        """The per-CPU bars of a frame. Drawn now only if they can be seen and differ from what is
        drawn: behind the Compare tab (the tour) they wait until shown or painted, and stepping
        through events that leave the counters as they were costs nothing."""
        self._bars = b
        if self._on_screen():
            self._flush_bars()

    def _on_screen(self) -> bool:
        """Could a paint of the window show this view? Shown or not (a screenshot's window never is):
        hidden inside it, or in a dock tabbed away (Qt does not hide those: it moves them outside
        the window, where nothing paints them)?"""
        win = self.window()
        if win is self:
            return True
        if not self.isVisibleTo(win):
            return False
        return win.rect().intersects(QtCore.QRect(self.mapTo(win, QtCore.QPoint(0, 0)), self.size()))

    def showEvent(self, ev) -> None:  # noqa: N802 (Qt's name)
        self._flush_frame()
        self._flush_bars()
        super().showEvent(ev)

    def _flush_bars(self) -> None:
        b = self._bars
        if b is None:
            return
        key = (self.theme.name, b.hits.tobytes(), b.misses.tobytes(), b.by_line.tobytes(), b.inv_recv.tobytes())
        if key == self._bars_drawn:
            return
        self._bars_drawn = key
        self._draw_bars(b)

    def _draw_bars(self, b: CpuBars) -> None:
        n = b.ncpus
        self._bar_items(n)
        _set_bars(self.hit_bars, height=b.hits.astype(np.float64))
        _set_bars(self.miss_bars, height=b.misses.astype(np.float64))
        bottom = np.zeros(n)
        for j, item in enumerate(self.line_bars):
            h = b.by_line[:, j].astype(np.float64)
            _set_bars(item, y0=bottom.copy(), height=h)
            bottom += h
        inv = b.inv_recv.astype(np.float64)
        _set_bars(self.inv_bars, height=inv)
        kinds = tuple(bool(b.by_line[:, j].any()) for j in range(len(LINE_LABELS)))
        if kinds != self._kinds:  # titles carry the colour keys of the kinds present
            self._kinds = kinds
            self._titles(b)
        top_access = max(1.0, float(max(b.hits.max(initial=0), b.misses.max(initial=0))))
        top_lines = max(1.0, float(bottom.max(initial=0)), float(inv.max(initial=0)))
        tops = (nice_top(top_access * 1.15), nice_top(top_lines * 1.15))
        if tops != getattr(self, "_bar_tops", None):  # (nice tops: they seldom move, and each set lays out again)
            self._bar_tops = tops
            self.access.setYRange(0, tops[0], padding=0)
            self.lines.setYRange(0, tops[1], padding=0)
            self._transforms_now()

    def _transforms_now(self) -> None:
        """The view boxes' new transforms for the ranges just set, now rather than when the view paints.
        pyqtgraph applies a new range to a ViewBox's child transform at the start of the next paint
        (GraphicsView.paintEvent: scene.prepareForPaint); the scene takes that change as its items
        moving during the paint and, once it is over, asks for the plots to be painted again: a shown
        window painted the plots whose range moved twice a frame (a scrub: a second pass over the
        lower half of the view at nearly every seek). Applied here, before the window's repaint, the
        change is part of that one repaint. The paint still asks again (nothing left to do then)."""
        self.scene().prepareForPaint()
