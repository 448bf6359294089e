"""Start and stop real ASGI servers on a free 127.0.0.1 port, each in its own process group.

``ServerProcess.start()`` returns once the port accepts TCP connections (bounded wait);
``stop()`` sends SIGTERM to the whole group, then SIGKILL after a grace period, and waits until
no process of the group is left (hypercorn leaves a multiprocessing resource-tracker child).
Only the group this module created is ever signalled.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

HOST = "127.0.0.1"
START_TIMEOUT = 30.0
STOP_GRACE = 5.0

_PY = sys.executable

#: How to run ``module:attribute`` under each server: an argv template ({app}, {port}).
COMMANDS: dict[str, tuple[str, ...]] = {
    "uvicorn-websockets-sansio": (
        _PY, "-m", "uvicorn", "{app}", "--host", HOST, "--port", "{port}",
        "--ws", "websockets-sansio", "--lifespan", "off", "--log-level", "warning",
    ),
    "uvicorn-wsproto": (
        _PY, "-m", "uvicorn", "{app}", "--host", HOST, "--port", "{port}",
        "--ws", "wsproto", "--lifespan", "off", "--log-level", "warning",
    ),
    "uvicorn-websockets": (
        _PY, "-m", "uvicorn", "{app}", "--host", HOST, "--port", "{port}",
        "--ws", "websockets", "--lifespan", "off", "--log-level", "warning",
    ),
    "hypercorn": (
        _PY, "-m", "hypercorn", "--bind", f"{HOST}:{{port}}", "--log-level", "warning", "{app}",
    ),
    "daphne": (_PY, "-m", "daphne", "-b", HOST, "-p", "{port}", "-v", "0", "{app}"),
    "granian": (
        _PY, "-m", "granian", "--interface", "asgi", "--host", HOST, "--port", "{port}",
        "--log-level", "warning", "{app}",
    ),
}  # fmt: skip


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=0.5):
            return True
    except OSError:
        return False


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - a reused id owned by someone else
        return False
    return True


class ServerProcess:
    """One server process (and its children) serving ``app`` on ``127.0.0.1:port``."""

    def __init__(
        self,
        name: str,
        app: str,
        *,
        app_dir: Path,
        log_path: Path,
        env: Mapping[str, str] | None = None,
        command: Sequence[str] | None = None,
    ) -> None:
        self.name = name
        self.app = app
        self.app_dir = app_dir
        self.log_path = log_path
        self.env = dict(env or {})
        self.command = tuple(command or COMMANDS[name])
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        """The server's main process id (the group leader)."""
        assert self.process is not None, "the server is not running"
        return self.process.pid

    @property
    def url(self) -> str:
        return f"ws://{HOST}:{self.port}"

    def start(self, attempts: int = 3) -> ServerProcess:
        """Start the server and wait until its port accepts connections.

        The port is picked free just before the start; if the server exits instead of listening
        (another process took the port meanwhile), it is started again on another port
        (``attempts`` in all).
        """
        for attempt in range(1, attempts + 1):
            if self._start_once():
                return self
            if attempt == attempts:
                raise RuntimeError(
                    f"{self.name} did not start listening on port {self.port}: "
                    f"see {self.log_path}:\n{self.log()}"
                )
        raise AssertionError("unreachable")  # pragma: no cover

    def _start_once(self) -> bool:
        self.port = free_port()
        argv = [part.format(app=self.app, port=self.port) for part in self.command]
        env = {**os.environ, **self.env}
        paths = [str(self.app_dir), env.get("PYTHONPATH", "")]
        env["PYTHONPATH"] = os.pathsep.join(filter(None, paths))
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                argv,
                cwd=self.app_dir,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: stop() kills exactly that
            )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline and self.process.poll() is None:
            if _accepts(self.port):
                time.sleep(0.2)  # and still running (a failed bind makes the server exit)
                if self.process.poll() is None:
                    return True
                break
            time.sleep(0.05)
        self.stop()
        return False

    def log(self) -> str:
        """The server's output so far (its last 4000 characters)."""
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def stop(self) -> None:
        """SIGTERM the process group, SIGKILL it after a grace period, reap the leader."""
        process, self.process = self.process, None
        if process is None:
            return
        pgid = process.pid  # start_new_session: the leader's pid is the group id
        for sig, grace in ((signal.SIGTERM, STOP_GRACE), (signal.SIGKILL, STOP_GRACE)):
            if not _group_alive(pgid):
                break
            try:
                os.killpg(pgid, sig)
            except ProcessLookupError:
                break
            deadline = time.monotonic() + grace
            while time.monotonic() < deadline:
                process.poll()
                if not _group_alive(pgid):
                    break
                time.sleep(0.05)
        process.wait(timeout=STOP_GRACE)
        if _group_alive(pgid):
            raise RuntimeError(f"{self.name}: processes of group {pgid} survived SIGKILL")

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class Client:
    """Opens connections to one server's routes, each with a fresh report id."""

    def __init__(self, server: ServerProcess, reports: Path) -> None:
        self.server = server
        self.reports = reports

    def url(self, path: str, report_id: str, query: str = "") -> str:
        return f"{self.server.url}{path}?id={report_id}{'&' if query else ''}{query}"

    @asynccontextmanager
    async def connect(
        self, path: str, report_id: str = "", query: str = "", **options: Any
    ) -> AsyncIterator[ClientConnection]:
        """A ``websockets`` connection to ``path?id=<report_id>&<query>``."""
        options = {"open_timeout": 10, "close_timeout": 5, "max_size": None, "proxy": None,
                   "compression": None, "ping_interval": None, **options}  # fmt: skip
        async with connect(self.url(path, report_id or new_id(), query), **options) as ws:
            yield ws

    async def report(self, report_id: str, timeout: float = 10.0) -> dict[str, Any]:
        """The app's report for ``report_id``; fails the test if it does not come in time."""
        path = self.reports / f"{report_id}.json"
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not path.exists():
            if loop.time() > deadline:
                log = self.server.log()
                raise AssertionError(f"no report {report_id} from the app in {timeout}s:\n{log}")
            await asyncio.sleep(0.02)
        data: dict[str, Any] = json.loads(path.read_text())
        return data


def new_id() -> str:
    return uuid.uuid4().hex
