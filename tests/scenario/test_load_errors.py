"""Every kind of mistake names the file, the exact line and the table, and says what is valid."""

from __future__ import annotations

import pytest

from zpviz.errors import LessonError
from zpviz.scenario import load

from .lessons import HEAD_LINES, lesson, line_of, only_problem, problems

# (lesson text, a text on the line the problem must name, its table, a piece of the message)
SCENARIO_CASES = [
    ('[scenario]\nkernel = "v6"\n', 'kernel', "scenario",
     'kernel = "v6" is not valid; valid values: 2.6.23, 2.6.24, 2.6.31, v5, 2.6.32, modern'),
    ('[scenario]\nkernel = "V5"\n', 'kernel', "scenario", 'did you mean "v5"?'),
    ('[scenario]\ncompare = ["2.6.23", "2.6.99"]\n', "compare", "scenario", 'unknown kernel id "2.6.99"'),
    ('[scenario]\ncompare = "2.6.23"\n', "compare", "scenario", "compare must be a list of kernel ids"),
    ('[scenario]\ncompare = ["v5", "v5"]\n', "compare", "scenario", "twice"),
    ("[scenario]\ncpus = 0\n", "cpus", "scenario", "cpus must be from 1 to 256, got 0"),
    ("[scenario]\ncpus = 257\n", "cpus", "scenario", "cpus must be from 1 to 256, got 257"),
    ("[scenario]\ncpus = true\n", "cpus", "scenario", "cpus must be an integer, got true (a boolean)"),
    ("[scenario]\ncpus = 4.0\n", "cpus", "scenario", "cpus must be an integer, got 4.0 (a number with a fraction)"),
    ("[scenario]\ncpus = 4\nsockets = 3\n", "sockets", "scenario", "does not split evenly over sockets = 3"),
    ("[scenario]\ncpus = 2\nsockets = 4\n", "sockets", "scenario", "sockets = 4 is more than cpus = 2"),
    ("[scenario]\nsockets = 0\n", "sockets", "scenario", "sockets must be at least 1"),
    ("[scenario]\nseed = -1\n", "seed", "scenario", "seed must be from 0 to"),
    ("[scenario]\nseed = true\n", "seed", "scenario", "seed must be an integer, got true (a boolean)"),
    ("[scenario]\nthp_use_zero_page = 1\n", "thp_use", "scenario",
     "thp_use_zero_page must be true or false, got 1 (an integer)"),
    ("[scenario]\ntitle = 3\n", "title", "scenario", "title must be a string, got 3 (an integer)"),
    ('[scenario]\ntitle = " "\n', "title", "scenario", "title must not be empty"),
    ('[scenario]\ntitel = "x"\n', "titel", "scenario", 'unknown key "titel"; valid keys: title, summary'),
    ('[scenario]\ntitel = "x"\n', "titel", "scenario", 'did you mean "title"?'),
    ('title = "x"\n[scenario]\n', "title", "top level", '"title" must be under [scenario]'),
    ('[[scenario]]\ntitle = "x"\n', "[[scenario]]", "scenario", "write [scenario] once"),
    ("[sceanrio]\n", "sceanrio", "top level", 'unknown table "sceanrio"; valid tables: [scenario], [[process]], '
     '[[vma]], [[step]], [program]; did you mean "scenario"?'),
    ("colour = 3\n", "colour", "top level", 'unknown key "colour"'),
    ('process = 3\n', "process = 3", "process", "must be written as [[process]] tables, got 3"),
    ('vma = [1]\n', "vma = [1]", "vma 0", "must be written as [[vma]] tables, got 1"),
]


@pytest.mark.parametrize(("text", "needle", "table", "says"), SCENARIO_CASES)
def test_scenario_table(text, needle, table, says):
    p = only_problem(text + '\n[[step]]\nsay = "x"\n')
    assert (p.file, p.line, p.table) == ("lesson.toml", line_of(text, needle), table)
    assert says in p.message


