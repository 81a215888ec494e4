"""What a real core dump wrote: the pages of an address range that hold data in an ELF core file.

The kernel's elf_core_dump writes each page get_dump_page() returns and seeks over the rest (a
hole, or the zero page: FOLL_DUMP gives NULL for both), so a core file on a file system that keeps
holes is sparse exactly where the dump skipped. This module reads a core's program headers (one
PT_LOAD per vma) and asks the file system, with SEEK_DATA and SEEK_HOLE, which pages of a range
hold data. Stdlib only: it runs inside lesson processes.
"""

from __future__ import annotations

import os
import struct

PAGE = 4096
PT_LOAD = 1
PN_XNUM = 0xFFFF


def why_no_core_here(core_pattern: str, core_hard_limit: int) -> str | None:
    """Why a process that aborts in a directory would not leave its core file there, or None."""
    if core_pattern.startswith("|"):
        return (f"kernel.core_pattern is {core_pattern!r}: cores go to that helper (systemd-coredump, apport), "
                "not into a file this runner can read")
    if "/" in core_pattern:
        return (f"kernel.core_pattern is {core_pattern!r}: cores go to that path, not into the crashing "
                "process's directory")
    if not core_pattern:
        return "kernel.core_pattern is empty: no core file is written"
    if core_hard_limit == 0:
        return "the core-size limit's hard limit is 0 (ulimit -Hc), so no core file can be written"
    return None


class CoreError(Exception):
    """The file is not a 64-bit little-endian ELF core this module can read."""


def load_segments(fd: int) -> list[tuple[int, int, int, int]]:
    """(vaddr, memsz, offset, filesz) of every PT_LOAD of the core open on fd."""
    head = os.pread(fd, 64, 0)
    if len(head) < 64 or head[:4] != b"\x7fELF" or head[4] != 2 or head[5] != 1:
        raise CoreError("not a 64-bit little-endian ELF file")
    if struct.unpack_from("<H", head, 16)[0] != 4:
        raise CoreError("an ELF file, but not a core (e_type is not ET_CORE)")
    phoff, shoff = struct.unpack_from("<QQ", head, 32)
    phentsize, phnum = struct.unpack_from("<HH", head, 54)
    if phnum == PN_XNUM:  # more than 65,534 segments: the real count is in section header 0
        phnum = struct.unpack_from("<I", os.pread(fd, 64, shoff), 44)[0]
    table = os.pread(fd, phentsize * phnum, phoff)
    out = []
    for i in range(phnum):
        p_type, _flags, offset, vaddr, _paddr, filesz, memsz, _align = struct.unpack_from("<IIQQQQQQ", table,
                                                                                       i * phentsize)
        if p_type == PT_LOAD:
            out.append((vaddr, memsz, offset, filesz))
    return out


def data_runs(fd: int, start: int, end: int) -> list[tuple[int, int]]:
    """The [lo, hi) byte runs of [start, end) that hold data (SEEK_DATA / SEEK_HOLE)."""
    runs = []
    pos = start
    while pos < end:
        try:
            lo = os.lseek(fd, pos, os.SEEK_DATA)
        except OSError:  # ENXIO: no data from pos to the end of the file
            break
        if lo >= end:
            break
        hi = min(os.lseek(fd, lo, os.SEEK_HOLE), end)
        runs.append((lo, hi))
        pos = hi
    return runs


def holes_kept(fd: int) -> bool:
    """Whether the file system reports this file's holes. One that does not (SEEK_HOLE is only
    its end) would make every skipped page look written."""
    st = os.fstat(fd)
    data = sum(hi - lo for lo, hi in data_runs(fd, 0, st.st_size))
    return data < st.st_size or st.st_blocks * 512 >= st.st_size


def written_pages(fd: int, lo: int, hi: int, segments: list[tuple[int, int, int, int]]) -> tuple[int, int]:
    """(pages written, pages of [lo, hi) the segments cover): how the dump left that address range.

    A page is written when any byte of it holds data in the file; a page a segment covers beyond
    its filesz (a vma the dump filter left out) or in a hole was skipped."""
    written = covered = 0
    for vaddr, memsz, offset, filesz in segments:
        a, b = max(lo, vaddr), min(hi, vaddr + memsz)
        if a >= b:
            continue
        covered += (b - a) // PAGE
        f_lo, f_hi = offset + (a - vaddr), offset + min(b - vaddr, filesz)
        pages: set[int] = set()
        for r_lo, r_hi in data_runs(fd, f_lo, f_hi) if f_hi > f_lo else ():
            pages.update(range((r_lo - offset) // PAGE, (r_hi - 1 - offset) // PAGE + 1))
        written += len(pages)
    return written, covered
