"""A real ``redis-server`` for the tests: its own process, a free 127.0.0.1 port, a temp dir.

No persistence (``--save ''``, ``--appendonly no``), so a restart starts empty, as a Redis that
lost its memory would. Only the process started here is ever stopped or killed.

``scripts/test`` installs Debian's ``redis-server`` and the ``redis`` package and sets
``GENRO_ASGI_REQUIRE_REDIS=1``: there a missing one fails the Redis tests. Elsewhere (a wheel
tested by cibuildwheel on a platform without a Redis) they are skipped, saying why.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pytest

REQUIRED = bool(os.environ.get("GENRO_ASGI_REQUIRE_REDIS"))


def missing(what: str) -> None:
    """Fail (where scripts/test requires Redis) or skip: ``what`` is not installed."""
    message = f"{what} is not installed (scripts/test installs it)."
    if REQUIRED:
        pytest.fail(message)
    pytest.skip(message, allow_module_level=True)


async def until(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    """Wait (bounded in time: network I/O is involved) until ``predicate()`` holds, else fail."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not reached within {timeout} s")
        await asyncio.sleep(0.01)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class RedisServer:
    """One redis-server: ``start()``, ``kill()`` (SIGKILL), ``stop()``, ``restart()``."""

    def __init__(self, port: int | None = None) -> None:
        exe = shutil.which("redis-server")
        if exe is None:
            missing("redis-server (Debian: apt-get install -y redis-server)")
        assert exe is not None
        self.exe = exe
        self.port = port or free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="genro-asgi-redis-"))
        self.logfile = self.dir / "redis.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> None:
        assert self.process is None, "already running"
        options = {
            "port": str(self.port),
            "bind": "127.0.0.1",
            "save": "",
            "appendonly": "no",
            "dir": str(self.dir),
            "logfile": str(self.logfile),
            "daemonize": "no",
        }
        argv = [self.exe]
        for name, value in options.items():
            argv += [f"--{name}", value]
        self.process = subprocess.Popen(
            argv,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                log = self.logfile.read_text() if self.logfile.exists() else ""
                raise RuntimeError(f"redis-server exited at start: {log[-2000:]}")
            if self.ping():
                return
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"redis-server did not answer on port {self.port} in {timeout} s.")

    def ping(self) -> bool:
        try:
            return self.command("PING") == b"+PONG\r\n"
        except OSError:
            return False

    def command(self, *args: str) -> bytes:
        """Send one command (RESP) and return the raw first reply chunk (enough for the tests'
        admin commands: PING, CONFIG SET, INFO's first read, CLIENT KILL)."""
        parts = [f"*{len(args)}\r\n".encode()]
        for arg in args:
            data = arg.encode()
            parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
        with socket.create_connection(("127.0.0.1", self.port), timeout=2) as sock:
            sock.sendall(b"".join(parts))
            reply = sock.recv(65536)
            if reply.startswith(b"$"):  # a bulk string: read it whole
                size = int(reply[1 : reply.index(b"\r\n")])
                want = reply.index(b"\r\n") + 2 + size + 2
                while len(reply) < want:
                    chunk = sock.recv(65536)
                    if not chunk:
                        break
                    reply += chunk
            return reply

    def info(self, section: str) -> dict[str, str]:
        raw = self.command("INFO", section)
        text = raw[raw.index(b"\r\n") + 2 :].decode()
        return dict(
            line.split(":", 1) for line in text.splitlines() if ":" in line and line[0] != "#"
        )

    def kill(self) -> None:
        """SIGKILL: the connections drop with no goodbye, as a crashed Redis."""
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)
            self.process = None

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
            self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def close(self) -> None:
        self.stop()
        with contextlib.suppress(OSError):
            shutil.rmtree(self.dir)
