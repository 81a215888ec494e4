"""The recording file: one JSON object (gzip-compressed when the name ends in .gz), version 2.

Version 2 adds each process's `snapshots` (page states while the program ran) and the top-level
`snapshot_every`; a version 1 file reads as one without them.

docs/recording.md describes every field. Written atomically (a temporary file in the same
directory, then os.replace), so a reader never sees half a recording.
"""

from __future__ import annotations

import gzip
import json
import os
import platform
import re
import tempfile
import zlib
from datetime import UTC, datetime

FORMAT = "zpviz-recording"
VERSION = 2
READS = (1, 2)  # the versions this zpviz opens; 1 had no snapshots while running
FAULT_FIELDS = ("time_ns", "pid", "tid", "cpu", "address", "ip", "error_code", "mode")
MAX_BYTES = 1 << 30  # a reader refuses anything bigger (uncompressed)


class RecordingError(Exception):
    """A file that is not a usable recording; the message names the file and what is wrong."""


def build(raw: dict, command: list[str] | None, keep_thp: bool, max_events: int | None,
          snapshot_ms: float | None = None, snapshot_faults: int | None = None) -> dict:
    """The recording, from what tracer.Recorder.result() returned."""
    t0 = raw["started_ns"]
    faults = raw["faults"]
    cols = {
        "time_ns": [f.time for f in faults], "pid": [f.pid for f in faults], "tid": [f.tid for f in faults],
        "cpu": [f.cpu for f in faults], "address": [f.addr for f in faults], "ip": [f.ip for f in faults],
        "error_code": [f.error for f in faults], "mode": "".join(f.mode for f in faults),
    }
    reason = raw["reason"]
    where = {"exit": "the program ended", "max-events": f"--max-events {max_events} reached; the program ran on",
             "interrupted": "Ctrl+C: the recording was ended early"}[reason]
    lost_note = []
    if raw["source"] != "tracepoints":
        lost_note = ["kernel-mode faults", "read or write of each fault", "per-page mlocked state"]
    return {
        "format": FORMAT, "version": VERSION,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "kernel": platform.release(), "machine": platform.machine(), "page_size": 4096,
        "command": command, "root_pid": raw["root"],
        "source": raw["source"], "not_observed": lost_note,
        "thp": "system" if keep_thp else "disabled", "thp_system": _thp_setting("enabled"),
        "thp_use_zero_page": _thp_setting("use_zero_page") != "0",
        "clock": "CLOCK_MONOTONIC", "started_ns": t0,
        "stopped": {"reason": reason, "at_ns": raw["stopped"].get("at_ns"), "why": where,
                    "max_events": max_events},
        "lost_events": raw["lost"], "lost_records": raw["lost_records"], "throttled": raw["throttled"],
        "events_counted": raw.get("counted"),
        "snapshot_every": {"ms": snapshot_ms or None, "faults": snapshot_faults or None},
        "fault_count": len(faults), "faults": cols,
        "calls": raw["calls"],
        "processes": raw["processes"],
        "notes": raw["notes"],
    }


def _thp_setting(name: str) -> str | None:
    """/sys/kernel/mm/transparent_hugepage/NAME: the bracketed choice, or the value."""
    try:
        with open(f"/sys/kernel/mm/transparent_hugepage/{name}") as f:
            text = f.read().strip()
    except OSError:
        return None
    if "[" in text:
        return text[text.index("[") + 1: text.index("]")]
    return text


def write_atomic(path: str, data: bytes, prefix: str) -> None:
    """A temporary file beside `path`, then os.replace: a reader sees the old file or the new one,
    never half of one, and an error or Ctrl+C leaves no temporary file behind."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=prefix, dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write(path: str, rec: dict) -> None:
    """The recording, atomically (gzip when the name ends in .gz)."""
    data = json.dumps(rec, separators=(",", ":")).encode()
    if path.endswith(".gz"):
        data = gzip.compress(data, compresslevel=6)
    write_atomic(path, data, ".zpviz-rec-")


def is_recording(path: str) -> bool:
    """Does the file look like a recording (by its first bytes, not its name)?"""
    try:
        with open(path, "rb") as f:
            head = f.read(64)
    except OSError:
        return False
    if head[:2] == b"\x1f\x8b":
        try:
            with gzip.open(path, "rb") as g:
                head = g.read(64)
        except (OSError, EOFError, zlib.error):  # a file that only starts like gzip
            return False
    return re.match(rb'\s*\{\s*"format"\s*:\s*"' + FORMAT.encode() + b'"', head) is not None


def read(path: str) -> dict:
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_BYTES + 1)
        if data[:2] == b"\x1f\x8b":
            with gzip.open(path, "rb") as g:
                data = g.read(MAX_BYTES + 1)
    except (OSError, EOFError, zlib.error) as e:
        raise RecordingError(f"{path}: {getattr(e, 'strerror', None) or e}") from None
    if len(data) > MAX_BYTES:
        raise RecordingError(f"{path}: over {MAX_BYTES >> 20} MiB; not read")
    try:
        rec = json.loads(data)
    except (ValueError, UnicodeDecodeError) as e:
        raise RecordingError(f"{path}: not a zpviz recording (not JSON: {e})") from None
    if not isinstance(rec, dict) or rec.get("format") != FORMAT:
        raise RecordingError(f'{path}: not a zpviz recording (no "format": "{FORMAT}")')
    if rec.get("version") not in READS:
        raise RecordingError(f"{path}: recording version {rec.get('version')!r}; this zpviz reads versions "
                             f"{', '.join(map(str, READS))}")
    faults = rec.get("faults")
    if not isinstance(faults, dict) or any(k not in faults for k in FAULT_FIELDS):
        raise RecordingError(f"{path}: the faults table lacks one of {', '.join(FAULT_FIELDS)}")
    n = len(faults["time_ns"])
    if any(len(faults[k]) != n for k in FAULT_FIELDS):
        raise RecordingError(f"{path}: the fault columns differ in length")
    for key in ("calls", "processes"):
        if not isinstance(rec.get(key), list):
            raise RecordingError(f'{path}: "{key}" must be a list')
    for p in rec["processes"]:  # version 1 had none: read it as a recording that took no snapshots
        if isinstance(p, dict):
            p.setdefault("snapshots", [])
            if not isinstance(p["snapshots"], list):
                raise RecordingError(f'{path}: process {p.get("pid")}: "snapshots" must be a list')
    rec.setdefault("snapshot_every", {"ms": None, "faults": None})
    return rec


def summary(rec: dict) -> str:
    """A few lines for the terminal."""
    f = rec["faults"]
    modes = f["mode"]
    lines = [f"{rec['fault_count']:,} page faults ({modes.count('u'):,} user, {modes.count('k'):,} kernel), "
             f"{len(rec['calls']):,} address-space calls, {len(rec['processes'])} process(es); "
             f"lost {rec['lost_events']:,}"]
    writes = sum(1 for e in f["error_code"] if e is not None and e & 2)
    if rec["source"] == "tracepoints":
        lines[0] += f"; {writes:,} writes"
    lines.append(f"stopped: {rec['stopped']['why']}; THP {rec['thp']} for the program")
    for p in rec["processes"]:
        status = "" if p.get("exit_status") is None else f", exit status {p['exit_status']}"
        lines.append(f"  pid {p['pid']} {p.get('comm') or ''}{status}")
    return "\n".join(lines)