# Bodies go after lessons.HEAD: 4 CPUs, the process "main" with the 64-page vma "heap".
BODY_CASES = [
    # processes
    ('[[process]]\ncount = 2\n', "[[process]]", "process 0", 'missing key "name"'),
    ('[[process]]\nname = "w"\ncount = 0\n', "count", "process 0", "count must be at least 1, got 0"),
    ('[[process]]\nname = "w"\ncount = true\n', "count", "process 0", "count must be an integer, got true"),
    ('[[process]]\nname = "a b"\n', "name", "process 0", 'process name "a b" is not valid'),
    ('[[process]]\nname = "w*"\n', "name", "process 0", 'process name "w*" is not valid'),
    ('[[process]]\nname = "w"\n[[process]]\nname = "w"\n', ('name = "w"', 1), "process 1", "already taken"),
    ('[[process]]\nname = "w"\ncount = 2\n[[process]]\nname = "w1"\n', "w1", "process 1",
     'process name "w1" is already taken by process 0 (w)'),
    ('[[process]]\nname = "w"\ncuont = 2\n', "cuont", "process 0", 'did you mean "count"?'),
    # vmas
    ('[[vma]]\nname = "v"\npages = 0\n', "pages = 0", "vma 1", "pages must be at least 1, got 0"),
    ('[[vma]]\nname = "v"\npages = true\n', "pages = true", "vma 1", "pages must be an integer, got true"),
    ('[[vma]]\nname = "v"\n', "[[vma]]", "vma 1", 'missing key "pages"'),
    ('[[vma]]\npages = 8\n', "[[vma]]", "vma 1", 'missing key "name"'),
    ('[[vma]]\nname = "v"\npages = 1000\nthp = true\n', "pages = 1000", "vma 1",
     "pages = 1000 with thp = true must be a multiple of 512"),
    ('[[vma]]\nname = "v"\npages = 8\nprot = "rwx"\n', "prot", "vma 1",
     'prot = "rwx" is not valid; valid values: none, r, rw; did you mean "rw"?'),
    ('[[vma]]\nname = "v"\npages = 8\nshare = "public"\n', "share", "vma 1", "valid values: private, shared"),
    ('[[vma]]\nname = "v"\npages = 8\nbacking = "swap"\n', "backing", "vma 1", "valid values: anon, file"),
    ('[[vma]]\nname = "v"\npages = 8\npopulate = "yes"\n', "populate", "vma 1",
     'populate must be true or false, got "yes" (a string)'),
    ('[[vma]]\nname = "v"\npages = 8\nprocess = "mian"\n', "mian", "vma 1", 'unknown process "mian"'),
    ('[[vma]]\nname = "heap"\npages = 8\n', 'name = "heap"', "vma 1",
     'process "main" already has a vma named "heap"'),
    ('[[process]]\nname = "main"\n[[process]]\nname = "w"\ncount = 2\n[[vma]]\nname = "v"\npages = 8\n'
     'process = "w1"\n', "w1", "vma 1", 'unknown process "w1"; a vma belongs to every instance of "w", so name that'),
    ('[[vma]]\nname = "v"\npages = 8\nsize = 3\n', "size", "vma 1", 'unknown key "size"; valid keys: name,'),
    # ops and their keys
    ('[[step]]\ndo = "reed"\nvma = "heap"\n', "reed", "step 0",
     'unknown op "reed"; valid ops: read, write, mlock, munlock, madvise, mprotect, munmap, move_pages, '
     'fork, exit, gup, coredump, smaps, say; did you mean "read"?'),
    ('[[step]]\ndo = 3\n', "do = 3", "step 0", "do must be a string, got 3 (an integer)"),
    ('[[step]]\nvma = "heap"\nsay = "x"\n', "[[step]]", "step 0", "this step has vma but no `do`"),
    ('[[step]]\ndo = "read"\n', "[[step]]", "step 0", 'do = "read" needs vma = NAME (which mapping); vmas: heap'),
    ('[[step]]\ndo = "read"\npages = 3\n', "[[step]]", "step 0", "needs vma"),
    ('[[step]]\ndo = "read"\nvma = "heep"\n', "heep", "step 0",
     'process "main" has no vma "heep"; its vmas: heap; did you mean "heap"?'),
    ('[[step]]\ndo = "read"\nvma = "heap"\npages = 64\n', "pages", "step 0",
     'pages 64 names page 64, but vma "heap" has 64 pages (0..63)'),
    ('[[step]]\ndo = "read"\nvma = "heap"\npages = "0-70/10"\n', "pages", "step 0", "names page 70"),
    ('[[step]]\ndo = "read"\nvma = "heap"\npages = "0-8/"\n', "pages", "step 0", 'bad page selector "0-8/"'),
    ('[[step]]\ndo = "read"\nvma = "heap"\npages = true\n', "pages", "step 0", "(a boolean)"),
    ('[[step]]\ndo = "mlock"\nvma = "heap"\nadvice = "dontneed"\n', "advice", "step 0",
     'unknown key "advice" for do = "mlock"; valid keys: do, say, notes, hold, checkpoint, predict, line, process, '
     "cpus, cpu, deal, vma, pages, onfault, expect"),
    ('[[step]]\ndo = "mlock"\nvma = "heap"\nonfault = 1\n', "onfault", "step 0", "onfault must be true or false"),
    ('[[step]]\ndo = "madvise"\nvma = "heap"\n', "[[step]]", "step 0",
     'do = "madvise" needs advice = one of: dontneed, populate_read, populate_write'),
    ('[[step]]\ndo = "madvise"\nvma = "heap"\nadvice = "dontned"\n', "advice", "step 0", 'did you mean "dontneed"?'),
    ('[[step]]\ndo = "mprotect"\nvma = "heap"\n', "[[step]]", "step 0", 'needs prot = one of: none, r, rw'),
    ('[[step]]\ndo = "gup"\nvma = "heap"\npin = "yes"\n', "pin", "step 0", "pin must be true or false"),
    ('[[step]]\ndo = "fork"\n', "[[step]]", "step 0", 'do = "fork" needs child = NAME'),
    ('[[step]]\ndo = "fork"\nchild = "main"\n', "child", "step 0", 'child "main" clashes with an existing process'),
    ('[[step]]\ndo = "fork"\nchild = "a/b"\n', "child", "step 0", 'child name "a/b" is not valid'),
    ('[[step]]\ndo = "fork"\nchild = "c"\n[[step]]\ndo = "fork"\nchild = "c"\n', ("child", 1), "step 1",
     'child "c" clashes'),
    ('[[step]]\ndo = "fork"\nchild = "c"\n[[step]]\ndo = "fork"\nprocess = "*"\nchild = "d"\n', '"*"', "step 1",
     "fork forks one process; process names 2: main, c"),
    ('[[step]]\ndo = "fork"\nchild = "c"\nvma = "heap"\n', "vma", "step 0", 'unknown key "vma" for do = "fork"'),
    ('[[step]]\nsay = "x"\nprocess = "main"\n', "[[step]]", "step 0", "this step has process but no `do`"),
    ('[[step]]\ndo = "say"\nprocess = "main"\n', "process", "step 0",
     'unknown key "process" for do = "say"; valid keys: do, say, notes, hold, checkpoint, predict, line, expect'),
    # processes of steps
    ('[[step]]\ndo = "read"\nprocess = "mian"\nvma = "heap"\n', "mian", "step 0",
     'unknown process "mian"; processes at this step: main; did you mean "main"?'),
    ('[[step]]\ndo = "read"\nprocess = "w*"\nvma = "heap"\n', "w*", "step 0",
     'process "w*" matches no process that exists at this step; processes: main'),
    ('[[step]]\ndo = "read"\nprocess = 3\nvma = "heap"\n', "process", "step 0",
     'process must be a name, a glob like "scanner*", or a list of them; got 3 (an integer)'),
    ('[[step]]\ndo = "read"\nprocess = []\nvma = "heap"\n', "process", "step 0", "process must be a name"),
    ('[[step]]\ndo = "fork"\nchild = "c"\n[[step]]\ndo = "exit"\n[[step]]\ndo = "write"\nprocess = "main"\n'
     'vma = "heap"\n', ('process = "main"', 0), "step 2", 'process "main" exited at step 1'),
    ('[[step]]\ndo = "exit"\n[[step]]\ndo = "coredump"\n', ("[[step]]", 1), "step 1",
     'the first process "main" exited at step 0; say which process this step is for'),
    # placement
    ('[[step]]\ndo = "read"\nvma = "heap"\ncpus = [0, 4]\n', "cpus", "step 0",
     "cpu 4 does not exist: the scenario has cpus = 4 (0..3)"),
    ('[[step]]\ndo = "read"\nvma = "heap"\ncpus = [1, 1]\n', "cpus", "step 0", "cpus lists a CPU more than once"),
    ('[[step]]\ndo = "read"\nvma = "heap"\ncpus = [true]\n', "cpus", "step 0",
     "cpus entries must be integers, got true (a boolean)"),
    ('[[step]]\ndo = "read"\nvma = "heap"\ncpus = []\n', "cpus", "step 0", "cpus must be a non-empty list"),
    ('[[step]]\ndo = "read"\nvma = "heap"\ncpu = 4\n', "cpu", "step 0", "cpu must be from 0 to 3, got 4"),
    ('[[step]]\ndo = "read"\nvma = "heap"\ncpu = false\n', "cpu", "step 0", "cpu must be an integer, got false"),
    ('[[step]]\ndo = "read"\nvma = "heap"\ncpus = [0]\ncpu = 0\n', "cpu = 0", "step 0",
     "give cpu = N or cpus = [...], not both"),
    ('[[step]]\ndo = "read"\nvma = "heap"\ndeal = "random"\n', "deal", "step 0", "valid values: round-robin, block"),
    # narration keys
    ('[[step]]\nsay = "x"\nhold = 0\n', "hold", "step 0", "hold must be more than 0, got 0"),
    ('[[step]]\nsay = "x"\nhold = 601\n', "hold", "step 0", "hold must be at most 600, got 601"),
    ('[[step]]\nsay = "x"\nhold = nan\n', "hold", "step 0", "hold must be a number, got nan"),
    ('[[step]]\nsay = "x"\nhold = "6s"\n', "hold", "step 0", 'hold must be a number, got "6s" (a string)'),
    ('[[step]]\nsay = 3\n', "say", "step 0", "say must be a string, got 3"),
    ('[[step]]\nsay = "x"\npredict = "yes"\n', "predict", "step 0", "predict must be true or false"),
    ('[step]\nsay = "x"\n', "[step]", "step", "write [[step]] (double brackets, one per step), not [step]"),
]


