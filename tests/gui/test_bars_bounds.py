"""gui/bars.Bars: pyqtgraph's bar item with its bounding rectangle kept while nothing it depends on changes."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore

from zpviz.gui.bars import Bars


def test_bars_keep_their_bounding_rect_only_while_bar_graph_items_would_be_the_same(qapp, monkeypatch):
    """Bars.boundingRect is BarGraphItem's after every change, worked out again after new heights,
    a wider pen, a zoom, a resize and a move of its plot, and not worked out again by repeated calls."""
    w = pg.GraphicsLayoutWidget()
    w.resize(400, 300)
    plot = w.addPlot()
    x = np.arange(16, dtype=np.float64)
    bars = Bars(x=x, height=np.zeros(16), width=0.4, brush="#D55E00", pen=pg.mkPen(None))
    plot.addItem(bars)
    plot.setYRange(0, 10, padding=0)
    w.grab()
    worked_out = []
    bar_rect = pg.BarGraphItem.boundingRect
    monkeypatch.setattr(pg.BarGraphItem, "boundingRect",
                        lambda self: (worked_out.append(self), bar_rect(self))[1])

    def check(label):
        n = len(worked_out)
        ours = bars.boundingRect()
        k = len(worked_out)
        assert ours == bar_rect(bars), label
        del worked_out[k:]  # (the reference's own call)
        return k > n

    check("first")
    n = len(worked_out)
    for _ in range(3):
        w.grab()
        assert not check("again")
    assert len(worked_out) == n  # paints and calls with nothing changed keep it
    for label, change in (("heights", lambda: bars.setOpts(height=np.arange(16) % 5 * 1.5)),
                          ("pen", lambda: bars.setOpts(pen=pg.mkPen("#151515", width=3))),
                          ("zoom", lambda: plot.setYRange(0, 40, padding=0)),
                          ("resize", lambda: w.resize(640, 200)),
                          ("pan", lambda: plot.setXRange(4, 12, padding=0))):
        n = len(worked_out)
        change()
        w.grab()
        check(label)  # equal to BarGraphItem's
        assert len(worked_out) > n, label  # worked out again
        assert not check(label + ", kept")
    w.close()
    QtCore.QCoreApplication.processEvents()
