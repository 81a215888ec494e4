"""The words of a lesson: `say`, `notes` and `summary` per kernel variant, and predict questions.

`say = "..."` is the text every variant shows. `say = { "*" = "...", v5 = "..." }` (or a
`[step.say]` table) gives a variant its own text, keyed like `expect`; "*" is the default. A text
must only state what the variant it is shown for did (docs/lecture.md).

`predict = true` asks what the step's first fault will do; `predict = { ask = "...", answer = ... }`
asks the lesson's own question, answered from the run (model.ANSWERS).
"""

from __future__ import annotations

from .checks import Table, choices, kind, show, suggest
from .model import ANSWERS, FIRST_FAULT, KERNEL_IDS, NUMERIC_ANSWERS, WHICH_KERNEL_ANSWERS, Ask, variant_id

PREDICT_KEYS = ("ask", "answer")


def text_table(t: Table, key: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    """("*" text, ((variant, text), ...)) of a narration key written as a string or a table by variant."""
    raw = t.data.get(key)
    if raw is None:
        return "", ()
    if isinstance(raw, str):
        return raw, ()
    path = t.path + (key,)
    if not isinstance(raw, dict):
        t.problem(key, f'{key} must be a string, got {show(raw)} ({kind(raw)}); or a table by kernel variant '
                       f'such as {{ "*" = "...", v5 = "..." }}')
        return "", ()
    if not raw:
        t.problem(key, f'{key} is an empty table; give "*" (every variant) and the variants with their own text')
        return "", ()
    valid = ("*", *KERNEL_IDS)
    default, own, seen = "", [], {}
    for variant, text in raw.items():
        vpath = path + (variant,)
        if variant not in valid:
            hint = suggest(variant, valid)
            if variant.isdigit():
                hint = '; quote ids with dots: "2.6.32" = "..."'
            t.ctx.problem(vpath, f'unknown kernel variant "{variant}" in {key}; valid: "*", '
                                 f"{choices(KERNEL_IDS)}{hint}")
            continue
        if not isinstance(text, str):
            t.ctx.problem(vpath, f'{key}."{variant}" must be a string, got {show(text)} ({kind(text)})')
            continue
        if variant == "*":
            default = text
            continue
        canonical = variant_id(variant)
        if canonical in seen:
            t.ctx.problem(vpath, f'{key}."{variant}" and {key}."{seen[canonical]}" name the same kernel '
                                 f"variant; keep one of them")
            continue
        seen[canonical] = variant
        own.append((canonical, text))
    return default, tuple(own)


def predict(t: Table, op: str | None, vma: str | None) -> Ask | None:
    """The step's question, or None when it has none. Problems name the key's line."""
    raw = t.data.get("predict")
    if raw is None or raw is False:
        return None
    if raw is True:
        if op == "say":
            t.problem("predict", "predict = true asks what the step's first fault will do, and a narration step "
                                 'has none; ask a number instead, e.g. { ask = "...", answer = "frames_used" }')
            return None
        return Ask()
    if not isinstance(raw, dict):
        t.problem("predict", f'predict must be true or false, or a table {{ ask = "...", answer = "faults" }}; '
                             f"got {show(raw)} ({kind(raw)})")
        return None
    q = Table(t.ctx, raw, t.path + ("predict",))
    q.keys(PREDICT_KEYS, what="in predict")
    ask = q.get_str("ask", "", nonempty=True) or ""
    answer = q.get_str("answer", FIRST_FAULT, one_of=ANSWERS) or FIRST_FAULT
    if not ask and answer != FIRST_FAULT and "ask" not in raw:
        q.problem(None, f'predict with answer = "{answer}" needs ask = "..." (the question the room sees)')
    if answer == "rss_kb" and vma is None and op is not None:
        q.problem("answer", 'answer = "rss_kb" is the Rss of the step\'s vma, and this step has no vma')
    if answer == FIRST_FAULT and op == "say":
        q.problem("answer", 'a narration step has no fault to predict; ask about a step with `do`, '
                            f'or answer one of: {choices(NUMERIC_ANSWERS + WHICH_KERNEL_ANSWERS)}')
    return Ask(ask, answer)