def _needle(spec):
    return spec if isinstance(spec, tuple) else (spec, 0)


@pytest.mark.parametrize(("body", "needle", "table", "says"), BODY_CASES)
def test_lesson_body(body, needle, table, says):
    # a narration step first, unless the case is about steps: a lesson needs one
    text = lesson(body if "step" in body else body + '\n[[step]]\nsay = "x"\n')
    p = only_problem(text)
    assert (p.file, p.line, p.table) == ("lesson.toml", line_of(text, *_needle(needle), HEAD_LINES), table), str(p)
    assert says in p.message, str(p)


def test_message_format_is_file_line_table_message():
    text = lesson('[[step]]\nsay = "x"\n[[step]]\nsay = "y"\n[[step]]\ndo = "reed"\n')
    assert str(only_problem(text)).startswith(f'lesson.toml:{line_of(text, "reed")}: [step 2] unknown op "reed"; '
                                              "valid ops: read, write, mlock")


def test_a_lesson_needs_a_step():
    p = only_problem(lesson(""))
    assert p.line is None and "no [[step]]" in p.message


def test_every_problem_is_reported_in_file_order():
    text = lesson(
        """
        [[process]]
        name = "main"
        count = true

        [[vma]]
        name = "big"
        pages = 1000
        thp = true

        [[step]]
        do = "reed"

        [[step]]
        do = "read"
        vma = "heap"
        pages = "9-3"
        cpus = [9]

        [[step]]
        say = "x"
        hold = -1
        """,
        head='[scenario]\ntitle = "T"\ncpus = 2\nsockets = 3\n\n[[vma]]\nname = "heap"\npages = 64\nprot = "x"\n',
    )
    got = [(p.line, p.table) for p in problems(text)]
    expected = [
        (line_of(text, "sockets"), "scenario"),
        (line_of(text, 'prot = "x"'), "vma 0"),
        (line_of(text, "count = true"), "process 0"),
        (line_of(text, "pages = 1000"), "vma 1"),
        (line_of(text, "reed"), "step 0"),
        (line_of(text, '"9-3"'), "step 1"),
        (line_of(text, "cpus = [9]"), "step 1"),
        (line_of(text, "hold = -1"), "step 2"),
    ]
    assert got == expected


