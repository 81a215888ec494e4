"""App and export benchmarks (Qt, offscreen): called by bench/run.py."""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ROOT = Path(__file__).resolve().parent.parent
TOUR = ROOT / "scenarios" / "tour.toml"


def _median_ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 2)


def render_grid_ms(pages: int, n: int = 40) -> float:
    """Update the address-space grid of a `pages`-page lesson with a new frame's codes and paint it."""
    import pyqtgraph as pg
    from PySide6 import QtWidgets

    from zpviz.engine.run import simulate
    from zpviz.gui.gridview import AddressSpacePlot
    from zpviz.present.grid import frame_image, grid_layout
    from zpviz.present.palette import THEMES
    from zpviz.scenario import loads

    QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    text = (f'[scenario]\ntitle = "g"\ncpus = 4\n[[vma]]\nname = "t"\npages = {pages}\n'
            '[[step]]\ndo = "read"\nvma = "t"\npages = "all"\ncpus = [0, 1, 2, 3]\n'
            f'[[step]]\ndo = "write"\nvma = "t"\npages = "0-{pages - 1}/3"\ncpus = [0, 1, 2, 3]\n')
    tr = simulate(loads(text, "g.toml"))
    grid = grid_layout(tr.layout)
    w = pg.GraphicsLayoutWidget()
    w.resize(1200, 900)
    plot = AddressSpacePlot(THEMES["light"])
    w.addItem(plot)
    plot.set_grid(grid)
    frames = [tr.frame(i) for i in range(0, len(tr), max(1, len(tr) // n))][:n]
    images = [frame_image(f, grid, tr.kernel.pg_mlocked) for f in frames]
    w.grab()  # first paint: fonts, caches
    times = []
    for img in images:
        t = time.perf_counter()
        plot.set_codes(img)
        w.grab()
        times.append(time.perf_counter() - t)
    return _median_ms(times)


def _window(path: str, kernel: str | None = None, size=(1920, 1080)):
    from PySide6 import QtCore, QtWidgets

    from zpviz.gui.mainwindow import MainWindow

    QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    # MainWindow.grab creates the never-shown window: the offscreen platform then notes, at each
    # change of its minimum size, that it cannot pass size hints on (left out, as zpviz's CLI does)
    QtCore.qInstallMessageHandler(_offscreen_quiet)
    win = MainWindow(settings=QtCore.QSettings(str(Path(tempfile.mkdtemp()) / "s.ini"),
                                              QtCore.QSettings.Format.IniFormat), offscreen=True)
    # Built in the order of zpviz's CLI (gui/app._render, a screenshot's window with --chrome): the
    # lesson opened at the window's first size, then render_image's resize to `size`, the docks fitted
    # to it, the layouts settled and a first grab. A window resized before the lesson opens gives
    # the docks other widths (the compare dock 564x539 px at 1920x1080 where the CLI's is 468x523)
    # and the compare table's values another fit: not the picture the room and the exports see.
    win.open_lesson(path, kernel, None, sync=True)
    win.render_image(size)
    return win


def _close(win) -> None:
    from PySide6 import QtCore

    win.close()
    win.deleteLater()  # delete it now: a window left to interpreter exit can outlive QApplication
    QtCore.QCoreApplication.sendPostedEvents(None, QtCore.QEvent.Type.DeferredDelete)


def window_step_ms(n: int = 60, kernel: str | None = None) -> float:
    """One step of the whole window (grid, physical memory, plots, panels) on the tour, painted.

    kernel=None: the tour as it opens, four variants side by side; a kernel: that variant alone."""
    return window_step_times(n, kernel)[0]


def window_step_times(n: int = 60, kernel: str | None = None) -> tuple[float, float]:
    """window_step_ms's median step in wall time and in this process's CPU time (ms): on a shared
    machine the CPU time is the figure that says what the step costs, the wall time what it took."""
    win = _window(str(TOUR), kernel)
    start = win.frame_count() // 3
    win.set_frame(start)
    win.grab()
    times, cpu = [], []
    for i in range(n):
        t, c = time.perf_counter(), time.process_time()
        win.set_frame(start + i + 1)
        win.grab()
        times.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    _close(win)
    return _median_ms(times), _median_ms(cpu)


def shown_step_times(n: int = 60, kernel: str | None = None) -> tuple[float, float]:
    """One step as a shown window gets it, in wall time and in this process's CPU time (ms, medians).

    window_step_times grabs the whole window after each step: every widget paints, once. A shown
    window (here a window of the offscreen platform, whose backing store is an image and whose flush
    copies nothing) repaints from the event loop what the step made dirty: the widgets whose content
    changed, and what lies under a transparent one, in as many passes as Qt makes (a memory view's
    scene asks for its own), after the layout requests the step posted. A step here is set_frame
    and the event loop until the window has no repaint pending. This is closer to what a lecturer's
    screen costs per step; the grab figures stay the ones with targets (export and screenshots grab)."""
    from PySide6 import QtCore, QtWidgets

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])  # noqa: F841 (held: it must outlive the window)
    quiet = QtCore.qInstallMessageHandler(_offscreen_quiet)  # shown on the offscreen platform: its notes
    win = _window(str(TOUR), kernel)
    try:
        win.show()
        settle = _Repaints(win).settle
        settle()
        start = win.frame_count() // 3
        win.set_frame(start)
        settle()
        times, cpu = [], []
        for i in range(n):
            t, c = time.perf_counter(), time.process_time()
            win.set_frame(start + i + 1)
            settle()
            times.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
        _close(win)
    finally:
        QtCore.qInstallMessageHandler(quiet)
    return _median_ms(times), _median_ms(cpu)


class _Repaints:
    """Whether the window was asked to repaint (an UpdateRequest reached it) since `asked` was cleared."""

    def __init__(self, win):
        from PySide6 import QtCore

        class Filter(QtCore.QObject):
            def eventFilter(inner, obj, ev) -> bool:  # noqa: N802, N805 (Qt's name; inner: the filter)
                if ev.type() == QtCore.QEvent.Type.UpdateRequest:
                    self.asked = True
                return False

        self.asked = False
        self._filter = Filter(win)
        win.installEventFilter(self._filter)

    def settle(self) -> None:
        """Process events until a pass asks for no repaint (a pass can post another: a view's
        scene after the window's), ten passes at most."""
        from PySide6 import QtWidgets

        app = QtWidgets.QApplication.instance()
        for _ in range(10):
            self.asked = False
            app.processEvents()
            if not self.asked:
                return


def _offscreen_quiet(mode, context, message) -> None:
    """The offscreen platform's notes on window-manager features it lacks, left out; the rest printed."""
    if "This plugin does not support" not in message:
        sys.stderr.write(message + "\n")


def scrub_fps(pages: int, n: int = 60) -> tuple[float, int]:
    """Dragging the timeline of a lesson of about a million events (bench.run.million_event_lesson)
    at 1920x1080: n seeks spread over the whole lesson, each drawn, as a drag would. Returns the
    frames drawn per second and the lesson's event count."""
    fps, _cpu, events = scrub_times(pages, n)
    return fps, events


def scrub_times(pages: int, n: int = 60) -> tuple[float, float, int]:
    """scrub_fps in wall time and per second of this process's CPU time, and the event count."""
    from bench.run import million_event_lesson

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "million.toml"
        path.write_text(million_event_lesson(pages))
        win = _window(str(path), "modern")
    frames = win.frame_count()
    targets = [1 + (frames - 2) * i // n for i in range(1, n + 1)]
    win._seek(targets[0] // 2)
    win.grab()
    t, c = time.perf_counter(), time.process_time()
    for f in targets:
        win._seek(f)  # what the timeline's drag calls
        win.grab()
    fps, cpu_fps = n / (time.perf_counter() - t), n / (time.process_time() - c)
    events = win.lesson.lead.n_events
    _close(win)
    return round(fps, 1), round(cpu_fps, 1), events


ONLY = ("render_grid_ms_median", "window_step_ms_median", "window_step_one_variant_ms_median",
        "window_step_shown_ms_median", "window_step_shown_one_variant_ms_median", "scrub_fps",
        "startup_s", "startup_first_frame_s", "scrub_drag_fps")
SHOWN = {"window_step_shown_ms_median": None, "window_step_shown_one_variant_ms_median": "modern"}
STARTUP_RUNS = 7  # --only startup_s / startup_first_frame_s: a start is noisy on a shared machine


def measure_only(keys: list[str], quick: bool = False) -> dict:
    """Just the named window figures (bench/run.py --only), each with its CPU-time twin
    (`..._cpu_ms_median`, `scrub_cpu_fps`)."""
    res: dict = {}
    n = 20 if quick else 60
    for key in keys:
        if key == "render_grid_ms_median":
            res[key] = render_grid_ms(16384 if quick else 262144)
        elif key in ("window_step_ms_median", "window_step_one_variant_ms_median"):
            kernel = None if key == "window_step_ms_median" else "modern"
            res[key], res[key.replace("_ms_median", "_cpu_ms_median")] = window_step_times(n, kernel)
        elif key in SHOWN:
            res[key], res[key.replace("_ms_median", "_cpu_ms_median")] = shown_step_times(n, SHOWN[key])
        elif key == "scrub_fps":
            res[key], res["scrub_cpu_fps"], res["scrub_trace_events"] = scrub_times(16384 if quick else 262144)
        elif key == "scrub_drag_fps":  # a lecturer's drag in a shown window: a process of its own (bench/scrub_drag.py)
            out = subprocess.run([sys.executable, str(Path(__file__).with_name("scrub_drag.py")),
                                  "--pages", str(16384 if quick else 262144), "--rounds", "1" if quick else "3"],
                                 cwd=ROOT, check=True, capture_output=True, text=True)
            res.update(json.loads(out.stdout.strip().splitlines()[-1]))
        elif key == "startup_s":  # best of the runs, as in a full run; with the median and the CPU time
            walls, cpus = startup_times(1 if quick else STARTUP_RUNS)
            res[key], res["startup_median_s"] = round(min(walls), 2), round(statistics.median(walls), 2)
            res["startup_cpu_s_median"] = round(statistics.median(cpus), 2)
        elif key == "startup_first_frame_s":
            cold, cpu, warm = first_frame_times(1 if quick else STARTUP_RUNS)
            res[key], res["startup_first_frame_median_s"] = round(min(cold), 2), round(statistics.median(cold), 2)
            res["startup_first_frame_cpu_s_median"] = round(statistics.median(cpu), 2)
            res["startup_first_frame_cached_s"] = round(min(warm), 2)
        else:
            raise ValueError(f"--only: {key!r} is not one of {', '.join(ONLY)}")
    return res


def export_figures() -> dict:
    """MP4 export speed at 1280x720 (rendering included) and GIF size per second at 960 px, over the tour."""
    from zpviz.export.job import ExportOptions, export

    out = {}
    with tempfile.TemporaryDirectory() as d:
        r = export(ExportOptions(lesson=str(TOUR), out=f"{d}/tour.mp4", size=(1280, 720)))
        out["export_mp4_fps"] = round(r.frames / r.seconds, 1)
        out["export_mp4_frames"] = r.frames
        g = export(ExportOptions(lesson=str(TOUR), out=f"{d}/tour.gif", size=(960, 540)))
        out["gif_kb_per_s"] = round(g.nbytes / 1024 / g.duration, 1)
        out["gif_seconds"] = round(g.duration, 1)
    return out


def _cold_env(d: str, run: int) -> dict:
    """A fresh process's environment: no settings, and an empty trace cache of its own."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", HOME=d, XDG_CONFIG_HOME=d,
               ZPVIZ_CACHE_DIR=f"{d}/cache-{run}")
    env.pop("ZPVIZ_NO_CACHE", None)
    # an installed app has its bytecode; a sandbox that forbids writing it would time the compiler
    # (about 0.2 s a start); the first run writes it for the others
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def _child_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def startup_times(runs: int = 3) -> tuple[list[float], list[float]]:
    """`runs` cold `zpviz --screenshot` runs of the finished tour, each a fresh process with an
    empty trace cache: their wall times and CPU times (the process's and its children's, the
    start-up worker of present/prefetch.py included)."""
    walls, cpus = [], []
    with tempfile.TemporaryDirectory() as d:
        for run in range(runs):
            c, t = _child_cpu(), time.perf_counter()
            subprocess.run([sys.executable, "-m", "zpviz", "--screenshot", f"{d}/s.png"], cwd=ROOT,
                           env=_cold_env(d, run), check=True, capture_output=True)
            walls.append(time.perf_counter() - t)
            cpus.append(_child_cpu() - c)
    return walls, cpus


def startup_s(runs: int = 3) -> float:
    """A cold `zpviz --screenshot` of the finished tour, in a fresh process with an empty trace
    cache (best of `runs`)."""
    return round(min(startup_times(runs)[0]), 2)


def _first_frame(env: dict) -> tuple[float, float]:
    """The first frame's time, and the CPU time of the whole process (it quits after that frame)."""
    c, t0 = _child_cpu(), time.time()
    out = subprocess.run([sys.executable, str(Path(__file__).with_name("first_frame.py")), str(TOUR)], cwd=ROOT,
                         env=env, check=True, capture_output=True, text=True)
    shown = [line for line in out.stdout.splitlines() if line.startswith("first-frame ")]
    return float(shown[-1].split()[1]) - t0, _child_cpu() - c


def first_frame_times(runs: int = 3) -> tuple[list[float], list[float], list[float]]:
    """`runs` cold starts of the tour to its first frame (see startup_first_frame_s): wall times
    and CPU times, and after each a warm start (the cache filled by a --screenshot)'s wall time."""
    cold, cpu, warm = [], [], []
    with tempfile.TemporaryDirectory() as d:
        for run in range(runs):
            env = _cold_env(d, run)
            w, c = _first_frame(env)
            cold.append(w)
            cpu.append(c)
            subprocess.run([sys.executable, "-m", "zpviz", "--screenshot", f"{d}/s.png"], cwd=ROOT, env=env,
                           check=True, capture_output=True)
            warm.append(_first_frame(env)[0])
    return cold, cpu, warm


def startup_first_frame_s(runs: int = 3) -> tuple[float, float]:
    """A cold start of the tour in a window (offscreen) to its first drawn frame: a fresh process
    with an empty trace cache, timed from before the process starts to the end of the first
    paint of a lesson picture (best of `runs`). bench/first_frame.py is that process. Also the
    same start with a cache that holds the tour (a `--screenshot` of it filled it: the tour
    opened before)."""
    cold, _cpu, warm = first_frame_times(runs)
    return round(min(cold), 2), round(min(warm), 2)


def measure(quick: bool = False) -> dict:
    res = {"render_grid_ms_median": render_grid_ms(16384 if quick else 262144),
           "window_step_ms_median": window_step_ms(20 if quick else 60),
           "window_step_one_variant_ms_median": window_step_ms(20 if quick else 60, "modern")}
    for key, kernel in SHOWN.items():  # (informative: no target; see shown_step_times)
        res[key], res[key.replace("_ms_median", "_cpu_ms_median")] = shown_step_times(20 if quick else 60, kernel)
    fps, events = scrub_fps(16384 if quick else 262144)
    res["scrub_fps"], res["scrub_trace_events"] = fps, events
    res.update(export_figures())
    res["startup_s"] = startup_s(1 if quick else 3)
    res["startup_first_frame_s"], res["startup_first_frame_cached_s"] = startup_first_frame_s(1 if quick else 3)
    return res
