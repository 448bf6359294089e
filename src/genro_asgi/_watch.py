"""Receive-ahead: notice that the client left while the application only sends.

Some servers (hypercorn, daphne, granian) never raise from ``send()`` once the client is gone:
they report it only as a ``websocket.disconnect`` from ``receive()``. An application that only
sends never calls ``receive()``, so it would send into the void forever.

``WebSocket`` counts the sends since its last receive. At the second one in a row (and only
when no receive is in progress) it starts ``ReceiveAhead``: a single task that calls the
server's ``receive()`` once, into a one-message slot, and while it is pending stands in for
that ``receive()`` so that the next ``receive_*`` takes the slot first (nothing is lost or
reordered). If the message is ``websocket.disconnect``, the task marks the connection
DISCONNECTED at once, so the next ``send_*`` raises ``WebSocketDisconnect`` without calling the
server. A data message simply waits in the slot: the client is then known to be alive, and
receiving ahead stops until the application has taken it.

A ``receive_*`` that is cancelled while it waits for the slot leaves the task running, so the
message is still there for the next call. ``close()`` cancels a pending task; a ``receive_*``
that was waiting for it (in another task) then waits on the server's ``receive()`` itself.
The echo hot path (receive, send, receive, ...) never starts a task.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING

from ._dispatch import disconnect_exception
from .exceptions import WebSocketDisconnect
from .types import Message, Receive

if TYPE_CHECKING:
    from .websocket import WebSocket

#: Consecutive sends (without a receive) that start a receive-ahead.
SENDS_BEFORE_WATCH = 2
#: The send counter while a receive is in progress: sends never reach the threshold from here.
RECEIVING = -(1 << 62)


class ReceiveAhead:
    """One pending ``receive()`` on behalf of a ``WebSocket``, with a one-message slot."""

    __slots__ = ("_task", "_ws", "server_receive")

    def __init__(self, ws: WebSocket, server_receive: Receive) -> None:
        self._ws = ws
        self.server_receive = server_receive
        self._task: asyncio.Task[Message | BaseException] = asyncio.get_running_loop().create_task(
            self._run()
        )

    @classmethod
    def start(cls, ws: WebSocket, server_receive: Receive) -> ReceiveAhead | None:
        """Start receiving ahead, or return None outside an asyncio event loop (e.g. trio)."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return None
        return cls(ws, server_receive)

    async def _run(self) -> Message | BaseException:
        try:
            message = await self.server_receive()
        except Exception as exc:  # handed to the next receive_*, as the server raised it
            return exc
        if isinstance(message, dict) and message.get("type") == "websocket.disconnect":
            # TypeError: a malformed disconnect; the next receive_* raises it from the slot.
            with contextlib.suppress(WebSocketDisconnect, TypeError):
                self._ws._lost(disconnect_exception(message))
        return message

    async def receive(self) -> Message:
        """Stand-in for the server's ``receive()``: the slot's message, waiting if needed."""
        if not self._task.done():
            await asyncio.wait((self._task,))  # a cancelled caller leaves the task running
        self._ws._end_watch(self)
        if self._task.cancelled():  # close() stopped it while this caller waited: wait as before
            return await self.server_receive()
        result = self._task.result()
        if isinstance(result, BaseException):
            raise result
        return result

    def cancel(self) -> None:
        """Stop a pending receive (the connection is closing)."""
        self._task.cancel()
