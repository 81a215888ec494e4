"""What the running kernel lets `zpviz kernel` do here, and which lessons it cannot carry out.

Reads only: /proc, /sys and a one-page probe mapping of this process (never changes a sysfs knob).
"""

from __future__ import annotations

import os
import platform
import resource

from zpviz.kernel import sysapi as k

THP = "/sys/kernel/mm/transparent_hugepage"


def _read(path: str) -> str | None:
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return None


def _bracketed(text: str | None) -> str | None:
    """"always [madvise] never" -> "madvise"."""
    if text is None:
        return None
    for word in text.split():
        if word.startswith("[") and word.endswith("]"):
            return word[1:-1]
    return text


def _nodes(spec: str | None) -> list[int]:
    out: list[int] = []
    for part in (spec or "").split(","):
        if "-" in part:
            lo, hi = part.split("-")
            out += range(int(lo), int(hi) + 1)
        elif part.strip():
            out.append(int(part))
    return out


def _mem_available() -> int | None:
    for line in (_read("/proc/meminfo") or "").splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) * 1024
    return None


def _self_probe() -> dict:
    """Write one private page of our own and look at it: PFN visible? move_pages works?"""
    out = {"pagemap": False, "pagemap_pfns": False, "kpageflags": False, "move_pages": None}
    addr, err = k.mmap(None, k.PAGE, k.PROT["rw"], k.MAP_PRIVATE | k.MAP_ANONYMOUS)
    if err:
        return out
    try:
        k.store(addr)
        try:
            fd = os.open("/proc/self/pagemap", os.O_RDONLY)
            try:
                entry = int.from_bytes(os.pread(fd, 8, addr // k.PAGE * 8), "little")
            finally:
                os.close(fd)
            out["pagemap"] = True
            out["pagemap_pfns"] = bool(entry & ((1 << 55) - 1))
        except OSError:
            pass
        try:
            os.close(os.open("/proc/kpageflags", os.O_RDONLY))
            out["kpageflags"] = True
        except OSError:
            pass
        if k.is_x86_64():
            codes, why = k.move_pages_status([addr])
            out["move_pages"] = "ok" if codes is not None else why
    finally:
        k.munmap(addr, k.PAGE)
    return out


def capabilities() -> dict:
    """Everything the kernel runner depends on, as plain JSON-able values."""
    uname = os.uname()
    soft, hard = resource.getrlimit(resource.RLIMIT_MEMLOCK)
    caps = {
        "linux": uname.sysname == "Linux",
        "machine": platform.machine(),
        "kernel_release": uname.release,
        "kernel_version": uname.version,
        "root": os.geteuid() == 0,
        "thp_enabled": _bracketed(_read(f"{THP}/enabled")),
        "thp_defrag": _bracketed(_read(f"{THP}/defrag")),
        "use_zero_page": None,
        "rlimit_memlock": [None if soft == resource.RLIM_INFINITY else soft,
                           None if hard == resource.RLIM_INFINITY else hard],
        "numa_nodes": _nodes(_read("/sys/devices/system/node/online")),
        "mem_available": _mem_available(),
        "io_uring_disabled": _read("/proc/sys/kernel/io_uring_disabled"),
    }
    uzp = _read(f"{THP}/use_zero_page")
    if uzp is not None:
        caps["use_zero_page"] = uzp == "1"
    caps.update(_self_probe() if caps["linux"] else {"pagemap": False, "pagemap_pfns": False,
                                                     "kpageflags": False, "move_pages": None})
    return caps


def skip_reason(scenario, caps: dict | None = None, cap_bytes: int = 1 << 30) -> str | None:
    """Why this lesson cannot be carried out on the running kernel, or None if it can.

    Differences the runner only notes (no root: page states partly null; a coredump step; a pin
    it can only approximate) are not reasons to skip.
    """
    caps = caps or capabilities()
    if not caps["linux"]:
        return "not running on Linux"
    if caps["machine"] != "x86_64":
        return f"the kernel runner uses x86-64 syscall numbers; this machine is {caps['machine']}"
    if not caps["pagemap"]:
        return "/proc/self/pagemap cannot be read (kernel without CONFIG_PROC_PAGE_MONITOR?)"
    for v in scenario.vmas:
        if v.pages * k.PAGE > cap_bytes:
            return (f"{scenario.path}: vma {v.name!r} is {v.pages * k.PAGE:,} bytes, over the "
                    f"{cap_bytes:,} byte cap for the real kernel")
    if any(v.thp for v in scenario.vmas):
        if caps["thp_enabled"] in (None, "never"):
            return f"the lesson has a thp vma and transparent hugepages are {caps['thp_enabled'] or 'absent'} here"
        if caps["use_zero_page"] is not None and caps["use_zero_page"] != scenario.thp_use_zero_page:
            return (f"the lesson wants thp_use_zero_page = {str(scenario.thp_use_zero_page).lower()}, and "
                    f"{THP}/use_zero_page is {int(caps['use_zero_page'])} here (zpviz never changes it)")
    if any(s.do == "move_pages" for s in scenario.steps) and caps["move_pages"] != "ok":
        return f"move_pages(2) is not available here ({caps['move_pages']}; needs CONFIG_NUMA)"
    return None
