"""Issue 17 in the view-models: captions per variant, outcome lines, honest predict questions, the score."""

from __future__ import annotations

from zpviz.engine import simulate
from zpviz.present import captions, outcome
from zpviz.present import predict as PR
from zpviz.scenario import loads

TEXT = """
[scenario]
title = "Words"
summary = { "*" = "with a zero page", v5 = "v5's summary" }
kernel = "v5"
cpus = 1
[[vma]]
name = "t"
pages = 64
[[step]]
do = "read"
vma = "t"
predict = { ask = "How many frames will the table use?", answer = "frames_used" }
notes = { "*" = "notes", v5 = "v5 notes" }
[step.say]
"*" = "SECRET: every read maps the zero page"
"2.6.24" = "SECRET: no zero page, 64 pages"
[[step]]
do = "write"
vma = "t"
pages = "0-7"
predict = { ask = "Which kernel uses the most memory now?", answer = "most_memory" }
say = "eight writes"
"""


def _traces():
    sc = loads(TEXT, "w.toml")
    return sc, {k: simulate(sc, k) for k in ("v5", "2.6.24", "modern")}


def test_caption_and_presenter_in_the_variants_words():
    sc, t = _traces()
    end = t["2.6.24"].step_end_frame(0)
    assert captions.caption_at(t["2.6.24"], end).say == "SECRET: no zero page, 64 pages"
    assert captions.caption_at(t["modern"], t["modern"].step_end_frame(0)).say.startswith("SECRET: every read")
    assert captions.caption_at(t["v5"], 0).say == "v5's summary"
    assert captions.caption_at(t["modern"], 0).say == "with a zero page"
    info = captions.presenter_at(t["v5"], t["v5"].step_end_frame(0), 0, "12:00", others=(t["2.6.24"],))
    assert "v5: SECRET: every read" in info.caption.say and "2.6.24: SECRET: no zero page" in info.caption.say
    assert "v5: v5 notes" in info.notes and "2.6.24: notes" in info.notes
    ends = (t["v5"].step_end_frame(0), t["2.6.24"].step_end_frame(0))
    lead = captions.caption_at(t["v5"], ends[0])
    shared = captions.shared_caption((t["v5"], t["2.6.24"]), ends, lead)
    # no sentence in common, but one head before a colon: it goes over the panes, each pane the rest
    assert shared.say == "SECRET. Below, what each kernel did."
    assert captions.compare_words((t["v5"], t["2.6.24"]), ends)[1] == [
        "Every read maps the zero page", "No zero page, 64 pages"]
    step1 = captions.caption_at(t["v5"], t["v5"].step_end_frame(1))
    ends1 = (t["v5"].step_end_frame(1), t["2.6.24"].step_end_frame(1))
    assert captions.shared_caption((t["v5"], t["2.6.24"]), ends1, step1).say == "eight writes"
    assert captions.compare_words((t["v5"], t["2.6.24"]), ends1) == (None, ["", ""])


def test_shared_sentences_go_over_the_panes_and_each_pane_keeps_the_rest():
    common, rest = captions.split_common(["Reads: 64 faults. do_x maps the zero page. Done.",
                                          "Reads: 64 faults. There is no zero page. Done."])
    assert common == "Reads: 64 faults." and rest == ["do_x maps the zero page. Done.", "There is no zero page. Done."]
    assert captions.split_common(["A. B.", "C. B."]) == ("", ["A. B.", "C. B."])
    # a shared head before a colon, when no whole sentence is shared (lesson 8: "Read the 256-page
    # buffer: ..." had the compare caption say "read work all pages · main — below, ...")
    assert captions.split_common(["Read it: every page maps the zero page.", "Read it: no zero page. X."]) == (
        "Read it.", ["Every page maps the zero page.", "No zero page. X."])
    assert captions.split_common(["Read it: do_x maps it.", "Read it: a page."]) == ("Read it.", ["do_x maps it.",
                                                                                                    "A page."])
    assert captions.split_common(["Read it: a.", "Read that: b."]) == ("", ["Read it: a.", "Read that: b."])
    assert captions.split_common(["Read it: a.", "Read it."]) == ("", ["Read it: a.", "Read it."])
    assert captions.split_common(["Use 2.6.32 now.", "Use 2.6.32 now."])[0] == "Use 2.6.32 now."