def test_a_rejected_declaration_is_not_reported_again_at_each_use():
    text = lesson('[[vma]]\nname = "v"\npages = 0\n\n[[step]]\ndo = "read"\nvma = "v"\n')
    assert only_problem(text).line == line_of(text, "pages = 0")


# -- claims ---------------------------------------------------------------------------------------------

STEP = '[[step]]\ndo = "read"\nvma = "heap"\npages = "0-15"\n'
EXPECT_CASES = [
    ('[step.expect.v6]\nframes_used = 1\n', "v6", "step 0 expect v6",
     'unknown kernel variant "v6" in expect; valid: "*", 2.6.23, 2.6.24, 2.6.31, v5, 2.6.32, modern; '
     'did you mean "v5"?'),
    ('[step.expect.2.6.24]\nframes_used = 1\n', "2.6.24", "step 0 expect 2", 'quote ids with dots'),
    ('[step.expect]\nframes_used = 1\n', "frames_used", "step 0 expect frames_used",
     'claims go under a variant'),
    ('[step.expect.v5]\nframes_use = 1\n', "frames_use", "step 0 expect v5",
     'unknown claim field "frames_use"; valid fields: frames_used, pt_frames'),
    ('[step.expect.v5]\nframes_use = 1\n', "frames_use", "step 0 expect v5", 'did you mean "frames_used"?'),
    ('[step.expect.v5]\nframes_used = true\n', "frames_used", "step 0 expect v5",
     "frames_used must be a number or a range { min = ..., max = ... }, got true (a boolean)"),
    ('[step.expect.v5]\nrss_kb = { min = 5, max = 2 }\n', "rss_kb", "step 0 expect v5",
     "rss_kb: the range is empty (min 5 > max 2)"),
    ('[step.expect.v5]\nrss_kb = { least = 5 }\n', "rss_kb", "step 0 expect v5",
     "rss_kb: a range is written { min = 200, max = 300 }"),
    ('[step.expect.v5]\nfault_kinds.reed = 5\n', "fault_kinds", "step 0 expect v5",
     'unknown claim field "fault_kinds.reed"'),
    ('[step.expect.v5]\npages = { "0-15" = "zeor" }\n', "pages = {", "step 0 expect v5",
     'pages."0-15" must be a state (unmapped, none, zero, anon, shared, file), got "zeor"; did you mean "zero"?'),
    ('[step.expect.v5]\npages = { "0-64" = "zero" }\n', "pages = {", "step 0 expect v5",
     'pages: selector "0-64" names page 64, the vma has 64 pages (0..63)'),
    ('[step.expect.v5]\npages = { "x" = "zero" }\n', "pages = {", "step 0 expect v5", 'bad page selector "x"'),
    ('[step.expect.v5]\npages = "zero"\n', 'pages = "zero"', "step 0 expect v5",
     "pages must be a table { SELECTOR = STATE }"),
    ('[step.expect.v5]\nmlocked = { all = "yes" }\n', "mlocked", "step 0 expect v5",
     'mlocked."all" must be true or false, got "yes"'),
    ('[step.expect.v5]\nerrno = "enomem"\n', "errno", "step 0 expect v5",
     'errno must be a name like "ENOMEM", or "none" for no errno; got "enomem"'),
    ('[step.expect.v5]\nsignal = 11\n', "signal", "step 0 expect v5", 'signal must be a name like "SIGSEGV"'),
    ('[step.expect.v5]\nlog = []\n', "log", "step 0 expect v5", "log must be a non-empty string or a list"),
    ('[step.expect.v5]\nstatus = 3\n', "status", "step 0 expect v5", "status must be a string"),
    ('[step.expect.v5]\nvm_locked = 1\n', "vm_locked", "step 0 expect v5", "vm_locked must be true or false"),
    ('expect = 3\n', "expect", "step 0", "expect must be a table per variant"),
    ('expect = { v5 = { frames_use = 1 } }\n', "expect", "step 0 expect v5", 'unknown claim field "frames_use"'),
    ('expect.v5.frames_used = "many"\n', "expect.v5", "step 0 expect v5", "frames_used must be a number"),
    ('[step.expect.v5.pages]\n"0-3" = "zero"\n"4-7" = "zeros"\n', '"4-7"', "step 0 expect v5",
     'pages."4-7" must be a state'),
    ('expect = { v5 = 3 }\n', "expect", "step 0 expect v5", "expect.v5 must be a table of claims, got 3"),
]


