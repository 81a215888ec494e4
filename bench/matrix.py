"""The shape matrix: the engine's rate on every lesson shape, as a ratio to this machine's kernel.

Five variants x five machine shapes (1 CPU; 4 and 16 CPUs on one socket and on two) x four kinds
of work over one region (1 GiB by default): read faults (the zero page, or a new page where the
variant has none), write faults on empty PTEs, COW faults writing what was read, and mlock()
populating a fresh region. Each engine rate is divided by the kernel's rate for the same kind
of work, measured in the same run (bench/run.py: kernel_fault_rates), so the ratio compares like
with like. The headline shape (modern, 4 CPUs, one socket) is only one of the hundred; the issue's
target is that the slowest shape reach half the kernel's rate.

Engine rates are as in bench/run.py (the full per-event trace is built: simulate), with one
difference: the matrix times the process's CPU time (time.process_time), for the engine and for
the kernel alike (the kernel's fault handling is system time of the process that faults). On a
shared machine wall-clock time counts the time other processes held the CPU, which moved single
shapes up to 4x on the 8-way-shared 2-core VM; CPU time does not (steal time, which it may still
count, is recorded beside). COW is the CPU time of a read-then-write lesson less that of the read
alone. The engine and the kernel are timed the same way: the best of REPEAT runs each (the
kernel's rates are the best of as many rounds, bench/run.py: kernel_fault_rates; `--matrix-repeat`
sets both). Before, each shape was timed once against the kernel's best of three: the engine's
first run of a lesson in a process pays for fresh memory the repeats do not (some 64,000 page
faults of the Python process for a 1 GiB 2.6.24 read), and a single shot takes whatever the
machine's other work left it, while the kernel got the best of its three.
mlock() runs on the lean populate walk (engine/populate.py) and its runs written at once
(engine/populate_runs.py), which since the tenth session go on across PTE tables (a table's first
page is one more shape of the run), so a whole 1 GiB mlock is a few runs. Its rate is measured over
the whole region, as the kernel's is. It was measured over 1/8 of it (MLOCK_SHARE 8) while the
per-table costs made the rate steady; with those gone, what grows with the region shows (the cache
model's dictionaries, the check that no cache holds a new struct page), and 1/8 read 10-19 percent
faster than the whole (docs/engine.md).
"""

from __future__ import annotations

import gc
import statistics
import sys
import time

from zpviz.engine.run import simulate
from zpviz.scenario import loads
from zpviz.scenario.model import VARIANTS

SHAPES = (("1cpu", 1, 1), ("4cpu", 4, 1), ("4cpu-2sock", 4, 2), ("16cpu", 16, 1), ("16cpu-2sock", 16, 2))
WORKS = ("read", "write", "cow", "mlock")
SLOWEST = 8  # shapes named in the report
MLOCK_SHARE = 1  # mlock is timed over pages // MLOCK_SHARE: the whole region (see above)
REPEAT = 3  # runs per shape (the best is taken), as the kernel's rounds (bench/run.py)


def lesson(pages: int, cpus: int, sockets: int, steps: list[str]) -> str:
    text = f'[scenario]\ntitle = "matrix"\ncpus = {cpus}\nsockets = {sockets}\n[[vma]]\nname = "t"\npages = {pages}\n'
    for s in steps:
        text += f'[[step]]\n{s}\nvma = "t"\ncpus = {list(range(cpus))}\n'
    return text


def _timed(text: str, kernel: str, repeat: int) -> tuple[float, int]:
    """The best CPU time of `repeat` runs, and the faults of the lesson's last step."""
    sc = loads(text, "matrix.toml")
    best, faults = float("inf"), 0
    for _ in range(repeat):
        gc.collect()
        t = time.process_time()
        trace = simulate(sc, kernel)
        best = min(best, time.process_time() - t)
        faults = trace.step_results[-1].faults
    return best, faults


