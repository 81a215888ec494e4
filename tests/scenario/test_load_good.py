"""Good lessons load to the expected dataclasses, with the documented defaults."""

from __future__ import annotations

from pathlib import Path

from zpviz.scenario import (
    Claim,
    PageRange,
    ProcessSpec,
    Range,
    Scenario,
    Selector,
    Source,
    Step,
    VmaSpec,
    load,
    loads,
)

from .lessons import lesson, line_of

FULL = """\
[scenario]
title   = "Sparse reads share one zero page"
summary = "A scanner maps a big table and reads every 16th page."
kernel  = "v5"
compare = ["2.6.23", "2.6.24"]
cpus    = 4
sockets = 2
thp_use_zero_page = false
seed    = 1

[[process]]
name = "scanner"

[[vma]]
name     = "table"
pages    = 16384
prot     = "r"
share    = "shared"
backing  = "file"
populate = true
locked   = true
thp      = true

[[step]]
do       = "read"
process  = "scanner"
vma      = "table"
pages    = "0-16383/16"
cpus     = [0, 1, 2, 3]
deal     = "block"
say      = "Every read fault maps the same physical page"
notes    = "Ask: how much memory did that cost?"
hold     = 6
predict  = true
checkpoint = true

[step.expect."2.6.24"]
frames_used = 1024
[step.expect.v5]
frames_used = { min = 0, max = 2 }
pages = { "0-16383/16" = "zero", 1 = "none" }
fault_kinds.read = 1024
errno = "none"
log = ["Bad page map", "BUG"]

[[step]]
say = "That is all."
"""


def test_full_lesson_loads_to_the_expected_dataclasses(tmp_path: Path):
    f = tmp_path / "lesson.toml"
    f.write_text(FULL)
    got = load(f)
    file = str(f)
    every16 = Selector((PageRange(0, 16383, 16),), False, "0-16383/16")

    def claim(variant: str, field: str, value: object, needle: str) -> Claim:
        return Claim(variant, field, value, Source(file, line_of(FULL, needle), f"step 0 expect {variant}"))

    expected = Scenario(
        path=file, title="Sparse reads share one zero page",
        summary="A scanner maps a big table and reads every 16th page.", kernel="v5",
        compare=("2.6.23", "2.6.24"), cpus=4, sockets=2, thp_use_zero_page=False, seed=1,
        processes=(ProcessSpec("scanner", None, Source(file, 11, "process 0")),),
        vmas=(VmaSpec("table", "scanner", 16384, "r", "shared", "file", True, True, True),),
        steps=(
            Step(index=0, do="read", processes=("scanner",), vma="table", pages=every16, cpus=(0, 1, 2, 3),
                 deal="block", say="Every read fault maps the same physical page",
                 notes="Ask: how much memory did that cost?", hold=6.0, predict=True, checkpoint=True,
                 instances=("scanner",),
                 expect=(
                     claim("2.6.24", "frames_used", 1024, "frames_used = 1024"),
                     claim("v5", "frames_used", Range(0, 2), "min = 0"),
                     claim("v5", "pages", ((every16, "zero"), (Selector((PageRange(1, 1),), False, "1"), "none")),
                           "pages = {"),
                     claim("v5", "fault_kinds.read", 1024, "fault_kinds.read"),
                     claim("v5", "errno", None, "errno"),
                     claim("v5", "log", ("Bad page map", "BUG"), "log ="),
                 )),
            Step(index=1, do="say", say="That is all."),
        ),
    )
    assert got == expected
    assert got.steps[0].source == Source(file, line_of(FULL, "[[step]]"), "step 0")
    assert got.vmas[0].source.line == line_of(FULL, "[[vma]]")
    assert isinstance(got.steps[0].hold, float)
    assert got.socket_of(1) == 0 and got.socket_of(2) == 1


def test_defaults():
    s = loads('[[vma]]\nname = "heap"\npages = 8\n\n[[step]]\ndo = "write"\nvma = "heap"\n', "x.toml")
    assert s.title == "x"  # no title: the file's name
    assert (s.kernel, s.compare, s.cpus, s.sockets, s.thp_use_zero_page, s.seed) == ("modern", (), 1, 1, True, 0)
    assert s.processes == (ProcessSpec("main", None, Source("x.toml", None, "scenario")),)
    assert s.vmas == (VmaSpec("heap", "main", 8),)
    (step,) = s.steps
    assert step.pages == Selector(all_pages=True, text="all")  # a page op without pages: all of them
    assert (step.processes, step.instances, step.cpus, step.deal) == ((), ("main",), (0,), "round-robin")


