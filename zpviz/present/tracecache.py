"""Simulated traces kept on disk, so a lesson opened before opens at once (docs/cache.md).

An entry is one lesson under one kernel variant, in one .npz file named by a hash of the lesson
as loaded, the variant and the engine's version. Writers write a temporary file and rename it
into place, so a reader sees a whole entry or none; a file that does not read back whole (cut
short, scribbled on, from another version) is deleted and counts as absent. The directory is
kept under a size cap by deleting the entries used least recently. Any trouble with the cache
(no disk space, a read-only home, a file that vanished) only means the lesson is simulated:
the cache never stops a lesson from opening.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import json
import os
import sys
import tempfile
import time
from collections import OrderedDict
from pathlib import Path

import numpy as np

# SHA-256 from CPython's own module (3.11: _sha256, 3.12 on: _sha2): the digests hashlib's would
# give, without hashlib's load of OpenSSL's libcrypto first (2-6 ms of CPU at every start that uses
# the cache, the window's and the start-up worker's; docs/startup.md)
try:
    from _sha256 import sha256
except ImportError:
    try:
        from _sha2 import sha256
    except ImportError:
        from hashlib import sha256

# (the modules of every class a stored trace holds: the decoder resolves classes only from modules
# already imported, and a window reading the cache need not have imported the machine)
from zpviz.engine import lines, record, results  # noqa: F401
from zpviz.engine.kernels import policy
from zpviz.engine.trace import Trace
from zpviz.present.tracecodec import CorruptEntry, Uncacheable, decode, dumps_tree, encode, loads_tree
from zpviz.scenario.model import variant_id

ENV_DIR = "ZPVIZ_CACHE_DIR"  # the cache's directory (tests point it at a temporary one)
ENV_OFF = "ZPVIZ_NO_CACHE"  # set and not empty: no cache at all
MAX_BYTES = 512 << 20  # beyond this the least recently used entries go
FORMAT = 1  # the layout of an entry; bump when this file changes what it writes
SUFFIX = ".npz"
STALE_TMP_S = 3600  # a temporary file this old was left by a writer that died
MAX_ENTRY_BYTES = 2 << 30  # an entry claiming more than this once unpacked is not read (a zip bomb)
# A Trace's attributes that are not its data: the lesson and the kernel policy (the caller has
# both and gives them back), and the trace's in-memory cache of recent frames.
TRANSIENT = ("scenario", "kernel", "_cache")
# the code that turns a lesson's bytes into a trace: a change to any of it is a new engine
VERSION_SOURCES = ("engine", "scenario", "errors.py")


def cache_dir() -> Path | None:
    """Where entries live: $ZPVIZ_CACHE_DIR, else the platform's cache directory; None when off."""
    if os.environ.get(ENV_OFF):
        return None
    own = os.environ.get(ENV_DIR)
    if own:
        return Path(own)
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg and os.path.isabs(xdg):  # the XDG spec: a relative value is to be ignored
        return Path(xdg) / "zpviz"
    home = Path.home()
    if sys.platform == "darwin":
        return home / "Library" / "Caches" / "zpviz"
    if sys.platform == "win32" and os.environ.get("LOCALAPPDATA"):
        return Path(os.environ["LOCALAPPDATA"]) / "zpviz" / "cache"
    return home / ".cache" / "zpviz"


@functools.cache
def engine_version() -> str:
    """A hash of the engine's and the lesson loader's source files (and numpy's version).

    Hashed rather than a constant to bump by hand: a forgotten bump would show a lecture the
    pictures of an engine that no longer exists, silently; hashing ~60 small files costs a few
    milliseconds, once per process and only when the cache is used. Editing a comment also makes
    a new version; that only costs one simulation per lesson."""
    return source_hash(Path(__file__).resolve().parent.parent)


def source_hash(root: Path, names: tuple[str, ...] = VERSION_SOURCES) -> str:
    """A hash of the .py files under root/name for each name (a directory or one file)."""
    h = sha256(f"format {FORMAT} numpy {np.__version__}\n".encode())
    for name in names:
        base = root / name
        files = sorted(base.rglob("*.py")) if base.is_dir() else [base]
        for f in files:
            try:
                data = f.read_bytes()
            except OSError:
                continue
            h.update(f"{f.relative_to(root).as_posix()} {len(data)}\n".encode())
            h.update(data)
    return h.hexdigest()[:32]


def _canon(o):
    """The lesson as plain JSON data, field by field; Uncacheable for anything not plainly data."""
    if o is None or isinstance(o, (bool, int, str)):
        return o
    if isinstance(o, float):
        return {"F": repr(o)}
    if isinstance(o, enum.Enum):
        return {"E": f"{type(o).__qualname__}.{o.name}"}
    if dataclasses.is_dataclass(o) and not isinstance(o, type):
        return {"C": type(o).__qualname__,
                "f": [[f.name, _canon(getattr(o, f.name))] for f in dataclasses.fields(o)]}
    if isinstance(o, (list, tuple)):
        return {"L" if isinstance(o, list) else "T": [_canon(v) for v in o]}
    if isinstance(o, dict):
        return {"D": [[_canon(k), _canon(v)] for k, v in o.items()]}
    if isinstance(o, (set, frozenset)):
        return {"S": sorted(json.dumps(_canon(v), sort_keys=True) for v in o)}
    if isinstance(o, Path):
        return {"P": str(o)}
    raise Uncacheable(f"a {type(o).__qualname__} in the lesson")


