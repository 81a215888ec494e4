"""One lesson process: maps the lesson's vmas in its own address space and carries out ops on them.

A lesson process is a fork of the supervisor (or, after a `fork` op, of another lesson process). It
reads one JSON command at a time from its socket, does exactly that to its own memory, and answers.

Where the vmas go. Each vma is mapped with MAP_FIXED_NOREPLACE far below mmap_base (from
LAYOUT_BASE up, 2 MiB aligned, with a 2 MiB unmapped gap on each side). The kernel's top-down
allocator takes the highest free gap, so the interpreter's own later mmaps land near mmap_base and
never next to (or merged with) a lesson vma, nor inside a hole a lesson munmap left. That keeps each
vma's /proc/PID/smaps entries its own.

Refused accesses. A user access to a page the kernel refuses raises SIGSEGV, and Python cannot
survive that (no sigsetjmp). So before a read or write step the process reads /proc/self/maps, the
kernel's own record of its vmas and their permissions after every mprotect/munmap, and leaves out
(and reports as SIGSEGV) each page that no vma covers or whose vma lacks the permission; every other
page gets a real one-byte load or store by the CPU. For the prots a lesson can set (none, r, rw) on
anonymous or full-size file mappings, the vma permission decides exactly when the kernel raises
SIGSEGV (no SIGBUS case exists: backing files are sized to the vma). Should an access still fault,
the process dies, and the supervisor reports that process as crashed rather than guessing.

Faults: the difference of getrusage(RUSAGE_SELF) minflt + majflt around the accesses or the
syscall alone. It counts kernel-driven faults too (GUP through /proc/self/mem, mlock, populate),
because the kernel charges a fault to the task that handles it. The interpreter's own faults are
kept out of the window (see _measured and _Faults): after fork(2) every interpreter page is shared
copy-on-write, and without those measures an op showed up to 9 extra faults; with them, none.
"""

from __future__ import annotations

import bisect
import ctypes
import gc
import os
import resource
import shutil
import signal
import socket
import tempfile
import time
import traceback

from zpviz.kernel import corefile
from zpviz.kernel import sysapi as k
from zpviz.kernel.wire import Channel, ChannelClosed

_OPS = frozenset({"access", "mlock", "munlock", "madvise", "mprotect", "munmap", "move_pages", "gup"})
LAYOUT_BASE = 0x3000_0000_0000  # 48 TiB: far below mmap_base, far above the brk heap
GAP = k.HPAGE


class Vma:
    def __init__(self, spec: dict, start: int):
        self.name = spec["name"]
        self.npages = spec["pages"]
        self.share = spec["share"]
        self.backing = spec["backing"]
        self.thp = spec["thp"]
        self.start = start
        self.unmapped: list[list[int]] = []  # [lo, hi] page runs removed by munmap

    def addr(self, page: int) -> int:
        return self.start + page * k.PAGE

    def layout(self) -> dict:
        return {"start": self.start, "pages": self.npages, "share": self.share, "backing": self.backing,
                "thp": self.thp, "unmapped": self.unmapped}


def _maps() -> tuple[list[int], list[tuple[int, int, str, str]]]:
    """This process's vmas from /proc/self/maps: (sorted starts, [(start, end, perms, name)])."""
    rows = []
    with open("/proc/self/maps") as f:
        for line in f:
            parts = line.split(None, 5)
            lo, hi = parts[0].split("-")
            rows.append((int(lo, 16), int(hi, 16), parts[1], parts[5].strip() if len(parts) > 5 else ""))
    return [r[0] for r in rows], rows


def _vma_at(maps: tuple[list[int], list[tuple[int, int, str, str]]], addr: int) -> tuple | None:
    """The /proc/self/maps row covering addr, or None."""
    starts, rows = maps
    i = bisect.bisect_right(starts, addr) - 1
    return rows[i] if i >= 0 and addr < rows[i][1] else None


def _allowed(maps: tuple[list[int], list[tuple[int, int, str, str]]], addr: int, write: bool) -> bool:
    row = _vma_at(maps, addr)
    return row is not None and row[2][1 if write else 0] != "-"


