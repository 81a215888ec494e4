"""Per-CPU counters as bars and the run's counters over time, with pyqtgraph.

Bars: per CPU, cache hits and misses, and cache-line transfers in by kind of line (stacked) with
invalidations received. Over time (x = frame, the timeline's axis): the zero page's cache-line
transfers, stall and makespan per step, and memory used / RSS / page tables.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui

from zpviz.gui.theme import qcolor
from zpviz.present.palette import Theme
from zpviz.present.series import CpuBars, Series

LINE_LABELS = ("zero page", "huge zero", "struct page", "PTE", "lock", "mm counter")


def _bar_plot(title: str) -> pg.PlotItem:
    p = pg.PlotItem(title=title)
    p.setMenuEnabled(False)
    p.hideButtons()
    p.getViewBox().setMouseEnabled(False, False)
    p.showGrid(y=True, alpha=0.25)
    return p


def _line(plot: pg.PlotItem, x: np.ndarray, y: np.ndarray, colour: str) -> pg.PlotDataItem:
    """A line that stays fast at 400,000 points: clipped to the view and peak-downsampled.

    The options are set after adding: set at construction, pyqtgraph asks the enclosing
    GraphicsLayoutWidget (not a ViewBox) for its auto-range state while the item is parentless.
    """
    item = pg.PlotDataItem(x, y, pen=pg.mkPen(qcolor(colour), width=2.5))
    plot.addItem(item)
    item.setClipToView(True)
    item.setDownsampling(auto=True, method="peak")
    return item


class CountersView(pg.GraphicsLayoutWidget):
    def __init__(self, theme: Theme, parent=None):
        super().__init__(parent=parent)
        self.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
        self.theme = theme
        self.ci.setSpacing(4)
        self.ci.setContentsMargins(2, 2, 2, 2)
        self.access = _bar_plot("Cache hits / misses per CPU")
        self.lines = _bar_plot("Line transfers in, by line")
        self.zp = _bar_plot("Zero-page line transfers")
        self.steps = _bar_plot("Per step: makespan \u25a0  stall \u25a1 (\u00b5s)")
        self.mem = _bar_plot("Memory (MiB): used, RSS, page tables")
        self.addItem(self.access, row=0, col=0)
        self.addItem(self.lines, row=0, col=1)
        self.addItem(self.zp, row=1, col=0)
        self.addItem(self.steps, row=1, col=1)
        self.addItem(self.mem, row=2, col=0, colspan=2)
        self.line_legend = self.lines.addLegend(offset=(4, 4), labelTextSize="8pt", verSpacing=-6)
        self.mem_legend = self.mem.addLegend(offset=(4, 4), labelTextSize="8pt", verSpacing=-6, colCount=3)
        self.cursors = []
        for p in (self.zp, self.steps, self.mem):
            c = pg.InfiniteLine(angle=90, movable=False)
            p.addItem(c, ignoreBounds=True)
            self.cursors.append(c)
        self._series: Series | None = None
        self._bars: CpuBars | None = None
        self.set_theme(theme)

    # ------------------------------------------------------------------ look
    def set_theme(self, theme: Theme) -> None:
        self.theme = theme
        self.setBackground(qcolor(theme.bg))
        small = QtGui.QFont()
        small.setPointSize(9)
        for p in (self.access, self.lines, self.zp, self.steps, self.mem):
            p.getViewBox().setBackgroundColor(qcolor(theme.panel))
            p.titleLabel.setText(p.titleLabel.text, size="10pt", color=theme.fg, bold=True)
            for name in ("left", "bottom"):
                ax = p.getAxis(name)
                ax.setPen(pg.mkPen(qcolor(theme.grid)))
                ax.setTextPen(pg.mkPen(qcolor(theme.muted)))
                ax.setStyle(tickFont=small)
        for c in self.cursors:
            c.setPen(pg.mkPen(qcolor(theme.accent), width=2))
        for leg in (self.line_legend, self.mem_legend):
            leg.setLabelTextColor(qcolor(theme.fg))
        if self._series is not None:
            self.set_series(self._series)
        if self._bars is not None:
            self.set_bars(self._bars)

    # ------------------------------------------------------------------ data
    def set_series(self, s: Series) -> None:
        """The whole run's time series (once per lesson)."""
        self._series = s
        th = self.theme
        x = np.arange(s.n_frames, dtype=np.float64)
        for p in (self.zp, self.mem, self.steps):
            p.clear()
        self.mem_legend.clear()
        for p, c in zip((self.zp, self.steps, self.mem), self.cursors):
            p.addItem(c, ignoreBounds=True)
        _line(self.zp, x, s.zp_transfers.astype(np.float64), th.series[0])
        mib = 4.0 / 1024.0
        for i, (name, arr) in enumerate((("used", s.frames_used), ("RSS", s.rss_pages), ("page tables", s.pt_frames))):
            item = _line(self.mem, x, arr * mib, th.series[i])
            self.mem_legend.addItem(item, name)
        if len(s.step_end):
            w = max(1.0, s.n_frames / max(len(s.step_end), 1) * 0.35)
            self.steps.addItem(pg.BarGraphItem(x=s.step_end - w / 2, height=s.makespan_ns / 1e3, width=w,
                                               brush=qcolor(th.series[0]), pen=pg.mkPen(None)))
            if len(s.stall_x):
                self.steps.addItem(pg.BarGraphItem(x=s.stall_x + w / 2, height=s.stall_ns / 1e3, width=w,
                                                   brush=pg.mkBrush(None), pen=pg.mkPen(qcolor(th.series[1]), width=2)))
        for p in (self.zp, self.steps, self.mem):
            p.setXRange(0, max(1, s.n_frames - 1), padding=0.02)
            p.enableAutoRange(axis="y")

    def set_frame(self, frame: int) -> None:
        for c in self.cursors:
            c.setValue(frame)

    def set_bars(self, b: CpuBars) -> None:
        self._bars = b
        th = self.theme
        self.access.clear()
        self.lines.clear()
        self.line_legend.clear()
        n = b.ncpus
        x = np.arange(n, dtype=np.float64)
        self.access.addItem(pg.BarGraphItem(x=x - 0.2, height=b.hits, width=0.38, brush=qcolor(th.series[2]),
                                            pen=pg.mkPen(None), name="hits"))
        self.access.addItem(pg.BarGraphItem(x=x + 0.2, height=b.misses, width=0.38, brush=qcolor(th.series[1]),
                                            pen=pg.mkPen(None), name="misses"))
        bottom = np.zeros(n)
        for j, name in enumerate(LINE_LABELS):
            h = b.by_line[:, j].astype(np.float64)
            if not h.any():
                continue
            item = pg.BarGraphItem(x=x - 0.15, y0=bottom.copy(), height=h, width=0.55,
                                   brush=qcolor(th.line_kinds[j]), pen=pg.mkPen(None), name=name)
            self.lines.addItem(item)
            self.line_legend.addItem(item, name)
            bottom += h
        inv = pg.BarGraphItem(x=x + 0.3, height=b.inv_recv.astype(np.float64), width=0.25, brush=pg.mkBrush(None),
                              pen=pg.mkPen(qcolor(th.fg), width=1.5), name="invalidations in")
        self.lines.addItem(inv)
        self.line_legend.addItem(inv, "invalidations in")
        for p in (self.access, self.lines):
            p.setXRange(-0.6, n - 0.4, padding=0)
            top = max(1.0, float(np.max(bottom)) if p is self.lines else float(max(b.hits.max(initial=0),
                                                                                    b.misses.max(initial=0))))
            if p is self.lines:
                top = max(top, float(b.inv_recv.max(initial=0)))
            p.setYRange(0, top * 1.15, padding=0)
            ax = p.getAxis("bottom")
            step = max(1, n // 16)
            ax.setTicks([[(i, f"CPU{i}" if n <= 4 else str(i)) for i in range(0, n, step)]])
