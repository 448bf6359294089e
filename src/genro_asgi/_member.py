"""``Member``: one connection's membership of a hub, its outbox and its writer (SPEC section 6).

The hub (``hub.py``) owns the topics, the backend and the members; a member owns its outbox, the
writer task that drains it into the connection, and the way it ends. A member asks its hub for
what only the hub has through ``HubSide``, the one way back: this module never imports ``hub``.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import sys
from collections.abc import Awaitable, Callable, Coroutine, Generator
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Final, Protocol

from . import _json
from ._backend import Backend
from ._fanout import FULL, Drain, Outbox
from ._json import JsonMode
from .exceptions import WebSocketDisconnect
from .types import Message
from .websocket import WebSocket

__all__ = ["Attachment", "HubSide", "Member", "MemberStats"]

#: Close codes and reasons the hub ends a member with.
TRY_AGAIN_LATER: Final = 1013
GOING_AWAY: Final = 1001
SLOW_CONSUMER: Final = "slow consumer"
MISSED_MESSAGES: Final = "missed messages"
GOING_AWAY_REASON: Final = "going away"
#: ``end_reason`` when the member ended without the hub closing it.
DISCONNECTED: Final = "disconnected"
DETACHED: Final = "detached"

MAX_TOPIC_BYTES: Final = 256
SEND: Final = "websocket.send"


def check_topic(topic: object) -> str:
    """``topic`` if it is a valid topic name, else ``ValueError``."""
    if type(topic) is not str and not isinstance(topic, str):
        raise ValueError(f"A topic must be a str, got {type(topic).__name__}.")
    if not topic:
        raise ValueError("A topic must not be empty.")
    if "\0" in topic:
        raise ValueError(f"A topic must not contain NUL: {topic!r}.")
    if len(topic) * 4 > MAX_TOPIC_BYTES:  # UTF-8 takes at most 4 bytes per code point
        try:
            size = len(topic.encode())
        except UnicodeEncodeError:
            raise ValueError(f"A topic must not hold lone surrogates: {topic!r}.") from None
        if size > MAX_TOPIC_BYTES:
            raise ValueError(f"A topic must be at most 256 UTF-8 bytes, got {size}.")
    return topic


@dataclass(frozen=True, slots=True)
class MemberStats:
    """A member's outbox counters: frames waiting now, frames sent, frames dropped."""

    queued: int
    sent: int
    dropped: int


class HubSide(Protocol):
    """What a member asks of the hub that made it (``Hub`` is the implementation). The names
    are the package's own, not the users': a member calls nothing else of its hub."""

    flush_timeout: float
    _backend: Backend
    _running: bool

    async def _joined(self, member: Member, outbox: Outbox, topic: str) -> None:
        """``member`` joined ``topic``: publishes reach ``outbox`` from now on."""

    def _forget(self, member: Member, topic: str) -> None:
        """``member`` left ``topic`` (locally, at once)."""

    async def _sync_subscription(self, topic: str) -> None:
        """Subscribe the backend to ``topic`` while a local member is in it, else unsubscribe."""

    def _background(self, work: Awaitable[None]) -> None:
        """Run ``work`` as a task the hub tracks (and waits for when it stops)."""

    def _detached(self, member: Member) -> None:
        """``member``'s ``attach()`` block is over."""

    def _attach(self, ws: WebSocket, max_queue: int, on_full: int) -> Member:
        """Make ``ws`` a member (``Attachment.__aenter__``)."""


