"""Reading a lesson process's pages from /proc: pagemap, kpageflags and smaps.

Stdlib only (it runs in the supervisor). What was checked on Linux 6.18.44 (x86-64, root, THP
"madvise") before the classification below was written, with a raw ctypes probe:

- a read-faulted private anonymous page: pagemap present (bit 63), bits 61 and 56 clear, its PFN
  has KPF_ZERO_PAGE (24) and KPF_RESERVED (32) in /proc/kpageflags. Every such page has that PFN.
- the huge zero page (read fault in a 2 MiB-aligned MADV_HUGEPAGE range): 512 distinct PFNs, each
  KPF_ZERO_PAGE + KPF_THP (22) + head (15) or tail (16), and pagemap bit 61 *set* (PM_FILE: the
  huge zero folio is not anonymous) with bit 56 clear. The 4 KiB zero page has bit 61 clear.
- a fresh anonymous page: KPF_ANON (12), KPF_MMAP (11), KPF_SWAPBACKED (14), bit 34 (PG_anon_exclusive)
  and pagemap bit 56 (exclusively mapped). KPF_LRU (5) is often still clear (per-CPU LRU batch).
- after fork both processes' anon pages lose bit 56 (and bit 34); when the child exits the parent's
  pages show bit 56 again (it follows the mapcount).
- a shared anonymous (shmem) page: bits 61 and 56 set, KPF_ANON clear.
- an mlocked anonymous page: KPF_MLOCKED (33) and KPF_UNEVICTABLE (18).
- without CAP_SYS_ADMIN the PFN field reads as 0 and /proc/kpageflags cannot be opened.

Page codes: u unmapped, n none, z zero, a anon, s shared, f file, ? not observable.
"""

from __future__ import annotations

import os
from array import array

PAGE = 4096
PM_PRESENT = 1 << 63
PM_SWAP = 1 << 62
PM_FILE = 1 << 61  # file page or shared anonymous page (and, observed, the huge zero page)
PM_EXCLUSIVE = 1 << 56
PFN_MASK = (1 << 55) - 1

KPF_LRU = 1 << 5
KPF_MMAP = 1 << 11
KPF_ANON = 1 << 12
KPF_UNEVICTABLE = 1 << 18
KPF_THP = 1 << 22
KPF_ZERO_PAGE = 1 << 24
KPF_MLOCKED = 1 << 33

STATES = {"u": "unmapped", "n": "none", "z": "zero", "a": "anon", "s": "shared", "f": "file", "?": None}


class ObserveError(Exception):
    """A /proc file is missing or cannot be read; the message says which and why."""


def _read_proc(path: str) -> str:
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError as exc:
        raise ObserveError(f"{path} does not exist (the process is gone, or /proc is not mounted)") from exc
    except PermissionError as exc:
        raise ObserveError(f"{path}: permission denied") from exc


