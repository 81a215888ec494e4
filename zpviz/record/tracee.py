"""What the recorder keeps of each traced process (Proc), the page states it tells apart between
two snapshots, and what /proc says of a process (its threads, its thread group, its name, the
recorder's own ancestors)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field


@dataclass
class Proc:
    pid: int
    parent: int | None
    exec_ns: int | None = None
    exit_ns: int | None = None
    exit_status: int | None = None
    comm: str = ""
    faults_at_exec: tuple[int, int] | None = None
    faults_at_exit: tuple[int, int] | None = None
    maps_at_exec: list[dict] | None = None
    maps_at_fork: list[dict] | None = None  # a forked child, at its first stop: what fork copied
    final: list[dict] | None = None
    final_at: str | None = None  # "exit" or "detach"
    final_ns: int | None = None
    snapshots: list[dict] = field(default_factory=list)  # page states while it ran: the mappings that changed
    seen: dict = field(default_factory=dict)  # (start, end) -> page states at the last snapshot, for the diff

    def as_json(self) -> dict:
        return {"pid": self.pid, "parent": self.parent, "comm": self.comm, "exec_ns": self.exec_ns,
                "exit_ns": self.exit_ns, "exit_status": self.exit_status,
                "faults_at_exec": _flt(self.faults_at_exec), "faults_at_exit": _flt(self.faults_at_exit),
                "maps_at_exec": self.maps_at_exec, "maps_at_fork": self.maps_at_fork,
                "final_at": self.final_at, "final_ns": self.final_ns,
                "snapshots": self.snapshots, "mappings": self.final}


def _flt(pair):
    return None if pair is None else {"minflt": pair[0], "majflt": pair[1]}


STATE_KEYS = ("perms", "pages", "mlocked", "huge")


def changed_mappings(p: Proc, maps: list[dict]) -> dict:
    """The mappings of `maps` whose page states differ from the process's last snapshot (new ones
    included) and the (start, end) of those gone since; `maps` becomes the new base."""
    now = {(m["start"], m["end"]): tuple(_freeze(m.get(k)) for k in STATE_KEYS) for m in maps}
    changed = [m for m in maps if p.seen.get((m["start"], m["end"])) != now[(m["start"], m["end"])]]
    gone = [[lo, hi] for lo, hi in p.seen if (lo, hi) not in now]
    p.seen = now
    return {"mappings": changed, "gone": gone}


def _freeze(v):
    return tuple(tuple(x) if isinstance(x, list) else x for x in v) if isinstance(v, list) else v


def _ancestors() -> set[int]:
    out, pid = set(), os.getpid()
    while pid > 1 and pid not in out:
        out.add(pid)
        try:
            with open(f"/proc/{pid}/stat") as f:
                text = f.read()
            pid = int(text[text.rindex(")") + 2:].split()[1])
        except (OSError, ValueError, IndexError):
            break
    return out


def _threads(pid: int) -> list[int]:
    try:
        return sorted(int(t) for t in os.listdir(f"/proc/{pid}/task"))
    except OSError:
        return [pid]


def _same_tgid(tid: int, pid: int) -> bool:
    try:
        with open(f"/proc/{tid}/status") as f:
            for line in f:
                if line.startswith("Tgid:"):
                    return int(line.split()[1]) == pid
    except OSError:
        pass
    return False


def _comm(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return ""
