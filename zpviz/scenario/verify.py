"""Compare the `modern` model's run report with the running kernel's, step by step.

Pure report comparison, so it lives beside the claims (which also judge reports): the command line,
the kernel runner's callers and the view-models (present/machine.py) all use it, and none of them
has to depend on the kernel runner for it.

    diffs = compare_reports(model_report, kernel_report)   # both made with every_step=True
    print(format_differences(diffs))

Compared (docs/report.md and docs/cli.md, `zpviz verify`): per page `pages`, `mlocked`, `huge`; per vma
`rss_kb`, `anon_kb`, `locked_kb`; per step `errno` and the move_pages `status`; and (zpviz's own
addition) a coredump step's `dump`, the pages written to the core file and the holes. On request also
`faults` and `vm_locked` (OPTIONAL_FIELDS). A null on the kernel
side means "not observed" (no root, a /proc file that could not be read), never a difference; so
does a null in the model's per-page or kB fields. errno and status are values even when null (null
means the syscall succeeded), but are skipped for a kernel step that was not carried out.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from itertools import groupby

PAGE_FIELDS = ("pages", "mlocked", "huge")
VMA_FIELDS = ("rss_kb", "anon_kb", "locked_kb")
STEP_FIELDS = ("errno", "status", "dump")
DEFAULT_FIELDS = PAGE_FIELDS + VMA_FIELDS + STEP_FIELDS
# Not in the contract's list, so only on request: compare_reports(m, r, DEFAULT_FIELDS + OPTIONAL_FIELDS).
OPTIONAL_FIELDS = ("faults", "vm_locked")


def _fmt(value: object) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value)


@dataclass(frozen=True)
class Difference:
    step: int
    process: str | None
    vma: str | None
    field: str  # "pages", "mlocked", "huge", "rss_kb", ..., "errno", "status", "exited", "process"
    page: int | None  # page index in the vma; for "status", the entry's position in the selection
    model: object
    kernel: object
    do: str | None = None

    def where(self) -> str:
        out = f"step {self.step}" + (f" ({self.do})" if self.do else "")
        if self.process:
            out += f" {self.process}" + (f"/{self.vma}" if self.vma else "")
        return out

    def __str__(self) -> str:
        field = self.field if self.page is None else f"{self.field}[{self.page}]"
        return f"{self.where()} {field}: model {_fmt(self.model)}, kernel {_fmt(self.kernel)}"


def _steps(report: dict, which: str) -> dict[int, dict]:
    steps = report.get("steps")
    if not isinstance(steps, list):
        raise ValueError(f"the {which} report has no steps list")
    return {e["index"]: e for e in steps if isinstance(e, dict) and "index" in e}


def _process_label(entry: dict) -> str | None:
    p = entry.get("process")
    return ",".join(p) if isinstance(p, list) else p


def _compare_step(i: int, m: dict, r: dict, fields: tuple[str, ...]) -> list[Difference]:
    out: list[Difference] = []
    do, proc, vma = m.get("do"), _process_label(m), m.get("vma")
    if r.get("carried_out", True):
        if "faults" in fields and r.get("faults") is not None and m.get("faults") != r.get("faults"):
            out.append(Difference(i, proc, vma, "faults", None, m.get("faults"), r.get("faults"), do))
        if "errno" in fields and m.get("errno") != r.get("errno"):
            out.append(Difference(i, proc, vma, "errno", None, m.get("errno"), r.get("errno"), do))
        md, rd = m.get("dump"), r.get("dump")
        if "dump" in fields and rd is not None and md != rd:
            for key in ("written", "holes"):
                if (md or {}).get(key) != rd.get(key):
                    out.append(Difference(i, proc, vma, f"dump.{key}", None, (md or {}).get(key), rd.get(key), do))
        ms, rs = m.get("status"), r.get("status")
        if "status" in fields and ms != rs:
            if isinstance(ms, list) and isinstance(rs, list) and len(ms) == len(rs):
                out += [Difference(i, proc, vma, "status", j, a, b, do)
                        for j, (a, b) in enumerate(zip(ms, rs)) if a != b]
            else:
                out.append(Difference(i, proc, vma, "status", None, ms, rs, do))
    out += _compare_state(i, do, m["state"], r["state"], fields)
    return out


def _compare_state(i: int, do: str | None, ms: dict, rs: dict, fields: tuple[str, ...]) -> list[Difference]:
    out: list[Difference] = []
    mp, rp = ms.get("processes") or {}, rs.get("processes") or {}
    for name in list(mp) + [n for n in rp if n not in mp]:
        a, b = mp.get(name), rp.get(name)
        if a is None or b is None:
            out.append(Difference(i, name, None, "process", None, "exists" if a else "absent",
                                  "exists" if b else "absent", do))
            continue
        if bool(a.get("exited")) != bool(b.get("exited")):
            out.append(Difference(i, name, None, "exited", None, bool(a.get("exited")), bool(b.get("exited")), do))
            continue
        mv, rv = a.get("vmas") or {}, b.get("vmas") or {}
        for vname in list(mv) + [n for n in rv if n not in mv]:
            x, y = mv.get(vname), rv.get(vname)
            if x is None or y is None:
                out.append(Difference(i, name, vname, "vma", None, "exists" if x else "absent",
                                      "exists" if y else "absent", do))
                continue
            for f in PAGE_FIELDS:
                if f not in fields:
                    continue
                xs, ys = x.get(f) or [], y.get(f) or []
                out += [Difference(i, name, vname, f, p, u, v, do)
                        for p, (u, v) in enumerate(zip(xs, ys)) if u is not None and v is not None and u != v]
                if len(xs) != len(ys):
                    out.append(Difference(i, name, vname, f"{f} length", None, len(xs), len(ys), do))
            for f in VMA_FIELDS + ("vm_locked",):
                if f in fields and x.get(f) is not None and y.get(f) is not None and x[f] != y[f]:
                    out.append(Difference(i, name, vname, f, None, x[f], y[f], do))
    return out


def compare_reports(model: dict, real: dict, fields: tuple[str, ...] = DEFAULT_FIELDS) -> list[Difference]:
    """Every difference between the model's and the kernel's reports, in step order.

    Both reports need the state after every step (`every_step=True`); ValueError otherwise.
    """
    ms, rs = _steps(model, "model"), _steps(real, "kernel")
    out: list[Difference] = []
    for i in sorted(set(ms) | set(rs)):
        m, r = ms.get(i), rs.get(i)
        if m is None or r is None:
            out.append(Difference(i, None, None, "step", None, "present" if m else "missing",
                                  "present" if r else "missing", (m or r).get("do")))
            continue
        for which, e in (("model", m), ("kernel", r)):
            if not isinstance(e.get("state"), dict):
                raise ValueError(f"the {which} report has no state after step {i}: make both reports with "
                                 "every_step=True (--every-step)")
        out += _compare_step(i, m, r, fields)
    return out


def format_differences(diffs: list[Difference]) -> str:
    """Differences for humans, runs of pages folded: "step 3 (write) main/t pages 0-511: model zero, kernel anon"."""
    if not diffs:
        return "no differences"
    lines = []

    def key(d: Difference) -> tuple:
        return (d.step, d.do, d.process, d.vma, d.field, _fmt(d.model), _fmt(d.kernel), d.page is None)

    for _, group in groupby(diffs, key=key):
        group = list(group)
        head = group[0]
        if head.page is None:
            lines += [str(d) for d in group]
            continue
        runs = []
        for _, run in groupby(enumerate(d.page for d in group), key=lambda t: t[1] - t[0]):
            pages = [p for _, p in run]
            runs.append(str(pages[0]) if len(pages) == 1 else f"{pages[0]}-{pages[-1]}")
        what = {"status": "entries"}.get(head.field, "pages" if head.field == "pages" else f"{head.field} of pages")
        if len(group) == 1:
            what = {"status": "entry"}.get(head.field, "page" if head.field == "pages" else f"{head.field} of page")
        lines.append(f"{head.where()} {what} {', '.join(runs)}: model {_fmt(head.model)}, kernel {_fmt(head.kernel)}")
    steps = len({d.step for d in diffs})
    summary = f"{len(diffs)} difference{'s' if len(diffs) != 1 else ''} in {steps} step{'s' if steps != 1 else ''}"
    return "\n".join([summary] + lines)
