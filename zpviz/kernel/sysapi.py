"""Raw Linux memory syscalls through ctypes (x86-64), for the processes that carry out a lesson.

Stdlib only: this module is imported by the supervisor and its forked lesson processes, which must
stay small and single-threaded. Every call returns an errno name (or None) instead of raising, so
the report can say what the syscall returned.
"""

from __future__ import annotations

import ctypes
import errno as _errno
import os
import platform

PAGE = 4096
HPAGE = 2 << 20  # PMD size on x86-64

PROT = {"none": 0, "r": 1, "rw": 3}  # PROT_READ = 1, PROT_WRITE = 2

MAP_SHARED = 0x01
MAP_PRIVATE = 0x02
MAP_FIXED = 0x10
MAP_ANONYMOUS = 0x20
MAP_NORESERVE = 0x4000
MAP_LOCKED = 0x2000
MAP_POPULATE = 0x8000
MAP_FIXED_NOREPLACE = 0x100000
MAP_FAILED = ctypes.c_void_p(-1).value

MADV_DONTNEED = 4
MADV_HUGEPAGE = 14
MADV_NOHUGEPAGE = 15
MADV_POPULATE_READ = 22
MADV_POPULATE_WRITE = 23
ADVICE = {"dontneed": MADV_DONTNEED, "populate_read": MADV_POPULATE_READ, "populate_write": MADV_POPULATE_WRITE}

MLOCK_ONFAULT = 1

# x86-64 syscall numbers (arch/x86/entry/syscalls/syscall_64.tbl)
SYS_MOVE_PAGES = 279
SYS_MLOCK2 = 325
SYS_IO_URING_SETUP = 425
SYS_IO_URING_REGISTER = 427
IORING_REGISTER_BUFFERS = 0
IORING_UNREGISTER_BUFFERS = 1
IORING_MAX_REG_BUFFERS = 1 << 14

PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_CHILD_SUBREAPER = 36

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mmap.restype = ctypes.c_void_p
_libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
for _name in ("munmap", "mlock", "munlock"):
    getattr(_libc, _name).argtypes = [ctypes.c_void_p, ctypes.c_size_t]
for _name in ("mprotect", "madvise"):
    getattr(_libc, _name).argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
_libc.syscall.restype = ctypes.c_long
_libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]


def is_x86_64() -> bool:
    return platform.machine() == "x86_64"


def errname(err: int) -> str:
    return _errno.errorcode.get(err, f"E{err}")


def errname_or_none(err: int) -> str | None:
    """The errno name, or None for 0 (success)."""
    return errname(err) if err else None


# The calls below return 0 or the errno as an int, and allocate no Python object on the way, so a
# caller can count faults around them; errname() turns the number into a name afterwards.


def _check(ret: int) -> int:
    return ctypes.get_errno() if ret == -1 else 0


def mmap(addr: int | None, length: int, prot: int, flags: int, fd: int = -1) -> tuple[int | None, int]:
    ctypes.set_errno(0)
    got = _libc.mmap(addr, length, prot, flags, fd, 0)
    if got is None or got == MAP_FAILED:
        return None, ctypes.get_errno()
    return got, 0


def munmap(addr: int, length: int) -> int:
    return _check(_libc.munmap(addr, length))


def mprotect(addr: int, length: int, prot: int) -> int:
    return _check(_libc.mprotect(addr, length, prot))


def madvise(addr: int, length: int, advice: int) -> int:
    return _check(_libc.madvise(addr, length, advice))


def mlock(addr: int, length: int, onfault: bool = False) -> int:
    if onfault:
        return _check(_libc.syscall(SYS_MLOCK2, ctypes.c_ulong(addr), ctypes.c_size_t(length), MLOCK_ONFAULT))
    return _check(_libc.mlock(addr, length))


def munlock(addr: int, length: int) -> int:
    return _check(_libc.munlock(addr, length))


