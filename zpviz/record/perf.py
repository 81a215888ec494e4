"""Page-fault events from perf_event_open: one event per CPU, read from mmapped ring buffers.

As root (or CAP_PERFMON) on x86-64: the tracepoints exceptions:page_fault_user and
exceptions:page_fault_kernel, whose raw record carries the address, the faulting ip and the
error code. An inherited per-task event cannot be mmapped (EINVAL), so each CPU gets its own
pair with inherit=1 (it follows the program's threads and children) and enable_on_exec (it
starts counting when the program execs, not while we set it up). The kernel event writes into
the user event's ring (PERF_EVENT_IOC_SET_OUTPUT); the record's common_type tells them apart.

As an ordinary user: the software event PERF_COUNT_SW_PAGE_FAULTS with exclude_kernel, which
samples the address (PERF_SAMPLE_ADDR) but neither the error code nor kernel-mode faults.
"""

from __future__ import annotations

import errno
import mmap
import os
import struct
from dataclasses import dataclass, field

from . import sysapi as S

TRACEFS = ("/sys/kernel/tracing", "/sys/kernel/debug/tracing")
RING_PAGES = 512  # data pages per CPU (2 MiB): about 29,000 tracepoint records before one is lost
PAGE = mmap.PAGESIZE

# x86 page-fault error code bits (arch/x86/include/asm/trap_pf.h)
PF_PROT, PF_WRITE, PF_USER, PF_RSVD, PF_INSTR = 1, 2, 4, 8, 16


class PerfUnavailable(Exception):
    """Faults cannot be recorded this way; the message says exactly why and what would help."""


def tracefs_root() -> str | None:
    for root in TRACEFS:
        if os.path.exists(os.path.join(root, "events")):
            return root
    return None


def paranoid() -> int:
    try:
        with open("/proc/sys/kernel/perf_event_paranoid") as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return 2


@dataclass(frozen=True)
class Tracepoint:
    name: str
    id: int
    offsets: dict[str, int]  # field -> offset in the raw record


def read_tracepoint(name: str) -> Tracepoint:
    """Id and field offsets of exceptions:NAME, from tracefs."""
    root = tracefs_root()
    if root is None and any(os.path.ismount(r) for r in TRACEFS):
        raise PerfUnavailable("tracefs is mounted but only root can read it: the page-fault tracepoints need "
                              "root (or CAP_PERFMON with access to tracefs)")
    if root is None:
        raise PerfUnavailable(
            "tracefs is not mounted, so the page-fault tracepoints cannot be found. Mount it with\n"
            "    sudo mount -t tracefs nodev /sys/kernel/tracing\n"
            "(zpviz never changes the system's mounts itself), or record as an ordinary user "
            "with fewer details.")
    base = os.path.join(root, "events", "exceptions", name)
    try:
        with open(os.path.join(base, "id")) as f:
            tp_id = int(f.read())
        with open(os.path.join(base, "format")) as f:
            fmt = f.read()
    except FileNotFoundError:
        raise PerfUnavailable(f"{base} does not exist: this kernel has no exceptions:{name} tracepoint "
                              f"(it exists on x86-64 only)") from None
    except PermissionError:
        raise PerfUnavailable(f"{base}: permission denied (the tracepoints need root or CAP_PERFMON)") from None
    offsets: dict[str, int] = {}
    for line in fmt.splitlines():
        line = line.strip()
        if line.startswith("field:"):
            decl, off = line.split(";")[0], line.split("offset:")[1].split(";")[0]
            offsets[decl.split()[-1]] = int(off)
    for want in ("common_type", "address", "ip", "error_code"):
        if want not in offsets:
            raise PerfUnavailable(f"{base}/format has no field {want!r}; this kernel's tracepoint differs")
    return Tracepoint(name, tp_id, offsets)


def online_cpus() -> list[int]:
    try:
        with open("/sys/devices/system/cpu/online") as f:
            text = f.read().strip()
    except OSError:
        return list(range(os.cpu_count() or 1))
    out: list[int] = []
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        out.extend(range(int(lo), int(hi or lo) + 1))
    return out


@dataclass
class Fault:
    time: int
    pid: int
    tid: int
    cpu: int
    addr: int
    ip: int | None
    error: int | None  # x86 error code; None when not observed (software event)
    mode: str  # "u" user, "k" kernel, "?" not observed


