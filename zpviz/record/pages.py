"""Every mapping of a process and the state of each of its pages, from /proc.

maps gives the mappings; pagemap whether each page is present and its frame; /proc/kpageflags
what that frame is (include/uapi/linux/kernel-page-flags.h: KPF_ZERO_PAGE 24, KPF_THP 22,
KPF_MLOCKED 33, KPF_UNEVICTABLE 18, KPF_ANON 12, KPF_HUGE 17, KPF_MMAP 11); smaps the kernel's
own Rss, Anonymous and Locked and the vma flags. Page states are stored run-length encoded:
[["z", 1024], ["n", 3]] is 1,024 zero pages, then 3 not present.

Without root the frame numbers read 0 and kpageflags cannot be opened: then the PAGEMAP_SCAN
ioctl (Linux 6.7+) tells zero pages from others, and mlocked is not observed ("?").
"""

from __future__ import annotations

import ctypes
import fcntl
import os
from array import array

from zpviz.kernel.observe import (
    KPF_ANON,
    KPF_MLOCKED,
    KPF_THP,
    KPF_ZERO_PAGE,
    PFN_MASK,
    PM_EXCLUSIVE,
    PM_FILE,
    PM_PRESENT,
    KPageFlags,
    read_smaps,
)

PAGE = 4096
KPF_HUGE = 1 << 17
MAX_SCAN_PAGES = 1 << 22  # mappings bigger than 16 GiB (reservations) are not read page by page
SPECIAL = ("[vsyscall]", "[vvar]", "[vvar_vclock]", "[vdso]", "[uprobes]")


def read_maps(pid: int) -> list[dict]:
    """/proc/PID/maps as a list of {start, end, perms, offset, inode, path}."""
    out = []
    with open(f"/proc/{pid}/maps") as f:
        for line in f:
            parts = line.split(None, 5)
            lo, hi = parts[0].split("-")
            out.append({"start": int(lo, 16), "end": int(hi, 16), "perms": parts[1], "offset": int(parts[2], 16),
                        "inode": int(parts[4]), "path": parts[5].strip() if len(parts) > 5 else ""})
    return out


def mapping_kind(m: dict) -> str:
    """anon (private anonymous: heap, stack, anonymous mmap), shared (MAP_SHARED anon or shmem),
    file (a file mapping, private or shared), special (vdso, vvar, vsyscall)."""
    path = m["path"]
    if path in SPECIAL:
        return "special"
    if m["inode"] == 0 and (path == "" or path in ("[heap]", "[stack]") or path.startswith("[anon")):
        return "anon" if m["perms"][3] == "p" else "shared"
    if path.startswith("/dev/zero") or path.startswith("/SYSV") or path.startswith("/memfd:") \
            or path.startswith("[anon_shmem"):
        return "shared" if m["perms"][3] == "s" else "anon"
    return "file"


def rle(codes: str) -> list[list]:
    out: list[list] = []
    for c in codes:
        if out and out[-1][0] == c:
            out[-1][1] += 1
        else:
            out.append([c, 1])
    return out


def unrle(runs: list[list]) -> str:
    return "".join(c * n for c, n in runs)


def _classify(entry: int, flags: int | None, kind: str) -> tuple[str, str, str]:
    """(state, mlocked, huge) of one page: n none, z zero, a anon, s shared, f file; 1/0/? flags."""
    if not entry & PM_PRESENT:
        return "n", "0", "0"
    if flags is not None:
        huge = "1" if flags & (KPF_THP | KPF_HUGE) else "0"
        if flags & KPF_ZERO_PAGE:
            state = "z"
        elif flags & KPF_ANON:
            state = "a" if entry & PM_EXCLUSIVE else "s"
        else:
            state = "f" if kind == "file" else "s"
        return state, "1" if flags & KPF_MLOCKED else "0", huge
    if entry & PM_FILE:
        state = "f" if kind == "file" else "s" if kind == "shared" else "z"  # huge zero page sets PM_FILE
    elif entry & PM_EXCLUSIVE:
        state = "a"
    else:
        state = "?"
    return state, "?", "?"


