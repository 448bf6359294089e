"""An in-memory ASGI server side for unit tests: scripted ``receive()``, recorded ``send()``."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Iterable
from typing import Any

from genro_asgi import WebSocket

CONNECT: dict[str, Any] = {"type": "websocket.connect"}
#: Pass as a ``make_scope()`` keyword value to remove that key from the scope.
DROP: Any = object()


def text(data: str) -> dict[str, Any]:
    return {"type": "websocket.receive", "text": data}


def binary(data: bytes) -> dict[str, Any]:
    return {"type": "websocket.receive", "bytes": data}


def disconnect(code: int | None = 1000, reason: str | None = None) -> dict[str, Any]:
    message: dict[str, Any] = {"type": "websocket.disconnect"}
    if code is not None:
        message["code"] = code
    if reason is not None:
        message["reason"] = reason
    return message


def make_scope(**overrides: Any) -> dict[str, Any]:
    """A websocket scope as uvicorn builds it; keyword arguments replace its keys."""
    scope: dict[str, Any] = {
        "type": "websocket",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "scheme": "ws",
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 50000),
        "root_path": "",
        "path": "/chat",
        "raw_path": b"/chat",
        "query_string": b"room=1",
        "headers": [
            (b"host", b"127.0.0.1:8000"),
            (b"upgrade", b"websocket"),
            (b"sec-websocket-key", b"dGhlIHNhbXBsZSBub25jZQ=="),
        ],
        "subprotocols": [],
        "extensions": {"websocket.http.response": {}},
    }
    scope.update(overrides)
    return {key: value for key, value in scope.items() if value is not DROP}


def asgi(spec_version: str | None) -> dict[str, str]:
    """``scope["asgi"]`` of a server speaking ``spec_version`` (None: a server that omits it)."""
    info = {"version": "3.0"}
    if spec_version is not None:
        info["spec_version"] = spec_version
    return info


class Transport:
    """The server half of a connection.

    ``receive()`` returns the queued messages in order and fails the test (instead of hanging)
    when none is left; ``send()`` records each message, or raises ``send_error`` once it is set.
    """

    def __init__(self, messages: Iterable[dict[str, Any]] = ()) -> None:
        self.inbox: deque[dict[str, Any]] = deque(messages)
        self.sent: list[dict[str, Any]] = []
        self.receive_calls = 0
        self.send_error: BaseException | None = None
        #: When set, ``send()`` waits for this event before recording (to interleave tasks).
        self.send_gate: asyncio.Event | None = None

    def push(self, *messages: dict[str, Any]) -> None:
        self.inbox.extend(messages)

    async def receive(self) -> dict[str, Any]:
        self.receive_calls += 1
        if not self.inbox:
            raise AssertionError("the app called receive() with no message queued")
        return self.inbox.popleft()

    async def send(self, message: dict[str, Any]) -> None:
        if self.send_gate is not None:
            await self.send_gate.wait()
        if self.send_error is not None:
            raise self.send_error
        self.sent.append(message)

    @property
    def sent_types(self) -> list[str]:
        return [message["type"] for message in self.sent]


def connection(*messages: dict[str, Any], **scope: Any) -> tuple[WebSocket, Transport]:
    """A fresh ``WebSocket`` over a ``Transport`` that will deliver ``messages``."""
    transport = Transport(messages)
    return WebSocket(make_scope(**scope), transport.receive, transport.send), transport


async def accepted(*messages: dict[str, Any], **scope: Any) -> tuple[WebSocket, Transport]:
    """A connection already accepted; ``messages`` follow the handshake."""
    ws, transport = connection(CONNECT, *messages, **scope)
    await ws.accept()
    return ws, transport


class WaitingTransport(Transport):
    """``receive()`` waits for ``push()`` instead of failing when nothing is queued."""

    def __init__(self, *messages: dict[str, Any]) -> None:
        super().__init__(messages)
        self.arrived = asyncio.Event()
        self.cancelled = 0
        self.receive_error: BaseException | None = None

    def push(self, *messages: dict[str, Any]) -> None:
        super().push(*messages)
        self.arrived.set()

    async def receive(self) -> dict[str, Any]:
        self.receive_calls += 1
        try:
            while not self.inbox:
                if self.receive_error is not None:
                    raise self.receive_error
                self.arrived.clear()
                await self.arrived.wait()
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        return self.inbox.popleft()
