"""Each view against bare models (no MainWindow): what it shows for a given input."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6 import QtCore

from zpviz.gui.caption import CaptionBar
from zpviz.gui.counters import CountersView
from zpviz.gui.kernelview import KernelPathView
from zpviz.gui.memview import MemoryView
from zpviz.gui.panels import Banner, InspectorView, LegendBar
from zpviz.gui.predictpanel import PredictPanel
from zpviz.gui.timeline import TimelineWidget
from zpviz.gui.transport import Transport
from zpviz.gui.transportbar import TransportBar
from zpviz.present import captions, kpath, physmem, series
from zpviz.present.inspect import page_info
from zpviz.present.palette import theme
from zpviz.present.picture import picture_at
from zpviz.present.predict import questions_for

LIGHT = theme("light")


@pytest.fixture
def memview(qtbot, small_lesson):
    v = MemoryView(LIGHT)
    qtbot.addWidget(v)
    v.resize(1000, 600)
    v.set_layouts(small_lesson.grid, small_lesson.phys[0])
    return v


def test_memory_view_draws_codes_tiles_and_fan_in_lines(memview, small_lesson):
    f = small_lesson.lead.step_end_frame(1)
    pic = picture_at(small_lesson, 0, f)
    memview.show_picture(pic)
    memview.grab()
    img = memview.space.image.image
    assert img.shape == (small_lesson.grid.height, small_lesson.grid.width) and img.dtype == np.uint8
    assert np.array_equal(img, pic.codes)
    assert memview.space.image.levels is not None and list(memview.space.image.levels) == [0, 255]
    assert memview.space.image.lut.shape == (256, 4)
    tiles = memview.phys._tiles
    assert tiles[0][0].name == "ZERO_PAGE" and "128 PTEs" in tiles[0][2].textItem.toPlainText()
    path = memview.lines.path()
    assert path.elementCount() > 0  # lines from the touched pages ...
    end = memview.phys.mapViewToScene(memview.phys.point_of(physmem.ZERO_PFN))
    last = path.elementAt(path.elementCount() - 1)
    assert abs(last.x - end.x()) < 1 and abs(last.y - end.y()) < 1  # ... converging on the ZERO_PAGE tile


def test_memory_view_selection_and_flash(memview, small_lesson):
    f = small_lesson.lead.step_results[4].first_event + 3
    pic = picture_at(small_lesson, 0, f, selected=(0, 2, 4))
    memview.show_picture(pic)
    memview.set_selection((0, 2, 4))
    assert memview.selected == (0, 2, 4) and not memview.space.selection.path().isEmpty()
    assert len(memview.space.ring.data) == 1


def test_memory_view_renders_262144_pages(qtbot):
    from zpviz.present.grid import grid_layout
    from zpviz.present.palette import page_lut

    class P:  # a bare layout: one process, one 262,144-page vma
        def __init__(self):
            from zpviz.engine.trace import Layout, ProcLayout, VmaLayout
            self.layout = Layout((ProcLayout(0, "main", (VmaLayout(0, "big", 0, 0, 262144, 1 << 20, "anon", False),),
                                             -1, None),), 262144)

    g = grid_layout(P().layout, 512)
    v = MemoryView(LIGHT, show_phys=False)
    qtbot.addWidget(v)
    v.resize(1000, 800)
    v.space.set_grid(g)
    codes = np.random.default_rng(0).integers(1, 7, (g.height, g.width)).astype(np.uint8)
    for _ in range(2):  # its speed is bench/run.py's render_grid_ms; here, that it draws at all
        v.space.set_codes(codes)
        v.grab()
    shown = v.space.image.image
    assert shown is not None and sorted(np.unique(shown).tolist()) == sorted(np.unique(codes).tolist())
    assert v.space.image.lut is not None and page_lut(LIGHT).shape == (256, 4)


def test_caption_bar(qtbot, small_lesson):
    c = CaptionBar()
    qtbot.addWidget(c)
    c.set_theme(LIGHT)
    tr = small_lesson.lead
    c.set_caption(captions.caption_at(tr, tr.step_end_frame(4)))
    assert c.text().startswith("mlock walks") and "checkpoint" in c.counter.text()
    assert c.say.font().pointSize() >= 24  # readable from the back of a hall


def test_kernel_path_view_highlights_bad_page_maps(qtbot, small_lesson):
    v = KernelPathView()
    qtbot.addWidget(v)
    v.set_theme(LIGHT)
    tr = small_lesson.lead
    logs = small_lesson.logs[0]
    e = logs.lines[0].event
    v.set_event(kpath.event_view(tr, e + 1, small_lesson.grid))
    v.set_log(logs.upto(e + 1), logs.count_upto(e + 1))
    assert "Bad page map" in v.log_text()
    assert LIGHT.alert.lower() in v.log.toHtml().lower()
    assert "why:" in v.path_text()
    v.set_event(None, "summary text")
    assert "summary text" in v.path_text()


def test_counters_view(qtbot, small_lesson):
    v = CountersView(LIGHT)
    qtbot.addWidget(v)
    v.resize(500, 500)
    tr = small_lesson.lead
    v.set_series(small_lesson.series)
    v.set_bars(series.cpu_bars(tr.frame(len(tr) - 1)))
    v.set_frame(100)
    assert all(c.value() == 100 for c in v.cursors)
    assert len(v.hit_bars.opts["height"]) == 4
    assert "PTE" in v.lines.titleLabel.text
    v.set_theme(theme("dark"))
    v.grab()


def test_timeline_widget_seeks_on_click(qtbot, small_lesson):
    t = TimelineWidget(LIGHT)
    qtbot.addWidget(t)
    t.resize(600, 46)
    t.set_marks(small_lesson.marks)
    t.grab()
    with qtbot.waitSignal(t.seekRequested) as got:
        qtbot.mouseClick(t, QtCore.Qt.MouseButton.LeftButton, pos=QtCore.QPoint(t.width() - 10, 20))
    assert got.args[0] == small_lesson.n_frames - 1
    assert t.frame_at_x(t.x_of(300)) in range(298, 303)


def test_transport_bar_emits_commands(qtbot):
    b = TransportBar(LIGHT)
    qtbot.addWidget(b)
    seen = []
    b.command.connect(seen.append)
    for name in ("first", "prev", "toggle", "next", "next_step", "last", "faster", "slower"):
        qtbot.mouseClick(b.buttons[name], QtCore.Qt.MouseButton.LeftButton)
    assert seen == ["first", "prev", "toggle", "next", "next_step", "last", "faster", "slower"]
    assert all(btn.focusPolicy() == QtCore.Qt.FocusPolicy.NoFocus for btn in b.buttons.values())
    b.set_speed(2.0)
    assert b.speed.text() == "2\u00d7"


def test_transport_against_a_bare_plan(qtbot, small_lesson):
    t = Transport()
    t.set_lesson(small_lesson.plan, small_lesson.stops)
    frames = []
    t.frameChanged.connect(frames.append)
    t.go("next_step")
    t.go("next")
    assert frames[-2:] == [small_lesson.stops.step_ends[0], small_lesson.stops.step_ends[0] + 1]
    t.set_predict_stops({small_lesson.stops.step_starts[3]})
    with qtbot.waitSignal(t.stopReached):
        t.go("next_step")
        t.go("next_step")
    assert t.frame == small_lesson.stops.step_starts[3]
    t._timer.stop()
    t._clock.stop()


def test_legend_banner_inspector_predict_panel(qtbot, small_lesson):
    leg = LegendBar()
    qtbot.addWidget(leg)
    leg.set_theme(LIGHT)
    assert "zero page" in leg.texts() and "Bad page map" in leg.texts()
    ban = Banner()
    qtbot.addWidget(ban)
    ban.show_message("Broken", ["a.toml:3: [step 1] bad"])
    assert "a.toml:3" in ban.text() and ban.isVisibleTo(None) is not None
    ins = InspectorView()
    qtbot.addWidget(ins)
    tr = small_lesson.lead
    info = page_info(tr.frame(tr.step_end_frame(1)), small_lesson.grid, 0)
    ins.set_info(info, sharers=128)
    assert "128 PTEs map this frame" in ins.text.text()
    pp = PredictPanel()
    qtbot.addWidget(pp)
    q = next(iter(questions_for(tr).values()))
    pp.ask(q)
    assert [b.text() for b in pp.buttons][0] == "1  zero page" and pp.open_unrevealed
    with qtbot.waitSignal(pp.answered):
        pp.answer_index(0)
    assert pp.revealed and "Right" in pp.result.text()
