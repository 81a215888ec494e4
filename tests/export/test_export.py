"""Every export path once for real, through the app's own window, decoded back and checked.

Pixels are checked where the window draws a page's cell (found through the window's own view
transform), against the theme's palette colour for that page's state.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np
import pytest
from PIL import Image, ImageSequence

from tests.export.helpers import COMPARE, TINY, cell_points, decode_mp4, lesson, lut_rgb, near, state_code
from zpviz.engine import constants as C
from zpviz.export.job import ExportOptions, export
from zpviz.export.timeline import build_timeline
from zpviz.present import codes as K


@pytest.fixture(autouse=True)
def _app(qapp):
    return qapp


def state_of(code: int) -> int:
    return K.state_of(code)


def run(tmp_path, name, path=TINY, **kw):
    out = tmp_path / name
    kw.setdefault("lesson", str(path))
    r = export(ExportOptions(out=str(out), **kw), lesson=lesson(path))
    assert out.exists() and r.path == str(out)
    assert not [p for p in tmp_path.iterdir() if ".zpviz-" in p.name]  # no temporaries left
    return out, r


def test_png_is_the_windows_own_picture(tmp_path):
    """Not a second drawing: the PNG equals MainWindow.render_image at the same frame."""
    from PySide6 import QtCore

    from zpviz.export.render import qimage_to_rgb
    from zpviz.export.window import dispose_window, make_export_window

    out, r = run(tmp_path, "a.png", step=2)
    L = lesson(TINY)
    win = make_export_window(L, "light", (1280, 720))
    try:
        win.setFixedSize(1280, 720)
        win.set_frame(L.lead.step_end_frame(2))
        win.render_image(QtCore.QSize(1280, 720))  # a fresh window's first picture is not settled yet
        want = qimage_to_rgb(win.render_image(QtCore.QSize(1280, 720)))
    finally:
        dispose_window(win)
    got = np.asarray(Image.open(out).convert("RGB"))
    assert r.size == (1280, 720) and got.shape == (720, 1280, 3)
    assert np.array_equal(got, want)


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_png_cells_have_the_palette_colour_of_their_state(tmp_path, theme):
    L = lesson(TINY)
    out, _ = run(tmp_path, "b.png", step=2, theme=theme)  # after: 0-3,6,7 zero, 4-5 anon, 8-15 none
    frame = L.lead.step_end_frame(2)
    slots = (0, 4, 9)
    want_states = (C.ST_ZERO, C.ST_ANON, C.ST_NONE)
    img = np.asarray(Image.open(out).convert("RGB"))
    for (x, y), slot, st in zip(cell_points(L, theme, (1280, 720), frame, [(0, s) for s in slots]), slots,
                                want_states):
        code = state_code(L, 0, frame, slot)
        assert state_of(code) == st
        assert tuple(img[y, x]) == lut_rgb(theme, code), (slot, (x, y))


def test_compare_puts_the_variants_side_by_side(tmp_path):
    L = lesson(COMPARE)
    assert L.kernels == ("modern", "2.6.24")
    out, _ = run(tmp_path, "c.png", path=COMPARE, step=0)  # page 0 was read
    frame = L.lead.step_end_frame(0)
    (x0, y0), (x1, y1) = cell_points(L, "light", (1280, 720), frame, [(0, 0), (1, 0)])
    assert x1 > x0 + 200 or y1 > y0 + 100  # two grids: side by side (or stacked, as the window arranges them)
    img = np.asarray(Image.open(out).convert("RGB"))
    modern, old = state_code(L, 0, frame, 0), state_code(L, 1, L.aligned(frame)[1], 0)
    assert (state_of(modern), state_of(old)) == (C.ST_ZERO, C.ST_ANON)
    assert tuple(img[y0, x0]) == lut_rgb("light", modern) and tuple(img[y1, x1]) == lut_rgb("light", old)


def _svg_text(path) -> tuple[ET.Element, str]:
    root = ET.parse(path).getroot()
    words = " ".join(" ".join(e.itertext()) for e in root.iter() if e.tag.endswith("}text"))
    return root, " ".join(words.split())


def test_svg_is_vector_with_its_captions_as_text(tmp_path):
    out, r = run(tmp_path, "d.svg", step=1)
    root, text = _svg_text(out)
    assert root.get("viewBox") == "0 0 1280 720" and r.size == (1280, 720)
    say = lesson(TINY).scenario.steps[1].say
    assert "Step 2 of 4" in text and say in text
    assert "modern" in text  # the variant
    assert any(e.tag.endswith("}desc") and say in (e.text or "") for e in root)
    assert sum(e.tag.endswith("}text") for e in root.iter()) > 20  # labels stay text too
    # the address axis (a cached pixmap in the window) is text too: each row's address
    assert any(e.tag.endswith("}text") and (e.text or "").strip().startswith("7f") for e in root.iter())


def test_svg_compare_names_both_variants(tmp_path):
    out, _ = run(tmp_path, "e.svg", path=COMPARE)
    _, text = _svg_text(out)
    assert "comparing modern \u00b7 2.6.24" in text and "Step 2 of 2" in text


def test_tiny_mp4_decodes_with_the_lessons_timing(tmp_path):
    L = lesson(TINY)
    out, r = run(tmp_path, "f.mp4", fps=10, size=(640, 360))
    tl = build_timeline(L.lead, 10)
    meta, frames = decode_mp4(out)
    assert meta["codec"] == "h264" and meta["pix_fmt"].startswith("yuv420p")
    assert meta["fps"] == 10 and meta["size"] == (640, 360)
    assert len(frames) == r.frames == tl.n_frames == 4 + 8 + 6 + 4  # holds 0.4, 0.8, 0.6, 0.4 s
    assert r.renders <= tl.distinct()  # each distinct picture rendered once
    # page 4: not present through step 0, the zero page by the end of step 1, anon after step 2
    (x, y), = cell_points(L, "light", (640, 360), L.lead.step_end_frame(2), [(0, 4)])
    ends = np.cumsum(tl.step_counts) - 1
    none = lut_rgb("light", 1 + C.ST_NONE)
    zero = lut_rgb("light", state_code(L, 0, L.lead.step_end_frame(1), 4))
    anon = lut_rgb("light", state_code(L, 0, L.lead.step_end_frame(2), 4))
    assert near(frames[ends[0]][y, x], none, 24)
    assert near(frames[ends[1]][y, x], zero, 24)
    assert near(frames[ends[2]][y, x], anon, 24)


def test_tiny_gif_loops_merges_and_matches_the_window(tmp_path):
    L = lesson(TINY)
    out, r = run(tmp_path, "g.gif", fps=10)
    tl = build_timeline(L.lead, 10)
    with Image.open(out) as im:
        assert im.size == (960, 540) and im.info["loop"] == 0
        frames, durations = [], []
        for f in ImageSequence.Iterator(im):
            durations.append(f.info["duration"])
            frames.append(np.asarray(f.convert("RGB")).copy())
    assert sum(durations) == tl.n_frames * 100  # 2.2 s
    assert len(frames) == r.extra["gif_frames"] <= tl.distinct() < tl.n_frames  # repeats merged
    assert r.nbytes / 1024 / r.duration < 100  # KB per second of animation at 960 px
    # each GIF frame is the window's picture, played in the same order, through the shared palette
    from zpviz.export.render import WindowRenderer
    from zpviz.export.window import make_export_window

    rr = WindowRenderer(make_export_window(L, "light", (960, 540)), (960, 540))
    try:
        played = [rr.picture(s.frame) for s in tl.shots]
    finally:
        rr.close()
    pictures = [played[0]] + [b for a, b in zip(played, played[1:]) if not np.array_equal(a, b)]
    assert len(pictures) == len(frames)
    for got, want in zip(frames, pictures):
        err = np.abs(got.astype(int) - want.astype(int)).max(axis=2)
        assert (err == 0).mean() > 0.9 and err.mean() < 0.5  # only anti-aliased edges are approximated
    (x, y), = cell_points(L, "light", (960, 540), len(L.lead) - 1, [(0, 4)])
    assert tuple(frames[-1][y, x]) == lut_rgb("light", state_code(L, 0, len(L.lead) - 1, 4))


def test_gif_per_step_has_one_picture_per_step(tmp_path):
    L = lesson(TINY)
    out, r = run(tmp_path, "h.gif", fps=10, per="step", first=1, last=3, size=(640, 360))
    with Image.open(out) as im:
        durations = [f.info["duration"] for f in ImageSequence.Iterator(im)]
    assert durations == [round(s.hold_seconds() * 1000) for s in L.scenario.steps[1:]]
    assert r.renders <= 3 + 12  # three steps, plus the palette's samples


def test_frames_folder_holds_every_frame(tmp_path):
    L = lesson(TINY)
    frames_dir = tmp_path / "frames"
    out, r = run(tmp_path, "i.png", fps=5, per="step", frames_dir=str(frames_dir), size=(640, 360))
    tl = build_timeline(L.lead, 5, "step")
    names = sorted(p.name for p in frames_dir.iterdir())
    assert names == [f"frame_{i:05d}.png" for i in range(tl.n_frames)]
    assert r.frames == tl.n_frames
    with Image.open(frames_dir / names[-1]) as a, Image.open(out) as b:
        assert a.size == b.size == (640, 360)
        last, still = np.asarray(a.convert("RGB")), np.asarray(b.convert("RGB"))
    (x, y), = cell_points(L, "light", (640, 360), len(L.lead) - 1, [(0, 4)])
    assert tuple(last[y, x]) == tuple(still[y, x]) == lut_rgb("light", state_code(L, 0, len(L.lead) - 1, 4))
    # a picture held for several frames is written as identical files
    assert (frames_dir / names[0]).read_bytes() == (frames_dir / names[1]).read_bytes()


def test_cancel_leaves_nothing_and_keeps_the_old_file(tmp_path):
    from zpviz.export.safe import ExportCancelled

    out = tmp_path / "j.mp4"
    out.write_bytes(b"last year's lecture")
    calls = []

    def cancelled():
        calls.append(1)
        return len(calls) > 3

    with pytest.raises(ExportCancelled):
        export(ExportOptions(lesson=str(TINY), out=str(out), fps=10, size=(640, 360)), lesson=lesson(TINY),
               cancelled=cancelled)
    assert out.read_bytes() == b"last year's lecture"
    assert [p.name for p in tmp_path.iterdir()] == ["j.mp4"]


def test_progress_is_reported_to_the_end(tmp_path):
    seen = []
    run(tmp_path, "k.gif", fps=10, size=(640, 360))  # warm: one real run above is enough for timing
    export(ExportOptions(lesson=str(TINY), out=str(tmp_path / "l.gif"), fps=10, size=(640, 360)),
           lesson=lesson(TINY), progress=lambda d, t: seen.append((d, t)))
    assert seen[0] == (0, 22) and seen[-1] == (22, 22)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
