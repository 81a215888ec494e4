"""The lesson as this machine's kernel ran it, beside the model: page codes and differences per step.

The real run's report (zpviz.kernel.runner.run_on_kernel, every_step=True) holds the state after
each step and no events, so at any frame the app shows the kernel's state after the step that
frame belongs to (`MachineRun.step_at`). The differences are zpviz.scenario.verify's, between that
report and the `modern` model's: pages whose state, mlocked or huge flag differ are outlined in
the grid; every difference (rss_kb, errno, a process that exited ...) is listed. Built once, off
the GUI thread, and immutable afterwards.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from itertools import groupby

import numpy as np

from zpviz.engine import constants as C
from zpviz.present import codes as K
from zpviz.present.picture import Picture
from zpviz.scenario.verify import Difference, compare_reports

PAGE_FIELDS = ("pages", "mlocked", "huge")  # the differences a grid cell can show
MODEL = "modern"  # the variant a current kernel is checked against
MAX_RUNS = 12  # page runs named in one line of the list; the rest are counted
_CODE = {name: 1 + i for i, name in enumerate(C.STATE_NAMES)}


@dataclass(frozen=True)
class DiffLine:
    text: str  # "main/table pages 0-63: model zero, kernel anon"
    slot: int  # the first page it names (to select it), -1 when it names no page


@dataclass(frozen=True, eq=False)
class MachineStep:
    index: int  # the lesson step (0-based)
    codes: np.ndarray  # (n_slots,) uint8 page codes of the kernel's state after the step, read-only
    model: np.ndarray  # (n_slots,) ... of the model's state after the step (for hover text)
    differs: np.ndarray  # sorted slots whose state, mlocked or huge differ from the model
    lines: tuple[DiffLine, ...]
    count: int  # every difference at this step, page by page

    def count_text(self) -> str:
        return "no differences at this step" if not self.count else \
            f"{self.count:,} difference{'s' if self.count != 1 else ''} at this step"


@dataclass(frozen=True, eq=False)
class MachineRun:
    kernel: str  # "linux-6.18.44"
    steps: tuple[MachineStep, ...]
    total: int
    notes: tuple[str, ...]
    root: bool  # False: PFNs and kpageflags were not readable, so some pages are "not observed"

    @property
    def title(self) -> str:
        """'this machine: linux-6.18.44': the version without its local suffix, to fit a narrow pane."""
        m = re.match(r"linux-\d+(?:\.\d+)*", self.kernel)
        return f"this machine: {m.group(0) if m else self.kernel}"

    def summary_text(self) -> str:
        if not self.total:
            return f"no differences from the {MODEL} model"
        n = len({s.index for s in self.steps if s.count})
        return f"{self.total:,} difference{'s' if self.total != 1 else ''} from the {MODEL} model in " \
               f"{n} step{'s' if n != 1 else ''}"

    def step_at(self, trace, frame: int) -> int:
        """The step whose state the kernel pane shows at `frame` of `trace`, -1 before any.

        During a step's events that step (the state after it: the kernel is only read between
        steps); before the first event, the first step if it only says something.
        """
        k = trace.step_of_frame(frame)
        if k < 0 and trace.scenario.steps and trace.scenario.steps[0].is_narration:
            k = 0  # a lesson that opens with words: the state after them is the state before any op
        return min(k, len(self.steps) - 1)


def state_codes(state: dict | None, layout) -> np.ndarray:
    """Page codes per slot of a report state ("final"-shaped). A process not (yet, or no longer)
    alive has unmapped pages, as the model draws it; a null page is UNKNOWN."""
    out = np.full(layout.n_slots, _CODE["unmapped"], np.uint8)
    procs = (state or {}).get("processes") or {}
    for p in layout.procs:
        ps = procs.get(p.name)
        if not isinstance(ps, dict) or ps.get("exited"):
            continue
        vmas = ps.get("vmas") or {}
        for v in p.vmas:
            vs = vmas.get(v.name)
            if isinstance(vs, dict):
                out[v.base:v.base + v.npages] = _vma_codes(vs, v.npages)
    out.flags.writeable = False
    return out


def _vma_codes(vs: dict, n: int) -> np.ndarray:
    pages = list(vs.get("pages") or [])[:n]
    codes = np.full(n, K.UNKNOWN, np.uint8)
    codes[:len(pages)] = np.fromiter((_CODE.get(x, K.UNKNOWN) for x in pages), np.uint8, len(pages))
    for field, bit in (("mlocked", K.MLOCKED), ("huge", K.HUGE)):
        flags = list(vs.get(field) or [])[:n]
        on = np.fromiter((x is True for x in flags), bool, len(flags))
        codes[:len(flags)] |= np.where(on, bit, 0).astype(np.uint8)
    return codes


def _slot(layout, d: Difference) -> int:
    """The slot of a page difference, -1 when it names no page of the layout."""
    if d.page is None or d.field not in PAGE_FIELDS or not d.process or not d.vma:
        return -1
    try:
        proc = layout.proc(d.process)
    except KeyError:
        return -1
    v = next((v for v in proc.vmas if v.name == d.vma), None)
    return v.base + d.page if v is not None and 0 <= d.page < v.npages else -1


def _value(v: object) -> str:
    return v if isinstance(v, str) else json.dumps(v)


def diff_lines(layout, diffs: list[Difference]) -> tuple[DiffLine, ...]:
    """One step's differences for people, runs of pages folded: 'main/t pages 0-63: model zero, kernel anon'."""
    groups: dict[tuple, list[Difference]] = {}  # in order of first appearance
    for d in diffs:
        groups.setdefault((d.process, d.vma, d.field, _value(d.model), _value(d.kernel), d.page is None), []).append(d)
    out: list[DiffLine] = []
    for group in groups.values():
        d = group[0]
        where = "/".join(x for x in (d.process, d.vma) if x)
        if d.page is None:
            out += [DiffLine(f"{where} {g.field}: model {_value(g.model)}, kernel {_value(g.kernel)}".strip(), -1)
                    for g in group]
            continue
        runs = []
        for _, run in groupby(enumerate(g.page for g in group), key=lambda t: t[1] - t[0]):
            pages = [p for _, p in run]
            runs.append(str(pages[0]) if len(pages) == 1 else f"{pages[0]}-{pages[-1]}")
        what = {"pages": "page", "status": "entry"}.get(d.field, f"{d.field} of page")
        if len(group) > 1:
            what = {"pages": "pages", "status": "entries"}.get(d.field, f"{d.field} of pages")
        more = len(runs) - MAX_RUNS
        shown = ", ".join(runs[:MAX_RUNS]) + (f" and {more:,} more runs" if more > 0 else "")
        out.append(DiffLine(f"{where} {what} {shown}: model {_value(d.model)}, kernel {_value(d.kernel)}",
                            _slot(layout, d)))
    return tuple(out)


