"""Predict mode: at a step marked `predict`, ask what its first fault will do, then reveal it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from zpviz.engine import events as E

OPTIONS = ("zero page", "new page", "copy", "error")


@dataclass(frozen=True)
class Question:
    step: int
    stop: int  # the frame playback pauses at (the state just before the step's first event)
    reveal: int  # the frame that shows the answer (after the first fault, or the step's first event)
    prompt: str
    options: tuple[str, ...]
    answer: str  # one of options
    why: str  # the test that decided, from the kernel path
    path: str  # the functions of the first fault

    def verdict(self, choice: str | None) -> str:
        """What the reveal says: right or wrong, and the answer."""
        if choice is None:
            return f"The first fault: {self.answer}."
        if choice == self.answer:
            return f"Right \u2014 the first fault: {self.answer}."
        return f"Not {choice} \u2014 the first fault: {self.answer}."


def question_for_step(trace, k: int) -> Question | None:
    step = trace.scenario.steps[k]
    if not step.predict or k >= len(trace.step_results):
        return None
    r = trace.step_results[k]
    ev = trace.events
    # the first event that faulted or failed: a SIGSEGV or a walk stopped by -EFAULT is an answer too
    kinds = ev["kind"][r.first_event:r.end_event]
    failed = np.isin(kinds, [int(k) for k, o in E.OUTCOME.items() if o == "error"])
    hits = np.flatnonzero((ev["fault"][r.first_event:r.end_event] != 0) | failed)
    e = r.first_event + (int(hits[0]) if len(hits) else 0)
    kind = int(ev["kind"][e]) if e < r.end_event else int(E.Kind.IDLE)
    answer = E.outcome(kind) if len(hits) else "no fault"
    options = OPTIONS if answer in OPTIONS else OPTIONS + (answer,)
    path = trace.path_of_event(e) if e < r.end_event else None
    what = step.say or f"{step.do} {step.vma or ''}"
    return Question(k, r.first_event, e + 1, f"Step {k + 1}: {what} \u2014 what will the first fault do?", options,
                    answer, path.decision if path else "", " \u2192 ".join(path.functions) if path else "")


def questions_for(trace) -> dict[int, Question]:
    """Predict questions keyed by their stop frame."""
    out = {}
    for s in trace.scenario.steps:
        q = question_for_step(trace, s.index)
        if q is not None:
            out[q.stop] = q
    return out
