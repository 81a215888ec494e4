"""Small lessons written inline, run under one variant, with handy accessors."""

from __future__ import annotations

import textwrap

from zpviz.engine.run import simulate
from zpviz.play import trace_report
from zpviz.scenario import loads

VARIANTS = ("2.6.23", "2.6.24", "v5", "2.6.32", "modern")


def lesson(body: str, cpus: int = 1, extra: str = "") -> str:
    return f'[scenario]\ntitle = "t"\ncpus = {cpus}\n{extra}\n' + textwrap.dedent(body)


def run(text: str, kernel: str, every_step: bool = True) -> dict:
    sc = loads(text, "test.toml")
    return trace_report(simulate(sc, kernel), every_step=every_step)


def pages(report: dict, step: int = -1, proc: str = "main", vma: str = "r") -> list[str]:
    state = report["final"] if step == -1 else report["steps"][step]["state"]
    return state["processes"][proc]["vmas"][vma]["pages"]


def vma(report: dict, step: int = -1, proc: str = "main", name: str = "r") -> dict:
    state = report["final"] if step == -1 else report["steps"][step]["state"]
    return state["processes"][proc]["vmas"][name]
