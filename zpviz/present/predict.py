"""Predict mode: at a step with a question, pause before it, ask, and reveal the answer from the run.

The prompt is the step's own question (`predict = { ask = ... }`), never its caption: the caption
tells what happened, so it stays hidden until the reveal. Three kinds of question (docs/lecture.md):
- "choice": what the step's first fault will do (`predict = true`), answered by the first event of
  the step that faulted or failed;
- "number": faults, frames_used, rss_kb, zero_page_line_transfers or makespan_ns after the step,
  read off the variant's run; the room guesses a number and the reveal says how far off it was;
- "kernel": which of the variants on screen uses the most memory, faults most, is slowest ... after
  the step (compare mode only), answered from every variant's run.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from zpviz.engine import events as E
from zpviz.engine.report import state_dict, step_entry
from zpviz.present.captions import op_sentence
from zpviz.present.kpath import outcome_text
from zpviz.scenario import lecture
from zpviz.scenario.model import FIRST_FAULT, Ask

OPTIONS = lecture.FIRST_FAULT_OPTIONS
def option_text(option) -> str:
    """An option, or a first-fault answer, as the room reads it (kpath.outcome_text)."""
    return outcome_text(option)


def number_text(value: float, unit: str = "") -> str:
    v = int(value) if float(value).is_integer() else value
    text = f"{v:,}" if isinstance(v, int) else f"{v:,.1f}"
    return f"{text} {unit}".strip()


@dataclass(frozen=True)
class Question:
    step: int
    stop: int  # the frame playback pauses at (the state just before the step's first event)
    reveal: int  # the frame that shows the answer (after the first fault, or the end of the step)
    prompt: str  # the question, never the caption
    options: tuple[str, ...]  # the choices; () for a number
    answer: str  # the answer in words (one of options for a choice or a kernel)
    why: str = ""  # the test that decided, from the kernel path
    path: str = ""  # the functions of the first fault
    kind: str = "choice"  # "choice" | "number" | "kernel"
    value: float | None = None  # a number question's true value (the leading variant's)
    unit: str = ""
    answers: tuple[str, ...] = ()  # every right option (a which-kernel tie); () means (answer,)
    detail: str = ""  # every variant's value, for the reveal

    def is_right(self, choice) -> bool | None:
        """Whether the room's choice (an option, or a number) was right; None if there was none.
        A number is right within 10% (or within 1 of a small count)."""
        if choice is None:
            return None
        if self.kind == "number":
            if self.value is None:
                return None
            return abs(float(choice) - self.value) <= max(1.0, abs(self.value) * 0.1)
        return choice in (self.answers or (self.answer,))

    def verdict(self, choice=None) -> str:
        """What the reveal says: right or wrong, and the answer."""
        if self.kind == "number":
            truth = number_text(self.value or 0, self.unit)
            if choice is None:
                return f"The run: {truth}."
            off = float(choice) - (self.value or 0)
            how = "spot on" if off == 0 else f"{number_text(abs(off))} too {'high' if off > 0 else 'low'}"
            head = "Right" if self.is_right(choice) else "Not quite"
            return f"{head} \u2014 you said {number_text(float(choice))}; the run: {truth} ({how})."
        lead = "The first fault" if self.kind == "choice" else "The answer"
        answer = option_text(self.answer) if self.kind == "choice" else self.answer
        if choice is None:
            return f"{lead}: {answer}."
        if self.is_right(choice):
            return f"Right \u2014 {lead.lower()}: {answer}."
        said = option_text(choice) if self.kind == "choice" else choice
        return f"Not {said} \u2014 {lead.lower()}: {answer}."


def _first_fault(trace, k: int, ask: str) -> Question:
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
    return Question(k, r.first_event, e + 1, ask, options, answer, path.decision if path else "",
                    " \u2192 ".join(path.functions) if path else "")


def _measure(trace, k: int, name: str) -> int | None:
    step = trace.scenario.steps[k]
    r = trace.step_results[k]
    q = Ask("", name)
    state = state_dict(trace, trace.step_end_frame(k)) if lecture.needs_state(q) else None
    return lecture.measure(name, step, step_entry(trace.scenario, r), state)


def question_for_step(trace, k: int, others=()) -> Question | None:
    """The question of step k under the leading trace; `others`: the other variants on screen (a
    which-kernel question needs them and is not asked without them)."""
    step = trace.scenario.steps[k]
    if not step.predict or k >= len(trace.step_results):
        return None
    q = step.question or Ask()
    ask = q.ask or f"Step {k + 1}: {op_sentence(step)} What will the first fault do?"
    prompt = f"Step {k + 1}: {ask}" if q.ask else ask
    if q.answer == FIRST_FAULT:
        return _first_fault(trace, k, prompt)
    r = trace.step_results[k]
    end = trace.step_end_frame(k)
    if q.which_kernel:
        if not others:
            return None
        name = lecture.WHICH[q.answer][0]
        traces = (trace, *others)
        values = {str(t.kernel.id): _measure(t, k, name) for t in traces}
        right = lecture.which_answer(q.answer, values)
        unit = lecture.UNITS[name]
        detail = " \u00b7 ".join(f"{v}: {number_text(x or 0, unit)}" for v, x in values.items())
        return Question(k, r.first_event, end, prompt, tuple(values), " and ".join(right) or "none", kind="kernel",
                        answers=right, detail=detail)
    value = _measure(trace, k, q.answer)
    unit = lecture.UNITS[q.answer]
    detail = ""
    if others:
        detail = " \u00b7 ".join(f"{t.kernel.id}: {number_text(_measure(t, k, q.answer) or 0, unit)}"
                                 for t in (trace, *others))
    return Question(k, r.first_event, end, prompt, (), number_text(value or 0, unit), kind="number",
                    value=float(value or 0), unit=unit, detail=detail)


def questions_for(trace, others=()) -> dict[int, Question]:
    """Predict questions keyed by their stop frame (of the leading trace)."""
    out = {}
    for s in trace.scenario.steps:
        q = question_for_step(trace, s.index, others)
        if q is not None:
            out[q.stop] = q
    return out


@dataclass(frozen=True)
class Score:
    right: int
    asked: int

    def text(self) -> str:
        if not self.asked:
            return "Score: no question answered yet"
        return f"Score: {self.right} right of {self.asked} asked ({100 * self.right // self.asked}%)"


def score_of(results: dict) -> Score:
    """results: question -> right (True/False); revealed without a guess counts as asked, not right."""
    return Score(sum(1 for v in results.values() if v), len(results))