def snapshot(pid: int, kpf: KPageFlags | None) -> list[dict]:
    """Every mapping of `pid` with its page states (the process should be stopped)."""
    maps = read_maps(pid)
    try:
        smaps = {(lo, hi): (fields, flags) for lo, hi, fields, flags in read_smaps(pid)}
    except Exception:  # noqa: BLE001 - smaps is a nice-to-have; maps and pagemap carry the states
        smaps = {}
    fd = os.open(f"/proc/{pid}/pagemap", os.O_RDONLY)
    try:
        out = []
        for m in maps:
            kind = mapping_kind(m)
            n = (m["end"] - m["start"]) // PAGE
            rec = dict(m, kind=kind, pages_total=n)
            fields, vmflags = smaps.get((m["start"], m["end"]), ({}, set()))
            rec.update(rss_kb=fields.get("Rss"), anon_kb=fields.get("Anonymous"), locked_kb=fields.get("Locked"),
                       anon_huge_kb=fields.get("AnonHugePages"), vmflags=sorted(vmflags))
            if kind == "special" or n > MAX_SCAN_PAGES:
                rec.update(pages=None, mlocked=None, huge=None)
                out.append(rec)
                continue
            entries = array("Q")
            entries.frombytes(os.pread(fd, 8 * n, (m["start"] // PAGE) * 8))
            pfns = {e & PFN_MASK for e in entries if e & PM_PRESENT} - {0}
            flags = kpf.flags(pfns) if kpf is not None and pfns else {}
            have = kpf is not None and (bool(pfns) or not any(e & PM_PRESENT for e in entries))
            st, ml, hg = [], [], []
            for e in entries:
                s, lk, h = _classify(e, flags.get(e & PFN_MASK) if have else None, kind)
                st.append(s)
                ml.append(lk)
                hg.append(h)
            if not have and kind != "file" and "?" in st:  # no frame flags: ask PAGEMAP_SCAN about zero pages
                scan = scan_zero_and_huge(fd, m["start"], m["end"])
                if scan is not None:
                    zero, huge = scan
                    st = ["z" if zero[i] else ("s" if c == "?" else c) for i, c in enumerate(st)]
                    hg = ["1" if huge[i] else "0" for i in range(n)]
            rec.update(pages=rle("".join(st)), mlocked=rle("".join(ml)), huge=rle("".join(hg)))
            out.append(rec)
        return out
    finally:
        os.close(fd)


def proc_faults(pid: int) -> tuple[int, int] | None:
    """(minflt, majflt) of the whole process from /proc/PID/stat, or None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            text = f.read()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()
    return int(fields[7]), int(fields[9])  # fields 10 and 12 of proc(5), counted from "state" = 3


# ---------------------------------------------------------------- PAGEMAP_SCAN (ordinary users)
PAGEMAP_SCAN = 0xC0606610  # _IOWR('f', 16, struct pm_scan_arg), include/uapi/linux/fs.h
PAGE_IS_FILE = 1 << 2
PAGE_IS_PRESENT = 1 << 3
PAGE_IS_PFNZERO = 1 << 5
PAGE_IS_HUGE = 1 << 6
_VEC = 1024


class _PmScanArg(ctypes.Structure):
    _fields_ = [(n, ctypes.c_uint64) for n in ("size", "flags", "start", "end", "walk_end", "vec", "vec_len",
                                                "max_pages", "category_inverted", "category_mask",
                                                "category_anyof_mask", "return_mask")]


class _PageRegion(ctypes.Structure):
    _fields_ = [("start", ctypes.c_uint64), ("end", ctypes.c_uint64), ("categories", ctypes.c_uint64)]


def scan_zero_and_huge(fd: int, start: int, end: int) -> tuple[bytearray, bytearray] | None:
    """Which pages of [start, end) map a zero page, and which are huge, by PAGEMAP_SCAN (Linux 6.7+):
    what an ordinary user can learn, since pagemap's frame numbers read 0 without CAP_SYS_ADMIN.
    None when the kernel has no PAGEMAP_SCAN."""
    n = (end - start) // PAGE
    zero, huge = bytearray(n), bytearray(n)
    vec = (_PageRegion * _VEC)()
    at = start
    while at < end:
        arg = _PmScanArg(size=ctypes.sizeof(_PmScanArg), start=at, end=end, vec=ctypes.addressof(vec),
                         vec_len=_VEC, category_anyof_mask=PAGE_IS_PRESENT,
                         return_mask=PAGE_IS_PFNZERO | PAGE_IS_HUGE | PAGE_IS_FILE)
        try:
            filled = fcntl.ioctl(fd, PAGEMAP_SCAN, arg)  # ctypes objects are mutable buffers: walk_end comes back
        except OSError:
            return None
        for r in vec[:filled]:
            lo, hi = (r.start - start) // PAGE, (r.end - start) // PAGE
            if r.categories & PAGE_IS_PFNZERO:
                zero[lo:hi] = b"\x01" * (hi - lo)
            if r.categories & PAGE_IS_HUGE:
                huge[lo:hi] = b"\x01" * (hi - lo)
        if arg.walk_end <= at or filled < _VEC:
            break
        at = arg.walk_end
    return zero, huge
