"""A trace as data: its numpy arrays plus a JSON tree of everything else, and back.

The trace cache (tracecache.py) stores what this makes. It walks the object generically (dicts,
lists, tuples, ints, strings, numpy arrays and the engine's own classes, attribute by attribute)
instead of naming the recorder's columns, so a change to the engine's record layout needs no
change here. Nothing in a file can run code: the tree is JSON, arrays are plain numbers (no
object dtype, numpy's allow_pickle stays off), and an object is rebuilt only as an instance of a
class already imported from zpviz.engine, by setting its attributes; no constructor, __setstate__
or any other method of the file's choosing runs.

Arrays are packed into one blob per dtype (a file of hundreds of small arrays reads several
times faster as a few big ones), and an array equal to the last one stored under the same name
(a trace's keyframes repeat many arrays unchanged from one to the next) is stored once: a
comparison with that one array costs far less than hashing every array. Each array read back is
its own memory (a view of its blob where it was stored once, else a copy), so what one part of a
trace does to its arrays never shows in another.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field

import numpy as np

# The engine's classes are the only ones a file may name: rebuilt from data, never called.
ALLOWED_MODULE = "zpviz.engine"
_NUMERIC_KINDS = "biuf"


class Uncacheable(Exception):
    """The object holds something this codec does not store (the caller just does not cache it)."""


class CorruptEntry(Exception):
    """The data does not decode to what it claims (the caller treats the file as absent)."""


@dataclass
class Packed:
    """What encode() makes: a JSON-able tree and one 1-d array per dtype it points into."""

    tree: object
    blobs: dict[str, np.ndarray] = field(default_factory=dict)


def _allowed(cls: type) -> bool:
    mod = getattr(cls, "__module__", "") or ""
    return mod == ALLOWED_MODULE or mod.startswith(ALLOWED_MODULE + ".")


def _state(obj) -> dict[str, object]:
    """An object's attributes: its __dict__ and any __slots__ along its classes."""
    out = dict(vars(obj)) if hasattr(obj, "__dict__") else {}
    for klass in type(obj).__mro__:
        for name in getattr(klass, "__slots__", ()):
            if name not in ("__dict__", "__weakref__") and hasattr(obj, name):
                out[name] = getattr(obj, name)
    return out


class _Encoder:
    def __init__(self) -> None:
        self.parts: dict[str, list[np.ndarray]] = {}
        self.size: dict[str, int] = {}
        self.last: dict[object, tuple[np.ndarray, list]] = {}  # name -> the last array stored under it, its ref

    def array(self, a: np.ndarray, name=None) -> dict:
        if a.dtype.kind not in _NUMERIC_KINDS or a.dtype.byteorder not in "=|<":
            raise Uncacheable(f"an array of dtype {a.dtype}")
        a = np.ascontiguousarray(a)
        dt = a.dtype.str
        prev = self.last.get(name) if name is not None else None
        if prev is not None and prev[0].dtype == a.dtype and prev[0].shape == a.shape and np.array_equal(prev[0], a):
            return {"A": prev[1]}
        off = self.size.get(dt, 0)
        self.parts.setdefault(dt, []).append(a.reshape(-1))
        self.size[dt] = off + a.size
        ref = [dt, off, list(a.shape)]
        if name is not None:
            self.last[name] = (a, ref)
        return {"A": ref}

    def __call__(self, o, skip=()):
        if o is None or isinstance(o, (bool, str)):
            return o
        if isinstance(o, int):  # also bool subclasses, handled above; an IntEnum would lose its type
            if type(o) is not int:
                raise Uncacheable(f"an int subclass {type(o).__qualname__}")
            return o
        if isinstance(o, float):
            return {"F": repr(o)}  # JSON has no inf or nan; repr round-trips every float
        if isinstance(o, np.ndarray):
            return self.array(o)
        if isinstance(o, np.generic):
            if o.dtype.kind not in _NUMERIC_KINDS:
                raise Uncacheable(f"a numpy scalar of dtype {o.dtype}")
            return {"S": [o.dtype.str, o.item() if o.dtype.kind != "f" else repr(o.item())]}
        t = type(o)
        if t is list:
            return [self(v) for v in o]
        if t is tuple:
            return {"T": [self(v) for v in o]}
        if t is dict:
            return {"D": [[self(k), self.array(v, ("key", k)) if isinstance(v, np.ndarray) and isinstance(k, str)
                           else self(v)] for k, v in o.items()]}
        if _allowed(t) and not isinstance(o, (tuple, list, dict, set, type)):
            state = {k: self.array(v, (t, k)) if isinstance(v, np.ndarray) else self(v)
                     for k, v in _state(o).items() if k not in skip}
            return {"O": f"{t.__module__}:{t.__qualname__}", "a": state}
        raise Uncacheable(f"a {t.__module__}.{t.__qualname__}")


