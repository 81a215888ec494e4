"""Property tests: random lessons under every variant keep the kernel's books balanced.

Each example is a lesson written as TOML (so the loader is exercised too), played step by step
on a Machine with zpviz.engine.invariants.check after every step. The slow run (./dev test-slow)
takes 2,000 examples per variant.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.engine.util import VARIANTS
from zpviz.engine import constants as C
from zpviz.engine.invariants import check
from zpviz.engine.machine import Machine
from zpviz.engine.run import simulate
from zpviz.scenario import loads

VMAS = {  # name: (pages, extra keys)
    "a": (48, ""),
    "ro": (16, 'prot = "r"'),
    "sh": (8, 'share = "shared"'),
    "f": (8, 'backing = "file"'),
    "h": (1024, "thp = true"),
    "pop": (8, "populate = true"),
}


@st.composite
def selectors(draw, npages: int) -> str:
    lo = draw(st.integers(0, npages - 1))
    hi = draw(st.integers(lo, min(npages - 1, lo + draw(st.sampled_from([0, 3, 40, 600])))))
    stride = draw(st.sampled_from([1, 1, 2, 7]))
    return f'"{lo}-{hi}/{stride}"'


@st.composite
def lessons(draw) -> str:
    alive = ["main"]
    n_children = 0
    out = ['[scenario]\ntitle = "random"\ncpus = 2\n']
    for name, (pages, extra) in VMAS.items():
        out.append(f'[[vma]]\nname = "{name}"\npages = {pages}\n{extra}\n')
    for _ in range(draw(st.integers(1, 12))):
        proc = draw(st.sampled_from(alive))
        op = draw(st.sampled_from(["read", "read", "write", "write", "mlock", "munlock", "madvise", "mprotect",
                                   "munmap", "move_pages", "fork", "exit", "gup", "coredump"]))
        if op == "fork":
            if n_children >= 2:
                continue
            n_children += 1
            child = f"c{n_children}"
            out.append(f'[[step]]\ndo = "fork"\nprocess = "{proc}"\nchild = "{child}"\n')
            alive.append(child)
            continue
        if op == "exit":
            if proc == "main":
                continue
            alive.remove(proc)
            out.append(f'[[step]]\ndo = "exit"\nprocess = "{proc}"\n')
            continue
        if op == "coredump":
            out.append(f'[[step]]\ndo = "coredump"\nprocess = "{proc}"\n')
            continue
        vma = draw(st.sampled_from(sorted(VMAS)))
        sel = draw(selectors(VMAS[vma][0]))
        step = f'[[step]]\ndo = "{op}"\nprocess = "{proc}"\nvma = "{vma}"\npages = {sel}\n'
        if op in ("read", "write"):
            step += f"cpus = {draw(st.sampled_from(['[0]', '[0, 1]']))}\n"
        elif op == "mlock":
            step += f"onfault = {draw(st.sampled_from(['true', 'false', 'false']))}\n"
        elif op == "madvise":
            step += f'advice = "{draw(st.sampled_from(["dontneed", "populate_read", "populate_write"]))}"\n'
        elif op == "mprotect":
            step += f'prot = "{draw(st.sampled_from(["none", "r", "rw"]))}"\n'
        elif op == "gup":
            for flag in ("write", "force", "pin", "longterm"):
                step += f"{flag} = {draw(st.sampled_from(['true', 'false']))}\n"
        out.append(step)
    out.append('[[step]]\nsay = "the end"\n')
    return "\n".join(out)


def _child_writes_stay_private(m: Machine, step) -> list[str]:
    """After a write step, no other live process maps the frame a written private page now holds."""
    if step.do != "write":
        return []
    errs = []
    writer = m.resolve_procs(step)[0]
    v = writer.vmas[step.vma]
    if v.shared:
        return []
    for q in m.procs:
        if q is writer or not q.alive:
            continue
        w = q.vmas[step.vma]
        for i in range(v.npages):
            s, t = v.base + i, w.base + i
            if m.slots.pte[s] & C.PTE_W and m.slots.pte[t] & C.PTE_P and m.slots.pfn[s] == m.slots.pfn[t]:
                errs.append(f"{writer.name} wrote page {i} of {v.name}, and {q.name} maps the same frame")
    return errs


def play_and_check(text: str, k: str) -> None:
    sc = loads(text, "random.toml")
    m = Machine(sc, k)
    m.run_setup()
    assert check(m) == []
    for step in sc.steps:
        m.run_step(step)
        errs = check(m) + _child_writes_stay_private(m, step)
        assert errs == [], f"after step {step.index} ({step.do}) under {k}:\n" + "\n".join(errs[:10]) + "\n" + text
    # everyone exits: nothing may leak but the page cache
    for p in m.procs:
        if p.alive:
            for _ in m.exit_mm(p, 0):
                pass
    assert check(m) == []
    cached = sum(len(c) for c in m.page_cache.values())
    assert (m.frames.used, m.frames.pt, m.rss_pages) == (cached, 0, 0)


SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.mark.parametrize("k", VARIANTS)
@settings(max_examples=25, **SETTINGS)
@given(text=lessons())
def test_books_balance(k, text):
    play_and_check(text, k)


@pytest.mark.slow
@pytest.mark.parametrize("k", VARIANTS)
@settings(max_examples=int(os.environ.get("ZPVIZ_EXAMPLES", "2000")), **SETTINGS)
@given(text=lessons())
def test_books_balance_long(k, text):
    play_and_check(text, k)


@pytest.mark.parametrize("k", VARIANTS)
@settings(max_examples=8, **SETTINGS)
@given(text=lessons())
def test_equal_runs_and_both_directions(k, text):
    """Two runs in this process agree, and frames read backwards equal frames read forwards. (Runs in
    separate processes under other hash seeds: test_trace.test_equal_runs_give_equal_traces_in_any_process.)"""
    sc = loads(text, "random.toml")
    a, b = simulate(sc, k), simulate(sc, k)
    for col in a.events:
        assert np.array_equal(a.events[col], b.events[col])
    n = len(a)
    picks = sorted({0, n - 1, n // 2, n // 3})
    fwd = [a.frame(i).pte.copy() for i in picks]
    back = [b.frame(i).pte.copy() for i in reversed(picks)][::-1]
    assert all(np.array_equal(x, y) for x, y in zip(fwd, back))
