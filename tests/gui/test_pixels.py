"""What the projector shows, checked on the window's own pixels: no page state sampled away,
long texts that never widen the window, slides without the menu bar, --zoom."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6 import QtCore, QtGui

from zpviz.export.render import qimage_to_rgb
from zpviz.present.palette import page_lut, theme

ROOT = Path(__file__).resolve().parents[2]
LESSON2 = ROOT / "scenarios" / "02-sparse-table.toml"
LESSON9 = ROOT / "scenarios" / "09-mlock-readonly.toml"
FOUR = ["2.6.24", "v5", "2.6.32", "modern"]
RING_PX = 18  # the ring around the current event's page covers pages this close to its centre


def _window(qtbot, settings, path, kernel=None, compare=None, theme_name="light"):
    from zpviz.gui.mainwindow import MainWindow

    win = MainWindow(theme=theme_name, settings=settings, offscreen=True)
    qtbot.addWidget(win)
    win.open_lesson(str(path), kernel, compare, sync=True)
    assert win.lesson is not None, win.last_problems
    win.set_chrome(False)
    return win


def _view_to_window(pane, win):
    """(scale x, scale y, offset x, offset y): a view (cell) coordinate to window pixels."""
    vb = pane.view.space.getViewBox()

    def at(x, y):
        p = pane.view.mapTo(win, pane.view.mapFromScene(vb.mapViewToScene(QtCore.QPointF(x, y))))
        return p.x(), p.y()

    (x0, y0), (x1, y1) = at(0, 0), at(1000, 1000)
    return (x1 - x0) / 1000, (y1 - y0) / 1000, x0, y0


@pytest.mark.parametrize("size,theme_name", [((1280, 720), "light"), ((1280, 720), "dark"),
                                             ((1280, 720), "contrast"), ((1920, 1080), "light")])
def test_every_read_page_leaves_a_pixel_of_its_state_in_every_pane(qtbot, settings, size, theme_name):
    """Lesson 2's read step, four kernels side by side: 1,024 read pages (every 64th of 65,536) must
    each leave at least one pixel of its state's own colour (anon under 2.6.24, zero elsewhere), where
    nearest sampling left a few hundred pixels for all of them."""
    win = _window(qtbot, settings, LESSON2, compare=FOUR, theme_name=theme_name)
    win.set_step(1)
    rgb = qimage_to_rgb(win.render_image(size))
    assert rgb.shape[:2] == (size[1], size[0])
    lut = page_lut(theme(theme_name))
    L = win.lesson
    block = next(b for b in L.grid.blocks if b.vma == "table")
    read = block.base + np.arange(0, 65536, 64)
    for i, pane in enumerate(win.panes):
        fr = L.traces[i].frame(pane.view.picture.frame)
        states = fr.page_states()[read]
        want_state = 3 if L.kernels[i] == "2.6.24" else 2  # ST_ANON, ST_ZERO
        assert (states == want_state).all(), L.kernels[i]
        colour = lut[1 + want_state, :3]
        fy, fx = pane.view.space.image.last_factors
        sx, sy, ox, oy = _view_to_window(pane, win)
        assert fx * sx >= 1 and fy * sy >= 1, "a cell, or a pooled block of cells, spans at least a pixel"
        assert (fx, fy) == (1, 1) or (fx * sx >= 2 and fy * sy >= 2), "a pooled block spans 2 px or more"
        rows, cols = np.divmod(L.grid.slot_cell[read], L.grid.width)
        x0, y0 = ox + (cols // fx) * fx * sx, oy + (rows // fy) * fy * sy  # the page's pooled cell
        x1, y1 = x0 + fx * sx, y0 + fy * sy
        vb_rect = pane.view.mapTo(win, pane.view.mapFromScene(
            pane.view.space.getViewBox().sceneBoundingRect().topLeft()))
        assert x0.min() >= vb_rect.x() - 0.5, "the grid's first column is in the view"
        fl = [L.grid.cell_of(s) for s in pane.view.picture.flash_slots]
        ring = [(ox + (c + 0.5) * sx, oy + (r + 0.5) * sy) for r, c in fl]
        missing = []
        for k in range(len(read)):
            xs = np.arange(int(np.ceil(x0[k] - 0.5)), int(np.ceil(x1[k] - 0.5)))
            ys = np.arange(int(np.ceil(y0[k] - 0.5)), int(np.ceil(y1[k] - 0.5)))
            assert len(xs) and len(ys), "every pooled cell holds a pixel centre"
            patch = rgb[ys[0]:ys[-1] + 1, xs[0]:xs[-1] + 1].reshape(-1, 3)
            if not (patch == colour).all(axis=1).any():
                cx, cy = (x0[k] + x1[k]) / 2, (y0[k] + y1[k]) / 2
                if not any(np.hypot(cx - rx, cy - ry) <= RING_PX for rx, ry in ring):
                    missing.append(int(read[k] - block.base))
        assert not missing, f"{L.kernels[i]}: pages {missing[:10]} left no pixel of their state"


def test_a_long_page_list_never_widens_the_window(qtbot, settings, tmp_path):
    pages = ", ".join(str(i) for i in range(0, 600, 2))
    path = tmp_path / "list.toml"
    path.write_text(f"""[scenario]\ntitle = "300 pages"\nkernel = "v5"\n[[process]]\nname = "p"\n
