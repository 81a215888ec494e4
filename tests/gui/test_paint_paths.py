"""The fast paint paths draw what the straightforward ones drew: pixel for pixel where they claim to.

Each fast path (the fan layer, the ARGB32 code image, the moved ring, the cached timeline and
counters) is rendered beside the plain pyqtgraph / Qt item it replaced, and the pictures compared.
"""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6 import QtCore, QtGui, QtWidgets

from zpviz.gui.codeimage import CodeImageItem, Colouring, changed_rows
from zpviz.gui.counters import HEAD_CHUNK, CountersView, GridAxis, GrowingLine
from zpviz.gui.fan import FanItem
from zpviz.gui.ring import Ring
from zpviz.gui.timeline import TimelineWidget
from zpviz.present import pool, series
from zpviz.present.palette import frame_lut, page_lut, theme

LIGHT = theme("light")
WHITE = np.uint32(0xFFFFFFFF)  # the background render() starts from, as ARGB32


def pixels(img: QtGui.QImage) -> np.ndarray:
    img = img.convertToFormat(QtGui.QImage.Format.Format_ARGB32)
    return np.frombuffer(img.constBits(), np.uint32, count=img.height() * img.bytesPerLine() // 4).reshape(
        img.height(), -1)[:, :img.width()].copy()


def render(scene: QtWidgets.QGraphicsScene, size=(700, 500), aa: bool = False) -> np.ndarray:
    img = QtGui.QImage(*size, QtGui.QImage.Format.Format_RGB32)
    img.fill(QtGui.QColor("#FFFFFF"))
    p = QtGui.QPainter(img)
    p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, aa)
    scene.render(p, QtCore.QRectF(0, 0, *size), QtCore.QRectF(0, 0, *size))
    p.end()
    return pixels(img)


def fan_ends(n: int, seed: int = 0) -> list[tuple[float, float, float, float]]:
    """n sources spread over the left, fanning into one target on the right, as the zero page's tile."""
    rng = np.random.default_rng(seed)
    xs, ys = rng.uniform(10, 300, n), rng.uniform(10, 490, n)
    return [(float(x), float(y), 640.25, 83.5) for x, y in zip(xs, ys)]


def fan_pen(alpha: int = 60) -> QtGui.QPen:
    pen = QtGui.QPen(QtGui.QColor(0, 114, 178, alpha))
    pen.setWidthF(1.6)
    pen.setCosmetic(True)
    return pen


@pytest.mark.parametrize("n", [1, 40, 256])
def test_fan_item_draws_exactly_what_one_path_item_drew(qapp, n):
    """Overlapping curves lay the translucent colour down once, as one stroked path does."""
    fan = FanItem()
    fan.setPen(fan_pen())
    fan.set_curves(fan_ends(n))
    ours = QtWidgets.QGraphicsScene(0, 0, 700, 500)
    ours.addItem(fan)
    ref_item = QtWidgets.QGraphicsPathItem(fan.path())
    ref_item.setPen(fan_pen())
    ref = QtWidgets.QGraphicsScene(0, 0, 700, 500)
    ref.addItem(ref_item)
    expected = render(ref)
    assert (expected != WHITE).any()
    assert np.array_equal(render(ours), expected)
    assert np.array_equal(render(ours), expected)  # again, from the kept layer


def test_fan_item_antialiased_and_vector_output(qapp, tmp_path):
    fan = FanItem()
    fan.setPen(fan_pen(90))
    fan.set_curves(fan_ends(60, seed=1))
    scene = QtWidgets.QGraphicsScene(0, 0, 700, 500)
    scene.addItem(fan)
    ref_item = QtWidgets.QGraphicsPathItem(fan.path())
    ref_item.setPen(fan_pen(90))
    ref = QtWidgets.QGraphicsScene(0, 0, 700, 500)
    ref.addItem(ref_item)
    a, b = render(scene, aa=True), render(ref, aa=True)
    drawn_a, drawn_b = a != WHITE, b != WHITE
    assert (drawn_a == drawn_b).mean() > 0.995  # the same shape; only soft edges may round differently
    # an SVG gets the curves as vector paths, not a picture of them
    from PySide6 import QtSvg

    buf = QtCore.QBuffer()
    buf.open(QtCore.QIODevice.OpenModeFlag.WriteOnly)
    gen = QtSvg.QSvgGenerator()
    gen.setOutputDevice(buf)
    gen.setSize(QtCore.QSize(700, 500))
    p = QtGui.QPainter(gen)
    scene.render(p)
    p.end()
    svg = bytes(buf.data()).decode()
    assert "<path" in svg and "<image" not in svg


def test_fan_item_keeps_its_layer_until_something_changes(qapp):
    fan = FanItem()
    fan.setPen(fan_pen())
    ends = fan_ends(30)
    fan.set_curves(ends)
    scene = QtWidgets.QGraphicsScene(0, 0, 700, 500)
    scene.addItem(fan)
    first = render(scene)
    drawn = fan._layer_key
    fan.set_curves(list(ends))  # the same curves: nothing to redraw
    assert np.array_equal(render(scene), first) and fan._layer_key == drawn
    fan.set_curves(ends[:10])
    fewer = render(scene)
    assert fan._layer_key != drawn and (fewer != first).any()
    fan.clear()
    assert fan.path().isEmpty() and (render(scene) == WHITE).all()


