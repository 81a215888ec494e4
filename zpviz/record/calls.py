"""The address-space system calls `zpviz record` keeps, and how their arguments read (x86-64).

Numbers from arch/x86/entry/syscalls/syscall_64.tbl; flag values from include/uapi/asm-generic/mman*.h.
"""

from __future__ import annotations

# nr -> (name, how many arguments matter)
CALLS_X86_64: dict[int, tuple[str, int]] = {
    9: ("mmap", 6), 10: ("mprotect", 3), 11: ("munmap", 2), 12: ("brk", 1), 25: ("mremap", 5),
    28: ("madvise", 3), 149: ("mlock", 2), 150: ("munlock", 2), 151: ("mlockall", 1), 152: ("munlockall", 0),
    325: ("mlock2", 3), 56: ("clone", 2), 57: ("fork", 0), 58: ("vfork", 0), 435: ("clone3", 2),
    59: ("execve", 0), 322: ("execveat", 0), 60: ("exit", 1), 231: ("exit_group", 1),
    30: ("shmat", 3), 67: ("shmdt", 1), 440: ("process_madvise", 5),
}

PROT_BITS = {1: "READ", 2: "WRITE", 4: "EXEC"}
MAP_BITS = {0x01: "SHARED", 0x02: "PRIVATE", 0x10: "FIXED", 0x20: "ANONYMOUS", 0x100: "GROWSDOWN",
            0x2000: "LOCKED", 0x4000: "NORESERVE", 0x8000: "POPULATE", 0x10000: "NONBLOCK", 0x20000: "STACK",
            0x40000: "HUGETLB", 0x100000: "FIXED_NOREPLACE"}
MAP_SHARED, MAP_PRIVATE, MAP_ANONYMOUS, MAP_LOCKED, MAP_POPULATE = 0x01, 0x02, 0x20, 0x2000, 0x8000
MADVICE = {0: "NORMAL", 1: "RANDOM", 2: "SEQUENTIAL", 3: "WILLNEED", 4: "DONTNEED", 8: "FREE", 9: "REMOVE",
           10: "DONTFORK", 11: "DOFORK", 12: "MERGEABLE", 13: "UNMERGEABLE", 14: "HUGEPAGE", 15: "NOHUGEPAGE",
           16: "DONTDUMP", 17: "DODUMP", 18: "WIPEONFORK", 19: "KEEPONFORK", 20: "COLD", 21: "PAGEOUT",
           22: "POPULATE_READ", 23: "POPULATE_WRITE", 24: "DONTNEED_LOCKED", 25: "COLLAPSE"}
MCL_BITS = {1: "CURRENT", 2: "FUTURE", 4: "ONFAULT"}
CLONE_VM = 0x100


def bits(value: int, names: dict[int, str], none: str = "0") -> str:
    parts = [n for b, n in names.items() if value & b]
    rest = value & ~sum(names)
    if rest:
        parts.append(hex(rest))
    return "|".join(parts) or none


def describe(name: str, args: list[int]) -> str:
    """The call as strace would print it, flags spelled out (for people reading the recording)."""
    if name == "mmap":
        addr, length, prot, flags, fd, off = args
        return (f"mmap({addr:#x}, {length}, {bits(prot, PROT_BITS, 'NONE')}, {bits(flags, MAP_BITS)}, "
                f"{_int32(fd)}, {off:#x})")
    if name == "mprotect":
        return f"mprotect({args[0]:#x}, {args[1]}, {bits(args[2], PROT_BITS, 'NONE')})"
    if name == "madvise":
        return f"madvise({args[0]:#x}, {args[1]}, MADV_{MADVICE.get(args[2], str(args[2]))})"
    if name == "mlockall":
        return f"mlockall({bits(args[0], MCL_BITS)})"
    if name in ("munmap", "mlock", "munlock"):
        return f"{name}({args[0]:#x}, {args[1]})"
    if name == "mlock2":
        return f"mlock2({args[0]:#x}, {args[1]}, {'MLOCK_ONFAULT' if args[2] & 1 else '0'})"
    if name == "brk":
        return f"brk({args[0]:#x})"
    if name == "mremap":
        return f"mremap({args[0]:#x}, {args[1]}, {args[2]}, {args[3]:#x}, {args[4]:#x})"
    return f"{name}({', '.join(hex(a) for a in args)})"


def _int32(value: int) -> int:
    """An int argument (fd) as the kernel reads it: the low 32 bits, signed."""
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value >= 1 << 31 else value