[[vma]]\nname = "buf"\nprocess = "p"\npages = 1024\n
[[step]]\ndo = "read"\nprocess = "p"\nvma = "buf"\npages = [{pages}]\nsay = "Read 300 pages."\n""")
    win = _window(qtbot, settings, path, compare=["v5", "2.6.24"])
    win.set_step(0)
    img = win.render_image((1280, 720))
    assert (img.width(), img.height()) == (1280, 720) and win.width() == 1280
    detail = win.caption.detail.text()
    assert "300 pages: 0, 2, 4, \u2026 598" in detail and "296" not in detail


def test_screenshots_and_exports_leave_out_the_menu_bar(qtbot, settings, tmp_path):
    from zpviz.export.job import ExportOptions, default_window, export, load_lesson
    from zpviz.gui.app import _render
    from zpviz.gui.settings import MemorySettings

    seen = []

    def factory(*a):  # the export's own window, looked at as it renders (it is gone afterwards)
        from PySide6 import QtGui

        from zpviz.gui.theme import font

        win = default_window(*a)
        render = win.render_image

        def looked_at(size):
            img = render(size)
            kv = win.kernel_view
            fm = QtGui.QFontMetrics(font(kv.path_pt(), mono=True))
            seen.append((win.menuBar().isVisibleTo(win), win.statusBar().isVisibleTo(win),
                         win.centralWidget().geometry().top(), (img.width(), img.height()),
                         max((fm.horizontalAdvance(n) for n in kv._names), default=-1), kv.scroll.viewport().width()))
            return img

        win.render_image = looked_at
        return win

    o = ExportOptions(lesson=str(LESSON9), out=str(tmp_path / "s.png"), size=(960, 540), step=2)
    export(o, lesson=load_lesson(o), window_factory=factory)
    menu, status, top, size, widest, room = seen[-1]
    from zpviz.export.render import render_size

    assert not menu and not status and top == 0 and size == render_size((960, 540))
    assert 0 < widest <= room, "at 960 px every function name of the kernel path is whole"
    # the screenshot's picture: the first rows are the caption panel, not a menu bar
    out = tmp_path / "shot.png"
    assert _render(str(LESSON2), "v5", None, 1, str(out), "light", MemorySettings(), (1280, 720)) == 0
    assert _render(str(LESSON2), "v5", None, 1, str(tmp_path / "c.png"), "light", MemorySettings(), (1280, 720),
                   chrome=True) == 0
    from PIL import Image

    bare, chrome = (np.asarray(Image.open(p).convert("RGB"))[:20] for p in (out, tmp_path / "c.png"))
    assert not np.array_equal(bare, chrome)


def test_zoom_option_shows_one_cell_per_page_and_bad_values_exit_2(qtbot, settings, tmp_path, capsys):
    from zpviz.cli import main

    win = _window(qtbot, settings, LESSON2, kernel="v5")
    win.set_step(1)
    win.resize(1280, 720)
    space = win.panes[0].view.space
    win.render_image((1280, 720))
    assert not space.overview.zoomed() and space.overview.inset().isEmpty()
    win.zoom_region("table:0-15")
    rgb = qimage_to_rgb(win.render_image((1280, 720)))
    vr = win.panes[0].view.view_rect()
    assert vr.left() <= 0 and vr.right() >= 16 and vr.width() < 40
    assert space.glyphs.cell_px() >= 15  # big enough for a glyph per page
    # the overview, in the view's corner, outlines where the zoom is: the grid's top-left corner
    inset, box = space.overview.inset(), space.overview.outline()
    assert not inset.isEmpty() and inset.contains(box) and box.width() < inset.width() / 4
    assert abs(box.left() - inset.left()) < 1 and abs(box.top() - inset.top()) < 1
    vb = space.getViewBox()
    corner = win.panes[0].view.mapTo(win, win.panes[0].view.mapFromScene(
        vb.mapToScene(QtCore.QPointF(box.left() - 1, box.center().y()))))
    accent = np.array([int(theme("light").accent[i:i + 2], 16) for i in (1, 3, 5)])
    near = rgb[corner.y() - 1:corner.y() + 2, corner.x() - 1:corner.x() + 2].reshape(-1, 3)
    assert (np.abs(near.astype(int) - accent).sum(axis=1) < 40).any(), "the outline is drawn in the accent colour"
    # the vma's title makes room for the overview instead of running on under it
    assert space.headers[0].textItem.toPlainText() == "scanner \u00b7 table"
    win.reset_zoom()
    win.render_image((1280, 720))
    assert not space.overview.zoomed()
    assert space.headers[0].textItem.toPlainText() == "scanner \u00b7 table  (anon, 256 MiB)"
    out = tmp_path / "z.png"
    assert main([str(LESSON2), "--step", "1", "--size", "1280x720", "--zoom", "table:0-15",
                 "--screenshot", str(out)]) == 0 and out.exists()
    for bad, words in (("table:x", "VMA:FIRST-LAST"), ("nope", "no vma named 'nope'"),
                       ("table:0-70000", "pages 0-65535"), ("table:9-2", "comes before")):
        assert main([str(LESSON2), "--zoom", bad, "--screenshot", str(tmp_path / "b.png")]) == 2
        assert words in capsys.readouterr().err
        assert main(["export", str(LESSON2), "-o", str(tmp_path / "b.png"), "--zoom", bad]) == 2
        assert words in capsys.readouterr().err
    assert not (tmp_path / "b.png").exists()


def test_flag_rects_cover_exactly_the_flagged_cells():
    from zpviz.gui.marks import flag_rects
    from zpviz.present import codes as K

    rng = np.random.default_rng(7)
    codes = np.zeros((40, 64), np.uint8)
    codes[5:30, 8:40] |= K.MLOCKED  # a locked vma: one rectangle
    codes[rng.random(codes.shape) < 0.05] |= K.MLOCKED  # and scattered pages
    rects = flag_rects(codes, K.MLOCKED)
    cover = np.zeros(codes.shape, int)
    for r, c, nr, nc in rects:
        cover[r:r + nr, c:c + nc] += 1
    assert (cover == ((codes & K.MLOCKED) != 0)).all()  # every flagged cell once, nothing else
    assert len(rects) < int(((codes & K.MLOCKED) != 0).sum() / 4)


@pytest.mark.parametrize("theme_name", ["light", "dark", "contrast"])
def test_mlocked_pages_are_hatched_at_720p(qtbot, settings, theme_name):
    """Lesson 8's end, five kernels at 1280x720: the mlocked vma ("fresh") carries the hatch over its
    fill in every pane; the unlocked one ("work") does not."""
    win = _window(qtbot, settings, ROOT / "scenarios" / "08-mlock-writable.toml", theme_name=theme_name)
    win.set_frame(win.frame_count() - 1)
    rgb = qimage_to_rgb(win.render_image((1280, 720))).astype(int)
    t = theme(theme_name)
    panel = np.array([int(t.panel[i:i + 2], 16) for i in (1, 3, 5)])
    L = win.lesson
    for i, pane in enumerate(win.panes):
        sx, sy, ox, oy = _view_to_window(pane, win)
        share = {}
        for vma in ("fresh", "work"):  # the share of pixels in the panel's colour: gaps between cells, hatch
            b = next(b for b in L.grid.blocks if b.vma == vma)
            x0, y0 = int(ox + 0.2 * sx) + 1, int(oy + b.row0 * sy) + 1
            x1 = int(ox + min(L.grid.width, b.npages) * sx) - 1
            y1 = int(oy + (b.row0 + b.nrows) * sy) - 1
            patch = rgb[y0:y1, x0:x1].reshape(-1, 3)
            share[vma] = (np.abs(patch - panel).sum(axis=1) < 60).mean()
        assert share["fresh"] > share["work"] + 0.1, (L.kernels[i], share)


def test_a_960_px_window_stays_960_px_with_the_kernel_path_whole(qtbot, settings):
    """Lesson 9's five kernels in a 960x540 window (--screenshot --size 960x540): the transport bar
    used to force the window to 985 px; and every function name of the path is whole, not cut or broken."""
    win = _window(qtbot, settings, LESSON9)
    win.set_frame(win.lesson.lead.step_results[2].first_event + 1)
    img = win.render_image((960, 540))
    assert (img.width(), img.height()) == (960, 540) and win.width() == 960
    kv = win.kernel_view
    from PySide6 import QtGui

    from zpviz.gui.theme import font

    fm = QtGui.QFontMetrics(font(kv.path_pt(), mono=True))
    assert kv._names and max(fm.horizontalAdvance(n) for n in kv._names) <= kv.scroll.viewport().width()
    assert "\u200b" not in kv.path.text()  # no name needed a break


def test_a_960_px_export_keeps_every_read_page(qtbot, tmp_path):
    """A 960x540 export is the 1280x720 window scaled by 0.75: the grids pool for the picture's pixels,
    so each of lesson 2's 1,024 read pages still leaves a pixel of (nearly) its state's colour."""
    from PIL import Image

    from zpviz.export.job import ExportOptions, default_window, export, load_lesson

    seen = {}

    def factory(*a):
        win = default_window(*a)
        render = win.render_image

        def looked_at(size):
            img = render(size)
            seen["kernels"] = win.lesson.kernels
            seen["grid"] = win.lesson.grid
            seen["panes"] = [(_view_to_window(p, win), p.view.space.image.last_factors,
                              win.lesson.traces[i].frame(p.view.picture.frame).page_states(),
                              [win.lesson.grid.cell_of(s) for s in p.view.picture.flash_slots])
                             for i, p in enumerate(win.panes)]
            seen["window"] = (img.width(), img.height())
            return img

        win.render_image = looked_at
        return win

    o = ExportOptions(lesson=str(LESSON2), out=str(tmp_path / "e.png"), size=(960, 540), step=1,
                      compare=tuple(FOUR))
    export(o, lesson=load_lesson(o), window_factory=factory)
    rgb = np.asarray(Image.open(tmp_path / "e.png").convert("RGB")).astype(int)
    s = 960 / seen["window"][0]
    grid = seen["grid"]
    block = next(b for b in grid.blocks if b.vma == "table")
    read = block.base + np.arange(0, 65536, 64)
    rows, cols = np.divmod(grid.slot_cell[read], grid.width)
    lut = page_lut(theme("light"))
    for kid, ((sx, sy, ox, oy), (fy, fx), states, flash) in zip(seen["kernels"], seen["panes"]):
        assert fx * sx * s >= 2 - 1e-6, "a pooled block spans 2 pixels of the picture"
        colour = lut[1 + int(states[read[0]]), :3].astype(int)
        x0, y0 = (ox + (cols // fx) * fx * sx) * s, (oy + (rows // fy) * fy * sy) * s
        x1, y1 = x0 + fx * sx * s, y0 + fy * sy * s
        ring = [((ox + (c + 0.5) * sx) * s, (oy + (r + 0.5) * sy) * s) for r, c in flash]
        missing = []
        for k in range(len(read)):
            patch = rgb[int(y0[k]):int(np.ceil(y1[k])), int(x0[k]):int(np.ceil(x1[k]))].reshape(-1, 3)
            if not (np.abs(patch - colour).sum(axis=1) < 60).any():
                cx, cy = (x0[k] + x1[k]) / 2, (y0[k] + y1[k]) / 2
                if not any(np.hypot(cx - rx, cy - ry) <= RING_PX * s for rx, ry in ring):
                    missing.append(int(read[k] - block.base))
        assert not missing, f"{kid}: pages {missing[:10]} left no pixel of their state"


LESSON1 = ROOT / "scenarios" / "01-demand-paging.toml"


@pytest.mark.parametrize("size", [(1280, 720), (1920, 1080)])
def test_a_compare_screenshot_shows_every_variants_pane(qtbot, settings, size):
    """Lesson 1 under modern and 2.6.24 rendered at the projector's size: the area re-arranges for the
    new size (side by side at 720p, so new panes). Those panes were made inside grab() and never
    painted: the 1280x720 screenshot showed the caption and the compare table over an empty area."""
    win = _window(qtbot, settings, LESSON1, compare=["modern", "2.6.24"])
    win.set_step(2)
    rgb = qimage_to_rgb(win.render_image(size))
    lut = page_lut(theme("light"))
    absent = lut[1 + 1, :3]  # ST_NONE: pages 1-63 are not present yet in both variants
    assert len(win.panes) == 2
    for pane in win.panes:
        assert pane.isVisibleTo(win)
        r = QtCore.QRect(pane.mapTo(win, QtCore.QPoint(0, 0)), pane.size())
        patch = rgb[r.top():r.bottom() + 1, r.left():r.right() + 1].reshape(-1, 3)
        assert len(np.unique(patch, axis=0)) > 8, "the pane's title, outcome and grid are painted"
        assert (patch == absent).all(axis=1).sum() > 1000, "the pane's grid is painted"


def test_a_720p_compare_names_the_lead_and_shows_the_bad_page_maps(qtbot, settings):
    """Lesson 9's failed mlock, v5 beside 2.6.32 and modern at 1280x720: the Bad page maps row of the
    compare table was the last row, cut off below the dock, on the very step whose point it is; and the
    kernel path (v5's print_bad_pte) did not say it was v5's."""
    win = _window(qtbot, settings, LESSON9, compare=["v5", "2.6.32", "modern"])
    win.set_step(1)
    win.render_image((1280, 720))
    table = win.diff
    row = next(i for i in range(table.rowCount()) if table.verticalHeaderItem(i).toolTip() == "Bad page maps so far")
    assert [table.cell_text(row, j) for j in range(3)] == ["1", "0", "0"]
    rect = table.visualRect(table.model().index(row, 0))
    assert rect.top() >= 0 and rect.bottom() <= table.viewport().height(), "the whole row is in view"
    assert win.docks["kernel"].windowTitle() == "Kernel path \u00b7 v5"
    assert win.docks["counters"].titleBarWidget().heading() == "Per-CPU counters \u00b7 v5"


def test_the_page_tables_label_carries_their_colour(qtbot, settings):
    """Lesson 3 under 2.6.24 at 720p: the label sits on the first page-table frame, just above 8 MiB of
    anon frames, and read as their name. It now starts with a swatch of the page tables' colour."""
    win = _window(qtbot, settings, ROOT / "scenarios" / "03-no-zero-page-2624.toml", kernel="2.6.24",
                  theme_name="dark")
    win.set_step(3)
    rgb = qimage_to_rgb(win.render_image((1280, 720)))
    label = win.panes[0].view.phys.pt_label
    assert "page tables \u00b7 6 frames" in label.textItem.toPlainText()
    brown = np.array(QtGui.QColor(theme("dark").frame_kinds[6]).getRgb()[:3])  # FRAME_KIND_NAMES: page table
    r = label.mapRectToScene(label.boundingRect())
    view = win.panes[0].view.phys.getViewWidget()
    p = view.mapTo(win, view.mapFromScene(r.topLeft()))
    box = rgb[p.y():p.y() + int(r.height()) + 2, p.x():p.x() + 40].reshape(-1, 3)
    assert (np.abs(box.astype(int) - brown).sum(axis=1) <= 6).sum() >= 20, "the swatch is painted"


def test_the_kernel_path_shows_its_why_at_720p(qtbot, settings):
    """Lesson 7 under v5 at 1280x720: the calls were fitted alone, at 13 pt, and the why
    ("use_zero_page(vma) is true: pte_mkspecial(ZERO_PAGE) ...") sank under the fold but for its
    first line. The path now shrinks (not below 11 pt) until the why and the outcome fit too."""
    from zpviz.gui.kernelview import TAIL_MIN_PT

    win = _window(qtbot, settings, ROOT / "scenarios" / "07-v5-special-pte.toml", kernel="v5")
    win.set_step(1)
    win.render_image((1280, 720))
    kv = win.kernel_view
    assert "why:" in kv.path_text() and "outcome:" in kv.path_text()
    assert kv.path_pt() >= TAIL_MIN_PT
    need = kv.path.heightForWidth(kv.scroll.viewport().width())
    assert need <= kv.scroll.viewport().height(), "calls, why and outcome all in view"