@pytest.mark.parametrize(("claims", "needle", "table", "says"), EXPECT_CASES)
def test_claims(claims, needle, table, says):
    text = lesson(STEP + claims)
    p = only_problem(text)
    assert (p.line, p.table) == (line_of(text, needle, after=HEAD_LINES), table), str(p)
    assert says in p.message, str(p)


def test_vma_claims_need_a_vma_and_process_claims_a_process():
    text = lesson('[[step]]\nsay = "x"\n[step.expect."*"]\nrss_kb = 0\nexited = false\nframes_used = 0\n')
    got = [(p.line, p.message) for p in problems(text)]
    assert got == [
        (line_of(text, "rss_kb"), "rss_kb describes the step's vma, and this step has no vma; claim it on a "
                                  "step that acts on that vma"),
        (line_of(text, "exited"), "exited describes the step's process, and this step has none"),
    ]


# -- the file itself ------------------------------------------------------------------------------------

def test_toml_syntax_error_names_tomllibs_line_and_the_table():
    text = lesson('[[step]]\nsay = "x"\n\n[[step]]\ndo = read\n')
    p = only_problem(text)
    assert (p.line, p.table) == (line_of(text, "do = read"), "step 1")
    assert p.message.startswith("TOML syntax error: Invalid value")


def test_duplicate_keys_are_a_syntax_error_with_a_line():
    text = lesson('[[step]]\nsay = "x"\nsay = "y"\n')
    p = only_problem(text)
    assert p.line == line_of(text, 'say = "y"') and "TOML syntax error" in p.message


