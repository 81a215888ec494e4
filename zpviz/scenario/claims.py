"""Check a step's claims (`[step.expect.VARIANT]`) against a run report (docs/report.md, docs/format.md).

The checker reads only the report's JSON shape (a step entry and a "final"-shaped state), so it
works the same on the engine's report and on `zpviz kernel`'s, and needs no engine import.

Semantics, chosen where the contract leaves room:
- Claims under "*" hold for every variant; a variant's own claim on the same field replaces the
  "*" one (so "*" can state the usual outcome and a variant its exception).
- When a step names several processes, a vma or process claim must hold for each of them
  (kB fields are not summed: "rss_kb = 0" on "scanner*" means no scanner has any Rss).
- `log` strings must each be a substring of some line of the step's own log.
- Run totals (frames_used, the zero_page_* counters, ...) are named "(run total)" in failures, and
  `step.FIELD` is the change of a run total over the step (the report entry's `delta`).
- A comparison (`{ of = "v5", times = { min = 2 } }`) holds when this variant's number is in
  `times` times variant `of`'s at the same step; the run's caller supplies those numbers (`peers`).
- `process` and `vma` in a claim table make its vma and process claims describe that process and
  vma instead of the step's (a fork's child, say).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from fnmatch import fnmatchcase

import numpy as np

from . import fields as F
from .model import Claim, Compare, Range, Scenario, Selector, Step
from .selectors import resolve, selector_max


@dataclass(frozen=True)
class ClaimFailure:
    title: str  # the lesson's title
    file: str
    line: int | None
    step: int
    variant: str  # the variant the run was under
    field: str  # e.g. "frames_used", 'pages["0-15"]', "rss_kb of scanner3"
    claimed: object
    actual: object

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return (f"{where}: step {self.step} under {self.variant}: {F.describe(self.field)} claimed "
                f"{fmt(self.claimed)}, got {fmt(self.actual)}")

    def to_json(self) -> dict:
        """For the report's `expect.failed` list."""
        return {"field": self.field, "claimed": _jsonable(self.claimed), "actual": _jsonable(self.actual),
                "line": self.line, "message": str(self)}


class Actual(str):
    """An observed outcome already put into words (e.g. "anon at pages 16, 32"): shown unquoted."""


def fmt(value: object) -> str:
    if isinstance(value, Actual):
        return str(value)
    if isinstance(value, Compare):
        t = value.times
        if isinstance(t, Range):
            if t.min is not None and t.max is not None:
                return f"{t.min:g} to {t.max:g} times {value.of}'s"
            return f"at least {t.min:g} times {value.of}'s" if t.min is not None else \
                f"at most {t.max:g} times {value.of}'s"
        return f"{t:g} times {value.of}'s"
    if isinstance(value, Range):
        if value.min is not None and value.max is not None:
            return f"{value.min:g}..{value.max:g}"
        return f"at least {value.min:g}" if value.min is not None else f"at most {value.max:g}"
    if isinstance(value, tuple):
        return "[" + ", ".join(fmt(v) for v in value) + "]"
    return json.dumps(_plain(value), default=repr)  # null, true, "ENOMEM", 1024: as the report spells them


def _jsonable(value: object) -> object:
    if isinstance(value, Range):
        return {"min": value.min, "max": value.max}
    if isinstance(value, Compare):
        return {"of": value.of, "times": _jsonable(value.times)}
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    return value


def claims_for(step: Step, variant: str) -> tuple[Claim, ...]:
    """The claims that apply under `variant`: its own, and the "*" ones on fields it does not claim."""
    own = tuple(c for c in step.expect if c.variant == variant)
    claimed = {c.field for c in own}
    return tuple(c for c in step.expect if c.variant == "*" and c.field not in claimed) + own


def _plain(value: object) -> object:
    """numpy scalars (an engine may hand its state over without converting) as Python values,
    so 3 == np.int64(3) holds and np.True_ still counts as a boolean, not a number."""
    return value.item() if isinstance(value, np.generic) else value


def _get(data: object, path: tuple[str, ...]) -> object:
    for key in path:
        if not isinstance(data, dict) or key not in data:
            return Actual("missing from the report")
        data = data[key]
    return _plain(data)


def _same(claimed: object, actual: object) -> bool:
    """Equal, and a boolean only ever equals a boolean (True == 1 in Python, not in a claim)."""
    actual = _plain(actual)
    return actual == claimed and isinstance(actual, bool) == isinstance(claimed, bool)


def _number_holds(claimed: object, actual: object) -> bool:
    actual = _plain(actual)
    if isinstance(actual, bool) or not isinstance(actual, (int, float)):
        return False
    return actual in claimed if isinstance(claimed, Range) else actual == claimed


