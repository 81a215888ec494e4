"""The processes as the lesson goes on, as far as the loader can know them without running it.

Fork creates a process and exit ends one at run time, so whether a step's `process` and `vma`
name something real depends on the steps before it. The loader replays just that (names and vma
sizes, no pages) to check every step up front, and to bound the run's size before it starts.
"""

from __future__ import annotations

import re
from fnmatch import translate

from .checks import Table, kind, show, suggest
from .model import ProcessSpec, VmaSpec

GLOB_CHARS = frozenset("*?[")
_MISSING = object()


def _some(names: list[str], limit: int = 8) -> str:
    return ", ".join(names[:limit]) + (", ..." if len(names) > limit else "") if names else "(none)"


class World:
    def __init__(self, processes: tuple[ProcessSpec, ...], vmas: tuple[VmaSpec, ...]):
        # live process instance -> its vmas' names -> their sizes in pages, in creation order
        self.live: dict[str, dict[str, int]] = {}
        for spec in processes:
            own = {v.name: v.pages for v in vmas if v.process == spec.name}
            for name in spec.instance_names():
                self.live[name] = dict(own)
        self.first = next(iter(self.live), None)
        # vmas every user read and write of which takes the engine's fast path (for the work estimate)
        odd = {v.name for v in vmas if v.share == "shared" or v.backing == "file" or v.locked or v.thp}
        self.plain = {v.name for v in vmas} - odd
        self.exited: dict[str, int] = {}  # instance -> index of the step it exited at
        self.counted = {p.name: p.count for p in processes if p.count is not None}
        self.taken = set(self.live) | {p.name for p in processes}  # names a fork child may not take
        self.created = len(self.live)  # processes that ever existed, for the size bound
        self.pages = sum(sum(v.values()) for v in self.live.values())  # pages ever mapped, likewise
        # Successful resolutions, valid until a fork or exit changes the processes: 10,000 steps on
        # "scanner*" over 4,096 processes would otherwise take seconds, and hold 10,000 copies
        # of the same 4,096 names instead of one shared tuple.
        self._cache: dict[tuple, object] = {}

    def resolve(self, t: Table) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
        """The step's `process` key: (as written, live instances it names), or None if it is wrong."""
        raw = t.data.get("process", _MISSING)
        if raw is _MISSING:
            if self.first in self.exited:
                t.problem(None, f'the first process "{self.first}" exited at step {self.exited[self.first]}; '
                                f"say which process this step is for")
                return None
            return (), (self.first,) if self.first else ()
        if isinstance(raw, str):
            written = (raw,)
        elif isinstance(raw, list) and raw and all(isinstance(p, str) for p in raw):
            written = tuple(raw)
        else:
            t.problem("process", f'process must be a name, a glob like "scanner*", or a list of them; '
                                 f"got {show(raw)} ({kind(raw)})")
            return None
        if ("process", written) in self._cache:
            return self._cache["process", written]
        found: list[str] = []
        ok = True
        for pattern in written:
            names = self._match(t, pattern)
            ok &= names is not None
            found += names or []
        if not ok:
            return None
        result = self._cache["process", written] = written, tuple(dict.fromkeys(found))
        return result

    def _match(self, t: Table, pattern: str) -> list[str] | None:
        live = list(self.live)
        if GLOB_CHARS & set(pattern):
            names = list(filter(re.compile(translate(pattern)).match, live))  # fnmatchcase, at C speed
            if not names:
                t.problem("process", f'process "{pattern}" matches no process that exists at this step; '
                                     f"processes: {_some(live)}")
                return None
            return names
        if pattern in self.live:
            return [pattern]
        if pattern in t.ctx.broken:
            pass  # its [[process]] table was rejected, and that was reported
        elif pattern in self.exited:
            t.problem("process", f'process "{pattern}" exited at step {self.exited[pattern]}')
        elif pattern in self.counted:
            n = self.counted[pattern]
            t.problem("process", f'process "{pattern}" has count = {n}: name its instances, '
                                 f'"{pattern}0" .. "{pattern}{n - 1}", or all of them as "{pattern}*"')
        else:
            t.problem("process", f'unknown process "{pattern}"; processes at this step: {_some(live)}'
                                 f"{suggest(pattern, live)}")
        return None

    def vma_sizes(self, t: Table, instances: tuple[str, ...], vma: str) -> list[int] | None:
        """The size of `vma` in each instance, or None (reported) if some instance lacks it."""
        key = ("vma", instances, vma)
        if key in self._cache:
            return self._cache[key]
        missing = [p for p in instances if vma not in self.live[p]]
        if missing and vma in t.ctx.broken:
            return None
        if missing:
            have = list(self.live[missing[0]])
            more = f" (nor do {len(missing) - 1} more of this step's processes)" if len(missing) > 1 else ""
            t.problem("vma", f'process "{missing[0]}" has no vma "{vma}"{more}; '
                             f"its vmas: {_some(have)}{suggest(vma, have)}")
            return None
        sizes = self._cache[key] = [self.live[p][vma] for p in instances]
        return sizes

    def fork(self, parent: str, child: str) -> int:
        """The child gets the parent's vmas under the same names; returns the pages copied."""
        self._cache.clear()
        self.live[child] = dict(self.live[parent])
        self.taken.add(child)
        self.created += 1
        copied = sum(self.live[child].values())
        self.pages += copied
        return copied

    def exit(self, name: str, step: int) -> int:
        """Tear the process down; returns the pages unmapped."""
        self._cache.clear()
        self.exited[name] = step
        return sum(self.live.pop(name).values())
