"""The line locator: tomllib gives no positions, so every problem's line comes from here."""

from __future__ import annotations

from zpviz.scenario.locate import Locator, label

TEXT = '''\
[scenario]
title = """a title
[[step]]
do = "not a key, inside a multi-line string"
"""
compare = [
  "2.6.23",   # a comment [with brackets]
  "2.6.24",
]

[[step]]
do = "read"
pages = { "0-15" = "x" }

[[step]]
'quoted key' = 1
expect.v5.frames_used = 3

[step.expect."2.6.24"]
frames_used = 1
"fault_kinds.read" = 2

[[step]]
expect = { v5 = { frames_used = 0 } }
'''


def test_tables_and_keys():
    loc = Locator(TEXT)
    assert loc.line(("scenario",)) == 1
    assert loc.line(("scenario", "title")) == 2
    assert loc.line(("scenario", "compare")) == 6
    # the [[step]] inside the multi-line string is not a table: the first real step is at line 11
    assert loc.line(("step", 0)) == 11
    assert loc.line(("step", 0, "do")) == 12
    assert loc.line(("step", 1, "quoted key")) == 16
    assert loc.line(("step", 1, "expect", "v5", "frames_used")) == 17
    assert loc.line(("step", 1, "expect", "2.6.24")) == 19
    assert loc.line(("step", 1, "expect", "2.6.24", "frames_used")) == 20
    assert loc.line(("step", 1, "expect", "2.6.24", "fault_kinds.read")) == 21
    assert loc.line(("step", 2)) == 23


def test_lookups_fall_back_to_the_longest_known_prefix():
    loc = Locator(TEXT)
    # keys inside a one-line inline table: the line of the key holding the table
    assert loc.line(("step", 0, "pages", "0-15")) == 13
    assert loc.line(("step", 2, "expect", "v5", "frames_used")) == 24
    assert loc.line(("nothing",)) is None


def test_table_at_and_labels():
    loc = Locator(TEXT)
    assert label(loc.table_at(8)) == "scenario"
    assert label(loc.table_at(13)) == "step 0"
    assert label(loc.table_at(20)) == "step 1 expect 2.6.24"
    assert label(("vma", 2, "pages")) == "vma 2"
    assert label(("title",)) == "top level"


def test_never_raises_on_garbage():
    for text in ['[[', '["unterminated', 'a = """', "= 1", "[a.'b", "x = [[[", "\x00\r\n[[step]]", "a.b.c"]:
        Locator(text).line(("step", 0))


def test_crlf_and_odd_line_breaks_count_like_tomllib():
    loc = Locator('[scenario]\r\ntitle = "a\u2028b"\r\n\r\n[[step]]\r\ndo = "read"\r\n')
    assert loc.line(("step", 0, "do")) == 5
