"""perf_event_open, ptrace and prctl through ctypes (x86-64 numbers), for `zpviz record`.

Stdlib only. Every wrapper raises OSError with the errno, as the os module does, so callers
can say which call failed and why.
"""

from __future__ import annotations

import ctypes
import os
import platform

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long
_libc.ptrace.restype = ctypes.c_long
_libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p]
_libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
_libc.ioctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong]

SYS_PERF_EVENT_OPEN = {"x86_64": 298, "aarch64": 241}.get(platform.machine(), 298)

# ---------------------------------------------------------------- perf_event_open (include/uapi/linux/perf_event.h)
PERF_TYPE_SOFTWARE = 1
PERF_TYPE_TRACEPOINT = 2
PERF_COUNT_SW_PAGE_FAULTS = 2

PERF_SAMPLE_IP = 1 << 0
PERF_SAMPLE_TID = 1 << 1
PERF_SAMPLE_TIME = 1 << 2
PERF_SAMPLE_ADDR = 1 << 3
PERF_SAMPLE_CPU = 1 << 7
PERF_SAMPLE_RAW = 1 << 10

# bit positions in the attr's flag word
ATTR_DISABLED = 1 << 0
ATTR_INHERIT = 1 << 1
ATTR_EXCLUDE_KERNEL = 1 << 5
ATTR_EXCLUDE_HV = 1 << 6
ATTR_ENABLE_ON_EXEC = 1 << 12
ATTR_WATERMARK = 1 << 14
ATTR_SAMPLE_ID_ALL = 1 << 18
ATTR_USE_CLOCKID = 1 << 25

PERF_FLAG_FD_CLOEXEC = 1 << 3
PERF_EVENT_IOC_ENABLE = 0x2400
PERF_EVENT_IOC_DISABLE = 0x2401
PERF_EVENT_IOC_SET_OUTPUT = 0x2405

PERF_RECORD_LOST = 2
PERF_RECORD_THROTTLE = 5
PERF_RECORD_SAMPLE = 9
PERF_RECORD_LOST_SAMPLES = 13

CLOCK_MONOTONIC = 1


class PerfEventAttr(ctypes.Structure):
    """struct perf_event_attr up to PERF_ATTR_SIZE_VER5 (112 bytes)."""

    _fields_ = [
        ("type", ctypes.c_uint32), ("size", ctypes.c_uint32), ("config", ctypes.c_uint64),
        ("sample_period", ctypes.c_uint64), ("sample_type", ctypes.c_uint64), ("read_format", ctypes.c_uint64),
        ("flags", ctypes.c_uint64), ("wakeup", ctypes.c_uint32), ("bp_type", ctypes.c_uint32),
        ("config1", ctypes.c_uint64), ("config2", ctypes.c_uint64), ("branch_sample_type", ctypes.c_uint64),
        ("sample_regs_user", ctypes.c_uint64), ("sample_stack_user", ctypes.c_uint32), ("clockid", ctypes.c_int32),
        ("sample_regs_intr", ctypes.c_uint64), ("aux_watermark", ctypes.c_uint32),
        ("sample_max_stack", ctypes.c_uint16), ("reserved2", ctypes.c_uint16),
    ]


assert ctypes.sizeof(PerfEventAttr) == 112


def perf_event_open(attr: PerfEventAttr, pid: int, cpu: int, group_fd: int = -1) -> int:
    attr.size = ctypes.sizeof(PerfEventAttr)
    fd = _libc.syscall(SYS_PERF_EVENT_OPEN, ctypes.byref(attr), pid, cpu, group_fd, PERF_FLAG_FD_CLOEXEC)
    if fd < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"perf_event_open: {os.strerror(err)}")
    return fd


def ioctl(fd: int, request: int, arg: int = 0) -> None:
    if _libc.ioctl(fd, request, arg) < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"ioctl({request:#x}): {os.strerror(err)}")


# ---------------------------------------------------------------- ptrace (include/uapi/linux/ptrace.h)
PTRACE_CONT = 7
PTRACE_KILL = 8
PTRACE_DETACH = 17
PTRACE_SYSCALL = 24
PTRACE_SETOPTIONS = 0x4200
PTRACE_GETEVENTMSG = 0x4201
PTRACE_SEIZE = 0x4206
PTRACE_INTERRUPT = 0x4207
PTRACE_LISTEN = 0x4208
PTRACE_GET_SYSCALL_INFO = 0x420E

PTRACE_O_TRACESYSGOOD = 0x1
PTRACE_O_TRACEFORK = 0x2
PTRACE_O_TRACEVFORK = 0x4
PTRACE_O_TRACECLONE = 0x8
PTRACE_O_TRACEEXEC = 0x10
PTRACE_O_TRACEEXIT = 0x40

PTRACE_EVENT_FORK = 1
PTRACE_EVENT_VFORK = 2
PTRACE_EVENT_CLONE = 3
PTRACE_EVENT_EXEC = 4
PTRACE_EVENT_EXIT = 6
PTRACE_EVENT_STOP = 128

PTRACE_SYSCALL_INFO_ENTRY = 1
PTRACE_SYSCALL_INFO_EXIT = 2

WALL = 0x40000000  # __WALL: wait for every thread and clone child, not only ordinary children


def ptrace(request: int, pid: int, addr: int = 0, data: int | ctypes._Pointer | None = 0) -> int:
    ctypes.set_errno(0)
    ret = _libc.ptrace(request, pid, addr, data)
    if ret == -1 and ctypes.get_errno():
        err = ctypes.get_errno()
        raise OSError(err, f"ptrace({request:#x}, {pid}): {os.strerror(err)}")
    return ret


class _Entry(ctypes.Structure):
    _fields_ = [("nr", ctypes.c_uint64), ("args", ctypes.c_uint64 * 6)]


class _Exit(ctypes.Structure):
    _fields_ = [("rval", ctypes.c_int64), ("is_error", ctypes.c_uint8)]


class _Union(ctypes.Union):
    _fields_ = [("entry", _Entry), ("exit", _Exit), ("raw", ctypes.c_uint8 * 64)]


class SyscallInfo(ctypes.Structure):
    """struct ptrace_syscall_info (Linux 5.3+)."""

    _fields_ = [("op", ctypes.c_uint8), ("reserved", ctypes.c_uint8), ("flags", ctypes.c_uint16),
                ("arch", ctypes.c_uint32), ("instruction_pointer", ctypes.c_uint64),
                ("stack_pointer", ctypes.c_uint64), ("u", _Union)]


def syscall_info(tid: int) -> SyscallInfo:
    info = SyscallInfo()
    ptrace(PTRACE_GET_SYSCALL_INFO, tid, ctypes.sizeof(info), ctypes.addressof(info))
    return info


def event_msg(tid: int) -> int:
    msg = ctypes.c_ulong(0)
    ptrace(PTRACE_GETEVENTMSG, tid, 0, ctypes.addressof(msg))
    return msg.value


# ---------------------------------------------------------------- prctl
PR_SET_PDEATHSIG = 1
PR_SET_THP_DISABLE = 41


def prctl(option: int, arg: int) -> None:
    if _libc.prctl(option, arg, 0, 0, 0) < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"prctl({option}): {os.strerror(err)}")


def clock_ns() -> int:
    """CLOCK_MONOTONIC in ns: the clock the perf samples are stamped with (use_clockid)."""
    import time

    return time.clock_gettime_ns(time.CLOCK_MONOTONIC)
