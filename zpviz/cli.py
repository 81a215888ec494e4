"""The command line of docs/cli.md.

    zpviz [FILE] [--kernel ID] [--compare ID,ID] [--step N] [--screenshot PNG] [--size WxH]   the app
    zpviz run FILE [--kernel ID] [--json] [--every-step]                          the run report
    zpviz check FILE...                                                           lessons and their claims
    zpviz list                                                                    the built-in lessons
    zpviz export FILE -o OUT.{mp4,gif,png,svg} ...                                animations and stills
    zpviz kernel FILE [--json] [--every-step]                                     the lesson on this kernel
    zpviz verify FILE                                                             model vs running kernel
    zpviz record [-o OUT] [--lesson OUT.toml] [--keep-thp] [--max-events N] -- CMD ARGS...   record a program

Exit codes: 0 fine; 1 a claim does not hold or verify found differences; 2 an unusable file or
arguments (the error on stderr); 3 an internal error (set ZPVIZ_DEBUG=1 for the traceback).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence

from zpviz.errors import LessonError

SUBCOMMANDS = ("run", "check", "list", "export", "kernel", "verify", "record")
EXIT_OK, EXIT_CLAIM, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse would exit(2) itself; we keep one exit path
        raise UsageError(f"{self.prog}: {message}")


def _variant_list(text: str) -> list[str]:
    """Canonical ids ("2.6.31" is the 2.6.24 model)."""
    from zpviz.scenario.model import variant_id

    try:
        return [variant_id(t.strip()) for t in text.split(",") if t.strip()]
    except ValueError as e:
        raise UsageError(str(e)) from None


def _kernel(text: str | None) -> str | None:
    if text is None:
        return None
    return _variant_list(text)[0]


def _load(path: str):
    from zpviz.record.command import replay_file
    from zpviz.scenario import load

    return load(replay_file(path))  # a recording (zpviz record) opens as the lesson replaying it


# ---------------------------------------------------------------------------- run
def cmd_run(a) -> int:
    from zpviz.play import lesson_report

    sc = _load(a.file)
    report = lesson_report(sc, _kernel(a.kernel), every_step=a.every_step)
    if a.json:
        json.dump(report, sys.stdout, separators=(",", ":"))
        sys.stdout.write("\n")
    else:
        print(_summary(report))
    return EXIT_OK if report["expect_ok"] else EXIT_CLAIM


def _summary(report: dict) -> str:
    f = report["final"]
    lines = [f"{report['scenario']}  [{report['kernel']}]"]
    for s in report["steps"]:
        bits = [f"step {s['index']:>2} {s['do']:<10} faults {s['faults']:>7}"]
        if s["errno"]:
            bits.append(f"errno {s['errno']}")
        if s["signal"]:
            bits.append(f"SIGSEGV x{len(s['signal']['pages'])}")
        if s.get("dump"):
            bits.append(_dump_text(s["dump"]))
        if s["makespan_ns"]:
            bits.append(f"{s['makespan_ns'] / 1000:.1f} us")
        frames = (s.get("delta") or {}).get("frames_used")
        if frames:  # this step's change; the run totals are on the last line
            bits.append(f"frames {frames:+,}")
        if s["log"]:
            bits.append(f"log {len(s['log'])} lines")
        if not s["expect"]["ok"]:
            bits.append("CLAIM FAILED")
        lines.append("  ".join(bits))
        lines.extend(f"      {f['message']}" for f in s["expect"]["failed"])
    zp = f["zero_page"]
    lines.append(f"at the end: frames used {f['frames_used']}, page tables {f['pt_frames']}, zero page: refcount "
                 f"{zp['refcount_delta']:+d}, line writes {zp['line_writes']}, transfers {zp['line_transfers']}")
    for n in report["notes"]:
        lines.append(f"note: {n}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------- check
def cmd_check(a) -> int:
    from zpviz.play import check_order, lesson_report

    worst = EXIT_OK
    for path in a.files:
        try:
            sc = _load(path)
        except LessonError as e:
            print(str(e), file=sys.stderr)
            worst = max(worst, EXIT_USAGE)
            continue
        variants = [sc.kernel, *sc.compare]
        variants += sorted({c.variant for s in sc.steps for c in s.expect} - {"*"} - set(variants))
        bad = 0
        known: dict = {}  # each variant played once: a comparison reads the other's report
        for k in check_order(sc, variants):
            rep = lesson_report(sc, k, known=known)
            for s in rep["steps"]:
                for f in s["expect"]["failed"]:
                    print(f["message"])
                    bad += 1
        n_claims = sum(len(s.expect) for s in sc.steps)
        status = "ok" if not bad else f"{bad} claim(s) failed"
        print(f"{path}: {status} ({n_claims} claims, variants {', '.join(variants)})")
        if bad:
            worst = max(worst, EXIT_CLAIM)
    return worst


# ---------------------------------------------------------------------------- list
def cmd_list(a) -> int:
    from zpviz.scenario.library import builtin_lessons

    for path in builtin_lessons():
        try:
            sc = _load(str(path))
            print(f"{path.name:<28} {sc.title}")
            if sc.summary:
                print(f"{'':<28} {sc.summary}")
        except LessonError as e:
            print(f"{path.name:<28} (broken: {e.problems[0].message})")
    return EXIT_OK


# ---------------------------------------------------------------------------- kernel / verify
def _on_kernel(sc, every_step: bool) -> dict:
    from zpviz.kernel.client import KernelRunError
    from zpviz.kernel.probe import skip_reason
    from zpviz.kernel.runner import run_on_kernel

    why = skip_reason(sc)
    if why:
        raise UsageError(f"{sc.path}: cannot be carried out on this machine: {why}")
    try:
        return run_on_kernel(sc, every_step=every_step)
    except KernelRunError as e:
        raise UsageError(f"{sc.path}: {e}") from None


def cmd_kernel(a) -> int:
    sc = _load(a.file)
    report = _on_kernel(sc, a.every_step)
    if a.json:
        json.dump(report, sys.stdout, separators=(",", ":"))
        sys.stdout.write("\n")
    else:
        print(_summary_kernel(report))
    ok = all((s.get("expect") or {}).get("ok", True) for s in report["steps"])
    return EXIT_OK if ok else EXIT_CLAIM


def _dump_text(dump: dict) -> str:
    return f"core: {dump['written']:,} pages written, {dump['holes']:,} holes"


def _summary_kernel(report: dict) -> str:
    lines = [f"{report['scenario']}  [{report['kernel']}]"]
    for s in report["steps"]:
        bits = [f"step {s['index']:>2} {s['do']:<10}"]
        if s.get("faults") is not None:
            bits.append(f"faults {s['faults']:>7}")
        if s.get("errno"):
            bits.append(f"errno {s['errno']}")
        if s.get("signal"):
            bits.append(f"SIGSEGV x{len(s['signal']['pages'])}")
        if s.get("status"):
            bits.append("status " + " ".join(s["status"][:8]) + (" ..." if len(s["status"]) > 8 else ""))
        if s.get("dump"):
            bits.append(_dump_text(s["dump"]))
        if not (s.get("expect") or {}).get("ok", True):
            bits.append("CLAIM FAILED")
        lines.append("  ".join(bits))
        lines.extend(f"      {f['message']}" for f in (s.get("expect") or {}).get("failed", []))
    lines.extend(f"note: {n}" for n in report.get("notes", []))
    return "\n".join(lines)


def cmd_verify(a) -> int:
    from zpviz.play import lesson_report
    from zpviz.scenario.verify import compare_reports, format_differences

    sc = _load(a.file)
    real = _on_kernel(sc, True)
    model = lesson_report(sc, "modern", every_step=True)
    diffs = compare_reports(model, real)
    print(f"{sc.title}: model 'modern' ({model['kernel_release']}) vs {real['kernel']}")
    if diffs:
        print(format_differences(diffs))
        return EXIT_CLAIM
    print("no differences")
    return EXIT_OK


# ---------------------------------------------------------------------------- export / app
def cmd_export(argv: Sequence[str]) -> int:
    from zpviz.export.cli import main as export_main

    return export_main(list(argv))


def cmd_record(argv: Sequence[str]) -> int:
    from zpviz.record.command import main as record_main

    def usage(message: str):
        raise UsageError(f"zpviz record: {message}")

    return record_main(list(argv), usage)


def app_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="zpviz", description="Step through the Linux page-fault path and the zero page's story. "
                "Subcommands: " + ", ".join(SUBCOMMANDS) + " (zpviz SUBCOMMAND --help).")
    p.add_argument("file", nargs="?", help="a lesson (TOML); the built-in tour when omitted")
    p.add_argument("--kernel", help="kernel variant: 2.6.23, 2.6.24 (or 2.6.31), v5, 2.6.32, modern")
    p.add_argument("--compare", help="variants side by side, e.g. 2.6.23,v5")
    p.add_argument("--step", type=int, help="open at the state after step N (0-based)")
    p.add_argument("--screenshot", metavar="PNG", help="render the window to PNG without showing it, then exit")
    p.add_argument("--size", metavar="WxH", default="1920x1080",
                   help="the window's size for --screenshot (default 1920x1080; 1280x720 shows a 720p projector)")
    p.add_argument("--theme", choices=("light", "dark", "contrast"))
    p.add_argument("--zoom", metavar="VMA[:PAGES]",
                   help="with --screenshot: show just this region, e.g. table or table:0-511 (docs/views.md)")
    p.add_argument("--chrome", action="store_true",
                   help="with --screenshot: keep the menu bar and status bar (left out by default)")
    return p


def _window_size(text: str) -> tuple[int, int]:
    w, sep, h = text.lower().partition("x")
    if not (sep and w.strip().isdigit() and h.strip().isdigit()):
        raise UsageError(f"zpviz: --size {text!r}: give it as WIDTHxHEIGHT, e.g. 1280x720")
    size = int(w), int(h)
    if not (640 <= size[0] <= 7680 and 400 <= size[1] <= 4320):
        raise UsageError(f"zpviz: --size {text}: from 640x400 to 7680x4320")
    return size


def cmd_app(argv: Sequence[str]) -> int:
    a = app_parser().parse_args(list(argv))
    compare = _variant_list(a.compare) if a.compare else None
    kernel = _kernel(a.kernel)
    size = _window_size(a.size)
    if a.file and not os.path.exists(a.file):
        raise UsageError(f"zpviz: {a.file}: no such file")
    if a.file:
        from zpviz.record.command import replay_file

        a.file = replay_file(a.file)  # a recording opens as the lesson that replays it
    if (a.zoom is not None or a.chrome) and not a.screenshot:
        raise UsageError("zpviz: --zoom and --chrome go with --screenshot (in the app: Ctrl+= and Ctrl+-, "
                         "the mouse wheel, Ctrl+0)")
    if a.zoom is not None:
        from zpviz.present.zoom import parse_zoom

        try:
            parse_zoom(a.zoom)
        except ValueError as e:
            raise UsageError(f"zpviz: {e}") from None
    if a.screenshot:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    _prefetch(a.file, kernel, compare)
    from zpviz.gui.app import run_app

    return run_app(a.file, kernel, compare, a.step, a.screenshot, a.theme, size, exporter=_exporter(), zoom=a.zoom,
                   chrome=a.chrome)


def _prefetch(path: str | None, kernel, compare) -> None:
    """Start simulating the lesson the window will open (the tour when path is None) in a second
    process, before Qt is imported (present/prefetch.py, docs/startup.md)."""
    from zpviz.present import prefetch

    prefetch.start(path, kernel, compare)


def _exporter():
    """The window's export flow, where the export extra is installed (else the app saves PNGs only)."""
    from importlib.util import find_spec

    if find_spec("imageio") is None:  # the writers' dependency (found, not imported: start-up stays quick)
        return None

    def export_window(window, path, **kw):
        from zpviz.export import export_window  # on first use: the start does not import the exporter

        return export_window(window, path, **kw)

    return export_window