@pytest.mark.parametrize("aa", [False, True])
def test_fan_item_adds_new_curves_to_its_layer_with_the_same_pixels(qapp, aa, monkeypatch):
    """Playing forward adds curves: they are drawn onto the kept layer, and the picture is the one
    a fresh layer of all the curves gives; a curve removed, or an antialiased insertion, redraws."""
    ends = fan_ends(80, seed=2)
    frame = [(5.0, 5.0, 640.25, 83.5), (5.0, 495.0, 640.25, 83.5)]  # fixed bounds: the layer keeps its place
    states = [frame + ends[:20], frame + ends[:35], frame + ends[:36],  # appended
              frame + ends[:10] + ends[60:64] + ends[10:36],  # inserted
              frame + ends[:30]]  # removed
    fan = FanItem()
    fan.setPen(fan_pen(90))
    scene = QtWidgets.QGraphicsScene(0, 0, 700, 500)
    scene.addItem(fan)
    fresh_layers = []
    real = FanItem._render_layer
    monkeypatch.setattr(FanItem, "_render_layer", lambda self, *a: fresh_layers.append(1) or real(self, *a))
    for state in states:
        fan.set_curves(state)
        ours = render(scene, aa=aa)
        ref = FanItem()
        ref.setPen(fan_pen(90))
        ref.set_curves(state)
        ref_scene = QtWidgets.QGraphicsScene(0, 0, 700, 500)
        ref_scene.addItem(ref)
        n = len(fresh_layers)
        expected = render(ref_scene, aa=aa)
        del fresh_layers[n:]  # the reference's own layer does not count
        assert np.array_equal(ours, expected)
    # fresh layers: the first, the removal, and (antialiased) the insertion; the rest were added to
    assert len(fresh_layers) == (3 if aa else 2)


def image_scene(item: pg.ImageItem, codes: np.ndarray, lut: np.ndarray) -> QtWidgets.QGraphicsScene:
    item.setImage(codes, levels=(0, 255), lut=lut, autoLevels=False)
    item.setTransform(QtGui.QTransform.fromScale(2.2274, 2.2274) * QtGui.QTransform.fromTranslate(13.45, 7.8))
    scene = QtWidgets.QGraphicsScene(0, 0, 700, 500)
    scene.addItem(item)
    return scene


@pytest.mark.parametrize("lut_of", [page_lut, frame_lut])
def test_code_image_item_paints_the_pixels_pyqtgraph_painted(qapp, lut_of):
    codes = np.random.default_rng(3).integers(0, 256, (204, 128)).astype(np.uint8)  # gaps (transparent) too
    codes[:, 0] = 4  # the first column next to the axis: it must keep its width
    ours, theirs = CodeImageItem(axisOrder="row-major"), pg.ImageItem(axisOrder="row-major")
    s_ours, s_theirs = image_scene(ours, codes, lut_of(LIGHT)), image_scene(theirs, codes, lut_of(LIGHT))
    a, b = render(s_ours), render(s_theirs)
    assert ours.qimage.format() == QtGui.QImage.Format.Format_ARGB32_Premultiplied  # the fast path was taken
    assert np.array_equal(a, b)
    dark = theme("dark")
    ours.setLookupTable(lut_of(dark))  # a new theme: a new table
    theirs.setLookupTable(lut_of(dark))
    codes2 = np.roll(codes, 3)
    ours.setImage(codes2, levels=(0, 255), autoLevels=False)
    theirs.setImage(codes2, levels=(0, 255), autoLevels=False)
    assert np.array_equal(render(s_ours), render(s_theirs))


@pytest.mark.parametrize("aa", [False, True])
@pytest.mark.parametrize("scale", [2.2274, 0.731])  # cells of 2.2 px; cells under a pixel, pooled
def test_code_image_layer_keeps_each_frames_pixels_as_cells_change(qapp, aa, scale):
    """The device-resolution layer: filled once, then only where cells changed; every frame's
    pixels are those pyqtgraph's ImageItem paints afresh (a pooled grid: those of the pooled codes)."""
    rng = np.random.default_rng(5)
    codes = rng.integers(0, 256, (204, 128)).astype(np.uint8)
    ours = CodeImageItem(axisOrder="row-major", pooling=pool.PAGES)
    plain = CodeImageItem(axisOrder="row-major", pooling=pool.PAGES)
    plain.layer.paint = lambda *a: False  # the fill at every paint: what the layer replaced
    for c in (plain._colouring, plain._pool_colouring):  # and each image coloured whole, as before Colouring
        c.colour = lambda codes, table, key: np.ascontiguousarray(table[codes])
    lut = page_lut(LIGHT)
    s_ours, s_plain = image_scene(ours, codes, lut), image_scene(plain, codes, lut)
    for item in (ours, plain):
        item.setTransform(QtGui.QTransform.fromScale(scale, scale) * QtGui.QTransform.fromTranslate(13.45, 7.8))
    frames = [codes]
    for k in range(6):  # a few pages a frame, as a step changes them; once the whole picture
        nxt = frames[-1].copy()
        if k == 3:
            nxt = np.roll(nxt, 7)
        else:
            for _ in range(1 + k):
                nxt[rng.integers(0, 204), rng.integers(0, 128)] = rng.integers(0, 256)
        frames.append(nxt)
    for k, f in enumerate(frames):
        for item in (ours, plain):
            item.setImage(f, levels=(0, 255), autoLevels=False)
        if k == 4:  # a new theme: a new colour table
            for item in (ours, plain):
                item.setLookupTable(page_lut(theme("dark")))
        expected = render(s_plain, aa=aa)
        assert (expected != WHITE).any()
        assert np.array_equal(render(s_ours, aa=aa), expected), k
    assert (ours.last_factors == (1, 1)) == (scale > 1)
    assert ours.layer.patched >= 3 and ours.layer.rebuilt == 2  # the first paint and the new table
    ours.setTransform(QtGui.QTransform.fromScale(scale, scale) * QtGui.QTransform.fromTranslate(40.2, 3.9))
    assert np.array_equal(render(s_ours, aa=aa), (plain.setTransform(ours.transform()), render(s_plain, aa=aa))[1])