def machine_run(layout, model_report: dict, real_report: dict) -> MachineRun:
    """The view-model of a real run; both reports made with every_step=True (ValueError otherwise)."""
    diffs = compare_reports(model_report, real_report)
    by_step = {k: list(g) for k, g in groupby(diffs, key=lambda d: d.step)}
    model_states = {e["index"]: e.get("state") for e in model_report["steps"]}
    steps = []
    for e in real_report["steps"]:
        k = e["index"]
        mine = by_step.get(k, [])
        slots = [s for s in (_slot(layout, d) for d in mine) if s >= 0]
        differs = np.unique(np.asarray(slots, np.int64))
        differs.flags.writeable = False
        steps.append(MachineStep(k, state_codes(e.get("state"), layout), state_codes(model_states.get(k), layout),
                                 differs, diff_lines(layout, mine), len(mine)))
    observed = real_report.get("observed") or {}
    return MachineRun(str(real_report.get("kernel", "this kernel")), tuple(steps), len(diffs),
                      tuple(real_report.get("notes") or ()), bool(observed.get("pfns", True)))


def mark_runs(grid, slots: np.ndarray) -> np.ndarray:
    """Outlines for `slots` in `grid`: (n, 3) int64 rows (row, first column, end column), one per run
    of adjacent cells in a grid row, so a vma that differs throughout costs a rectangle per row."""
    if not len(slots):
        return np.zeros((0, 3), np.int64)
    cells = np.unique(grid.slot_cell[np.asarray(slots, np.int64)])
    rows, cols = np.divmod(cells, grid.width)
    start = np.ones(len(cells), bool)
    start[1:] = (np.diff(cells) != 1) | (rows[1:] != rows[:-1])
    firsts = np.flatnonzero(start)
    ends = np.append(firsts[1:], len(cells)) - 1
    return np.stack([rows[firsts], cols[firsts], cols[ends] + 1], axis=1)


def hover_text(run: MachineRun, step: int, slot: int) -> str:
    """What the kernel and the model say about a page after `step`."""
    if not 0 <= step < len(run.steps) or not 0 <= slot < len(run.steps[step].codes):
        return "the kernel is read after each step; this step has not run yet"
    s = run.steps[step]
    kernel, model = K.describe(int(s.codes[slot])), K.describe(int(s.model[slot]))
    mark = "  \u2190 differs" if np.isin(slot, s.differs) else ""
    return f"after step {step + 1}\nthis machine: {kernel}\n{MODEL} model: {model}{mark}"


_NO_SLOTS = np.zeros(0, np.int64)


def machine_picture(grid, run: MachineRun, step: int, frame: int) -> Picture:
    """The kernel pane's picture at `frame` (showing `step`): no events to flash, no frames to draw."""
    if 0 <= step < len(run.steps):
        codes = grid.codes(run.steps[step].codes)
    else:  # nothing observed before the first step
        codes = grid.codes(np.full(grid.n_slots, K.UNKNOWN, np.uint8))
    return Picture(frame, codes, np.zeros((0, 0), np.uint8), (), (), (), False, _NO_SLOTS, _NO_SLOTS)