def encode(obj, skip: tuple[str, ...] = ()) -> Packed:
    """The object as data; `skip` names attributes of obj itself left out (the caller restores
    them). Raises Uncacheable for anything it cannot store faithfully."""
    enc = _Encoder()
    tree = enc(obj, skip)
    blobs = {dt: np.concatenate(parts) if len(parts) > 1 else parts[0].copy() for dt, parts in enc.parts.items()}
    return Packed(tree, blobs)


def dumps_tree(tree) -> np.ndarray:
    return np.frombuffer(json.dumps(tree, separators=(",", ":")).encode(), np.uint8)


def loads_tree(raw: np.ndarray):
    try:
        return json.loads(raw.tobytes().decode())
    except (UnicodeDecodeError, ValueError) as e:
        raise CorruptEntry(f"metadata: {e}") from None


def _class(name: str) -> type:
    mod, _, qual = name.partition(":")
    if not (mod == ALLOWED_MODULE or mod.startswith(ALLOWED_MODULE + ".")):
        raise CorruptEntry(f"class {name!r} is not the engine's")
    obj = sys.modules.get(mod)  # only modules already imported: a file never makes Python import one
    for part in qual.split("."):
        obj = getattr(obj, part, None)
    if not isinstance(obj, type) or not _allowed(obj) or obj.__module__ != mod:
        raise CorruptEntry(f"no class {name!r}")
    return obj


class _Decoder:
    def __init__(self, blobs: dict[str, np.ndarray]) -> None:
        self.blobs = blobs
        self.given: set[tuple[str, int]] = set()  # parts of a blob already handed out as a view

    def array(self, ref) -> np.ndarray:
        try:
            dt, off, shape = ref
            blob = self.blobs[dt]
            n = int(np.prod(shape, dtype=np.int64))
            if not (isinstance(off, int) and 0 <= off and off + n <= len(blob)):
                raise CorruptEntry("an array past the end of its blob")
            a = blob[off:off + n].reshape(shape)
            if (dt, off) in self.given:  # stored once, used twice: the second gets its own copy
                return a.copy()
            self.given.add((dt, off))
            return a
        except (KeyError, TypeError, ValueError) as e:
            raise CorruptEntry(f"array {ref!r}: {e}") from None

    def __call__(self, t):
        if t is None or isinstance(t, (bool, int, str)):
            return t
        if isinstance(t, list):
            return [self(v) for v in t]
        if not isinstance(t, dict) or len(t) not in (1, 2):
            raise CorruptEntry(f"unexpected node {str(t)[:60]!r}")
        if "A" in t:
            return self.array(t["A"])
        if "T" in t:
            return tuple(self(v) for v in t["T"])
        if "D" in t:
            return {self._key(k): self(v) for k, v in t["D"]}
        if "F" in t:
            return float(t["F"])
        if "S" in t:
            dt, v = t["S"]
            dtype = np.dtype(dt)
            if dtype.kind not in _NUMERIC_KINDS:
                raise CorruptEntry(f"scalar dtype {dt!r}")
            return dtype.type(float(v) if dtype.kind == "f" else v)
        if "O" in t:
            cls = _class(t["O"])
            obj = object.__new__(cls)
            for k, v in t["a"].items():
                object.__setattr__(obj, k, self(v))  # frozen dataclasses too; no method of cls runs
            return obj
        raise CorruptEntry(f"unexpected node {str(t)[:60]!r}")

    def _key(self, k):
        k = self(k)
        try:
            hash(k)
        except TypeError:
            raise CorruptEntry("an unhashable dict key") from None
        return k


def decode(tree, blobs: dict[str, np.ndarray]):
    """The object encode() described. Raises CorruptEntry when the data does not fit together."""
    try:
        return _Decoder(blobs)(tree)
    except RecursionError:
        raise CorruptEntry("nested too deep") from None
    except (TypeError, ValueError, AttributeError, KeyError) as e:  # a node of the wrong shape
        raise CorruptEntry(f"{type(e).__name__}: {e}") from None
