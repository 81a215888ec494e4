"""What a scrub's seek makes again only in part is what the whole would be (docs/speed.md, "eleventh session")."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6 import QtCore, QtGui, QtWidgets

from zpviz.gui.codeimage import CodeImageItem
from zpviz.present import codes as K
from zpviz.present import pool


def _whole(pooling: pool.Pooling, image: np.ndarray, fy: int, fx: int) -> np.ndarray:
    return pooling.pool(image, fy, fx) & np.uint8(~(K.FLASH | K.ALERT) & 0xFF)


@pytest.mark.parametrize("pooling", [pool.PAGES, pool.FRAMES])
def test_pooled_codes_made_in_part_equal_the_whole(qapp, pooling):
    """Images changed in a band of rows (at the edges, across a block, in most of it), unchanged, changed
    in place, reshaped and pooled at other factors: each pooling equals one of the whole image. It fails
    with the band's blocks worked out a block short, or with the last image kept without a copy."""
    rng = np.random.default_rng(7)
    item = CodeImageItem(axisOrder="row-major", pooling=pooling)
    image = rng.integers(0, 256, (61, 45), dtype=np.uint8)  # neither side a multiple of the factors
    bands = [(0, 1), (60, 61), (7, 8), (5, 14), (0, 61), (30, 31), None, (2, 50), (59, 61)]
    for fy, fx in ((3, 2), (3, 2), (2, 4), (1, 3)):
        for band in bands:
            if band is not None:
                image = image.copy()
                r0, r1 = band
                image[r0:r1] = rng.integers(0, 256, (r1 - r0, image.shape[1]), dtype=np.uint8)
            item.image = image
            assert np.array_equal(item.pooled(fy, fx), _whole(pooling, image, fy, fx)), (fy, fx, band)
    item.image = image
    before = item.pooled(3, 2).copy()
    image[9:12] = image[9:12] ^ np.uint8(0x0F)  # changed in place (the same array): the kept copy still differs
    item.image = image.copy()
    assert np.array_equal(item.pooled(3, 2), _whole(pooling, image, 3, 2))
    assert not np.array_equal(item.pooled(3, 2), before)
    for shape in ((20, 45), (20, 44)):
        image = rng.integers(0, 256, shape, dtype=np.uint8)
        item.image = image
        assert np.array_equal(item.pooled(3, 2), _whole(pooling, image, 3, 2)), shape


def test_pooled_codes_are_a_new_array_each_image(qapp):
    """The last pooled array may be held by a colouring or a layer: a new image never changes it."""
    item = CodeImageItem(axisOrder="row-major", pooling=pool.PAGES)
    a = np.full((16, 16), 3, np.uint8)
    item.image = a
    first = item.pooled(2, 2)
    kept = first.copy()
    b = a.copy()
    b[4:6] = 7
    item.image = b
    second = item.pooled(2, 2)
    assert second is not first and np.array_equal(first, kept)
    assert not np.array_equal(second, first)


def test_title_share_width_is_measured_for_its_style(qapp):
    """The physical title's share (its preferred width) is the share text's width in the title's style,
    whatever text it shows, and follows a new size or weight."""
    from zpviz.gui.memview import PHYS_TITLE_SHARE, TitleItem

    t = TitleItem("Physical memory")
    t.share_text = PHYS_TITLE_SHARE
    widths = []
    for used in ("0 KiB", "955.7 MiB", "1023.9 MiB"):
        t.setText(f"Physical memory \u00b7 {used} used", size="12pt", bold=True, color="#000000")
        widths.append(t._width_of(PHYS_TITLE_SHARE))
        assert widths[-1] == t._measure(PHYS_TITLE_SHARE)
    assert len(set(widths)) == 1
    t.setText("Physical memory \u00b7 1 KiB used", size="9pt", bold=False, color="#000000")
    assert t._width_of(PHYS_TITLE_SHARE) == t._measure(PHYS_TITLE_SHARE) < widths[0]


