"""Predict mode answers "error" when the first thing a step does is refused or fails."""

from __future__ import annotations

import textwrap

from zpviz.engine.run import simulate
from zpviz.present.predict import question_for_step
from zpviz.scenario import loads


def _trace(body: str, kernel: str):
    return simulate(loads('[scenario]\ntitle = "p"\n' + textwrap.dedent(body), "p.toml"), kernel)


def test_sigsegv_is_an_error_answer():
    tr = _trace("""
        [[vma]]
        name = "r"
        pages = 4
        prot = "r"
        [[step]]
        do = "write"
        vma = "r"
        pages = 0
        predict = true
        """, "modern")
    q = question_for_step(tr, 0)
    assert q.answer == "error" and "SIGSEGV" in q.why


def test_v5_mlock_readonly_is_an_error_and_2632_is_not():
    body = """
        [[vma]]
        name = "r"
        pages = 4
        prot = "r"
        [[step]]
        do = "read"
        vma = "r"
        [[step]]
        do = "mlock"
        vma = "r"
        predict = true
        """
    assert question_for_step(_trace(body, "v5"), 1).answer == "error"
    assert question_for_step(_trace(body, "2.6.32"), 1).answer == "no fault"
    assert question_for_step(_trace(body.replace('prot = "r"', 'prot = "rw"'), "2.6.32"), 1).answer == "copy"