def _layered_and_plain(codes):
    """Two code images of the same codes: ours, and one whose layer never paints (the plain fill
    at every paint: what the layer replaced)."""
    ours, plain = CodeImageItem(axisOrder="row-major"), CodeImageItem(axisOrder="row-major")
    plain.layer.paint = lambda *a: False
    for item in (ours, plain):
        item.setImage(codes, levels=(0, 255), lut=page_lut(LIGHT), autoLevels=False)
    return ours, plain


def test_code_image_layer_works_its_place_out_again_only_when_the_geometry_moves(qapp, monkeypatch):
    """The layer's offset, rectangle and transform are kept while the painter's scale and offset,
    the device's size and the view's bounds are the same floats; a sub-pixel shift of the view, a
    zoom or another device size places it again, and every picture is the plain fill's."""
    from zpviz.gui.codeimage import DeviceLayer

    def scene_of(item):
        vb = pg.ViewBox(invertY=True, lockAspect=True, enableMouse=False)
        vb.setGeometry(QtCore.QRectF(0, 0, 400, 300))
        vb.addItem(item)
        vb.setRange(QtCore.QRectF(0, 0, 128, 96), padding=0)
        vb.updateMatrix()
        scene = QtWidgets.QGraphicsScene(0, 0, 400, 300)
        scene.addItem(vb)
        return scene, vb

    def shot(scene, size, dx):  # the scene drawn dx device pixels to the right, on a device of `size`
        img = QtGui.QImage(*size, QtGui.QImage.Format.Format_RGB32)
        img.fill(QtGui.QColor("#FFFFFF"))
        p = QtGui.QPainter(img)
        scene.render(p, QtCore.QRectF(dx, 0, 400, 300), QtCore.QRectF(0, 0, 400, 300))
        p.end()
        return pixels(img)

    rng = np.random.default_rng(13)
    codes = rng.integers(0, 256, (96, 128)).astype(np.uint8)
    ours, plain = _layered_and_plain(codes)
    (s_ours, vb_ours), (s_plain, vb_plain) = scene_of(ours), scene_of(plain)
    placed = []
    real = DeviceLayer._placed
    monkeypatch.setattr(DeviceLayer, "_placed", classmethod(lambda cls, *a: (placed.append(1), real(*a))[1]))
    # (device size, shift, view range) at each frame, and how many times the place was worked out by then
    frames = [((420, 300), 0.0, None, 1), ((420, 300), 0.0, None, 1), ((420, 300), 0.4, None, 2),
              ((420, 300), 0.4, None, 2), ((420, 300), 0.4, (0, 0, 100, 75), 3), ((300, 200), 0.4, None, 4),
              ((420, 300), 0.4, None, 5), ((420, 300), 10.4, None, 6), ((420, 300), 10.4, "taller", 7)]
    for k, (size, dx, view, places) in enumerate(frames):
        codes = codes.copy()
        codes[rng.integers(0, 96, 3), rng.integers(0, 128, 3)] = rng.integers(0, 256, 3)
        for item, vb in ((ours, vb_ours), (plain, vb_plain)):
            item.setImage(codes, levels=(0, 255), autoLevels=False)
            if view == "taller":  # the view resized (and back): placed again
                vb.setGeometry(QtCore.QRectF(0, 0, 400, 290))
                vb.setRange(QtCore.QRectF(0, 0, 128, 96), padding=0)
                vb.updateMatrix()
                vb.setGeometry(QtCore.QRectF(0, 0, 400, 300))
            elif view is not None:
                vb.setRange(QtCore.QRectF(*view), padding=0)
                vb.updateMatrix()
        assert np.array_equal(shot(s_ours, size, dx), shot(s_plain, size, dx)), k
        assert len(placed) == places, k
    assert ours.layer.patched >= 2  # (frames 1 and 3: a shift or a new size makes the layer anew)


@pytest.mark.parametrize("width", [128, 37])  # rows compared as uint64, and byte by byte
def test_changed_rows_and_colouring_agree_with_the_whole_take(width):
    """changed_rows finds the first and last rows that differ; Colouring gives table[codes] at
    every image, whether it coloured a few rows again, or all after a new table or shape."""
    rng = np.random.default_rng(11)
    table = rng.integers(0, 2**32, 256, dtype=np.uint64).astype(np.uint32)
    codes = rng.integers(0, 256, (60, width)).astype(np.uint8)
    assert changed_rows(codes, codes.copy()) is None
    c = Colouring()
    key = "a"
    for k in range(12):
        nxt = codes.copy()
        rows = sorted(rng.choice(len(codes), size=1 + k % 3, replace=False))
        for r in rows:
            nxt[r, rng.integers(0, width)] ^= 0x5A
        assert changed_rows(codes, nxt) == (rows[0], rows[-1] + 1)
        if k == 5:
            table, key = table[::-1].copy(), "b"  # a new theme's table
        if k == 8:
            nxt = nxt[:50]  # another grid
        codes = nxt
        pixels = c.colour(codes, table, key)
        assert pixels.dtype == np.uint32 and pixels.flags.c_contiguous
        assert np.array_equal(pixels, table[codes]), k