class Member:
    """One connection's membership of a hub: its outbox, its writer and its topics.

    Made by ``hub.attach(ws)``, never directly.
    """

    __slots__ = (
        "_end",
        "_end_reason",
        "_flushing",
        "_hub",
        "_joined",
        "_key",
        "_left",
        "_outbox",
        "_topics",
        "_writer",
        "_ws",
    )

    def __init__(self, hub: HubSide, ws: WebSocket, outbox: Outbox, key: str) -> None:
        self._hub = hub
        self._ws = ws
        self._outbox = outbox
        self._key = key
        self._topics: dict[str, None] = {}  # joined, in join order
        self._joined: set[str] = set()  # topics with a presence entry in the backend
        self._left: set[str] = set()  # left locally, not yet released in the backend
        self._end: tuple[int, str] | None = None  # (code, reason) once the hub ends it
        self._end_reason: str | None = None
        self._flushing = False  # the writer stops once the outbox is empty
        self._writer: asyncio.Task[None] | None = None

    @property
    def websocket(self) -> WebSocket:
        """The member's connection."""
        return self._ws

    @property
    def topics(self) -> frozenset[str]:
        """The topics this member has joined."""
        return frozenset(self._topics)

    @property
    def stats(self) -> MemberStats:
        """The outbox's counters: ``queued`` (waiting now), ``sent``, ``dropped``."""
        outbox = self._outbox
        return MemberStats(len(outbox), outbox.sent, outbox.dropped)

    @property
    def end_reason(self) -> str | None:
        """Why the member ended (None while it is a member); see the module docstring."""
        return self._end_reason

    def __repr__(self) -> str:
        state = self._end_reason or "attached"
        return f"<Member {self._key} {state} topics={sorted(self._topics)!r}>"

    # -- membership ----------------------------------------------------------------------------

    def _check_usable(self) -> None:
        if self._end is not None:
            raise WebSocketDisconnect(*self._end)
        if self._end_reason is not None:
            raise RuntimeError(f"The member has ended ({self._end_reason}).")
        if not self._hub._running:
            raise RuntimeError("The hub is not running: use the member inside 'async with hub'.")

    async def join(self, topic: str, info: dict[str, Any] | None = None) -> None:
        """Join ``topic``: from now on its publishes are queued on this member's outbox.

        ``info`` is what ``hub.presence(topic)`` lists for this member (``{}`` when None);
        joining again replaces it.

        Raises:
            ValueError: a bad topic name.
            TypeError: ``info`` is not a dict.
            RuntimeError: the hub is not running, or the member has ended.
            WebSocketDisconnect: the hub ended this member.
            ConnectionError: the backend cannot be reached.
        """
        check_topic(topic)
        if info is not None and not isinstance(info, dict):
            raise TypeError(f"info must be a dict, got {type(info).__name__}.")
        self._check_usable()
        hub = self._hub
        if topic not in self._topics:
            self._topics[topic] = None
            await hub._joined(self, self._outbox, topic)
        self._joined.add(topic)
        await hub._backend.add_presence(topic, self._key, {} if info is None else info)

    async def leave(self, topic: str) -> None:
        """Leave ``topic`` (nothing happens if the member had not joined it).

        Raises:
            ValueError: a bad topic name.
            ConnectionError: the backend cannot be reached.
        """
        check_topic(topic)
        if self._topics.pop(topic, 0) is None:
            self._hub._forget(self, topic)
            await self._release(topic)

    async def _release(self, topic: str) -> None:
        """Drop ``topic``'s presence entry and, if no local member is left, its subscription."""
        hub = self._hub
        if topic in self._joined:
            self._joined.discard(topic)
            await hub._backend.remove_presence(topic, self._key)
        await hub._sync_subscription(topic)

    async def _release_all(self) -> None:
        """Release every topic the member left locally (see ``_drop_topics()``)."""
        while self._left:
            await self._release(self._left.pop())

    def _drop_topics(self) -> None:
        """Leave every topic locally (synchronously: no publish reaches the member after);
        ``_release_all()`` then tells the backend."""
        for topic in self._topics:
            self._hub._forget(self, topic)
            self._left.add(topic)
        self._topics.clear()

    # -- sending -------------------------------------------------------------------------------

    async def _push(self, message: Message) -> None:
        self._check_usable()
        if self._outbox.push(message) == FULL:
            await asyncio.sleep(0)  # a woken writer that has not run yet is not slow: one turn
            if self._outbox.push(message) == FULL:
                self._end_with(TRY_AGAIN_LATER, SLOW_CONSUMER)
                raise WebSocketDisconnect(TRY_AGAIN_LATER, SLOW_CONSUMER)
            self._check_usable()

    async def send_text(self, data: str) -> None:
        """Queue a text frame for this member alone, in order with the broadcasts.

        Raises:
            TypeError: ``data`` is not ``str``.
            RuntimeError: the hub is not running, or the member has ended.
            WebSocketDisconnect: the hub ended this member (also when this frame overflows
                an outbox whose policy is ``close``).
        """
        if type(data) is not str and not isinstance(data, str):
            raise TypeError(f"send_text() takes str, got {type(data).__name__}; use send_bytes().")
        await self._push({"type": SEND, "text": data})

    async def send_bytes(self, data: bytes | bytearray | memoryview) -> None:
        """Queue a binary frame for this member alone (bytes-like data is copied).

        Raises:
            TypeError: ``data`` is not bytes-like.
            RuntimeError, WebSocketDisconnect: as ``send_text()``.
        """
        await self._push({"type": SEND, "bytes": frame_bytes(data, "send_bytes")})

    async def send_json(self, data: Any, mode: JsonMode = "text") -> None:
        """Queue ``data`` as JSON, in a text frame or (``mode="binary"``) a UTF-8 binary frame.

        Raises:
            ValueError: ``mode`` is neither ``"text"`` nor ``"binary"``.
            TypeError: ``data`` is not JSON-serializable.
            RuntimeError, WebSocketDisconnect: as ``send_text()``.
        """
        await self._push(json_message(data, mode))

    # -- the writer ----------------------------------------------------------------------------

    async def _write(self) -> None:
        """Drain the outbox into the connection, one send at a time, until the member ends.

        Parks on a future while the outbox is empty. While it is parked, the hub's drain sends
        what is queued on its behalf (``_fanout``'s ``Drain``) and wakes it only with a send
        it could not finish (the suspended coroutine, which the writer awaits to its end) or
        a send's exception (raised here); ending, detaching or stopping wakes it with None.
        """
        outbox = self._outbox
        send = self._ws._send_message
        take = outbox.take
        new_future = _future_factory(asyncio.get_running_loop())
        waiter: asyncio.Future[Any] | None = None
        try:
            while True:
                message = take()
                if message is not None:
                    await send(message)
                    outbox.sent += 1
                elif self._end is not None or self._flushing:
                    break
                else:
                    waiter = new_future()
                    outbox.waiter = waiter
                    started = await waiter  # whoever resolves it sets outbox.waiter to None
                    waiter = None
                    if started is not None:
                        await _Resumed(*started)
                        outbox.sent += 1
        except asyncio.CancelledError:
            outbox.waiter = None
            if waiter is not None:
                _abandon(waiter)
            if self._end is None:
                raise
            uncancel(asyncio.current_task())  # the hub asked for it: the writer goes on
        except (WebSocketDisconnect, RuntimeError):
            # The client left (1006, or a disconnect seen while receiving ahead) or the
            # application closed the WebSocket itself: the member is over.
            if self._end is None:
                self._gone()
                return
        if self._end is not None:
            await self._close_connection()

    async def _close_connection(self) -> None:
        """Close the connection with the hub's code and reason, within ``flush_timeout``."""
        assert self._end is not None
        closing = asyncio.get_running_loop().create_task(self._ws._end(*self._end))
        # The task's first step (which marks the WebSocket DISCONNECTED and wakes the handler's
        # receive) runs before the timeout can fire, even with a flush_timeout of 0.
        done, _ = await asyncio.wait((closing,), timeout=self._hub.flush_timeout)
        if not done:
            # A client that reads nothing: the close waits behind its buffers. It stays queued
            # in the server (the hub tracks it and cancels it when it stops), so a client that
            # reads again gets the frames it was sent, then the close with the hub's code.
            self._hub._background(closing)

    def _cancelled_writer(self, writer: asyncio.Task[None]) -> None:
        if writer.cancelled() and self._writer is writer:
            self._writer = asyncio.get_running_loop().create_task(self._close_connection())

    def _wake(self) -> bool:
        """Wake a parked writer; False when it is busy (or not running)."""
        waiter = self._outbox.waiter
        if waiter is None:
            return False
        self._outbox.waiter = None
        waiter.set_result(None)
        return True

    def _gone(self) -> None:
        """The connection is over without the hub closing it."""
        if self._end_reason is None:
            self._end_reason = DISCONNECTED
        self._stop_queueing()

    def _stop_queueing(self) -> None:
        self._outbox.closed = True
        self._outbox.clear()
        self._drop_topics()
        self._hub._background(self._release_all())

    # -- the hub's side: start, flush, end -------------------------------------------------------

    def _start(self, drain: Drain | None) -> None:
        """Start the writer. It runs in a copy of the handler's context, and the drain runs
        the writer's sends in that same context (Python 3.10: in a copy of it; ``create_task``
        takes no context there)."""
        ws = self._ws
        ws._wakeable(True)  # ending the member wakes its handler's pending receive at once
        context = contextvars.copy_context()
        outbox = self._outbox
        outbox.drain = drain
        outbox.send = ws._send_message
        outbox.context = context
        self._writer = _create_task(self._write(), context)

    def _flush(self) -> asyncio.Task[None] | None:
        """The hub stops: the writer sends what is queued, then stops. Returns the writer
        while it runs."""
        self._flushing = True
        self._wake()
        return self._running_writer()

    def _running_writer(self) -> asyncio.Task[None] | None:
        """The writer (or the task closing the connection) while it runs, else None."""
        writer = self._writer
        return writer if writer is not None and not writer.done() else None

    def _end_with(self, code: int, reason: str) -> None:
        """End the member: it leaves every topic now; its writer closes the connection with
        ``code`` and ``reason``. Does nothing once the member has ended."""
        if self._end is not None or self._end_reason is not None:
            return
        self._end = (code, reason)
        self._end_reason = reason
        self._stop_queueing()
        writer = self._writer
        if writer is None or writer.done():
            self._writer = asyncio.get_running_loop().create_task(self._close_connection())
        elif not self._wake():
            # Busy in a send that may never return: the writer then closes. A writer that had
            # not started yet ends cancelled without running: the callback closes instead.
            writer.cancel()
            writer.add_done_callback(self._cancelled_writer)

    # -- attach / detach -----------------------------------------------------------------------

    async def _detach(self) -> None:
        """Leave every topic, flush the outbox for at most ``flush_timeout``, stop the writer."""
        hub = self._hub
        hub._detached(self)
        writer = self._writer
        try:
            if self._end is None and self._end_reason is None:
                self._drop_topics()  # no publish reaches the member from now on
                self._flush()
            if writer is not None and not writer.done():
                await asyncio.wait((writer,), timeout=hub.flush_timeout)
        finally:
            if writer is not None and not writer.done():
                writer.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await writer
            if self._end_reason is None:
                self._end_reason = DETACHED
            self._outbox.closed = True
            self._outbox.clear()
            self._drop_topics()
        self._ws._wakeable(False)
        await self._release_all()
        if writer is not None and not writer.cancelled() and writer.exception() is not None:
            raise writer.exception()  # type: ignore[misc]  # an unexpected failure is loud


