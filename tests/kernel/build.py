"""Build small Scenario objects in code, and read run reports, for the kernel runner's tests."""

from __future__ import annotations

from dataclasses import replace

from zpviz.scenario.model import Claim, PageRange, ProcessSpec, Scenario, Selector, Source, Step, VmaSpec

SRC = Source("kernel-test.toml", None, "")


def sel(*items) -> Selector:
    """sel() is "all"; ints are pages; tuples are (lo, hi) or (lo, hi, stride)."""
    if not items:
        return Selector(all_pages=True, text="all")
    ranges = tuple(PageRange(i, i) if isinstance(i, int) else PageRange(*i) for i in items)
    return Selector(ranges=ranges, text=",".join(map(str, items)))


def vma(name: str, pages: int, process: str = "main", **kw) -> VmaSpec:
    return VmaSpec(name=name, process=process, pages=pages, source=Source(SRC.file, 7, f"vma {name}"), **kw)


def step(do: str, vma: str | None = None, pages: Selector | None = None, process: str | None = None,
         expect: tuple[tuple[str, object], ...] = (), **kw) -> Step:
    if vma is not None and pages is None:
        pages = sel()
    claims = tuple(Claim("modern", f, v, SRC) for f, v in expect)
    procs = (process,) if process else ()
    return Step(index=-1, do=do, processes=procs, vma=vma, pages=pages, expect=claims, source=SRC, **kw)


def scenario(vmas: list[VmaSpec], steps: list[Step], processes: tuple[str, ...] = ("main",)) -> Scenario:
    return Scenario(path=SRC.file, title="kernel test", processes=tuple(ProcessSpec(p, None, SRC) for p in processes),
                    vmas=tuple(vmas), steps=tuple(replace(s, index=i) for i, s in enumerate(steps)))


def state(report: dict, index: int | None = None) -> dict:
    return report["final"] if index is None else report["steps"][index]["state"]


def vstate(report: dict, vma: str, index: int | None = None, process: str = "main") -> dict:
    return state(report, index)["processes"][process]["vmas"][vma]


def pages(report: dict, vma: str, index: int | None = None, process: str = "main") -> list:
    return vstate(report, vma, index, process)["pages"]
