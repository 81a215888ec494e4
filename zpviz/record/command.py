"""The `zpviz record` subcommand: arguments, the run, the files it writes."""

from __future__ import annotations

import argparse
import os
import sys

from . import recording
from .tracer import Options, Recorder, RecordError

USAGE = ("zpviz record [-o OUT] [--lesson OUT.toml [--slice-ms MS]] [--keep-thp] [--max-events N] [--software] "
         "[--snapshot-ms MS] [--snapshot-faults K] [--progress] (-- CMD ARGS... | --pid PID)")
SNAPSHOT_MS = 250  # page states while the program runs, by default every quarter second


def parser(error) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="zpviz record", usage=USAGE,
                                description="Run a program and record its page faults, its address-space "
                                            "system calls and the final state of every page it maps.")
    p.error = error  # the caller's: one exit path for usage errors
    p.add_argument("-o", "--output", default="zpviz-recording.json.gz", metavar="OUT",
                   help="the recording (JSON; gzip when the name ends in .gz; default %(default)s)")
    p.add_argument("--lesson", metavar="OUT.toml", help="also write a lesson that replays the recording")
    p.add_argument("--keep-thp", action="store_true",
                   help="record with transparent huge pages as the system is set (default: off for the program)")
    p.add_argument("--max-events", type=int, metavar="N", help="stop recording after N faults; the program runs on")
    p.add_argument("--slice-ms", type=float, metavar="MS",
                   help="--lesson groups the faults into steps of this much time (default: a 200th of the run; "
                        "one step per fault for 40 faults or fewer)")
    p.add_argument("--pid", type=int, help="attach to a running process (and its threads) instead; Ctrl+C ends")
    p.add_argument("--software", action="store_true",
                   help="use the ordinary user's software event even as root (what a student without root gets)")
    p.add_argument("--snapshot-ms", type=float, metavar="MS", default=SNAPSHOT_MS,
                   help="read the page states every MS of the run, keeping the mappings that changed "
                        "(0: only at exec, fork and exit; default %(default)s)")
    p.add_argument("--snapshot-faults", type=int, metavar="K",
                   help="also read the page states after every K faults")
    p.add_argument("--progress", action="store_true",
                   help="print 'zpviz record: progress FAULTS faults, CALLS calls' on stderr while recording "
                        "(the app's File > Record a program reads it)")
    p.add_argument("cmd", nargs=argparse.REMAINDER, help="-- CMD ARGS...: the program to run")
    return p