class _Resumed:
    """Awaits the rest of a send the drain started: ``coroutine`` is suspended on ``step``
    (what it yielded to the event loop), and the awaiting task takes over from there."""

    __slots__ = ("_coroutine", "_step")

    def __init__(self, coroutine: Coroutine[Any, Any, Any], step: Any) -> None:
        self._coroutine = coroutine
        self._step = step

    def __await__(self) -> Generator[Any, None, Any]:
        coroutine, step = self._coroutine, self._step
        self._step = None
        while True:
            try:
                yield step
            except GeneratorExit:
                coroutine.close()
                raise
            except BaseException as exc:  # thrown into the task: pass it on
                try:
                    step = coroutine.throw(exc)
                except StopIteration as stop:
                    return stop.value
            else:
                try:
                    step = coroutine.send(None)
                except StopIteration as stop:
                    return stop.value


def uncancel(task: asyncio.Task[Any] | None) -> None:
    """Take back one cancellation of ``task`` that was handled (Python 3.11+; on 3.10 a task
    keeps no count of them)."""
    undo = getattr(task, "uncancel", None)
    if undo is not None:
        undo()


def _abandon(waiter: asyncio.Future[Any]) -> None:
    """The writer was cancelled with ``waiter`` resolved but not read: close the send the
    drain handed over, so it does not stay suspended in the server (an exception handed over
    was retrieved by the task's wake-up already)."""
    if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
        started = waiter.result()
        if started is not None:
            started[0].close()


