"""What the end-to-end benchmarks' load generators share: a minimal WebSocket client on asyncio's
Protocol (masked client frames built ahead, server frames parsed in place) and ``/proc`` readings.

The scripts import it as ``from _loadgen import ...``: run as ``python benchmarks/X.py``, this
folder is first on ``sys.path``. Linux only (``/proc``).
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

MASK = os.urandom(4)  # the masking key of every client frame this process builds
_MASK_128 = int.from_bytes(MASK * 32, "big")  # the key over 128 bytes: one XOR per short payload


def handshake(port: int, path: str) -> bytes:
    """The opening request for ``ws://127.0.0.1:{port}{path}``."""
    return (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
        f"Sec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}\r\n\r\n"
    ).encode()


def client_frame(payload: bytes, opcode: int = 1) -> bytes:
    """A masked, final frame from the client (any length; opcode 1 is text)."""
    size = len(payload)
    if size < 126:
        masked = int.from_bytes(payload, "big") ^ (_MASK_128 >> (8 * (128 - size)))
        return bytes((0x80 | opcode, 0x80 | size)) + MASK + masked.to_bytes(size, "big")
    if size < 1 << 16:
        header = bytes((0x80 | opcode, 0x80 | 126)) + size.to_bytes(2, "big")
    else:
        header = bytes((0x80 | opcode, 0x80 | 127)) + size.to_bytes(8, "big")
    mask = (MASK * (size // 4 + 1))[:size]
    masked = (int.from_bytes(payload, "big") ^ int.from_bytes(mask, "big")).to_bytes(size, "big")
    return header + MASK + masked


def close_frame() -> bytes:
    """A masked close frame with code 1000."""
    return client_frame((1000).to_bytes(2, "big"), opcode=8)


class Failed(Exception):
    """Raised by a frame handler to fail its connection (``Connection.fail``) and stop parsing."""


class Connection(asyncio.Protocol):
    """A client connection to ``ws://127.0.0.1:{port}{path}``: writes the handshake, checks the
    101 answer (then calls ``upgraded()``), then parses the server's frames in place as they come,
    calling ``text()`` once per text frame and ``control()`` for any other frame.

    Subclasses set ``opened`` when they count as open (on the 101, or on a first frame).
    """

    def __init__(self, port: int, path: str) -> None:
        self.path = path
        self.request = handshake(port, path)
        self.buffer = bytearray()
        self.open = False  # the server answered 101
        loop = asyncio.get_running_loop()
        self.opened: asyncio.Future[None] = loop.create_future()
        self.lost: asyncio.Future[None] = loop.create_future()
        self.transport: asyncio.Transport | None = None
        self.close_code: int | None = None
        self.close_reason = ""
        self.error = ""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer
        buffer += data
        if not self.open:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            if not buffer.startswith(b"HTTP/1.1 101"):
                self.fail(f"handshake refused: {bytes(buffer[:end])!r}")
                return
            del buffer[: end + 4]
            self.open = True
            self.upgraded()
        now = time.perf_counter()
        position, size = 0, len(buffer)
        try:
            while size - position >= 2:
                opcode, length = buffer[position] & 0x0F, buffer[position + 1] & 0x7F
                start = position + 2
                if length == 126:
                    if size - position < 4:
                        break
                    length, start = int.from_bytes(buffer[start : start + 2], "big"), start + 2
                elif length == 127:
                    if size - position < 10:
                        break
                    length, start = int.from_bytes(buffer[start : start + 8], "big"), start + 8
                if size - start < length:
                    break
                position = start + length
                if opcode == 1:
                    self.text(buffer, start, length, now)
                else:
                    self.control(opcode, bytes(buffer[start:position]))
        except Failed as failure:
            self.fail(str(failure))
            return
        del buffer[:position]

    def upgraded(self) -> None:
        """Called once, when the server has answered 101."""

    def text(self, buffer: bytearray, start: int, length: int, now: float) -> None:
        """A text frame: its payload is ``buffer[start : start + length]``; ``now`` is the
        ``time.perf_counter()`` of its arrival."""
        raise NotImplementedError

    def control(self, opcode: int, body: bytes) -> None:
        """Any other frame: a close is recorded and closes the transport; the rest fail."""
        if opcode != 8:
            raise Failed(f"unexpected frame opcode {opcode}")
        self.close_code = int.from_bytes(body[:2], "big") if len(body) >= 2 else 1005
        self.close_reason = body[2:].decode(errors="replace")
        if self.transport is not None:
            self.transport.close()

    def fail(self, why: str) -> None:
        """Keep the first ``why`` in ``error``, fail ``opened`` if pending, abort the connection."""
        self.error = self.error or why
        if not self.opened.done():
            self.opened.set_exception(AssertionError(why))
        if self.transport is not None:
            self.transport.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.opened.done():
            self.opened.set_exception(AssertionError(f"connection lost before it opened: {exc!r}"))
        if not self.lost.done():
            self.lost.set_result(None)

    def finish(self) -> None:
        """Send a close frame (code 1000) and close the transport."""
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(close_frame())
            self.transport.close()


# -- the load-generator process, CPU pinning, /proc readings ---------------------------------------


def run_load(argv: list[str], cpu: int | None, timeout: float) -> Any:
    """Run a load-generator process (with ``--cpu`` when ``cpu`` is set) and return the JSON of
    its last output line; if it fails, the benchmark ends with its output."""
    if cpu is not None:
        argv = [*argv, "--cpu", str(cpu)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise SystemExit(f"load generator failed:\n{done.stdout}{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def split_cpus() -> tuple[int | None, int | None]:
    """Two CPUs this process may use (servers', load generator's), or Nones with fewer than two."""
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    return (cpus[0], cpus[1]) if len(cpus) >= 2 else (None, None)


def pin(cpu: int | None) -> None:
    """Run this process on CPU ``cpu`` only (None, or no affinity support: leave it)."""
    if cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {cpu})


def cpu_seconds(pid: int) -> float:
    """User + system CPU time used so far by process ``pid``: all its threads, exited ones too."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_bytes(pid: int) -> int:
    """Resident memory of process ``pid`` (``VmRSS``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def percentile(values: list[float], fraction: float) -> float:
    """The value at ``fraction`` (0.5: the median) of ``values`` sorted; NaN when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]