@dataclass
class Ring:
    """One CPU's ring buffer and the events writing into it."""

    cpu: int
    fds: list[int]
    buf: mmap.mmap
    size: int  # data bytes

    def drain(self, out: list[bytes]) -> None:
        head = struct.unpack_from("<Q", self.buf, 1024)[0]
        tail = struct.unpack_from("<Q", self.buf, 1032)[0]
        if head == tail:
            return
        lo, hi = tail % self.size, head % self.size
        base = PAGE
        if head - tail >= self.size or hi <= lo:
            out.append(self.buf[base + lo: base + self.size] + self.buf[base: base + hi])
        else:
            out.append(self.buf[base + lo: base + hi])
        struct.pack_into("<Q", self.buf, 1032, head)


@dataclass
class FaultSource:
    """The per-CPU events of one recording, and what they delivered so far."""

    kind: str  # "tracepoints" or "sw-page-faults"
    rings: list[Ring] = field(default_factory=list)
    user_tp: Tracepoint | None = None
    kernel_tp: Tracepoint | None = None
    faults: list[Fault] = field(default_factory=list)
    lost: int = 0  # events the kernel dropped (PERF_RECORD_LOST and LOST_SAMPLES)
    lost_records: int = 0
    throttled: int = 0
    enabled: bool = True

    def fds(self) -> list[int]:
        return [r.fds[0] for r in self.rings]

    def drain(self) -> int:
        """Read every ring; return how many faults arrived."""
        before = len(self.faults)
        for ring in self.rings:
            chunks: list[bytes] = []
            ring.drain(chunks)
            for chunk in chunks:
                self._decode(chunk)
        return len(self.faults) - before

    def disable(self) -> None:
        if self.enabled:
            for ring in self.rings:
                for fd in ring.fds:
                    try:
                        S.ioctl(fd, S.PERF_EVENT_IOC_DISABLE)
                    except OSError:
                        pass
            self.enabled = False

    def counted(self) -> int | None:
        """How many events the kernel counted on all the events (samples delivered, lost or still
        pending): the true total, even where the last PERF_RECORD_LOST was never written."""
        total = 0
        try:
            for ring in self.rings:
                for fd in ring.fds:
                    total += int.from_bytes(os.read(fd, 8), "little")
        except OSError:
            return None
        return total

    def close(self) -> None:
        for ring in self.rings:
            ring.buf.close()
            for fd in ring.fds:
                os.close(fd)
        self.rings = []

    def _decode(self, data: bytes) -> None:
        pos, n = 0, len(data)
        user_id = self.user_tp.id if self.user_tp else -1
        while pos + 8 <= n:
            rtype, _misc, size = struct.unpack_from("<IHH", data, pos)
            if size < 8:
                break  # cannot happen with a sane kernel; do not loop for ever
            if rtype == S.PERF_RECORD_SAMPLE:
                self._sample(data, pos + 8, user_id)
            elif rtype == S.PERF_RECORD_LOST:
                self.lost += struct.unpack_from("<Q", data, pos + 16)[0]
                self.lost_records += 1
            elif rtype == S.PERF_RECORD_LOST_SAMPLES:
                self.lost += struct.unpack_from("<Q", data, pos + 8)[0]
                self.lost_records += 1
            elif rtype == S.PERF_RECORD_THROTTLE:
                self.throttled += 1
            pos += size

    def _sample(self, data: bytes, p: int, user_id: int) -> None:
        if self.kind == "tracepoints":
            pid, tid, time, cpu, _res, rawsize = struct.unpack_from("<IIQIII", data, p)
            raw = p + 28
            tp = self.user_tp
            off = tp.offsets
            common = struct.unpack_from("<H", data, raw + off["common_type"])[0]
            if common != user_id:
                off = self.kernel_tp.offsets
            addr = struct.unpack_from("<Q", data, raw + off["address"])[0]
            ip = struct.unpack_from("<Q", data, raw + off["ip"])[0]
            err = struct.unpack_from("<Q", data, raw + off["error_code"])[0]
            self.faults.append(Fault(time, pid, tid, cpu, addr, ip, err, "u" if common == user_id else "k"))
        else:  # IP | TID | TIME | ADDR | CPU, in that order (the sample layout's order)
            ip, pid, tid, time, addr, cpu, _res = struct.unpack_from("<QIIQQII", data, p)
            self.faults.append(Fault(time, pid, tid, cpu, addr, ip, None, "u"))


