"""The supervisor: a small fresh Python process that owns the lesson processes.

The runner starts it with subprocess (never forking the caller, which may be a multi-threaded GUI or
test process) and talks to it over its stdin/stdout with wire messages. The supervisor forks one
lesson process per lesson process name, forwards ops to them, reads their pages from /proc, and
on `shutdown` (or when its stdin closes) kills and reaps every one of them.

Reaping. The supervisor is a child subreaper (PR_SET_CHILD_SUBREAPER), so a lesson process whose
parent exits is re-parented to it and reaped here; lesson processes ignore SIGCHLD, so their own
fork children are reaped by the kernel. Lesson processes forked by the supervisor die with it
(PR_SET_PDEATHSIG); all of them exit when their socket to the supervisor closes. Kills go through
pidfds, so a recycled PID is never signalled.

Stdlib only, and nothing imported that starts threads: lesson processes are forks of this process.
"""

from __future__ import annotations

import os
import resource
import signal
import socket
import sys
import time

from zpviz.kernel import sysapi as k
from zpviz.kernel.lesson_proc import child_main
from zpviz.kernel.observe import KPageFlags, ObserveError, observe_process
from zpviz.kernel.wire import Channel, ChannelClosed


def _starttime(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return None


class Proc:
    def __init__(self, name: str, pid: int, chan: Channel, direct: bool, layout: dict):
        self.name, self.pid, self.chan, self.direct, self.layout = name, pid, chan, direct, layout
        self.start = _starttime(pid)
        try:
            self.pidfd: int | None = os.pidfd_open(pid)
        except OSError:
            self.pidfd = None
        self.alive = True

    def gone(self) -> bool:
        return _starttime(self.pid) != self.start or self.start is None

    def kill(self) -> None:
        if self.alive and self.pidfd is not None:
            try:
                signal.pidfd_send_signal(self.pidfd, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def close(self) -> None:
        self.alive = False
        self.chan.close()
        if self.pidfd is not None:
            os.close(self.pidfd)
            self.pidfd = None


def _reap_any() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


class Supervisor:
    def __init__(self, chan: Channel, config: dict):
        self.chan = chan
        self.config = config
        self.procs: dict[str, Proc] = {}
        self.kpf: KPageFlags | None = None
        self.kmsg: int | None = None
        self.caps: dict = {}

    # ---- set-up -------------------------------------------------------------------------------

    def setup(self) -> None:
        k.prctl(k.PR_SET_CHILD_SUBREAPER, 1)
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)  # two fds per lesson process
        if soft != resource.RLIM_INFINITY and (hard == resource.RLIM_INFINITY or soft < hard):
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 1 << 16), hard))
        memlock_why = self._raise_memlock(self.config.get("memlock_bytes") or 0)
        drop = self.config.get("drop_to")
        if drop and os.geteuid() == 0:
            os.setgroups([])
            os.setgid(drop[1])
            os.setuid(drop[0])
            k.prctl(k.PR_SET_DUMPABLE, 1)  # a uid change clears it; pagemap/smaps of our children need it
        self.kpf, kpf_why = KPageFlags.open()
        try:
            self.kmsg = os.open("/dev/kmsg", os.O_RDONLY | os.O_NONBLOCK)
            os.lseek(self.kmsg, 0, os.SEEK_END)
            kmsg_why = None
        except OSError as exc:
            kmsg_why = f"/dev/kmsg: {exc.strerror}"
        self.caps = {"euid": os.geteuid(), "kpageflags": self.kpf is not None, "kpageflags_why": kpf_why,
                     "kmsg": self.kmsg is not None, "kmsg_why": kmsg_why,
                     "rlimit_memlock": list(resource.getrlimit(resource.RLIMIT_MEMLOCK)),
                     "memlock_why": memlock_why}

    @staticmethod
    def _raise_memlock(want: int) -> str | None:
        """Raise RLIMIT_MEMLOCK to what the lesson may lock; why not, if it cannot be done.

        Root is not enough: raising the hard limit needs CAP_SYS_RESOURCE (this machine's root lacks
        it). Root's mlock does not need the limit anyway (CAP_IPC_LOCK); it matters once privileges
        are dropped.
        """
        soft, hard = resource.getrlimit(resource.RLIMIT_MEMLOCK)
        if soft == resource.RLIM_INFINITY or soft >= want:
            return None
        try:
            if hard == resource.RLIM_INFINITY or hard >= want:
                resource.setrlimit(resource.RLIMIT_MEMLOCK, (want, hard))
            else:
                resource.setrlimit(resource.RLIMIT_MEMLOCK, (want, want))
            return None
        except (ValueError, OSError):
            return (f"RLIMIT_MEMLOCK stays {soft} bytes (the lesson may lock {want}); raising it needs "
                    "CAP_SYS_RESOURCE")

    def read_kmsg(self) -> list[str]:
        lines: list[str] = []
        while self.kmsg is not None:
            try:
                rec = os.read(self.kmsg, 8192)
            except BlockingIOError:
                break
            except OSError:  # EPIPE: records were overwritten; carry on from the next one
                continue
            if not rec:
                break
            head, _, text = rec.decode(errors="replace").partition(";")
            lines.append(text.split("\n", 1)[0])
        return lines

    # ---- commands -----------------------------------------------------------------------------

    def spawn(self, msg: dict) -> dict:
        name = msg["name"]
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        me = os.getpid()
        pid = os.fork()
        if pid == 0:  # the lesson process
            try:
                keep = theirs.fileno()
                null = os.open(os.devnull, os.O_RDWR)
                os.dup2(null, 0)
                os.dup2(2, 1)
                os.closerange(3, keep)
                os.closerange(keep + 1, 1 << 16)
                k.prctl(k.PR_SET_PDEATHSIG, signal.SIGKILL)
                if os.getppid() != me:
                    os._exit(0)
                child_main(Channel(sock=theirs), self.config, msg["vmas"])
            finally:
                os._exit(70)
        theirs.close()
        proc = Proc(name, pid, Channel(sock=mine), True, {})
        self.procs[name] = proc
        reply = self._recv(proc)
        if "error" in reply:
            self._finish(proc)
            return {"error": f"process {name!r}: {reply['error']}"}
        proc.layout = reply["layout"]
        return {"ok": True, "pid": pid}

    def _recv(self, proc: Proc) -> dict:
        try:
            reply, fds = proc.chan.recv(self.config["timeout"])
        except TimeoutError:
            proc.kill()
            self._finish(proc)
            return {"error": f"no answer within {self.config['timeout']} s (watchdog): the process was killed",
                    "dead": True}
        except (ChannelClosed, OSError):
            self._finish(proc)
            return {"error": "the process died unexpectedly (a fault it should not have taken?)", "dead": True}
        if fds:
            reply["_fds"] = fds
        return reply

    def _finish(self, proc: Proc, timeout: float = 5.0) -> None:
        """Wait until the process has exited and been reaped (its mappings are then torn down)."""
        deadline = time.monotonic() + timeout
        if proc.direct:
            try:
                os.waitpid(proc.pid, 0)
            except ChildProcessError:
                pass
        while not proc.gone() and time.monotonic() < deadline:
            _reap_any()
            time.sleep(0.001)
        proc.close()

    def op(self, msg: dict) -> dict:
        proc = self.procs.get(msg["process"])
        if proc is None or not proc.alive:
            return {"error": f"process {msg['process']!r} does not exist or has exited"}
        proc.chan.send(msg["op"])
        reply = self._recv(proc)
        if "error" in reply and "layout" not in reply:
            return reply
        proc.layout = reply.pop("layout")
        kind = msg["op"]["op"]
        if kind == "fork":
            fd = reply.pop("_fds")[0]
            child = msg["op"]["child"]
            self.procs[child] = Proc(child, reply["pid"], Channel(sock=socket.socket(fileno=fd)), False,
                                     dict(proc.layout))
        elif kind == "exit":
            try:
                proc.chan.recv(self.config["timeout"])  # EOF once exit_files() ran, after exit_mm()
            except (ChannelClosed, TimeoutError, OSError):
                pass
            self._finish(proc)
        _reap_any()
        return reply

    def observe(self, msg: dict) -> dict:
        out: dict = {}
        frames: set[int] | None = set()
        problems: list[str] = []
        for name, proc in self.procs.items():
            if not proc.alive:
                out[name] = {"exited": True, "vmas": {}}
                continue
            try:
                vmas, pfns = observe_process(proc.pid, proc.layout, self.kpf)
            except (ObserveError, OSError) as exc:
                problems.append(f"process {name!r}: {exc}")
                out[name] = {"exited": False, "vmas": None}
                frames = None
                continue
            out[name] = {"exited": False, "vmas": vmas}
            frames = None if (frames is None or pfns is None) else frames | pfns
        return {"processes": out, "frames_used": None if frames is None else len(frames), "problems": problems}

    def shutdown(self, msg: dict | None = None) -> dict:
        live = [p for p in self.procs.values() if p.alive]
        for p in live:
            p.kill()
        left = []
        for p in live:
            self._finish(p)
            if not p.gone():
                left.append(p.pid)
        _reap_any()
        if self.kpf is not None:
            self.kpf.close()
        return {"ok": True, "leftover": left, "pids": [p.pid for p in self.procs.values()]}

    def serve(self) -> None:
        while True:
            try:
                msg, _ = self.chan.recv()
            except (ChannelClosed, OSError):
                self.shutdown()
                return
            cmd = msg.get("cmd")
            try:
                if cmd == "shutdown":
                    self.chan.send(self.shutdown())
                    return
                reply = getattr(self, cmd)(msg)
                if cmd in ("op", "spawn"):
                    reply["kmsg"] = self.read_kmsg()
            except Exception as exc:  # answer, so the runner can say what went wrong
                reply = {"error": f"supervisor: {type(exc).__name__}: {exc}"}
            self.chan.send(reply)


def main() -> None:
    # The protocol owns the original stdin/stdout; anything printed by accident goes to stderr.
    rfd, wfd = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(2, 1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the runner decides what Ctrl-C does
    k.prctl(k.PR_SET_PDEATHSIG, signal.SIGKILL)
    chan = Channel(rfd, wfd)
    msg, _ = chan.recv()
    sup = Supervisor(chan, msg["config"])
    try:
        sup.setup()
    except OSError as exc:
        chan.send({"error": f"supervisor set-up failed: {exc}"})
        sys.exit(1)
    chan.send({"ok": True, "caps": sup.caps})
    sup.serve()


if __name__ == "__main__":
    main()
