"""Length-prefixed JSON messages between the runner, the supervisor and the lesson processes.

Only JSON crosses a process boundary (never pickle): a 4-byte little-endian length, then UTF-8 JSON.
Over a Unix socket a message may carry file descriptors (SCM_RIGHTS): a lesson process that forks
hands the supervisor its new child's end of a fresh socket pair this way.
"""

from __future__ import annotations

import json
import os
import select
import socket
import struct
import time

MAX_MESSAGE = 64 << 20
_HEADER = struct.Struct("<I")


class ChannelClosed(EOFError):
    """The other end went away (exited, crashed or was killed)."""


def encode(obj: object) -> bytes:
    data = json.dumps(obj, separators=(",", ":")).encode()
    return _HEADER.pack(len(data)) + data


def _wait_readable(fd: int, deadline: float | None) -> None:
    while True:
        left = None if deadline is None else deadline - time.monotonic()
        if left is not None and left <= 0:
            raise TimeoutError
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            return


class Channel:
    """One end of a message channel over a pair of pipe fds or one stream socket."""

    def __init__(self, rfd: int | None = None, wfd: int | None = None, sock: socket.socket | None = None):
        self.sock = sock
        self.rfd = sock.fileno() if sock is not None else rfd
        self.wfd = sock.fileno() if sock is not None else wfd
        self._buf = b""

    def fileno(self) -> int:
        return self.rfd

    def send(self, obj: object, fds: list[int] = ()) -> None:
        data = encode(obj)
        if self.sock is not None:
            sent = socket.send_fds(self.sock, [data], list(fds)) if fds else 0
            self.sock.sendall(data[sent:])
            return
        view = memoryview(data)
        while view:
            n = os.write(self.wfd, view)
            view = view[n:]

    def _read_some(self, deadline: float | None, fds: list[int]) -> None:
        _wait_readable(self.rfd, deadline)
        if self.sock is not None:
            chunk, got, _flags, _addr = socket.recv_fds(self.sock, 1 << 16, 4)
            fds.extend(got)
        else:
            chunk = os.read(self.rfd, 1 << 16)
        if not chunk:
            raise ChannelClosed("the other end closed the channel")
        self._buf += chunk

    def recv(self, timeout: float | None = None) -> tuple[object, list[int]]:
        """The next message and any file descriptors that came with it."""
        deadline = None if timeout is None else time.monotonic() + timeout
        fds: list[int] = []
        while len(self._buf) < _HEADER.size:
            self._read_some(deadline, fds)
        (size,) = _HEADER.unpack_from(self._buf)
        if size > MAX_MESSAGE:
            raise ChannelClosed(f"message of {size} bytes is over the {MAX_MESSAGE} byte limit")
        while len(self._buf) < _HEADER.size + size:
            self._read_some(deadline, fds)
        data = self._buf[_HEADER.size : _HEADER.size + size]
        self._buf = self._buf[_HEADER.size + size :]
        return json.loads(data), fds

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
        else:
            for fd in {self.rfd, self.wfd}:
                if fd is not None:
                    try:
                        os.close(fd)
                    except OSError:
                        pass
