"""Captions for the projector and the presenter view: what step this is, what it says, what comes next."""

from __future__ import annotations

import dataclasses
import functools
import re
from dataclasses import dataclass

from zpviz.present.grid import size_text
from zpviz.scenario.model import variant_aliases


def op_text(step) -> str:
    """A one-line description of what a step does: 'read table, pages 0-255/2, on CPUs 0-3'."""
    if step.is_narration:
        return "narration"
    who = ", ".join(step.instances or step.processes) or ""
    parts = [step.do]
    if step.do == "fork":
        parts.append(f"\u2192 {step.child}")
    if step.vma:
        parts.append(step.vma)
    if step.pages is not None and step.vma:
        text = step.pages.text or "all"
        parts.append("all pages" if text == "all" else pages_text(step.pages))
    if step.advice:
        parts.append(step.advice)
    if step.prot:
        parts.append(f"prot={step.prot}")
    for flag in ("write", "force", "pin", "longterm", "onfault"):
        if getattr(step, flag, False) and step.do in ("gup", "mlock"):
            parts.append(flag)
    text = " ".join(parts)
    if who:
        text += f" \u00b7 {who if len(who) < 40 else who[:37] + '...'}"
    cpus = tuple(step.cpus)
    if len(cpus) > 1:
        text += f" \u00b7 CPUs {_cpus_text(cpus)}"
    elif cpus and cpus[0]:
        text += f" \u00b7 CPU {cpus[0]}"
    return text


LIST_SHOWN = 3  # items of a long page list a caption shows before the ellipsis