def test_outcome_lines_per_variant_and_nothing_past_the_playhead():
    _, t = _traces()
    assert outcome.outcomes_for(t["v5"])[0] == "64 read faults \u2192 zero page, 0 new pages"
    assert outcome.outcomes_for(t["2.6.24"])[0] == "64 read faults \u2192 64 new zeroed pages, 256 KiB"
    r = t["v5"].step_results[0]
    mid = outcome.outcome_at(t["v5"], r.first_event + 3)
    assert "under way" in mid and "zero page" not in mid
    assert outcome.outcome_at(t["v5"], r.end_event) == outcome.outcomes_for(t["v5"])[0]


def test_prompt_is_the_question_never_the_caption():
    _, t = _traces()
    qs = PR.questions_for(t["2.6.24"])
    assert [q.step for q in qs.values()] == [0]  # the which-kernel question needs the others on screen
    q = next(iter(qs.values()))
    assert q.kind == "number" and q.prompt == "Step 1: How many frames will the table use?"
    assert "SECRET" not in q.prompt and q.value == 64.0
    assert q.verdict(50).endswith("(14 too low).") and not q.is_right(50) and q.is_right(62)
    assert q.verdict(None) == "The run: 64 pages."


def test_which_kernel_answer_comes_from_the_runs():
    _, t = _traces()
    qs = PR.questions_for(t["v5"], (t["2.6.24"], t["modern"]))
    which = next(q for q in qs.values() if q.kind == "kernel")
    assert which.options == ("v5", "2.6.24", "modern") and which.answers == ("2.6.24",)
    assert which.is_right("2.6.24") and not which.is_right("v5")
    assert "2.6.24: 64 pages" in which.detail
    num = next(q for q in qs.values() if q.kind == "number")
    assert "v5: 0 pages" in num.detail and "2.6.24: 64 pages" in num.detail


def test_first_fault_options_never_give_the_answer_away():
    _, t = _traces()
    sc2 = loads(TEXT.replace('predict = { ask = "Which kernel uses the most memory now?", answer = "most_memory" }',
                             "predict = true"), "w2.toml")
    tr = simulate(sc2, "2.6.24")
    q = PR.question_for_step(tr, 1)
    assert q.answer == "no fault" and q.options == PR.OPTIONS  # the same options whatever the answer
    assert "eight writes" not in q.prompt


def test_score():
    assert PR.score_of({}).text() == "Score: no question answered yet"
    s = PR.score_of({("a", 1): True, ("a", 2): False, ("b", 1): True})
    assert (s.right, s.asked) == (2, 3) and s.text() == "Score: 2 right of 3 asked (66%)"


def test_a_compare_caption_with_nothing_shared_says_the_step_in_words():
    """Where the variants share no words, the caption over the panes says what the program does in a
    sentence (lesson 9 step 3 said 'read lookup pages 40 · main — below, ...', the terse op line)."""
    sc = loads(TEXT.replace('"*" = "SECRET: every read maps the zero page"', '"*" = "Every read maps the zero page."')
               .replace('"2.6.24" = "SECRET: no zero page, 64 pages"', '"2.6.24" = "No zero page: 64 pages."'),
               "w.toml")
    t = {v: simulate(sc, v) for v in ("v5", "2.6.24")}
    ends = (t["v5"].step_end_frame(0), t["2.6.24"].step_end_frame(0))
    shared = captions.shared_caption((t["v5"], t["2.6.24"]), ends, captions.caption_at(t["v5"], ends[0]))
    assert shared.say == "Process main reads every page of t. Below, what each kernel did."
    five = loads(
        '[scenario]\ntitle = "t"\ncpus = 2\n[[process]]\nname = "a"\ncount = 2\n'
        '[[vma]]\nname = "d"\nprocess = "a"\npages = 4\n'
        '[[step]]\ndo = "write"\nprocess = "a*"\nvma = "d"\npages = "0-3/2"\ncpus = [0, 1]\n'
        '[[step]]\ndo = "madvise"\nprocess = "a0"\nvma = "d"\nadvice = "dontneed"\npages = "all"\n', "p.toml")
    assert [captions.op_sentence(st) for st in five.steps] == [
        "2 processes write pages 0-3/2 of d on CPUs 0-1.",
        "Process a0 calls madvise(MADV_DONTNEED) on every page of d."]
