"""What the machine was and what else it was doing during a benchmark run.

A ratio measured on a busy or oversubscribed VM says little: every run records the CPU (model
name, family, model, stepping, MHz), the load average before and after, and the steal time
(/proc/stat: time the hypervisor ran someone else while this guest wanted the CPU) and busy
share of the CPUs over the run.
"""

from __future__ import annotations

import os
import platform
import time
from dataclasses import dataclass
from pathlib import Path

# /proc/stat's "cpu" line: user nice system idle iowait irq softirq steal guest guest_nice (ticks);
# guest time is counted in user already, so it is left out of the total
_FIELDS = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")
_HZ = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def cpu_info() -> dict:
    """The first CPU's model name, family, model, stepping and MHz (from /proc/cpuinfo)."""
    want = {"model name": "cpu", "cpu family": "family", "model": "model", "stepping": "stepping",
            "cpu MHz": "mhz"}
    out: dict[str, object] = {v: None for v in want.values()}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if not line.strip():
                break  # the first processor's block only
            key, _, value = line.partition(":")
            key = key.strip()
            if key in want:
                value = value.strip()
                out[want[key]] = int(value) if key in ("cpu family", "model", "stepping") else value
    except (OSError, ValueError):
        pass
    if out["mhz"] is not None:
        out["mhz"] = round(float(out["mhz"]))
    out["cpu"] = out["cpu"] or platform.processor() or "unknown"
    return out


def machine_info() -> dict:
    info = cpu_info()
    return {**info, "cores": os.cpu_count(), "kernel": platform.release(), "python": platform.python_version(),
            "mem_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)}


def python_loop_rate(n: int = 2_000_000, repeat: int = 5) -> float:
    """Millions of iterations a second of a plain Python loop (`for i in range(n): x += i` in a
    function), the best of `repeat` runs in CPU time: a yardstick for comparing the app's and the
    engine's figures across machines. The kernel's fault rates and Python's speed do not scale
    together from one CPU to another (the first-generation EPYC the issues name faults only about
    1.1-1.3x slower than this project's family 26 VM, and its Python was reported 2-3x slower), so
    a figure in milliseconds travels with this rate, and a ratio to the kernel with both."""
    best = float("inf")
    for _ in range(repeat):
        x = 0
        t = time.process_time()
        for i in range(n):
            x += i
        best = min(best, time.process_time() - t)
    return round(n / max(best, 1e-9) / 1e6, 1)


def _proc_stat() -> dict[str, int] | None:
    try:
        with open("/proc/stat") as f:
            head = f.readline().split()
    except OSError:
        return None
    if not head or head[0] != "cpu":
        return None
    values = [int(x) for x in head[1:1 + len(_FIELDS)]]
    values += [0] * (len(_FIELDS) - len(values))  # old kernels have no steal column
    return dict(zip(_FIELDS, values))


@dataclass(frozen=True)
class Sample:
    wall: float
    loadavg: tuple[float, float, float]
    stat: dict[str, int] | None


def sample() -> Sample:
    try:
        load = tuple(round(x, 2) for x in os.getloadavg())
    except OSError:
        load = (-1.0, -1.0, -1.0)
    return Sample(time.monotonic(), load, _proc_stat())  # type: ignore[arg-type]


def during(before: Sample, after: Sample) -> dict:
    """Load average before and after, and the steal time and busy share of all CPUs between."""
    out: dict[str, object] = {"loadavg_before": list(before.loadavg), "loadavg_after": list(after.loadavg),
                              "wall_s": round(after.wall - before.wall, 1)}
    if before.stat and after.stat:
        d = {k: after.stat[k] - before.stat[k] for k in _FIELDS}
        total = sum(d.values()) or 1
        out["steal_s"] = round(d["steal"] / _HZ, 2)  # summed over CPUs
        out["steal_pct"] = round(100 * d["steal"] / total, 2)
        out["busy_pct"] = round(100 * (total - d["idle"] - d["iowait"]) / total, 1)
    else:
        out["steal_s"] = out["steal_pct"] = out["busy_pct"] = None
    return out


def describe(info: dict, run: dict, label: str = "run") -> str:
    """One or two lines for the table."""
    cpu = f"{info.get('cpu')} (family {info.get('family')}, model {info.get('model')}, {info.get('mhz')} MHz)"
    loop = f", plain Python loop {info['python_loop_m_per_s']} M/s" if info.get("python_loop_m_per_s") else ""
    return (f"cpu: {cpu}, {info.get('cores')} cpus{loop}\n"
            f"{label}: load average {run['loadavg_before']} before, {run['loadavg_after']} after; "
            f"steal {run['steal_pct']}% of CPU time ({run['steal_s']} s), CPUs {run['busy_pct']}% busy "
            f"over {run['wall_s']} s")