def _instances(step: Step, step_report: dict, state: dict) -> list[str]:
    """The processes the step acted on: the loader's resolution, else the report's, else the first."""
    names = list(step.instances)
    if not names:
        raw = step_report.get("process")
        names = [raw] if isinstance(raw, str) else [p for p in raw or [] if isinstance(p, str)]
    procs = state.get("processes") or {}
    if not names:
        names = list(procs)[:1]
    out: list[str] = []
    for pattern in names:  # the report may give a glob as written; expand it against the state
        matched = [p for p in procs if fnmatchcase(p, pattern)] if set("*?[") & set(pattern) else [pattern]
        out += [p for p in matched if p not in out]
    return out


def _pages(sel: Selector, claimed: object, values: object) -> Actual | None:
    """None if every selected page has the claimed value, else what was found instead."""
    if not isinstance(values, list):
        return Actual("no per-page list in the report")
    top = selector_max(sel)
    if top is not None and top >= len(values):
        return Actual(f"the vma has only {len(values)} pages")
    idx = resolve(sel, len(values))
    # A vma may have two million pages: group the wrong ones by value (typed, so True and 1 stay
    # apart) and put each distinct value into words once, not once per page.
    wrong: dict[tuple[type, object], list[int]] = {}
    for i in idx.tolist():
        v = _plain(values[i])
        if not _same(claimed, v):
            wrong.setdefault((type(v), v if v.__hash__ else repr(v)), []).append(i)
    if not wrong:
        return None
    parts = []
    for pages in wrong.values():
        shown = fmt(values[pages[0]])
        head = ", ".join(str(p) for p in pages[:5]) + (", ..." if len(pages) > 5 else "")
        parts.append(f"{shown} at page{'s' if len(pages) > 1 else ''} {head}")
    n = sum(len(p) for p in wrong.values())
    return Actual("; ".join(parts) + f" ({n} of {len(idx)} selected pages)")


def number_of(name: str, step_report: dict, state: dict) -> object:
    """A run total, a step number or a step.* change, as the report gives it (Actual when missing)."""
    if name in F.RUN_FIELDS:
        return _get(state, F.RUN_FIELDS[name])
    if name in F.STEP_DELTAS:
        return _get(step_report, F.STEP_DELTAS[name])
    return _get(step_report, F.STEP_NUMBERS[name])  # (JSON-shaped: _get converts numpy scalars anyway)


def _compare_fails(name: str, want: Compare, got: object, peers: dict | None) -> list:
    """A comparison with another variant's number at the same step."""
    theirs = (peers or {}).get(want.of, {}).get(name, Actual(f"no run of {want.of} to compare with"))
    label = name
    if not isinstance(got, (int, float)) or isinstance(got, bool):
        return [(label, want, got)]
    if not isinstance(theirs, (int, float)) or isinstance(theirs, bool):
        return [(label, want, theirs if isinstance(theirs, Actual) else Actual(f"{want.of} gave {theirs!r}"))]
    t = want.times
    if isinstance(t, Range):
        ok = (t.min is None or got >= t.min * theirs) and (t.max is None or got <= t.max * theirs)
    else:
        ok = abs(got - t * theirs) <= 1e-9 * max(1.0, abs(t * theirs))
    if ok:
        return []
    ratio = f"{got / theirs:.3g} times" if theirs else "against 0"
    return [(label, want, Actual(f"{fmt(got)}, {ratio} {want.of}'s {fmt(theirs)}"))]


def _check(claim: Claim, step: Step, step_report: dict, state: dict,
           peers: dict | None = None) -> list[tuple[str, object, object]]:
    """(field, claimed, actual) for each way `claim` fails; empty when it holds."""
    name, want = claim.field, claim.value
    if name in F.RUN_FIELDS or name in F.STEP_NUMBERS or name in F.STEP_DELTAS:
        got = number_of(name, step_report, state)
        if isinstance(want, Compare):
            return _compare_fails(name, want, got, peers)
        return [] if _number_holds(want, got) else [(name, want, got)]
    if name == "errno":
        got = step_report.get("errno")
        return [] if got == want else [(name, want, got)]
    if name == "signal":
        sig = step_report.get("signal")
        got = sig.get("name") if isinstance(sig, dict) else sig
        return [] if got == want else [(name, want, got)]
    if name == "status":
        got = step_report.get("status")
        ok = isinstance(got, list) and (list(want) == got if isinstance(want, tuple)
                                        else bool(got) and all(s == want for s in got))
        return [] if ok else [(name, want, tuple(got) if isinstance(got, list) else got)]
    if name == "log":
        lines = [s for s in step_report.get("log") or [] if isinstance(s, str)]
        shown = f"{len(lines)} lines: " + " | ".join(lines[:3]) if lines else "no lines"
        seen = Actual(f"a log of {shown}")
        wanted = want if isinstance(want, tuple) else (want,)
        return [(name, w, seen) for w in wanted if not any(w in line for line in lines)]
    return _check_process(claim, step, step_report, state)