class LessonProcess:
    def __init__(self, chan: Channel, config: dict):
        self.chan = chan
        self.config = config
        self.vmas: dict[str, Vma] = {}
        self._scratch = ctypes.create_string_buffer(k.PAGE)  # private, already faulted: for priming
        self.scratch = ctypes.addressof(self._scratch)

    # ---- set-up -------------------------------------------------------------------------------

    def map_vmas(self, specs: list[dict]) -> str | None:
        """Map every vma; an error message naming the vma if one cannot be mapped."""
        cursor = LAYOUT_BASE
        for spec in specs:
            size = spec["pages"] * k.PAGE
            for _attempt in range(64):
                start = (cursor + GAP + k.HPAGE - 1) & ~(k.HPAGE - 1)
                err = self._map_one(spec, start, size)
                if err != "EEXIST":
                    break
                cursor = start + (1 << 30)
            if err:
                return f"vma {spec['name']!r}: mmap of {size} bytes failed with {err}"
            self.vmas[spec["name"]] = Vma(spec, start)
            cursor = start + size
        return None

    def _map_one(self, spec: dict, start: int, size: int) -> str | None:
        prot = k.PROT[spec["prot"]]
        flags = k.MAP_FIXED_NOREPLACE | (k.MAP_SHARED if spec["share"] == "shared" else k.MAP_PRIVATE)
        # A thp vma must carry MADV_HUGEPAGE before anything is faulted, so MAP_POPULATE and
        # MAP_LOCKED cannot be passed to mmap (it populates before madvise can run): they are done
        # right after the madvise with what mm_populate() itself does (see docstring of runner).
        advice = k.MADV_HUGEPAGE if spec["thp"] else (k.MADV_NOHUGEPAGE if self.config["thp_always"] else None)
        if advice is None:
            flags |= (k.MAP_POPULATE if spec["populate"] else 0) | (k.MAP_LOCKED if spec["locked"] else 0)
        fd = -1
        if spec["backing"] == "file":
            fd, path = tempfile.mkstemp(prefix="zpviz-", dir=self.config["tmpdir"])
            os.unlink(path)
            os.ftruncate(fd, size)
        else:
            flags |= k.MAP_ANONYMOUS
        try:
            got, err = k.mmap(start, size, prot, flags, fd)
        finally:
            if fd >= 0:
                os.close(fd)
        if err:
            return k.errname(err)
        if got != start:  # a kernel that ignores MAP_FIXED_NOREPLACE treats it as a hint
            k.munmap(got, size)
            return "EEXIST"
        if advice is not None:
            err = k.madvise(start, size, advice)
            if not err and spec["locked"]:
                err = k.mlock(start, size)
            elif not err and spec["populate"] and prot:
                private_rw = spec["share"] == "private" and spec["prot"] == "rw"
                err = k.madvise(start, size, k.MADV_POPULATE_WRITE if private_rw else k.MADV_POPULATE_READ)
            if err:
                k.munmap(start, size)
        return k.errname_or_none(err)

    # ---- the command loop ---------------------------------------------------------------------

    def serve(self) -> None:
        while True:
            try:
                msg, _ = self.chan.recv()
            except (ChannelClosed, OSError):
                os._exit(0)  # the supervisor is gone: never outlive it
            signal.alarm(int(self.config["timeout"]) + 1)  # watchdog: SIGALRM's default action kills
            try:
                reply = self.handle(msg)
            except Exception as exc:  # report, never die silently
                reply = {"error": f"{type(exc).__name__}: {exc}"}
            signal.alarm(0)
            if reply is None:  # the fork child: it now serves its own channel
                continue
            fds = reply.pop("_fds", [])
            reply["layout"] = {n: v.layout() for n, v in self.vmas.items()}
            self.chan.send(reply, fds)
            for fd in fds:
                os.close(fd)
            if msg.get("op") == "exit":
                os._exit(0)

    def handle(self, msg: dict) -> dict | None:
        op = msg["op"]
        if op in ("layout", "exit"):
            return {"faults": 0}
        if op == "fork":
            return self.fork(msg)
        if op == "coredump":
            return self.coredump()
        if op == "smaps":  # the kernel walks every vma's page tables to answer; nothing changes
            with open("/proc/self/smaps", "rb") as f:
                f.read()
            return {"faults": 0}
        if op == "sleep":  # only for testing the watchdog
            time.sleep(float(msg["seconds"]))
            return {"faults": 0}
        if op not in _OPS:
            raise ValueError(f"unknown op {op!r}")
        return getattr(self, "op_" + op)(self.vmas[msg["vma"]], msg)

    def fork(self, msg: dict) -> dict | None:
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        f = _Faults()  # bound before measuring: freeing the last one is no fault of the op
        with f:
            pid = os.fork()
        if pid == 0:
            self.chan.close()
            mine.close()
            self.chan = Channel(sock=theirs)
            return None
        theirs.close()
        fd = os.dup(mine.fileno())
        mine.close()
        return {"pid": pid, "faults": f.n, "_fds": [fd]}

    def coredump(self) -> dict:
        """The core file a crash would write, without ending the lesson: a fork of this process
        aborts with SIGABRT and the kernel dumps it. The fork has this process's mappings and page
        states (it shares every page and copies zero-page PTEs as they are), so its core holds,
        over each lesson vma, exactly the pages get_dump_page() returned; the rest are holes.

        Counted per lesson vma: written = its pages with data in the core, holes = its mapped pages
        without. Shared file-backed vmas are left out: this runner's backing files are unlinked,
        and the kernel dumps an unlinked shared file as anonymous shared memory, not as a file."""
        def refused(why: str) -> dict:
            return {"faults": None, "dump": None, "not_carried_out": True,
                    "notes": [f"coredump not carried out: {why}"]}

        with open("/proc/sys/kernel/core_pattern") as f:
            pattern = f.read().strip()
        hard = resource.getrlimit(resource.RLIMIT_CORE)[1]
        problem = corefile.why_no_core_here(pattern, hard)
        if problem:
            return refused(problem)
        with open("/proc/self/status") as f:
            rss_kb = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
        if rss_kb > self.config.get("core_max_kb", 1 << 20):
            return refused(f"the process holds {rss_kb // 1024} MiB; a core file that big is not written")
        if hard != resource.RLIM_INFINITY and hard < 2 * rss_kb * 1024:
            return refused(f"the core-size hard limit ({hard} bytes) could cut the core short")
        fs = os.statvfs(self.config["tmpdir"])
        if fs.f_bavail * fs.f_frsize < 2 * rss_kb * 1024 + (64 << 20):
            return refused(f"{self.config['tmpdir']} has too little free space for a core of up to "
                           f"{rss_kb // 1024} MiB")
        where = tempfile.mkdtemp(prefix="zpviz-core-", dir=self.config["tmpdir"])
        try:
            status = self._dump_a_fork(where, hard)
            names = os.listdir(where)
            if not (os.WIFSIGNALED(status) and os.WCOREDUMP(status)) or len(names) != 1:
                return refused(f"the kernel wrote no core file (fork status {status:#x}, core_pattern {pattern!r})")
            fd = os.open(os.path.join(where, names[0]), os.O_RDONLY)
            try:
                if not corefile.holes_kept(fd):
                    return refused(f"the file system of {self.config['tmpdir']} does not report holes")
                segments = corefile.load_segments(fd)
                written = holes = 0
                dumped = []
                for v in self.vmas.values():
                    if v.backing == "file" and v.share == "shared":
                        continue
                    w, covered = corefile.written_pages(fd, v.start, v.addr(v.npages), segments)
                    written, holes = written + w, holes + covered - w
                    if any(filesz and vaddr < v.addr(v.npages) and v.start < vaddr + memsz
                           for vaddr, memsz, _, filesz in segments):
                        dumped.append(v)
            finally:
                os.close(fd)
        finally:
            shutil.rmtree(where, ignore_errors=True)
        self._dump_faults(dumped)
        notes = ["coredump: a fork of the process aborts and is dumped; the lesson's process goes on. The "
                 "fork write-protects the process's private pages, so a later write to one of them takes a "
                 "fault that would otherwise not happen"]
        if any(v.backing == "file" and v.share == "shared" for v in self.vmas.values()):
            notes.append("coredump: shared file-backed vmas are left out of the counts (the runner's backing "
                         "files are unlinked, and the kernel dumps those as anonymous shared memory)")
        return {"faults": None, "dump": {"written": written, "holes": holes}, "notes": notes}

    @staticmethod
    def _dump_faults(dumped: list[Vma]) -> None:
        """What the dump did to the dumped process's own page tables, done here too: it was the fork
        that was dumped. get_dump_page() (FOLL_DUMP) leaves an anonymous hole alone, but faults a
        shared-memory or file page in, as a read (with fault-around); a forced read through
        /proc/self/mem takes the same fault. Shared file vmas are not dumped (see coredump)."""
        maps = _maps()
        fd = os.open("/proc/self/mem", os.O_RDONLY)
        try:
            for v in dumped:
                if v.backing == "anon" and v.share == "private":
                    continue
                for p in range(v.npages):
                    addr = v.addr(p)
                    if _vma_at(maps, addr) is not None:
                        try:
                            os.pread(fd, 1, addr)
                        except OSError:
                            pass  # get_dump_page() skips such a page too
        finally:
            os.close(fd)

    @staticmethod
    def _dump_a_fork(where: str, core_limit: int) -> int:
        """Fork; the child aborts in `where` with a core-size limit. Returns the child's wait status."""
        old = signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # (ignored, the child would be reaped unseen)
        try:
            pid = os.fork()
            if pid == 0:
                try:
                    os.chdir(where)
                    resource.setrlimit(resource.RLIMIT_CORE, (core_limit, core_limit))
                    fsize = resource.getrlimit(resource.RLIMIT_FSIZE)[1]
                    resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
                    signal.signal(signal.SIGABRT, signal.SIG_DFL)
                    os.kill(os.getpid(), signal.SIGABRT)
                finally:
                    os._exit(71)
            return os.waitpid(pid, 0)[1]
        finally:
            signal.signal(signal.SIGCHLD, old)

    # ---- ops (each gets the vma and the message; returns the reply) ---------------------------
    # Faults are counted around the accesses or the syscall alone (see _measured); everything the
    # interpreter needs for it (address lists, ctypes arrays, /proc/self/maps) is made before.

    def op_access(self, vma: Vma, msg: dict) -> dict:
        write = msg["write"]
        maps = _maps()
        go, refused = [], []
        for p in msg["pages"]:
            addr = vma.addr(p)
            if _allowed(maps, addr, write):
                go.append(addr)
            else:
                refused.append(p)
        touch = k.store if write else k.load

        def run(addrs: list[int]) -> None:
            for addr in addrs:
                touch(addr)

        faults, _ = _measured(run, [self.scratch], go)
        return {"faults": faults, "signal": {"name": "SIGSEGV", "pages": refused} if refused else None}

    def _span_call(self, vma: Vma, msg: dict, call, *args) -> dict:
        addr, length = vma.addr(msg["lo"]), (msg["hi"] - msg["lo"] + 1) * k.PAGE
        # a zero-length call primes the same path and does nothing (munmap: EINVAL, harmless)
        faults, err = _measured(lambda size: call(addr, size, *args), 0, length)
        return {"faults": faults, "errno": k.errname_or_none(err)}

    def op_mlock(self, vma: Vma, msg: dict) -> dict:
        return self._span_call(vma, msg, k.mlock, bool(msg.get("onfault")))

    def op_munlock(self, vma: Vma, msg: dict) -> dict:
        return self._span_call(vma, msg, k.munlock)

    def op_madvise(self, vma: Vma, msg: dict) -> dict:
        return self._span_call(vma, msg, k.madvise, k.ADVICE[msg["advice"]])

    def op_mprotect(self, vma: Vma, msg: dict) -> dict:
        return self._span_call(vma, msg, k.mprotect, k.PROT[msg["prot"]])

    def op_munmap(self, vma: Vma, msg: dict) -> dict:
        reply = self._span_call(vma, msg, k.munmap)
        if not reply["errno"]:
            vma.unmapped.append([msg["lo"], msg["hi"]])
        return reply

    def op_move_pages(self, vma: Vma, msg: dict) -> dict:
        real = k.MovePages([vma.addr(p) for p in msg["pages"]])
        faults, err = _measured(k.MovePages.call, k.MovePages([self.scratch]), real)
        status = None if err else [k.status_text(c) for c in real.codes()]
        return {"faults": faults, "errno": k.errname_or_none(err), "status": status}

    def op_gup(self, vma: Vma, msg: dict) -> dict:
        write, pages, notes = msg["write"], msg["pages"], []
        maps = _maps()
        if msg.get("pin") and msg.get("longterm"):
            if write or all(_allowed(maps, vma.addr(p), True) for p in pages):
                if not write:
                    notes.append("a read-only long-term pin was carried out as a writable one (io_uring fixed "
                                 "buffers pin with FOLL_WRITE|FOLL_LONGTERM); on a private mapping both leave a "
                                 "fresh exclusive anonymous page where a zero or page-cache page was")
                real = k.LongtermPin([vma.addr(p) for p in pages])
                faults, err = _measured(k.LongtermPin.call, k.LongtermPin([self.scratch]), real)
                return {"faults": faults, "errno": k.errname_or_none(err), "notes": notes}
            return {"faults": 0, "errno": None, "not_carried_out": True,
                    "notes": ["a read-only long-term pin of a page the process cannot write needs RDMA or vfio; "
                              "userspace cannot do it: not carried out"]}
        if msg.get("pin"):
            notes.append("FOLL_PIN cannot be requested from userspace: done as a forced GUP through "
                         "/proc/self/mem, which faults pages in the same way")
        if not msg.get("force"):
            notes.append("GUP without force: a page whose vma forbids the access fails with EFAULT (decided "
                         "from /proc/self/maps; /proc/PID/mem always forces)")
        go, refused = [], []
        for p in pages:
            ok = msg.get("force") or _allowed(maps, vma.addr(p), write)
            (go if ok else refused).append(p)
        failed: list[tuple[int, str]] = []
        data = b"\x5a"
        fd = os.open("/proc/self/mem", os.O_RDWR)

        def run(addrs: list[int]) -> None:
            failed.clear()
            for addr in addrs:
                try:
                    if write:
                        os.pwrite(fd, data, addr)
                    else:
                        os.pread(fd, 1, addr)
                except OSError as exc:
                    failed.append((addr, exc.errno))

        try:
            # priming reads the scratch page and address 0, so the error path is primed too
            faults, _ = _measured(run, [self.scratch, 0], [vma.addr(p) for p in go])
        finally:
            os.close(fd)
        err = "EFAULT" if refused else (k.errname(failed[0][1]) if failed else None)
        if failed:
            shown = [(a - vma.start) // k.PAGE for a, _ in failed]
            notes.append(f"GUP through /proc/PID/mem failed on pages {shown[:16]}{' ...' if len(shown) > 16 else ''}"
                         " (it returns EIO where get_user_pages fails with EFAULT)")
        return {"faults": faults, "errno": err, "notes": notes}


def _measured(run, prime, real) -> tuple[int, object]:
    """(faults, result) of run(real), after run(prime) twice, each in its own _Faults window.

    `prime` is a target that cannot fault. The priming passes take, outside the counted window,
    the faults the interpreter itself takes the first times it goes down a code path: after
    fork(2) all its pages are write-protected, and merely counting a reference to a function
    object then faults. Measured here: one priming pass still left one extra fault now and then
    (lazily initialised interpreter state); two leave none.
    """
    result = None
    for _small_int in range(-5, 257):  # CPython's static small ints: a syscall's errno is one
        pass
    for target in (prime, prime, real):
        f = _Faults()  # bound outside the window: freeing the last one is no fault of the op
        with f:
            result = run(target)
    return f.n, result


class _Faults:
    """Counts this process's page faults (minor + major) inside a with-block.

    The counts are snapshots by getrusage(2) into ctypes structs made beforehand: a Python-level
    getrusage builds its result object after the syscall, and that allocation would land inside
    the window (measured: now and then one extra fault).

    Measured windows are primed first (see _measured); the cyclic GC is off in lesson processes.
    """

    __slots__ = ("n",)
    _before = k.Rusage()
    _after = k.Rusage()
    _before_ref = ctypes.addressof(_before)
    _after_ref = ctypes.addressof(_after)

    def __enter__(self) -> _Faults:
        k.rusage_snapshot(self._before_ref)
        return self

    def __exit__(self, *exc: object) -> None:
        k.rusage_snapshot(self._after_ref)
        a, b = self._after, self._before
        self.n = a.minflt + a.majflt - b.minflt - b.majflt


def _warm_up() -> None:
    """Run the measured code paths once on the interpreter's own memory, so lazy set-up inside
    ctypes and getrusage is not counted as a fault of the first lesson op."""
    buf = ctypes.create_string_buffer(k.PAGE)
    for touch in (k.load, k.store):
        with _Faults():
            for addr in [ctypes.addressof(buf)]:
                touch(addr)


def child_main(chan: Channel, config: dict, specs: list[dict]) -> None:
    """Entry point in a freshly forked lesson process (never returns)."""
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # lesson forks reap themselves: no zombies
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the runner's to handle
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
        # a crash must not write a core file (the hard limit stays: a coredump step raises the soft one)
        resource.setrlimit(resource.RLIMIT_CORE, (0, resource.getrlimit(resource.RLIMIT_CORE)[1]))
        gc.disable()  # a collection inside a measured window writes to every object: COW faults
        proc = LessonProcess(chan, config)
        err = proc.map_vmas(specs)
        _warm_up()
        with open("/proc/self/status") as f:
            vmsize = next(int(line.split()[1]) for line in f if line.startswith("VmSize:")) * 1024
        limit = vmsize + config["as_slack"]
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        chan.send({"error": err} if err else {"ok": True, "layout": {n: v.layout() for n, v in proc.vmas.items()}})
        if err:
            os._exit(1)
        proc.serve()
    except BaseException:  # noqa: B036 -- a forked child must never unwind into the supervisor's code
        traceback.print_exc()  # to the supervisor's stderr, which the runner quotes in its error
        os._exit(70)
    os._exit(0)