def sub_parser(cmd: str) -> argparse.ArgumentParser:
    p = _Parser(prog=f"zpviz {cmd}")
    if cmd in ("run", "kernel"):
        p.add_argument("file")
        if cmd == "run":
            p.add_argument("--kernel")
        p.add_argument("--json", action="store_true", help="print the run report as JSON")
        p.add_argument("--every-step", action="store_true", help="add the state after each step")
    elif cmd == "check":
        p.add_argument("files", nargs="+")
    elif cmd == "verify":
        p.add_argument("file")
    return p


# The optional dependencies, by the extra that brings each (pyproject.toml), so that a missing one
# is named with the line that installs it instead of an internal error.
_EXTRA_OF = {"PySide6": "gui", "shiboken6": "gui", "pyqtgraph": "gui",
             "imageio": "export", "imageio_ffmpeg": "export", "PIL": "export"}


# numpy's OpenBLAS starts a second thread when numpy is imported, and its start costs ~0.05 s of
# CPU (as much as the rest of numpy's import; ~0.12-0.16 s on the slow laptop of issue 15): at every
# start, in the app and in its start-up worker, taken from the window on a busy machine. zpviz does
# no BLAS work (no dot, matmul, linalg or einsum anywhere): one thread changes no result. A value the
# user set wins. Before numpy is imported (main() runs first), so OpenBLAS reads it (docs/startup.md).
BLAS_THREADS = {"OPENBLAS_NUM_THREADS": "1"}


