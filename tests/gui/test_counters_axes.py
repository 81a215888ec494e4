"""The per-CPU counters' y axes on a 720p projector: labels one above another, never on each other."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6 import QtGui

LESSONS = Path(__file__).parents[2] / "scenarios"


def _labelled_ticks(plot) -> tuple[list[float], float, float, float]:
    """The y ticks whose labels show: pyqtgraph hides a label that would cross an end of its axis."""
    ax = plot.getAxis("left")
    lo, hi = plot.getViewBox().viewRange()[1]
    size = ax.geometry().height()
    half = QtGui.QFontMetrics(ax.style["tickFont"]).height() / 2 / size * (hi - lo)
    values = sorted({v for _, vs in ax.tickValues(lo, hi, size) for v in vs if lo + half <= v <= hi - half})
    return values, lo, hi, size


@pytest.mark.parametrize("lesson,kernel,step", [("02-sparse-table.toml", "v5", 1),
                                                ("05-cacheline-bounce.toml", "2.6.23", 1)])
def test_counters_y_labels_never_overlap_at_720p(make_window, lesson, kernel, step):
    """Lesson 2 at 1280x720: the counters' plots are 30-60 px tall and pyqtgraph's two tick levels put
    "0.4" over "0.6" on the zero-page and memory plots. Every labelled tick is now at least a label's
    height from the next, and the counts (cache, line transfers) have whole steps. Lesson 5's 16 CPUs
    ran their names together under the bars ("91011121314"): they thin out to fit."""
    win = make_window(path=LESSONS / lesson, kernel=kernel, size=(1280, 720))
    win.set_step(step)
    win.docks["counters"].show()
    win.docks["counters"].raise_()
    win.render_image((1280, 720))
    c = win.counters
    for plot in (c.access, c.lines, c.zp, c.steps, c.mem):
        values, lo, hi, size = _labelled_ticks(plot)
        label_px = QtGui.QFontMetrics(plot.getAxis("left").style["tickFont"]).height()
        gaps = [(b - a) / (hi - lo) * size for a, b in zip(values, values[1:])]
        assert all(g >= label_px for g in gaps), (values, size)
        if plot in (c.access, c.lines, c.zp):
            assert all(float(v).is_integer() for v in values), values
    for plot in (c.access, c.lines):  # the CPUs' names under the bars: side by side, apart
        ax = plot.getAxis("bottom")
        (ticks,) = ax._tickLevels
        fm = QtGui.QFontMetrics(ax.style["tickFont"])
        px_per_cpu = plot.getViewBox().width() / c._ncpus
        for (a, name), (b, _) in zip(ticks, ticks[1:]):
            assert (b - a) * px_per_cpu >= fm.horizontalAdvance(name) + 4, (name, ticks)
        assert ticks[0] == (0, "CPU0" if c._ncpus <= 4 and px_per_cpu >= fm.horizontalAdvance("CPU0  ") else "0")
        if c._ncpus <= 4:  # a few CPUs: every one named (by its number where "CPU3" does not fit)
            assert len(ticks) == c._ncpus

def test_a_short_y_axis_keeps_one_label_inside_it(qtbot):
    """30 px of 0..1.08 MiB (lesson 2's memory plot in a 720p dock): one label, "0.5", inside the plot;
    a 9 px plot has room for none; a count never gets a fraction."""
    from zpviz.gui.counters import GridAxis

    ax = GridAxis("left")
    ax.setStyle(tickFont=QtGui.QFont("DejaVu Sans", 9))
    assert ax.tickSpacing(0, 1.08, 30) == [(0.5, 0)]
    assert ax.tickSpacing(0, 1.08, 9)[0][0] > 1.08
    ax.integer = True
    assert ax.tickSpacing(0, 1.08, 30)[0][0] > 1.08
    assert ax.tickSpacing(0, 4400, 60) == [(2000, 0)]