def test_code_image_layer_stays_whole_through_paints_of_small_regions(qapp):
    """A window repaints what a step exposed (the ring's old and new places): a paint clipped to
    a small region must neither show stale cells there nor leave the layer cut to that region."""
    def scene_of(item):
        vb = pg.ViewBox(invertY=True, lockAspect=True, enableMouse=False)
        vb.setGeometry(QtCore.QRectF(0, 0, 400, 300))
        vb.addItem(item)
        vb.setRange(QtCore.QRectF(0, 0, 128, 96), padding=0)
        vb.updateMatrix()
        scene = QtWidgets.QGraphicsScene(0, 0, 400, 300)
        scene.addItem(vb)
        return scene

    def clipped(scene, rect):
        img = QtGui.QImage(400, 300, QtGui.QImage.Format.Format_RGB32)
        img.fill(QtGui.QColor("#FFFFFF"))
        p = QtGui.QPainter(img)
        p.setClipRect(rect)
        scene.render(p, QtCore.QRectF(0, 0, 400, 300), QtCore.QRectF(0, 0, 400, 300))
        p.end()
        return pixels(img)

    rng = np.random.default_rng(9)
    codes = rng.integers(0, 256, (96, 128)).astype(np.uint8)
    ours, plain = _layered_and_plain(codes)
    s_ours, s_plain = scene_of(ours), scene_of(plain)
    assert np.array_equal(render(s_ours, (400, 300)), render(s_plain, (400, 300)))
    for k, region in enumerate((QtCore.QRect(40, 30, 25, 20), QtCore.QRect(300, 200, 60, 70))):
        codes = codes.copy()
        codes[rng.integers(0, 96, 5), rng.integers(0, 128, 5)] = rng.integers(0, 256, 5)
        for item in (ours, plain):
            item.setImage(codes, levels=(0, 255), autoLevels=False)
        assert np.array_equal(clipped(s_ours, region), clipped(s_plain, region)), k
        assert np.array_equal(render(s_ours, (400, 300)), render(s_plain, (400, 300))), k
    assert ours.layer.rebuilt == 1


def test_code_image_item_leaves_other_images_to_pyqtgraph(qapp):
    item = CodeImageItem(axisOrder="row-major")
    item.setImage(np.linspace(0, 1, 64).reshape(8, 8), levels=(0, 1))  # floats, no LUT
    scene = QtWidgets.QGraphicsScene(0, 0, 100, 100)
    scene.addItem(item)
    render(scene, (100, 100))
    assert item._pixels is None and item.qimage is not None


def ring_scene(ring: pg.ScatterPlotItem) -> QtWidgets.QGraphicsScene:
    vb = pg.ViewBox(invertY=True, lockAspect=True, enableMouse=False)
    vb.setGeometry(QtCore.QRectF(0, 0, 400, 300))
    vb.setRange(QtCore.QRectF(0, 0, 40, 30), padding=0)
    vb.addItem(ring, ignoreBounds=True)
    scene = QtWidgets.QGraphicsScene(0, 0, 400, 300)
    scene.addItem(vb)
    return scene


def test_ring_moves_one_spot_to_where_new_spot_data_would_put_it(qapp):
    ring = Ring(26)
    ours = ring_scene(ring)
    plain = pg.ScatterPlotItem(pxMode=True, symbol="o", size=26)
    ref = ring_scene(plain)
    for (x, y), colour in (((5.5, 3.5), "#151515"), ((17.5, 22.5), "#151515"), ((30.5, 9.5), "#D55E00")):
        ring.show_one(x, y, colour, 26, 3.5)
        plain.setData([x], [y], pen=pg.mkPen(colour, width=3.5), brush=pg.mkBrush(None), size=26)
        assert len(ring.data) == 1
        assert np.array_equal(render(ours, (400, 300)), render(ref, (400, 300)))
    ring.show_many([1.5, 2.5], [1.5, 2.5], "#151515", 18, 3.5)
    assert len(ring.data) == 2 and ring.pos() == QtCore.QPointF(0, 0)
    ring.show_many([], [], "#151515", 18, 3.5)
    assert len(ring.data) == 0


class PyqtgraphRing(Ring):
    """The moved ring painted by ScatterPlotItem.paint itself: what Ring.paint's short cut replaced."""

    def paint(self, p, option, widget) -> None:
        pg.ScatterPlotItem.paint(self, p, option, widget)


@pytest.mark.parametrize("scaled", [False, True])
def test_ring_paints_its_one_spot_as_scatter_plot_item_paint_did(qapp, monkeypatch, scaled):
    ring, plain = Ring(26), PyqtgraphRing(26)
    slow = []
    scatter_paint = pg.ScatterPlotItem.paint
    monkeypatch.setattr(pg.ScatterPlotItem, "paint",
                        lambda self, *a: (slow.append(self) if self is ring else None, scatter_paint(self, *a))[1])
    ours, ref = ring_scene(ring), ring_scene(plain)
    if scaled:  # the view's range applied: 10 px a unit (else the view box maps 1:1)
        for item in (ring, plain):
            item.getViewBox().updateMatrix()
    # inside, across the view's edges, wholly outside (culled)
    for (x, y), colour in (((5.5, 3.5), "#151515"), ((0.2, 15.5), "#D55E00"), ((39.9, 29.9), "#151515"),
                           ((-6.5, 5.5), "#151515"), ((-1.0, 5.5), "#D55E00"), ((20.5, 44.5), "#151515"),
                           ((-300.5, 5.5), "#151515"),
                           ((20.5, 900.5), "#D55E00")):
        for item in (ring, plain):
            item.show_one(x, y, colour, 26, 3.5)
        expected = render(ref, (400, 300))
        assert np.array_equal(render(ours, (400, 300)), expected), (x, y)
    assert (render(ours, (400, 300)) == WHITE).all()  # the last two are culled
    ring.show_one(5.5, 3.5, "#151515", 26, 3.5)
    assert (render(ours, (400, 300)) != WHITE).any()
    assert not slow  # every paint of the one ring took the short cut