def main(argv: Sequence[str] | None = None) -> int:
    for name, value in BLAS_THREADS.items():
        os.environ.setdefault(name, value)
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and argv[0] in SUBCOMMANDS:
            cmd, rest = argv[0], argv[1:]
            if cmd == "export":
                return cmd_export(rest)
            if cmd == "record":
                return cmd_record(rest)
            a = sub_parser(cmd).parse_args(rest)
            return {"run": cmd_run, "check": cmd_check, "list": cmd_list, "kernel": cmd_kernel,
                    "verify": cmd_verify}[cmd](a)
        return cmd_app(argv)
    except UsageError as e:
        print(str(e), file=sys.stderr)
        return EXIT_USAGE
    except LessonError as e:
        print(str(e), file=sys.stderr)
        return EXIT_USAGE
    except ModuleNotFoundError as e:
        extra = _EXTRA_OF.get((e.name or "").split(".")[0])
        if extra is None:
            raise
        print(f"zpviz: this needs {e.name}, which comes with zpviz's {extra!r} extra: "
              f"pip install 'zpviz[{extra}]'", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        return EXIT_OK
    except KeyboardInterrupt:
        print("zpviz: interrupted", file=sys.stderr)
        return 130
    except SystemExit as e:  # argparse --help
        return int(e.code or 0)
    except Exception as e:  # never a bare traceback in a lecture; the debug switch brings it back
        if os.environ.get("ZPVIZ_DEBUG"):
            raise
        print(f"zpviz: internal error: {type(e).__name__}: {e} (set ZPVIZ_DEBUG=1 for details)", file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":
    raise SystemExit(main())