def _attr(kind: str, config: int, sample_type: int, extra_flags: int, on_exec: bool = True) -> S.PerfEventAttr:
    """on_exec: counting starts at the program's exec; otherwise (attaching to a running process) at once."""
    a = S.PerfEventAttr()
    a.type = kind
    a.config = config
    a.sample_period = 1
    a.sample_type = sample_type
    start = S.ATTR_DISABLED | S.ATTR_ENABLE_ON_EXEC if on_exec else 0
    a.flags = start | S.ATTR_INHERIT | S.ATTR_WATERMARK | S.ATTR_USE_CLOCKID | extra_flags
    a.wakeup = RING_PAGES * PAGE // 4  # wake a poll() when a quarter of the ring is full
    a.clockid = S.CLOCK_MONOTONIC
    return a


def _ring(fd: int, cpu: int) -> Ring:
    buf = mmap.mmap(fd, (RING_PAGES + 1) * PAGE, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
    return Ring(cpu, [fd], buf, RING_PAGES * PAGE)


def open_tracepoints(pid: int, threads: tuple[int, ...] = ()) -> FaultSource:
    """Both page-fault tracepoints on every CPU for `pid` and its future threads and children.

    threads: attaching to a running process, its existing threads (an inherited event follows
    only the children created after it, so each thread gets its own, writing into the same rings);
    counting then starts at once instead of at exec."""
    user, kern = read_tracepoint("page_fault_user"), read_tracepoint("page_fault_kernel")
    src = FaultSource("tracepoints", user_tp=user, kernel_tp=kern)
    sample = S.PERF_SAMPLE_TID | S.PERF_SAMPLE_TIME | S.PERF_SAMPLE_CPU | S.PERF_SAMPLE_RAW
    on_exec = not threads
    try:
        _open_rings(src, [_attr(S.PERF_TYPE_TRACEPOINT, tp.id, sample, 0, on_exec) for tp in (user, kern)],
                    pid, threads)
    except OSError as e:
        src.close()
        if e.errno in (errno.EACCES, errno.EPERM):
            raise PerfUnavailable(f"the page-fault tracepoints need root or CAP_PERFMON ({e.strerror})") from None
        raise PerfUnavailable(f"cannot open the page-fault tracepoints: {e}") from None
    return src


def _open_rings(src: FaultSource, attrs: list, pid: int, threads: tuple[int, ...]) -> None:
    """One ring buffer per CPU: every event (each attr, for the process or each of its threads) on
    that CPU writes into the ring of the first one opened there (PERF_EVENT_IOC_SET_OUTPUT)."""
    for cpu in online_cpus():
        ring = None
        for tid in threads or (pid,):
            for attr in attrs:
                fd = S.perf_event_open(attr, tid, cpu)
                if ring is None:
                    ring = _ring(fd, cpu)
                    src.rings.append(ring)
                else:
                    ring.fds.append(fd)
                    S.ioctl(fd, S.PERF_EVENT_IOC_SET_OUTPUT, ring.fds[0])


def open_software(pid: int, threads: tuple[int, ...] = ()) -> FaultSource:
    """PERF_COUNT_SW_PAGE_FAULTS with the sampled address, user-mode faults only (perf_event_paranoid <= 2)."""
    src = FaultSource("sw-page-faults")
    sample = S.PERF_SAMPLE_IP | S.PERF_SAMPLE_TID | S.PERF_SAMPLE_TIME | S.PERF_SAMPLE_ADDR | S.PERF_SAMPLE_CPU
    try:
        _open_rings(src, [_attr(S.PERF_TYPE_SOFTWARE, S.PERF_COUNT_SW_PAGE_FAULTS, sample,
                                S.ATTR_EXCLUDE_KERNEL | S.ATTR_EXCLUDE_HV, not threads)], pid, threads)
    except OSError as e:
        src.close()
        level = paranoid()
        if level > 2:
            raise PerfUnavailable(
                f"perf_event_open is refused (kernel.perf_event_paranoid = {level}): nothing can be recorded. "
                "Run zpviz record as root (or with CAP_PERFMON), or allow user-space profiling of your own "
                "programs with\n    sudo sysctl kernel.perf_event_paranoid=2") from None
        raise PerfUnavailable(f"cannot open the software page-fault event: {e}") from None
    return src


def decode_error(err: int | None) -> dict[str, bool | None]:
    """The x86 error code's bits, by name."""
    if err is None:
        return {"write": None, "protection": None, "user": None, "fetch": None}
    return {"write": bool(err & PF_WRITE), "protection": bool(err & PF_PROT), "user": bool(err & PF_USER),
            "fetch": bool(err & PF_INSTR)}