def test_a_seek_paints_the_counters_once_and_shows_a_full_repaint(make_window, qtbot, tmp_path):
    """A seek that moves the counters' y ranges (the memory used grows) repaints a shown window's
    counters once: pyqtgraph applied a new range at the start of the view's paint, and the scene,
    taking that as its items moving, asked for a second paint of the plots. The screen is what a
    full repaint shows. It fails with the transforms left to the paint (CountersView._transforms_now)."""
    from bench.run import million_event_lesson
    from zpviz.gui.counters import CountersView

    path = tmp_path / "m.toml"
    path.write_text(million_event_lesson(1024))
    win = make_window(path, kernel="modern", size=(1280, 720))
    win.show()
    qtbot.waitExposed(win)
    app = QtWidgets.QApplication.instance()
    counters = win.findChildren(CountersView)[0]
    paints = []

    class Count(QtCore.QObject):
        def eventFilter(self, obj, ev) -> bool:  # noqa: N802 (Qt's name)
            if ev.type() == QtCore.QEvent.Type.Paint:
                paints.append(1)
            return False

    count = Count(counters.viewport())
    n = win.frame_count()
    win.set_frame(n * 10 // 40)
    for _ in range(4):
        app.processEvents()
    counters.viewport().installEventFilter(count)
    seen = []
    for k in range(11, 19):  # the lesson's second step writes every page: the memory used grows at every seek
        tops = counters._tops
        paints.clear()
        win.set_frame(n * k // 40)
        for _ in range(4):
            app.processEvents()
        assert counters._tops != tops, k  # (the y range moved)
        seen.append(len(paints))
    counters.viewport().removeEventFilter(count)
    assert seen == [1] * len(seen)
    shown = win.screen().grabWindow(win.winId()).toImage().convertToFormat(QtGui.QImage.Format.Format_RGB32)
    assert shown == win.grab().toImage().convertToFormat(QtGui.QImage.Format.Format_RGB32)


@pytest.mark.parametrize("aa", [False, True])
def test_fan_layer_grown_with_its_curves_has_a_fresh_layers_pixels(qapp, aa, monkeypatch):
    """A seek down the grid adds curves whose sources lie past the fan's old bounds: the layer grows
    (its pixels copied where they were, the new curves drawn on) and the picture is a fresh layer's.
    Only the first layer is drawn afresh; a curve removed draws afresh again. It fails with the kept
    pixels copied a pixel off or not at all."""
    from tests.gui.test_paint_paths import fan_pen, render
    from zpviz.gui.fan import FanItem

    rng = np.random.default_rng(5)
    ends = [(float(x), float(y), 640.25, 83.5) for x, y in zip(rng.uniform(10, 300, 90), np.linspace(200, 480, 90))]
    ends[:10] = [(float(x), 150.0 + 3 * i, 640.25, 83.5) for i, x in enumerate(rng.uniform(10, 300, 10))]
    states = [ends[:10], ends[:30], ends[:31], ends[:60], ends[:90], ends[5:90]]  # bounds grow down; then one goes
    fan = FanItem()
    fan.setPen(fan_pen(90))
    scene = QtWidgets.QGraphicsScene(0, 0, 700, 500)
    scene.addItem(fan)
    fresh = []
    real = FanItem._render_layer
    monkeypatch.setattr(FanItem, "_render_layer", lambda self, *a: fresh.append(1) or real(self, *a))
    for state in states:
        fan.set_curves(state)
        ours = render(scene, aa=aa)
        n = len(fresh)
        ref = FanItem()
        ref.setPen(fan_pen(90))
        ref.set_curves(state)
        ref_scene = QtWidgets.QGraphicsScene(0, 0, 700, 500)
        ref_scene.addItem(ref)
        expected = render(ref_scene, aa=aa)
        del fresh[n:]  # the reference's own layer does not count
        assert np.array_equal(ours, expected), len(state)
    assert len(fresh) == 2  # the first layer and the removal's; the four growths were drawn onto it