if sys.version_info >= (3, 11):

    def _create_task(coroutine: Coroutine[Any, Any, None], context: contextvars.Context) -> Any:
        return asyncio.get_running_loop().create_task(coroutine, context=context)

else:  # pragma: no cover  # Python 3.10: the task runs in a copy of the context

    def _create_task(coroutine: Coroutine[Any, Any, None], context: contextvars.Context) -> Any:
        return context.run(asyncio.get_running_loop().create_task, coroutine)


def _future_factory(loop: asyncio.AbstractEventLoop) -> Callable[[], asyncio.Future[Any]]:
    """``loop.create_future``; on asyncio's own loops the C ``Future`` class itself, which
    skips a Python-level call per idle period (``create_future`` there is exactly that)."""
    if type(loop).create_future is asyncio.BaseEventLoop.create_future:
        return functools.partial(asyncio.Future, loop=loop)
    return loop.create_future


def frame_bytes(data: object, action: str) -> bytes:
    if type(data) is bytes:
        return data
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data)  # a copy: the caller may change its buffer after the call
    raise TypeError(
        f"{action}() takes bytes-like data, got {type(data).__name__}; use the text variant."
    )


def json_message(data: Any, mode: str) -> Message:
    if mode == "text":
        return {"type": SEND, "text": _json.dumps(data).decode()}
    if mode == "binary":
        return {"type": SEND, "bytes": _json.dumps(data)}
    raise ValueError(f"mode must be 'text' or 'binary', got {mode!r}.")


class Attachment:
    """What ``hub.attach(ws)`` returns: ``async with`` it to get the ``Member``."""

    __slots__ = ("_hub", "_max_queue", "_member", "_on_full", "_ws")

    def __init__(self, hub: HubSide, ws: WebSocket, max_queue: int, on_full: int) -> None:
        self._hub = hub
        self._ws = ws
        self._max_queue = max_queue
        self._on_full = on_full
        self._member: Member | None = None

    async def __aenter__(self) -> Member:
        if self._member is not None:
            raise RuntimeError("This attach() was entered already; call hub.attach() again.")
        self._member = member = self._hub._attach(self._ws, self._max_queue, self._on_full)
        return member

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._member is not None
        await self._member._detach()