class MovePages:
    """move_pages(0, n, pages, NULL, status, 0) with its arrays built beforehand."""

    def __init__(self, addrs: list[int]):
        self.n = len(addrs)
        self.pages = (ctypes.c_void_p * self.n)(*addrs)
        self.status = (ctypes.c_int * self.n)(*([-(1 << 30)] * self.n))

    def call(self) -> int:
        return _check(_libc.syscall(SYS_MOVE_PAGES, 0, ctypes.c_ulong(self.n), self.pages, None, self.status, 0))

    def codes(self) -> list[int]:
        """The node of each page, or a negative errno."""
        return list(self.status)


def move_pages_status(addrs: list[int]) -> tuple[list[int] | None, str | None]:
    mp = MovePages(addrs)
    err = mp.call()
    return (None, errname(err)) if err else (mp.codes(), None)


def status_text(code: int) -> str:
    return f"node{code}" if code >= 0 else "-" + errname(-code)


# Own prototypes returning void: ctypes.string_at would hand back the cached one-byte bytes object
# for the value read, and ctypes.memset a fresh int; touching either can fault on an interpreter
# page still shared copy-on-write after fork, inside a counted window (seen: one extra fault).
_memmove = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t)(
    ctypes.cast(_libc.memmove, ctypes.c_void_p).value)
_memset = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t)(
    ctypes.cast(_libc.memset, ctypes.c_void_p).value)
_sink = ctypes.create_string_buffer(64)
_SINK = ctypes.addressof(_sink)


def load(addr: int) -> None:
    """One user-mode one-byte load by the CPU (memmove of one byte into a private buffer)."""
    _memmove(_SINK, addr, 1)


def store(addr: int) -> None:
    """One user-mode one-byte store by the CPU."""
    _memset(addr, 0x5A, 1)


class Rusage(ctypes.Structure):
    """struct rusage on x86-64: two timevals, then 14 longs."""

    _fields_ = [("times", ctypes.c_long * 4)] + [(n, ctypes.c_long) for n in (
        "maxrss", "ixrss", "idrss", "isrss", "minflt", "majflt", "nswap", "inblock", "oublock",
        "msgsnd", "msgrcv", "nsignals", "nvcsw", "nivcsw")]


_libc.getrusage.argtypes = [ctypes.c_int, ctypes.c_void_p]


def rusage_snapshot(ref: int) -> None:
    """getrusage(RUSAGE_SELF) into the Rusage at address `ref`: allocates no Python object."""
    _libc.getrusage(0, ref)


def prctl(option: int, arg: int) -> int:
    return _check(_libc.prctl(option, arg, 0, 0, 0))


class _IoUringParams(ctypes.Structure):
    _fields_ = [("raw", ctypes.c_uint8 * 120)]  # struct io_uring_params; all zero is a valid request


class _Iovec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]


class LongtermPin:
    """Long-term pin of one page at each address, and release, through io_uring fixed buffers.

    IORING_REGISTER_BUFFERS calls pin_user_pages_fast(FOLL_WRITE | FOLL_LONGTERM) on every buffer,
    so this is a *writable* long-term pin; userspace has no read-only long-term pin without RDMA or
    vfio. IORING_UNREGISTER_BUFFERS and closing the ring unpin. The arrays are built beforehand.
    """

    def __init__(self, addrs: list[int]):
        self.params = _IoUringParams()
        self.chunks = []
        for lo in range(0, len(addrs), IORING_MAX_REG_BUFFERS):
            chunk = addrs[lo : lo + IORING_MAX_REG_BUFFERS]
            self.chunks.append(((_Iovec * len(chunk))(*[_Iovec(a, PAGE) for a in chunk]), len(chunk)))

    def call(self) -> int:
        ring = _libc.syscall(SYS_IO_URING_SETUP, 1, ctypes.byref(self.params))
        if ring < 0:
            return ctypes.get_errno()
        try:
            for iov, n in self.chunks:
                err = _check(_libc.syscall(SYS_IO_URING_REGISTER, ring, IORING_REGISTER_BUFFERS, iov, n))
                if err:
                    return err
                _libc.syscall(SYS_IO_URING_REGISTER, ring, IORING_UNREGISTER_BUFFERS, None, 0)
            return 0
        finally:
            os.close(ring)
