"""A recording, replayed as a lesson: the same faults and address-space calls under all five kernels.

replay.py turns the recording into steps: per program image (the program from its exec, and each
child that execs something else) and the children it forks, every recorded fault on private
anonymous memory becomes a read or a write of that page (the error code's W bit decides; faults
the kernel took on the program's buffers, as in read(2), are writes too), in steps grouped by
time, with mlock, munlock, madvise, mprotect, munmap, MAP_POPULATE, fork and exit replayed
around them, each region a vma of its real size. This module writes them as the lesson's TOML:
`compare` holds the other four variants, claims for `modern` (each step's faults, every page's
final state, RSS) come from the recording so `zpviz check` proves the model agrees with the
kernel, and the replay is thinned to the loader's work budget, saying so. For the other variants
it is a lower bound where 6.18 did not fault. File-backed and shared mappings are named in the
notes, not replayed.
"""

from __future__ import annotations

import json

from zpviz.scenario.model import VARIANTS

from .recording import write_atomic
from .replay import Replay, _ranges

# The recording is 6.18's own, replayed under `modern`; every older kernel is compared with it.
VARIANTS_COMPARED = [v for v in VARIANTS if v != "modern"]
BUDGET_S = 7.0  # below the loader's 8 s, so rounding in its estimate never refuses our lesson
MAX_FILE_CHARS = 900_000  # the loader takes 1 MiB
MAX_STEPS = 4_000


def _toml(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a TOML basic string
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_toml(str(k))} = {_toml(v)}" for k, v in value.items()) + " }"
    raise TypeError(type(value))



