"""An in-memory server side for hub tests: ``receive()`` waits, ``send()`` can yield or stall.

``tests/transport.py``'s ``Transport`` fails when the application receives with nothing queued;
a hub member's handler sits in ``receive()`` for its whole life, so this peer's ``receive()``
waits on a queue the test feeds. ``send()`` records each message, yields once to the event loop
(as a real server's ``send()`` does when it writes), can stall data frames until ``release`` is
set (a client that stops reading), raises ``error`` once it is set, and records how many sends
were in flight at once.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from genro_asgi import WebSocket
from genro_asgi.hub import Hub, Member

from .transport import CONNECT, asgi, make_scope


class Peer:
    """The server half of one connection."""

    #: Whether ``send()`` yields to the event loop unless told otherwise: the hub tests run
    #: both ways (a server whose ``send()`` writes without suspending, as uvicorn's does
    #: while the socket takes the data, and one that always suspends once).
    yields_by_default = True

    def __init__(self, *, keep: bool = True, yields: bool | None = None) -> None:
        self.inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.inbox.put_nowait(CONNECT)
        self.sent: list[dict[str, Any]] = []
        self.count = 0  # data frames sent (also when not kept)
        self.keep = keep
        self.yields = Peer.yields_by_default if yields is None else yields
        self.stalled = False  # data frames wait for ``release``
        self.stall_close = False  # so does websocket.close
        self.release = asyncio.Event()
        self.error: BaseException | None = None
        self.in_flight = 0
        self.max_in_flight = 0
        self.receive_calls = 0

    async def receive(self) -> dict[str, Any]:
        self.receive_calls += 1
        return await self.inbox.get()

    async def send(self, message: dict[str, Any]) -> None:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if (self.stalled and message["type"] == "websocket.send") or (
                self.stall_close and message["type"] == "websocket.close"
            ):
                await self.release.wait()
            elif self.yields:
                await asyncio.sleep(0)
            if self.error is not None:
                raise self.error
            if message["type"] == "websocket.send":
                self.count += 1
            if self.keep or message["type"] != "websocket.send":
                self.sent.append(message)
        finally:
            self.in_flight -= 1

    def disconnect(self, code: int = 1000, reason: str = "") -> None:
        self.inbox.put_nowait({"type": "websocket.disconnect", "code": code, "reason": reason})

    @property
    def data(self) -> list[dict[str, Any]]:
        """The ``websocket.send`` messages, as the server got them."""
        return [m for m in self.sent if m["type"] == "websocket.send"]

    @property
    def texts(self) -> list[str]:
        return [m["text"] for m in self.sent if m["type"] == "websocket.send" and "text" in m]

    @property
    def frames(self) -> list[str | bytes]:
        return [
            m["text"] if m.get("text") is not None else m["bytes"]
            for m in self.sent
            if m["type"] == "websocket.send"
        ]

    @property
    def closes(self) -> list[dict[str, Any]]:
        return [m for m in self.sent if m["type"] == "websocket.close"]


async def accepted(peer: Peer, spec: str | None = "2.4") -> WebSocket:
    ws = WebSocket(make_scope(asgi=asgi(spec)), peer.receive, peer.send)
    await ws.accept()
    return ws


@contextlib.asynccontextmanager
async def member_of(
    hub: Hub, *topics: str, peer: Peer | None = None, spec: str | None = "2.4", **attach: Any
) -> AsyncIterator[tuple[Member, Peer]]:
    """An accepted connection over ``peer``, attached to ``hub``, member of ``topics``."""
    peer = Peer() if peer is None else peer
    ws = await accepted(peer, spec)
    async with hub.attach(ws, **attach) as member:
        for topic in topics:
            await member.join(topic)
        yield member, peer


async def settle(steps: int = 200) -> None:
    """Let the event loop run the writers (a bounded number of iterations)."""
    for _ in range(steps):
        await asyncio.sleep(0)


async def until(condition: Any, steps: int = 20000) -> None:
    """Run the loop until ``condition()`` holds; fail after ``steps`` iterations."""
    for _ in range(steps):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError(f"condition not reached after {steps} loop iterations")
