"""Shared bits of the export tests: lessons, where a page's cell is in an exported picture, colours."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np

DATA = Path(__file__).parent / "data"
TINY = DATA / "tiny.toml"  # 4 steps (one narration), 16 pages, holds 0.4/0.8/0.6/0.4 s
COMPARE = DATA / "compare.toml"  # modern and 2.6.24 side by side, 2 steps of 0.5 s
POPULATE = DATA / "populate.toml"  # set-up work (MAP_POPULATE) before step 0
LONG = DATA / "long.toml"  # a 4096-event step
BAD = DATA / "bad.toml"  # a lesson with a problem on line 10


@cache
def lesson(path: Path = TINY, kernel: str | None = None, compare: tuple[str, ...] | None = None):
    from zpviz.present.session import build_lesson
    from zpviz.scenario import load

    return build_lesson(load(path), kernel, list(compare) if compare else None)


def lut_rgb(theme: str, code: int) -> tuple[int, int, int]:
    from zpviz.present.palette import page_lut
    from zpviz.present.palette import theme as named

    r, g, b, _ = page_lut(named(theme))[code]
    return int(r), int(g), int(b)


def state_code(lesson, variant: int, frame: int, slot: int) -> int:
    """The page code (without event bits) the window colours that page's cell with."""
    from zpviz.present.codes import slot_codes

    tr = lesson.traces[variant]
    return int(slot_codes(tr.frame(frame), tr.kernel.pg_mlocked)[slot])


def cell_points(lesson, theme: str, out_size, frame: int, cells) -> list[tuple[int, int]]:
    """Pixel positions, in an exported picture of out_size, inside the cells of (variant, slot) pairs.

    Uses a window made exactly as the exporter makes it, at the same frame, and the window's own
    view transform; the point is in the cell's lower-left part, clear of the glyph, the badge in
    the upper-right corner and the grid lines.
    """
    from PySide6 import QtCore

    from zpviz.export.render import WindowRenderer
    from zpviz.export.window import make_export_window

    r = WindowRenderer(make_export_window(lesson, theme, out_size), out_size)
    try:
        r.picture(frame)
        sx = out_size[0] / r.window_size[0]
        sy = out_size[1] / r.window_size[1]
        out = []
        for variant, slot in cells:
            view = r.window.panes[variant].view
            row, col = r.window.lesson.grid.cell_of(slot)  # the window picks its own row width
            scene = view.space.getViewBox().mapViewToScene(QtCore.QPointF(col + 0.22, row + 0.78))
            p = view.mapTo(r.window, view.mapFromScene(scene))
            out.append((int(p.x() * sx), int(p.y() * sy)))
        return out
    finally:
        r.close()


def near(a, b, tol: int) -> bool:
    return bool(np.all(np.abs(np.asarray(a, int) - np.asarray(b, int)) <= tol))


def decode_mp4(path) -> tuple[dict, list[np.ndarray]]:
    """(meta, RGB frames) through imageio-ffmpeg's reader (the bundled ffmpeg).

    imageio-ffmpeg 0.8's read_frames leaves its pipes to the garbage collector; they are collected
    here, with that ResourceWarning silenced, so it does not fail a later test.
    """
    import gc
    import warnings

    import imageio_ffmpeg

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gen = imageio_ffmpeg.read_frames(str(path))
        meta = next(gen)
        w, h = meta["size"]
        frames = [np.frombuffer(b, np.uint8).reshape(h, w, 3).copy() for b in gen]
        gen.close()
        del gen
        gc.collect()
    return meta, frames
