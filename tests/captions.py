"""Does a caption state only what its variant did? The checker behind tests/test_captions.py.

A caption names kernel functions (do_anonymous_page, use_zero_page(), vm_normal_page ...) and log
lines or errors ("Bad page map", ENOMEM, SIGSEGV). Under variant X every one of them must appear in
what X's run did in that step: the functions of its events' kernel paths (and the tests that
decided them), its kernel log, its errno and signal. Sentences that name another variant ("Under
v5, ...") talk about that variant and are skipped, and so are sentences that deny something ("no
Bad page map", "never asks vm_normal_page()").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from zpviz.engine.events import outcome
from zpviz.scenario import fields as F

# How a sentence names a variant. 2.6.31 is the 2.6.24 model's other id; 6.18 and "modern" are one.
VARIANT_WORDS = {
    "2.6.23": (r"2\.6\.23",), "2.6.24": (r"2\.6\.24", r"2\.6\.31"), "v5": (r"v5",),
    "2.6.32": (r"2\.6\.32",), "modern": (r"6\.18", r"modern"),
}
_VARIANT_RE = {v: re.compile(r"(?<![\w.])(" + "|".join(ws) + r")(?![\w]|\.\d)") for v, ws in VARIANT_WORDS.items()}
# a kernel identifier: lower case with an underscore (do_anonymous_page), or any name called "()"
_FUNC_RE = re.compile(r"(?<![\w.>-])([a-z_][a-z0-9_]*_[a-z0-9_]+|[a-z_][a-z0-9_]*(?=\())")
_LOG_TERMS = ("Bad page map", "BUG:")
# "128 zero pages": a count of pages that map the zero page, said of what the step did
_ZERO_COUNT_RE = re.compile(r"(?<![\w,.])(\d[\d,]*) (?:more )?zero pages\b")
_ERR_RE = re.compile(r"(?<![\w-])-?(E[A-Z]{3,}|SIG[A-Z]{3,})\b")
_NEGATION = re.compile(r"\b(no|not|never|nothing|without|none|neither|nor|instead of|rather than|"
                       r"cannot|can't|doesn't|does not|isn't|won't|quiet)\b", re.IGNORECASE)
# identifiers a caption may name that are not kernel functions: the lesson format's own words, and
# the system calls a step makes (mlock(), fork() ...: the program's call, not a path inside the kernel)
NOT_FUNCTIONS = frozenset(F.KINDS) | {"thp_use_zero_page", "fault_kinds", "frames_used", "pt_frames", "rss_kb",
                                      "anon_kb", "locked_kb", "vm_locked", "zero_page"}
SYSCALLS = frozenset({"mmap", "munmap", "mlock", "munlock", "mlockall", "madvise", "mprotect", "fork", "exit",
                      "write", "read", "ptrace", "move_pages", "brk", "open", "mremap"})


def sentences(text: str) -> list[str]:
    """Sentences, split after . ! ? (not inside version numbers like 2.6.32)."""
    parts = re.split(r"(?<=[.!?])[\"')]*\s+(?=[A-Z0-9\"'(_a-z])", text.replace("\n", " "))
    return [p.strip() for p in parts if p.strip()]


def names_other_variant(sentence: str, variant: str) -> bool:
    return any(rx.search(sentence) for v, rx in _VARIANT_RE.items() if v != variant)


@dataclass(frozen=True)
class StepDid:
    """What one variant's run did in one step."""

    functions: frozenset[str]  # every function on the kernel paths of the step's events
    decisions: str  # the tests that decided them, as one text
    log: str  # the step's kernel log lines, as one text
    errors: frozenset[str]  # errno and signal names
    zero_maps: int = 0  # events that mapped the zero page (or the huge zero page)


def what_each_step_did(trace) -> list[StepDid]:
    """Per step, what the run did; a narration step (no kernel work of its own) speaks of the lesson,
    so it gets what the whole run did."""
    out = []
    ev = trace.events
    whole = type("R", (), {"first_event": 0, "end_event": trace.n_events, "errno": None, "signal_pages": (),
                           "log": tuple(trace.kernel_log)})
    errnos = {r.errno for r in trace.step_results if r.errno}
    for r in trace.step_results:
        narration = trace.scenario.steps[r.index].is_narration
        if narration:
            r = whole
        ids = np.unique(ev["path"][r.first_event:r.end_event]).tolist()
        paths = [trace.paths[i] for i in ids]
        funcs = frozenset(f.split("(")[0].strip() for p in paths for f in p.functions)
        decisions = " ".join(p.decision for p in paths)
        errors = set(errnos) if narration else ({r.errno} if r.errno else set())
        if r.signal_pages:
            errors.add("SIGSEGV")
        errors |= set(_ERR_RE.findall(decisions))
        kinds = ev["kind"][r.first_event:r.end_event]
        zero = sum(1 for k in kinds.tolist() if outcome(k) == "zero page")
        out.append(StepDid(funcs, decisions, "\n".join(r.log), frozenset(errors), zero))
    return out


def on_path(name: str, did: StepDid) -> bool:
    """`name` ran in the step: a function of its paths (get_user_pages also as __get_user_pages), or
    named by the test that decided (use_zero_page(vma) ...)."""
    bare = name.lstrip("_")
    return (name in did.functions or any(f.lstrip("_") == bare for f in did.functions)
            or re.search(rf"(?<![\w]){re.escape(name)}(?![\w])", did.decisions) is not None)


def untrue(caption: str, variant: str, did: StepDid, known: frozenset[str] | None = None) -> list[str]:
    """The functions and log lines `caption` names under `variant` that its run did not show.
    `known`: the functions the model has (on some path of some run); a name outside them (a kernel
    function the model does not trace, such as zap_page_range) cannot be checked and is let be."""
    wrong: list[str] = []
    for s in sentences(caption):
        if names_other_variant(s, variant):
            continue
        for m in _FUNC_RE.finditer(s):
            name = m.group(1)
            if name in NOT_FUNCTIONS or name in SYSCALLS or on_path(name, did) or denied(s, m.start()):
                continue
            if known is not None and name.lstrip("_") not in known:
                continue
            wrong.append(f"{name} (not on {variant}'s kernel paths)")
        for term in _LOG_TERMS:
            for m in re.finditer(re.escape(term), s):
                if term not in did.log and not denied(s, m.start()):
                    wrong.append(f'"{term}" (not in {variant}\'s log)')
        for m in _ZERO_COUNT_RE.finditer(s):
            if not did.zero_maps and not denied(s, m.start()):
                wrong.append(f'"{m.group(0)}" (no zero page was mapped under {variant})')
        for m in _ERR_RE.finditer(s):
            err = m.group(1)
            if err not in did.errors and err not in did.log and not denied(s, m.start()):
                wrong.append(f"{err} (not {variant}'s errno, signal or log)")
    return wrong


def denied(sentence: str, at: int) -> bool:
    """The two words just before position `at` deny it ("no Bad page map", "never asks vm_normal_page",
    "does not print BUG: ...")."""
    return _NEGATION.search(" ".join(sentence[:at].split()[-2:])) is not None