def entry_key(scenario, variant: str) -> str | None:
    """The entry's name: the lesson as loaded (every field, its path and line numbers too, which
    the engine's messages quote), the variant and the engine's version. None: not cacheable."""
    try:
        lesson = json.dumps(_canon(scenario), separators=(",", ":"))
    except (Uncacheable, RecursionError, ValueError):
        return None
    h = sha256(f"{engine_version()}\n{variant_id(variant)}\n".encode())
    h.update(lesson.encode())
    return h.hexdigest()[:40]


def _remove(path: Path) -> None:
    try:
        path.unlink()
    except OSError:  # gone already (another process), or not ours to remove: either way not here
        pass


class TraceCache:
    def __init__(self, directory: str | os.PathLike | None, max_bytes: int = MAX_BYTES) -> None:
        self.dir = Path(directory) if directory is not None else None
        self.max_bytes = max_bytes

    @classmethod
    def default(cls) -> TraceCache:
        return cls(cache_dir())

    def path_for(self, key: str) -> Path | None:
        return self.dir / f"{key}{SUFFIX}" if self.dir is not None else None

    # ------------------------------------------------------------------ reading
    def get(self, scenario, variant: str, key: str | None = None) -> Trace | None:
        """The cached trace of `scenario` under `variant`, or None (absent, unreadable or corrupt).
        `key`: entry_key(scenario, variant), when the caller has it already."""
        if self.dir is None:
            return None
        if key is None:
            key = entry_key(scenario, variant)
        if key is None:
            return None
        path = self.path_for(key)
        try:
            trace = self._read(path, key)
        except FileNotFoundError:
            return None
        except Exception:  # noqa: BLE001 - whatever a bad file raises, it is a miss, never a crash
            _remove(path)
            return None
        trace.scenario = scenario
        trace.kernel = policy(variant_id(variant))
        trace._cache = OrderedDict()
        try:
            trace.frame(len(trace) - 1)  # reads through every layer of the trace once
        except Exception:  # noqa: BLE001 - data that decodes but does not fit together
            _remove(path)
            return None
        try:
            os.utime(path)  # used now: the last to be evicted
        except OSError:
            pass
        return trace

    def _read(self, path: Path, key: str) -> Trace:
        with open(path, "rb") as f, np.load(f, allow_pickle=False) as z:
            if sum(info.file_size for info in z.zip.infolist()) > MAX_ENTRY_BYTES:
                raise CorruptEntry("bigger than any trace")
            meta = loads_tree(z["meta"])
            if not isinstance(meta, dict) or meta.get("format") != FORMAT or meta.get("key") != key:
                raise CorruptEntry("not this entry")
            blobs = {dt: z[member] for dt, member in meta["blobs"].items()}
        for dt, blob in blobs.items():
            if blob.dtype.str != dt or blob.ndim != 1:
                raise CorruptEntry(f"blob {dt}")
        trace = decode(meta["tree"], blobs)
        if type(trace) is not Trace:
            raise CorruptEntry("not a trace")
        return trace

    # ------------------------------------------------------------------ writing
    def put(self, trace: Trace, scenario, variant: str) -> bool:
        """Store the trace; False when it was not (not cacheable, or the disk said no)."""
        key = entry_key(scenario, variant) if self.dir is not None else None
        if key is None:
            return False
        try:
            packed = encode(trace, skip=TRANSIENT)
        except (Uncacheable, RecursionError):
            return False
        members = {f"blob{i}": blob for i, blob in enumerate(packed.blobs.values())}
        meta = {"format": FORMAT, "key": key, "variant": variant_id(variant), "tree": packed.tree,
                "blobs": {dt: f"blob{i}" for i, dt in enumerate(packed.blobs)}}
        tmp = None
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.dir, prefix=".", suffix=".tmp")
            with os.fdopen(fd, "wb") as f:
                np.savez(f, meta=dumps_tree(meta), **members)
            os.replace(tmp, self.path_for(key))  # atomic: readers see the old entry or this one
            tmp = None
        except (OSError, ValueError):
            return False
        finally:
            if tmp is not None:
                _remove(Path(tmp))
        self.evict()
        return True

    def evict(self) -> None:
        """Delete the least recently used entries until the rest fit in max_bytes, and any
        temporary file a dead writer left behind."""
        if self.dir is None:
            return
        entries = []
        now = time.time()
        try:
            names = os.listdir(self.dir)
        except OSError:
            return
        for name in names:
            p = self.dir / name
            try:
                st = p.stat()
            except OSError:  # removed meanwhile by another process
                continue
            if name.endswith(".tmp") and now - st.st_mtime > STALE_TMP_S:
                _remove(p)
            elif name.endswith(SUFFIX):
                entries.append((st.st_mtime, st.st_size, p))
        total = sum(size for _, size, _ in entries)
        for _, size, p in sorted(entries, key=lambda e: e[0]):
            if total <= self.max_bytes:
                break
            _remove(p)
            total -= size


def simulate(scenario, variant: str, progress=None):
    """engine.run.simulate, imported at its first use: a window that reads its traces from the
    cache never runs the engine's paths, and need not import them (docs/startup.md)."""
    from zpviz.engine.run import simulate as run

    return run(scenario, variant, progress=progress)


def simulate_cached(scenario, variant: str, progress=None, cache: TraceCache | None = None,
                    store: bool = True) -> tuple[Trace, bool]:
    """The trace of `scenario` under `variant`, from the cache when it holds it, else simulated
    (and stored unless store is False: the caller may want to show it first and store it after).
    Returns (trace, whether it came from the cache)."""
    cache = cache if cache is not None else TraceCache.default()
    trace = cache.get(scenario, variant)
    if trace is not None:
        return trace, True
    trace = simulate(scenario, variant, progress=progress)
    if store:
        cache.put(trace, scenario, variant)
    return trace, False
