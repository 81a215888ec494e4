"""What a step did, in one line, and the answers to its predict question, from a variant's own run.

Like claims.py this reads only the run report's JSON shape (a step entry, a "final"-shaped state)
plus the step result's outcome counts, so the engine's report (which may not import present/) and
the app (present/outcome.py, present/predict.py) use the same words and the same answers.
"""

from __future__ import annotations

from .model import FIRST_FAULT, WHICH_KERNEL_ANSWERS, Ask, Step

# every answer the first-fault question can have, always all offered: an option shown only when it
# is the answer would give it away
FIRST_FAULT_OPTIONS = ("zero page", "new page", "copy", "reuse", "shared page", "error", "no fault")
_FAULT_WORDS = (("read", "read"), ("write", "write"), ("cow", "COW"), ("gup", "GUP"), ("huge", "huge"))
PAGE_KB = 4

# which-kernel answer -> (the measure compared, True when the biggest value is the answer)
WHICH = {
    "most_memory": ("frames_used", True), "least_memory": ("frames_used", False),
    "most_faults": ("faults", True), "fewest_faults": ("faults", False),
    "slowest": ("makespan_ns", True), "fastest": ("makespan_ns", False),
    "most_zero_page_line_transfers": ("zero_page_line_transfers", True),
}
UNITS = {"faults": "faults", "frames_used": "pages", "rss_kb": "KiB", "zero_page_line_transfers": "line transfers",
         "makespan_ns": "ns"}


def size_words(pages: int) -> str:
    kb = pages * PAGE_KB
    if kb >= 1 << 20:
        return f"{kb / (1 << 20):.3g} GiB"
    if kb >= 1 << 10:
        return f"{kb / (1 << 10):.3g} MiB"
    return f"{kb} KiB"


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def outcome_text(entry: dict, outcomes: dict[str, int], before: dict, after: dict, *,
                 shared: bool = False) -> str:
    """One line saying what a variant did in a step: "1,024 read faults → zero page, 0 new pages",
    "mlock: 32 Bad page maps, ENOMEM". `entry` is the step's report entry, `outcomes` its events per
    events.OUTCOME, `before`/`after` the run's scalars (frames_used, bad_page_maps) around the step;
    `shared`: the step's vma is shared or file-backed (a read fault maps a cache page there)."""
    do = entry.get("do") or "say"
    if do == "say":
        return "narration: no kernel work"
    kinds = entry.get("fault_kinds") or {}
    parts = [f"{kinds[k]:,} {w}" for k, w in _FAULT_WORDS if kinds.get(k)]
    faults = int(entry.get("faults") or 0)
    head = (" + ".join(parts) + (" fault" if faults == 1 else " faults")) if parts else ""
    effects = []
    new = int(after.get("frames_used", 0)) - int(before.get("frames_used", 0))
    if new > 0:
        zeroed = outcomes.get("new page") and not outcomes.get("copy")
        effects.append(f"{new:,} new {'zeroed ' if zeroed else ''}page{'s' if new != 1 else ''}, {size_words(new)}")
    elif new < 0:
        effects.append(f"{_plural(-new, 'page')} freed, {size_words(-new)}")
    elif outcomes.get("zero page"):
        effects.append("zero page, 0 new pages")
    elif outcomes.get("shared page") or (shared and faults):
        effects.append("cache pages, 0 new pages")
    bad = int(after.get("bad_page_maps", 0)) - int(before.get("bad_page_maps", 0))
    if bad > 0:
        effects.append(_plural(bad, "Bad page map"))
    sig = entry.get("signal")
    if isinstance(sig, dict) and sig.get("pages"):
        effects.append(f"{sig.get('name', 'SIGSEGV')} on {_plural(len(sig['pages']), 'page')}")
    dump = entry.get("dump")
    if isinstance(dump, dict):
        effects.append(f"{dump.get('written', 0):,} written, {_plural(int(dump.get('holes', 0)), 'hole')}")
    if entry.get("errno"):
        effects.append(str(entry["errno"]))
    if not effects:  # nothing else happened: say so about memory
        effects.append("0 pages freed" if do in ("munmap", "exit") else "0 new pages")
    if do in ("read", "write"):
        return f"{head} \u2192 {', '.join(effects)}" if head else f"no faults, {', '.join(effects)}"
    if head:
        return f"{do}: {head} \u2192 {', '.join(effects)}"
    return f"{do}: {', '.join(effects)}"


def measure(name: str, step: Step, entry: dict, state: dict | None) -> int | None:
    """A number of the run after the step, as the matching claim field reads it (rss_kb summed over
    the processes the step acted on)."""
    if name in ("faults", "makespan_ns"):
        v = entry.get(name)
        return int(v) if v is not None else None
    if state is None:
        return None
    if name == "frames_used":
        return int(state.get("frames_used", 0))
    if name == "zero_page_line_transfers":
        return int((state.get("zero_page") or {}).get("line_transfers", 0))
    if name == "rss_kb":
        procs = state.get("processes") or {}
        names = [p for p in (step.instances or tuple(procs)[:1]) if p in procs]
        return sum(int(((procs[p].get("vmas") or {}).get(step.vma) or {}).get("rss_kb", 0)) for p in names)
    raise ValueError(name)


def needs_state(q: Ask | None) -> bool:
    return q is not None and q.answer not in (FIRST_FAULT, "faults", "makespan_ns", "most_faults",
                                              "fewest_faults", "slowest", "fastest")


def default_ask(step: Step) -> str:
    what = f"{step.do} {step.vma}" if step.vma else step.do
    return f"Step {step.index + 1} ({what}): what will its first fault do?"


def which_answer(answer: str, values: dict[str, int | None]) -> tuple[str, ...]:
    """The variants that answer a which-kernel question (ties: every one of them)."""
    name, biggest = WHICH[answer]
    known = {k: v for k, v in values.items() if v is not None}
    if not known:
        return ()
    best = max(known.values()) if biggest else min(known.values())
    return tuple(k for k, v in known.items() if v == best)


def question_json(step: Step, entry: dict, state: dict | None, first_outcome: str,
                  variants: tuple[str, ...]) -> dict:
    """The report's `steps[i].question`: what the room is asked, its options and the answer from this run.
    A which-kernel question is answered across variants: this report gives its `value` under this
    variant, and `answer` is null (the app answers it from the runs on screen)."""
    q = step.question or Ask()
    out: dict = {"ask": q.ask or default_ask(step), "answer_kind": q.answer}
    if q.answer == FIRST_FAULT:
        out["options"] = list(FIRST_FAULT_OPTIONS) + ([first_outcome] if first_outcome not in FIRST_FAULT_OPTIONS
                                                       else [])
        out["answer"] = first_outcome
    elif q.answer in WHICH_KERNEL_ANSWERS:
        out["options"] = list(variants)
        out["answer"] = None
        out["value"] = measure(WHICH[q.answer][0], step, entry, state)
    else:
        out["options"] = []
        out["answer"] = measure(q.answer, step, entry, state)
        out["unit"] = UNITS[q.answer]
    return out
