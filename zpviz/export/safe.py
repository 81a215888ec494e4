"""Safe writes: an export appears at its target only when complete.

Every writer works on a temporary file (or folder) next to the target and the finished result is
moved into place with os.replace, which is atomic within one folder. A failed, cancelled or
interrupted export removes its temporary file and leaves an existing target untouched. A process
killed outright (SIGKILL) cannot clean up; its hidden `.NAME.zpviz-PID-*.part` file is removed by
the next export to the same target once that PID is gone.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path


class ExportError(Exception):
    """An export could not be written; the message names the path and the reason."""


class ExportCancelled(Exception):
    """The user cancelled the export (the dialog's Cancel); nothing was written."""


FRAME_NAME = "frame_{:05d}.png"
_FRAME_RE = re.compile(r"frame_\d{5,}\.png\Z")


def describe_oserror(e: OSError, path: os.PathLike | str) -> str:
    reason = e.strerror or str(e)
    if e.errno == errno.ENOSPC:
        reason = "no space left on the device"
    elif e.errno in (errno.EACCES, errno.EPERM):
        reason = "permission denied"
    elif e.errno == errno.EROFS:
        reason = "the file system is read-only"
    return f"cannot write {path}: {reason}"


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _prefix(target: Path) -> str:
    return f".{target.name}.zpviz-"


def remove_stale(target: Path) -> None:
    """Remove temporaries of earlier exports to `target` whose process no longer exists."""
    prefix = _prefix(target)
    try:
        names = os.listdir(target.parent)
    except OSError:
        return
    for name in names:
        if not name.startswith(prefix):
            continue
        m = re.match(r"(\d+)-", name[len(prefix):])
        if not m or _pid_alive(int(m.group(1))):
            continue
        p = target.parent / name
        with contextlib.suppress(OSError):
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p)
            else:
                p.unlink()


def check_target(target: Path) -> None:
    """Fail early, naming the path, when the target cannot be written."""
    folder = target.parent
    if not folder.is_dir():
        raise ExportError(f"cannot write {target}: the folder {folder} does not exist")
    if target.is_dir():
        raise ExportError(f"cannot write {target}: it is a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ExportError(f"cannot write {target}: the folder {folder} is not writable")


def temp_path(target: Path, suffix: str | None = None) -> Path:
    """A hidden name beside the target, ending in the target's suffix (ffmpeg picks its muxer by it)."""
    sfx = target.suffix if suffix is None else suffix
    return target.with_name(f"{_prefix(target)}{os.getpid()}-{secrets.token_hex(4)}.part{sfx}")


@contextlib.contextmanager
def atomic_file(target: os.PathLike | str) -> Iterator[Path]:
    """Yield a temporary path; when the block succeeds, move it onto `target`; else remove it."""
    target = Path(target)
    check_target(target)
    remove_stale(target)
    tmp = temp_path(target)
    try:
        with open(tmp, "xb"):
            pass
    except OSError as e:
        raise ExportError(describe_oserror(e, target)) from None
    try:
        yield tmp
        try:
            os.replace(tmp, target)
        except OSError as e:
            raise ExportError(describe_oserror(e, target)) from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _replaceable(folder: Path) -> bool:
    """An existing --frames folder may be replaced only when it holds nothing but earlier frames."""
    try:
        return all(_FRAME_RE.match(n) for n in os.listdir(folder))
    except OSError:
        return False


@contextlib.contextmanager
def atomic_dir(target: os.PathLike | str) -> Iterator[Path]:
    """Like atomic_file for a folder of frames: filled under a temporary name, then renamed."""
    target = Path(target)
    if not target.parent.is_dir():
        raise ExportError(f"cannot write {target}: the folder {target.parent} does not exist")
    if target.exists() and not (target.is_dir() and _replaceable(target)):
        raise ExportError(f"cannot write frames to {target}: it exists and holds other files; "
                          "give a new or empty folder")
    remove_stale(target)
    tmp = temp_path(target, "")
    try:
        tmp.mkdir()
    except OSError as e:
        raise ExportError(describe_oserror(e, target)) from None
    old: Path | None = None
    try:
        yield tmp
        try:
            if target.exists():
                old = temp_path(target, ".old")
                os.rename(target, old)
            os.rename(tmp, target)
        except OSError as e:
            if old is not None and not target.exists():
                os.rename(old, target)
                old = None
            raise ExportError(describe_oserror(e, target)) from None
    finally:
        for p in (tmp, old):
            if p is not None and p.exists():
                shutil.rmtree(p, ignore_errors=True)
