"""The runner's end of the supervisor: start it, ask it things, and always stop it.

The supervisor is started with subprocess as a fresh interpreter (`python -E -s -B -c ...`), never
forked from the caller: the caller may be a GUI or a test process with threads, and a fork of that
would carry its locks and memory into every lesson process.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from zpviz.kernel.wire import Channel, ChannelClosed

_BOOT = "import sys; sys.path.insert(0, sys.argv[1]); from zpviz.kernel.supervisor import main; main()"
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])


class KernelRunError(Exception):
    """The lesson could not be carried out on this kernel; the message says why (no traceback needed)."""


class SupervisorClient:
    def __init__(self, config: dict):
        self.timeout = float(config["timeout"]) + 15.0
        self._stderr = tempfile.TemporaryFile()
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-E", "-s", "-B", "-c", _BOOT, _PACKAGE_ROOT],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr,
                start_new_session=True,  # Ctrl-C in the terminal reaches only the runner
                cwd="/",
            )
        except OSError as exc:
            self._stderr.close()
            raise KernelRunError(f"cannot start the supervisor process: {exc}") from exc
        self.chan = Channel(self.proc.stdout.fileno(), self.proc.stdin.fileno())
        self.pids: set[int] = set()
        try:
            self.caps = self.request({"cmd": "init", "config": config})["caps"]
        except BaseException:
            self.close()
            raise

    def stderr_tail(self) -> str:
        try:
            self._stderr.seek(0)
            return self._stderr.read()[-2000:].decode(errors="replace").strip()
        except (OSError, ValueError):
            return ""

    def request(self, msg: dict) -> dict:
        try:
            self.chan.send(msg)
            reply, _ = self.chan.recv(self.timeout)
        except TimeoutError:
            raise KernelRunError(f"the supervisor did not answer {msg.get('cmd')!r} within {self.timeout:.0f} s "
                                 "(watchdog); the run was stopped") from None
        except (ChannelClosed, OSError) as exc:
            tail = self.stderr_tail()
            raise KernelRunError(f"the supervisor died during {msg.get('cmd')!r}: {exc}"
                                 + (f"\n{tail}" if tail else "")) from None
        if not isinstance(reply, dict):
            raise KernelRunError(f"the supervisor answered {msg.get('cmd')!r} with {reply!r}")
        if "pid" in reply and isinstance(reply["pid"], int):
            self.pids.add(reply["pid"])
        if msg.get("cmd") in ("init", "observe") and "error" in reply:
            raise KernelRunError(reply["error"])
        return reply

    def close(self) -> list[int]:
        """Stop every lesson process and the supervisor; the PIDs still alive afterwards (normally none).

        Asks the supervisor first (it kills through pidfds and reaps); if it does not answer, kills
        the supervisor, whose lesson processes then die too (PR_SET_PDEATHSIG, or EOF on their socket).
        """
        leftover: list[int] = []
        try:
            if self.proc.poll() is None:
                old, self.timeout = self.timeout, 10.0
                try:
                    leftover = self.request({"cmd": "shutdown"}).get("leftover", [])
                finally:
                    self.timeout = old
        except (Exception, KeyboardInterrupt):  # noqa: B036 -- an interrupted read may leave the channel mid-message
            pass
        finally:
            try:
                self.proc.wait(timeout=10)
            except (subprocess.TimeoutExpired, KeyboardInterrupt):
                self.proc.kill()
                self.proc.wait()
            for f in (self.proc.stdin, self.proc.stdout):
                try:
                    f.close()
                except OSError:
                    pass
            self._stderr.close()
        return [p for p in leftover if os.path.exists(f"/proc/{p}")]