def _auto_slice(rec: dict) -> int:
    t = rec["faults"]["time_ns"]
    if len(t) <= 40:
        return 0  # a small recording: one step per fault
    return max(1, (t[-1] - t[0]) // 200)


def _used(steps: list[dict]) -> set[str]:
    """vmas whose pages the replay changes: faulted, prefilled, populated or locked."""
    out = set()
    for s in steps:
        if s["do"] in ("read", "write", "mlock", "gup") or (s["do"] == "madvise" and "populate" in s.get("advice", "")):
            out.add(s["vma"])
    return out


def build_lesson(rec: dict, slice_ns: int | None = None, title: str | None = None) -> tuple[str, dict]:
    """(the lesson's TOML text, facts about it: steps, faults replayed, thinned, cost)."""
    slice_ns = _auto_slice(rec) if slice_ns is None else slice_ns
    r = Replay(rec, slice_ns)
    r.build()
    used = _used(r.steps)
    steps = [s for s in r.steps if s.get("vma") is None or s["vma"] in used]
    if r.cost_s(steps, used) > BUDGET_S:  # fork and exit walk every page of every vma: declare only what was used
        caps = {n: r.extent.get(n, 0) + 1 for n, v in r.vmas.items() if r.extent.get(n, 0) + 1 < v.pages}
        if caps:
            full = {n: r.vmas[n].pages for n in caps}
            r = Replay(rec, slice_ns, caps)
            r.build()
            used = _used(r.steps)
            steps = [s for s in r.steps if s.get("vma") is None or s["vma"] in used]
            cut = sorted((n for n in caps if n in used), key=lambda n: full[n] - caps[n], reverse=True)
            r.notes.append("To fit the work budget (fork and exit walk every page of a process), these vmas are "
                           "declared only as far as the program used them: " + ", ".join(
                               f"{n} ({caps[n]:,} of its {full[n]:,} pages)" for n in cut[:12])
                           + (f" and {len(cut) - 12} more" if len(cut) > 12 else ""))
    steps, cut_at = _thin(r, steps, used)
    text = _render(r, rec, steps, used, cut_at, title)
    while len(text) > MAX_FILE_CHARS and len(steps) > 1:
        steps = steps[: len(steps) * 3 // 4]
        cut_at = len(steps)
        text = _render(r, rec, steps, used, cut_at, title)
    faults = sum(s.get("_faults", 0) for s in steps)
    return text, {"steps": len(steps), "faults_replayed": faults, "faults_recorded": rec["fault_count"],
                  "thinned": cut_at is not None, "engine_s": round(r.cost_s(steps, used), 2), "vmas": len(used)}


def _thin(r: Replay, steps: list[dict], used: set[str]) -> tuple[list[dict], int | None]:
    """The longest prefix inside the loader's work budget and step bound; the step it was cut at.

    The step that crosses the budget keeps as many of its first pages as fit (a read or write)."""
    budget = BUDGET_S
    acc = 0.0
    for i, s in enumerate(steps):
        cost = r.cost_s([s], used)
        if i < MAX_STEPS and acc + cost <= budget:
            acc += cost
            continue
        out = steps[:i]
        if i < MAX_STEPS and s["do"] in ("read", "write") and s.get("_list"):
            per = r.cost_s([{"do": s["do"], "_n": 1}])
            room = int((budget - acc) / per)
            if room > 0:
                part = dict(s, _list=s["_list"][:room], _n=room, _faults=room, _dups=0,
                            _kernel=min(s["_kernel"], room))
                part["pages"] = _ranges(part["_list"])
                part["say"] = _fault_caption(part) + f" (thinned: the first {room:,} of its {s['_n']:,} pages)"
                out.append(part)
        return out, len(out)
    return steps, None


def _render(r: Replay, rec: dict, steps: list[dict], used: set[str], cut_at: int | None, title: str | None) -> str:
    root = r.procs[r.root]
    prog = " ".join(rec.get("command") or [root.get("comm") or "the program"])
    cpus = sorted({c for s in steps for c in s.get("_cpus", {})})
    ncpu = min(256, (max(cpus) + 1) if cpus else 1)
    out = [f"# A replay of `zpviz record` of: {prog}",
           "# Generated by zpviz record --lesson; `zpviz check` on this file compares the model with the kernel.",
           "[scenario]",
           f"title   = {_toml(title or 'Recorded: ' + _short(prog, 60))}",
           f"summary = {_toml(_summary(r, rec, steps))}",
           'kernel  = "modern"',
           f"compare = {_toml(VARIANTS_COMPARED)}",
           f"cpus    = {ncpu}"] + ([] if rec.get("thp_use_zero_page", True) else ["thp_use_zero_page = false"]) + ["",
           ]
    for proc in r.images:
        out += ["[[process]]", f"name = {_toml(proc)}", ""]
    for name, v in r.vmas.items():
        if name in used:
            out += ["[[vma]]", f"name    = {_toml(name)}", f"process = {_toml(v.owner)}",
                    f"pages   = {v.pages}", f"prot    = {_toml(v.prot)}"] + (["thp     = true"] if v.thp else []) + [""]
    out += ["[[step]]", f"say   = {_toml(_intro(r, rec, steps))}", f"notes = {_toml(_notes(r, rec, used, cut_at))}",
            "checkpoint = true", ""]
    claims = rec.get("source") == "tracepoints"  # the software event's replay is a guess: nothing to prove
    for s in steps:
        out += _render_step(s, ncpu, claims)
    return "\n".join(out) + "\n"


def _render_step(s: dict, ncpu: int, claims: bool = True) -> list[str]:
    lines = ["[[step]]", f"do      = {_toml(s['do'])}", f"process = {_toml(s['process'])}"]
    if "vma" in s:
        lines.append(f"vma     = {_toml(s['vma'])}")
    if "pages" in s:
        lines.append(f"pages   = {_toml(s['pages'])}")
    for key in ("child", "advice", "prot", "onfault", "write"):
        if key in s:
            lines.append(f"{key} = {_toml(s[key])}")
    if s.get("_cpus"):
        cpu = s["_cpus"].most_common(1)[0][0]
        if 0 < cpu < ncpu:
            lines.append(f"cpu     = {cpu}")
    say = s.get("say")
    if say is None and s["do"] in ("read", "write"):
        say = _fault_caption(s)
    if say:
        lines.append(f"say     = {_toml(say)}")
    claim = dict((s.get("expect") or {}).get("modern", {}))
    if "_faults" in s:
        claim = {"faults": s["_faults"], **claim}
    if not claims:
        claim = {}
    if claim:
        lines.append("[step.expect.modern]")
        lines += [f"{k} = {_toml(v)}" for k, v in claim.items()]
    lines.append("")
    return lines


def _fault_caption(s: dict) -> str:
    n, k, dups = s["_faults"], s["_kernel"], s["_dups"]
    verb = "writes" if s["do"] == "write" else "reads"
    text = f"{s['process']} {verb} {s['_n']:,} page{'s' if s['_n'] != 1 else ''} of {s['vma']}: " \
           f"6.18 took {n:,} fault{'s' if n != 1 else ''}"
    if k:
        text += f" ({k:,} of them in the kernel, on the program's buffer during a system call)"
    if dups:
        text += f"; {dups} more on pages already faulted (a retry or a racing thread) are counted once"
    return text + "."


def _short(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 3] + "..."


def _summary(r: Replay, rec: dict, steps: list[dict]) -> str:
    faults = sum(s.get("_faults", 0) for s in steps)
    return (f"{rec['fault_count']:,} page faults recorded on Linux {rec.get('kernel', '?')} "
            f"({rec['faults']['mode'].count('k'):,} taken in the kernel); {faults:,} of them on private "
            f"anonymous memory, replayed here with the address-space calls around them, THP "
            f"{'as the system was set' if rec.get('thp') == 'system' else 'off'}. The claims are what the "
            f"kernel did; under the other kernels the replay is a lower bound where 6.18 did not fault.")


def _intro(r: Replay, rec: dict, steps: list[dict]) -> str:
    prog = " ".join(rec.get("command") or [])
    procs = sorted({s["process"] for s in steps if "process" in s})
    return (f"A real run of `{_short(prog, 80)}`, recorded with zpviz record: {len(procs)} process"
            f"{'es' if len(procs) != 1 else ''}, every fault on its private anonymous memory in time order. "
            f"Each step is what the program did in a slice of time; the claims say what Linux 6.18 did.")


def _notes(r: Replay, rec: dict, used: set[str], cut_at: int | None) -> str:
    lines = ["Replayed from a recording (zpviz record). For 2.6.23, 2.6.24, v5 and 2.6.32 the replay is a "
             "lower bound where 6.18 did not fault: it issues only the accesses that faulted on 6.18, so an "
             "access that found a page already mapped (for example a read after mlock of a read-only region, "
             "where 6.18 maps zero pages without faulting and v5 would fault and allocate) is not replayed."]
    if rec.get("thp") == "system":
        lines.append("Recorded with --keep-thp: a region the program gave MADV_HUGEPAGE is replayed with its 2 MiB "
                     "aligned part as a thp vma; every other vma has THP off.")
    else:
        lines.append("Recorded with THP off for the program (prctl PR_SET_THP_DISABLE), as every vma here is.")
    lines += list(dict.fromkeys(r.notes))
    lines.append("Vmas (page 0 is the lowest address):")
    for name in [n for n in r.vmas if n in used]:
        v = r.vmas[name]
        lines.append(f"  {name}: {v.pages:,} pages at {v.base:#x}, from {v.origin}")
    if r.skipped:
        lines.append("Not replayed (file-backed, shared, or outside the replay):")
        lines += [f"  {n:,} faults on {where}" for where, n in r.skipped.most_common(12)]
    if getattr(r, "skipped_calls", None):
        lines.append("madvise advice not modelled: " + ", ".join(f"{k} x{n}" for k, n in r.skipped_calls.items()))
    if r.duplicates:
        lines.append(f"{r.duplicates:,} faults hit a page an earlier fault had already made what the access "
                     f"needed (retries, racing threads); each is counted once.")
    if rec.get("lost_events"):
        lines.append(f"The recording lost {rec['lost_events']:,} faults (the recorder fell behind the kernel): "
                     f"the replay misses them, and claims after them may not hold.")
    if cut_at is not None:
        lines.append(f"THINNED: the replay stops after step {cut_at} to stay inside the loader's work budget "
                     f"(about 8 s of engine time over five kernels); final page states are claimed only for "
                     f"processes that ended before that point.")
    lines += [f"Recorder note: {n}" for n in rec.get("notes", [])]
    return "\n".join(lines)


def write_lesson(rec: dict, path: str, source: str | None = None, slice_ns: int | None = None) -> str:
    """Write the replay lesson atomically; a one-line description of it."""
    text, info = build_lesson(rec, slice_ns)
    if source:
        text = f"# Recording: {source}\n" + text
    write_atomic(path, text.encode(), ".zpviz-lesson-")
    thin = ", thinned to fit the work budget" if info["thinned"] else ""
    return (f"{info['steps']} steps, {info['faults_replayed']:,} of {info['faults_recorded']:,} faults replayed "
            f"on {info['vmas']} vmas{thin}")