def test_a_ring_without_spots_paints_nothing_without_scatter_plot_item_paint(qapp, monkeypatch):
    """A physical view's ring has no spot at most frames (the zero-page tile flashes, not a cell):
    ScatterPlotItem.paint culled, mapped and drew zero fragments there (~0.15 ms a step). The same
    picture as ScatterPlotItem's, without calling it; with spots again it draws them as before."""
    ring, plain = Ring(26), PyqtgraphRing(26)
    ours, ref = ring_scene(ring), ring_scene(plain)
    slow = []
    scatter_paint = pg.ScatterPlotItem.paint
    monkeypatch.setattr(pg.ScatterPlotItem, "paint",
                        lambda self, *a: (slow.append(self) if self is ring else None, scatter_paint(self, *a))[1])
    for item in (ring, plain):
        item.show_many([3.5, 12.5], [4.5, 8.5], "#D55E00", 18, 3.5)
    assert np.array_equal(render(ours, (400, 300)), render(ref, (400, 300)))
    assert (render(ours, (400, 300)) != WHITE).any() and slow  # several spots: ScatterPlotItem's paint
    for item in (ring, plain):
        item.show_many([], [], "#D55E00", 18, 3.5)
    slow.clear()
    expected = render(ref, (400, 300))
    assert np.array_equal(render(ours, (400, 300)), expected) and (expected == WHITE).all()
    assert not slow
    ring.opts["pxMode"] = False  # another mode: left to ScatterPlotItem
    render(ours, (400, 300))
    assert slow


def grab_pixels(w: QtWidgets.QWidget) -> np.ndarray:
    return pixels(w.grab().toImage())


def test_timeline_marker_moves_over_the_kept_track(qtbot, small_lesson):
    def fresh(th, frame: int, width: int = 600) -> np.ndarray:  # nothing kept: all drawn for this frame
        w = TimelineWidget(th)
        qtbot.addWidget(w)
        w.resize(width, 46)
        w.set_marks(small_lesson.marks)
        w.set_frame(frame)
        return grab_pixels(w)

    t = TimelineWidget(LIGHT)
    qtbot.addWidget(t)
    t.resize(600, 46)
    t.set_marks(small_lesson.marks)
    t.set_frame(10)
    grab_pixels(t)
    t.set_frame(200)
    assert np.array_equal(grab_pixels(t), fresh(LIGHT, 200))
    t.set_theme(theme("dark"))  # a new theme redraws the track
    assert np.array_equal(grab_pixels(t), fresh(theme("dark"), 200))
    t.resize(500, 46)  # ... and so does a new width
    assert np.array_equal(grab_pixels(t), fresh(theme("dark"), 200, 500))