def read_pagemap(pid: int, start: int, npages: int) -> array:
    path = f"/proc/{pid}/pagemap"
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError as exc:
        raise ObserveError(f"{path} does not exist (no CONFIG_PROC_PAGE_MONITOR, or the process is gone)") from exc
    except PermissionError as exc:
        raise ObserveError(f"{path}: permission denied (reading another user's pagemap needs ptrace access)") from exc
    try:
        data = os.pread(fd, 8 * npages, (start // PAGE) * 8)
    finally:
        os.close(fd)
    entries = array("Q")
    entries.frombytes(data)
    return entries


class KPageFlags:
    """/proc/kpageflags, read in runs of consecutive PFNs."""

    def __init__(self, fd: int):
        self.fd = fd

    @classmethod
    def open(cls) -> tuple[KPageFlags | None, str | None]:
        try:
            return cls(os.open("/proc/kpageflags", os.O_RDONLY)), None
        except FileNotFoundError:
            return None, "/proc/kpageflags does not exist (kernel without CONFIG_PROC_PAGE_MONITOR)"
        except PermissionError:
            return None, "/proc/kpageflags: permission denied (needs root)"

    def flags(self, pfns: set[int]) -> dict[int, int]:
        out: dict[int, int] = {}
        todo = sorted(pfns)
        i = 0
        while i < len(todo):
            j = i
            while j + 1 < len(todo) and todo[j + 1] == todo[j] + 1 and j - i < 4095:
                j += 1
            vals = array("Q")
            vals.frombytes(os.pread(self.fd, 8 * (j - i + 1), todo[i] * 8))
            out.update(zip(todo[i : j + 1], vals))
            i = j + 1
        return out

    def close(self) -> None:
        os.close(self.fd)


def read_smaps(pid: int) -> list[tuple[int, int, dict[str, int], set[str]]]:
    """(start, end, {field: kB}, vmflags) for each vma of the process."""
    out: list[tuple[int, int, dict[str, int], set[str]]] = []
    for line in _read_proc(f"/proc/{pid}/smaps").splitlines():
        head = line.split(None, 1)[0] if line else ""
        if "-" in head and not head.endswith(":"):
            lo, hi = head.split("-")
            out.append((int(lo, 16), int(hi, 16), {}, set()))
        elif head == "VmFlags:" and out:
            out[-1][3].update(line.split()[1:])
        elif head.endswith(":") and out:
            parts = line.split()
            if len(parts) >= 2 and parts[1].isdigit():
                out[-1][2][head[:-1]] = int(parts[1])
    return out


def classify(entry: int, flags: int | None, share: str, backing: str) -> tuple[str, str, str]:
    """(state, mlocked, huge) codes of one mapped page from its pagemap entry and kpageflags."""
    if not entry & PM_PRESENT:
        return "n", "0", "0"
    if flags is not None:
        if flags & KPF_ZERO_PAGE:
            state = "z"
        elif flags & KPF_ANON:
            state = "a" if entry & PM_EXCLUSIVE else "s"
        else:
            state = "f" if backing == "file" else "s"
        return state, "1" if flags & KPF_MLOCKED else "0", "1" if flags & KPF_THP else "0"
    # Pagemap bits only (no PFN, no kpageflags).
    if entry & PM_FILE:
        if backing == "file":
            state = "f"
        else:  # shmem; in a private anonymous vma only the huge zero page sets PM_FILE (observed)
            state = "s" if share == "shared" else "z"
    elif entry & PM_EXCLUSIVE:
        state = "a"
    else:  # the 4 KiB zero page, or an anonymous page mapped by two processes: indistinguishable
        state = "s" if backing == "file" else "?"
    return state, "?", "?"


def observe_process(pid: int, layout: dict, kpf: KPageFlags | None) -> tuple[dict, set[int] | None]:
    """The state of every lesson vma of one live process, and the PFNs of its user-data frames.

    layout: {vma name: {start, pages, share, backing, unmapped: [[lo, hi], ...]}} as the process
    reported it. Returns ({name: {pages, mlocked, huge (code strings), vm_locked, rss_kb, anon_kb,
    locked_kb}}, pfns or None when PFNs cannot be read).
    """
    smaps = read_smaps(pid)
    vmas: dict = {}
    frames: set[int] | None = set() if kpf is not None else None
    for name, v in layout.items():
        n, start = v["pages"], v["start"]
        end = start + n * PAGE
        mapped = bytearray(b"\x01") * n
        for lo, hi in v["unmapped"]:
            mapped[lo : hi + 1] = b"\x00" * (hi - lo + 1)
        entries = read_pagemap(pid, start, n)
        pfns = {e & PFN_MASK for i, e in enumerate(entries) if mapped[i] and e & PM_PRESENT} - {0}
        flags = kpf.flags(pfns) if (kpf is not None and pfns) else {}
        have_pfns = kpf is not None and (bool(pfns) or not any(e & PM_PRESENT for e in entries))
        st, ml, hg = [], [], []
        for i, e in enumerate(entries):
            if not mapped[i]:
                s, m, h = "u", "0", "0"
            else:
                f = flags.get(e & PFN_MASK) if have_pfns else None
                s, m, h = classify(e, f, v["share"], v["backing"])
                if frames is not None and f is not None and not f & KPF_ZERO_PAGE:
                    frames.add(e & PFN_MASK)
            st.append(s)
            ml.append(m)
            hg.append(h)
        if not have_pfns:
            frames = None
        rss = anon = locked = 0
        vm_locked = False
        for lo, hi, fields, vmflags in smaps:
            if lo < end and hi > start:
                rss += fields.get("Rss", 0)
                anon += fields.get("Anonymous", 0)
                locked += fields.get("Locked", 0)
                vm_locked = vm_locked or "lo" in vmflags
        vmas[name] = {"pages": "".join(st), "mlocked": "".join(ml), "huge": "".join(hg), "vm_locked": vm_locked,
                      "rss_kb": rss, "anon_kb": anon, "locked_kb": locked}
    return vmas, frames
