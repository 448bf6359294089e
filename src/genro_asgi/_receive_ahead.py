"""Receive-ahead: notice that the client left while the application only sends.

Some servers (hypercorn, daphne, granian) never raise from ``send()`` once the client is gone:
they report it only as a ``websocket.disconnect`` from ``receive()``. An application that only
sends never calls ``receive()``, so it would send into the void forever. ASGI spec 2.4 servers
(uvicorn) must raise ``OSError`` there, so ``WebSocket`` uses receive-ahead only on servers
that do not declare 2.4 (``ServerCapabilities.send_raises``); on those, its ``send_*`` and
``receive_*`` go through a ``ReceiveAhead``, and the fast path of 2.4 servers never does.

``ReceiveAhead`` counts the sends since the last receive. At the second one in a row (and only
when no receive is in progress) it starts one task that calls the server's ``receive()`` once,
into a one-message slot; the next ``receive()`` takes the slot first, so nothing is lost or
reordered. If the message is ``websocket.disconnect``, the task reports it at once through the
``on_disconnect`` callback it was created with, so the connection becomes DISCONNECTED and the
next ``send_*`` raises ``WebSocketDisconnect`` without calling the server. A data message simply
waits in the slot: the client is then known to be alive, and receiving ahead stops until the
application has taken it.

A send is counted once the server's ``send()`` has returned: a task started while a send is
still in the server would keep a ``receive()`` pending there (granian then never closes the
connection when the application returns). A ``receive()`` that is cancelled while it waits for
the slot leaves the task running, so the message is still there for the next call.
``cancel()`` (the connection is closing) stops a pending task; a ``receive()`` that was waiting
for it (in another task) then waits on the server's ``receive()`` itself. Outside an asyncio
event loop (trio) no task is started. The echo pattern (receive, send, receive, ...) never
starts one.

If the client sends data the application never reads, the slot stays full and a later
disconnect is seen only when the application receives.

The same slot makes ``receive_*(timeout=...)`` lose nothing: a timed receive runs the server's
``receive()`` in the slot's task, and when the time is up it raises ``TimeoutError`` and leaves
the task pending, so the message it brings is the next receive's (no server has to be safe
against a cancelled ``receive()``). On a server that raises from ``send()`` (2.4), a
``ReceiveAhead`` made for a timed receive holds the slot only (``count_sends=False``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from ._dispatch import disconnect_exception
from .types import Message, Receive

#: Consecutive sends (without a receive) that start receiving ahead.
SENDS_BEFORE_RECEIVING_AHEAD = 2
#: The send counter while a receive is in progress: sends never reach the threshold from here.
_RECEIVING = -(1 << 62)


class ReceiveAhead:
    """The server's ``receive()`` for one connection, with a one-message slot filled ahead.

    ``on_disconnect(code, reason)`` is called when a message received ahead is a well-formed
    ``websocket.disconnect`` (a malformed one is left in the slot, so the next ``receive()``
    returns it and the caller's dispatch raises for it).
    """

    __slots__ = (
        "_ended",
        "_on_disconnect",
        "_sends",
        "_task",
        "counting",
        "server_receive",
        "wakeable",
    )

    def __init__(
        self,
        server_receive: Receive,
        on_disconnect: Callable[[int, str], None],
        *,
        count_sends: bool = True,
    ) -> None:
        self.server_receive = server_receive
        self._on_disconnect = on_disconnect
        #: Sends are counted towards receiving ahead (False: the slot is for timed or
        #: wakeable receives only).
        self.counting = count_sends
        self._sends = 0
        #: Every receive runs in the slot's task, so ``end()`` can wake one pending in the
        #: server (the hub sets it for its members).
        self.wakeable = False
        self._ended: tuple[int, str] | None = None
        self._task: asyncio.Task[Message | BaseException] | None = None

    @property
    def pending(self) -> bool:
        """A ``receive()`` of the server's is running or its message waits in the slot."""
        return self._task is not None

    async def receive(self, timeout: float | None = None) -> Message:
        """The next message: the slot's when a task received ahead, else the server's.

        Raises:
            TimeoutError: ``timeout`` seconds passed first; the receive stays in the slot.
        """
        self._sends = _RECEIVING
        try:
            task = self._task
            if task is None:
                if timeout is None and not self.wakeable:
                    return await self.server_receive()
                task = self._task = asyncio.get_running_loop().create_task(self._run())
            if not task.done():
                # A cancelled caller (or one that times out) leaves the task running.
                await asyncio.wait((task,), timeout=timeout)
                if not task.done():
                    raise TimeoutError(f"No message arrived within {timeout} s.")
            if self._task is task:
                self._task = None  # the slot is taken
            if task.cancelled():  # cancel() stopped it while this caller waited
                if self._ended is not None:  # end(): the connection is over, say so
                    code, reason = self._ended
                    return {"type": "websocket.disconnect", "code": code, "reason": reason}
                return await self.server_receive()  # close(): wait on the server as before
            result = task.result()
            if isinstance(result, BaseException):
                raise result
            return result
        finally:
            self._sends = 0

    def sent(self) -> None:
        """Count a send the server's ``send()`` completed, on an open connection (the owner
        calls it only then); the second in a row without a receive starts receiving ahead."""
        if not self.counting:
            return
        self._sends += 1
        if self._sends == SENDS_BEFORE_RECEIVING_AHEAD and self._task is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # not asyncio (trio): no task, sends are not watched
                return
            self._task = loop.create_task(self._run())

    def end(self, code: int, reason: str) -> None:
        """The application ends the connection as if the client had left: a receive waiting in
        the slot returns ``websocket.disconnect`` with ``code`` and ``reason`` at once, instead
        of waiting for the server's (which may never come while the client does not read)."""
        self._ended = (code, reason)
        self.cancel()

    def cancel(self) -> None:
        """The connection is closing: stop a pending task (the slot is dropped)."""
        if self._task is not None:
            self._task.cancel()
            self._task = None

    async def _run(self) -> Message | BaseException:
        try:
            message = await self.server_receive()
        except Exception as exc:  # handed to the next receive(), as the server raised it
            return exc
        if isinstance(message, dict) and message.get("type") == "websocket.disconnect":
            try:
                left = disconnect_exception(message)
            except TypeError:  # malformed: the next receive() returns it and its caller raises
                return message
            self._on_disconnect(left.code, left.reason)
        return message