def test_counted_processes_globs_and_fork_children():
    text = lesson(
        """
        [[process]]
        name = "scanner"
        count = 3

        [[vma]]
        name = "table"
        process = "scanner"
        pages = 16

        [[step]]
        do = "read"
        process = "scanner*"
        vma = "table"
        pages = [0, "4-7", 12]
        cpu = 2

        [[step]]
        do = "fork"
        process = "scanner1"
        child = "copy"

        [[step]]
        do = "write"
        process = ["copy", "scanner0"]
        vma = "table"

        [[step]]
        do = "exit"
        process = "scanner?"

        [[step]]
        do = "munmap"
        process = "copy"
        vma = "table"
        pages = "8-15"
        """,
        head='[scenario]\ntitle = "T"\ncpus = 4\n\n[[process]]\nname = "main"\n\n'
             '[[vma]]\nname = "heap"\npages = 64\n',
    )
    s = loads(text)
    assert s.process_names() == ("main", "scanner0", "scanner1", "scanner2")
    assert s.vmas_of("scanner") == (VmaSpec("table", "scanner", 16),)
    read, fork, write, exit_, munmap = s.steps
    assert (read.processes, read.instances, read.cpus) == (("scanner*",), ("scanner0", "scanner1", "scanner2"), (2,))
    assert read.pages.text == "0, 4-7, 12"
    assert (fork.child, fork.instances) == ("copy", ("scanner1",))
    # the child exists from its fork on, with the parent's vma names
    assert write.instances == ("copy", "scanner0")
    assert exit_.instances == ("scanner0", "scanner1", "scanner2")  # the glob does not match "copy"
    assert munmap.instances == ("copy",)


def test_op_arguments():
    s = loads(lesson(
        """
        [[step]]
        do = "mlock"
        vma = "heap"
        onfault = true
        [[step]]
        do = "madvise"
        vma = "heap"
        advice = "populate_write"
        [[step]]
        do = "mprotect"
        vma = "heap"
        prot = "none"
        [[step]]
        do = "gup"
        vma = "heap"
        pages = 3
        write = true
        force = true
        pin = true
        longterm = true
        [[step]]
        do = "coredump"
        [[step]]
        notes = "only notes"
        hold = 0.5
        """
    ))
    mlock, madvise, mprotect, gup, core, narration = s.steps
    assert mlock.onfault is True
    assert madvise.advice == "populate_write"
    assert mprotect.prot == "none"
    assert (gup.write, gup.force, gup.pin, gup.longterm) == (True, True, True, True)
    assert core.instances == ("main",) and core.vma is None
    assert narration.is_narration and narration.hold == 0.5 and narration.say == ""


def test_bom_and_crlf_are_accepted():
    s = loads("\ufeff" + lesson('[[step]]\nsay = "hi"\n').replace("\n", "\r\n"))
    assert s.steps[0].say == "hi"


def test_2631_names_the_no_zero_page_model(tmp_path):
    """2.6.31 is accepted wherever 2.6.24 is (kernel, compare, expect) and names the same variant."""
    from zpviz.engine import policy
    from zpviz.play import lesson_report
    from zpviz.scenario import loads

    sc = loads('[scenario]\ntitle = "t"\nkernel = "2.6.31"\ncompare = ["2.6.31", "v5"]\n'
               '[[vma]]\nname = "r"\npages = 4\n'
               '[[step]]\ndo = "read"\nvma = "r"\n[step.expect."2.6.31"]\nframes_used = 4\n')
    assert sc.kernel == "2.6.24" and sc.compare == ("2.6.24", "v5")
    assert {c.variant for c in sc.steps[0].expect} == {"2.6.24"}
    assert policy("2.6.31") is policy("2.6.24") and policy("2.6.24").title.startswith("2.6.31")
    assert lesson_report(sc)["expect_ok"]