def test_timeline_veil_keeps_its_marks_per_track_and_lesson(qtbot, small_lesson):
    """The veil's step lines and flags past the playhead are worked out once per track and lesson:
    other marks (set_marks) or another width draw what a widget drawing them anew draws."""
    m = small_lesson.marks
    n = m.n_frames
    other = dataclasses.replace(m, step_ends=(n // 5, n // 2, n - 1), checkpoints=(n // 3, 2 * n // 3))
    assert len(m.step_ends) > 1 and m.step_ends != other.step_ends

    def fresh(marks, frame: int, width: int = 600) -> np.ndarray:
        w = TimelineWidget(LIGHT)
        qtbot.addWidget(w)
        w.resize(width, 46)
        w.set_marks(marks)
        w.set_frame(frame)
        return grab_pixels(w)

    t = TimelineWidget(LIGHT)
    qtbot.addWidget(t)
    t.resize(600, 46)
    t.set_marks(m)
    for f in (0, n // 4, n - 1):
        t.set_frame(f)
        assert np.array_equal(grab_pixels(t), fresh(m, f))
    t.set_marks(other)
    for f in (0, n // 4):
        t.set_frame(f)
        assert np.array_equal(grab_pixels(t), fresh(other, f))
    t.resize(450, 46)
    assert np.array_equal(grab_pixels(t), fresh(other, n // 4, 450))
    assert not np.array_equal(fresh(other, 0), fresh(m, 0))  # the marks are drawn: other ones differ


def test_counters_cache_the_static_drawing_and_still_follow_each_frame(qtbot, small_lesson):
    v = CountersView(LIGHT)
    qtbot.addWidget(v)
    v.resize(500, 600)
    tr = small_lesson.lead
    v.set_series(small_lesson.series)
    cached = QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache
    assert v.mem.getAxis("left").cacheMode() == cached
    assert v._curves and all(line.head.curve.cacheMode() == cached for line, _ in v._curves)
    v.set_bars(series.cpu_bars(tr.frame(10)))
    v.set_frame(10)
    a = grab_pixels(v)
    v.set_frame(len(tr) - 1)  # the cursors move over the kept lines
    b = grab_pixels(v)
    v.set_bars(series.cpu_bars(tr.frame(len(tr) - 1)))  # new bars, new bar-plot axes
    c = grab_pixels(v)
    assert (a != b).any() and (b != c).any()
    v.set_frame(10)
    v.set_bars(series.cpu_bars(tr.frame(10)))
    assert np.array_equal(grab_pixels(v), a)  # nothing stale left behind


def test_counters_set_the_step_bars_only_when_a_step_ends(qtbot, small_lesson, monkeypatch):
    """The per-step bars change where a step ends (or a seek goes back over an end), not at the frames
    between: setOpts, which makes a bar item's picture and bounds anew, runs only then, and every
    frame is the picture of a view that set them."""
    import pyqtgraph as pg_

    calls = []
    set_opts = pg_.BarGraphItem.setOpts
    monkeypatch.setattr(pg_.BarGraphItem, "setOpts", lambda item, **kw: (calls.append(kw), set_opts(item, **kw)))

    def fresh(frame: int) -> np.ndarray:
        w = CountersView(LIGHT)
        qtbot.addWidget(w)
        w.resize(500, 600)
        w.set_series(small_lesson.series)
        w.set_frame(frame)
        return grab_pixels(w)

    s = small_lesson.series
    ends = [int(e) for e in s.step_end]
    assert len(ends) >= 2 and ends[1] - ends[0] > 3
    v = CountersView(LIGHT)
    qtbot.addWidget(v)
    v.resize(500, 600)
    v.set_series(s)
    v.set_frame(ends[0])
    grab_pixels(v)
    calls.clear()
    for f in range(ends[0] + 1, ends[1]):  # inside the second step: no bar changes
        v.set_frame(f)
        grab_pixels(v)
    assert calls == []
    v.set_frame(ends[1])  # the second step ends: its bar shows
    assert np.array_equal(grab_pixels(v), fresh(ends[1]))
    assert calls
    calls.clear()
    v.set_frame(ends[0] + 1)  # back over the end: the bar goes again
    assert np.array_equal(grab_pixels(v), fresh(ends[0] + 1))
    assert calls


def svg_of(widget: QtWidgets.QWidget, scene_only: bool = False) -> str:
    """The widget painted into an SVG as the exporter paints the window (QWidget.render: paint
    events), or with scene_only its scene alone (QGraphicsView.render)."""
    from PySide6 import QtSvg

    buf = QtCore.QBuffer()
    buf.open(QtCore.QIODevice.OpenModeFlag.WriteOnly)
    gen = QtSvg.QSvgGenerator()
    gen.setOutputDevice(buf)
    gen.setSize(widget.size())
    p = QtGui.QPainter(gen)
    if scene_only:
        widget.render(p)
    else:
        QtWidgets.QWidget.render(widget, p, QtCore.QPoint(0, 0))
    p.end()
    return bytes(buf.data()).decode()


def test_svg_stills_get_vectors_not_the_cached_pictures(qtbot, small_lesson):
    v = CountersView(LIGHT)
    qtbot.addWidget(v)
    v.resize(500, 600)
    v.set_series(small_lesson.series)
    v.set_bars(series.cpu_bars(small_lesson.lead.frame(10)))
    grab_pixels(v)  # the caches hold pictures now
    for scene_only in (False, True):
        svg = svg_of(v, scene_only)
        assert len(re.findall(r">\s*CPU0\s*<", svg)) == 2  # both bar plots' tick labels, as text
        assert svg.count("<image") <= 1  # at most the background, not a picture per axis and line
        assert v.mem.getAxis("left").cacheMode() == QtWidgets.QGraphicsItem.CacheMode.NoCache
        grab_pixels(v)  # back on a raster device: cached again
        assert v.mem.getAxis("left").cacheMode() == QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache
    t = TimelineWidget(LIGHT)
    qtbot.addWidget(t)
    t.resize(600, 46)
    t.set_marks(small_lesson.marks)
    grab_pixels(t)
    svg = svg_of(t)
    assert "<image" not in svg and svg.count("<polyline") > 100  # the tick lines themselves


@pytest.mark.parametrize("variants", [["modern", "2.6.23"], ["2.6.23", "v5"]])
def test_compare_panes_keep_their_physical_view_inside_the_pane(make_window, tmp_path, variants):
    """The per-view titles (hidden in compare mode, long in big lessons) used to set the layout's
    minimum width: the last pane's physical memory ran out past the window's edge."""
    path = tmp_path / "wide.toml"
    path.write_text('[scenario]\ntitle = "w"\ncpus = 2\n[[vma]]\nname = "a-rather-long-region-name"\n'
                    'pages = 70000\n[[step]]\ndo = "read"\nvma = "a-rather-long-region-name"\ncpus = [0, 1]\n'
                    '[[step]]\ndo = "write"\nvma = "a-rather-long-region-name"\npages = "0-69999/2"\n')
    win = make_window(path, kernel=variants[0], compare=variants[1:], size=(1920, 1080))
    win.set_frame(win.frame_count() - 1)
    win.grab()
    for pane in win.panes:
        view = pane.view
        assert view.phys is not None and view.phys.isVisible()
        assert view.ci.geometry().width() <= view.width()
        right = view.phys.mapRectToScene(view.phys.boundingRect()).right()
        assert right <= view.width() + 0.5, f"physical view ends at {right:.0f} px of a {view.width()} px pane"
        # and the zero page's tile holds its text, whose counts have 5 digits by now
        for i, (_, _, text) in enumerate(view.phys._tiles):
            tile = view.phys.mapViewToScene(view.phys.tile_rect(i, len(view.phys._tiles))).boundingRect()
            drawn = text.mapRectToScene(text.boundingRect())
            assert tile.left() <= drawn.left() and drawn.right() <= tile.right(), (tile, drawn)


@pytest.mark.parametrize("aa", [False, True])
def test_growing_line_draws_what_one_curve_up_to_the_playhead_drew(qapp, aa, monkeypatch):
    """The cached head and the stroked tail of a time series, at any length, lay down the same
    pixels as the one curve of the same points they replace: exactly without antialiasing (a wide
    opaque pen: pyqtgraph's separate segments; screenshots and exports); antialiased (the app's
    window: one polyline), all but a few edge pixels of the one join where head meets tail."""
    monkeypatch.setattr(pg, "CONFIG_OPTIONS", dict(pg.CONFIG_OPTIONS, antialias=aa))
    rng = np.random.default_rng(3)
    n = 3 * HEAD_CHUNK + 17
    x, y = np.arange(n, dtype=np.float64), np.cumsum(rng.integers(0, 3, n)).astype(np.float64)
    y[n // 2] += 40  # a spike
    views = []
    for _ in range(2):
        w = pg.GraphicsLayoutWidget()
        w.resize(500, 300)
        plot = pg.PlotItem()
        w.addItem(plot)
        plot.setXRange(0, n, padding=0)
        plot.setYRange(0, y.max() + 5, padding=0)
        views.append((w, plot))
    (w1, p1), (w2, p2) = views
    line = GrowingLine(p1, x, y, "#0072B2")
    ref = pg.PlotDataItem(x[:0], y[:0], pen=pg.mkPen(QtGui.QColor("#0072B2"), width=2.5))
    p2.addItem(ref)
    for m in (1, 2, HEAD_CHUNK, HEAD_CHUNK + 1, HEAD_CHUNK + 2, n // 2 + 1, 2 * HEAD_CHUNK + 1, n - 1, n, 40):
        line.show_upto(m)
        ref.setData(x[:m], y[:m])
        got, want = pixels(w1.grab().toImage()), pixels(w2.grab().toImage())
        if aa:
            assert (got != want).sum() <= 12, m
        else:
            assert np.array_equal(got, want), m
        assert np.array_equal(line.getData()[0], x[:m])
    assert (got != got[0, 0]).any()  # something was drawn


class _PlainAxis(pg.AxisItem):
    """pyqtgraph's own painting with GridAxis's choice of ticks and labels (one level, kept apart)."""

    LABEL_GAP, integer = GridAxis.LABEL_GAP, GridAxis.integer
    tickSpacing = GridAxis.tickSpacing  # noqa: N815 (pyqtgraph's name)
    tickStrings = GridAxis.tickStrings  # noqa: N815 (and its labels: "1k")


@pytest.mark.parametrize("cached", [False, True])
def test_grid_axis_fills_the_pixels_its_lines_drew(qapp, cached):
    """GridAxis's grid lines (filled spans) and labels: the same pixels as pyqtgraph's AxisItem,
    painted directly or into an item cache, at ranges that put the lines at fractional pixels;
    and an SVG still gets pyqtgraph's lines."""
    views = []
    for fast in (False, True):
        w = pg.GraphicsLayoutWidget()
        w.resize(533, 217)
        kind = GridAxis if fast else _PlainAxis
        axes = {"left": kind("left"), "bottom": kind("bottom")}
        plot = pg.PlotItem(axisItems=axes)
        plot.showGrid(x=True, y=True, alpha=0.25)
        for name in ("left", "bottom"):
            if cached:
                plot.getAxis(name).setCacheMode(QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache)
        w.addItem(plot)
        views.append((w, plot))
    drawn = 0
    for top in (1.08, 7.3, 283.0, 1105.92, 5e6):
        for _w, plot in views:
            plot.setYRange(0, top, padding=0)
            plot.setXRange(-0.6, 15.4 + top / 1e7, padding=0)
        want, got = (pixels(w.grab().toImage()) for w, _ in views)
        assert np.array_equal(got, want), top
        drawn += (got != got[0, 0]).sum()
    assert drawn > 0
    if not cached:  # (a cached item is a pixmap in any device: CountersView turns caches off for SVG)
        axis = views[1][1].getAxis("left")
        svg_of(views[1][0])
        assert axis.picture is not None and axis.picture is not axis._valid  # pyqtgraph's own lines drew it
        assert np.array_equal(pixels(views[1][0].grab().toImage()), want)  # and the spans again after


@pytest.mark.parametrize("scale", [3.0, 4.9, 5.05, 5.3, 16.0])  # (the view maps 0.9875 px a unit)
def test_glyph_item_skips_pixel_vectors_only_where_cell_px_says_nothing_is_drawn(qapp, scale, monkeypatch):
    """GlyphItem.paint reads the cell size off the painter's scale when it is well under OUTLINE_PX
    (nothing to draw, pyqtgraph's pixelVectors not asked); near the size or above, cell_px decides
    as before. Painted through its view, the shortcut is taken only where cell_px says nothing is
    drawn, and then the picture is the view's without the item."""
    from zpviz.gui.glyphs import OUTLINE_PX, GlyphItem

    asked = []
    real = GlyphItem.cell_px
    monkeypatch.setattr(GlyphItem, "cell_px", lambda self: (asked.append(1), real(self))[1])

    def grab(with_item: bool) -> tuple[np.ndarray, float]:
        view = pg.GraphicsView()
        view.resize(320, 220)
        view.setRange(QtCore.QRectF(0, 0, 320, 220), padding=0)
        view.setBackground("k")  # (the gaps are the light theme's panel colour)
        item = GlyphItem(LIGHT)
        item.set_codes(np.arange(12 * 8, dtype=np.uint8).reshape(12, 8) % 7 + 1)
        item.setTransform(QtGui.QTransform.fromScale(scale, scale))
        item.setVisible(with_item)
        view.scene().addItem(item)
        asked.clear()
        return pixels(view.grab().toImage()), real(item)

    shown, cell_px = grab(True)
    took_shortcut = len(asked) == 0
    assert took_shortcut == (cell_px < OUTLINE_PX * 0.99)  # (so: only where cell_px says nothing is drawn)
    empty, _ = grab(False)
    assert np.array_equal(shown, empty) == (cell_px < OUTLINE_PX)  # outlines drawn from 5 px cells on


def test_offset_axis_cached_draws_what_it_drew_uncached(make_window, monkeypatch):
    """The grids' top axes are kept as pixmaps (cache_drawing) inside bounds a pixel wider than
    pyqtgraph's (the axis line ends a pixel outside them, which the cache cut: a missing pixel row
    across the panes of a compare window): the same window picture as the axes painted at every
    paint, and no paint of them at a grab after a step."""
    from tests.gui.conftest import COMPARE
    from zpviz.gui.gridview import OffsetAxis

    win = make_window(COMPARE, kernel=None, size=(1920, 1080))
    win.set_frame(win.frame_count() // 3)
    axes = win.findChildren(QtWidgets.QGraphicsView)
    axes = [i for v in axes if v.scene() is not None for i in v.scene().items() if isinstance(i, OffsetAxis)]
    assert len(axes) >= 2 and all(a.cacheMode() == QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache
                                  for a in axes)
    win.grab()
    painted = []
    real = OffsetAxis.paint
    monkeypatch.setattr(OffsetAxis, "paint", lambda self, *a: (painted.append(1), real(self, *a))[1])
    win.set_frame(win.frame_count() // 3 + 1)
    cached = pixels(win.grab().toImage())
    assert not painted
    for a in axes:
        a.setCacheMode(QtWidgets.QGraphicsItem.CacheMode.NoCache)
    plain = pixels(win.grab().toImage())
    assert painted
    assert np.array_equal(cached, plain)


def test_ring_bounding_rect_kept_only_while_scatter_plot_items_would_be_the_same(qapp, monkeypatch):
    """Ring.boundingRect keeps ScatterPlotItem's rectangle through moves of the ring, and works
    it out again after a zoom, a resize of the view, new spot data and several spots."""
    w = pg.GraphicsLayoutWidget()
    w.resize(400, 300)
    vb = w.addViewBox(invertY=True, lockAspect=True, enableMouse=False)
    ring = Ring(26)
    vb.addItem(ring, ignoreBounds=True)
    vb.setRange(QtCore.QRectF(0, 0, 40, 30), padding=0)
    w.grab()
    worked_out = []
    scatter_rect = pg.ScatterPlotItem.boundingRect
    monkeypatch.setattr(pg.ScatterPlotItem, "boundingRect",
                        lambda self: (worked_out.append(self), scatter_rect(self))[1])

    def check(label):
        ours = ring.boundingRect()
        n = len(worked_out)
        assert ours == scatter_rect(ring), label
        del worked_out[n:]  # (the reference's own call)

    ring.show_one(5.5, 3.5, "#151515", 26, 3.5)
    check("first")
    n = len(worked_out)
    for x, y in ((17.5, 22.5), (30.5, 9.5), (-3.0, 2.0)):
        ring.show_one(x, y, "#151515", 26, 3.5)
        check((x, y))
    assert len(worked_out) == n  # moves keep it
    for label, change in (("zoom", lambda: vb.setRange(QtCore.QRectF(0, 0, 10, 7.5), padding=0)),
                          ("resize", lambda: (w.resize(640, 480), w.grab())),
                          ("size", lambda: ring.show_one(5.5, 3.5, "#D55E00", 18, 3.5)),
                          ("many", lambda: ring.show_many([1.5, 9.5], [1.5, 4.5], "#151515", 18, 3.5))):
        k = len(worked_out)
        change()
        w.grab()
        check(label)
        assert len(worked_out) > k, label  # worked out again


def test_marks_keep_their_paths_while_the_flag_bits_stay(qapp):
    """MarksItem.regions: a new image with the same MLOCKED and HUGE bits keeps the paths made;
    other bits give new ones; every answer is what a fresh item makes of the image."""
    from zpviz.gui.marks import MarksItem
    from zpviz.present import codes as K

    rng = np.random.default_rng(4)
    codes = rng.integers(1, 7, (64, 32)).astype(np.uint8)
    codes[3:9, 4:20] |= K.MLOCKED
    codes[30:40, :] |= K.HUGE
    image = CodeImageItem(axisOrder="row-major", pooling=pool.PAGES)
    marks = MarksItem(image, LIGHT)

    def regions(item, f):
        return {bit: QtGui.QPainterPath(path) for bit, path in item.regions(*f).items()}

    def fresh(img, f):
        other = CodeImageItem(axisOrder="row-major", pooling=pool.PAGES)
        other.setImage(img, levels=(0, 255), autoLevels=False)
        return regions(MarksItem(other, LIGHT), f)

    for f in ((1, 1), (2, 2)):
        image.setImage(codes, levels=(0, 255), autoLevels=False)
        first = marks.regions(*f)
        assert set(first) == {K.MLOCKED, K.HUGE} and regions(marks, f) == fresh(codes, f)
        same_flags = codes ^ np.uint8(K.FLASH | K.SPECIAL)  # other bits, new array
        image.setImage(same_flags, levels=(0, 255), autoLevels=False)
        assert marks.regions(*f) is first and regions(marks, f) == fresh(same_flags, f)
        other = same_flags.copy()
        other[50, 3] |= K.MLOCKED
        image.setImage(other, levels=(0, 255), autoLevels=False)
        assert marks.regions(*f) is not first and regions(marks, f) == fresh(other, f)
        none = other & np.uint8(~(K.MLOCKED | K.HUGE) & 0xFF)
        image.setImage(none, levels=(0, 255), autoLevels=False)
        assert marks.regions(*f) == {}


def test_memory_view_sets_nothing_for_a_picture_it_shows_already(qtbot, small_lesson):
    """A compared variant waiting at its step's end gets the same picture at every frame: the view's
    items are not set again (the code image keeps its array; a shown window repainted the plot for
    it), until the picture, the theme or the view's range changes; the pixels are a fresh view's."""
    from zpviz.gui.memview import MemoryView
    from zpviz.present.picture import picture_at

    def view() -> MemoryView:
        v = MemoryView(LIGHT)
        qtbot.addWidget(v)
        v.resize(900, 500)
        v.set_layouts(small_lesson.grid, small_lesson.phys[0])
        return v

    f = small_lesson.lead.step_end_frame(1)
    v = view()
    for _ in range(2):  # (the first grab lays the view out: its transforms change once)
        v.show_picture(picture_at(small_lesson, 0, f))
        grab_pixels(v)
    shown = v.space.image.image
    again = picture_at(small_lesson, 0, f)  # another object, the same content
    v.show_picture(again)
    assert v.space.image.image is shown and v.picture is again
    ref = view()
    ref.show_picture(again)
    assert np.array_equal(grab_pixels(v), grab_pixels(ref))
    v.show_picture(picture_at(small_lesson, 0, f + 1))  # the next frame's picture is set
    assert v.space.image.image is not shown
    shown = v.space.image.image
    v.set_theme(theme("dark"))  # a theme sets every item again
    assert v.space.image.image is not shown
    shown = v.space.image.image
    v.zoom(0.5)  # a new range: the same picture is set again (its lines are drawn through the range)
    v.show_picture(picture_at(small_lesson, 0, f + 1))
    assert v.space.image.image is not shown
