"""One export, start to finish: options -> lesson -> offscreen window -> frames -> a file in place.

Used by the command line (export.cli) and the app (export.dialog). Rendering happens on the
calling (GUI) thread, because Qt widgets live there; encoding runs in ffmpeg (MP4) or inline
(GIF, PNG). Each distinct picture is rendered once: a picture held for n frames is handed to the
writers once with a count of n.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from zpviz.export.safe import ExportCancelled, ExportError, atomic_dir, atomic_file, check_target
from zpviz.export.timeline import Timeline, build_timeline, still_frame

FORMATS = ("mp4", "gif", "png", "svg")
DEFAULT_SIZE = {"mp4": (1280, 720), "gif": (960, 540), "png": (1280, 720), "svg": (1280, 720)}
DEFAULT_FPS = {"mp4": 30.0, "gif": 15.0, "png": 30.0, "svg": 30.0}
MIN_SIZE, MAX_SIZE = (320, 200), (7680, 4320)
PALETTE_SAMPLES = 12

Progress = Callable[[int, int], None]
Cancelled = Callable[[], bool]


@dataclass(frozen=True)
class ExportOptions:
    lesson: str  # the lesson file (for messages; the app passes its built lesson too)
    out: str
    kernel: str | None = None
    compare: tuple[str, ...] | None = None
    first: int | None = None  # --from
    last: int | None = None  # --to
    per: str = "event"
    fps: float | None = None
    size: tuple[int, int] | None = None
    theme: str = "light"
    step: int | None = None  # the still's step (png, svg)
    frames_dir: str | None = None
    chrome: bool = False  # keep the menu bar and status bar (a slide leaves them out)
    zoom: str | None = None  # `--zoom VMA[:PAGES]` (present.zoom): the region every frame shows

    @property
    def fmt(self) -> str:
        return output_format(self.out)

    def resolved_size(self) -> tuple[int, int]:
        w, h = self.size or DEFAULT_SIZE[self.fmt]
        if self.fmt == "mp4":  # yuv420p: even sizes
            w, h = w - w % 2, h - h % 2
        return w, h

    def resolved_fps(self) -> float:
        return float(self.fps) if self.fps else DEFAULT_FPS[self.fmt]


@dataclass(frozen=True)
class ExportResult:
    path: str
    fmt: str
    size: tuple[int, int]
    frames: int  # output frames (1 for a still)
    renders: int  # pictures rendered
    seconds: float  # wall time
    duration: float  # seconds of animation (0 for a still)
    nbytes: int
    frames_dir: str | None = None
    extra: dict = field(default_factory=dict)

    @property
    def fps(self) -> float:
        """Export speed: output frames per second of wall time, rendering included."""
        return self.frames / self.seconds if self.seconds > 0 else 0.0


def output_format(out: str) -> str:
    ext = Path(out).suffix.lower().lstrip(".")
    if ext not in FORMATS:
        raise ValueError(f"cannot tell the format of {out!r}: give a name ending in "
                         f"{', '.join('.' + f for f in FORMATS)}")
    return ext


def check_options(o: ExportOptions) -> None:
    """Everything that can be checked before the lesson runs; raises ValueError naming the option."""
    fmt = o.fmt
    w, h = o.size or DEFAULT_SIZE[fmt]
    if not (MIN_SIZE[0] <= w <= MAX_SIZE[0] and MIN_SIZE[1] <= h <= MAX_SIZE[1]):
        raise ValueError(f"--size {w}x{h} is out of range: from {MIN_SIZE[0]}x{MIN_SIZE[1]} "
                         f"to {MAX_SIZE[0]}x{MAX_SIZE[1]}")
    if o.fps is not None and not 0 < o.fps <= 120:
        raise ValueError(f"--fps {o.fps:g} is out of range: 0 < fps <= 120")
    if fmt == "gif" and o.fps is not None and o.fps > 50:
        raise ValueError(f"--fps {o.fps:g} is too fast for a GIF (its delays are in 1/100 s): at most 50")
    if o.per not in ("event", "step"):
        raise ValueError(f"--per must be 'event' or 'step', not {o.per!r}")
    if o.step is not None and fmt in ("mp4", "gif"):
        raise ValueError("--step picks the still of a PNG or SVG; use --from/--to for animations")
    if o.frames_dir is not None and fmt == "svg":
        raise ValueError("--frames writes PNG frames; use it with -o OUT.png, .mp4 or .gif")
    from zpviz.present.palette import theme

    theme(o.theme)
    if o.zoom is not None:
        from zpviz.present.zoom import parse_zoom

        parse_zoom(o.zoom)


# ------------------------------------------------------------------------------ the lesson and its window
def load_lesson(o: ExportOptions):
    """Load and simulate the lesson under the variants to show (LessonError for a bad file)."""
    from zpviz.present.session import build_lesson
    from zpviz.scenario import load

    sc = load(o.lesson)
    return build_lesson(sc, o.kernel, list(o.compare) if o.compare else None)


WindowFactory = Callable[..., object]  # (lesson, theme_name, size) -> a window (see render.WindowRenderer)


def default_window(lesson, theme: str, size: tuple[int, int]):
    from zpviz.export.window import make_export_window

    return make_export_window(lesson, theme, size)


# ------------------------------------------------------------------------------ running it
def export(o: ExportOptions, *, lesson=None, window_factory: WindowFactory | None = None,
           progress: Progress | None = None, cancelled: Cancelled | None = None) -> ExportResult:
    """Write the export `o` describes. Raises ValueError (options), LessonError, ExportError, ExportCancelled."""
    check_options(o)
    check_target(Path(o.out))  # before the lesson runs: a bad folder fails at once
    fmt, size = o.fmt, o.resolved_size()
    t0 = time.perf_counter()
    if lesson is None:
        lesson = load_lesson(o)
    from zpviz.export.render import WindowRenderer, ensure_app

    ensure_app()
    factory = window_factory or default_window

    zoom_slots = _zoom_slots(o, lesson)  # a bad --zoom fails before anything is rendered

    def new_renderer() -> WindowRenderer:
        win = factory(lesson, o.theme, size)
        if hasattr(win, "set_chrome"):  # the app's window (test windows have no chrome to hide)
            win.set_chrome(o.chrome)
        renderer = WindowRenderer(win, size)
        if zoom_slots is not None and hasattr(win, "zoom_region"):
            win.zoom_region(o.zoom)  # after the renderer fixed the window's size
        return renderer

    if fmt in ("png", "svg"):
        frame = still_frame(lesson.lead, o.step)  # checked before any window is built
    timeline = _timeline(lesson, o) if fmt in ("mp4", "gif") or o.frames_dir else None
    palette = _palette(timeline, new_renderer, cancelled) if fmt == "gif" else None
    renderer = new_renderer()
    try:
        if fmt in ("png", "svg"):
            result = _still(o, lesson, renderer, frame, timeline, new_renderer, progress, cancelled)
        else:
            result = _animation(o, timeline, renderer, palette, progress, cancelled)
    finally:
        renderer.close()
    return replace(result, seconds=time.perf_counter() - t0)


def _zoom_slots(o: ExportOptions, lesson) -> tuple[int, int] | None:
    """The slots --zoom names in the lesson (ValueError naming the option for a bad one)."""
    if o.zoom is None:
        return None
    from zpviz.present.zoom import parse_zoom, zoom_slots

    return zoom_slots(parse_zoom(o.zoom), lesson.grid)


def _timeline(lesson, o: ExportOptions) -> Timeline:
    return build_timeline(lesson.lead, o.resolved_fps(), o.per, o.first, o.last)


def _size_of(path: str) -> int:
    with contextlib.suppress(OSError):
        return Path(path).stat().st_size
    return 0


def _still(o, lesson, renderer, frame, timeline, new_renderer, progress, cancelled) -> ExportResult:
    """The still shows its frame straight away, like `zpviz --screenshot`; --frames plays in a window of its own."""
    with contextlib.ExitStack() as stack:
        frames_tmp = stack.enter_context(atomic_dir(o.frames_dir)) if o.frames_dir else None
        tmp = stack.enter_context(atomic_file(o.out))
        renderer.show_frame(frame)
        if o.fmt == "png":
            from zpviz.export.png import write_png

            write_png(tmp, renderer.picture(), label=o.out)
        else:
            renderer.write_svg(tmp, lesson.scenario.title, _caption(lesson, frame))
        n = 0
        if timeline is not None:
            from zpviz.export.png import FramesWriter

            player = new_renderer()
            try:
                _pump(timeline, player, [FramesWriter(frames_tmp, renderer.size, label=o.frames_dir)], progress,
                      cancelled)
            finally:
                player.close()
            n = timeline.n_frames
    return ExportResult(o.out, o.fmt, renderer.size, max(n, 1), renderer.renders, 0.0, 0.0, _size_of(o.out),
                        o.frames_dir, {"frame": frame})


def _caption(lesson, frame: int) -> str:
    from zpviz.present.captions import caption_at, shared_caption

    cap = caption_at(lesson.lead, frame)  # the leading variant's words; in compare mode only what all share
    if lesson.compare:
        cap = shared_caption(lesson.traces, lesson.aligned(frame), cap)
    return f"{cap.counter}: {cap.say}"


def _animation(o, timeline: Timeline, renderer, palette, progress, cancelled) -> ExportResult:
    size, fps = renderer.size, timeline.fps
    with contextlib.ExitStack() as stack:
        frames_tmp = stack.enter_context(atomic_dir(o.frames_dir)) if o.frames_dir else None
        tmp = stack.enter_context(atomic_file(o.out))
        if o.fmt == "mp4":
            from zpviz.export.mp4 import Mp4Writer

            main = Mp4Writer(tmp, size, fps, label=o.out)
        else:
            from zpviz.export.gif import GifWriter

            main = GifWriter(tmp, size, fps, palette, label=o.out)
        writers = [main]
        if frames_tmp is not None:
            from zpviz.export.png import FramesWriter

            writers.append(FramesWriter(frames_tmp, size, label=o.frames_dir))
        _pump(timeline, renderer, writers, progress, cancelled)
    extra = {"gif_frames": getattr(main, "gif_frames", None), "distinct": timeline.distinct()}
    return ExportResult(o.out, o.fmt, size, timeline.n_frames, renderer.renders, 0.0, timeline.duration,
                        _size_of(o.out), o.frames_dir, extra)


def _palette(timeline: Timeline, new_renderer, cancelled) -> np.ndarray:
    """The GIF's shared palette, from pictures spread over the export (first and last included).

    They come from a window of their own: jumping about the lesson must not change the history of
    the window that renders the animation (a view that settles over several pictures would show it).
    """
    from zpviz.export.gif import build_palette

    shots = timeline.shots
    picks = sorted({round(i * (len(shots) - 1) / max(PALETTE_SAMPLES - 1, 1)) for i in range(PALETTE_SAMPLES)})
    renderer = new_renderer()
    try:
        out = []
        for i in picks:
            if cancelled is not None and cancelled():
                raise ExportCancelled()
            out.append(renderer.picture(shots[i].frame))
    finally:
        renderer.close()
    return build_palette(out)


def _pump(timeline: Timeline, renderer, writers, progress, cancelled) -> None:
    """Render each distinct picture once and hand it to every writer; abort them all on any error."""
    total = timeline.n_frames
    done = 0
    pic: np.ndarray | None = None
    shown: int | None = None
    try:
        if progress:
            progress(0, total)
        for shot in timeline.shots:
            if cancelled is not None and cancelled():
                raise ExportCancelled()
            if shot.frame != shown or pic is None:
                pic = renderer.picture(shot.frame)
                shown = shot.frame
            for w in writers:
                w.add(pic, shot.count)
            done += shot.count
            if progress:
                progress(done, total)
        for w in writers:
            w.finish()
    except BaseException:
        for w in writers:
            with contextlib.suppress(Exception):
                w.abort()
        raise
    if done != total:  # pragma: no cover (a timeline bug)
        raise ExportError(f"wrote {done} frames of {total}")
