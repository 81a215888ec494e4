"""`zpviz export FILE -o OUT.{mp4,gif,png,svg} ...`: zpviz.cli hands the arguments after `export` to main().

Exit codes (docs/cli.md): 0 written; 2 an unusable lesson file, bad arguments or
an output that cannot be written (the message names the problem on stderr, a lesson's problems
one per line, never a traceback); 130 interrupted (Ctrl+C or SIGTERM), with nothing written.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import signal
import sys
import threading
from collections.abc import Sequence

from zpviz.errors import LessonError

EXIT_OK, EXIT_USAGE, EXIT_INTERRUPTED = 0, 2, 130
PROG = "zpviz export"


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one exit path: main() prints and returns 2
        raise UsageError(f"{message}\n{self.format_usage().strip()}")


def parse_size(text: str) -> tuple[int, int]:
    m = re.fullmatch(r"\s*(\d+)\s*[xX\u00d7]\s*(\d+)\s*", text)
    if not m:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size: write WIDTHxHEIGHT, e.g. 1280x720")
    return int(m.group(1)), int(m.group(2))


def parser() -> argparse.ArgumentParser:
    p = _Parser(prog=PROG, description="Export a lesson as the window shows it: an MP4 or GIF animation, "
                "or a PNG or SVG still. Rendered offscreen; no display needed.")
    p.add_argument("file", help="the lesson (TOML)")
    p.add_argument("-o", "--out", required=True, metavar="OUT", help="OUT.mp4, OUT.gif, OUT.png or OUT.svg")
    p.add_argument("--kernel", metavar="ID", help="kernel variant: 2.6.23, 2.6.24 (or 2.6.31), v5, 2.6.32, modern")
    p.add_argument("--compare", metavar="ID,ID", help="variants side by side, e.g. 2.6.24,v5")
    p.add_argument("--from", dest="first", type=int, metavar="N", help="first step (0-based) of an animation")
    p.add_argument("--to", dest="last", type=int, metavar="N", help="last step (0-based, included)")
    p.add_argument("--per", choices=("event", "step"), default="event",
                   help="event: animate every event, spread over each step's hold (default); "
                   "step: show each step's end state for its hold")
    p.add_argument("--fps", type=float, metavar="F", help="frames per second (default 30; GIF 15)")
    p.add_argument("--size", type=parse_size, metavar="WxH", help="picture size (default 1280x720; GIF 960x540)")
    p.add_argument("--theme", default="light", choices=("light", "dark", "contrast"))
    p.add_argument("--step", type=int, metavar="N", help="the still shows the state after step N (default: the last)")
    p.add_argument("--frames", metavar="DIR", help="also write every frame as DIR/frame_00000.png ...")
    p.add_argument("--zoom", metavar="VMA[:PAGES]", help="show just this region, e.g. table or table:0-511")
    p.add_argument("--chrome", action="store_true", help="keep the menu bar and status bar (left out by default)")
    p.add_argument("--progress", action="store_true", help="show the progress bar even when stderr is not a terminal")
    return p


def options_from(a):
    from zpviz.export.job import ExportOptions
    from zpviz.present.compare import parse_compare
    from zpviz.scenario.model import variant_id

    if a.kernel is not None:
        try:
            a.kernel = variant_id(a.kernel)
        except ValueError as e:
            raise UsageError(str(e)) from None
    compare = None
    if a.compare is not None:
        try:
            compare = parse_compare(a.compare)
        except ValueError as e:
            raise UsageError(f"--compare: {e}") from None
        if not compare:
            raise UsageError("--compare needs variant ids, e.g. --compare 2.6.24,v5")
    return ExportOptions(lesson=a.file, out=a.out, kernel=a.kernel, compare=compare, first=a.first, last=a.last,
                         per=a.per, fps=a.fps, size=a.size, theme=a.theme, step=a.step, frames_dir=a.frames,
                         chrome=a.chrome, zoom=a.zoom)


class _Terminated(KeyboardInterrupt):
    """SIGTERM or SIGINT before rendering started."""


class _Stop:
    """SIGINT/SIGTERM -> stop the export cleanly.

    While frames are being rendered, Qt calls back into Python (slots), and PySide swallows an
    exception raised there; so once rendering has begun (the exporter polls `cancelled`), a signal
    only sets a flag, and the exporter stops at the next frame, removes its temporary file and
    raises ExportCancelled. Before that (loading, simulating) the signal raises at once.
    """

    def __init__(self):
        self.requested = False
        self.polling = False

    def handler(self, signum, frame):
        self.requested = True
        if not self.polling:
            raise _Terminated()

    def __call__(self) -> bool:
        self.polling = True
        return self.requested

    @contextlib.contextmanager
    def installed(self):
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        old = {s: signal.signal(s, self.handler) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield self
        finally:
            for s, h in old.items():
                signal.signal(s, h)


def _summary(r) -> str:
    what = (f"{r.frames} frames, {r.duration:.1f} s at {r.frames / r.duration:.3g} fps"
            if r.duration else "a still")
    kb = r.nbytes / 1024
    size = f"{kb / 1024:.1f} MB" if kb >= 1024 else f"{kb:.0f} KB"
    line = f"wrote {r.path} ({r.size[0]}x{r.size[1]}, {what}, {size}) in {r.seconds:.1f} s"
    if r.duration:
        line += f", {r.fps:.0f} frames/s"
    if r.frames_dir:
        line += f"; frames in {r.frames_dir}"
    return line


def main(argv: Sequence[str]) -> int:
    from zpviz.export.safe import ExportCancelled, ExportError

    bar = None
    try:
        a = parser().parse_args(list(argv))
        o = options_from(a)
        if not os.path.isfile(a.file):
            raise UsageError(f"{a.file}: no such file" if not os.path.exists(a.file) else f"{a.file}: not a file")
        from zpviz.export.job import check_options, export
        from zpviz.export.progress import ProgressBar, wants_bar

        check_options(o)
        bar = ProgressBar(os.path.basename(a.out), sys.stderr, wants_bar(sys.stderr, a.progress))
        with _Stop().installed() as stop:
            result = export(o, progress=bar, cancelled=stop)
        bar.close()
        print(_summary(result))
        return EXIT_OK
    except UsageError as e:
        print(f"{PROG}: {e}", file=sys.stderr)
        return EXIT_USAGE
    except LessonError as e:
        _close(bar)
        print(str(e), file=sys.stderr)
        return EXIT_USAGE
    except (ValueError, ExportError) as e:
        _close(bar)
        print(f"{PROG}: {e}", file=sys.stderr)
        return EXIT_USAGE
    except (KeyboardInterrupt, ExportCancelled):
        _close(bar)
        print(f"{PROG}: interrupted; nothing was written", file=sys.stderr)
        return EXIT_INTERRUPTED
    except SystemExit as e:  # --help
        return int(e.code or 0)


def _close(bar) -> None:
    if bar is not None:
        bar.close()