def main(argv: list[str], usage_error) -> int:
    a = parser(usage_error).parse_args(argv)
    cmd = a.cmd[1:] if a.cmd and a.cmd[0] == "--" else a.cmd
    if a.pid is not None and cmd:
        usage_error("give either -- CMD ARGS... or --pid PID, not both")
    if a.pid is None and not cmd:
        usage_error("nothing to record: give the program after --, e.g. zpviz record -o out.json.gz -- python3 prog.py")
    if a.max_events is not None and a.max_events < 1:
        usage_error("--max-events must be at least 1")
    if a.slice_ms is not None and not 0 <= a.slice_ms <= 3_600_000:
        usage_error("--slice-ms must be from 0 (one step per fault) to 3600000")
    if not 0 <= a.snapshot_ms <= 3_600_000:
        usage_error("--snapshot-ms must be from 0 (no snapshots while running) to 3600000")
    if a.snapshot_faults is not None and a.snapshot_faults < 1:
        usage_error("--snapshot-faults must be at least 1")
    for out in (a.output, a.lesson):
        if out and not os.path.isdir(os.path.dirname(os.path.abspath(out))):
            usage_error(f"{out}: its folder does not exist")
    opts = Options(command=cmd, keep_thp=a.keep_thp, max_events=a.max_events,
                   mode="software" if a.software else "auto", snapshot_ms=a.snapshot_ms or None,
                   snapshot_faults=a.snapshot_faults, progress=_progress if a.progress else None)
    rec = Recorder(opts)
    try:
        root = rec.attach(a.pid) if a.pid is not None else rec.launch()
    except RecordError as e:
        print(f"zpviz record: {e}", file=sys.stderr)
        return 2
    if a.pid is not None:
        print(f"zpviz record: attached to {a.pid} ({rec.procs[a.pid].comm}); Ctrl+C ends the recording, "
              f"and the process runs on", file=sys.stderr)
    try:
        raw = rec.run()
    finally:
        if rec._err_r is not None:
            os.close(rec._err_r)
    if raw["exec_failed"]:
        print(f"zpviz record: could not start {cmd[0]}: {raw['exec_failed']}", file=sys.stderr)
        return 2
    data = recording.build(raw, cmd or None, a.keep_thp, a.max_events, a.snapshot_ms, a.snapshot_faults)
    if a.pid is not None:  # recorded from the attach on; the process keeps THP as it had it
        data["attached"], data["thp"] = True, "system"
    try:
        recording.write(a.output, data)
    except OSError as e:
        print(f"zpviz record: cannot write {a.output}: {e.strerror or e}", file=sys.stderr)
        return 2
    print(f"zpviz record: wrote {a.output}", file=sys.stderr)
    print(recording.summary(data), file=sys.stderr)
    if data["lost_events"]:
        print(f"zpviz record: the kernel dropped {data['lost_events']:,} fault records (the recorder fell "
              f"behind); the recording is incomplete", file=sys.stderr)
    if a.lesson:
        from .lesson import write_lesson

        slice_ns = None if a.slice_ms is None else int(a.slice_ms * 1e6)
        try:
            info = write_lesson(data, a.lesson, source=a.output, slice_ns=slice_ns)
        except (OSError, ValueError) as e:
            print(f"zpviz record: no lesson written to {a.lesson}: {getattr(e, 'strerror', None) or e}",
                  file=sys.stderr)
            return 2
        print(f"zpviz record: wrote {a.lesson} ({info})", file=sys.stderr)
    shown = a.lesson or a.output
    print(f"zpviz record: watch it with `zpviz {shown}`; without the zero page: `zpviz run {shown} --kernel 2.6.24`",
          file=sys.stderr)
    if raw["reason"] != "exit" and a.pid is None:
        _wait_for(root)
    root_proc = next((p for p in data["processes"] if p["pid"] == root), None)
    status = root_proc.get("exit_status") if root_proc else None
    if status not in (0, None):
        print(f"zpviz record: the program exited with status {status}", file=sys.stderr)
    return 0


def _progress(faults: int, calls: int) -> None:
    print(f"zpviz record: progress {faults} faults, {calls} calls", file=sys.stderr, flush=True)


def _wait_for(pid: int) -> None:
    """The program runs on after --max-events or Ctrl+C: it is ours to reap when it ends."""
    try:
        os.waitpid(pid, 0)
    except (ChildProcessError, KeyboardInterrupt):
        pass


def replay_file(path: str) -> str:
    """If `path` is a recording, write its replay lesson to a temporary folder and return that path;
    otherwise return `path` unchanged. Lets `zpviz OUT`, `zpviz run OUT` and `zpviz check OUT` open
    recordings as the lessons they replay."""
    if not recording.is_recording(path):
        return path
    import tempfile

    from .lesson import write_lesson

    try:
        rec = recording.read(path)
    except recording.RecordingError as e:
        from zpviz.errors import LessonError, Problem

        raise LessonError([Problem(path, None, "", str(e).removeprefix(f"{path}: "))]) from None
    name = os.path.basename(path).split(".")[0] or "recording"
    out = os.path.join(tempfile.mkdtemp(prefix="zpviz-replay-"), f"{name}.replay.toml")
    info = write_lesson(rec, out, source=path)
    print(f"zpviz: {path} is a recording; opening its replay ({info}), written to {out}", file=sys.stderr)
    return out