def shape_rates(kernel: str, cpus: int, sockets: int, pages: int, repeat: int = REPEAT) -> dict[str, float]:
    """Pages per second the engine plays for each kind of work on one shape (faults, or for mlock
    pages populated: mlock is one system call, on the first CPU, whatever the shape)."""
    read, write, mlock = 'do = "read"', 'do = "write"', 'do = "mlock"'
    t_read, _ = _timed(lesson(pages, cpus, sockets, [read]), kernel, repeat)
    t_write, _ = _timed(lesson(pages, cpus, sockets, [write]), kernel, repeat)
    t_both, cow_faults = _timed(lesson(pages, cpus, sockets, [read, write]), kernel, repeat)
    locked = max(1, pages // MLOCK_SHARE)
    t_mlock, _ = _timed(lesson(locked, cpus, sockets, [mlock]), kernel, repeat)
    t_cow = t_both - t_read
    # No rate (NaN, left out of the figures and shown as "-") where the write after the read takes
    # no fault (2.6.24: the read mapped a new writable page, there is nothing to copy), or where
    # the difference is lost in the noise (tiny --quick sizes).
    cow = pages / t_cow if cow_faults and t_cow > 0.02 * t_both else float("nan")
    return {"read": pages / t_read, "write": pages / t_write, "cow": cow, "mlock": locked / t_mlock}


def shape_name(kernel: str, shape: str, work: str) -> str:
    return f"{kernel} {shape} {work}"


def run_matrix(pages: int, kernel_rates: dict[str, float], repeat: int = REPEAT, log=sys.stderr) -> dict:
    """Every shape's rate and ratio; the minimum, median and slowest shapes by name. kernel_rates
    must be per second of CPU time (bench/run.py: kernel_fault_rates(clock=time.process_time)),
    the best of as many rounds as `repeat` (the engine's best of `repeat` runs)."""
    rates: dict[str, float] = {}
    ratios: dict[str, float] = {}
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    for kernel in VARIANTS:
        for shape, cpus, sockets in SHAPES:
            t = time.perf_counter()
            got = shape_rates(kernel, cpus, sockets, pages, repeat)
            seconds[f"{kernel} {shape}"] = round(time.perf_counter() - t, 1)
            for work in WORKS:
                name = shape_name(kernel, shape, work)
                ratio = got[work] / kernel_rates[work]  # NaN where the kernel's mlock failed
                if ratio == ratio:
                    rates[name] = round(got[work])
                    ratios[name] = round(ratio, 3)
            if log is not None:
                print(f"  matrix {kernel:>6} {shape:<11} " + "  ".join(
                    f"{w} {_shown(ratios.get(shape_name(kernel, shape, w)))}" for w in WORKS)
                    + f"  ({seconds[f'{kernel} {shape}']} s)", file=log, flush=True)
    ordered = sorted(ratios.items(), key=lambda kv: kv[1])
    return {
        "engine_shape_min_ratio": ordered[0][1],
        "engine_shape_median_ratio": round(statistics.median(ratios.values()), 3),
        "engine_shape_slowest": [[name, r] for name, r in ordered[:SLOWEST]],
        "engine_shape_ratios": ratios,
        "engine_shape_rates": rates,
        "engine_shape_seconds": seconds,
        "matrix_pages": pages,
        "matrix_mlock_pages": max(1, pages // MLOCK_SHARE),
        "matrix_repeat": repeat,
        "matrix_s": round(time.perf_counter() - t0, 1),
    }


def _shown(ratio: float | None) -> str:
    """A ratio as the tables print it; '-' for a shape with no rate (no such fault under that variant)."""
    return "-" if ratio is None else f"{ratio:.2f}"


def table(res: dict) -> str:
    """The ratios as a grid: a row per variant and machine shape, a column per kind of work."""
    ratios = res["engine_shape_ratios"]
    lines = [f"  {'variant':>7} {'shape':<11} " + " ".join(f"{w:>6}" for w in WORKS)]
    for kernel in VARIANTS:
        for shape, _, _ in SHAPES:
            lines.append(f"  {kernel:>7} {shape:<11} "
                         + " ".join(f"{_shown(ratios.get(shape_name(kernel, shape, w))):>6}" for w in WORKS))
    return "\n".join(lines)