def pages_text(selector) -> str:
    """'pages 0-255/2' as written; a long explicit list shortened so it never fills the caption
    (or widens the window): '300 pages: 0, 2, 4, \u2026 598'."""
    items = [t.strip() for t in selector.text.split(",")]
    if len(items) <= LIST_SHOWN + 2 and len(selector.text) <= 60:
        return f"pages {selector.text}"
    n = sum((r.lo + (r.hi - r.lo) // r.stride * r.stride - r.lo) // r.stride + 1 for r in selector.ranges)
    head = ", ".join(items[:LIST_SHOWN])
    return f"{n:,} pages: {head}, \u2026 {items[-1]}"


def _cpus_text(cpus: tuple[int, ...]) -> str:
    if list(cpus) == list(range(cpus[0], cpus[0] + len(cpus))):
        return f"{cpus[0]}-{cpus[-1]}"
    return ",".join(map(str, cpus))


def kernel_title(policy) -> str:
    """'v5 patch: ZERO_PAGE by pte_special', 'modern: Linux 6.18', '2.6.31: no zero page since 2.6.24':
    an id of the variant always shows (its own, or an alias such as 2.6.31 for the 2.6.24 model)."""
    title = getattr(policy, "title", "") or str(policy.id)
    ids = (str(policy.id), *variant_aliases(str(policy.id)))
    return title if title.startswith(ids) else f"{policy.id}: {title}"


@dataclass(frozen=True)
class Caption:
    step: int  # -1 before the first step
    n_steps: int
    say: str  # the big line
    counter: str  # "Step 3 of 12"
    detail: str  # what the step does, and how far through its events we are
    kernel: str  # the variant's title
    lesson: str
    checkpoint: bool = False


def caption_at(trace, frame: int) -> Caption:
    """The caption of `frame` in words written for the variant the trace ran (step.say_for)."""
    sc = trace.scenario
    n = len(sc.steps)
    k = trace.step_of_frame(frame)
    kernel = kernel_title(trace.kernel)
    say = _say(trace, k)
    if k < 0:
        detail = "before the first step" if frame == 0 else "set-up: MAP_POPULATE / MAP_LOCKED"
        return Caption(-1, n, say, f"{n} steps", detail, kernel, sc.title)
    step = sc.steps[k]
    r = trace.step_results[k]
    total = r.end_event - r.first_event
    done = frame - r.first_event
    detail = op_text(step)
    if total > 1:
        detail += f" \u00b7 event {done:,} of {total:,}"
    if r.faults and frame == r.end_event:
        detail += f" \u00b7 {r.faults:,} fault{'s' if r.faults != 1 else ''}"
    return Caption(k, n, say, f"Step {k + 1} of {n}", detail, kernel, sc.title, step.checkpoint)


def _say(trace, k: int) -> str:
    """caption_at's big line for step k (-1: before the steps) of the variant the trace ran."""
    sc = trace.scenario
    kid = str(trace.kernel.id)
    if k < 0:
        return sc.summary_for(kid) or sc.title
    step = sc.steps[k]
    return step.say_for(kid) or (f"{step.do} {step.vma or ''}".strip() if not step.is_narration else "")


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Za-z0-9\"'(_])")


def _sentences(text: str) -> list[str]:
    return [x for x in _SENTENCE_END.split(" ".join(text.split())) if x]


def split_common(texts: list[str]) -> tuple[str, list[str]]:
    """The whole sentences every text begins with, and what each text says after them. With no whole
    sentence in common, a head every text's next sentence opens with before a colon ("Read the
    256-page buffer: ...") is common too: it becomes a sentence of its own, and each text goes on
    from after the colon, capitalised."""
    parts = [_sentences(t) for t in texts]
    n = 0
    while parts and all(len(p) > n for p in parts) and len({p[n] for p in parts}) == 1:
        n += 1
    common, rests = (" ".join(parts[0][:n]) if parts else ""), [" ".join(p[n:]) for p in parts]
    heads = {r.split(": ", 1)[0] if ": " in r else None for r in rests}
    if not common and len(heads) == 1 and None not in heads and len(rests) > 1:
        head = heads.pop()
        return head + ".", [_capitalised(r.split(": ", 1)[1]) for r in rests]
    return common, rests


# what the processes of a step do, as the room reads it (op_sentence): (one process, several)
_VERBS = {"read": ("reads", "read"), "write": ("writes", "write"), "mlock": ("mlocks", "mlock"),
          "munlock": ("munlocks", "munlock"), "munmap": ("unmaps", "unmap"), "fork": ("forks", "fork"),
          "exit": ("exits", "exit"), "coredump": ("dumps core", "dump core")}
_CALLS = {"move_pages": "move_pages()", "gup": "get_user_pages()", "madvise": "madvise({})",
          "mprotect": "mprotect({})"}
_ARGS = {"dontneed": "MADV_DONTNEED", "populate_read": "MADV_POPULATE_READ",
         "populate_write": "MADV_POPULATE_WRITE", "none": "PROT_NONE", "r": "PROT_READ",
         "rw": "PROT_READ|PROT_WRITE"}


def op_sentence(step) -> str:
    """What a step does, as a sentence for the room: 'Process main reads page 40 of lookup.',
    '16 processes exit on CPUs 0-15.' (op_text is the terse form). Process names stay as written."""
    if step.is_narration:
        return ""
    names = step.instances or step.processes
    who = f"Process {names[0]}" if len(names) == 1 else f"{len(names)} processes" if names else "The program"
    one = len(names) <= 1
    what = ""
    if step.vma:
        text = (step.pages.text if step.pages is not None else "") or "all"
        what = f"every page of {step.vma}" if text == "all" else (
            f"page {text} of {step.vma}" if text.isdigit() else f"{pages_text(step.pages)} of {step.vma}")
    if step.do in _VERBS:
        said = f"{who} {_VERBS[step.do][0 if one else 1]}"
        said += f" {step.child}" if step.do == "fork" and step.child else f" {what}" if what else ""
    elif step.do in _CALLS:
        arg = _ARGS.get(step.advice or step.prot or "", step.advice or step.prot or "")
        said = f"{who} {'calls' if one else 'call'} {_CALLS[step.do].format(arg)} on {what}"
    elif step.do == "smaps":
        said = f"{who}{'' if one else ' each'}: /proc/PID/smaps is read"
    else:
        said = f"{who}: {op_text(step)}"
    cpus = tuple(step.cpus)
    if len(cpus) > 1:
        said += f" on CPUs {_cpus_text(cpus)}"
    elif cpus and cpus[0]:
        said += f" on CPU {cpus[0]}"
    return said.rstrip() + "."


def _capitalised(text: str) -> str:
    """`text` with a capital first letter, unless its first word is a name (do_wp_page, mlock())."""
    word = text.split(" ", 1)[0]
    return text[:1].upper() + text[1:] if word.isalpha() and word.islower() else text


def compare_words(traces, frames: tuple[int, ...]) -> tuple[str | None, list[str]]:
    """For a compare view at the aligned `frames`: the caption over all panes (None: each variant's
    text is the same, show it as usual) and each pane's own words. Where the variants' texts differ,
    the sentences they share go over the panes and each pane gets the rest of its own text."""
    steps = [t.step_of_frame(f) for t, f in zip(traces, frames)]
    texts = [_say(t, k) for t, k in zip(traces, steps)]  # caption_at's say, without the rest of a caption
    if len(set(texts)) <= 1 or len(set(steps)) != 1:
        return None, ["" if len(set(texts)) <= 1 else x for x in texts]
    common, rests = _split_common(tuple(texts))  # (asked twice a step with the same texts)
    return common, list(rests)


@functools.lru_cache(maxsize=32)
def _split_common(texts: tuple[str, ...]) -> tuple[str, tuple[str, ...]]:
    common, rests = split_common(list(texts))
    return common, tuple(rests)


def shared_caption(traces, frame_of: tuple[int, ...], cap: Caption) -> Caption:
    """The caption over a compare view: the step's text when every variant on screen has the same
    one; else the sentences they share, or what the step does, since each pane shows its own
    variant's words under its title."""
    k = cap.step
    if k < 0 or len(traces) < 2:
        return cap
    common, _ = compare_words(traces, frame_of)
    if common is None:
        return cap
    step = traces[0].scenario.steps[k]
    if common:
        return dataclasses.replace(cap, say=f"{common} Below, what each kernel did.")
    return dataclasses.replace(cap, say=f"{op_sentence(step)} Below, what each kernel did.")


@dataclass(frozen=True)
class PresenterInfo:
    caption: Caption
    notes: str
    next_say: str
    next_detail: str
    clock: str
    elapsed: str


def clock_text(seconds: float) -> str:
    s = int(max(0, seconds))
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


def _per_variant(texts: list[tuple[str, str]]) -> str:
    """One text if every variant has it, else each variant's, named."""
    if len({t for _, t in texts}) <= 1:
        return texts[0][1] if texts else ""
    return "\n\n".join(f"{kid}: {t}" for kid, t in texts if t)


def presenter_at(trace, frame: int, elapsed_s: float, wall: str, others=()) -> PresenterInfo:
    """What the lecturer's screen shows; `others`: the other variants' traces on screen (compare
    mode), whose own captions and notes are shown, named, where they differ from the lead's."""
    cap = caption_at(trace, frame)
    steps = trace.scenario.steps
    k = cap.step
    kid = str(trace.kernel.id)
    notes = steps[k].notes_for(kid) if 0 <= k < len(steps) else ""
    if others and 0 <= k < len(steps):
        ids = [kid] + [str(t.kernel.id) for t in others]
        cap = dataclasses.replace(cap, say=_per_variant([(v, steps[k].say_for(v)) for v in ids]) or cap.say)
        notes = _per_variant([(v, steps[k].notes_for(v)) for v in ids])
    nxt = k + 1
    if nxt < len(steps):
        next_say, next_detail = steps[nxt].say_for(kid) or "(no caption)", f"Step {nxt + 1}: {op_text(steps[nxt])}"
    else:
        next_say, next_detail = "End of the lesson.", ""
    return PresenterInfo(cap, notes or "(no notes for this step)", next_say, next_detail, wall,
                         clock_text(elapsed_s))


def lesson_summary(trace) -> str:
    sc = trace.scenario
    pages = sum(b.npages for p in trace.layout.procs for b in p.vmas)
    return (f"{sc.title} \u2014 {len(sc.steps)} steps, {len(trace.layout.procs)} process"
            f"{'es' if len(trace.layout.procs) != 1 else ''}, {size_text(pages)} mapped, "
            f"{sc.cpus} CPU{'s' if sc.cpus != 1 else ''}")