def _check_process(claim: Claim, step: Step, step_report: dict,
                   state: dict) -> list[tuple[str, object, object]]:
    """Vma and process claims: each must hold in every process the step acted on."""
    name, want = claim.field, claim.value
    names = list(claim.processes) or _instances(step, step_report, state)
    vma_name = claim.vma or step.vma
    out: list[tuple[str, object, object]] = []
    for proc in names:
        suffix = f" of {proc}" if len(names) > 1 or claim.processes else ""
        pstate = (state.get("processes") or {}).get(proc)
        if not isinstance(pstate, dict):
            out.append((name + suffix, want, Actual(f"no process {proc} in the report")))
            continue
        if name == "exited":
            got = _plain(pstate.get("exited"))
            if not _same(want, got):
                out.append((name + suffix, want, got))
            continue
        vma = (pstate.get("vmas") or {}).get(vma_name)
        if not isinstance(vma, dict):
            gone = "it has exited" if pstate.get("exited") else "none in the report"
            out.append((name + suffix, want, Actual(f'no vma "{vma_name}" ({gone})')))
        elif name in F.VMA_NUMBERS:
            got = _plain(vma.get(name))
            if not _number_holds(want, got):
                out.append((name + suffix, want, got))
        elif name == "vm_locked":
            if not _same(want, vma.get(name)):
                out.append((name + suffix, want, _plain(vma.get(name))))
        else:  # pages, mlocked, huge: one check per selector
            for sel, value in want:
                miss = _pages(sel, value, vma.get(name))
                if miss is not None:
                    out.append((f'{name}["{sel.text}"]{suffix}', value, miss))
    return out


def check_step_claims(step: Step, variant: str, step_report: dict, state: dict, *,
                      title: str = "", peers: dict | None = None) -> list[ClaimFailure]:
    """Every failure of the step's claims under `variant`, given the step's report entry and the
    state after the step (the shape of the report's "final"). `peers`: for comparisons, the other
    variants' numbers at this step, {variant: {field: value}} (see peer_requests and peer_numbers)."""
    failures = []
    for claim in claims_for(step, variant):
        if isinstance(claim.value, Compare) and claim.value.of == variant:
            continue  # a "*" comparison with v5 says nothing under v5 itself
        for field, claimed, actual in _check(claim, step, step_report, state, peers):
            failures.append(ClaimFailure(title, claim.source.file or step.source.file, claim.source.line,
                                         step.index, variant, field, claimed, actual))
    return failures


def peer_requests(scenario: Scenario, variant: str) -> dict[str, dict[int, set[str]]]:
    """What a run under `variant` needs from other variants to check its comparisons:
    {other variant: {step index: fields}}."""
    out: dict[str, dict[int, set[str]]] = {}
    for step in scenario.steps:
        for c in claims_for(step, variant):
            if isinstance(c.value, Compare) and c.value.of != variant:
                out.setdefault(c.value.of, {}).setdefault(step.index, set()).add(c.field)
    return out


def peer_numbers(report: dict, wanted: dict[int, set[str]]) -> dict[int, dict[str, object]]:
    """From another variant's run report (no states needed), the numbers its comparisons ask for at
    each step: {step index: {field: value}}. A run total after a step is the sum of the steps'
    `delta`s up to it, since the first counts from the start of the run."""
    out: dict[int, dict[str, object]] = {}
    totals: dict = {}
    for entry in report.get("steps", []):
        totals = _add(totals, entry.get("delta") or {})
        fields = wanted.get(entry.get("index"))
        if fields:
            out[entry["index"]] = {f: number_of(f, entry, totals) for f in fields}
    return out


def _add(a: dict, b: dict) -> dict:
    return {k: _add(a.get(k, {}), v) if isinstance(v, dict) else a.get(k, 0) + v for k, v in b.items()}


def compared_variants(scenario: Scenario) -> set[str]:
    """Every variant some comparison claim names with `of`."""
    return {c.value.of for s in scenario.steps for c in s.expect if isinstance(c.value, Compare)}


def check_report(scenario: Scenario, report: dict, variant: str | None = None) -> list[ClaimFailure]:
    """All claim failures of a whole run report. The state after each step comes from the step's
    `state` (`--every-step`); for the last step `final` will do. Raises ValueError when a step with
    claims has no state to check them against."""
    variant = variant or report.get("kernel") or scenario.kernel
    entries = {e.get("index"): e for e in report.get("steps", []) if isinstance(e, dict)}
    last = scenario.steps[-1].index if scenario.steps else None
    failures: list[ClaimFailure] = []
    for step in scenario.steps:
        if not claims_for(step, variant):
            continue
        entry = entries.get(step.index)
        if entry is None:
            raise ValueError(f"the report has no entry for step {step.index}")
        state = entry.get("state") or (report.get("final") if step.index == last else None)
        if state is None:
            raise ValueError(f"step {step.index} has claims but the report has no state after it: "
                             f"run with --every-step")
        failures += check_step_claims(step, variant, entry, state, title=scenario.title)
    return failures
