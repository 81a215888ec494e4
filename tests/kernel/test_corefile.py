"""corefile: the program headers and the holes of an ELF core, on synthetic cores (no kernel needed)."""

from __future__ import annotations

import os
import struct

import pytest

from zpviz.kernel import corefile as CF

PAGE = CF.PAGE


def write_core(path, segments, data_pages, xnum=False):
    """A minimal ELF64 core: segments (vaddr, memsz, offset, filesz); data_pages: file page numbers
    that get bytes (every other page of the file stays a hole)."""
    phnum = len(segments)
    ehdr = bytearray(64)
    ehdr[:6] = b"\x7fELF\x02\x01"
    struct.pack_into("<H", ehdr, 16, 4)  # ET_CORE
    shoff = 64 + 56 * phnum if xnum else 0
    struct.pack_into("<QQ", ehdr, 32, 64, shoff)
    struct.pack_into("<HH", ehdr, 54, 56, CF.PN_XNUM if xnum else phnum)
    table = b"".join(struct.pack("<IIQQQQQQ", CF.PT_LOAD, 6, off, va, 0, fs, ms, PAGE) for va, ms, off, fs in segments)
    with open(path, "wb") as f:
        f.write(bytes(ehdr) + table)
        if xnum:  # section header 0 carries the real count in sh_info
            sh = bytearray(64)
            struct.pack_into("<I", sh, 44, phnum)
            f.write(bytes(sh))
        end = max(off + fs for _, _, off, fs in segments)
        for p in data_pages:
            f.seek(p * PAGE)
            f.write(b"\x5a" * PAGE)
        f.truncate(end)


@pytest.mark.parametrize("xnum", [False, True])
def test_pages_with_data_are_written_and_the_rest_are_holes(tmp_path, xnum):
    base = 0x3000_0000_0000
    # one vma of 16 pages at file page 4, its pages 0, 1 and 9 written; one of 8 pages left out of
    # the dump (filesz 0); one other vma that must not count
    segs = [(base, 16 * PAGE, 4 * PAGE, 16 * PAGE), (base + 32 * PAGE, 8 * PAGE, 20 * PAGE, 0),
            (0x7F00_0000_0000, 4 * PAGE, 20 * PAGE, 4 * PAGE)]
    path = tmp_path / "core"
    write_core(path, segs, [1, 4, 5, 13, 20, 21])
    fd = os.open(path, os.O_RDONLY)
    try:
        if not CF.holes_kept(fd):
            pytest.skip("this file system does not report holes")
        got = CF.load_segments(fd)
        assert got == segs
        assert CF.written_pages(fd, base, base + 16 * PAGE, got) == (3, 16)
        assert CF.written_pages(fd, base + 32 * PAGE, base + 40 * PAGE, got) == (0, 8)
        assert CF.written_pages(fd, base + 2 * PAGE, base + 10 * PAGE, got) == (1, 8)  # page 9 only
        assert CF.written_pages(fd, base + 64 * PAGE, base + 80 * PAGE, got) == (0, 0)  # no segment there
    finally:
        os.close(fd)


@pytest.mark.parametrize("content,says", [
    (b"\x7fELF\x02\x01" + bytes(58), "not a core"),  # ELF64, but e_type 0
    (b"#!/bin/sh\n", "not a 64-bit"),
])
def test_a_file_that_is_not_a_core_is_refused(tmp_path, content, says):
    path = tmp_path / "x"
    path.write_bytes(content)
    fd = os.open(path, os.O_RDONLY)
    try:
        with pytest.raises(CF.CoreError, match=says):
            CF.load_segments(fd)
    finally:
        os.close(fd)


@pytest.mark.parametrize("pattern,hard,says", [
    ("|/usr/lib/systemd/systemd-coredump %P %u", -1, "helper"),
    ("/var/crash/core.%p", -1, "that path"),
    ("", -1, "empty"),
    ("core", 0, "hard limit is 0"),
])
def test_where_the_kernel_would_not_leave_a_core_here(pattern, hard, says):
    assert says in CF.why_no_core_here(pattern, hard)


def test_a_plain_core_pattern_leaves_the_core_in_the_directory():
    assert CF.why_no_core_here("core", -1) is None
    assert CF.why_no_core_here("core.%p", 1 << 30) is None