def test_invalid_utf8_names_its_line(tmp_path):
    f = tmp_path / "l.toml"
    f.write_bytes(b'[scenario]\ntitle = "ok"\nsummary = "caf\xe9"\n')
    with pytest.raises(LessonError) as info:
        load(f)
    (p,) = info.value.problems
    assert (p.file, p.line) == (str(f), 3)
    assert "not valid UTF-8 (byte 0xe9 at column 15)" in p.message


def test_unreadable_paths(tmp_path):
    with pytest.raises(LessonError, match="cannot read the lesson"):
        load(tmp_path / "missing.toml")
    with pytest.raises(LessonError, match="not a regular file"):
        load(tmp_path)


def test_bool_is_never_an_int():
    text = lesson('[[step]]\ndo = "read"\nvma = "heap"\npages = [true, 3]\ncpu = true\nhold = true\n')
    got = sorted(p.message for p in problems(text))
    assert len(got) == 3 and all("(a boolean)" in m for m in got), got


def test_a_flood_of_problems_is_cut_short_and_says_how_many_more():
    text = lesson('[[step]]\ndo = "reed"\n' * 250)
    got = problems(text)
    assert len(got) == 201
    assert got[199].line == line_of(text, "reed", 199)
    assert got[-1].message == "... and 50 more problems"


def test_a_bad_op_does_not_make_its_claims_look_wrong_too():
    text = lesson('[[step]]\ndo = "reed"\nvma = "heap"\n[step.expect.v5]\nrss_kb = 4\nexited = false\n')
    assert "unknown op" in only_problem(text).message


def test_both_ids_of_one_variant_are_one_too_many():
    import pytest

    from zpviz.scenario import LessonError, loads

    with pytest.raises(LessonError, match="name the same kernel"):
        loads('[scenario]\ntitle = "t"\n[[vma]]\nname = "r"\npages = 4\n[[step]]\ndo = "read"\nvma = "r"\n'
              '[step.expect."2.6.31"]\nfaults = 4\n[step.expect."2.6.24"]\nfaults = 4\n')
    with pytest.raises(LessonError, match="twice"):
        loads('[scenario]\ntitle = "t"\ncompare = ["2.6.24", "2.6.31"]\n[[vma]]\nname = "r"\npages = 4\n'
              '[[step]]\ndo = "read"\nvma = "r"\n')
