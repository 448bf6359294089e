"""Fan-out: deliver one published message to every member of a topic (SPEC section 6).

``async with hub:`` around the application's life (typically its lifespan), then in each
WebSocket handler ``async with hub.attach(ws) as member:``. Each member has an **outbox**, a
bounded FIFO of outgoing frames drained by one writer task, so frames reach the client in order
and never through two concurrent sends; a publish only queues, so the publisher never waits on a
slow member. The guarantee (default policies): every member receives every message of its
topics, in publish order per publisher, or is disconnected with a code that says why.

A publish wakes no task per member: while a member's writer is parked, the hub's drain (one
event-loop callback per batch, in ``_fanout``) runs its sends in the writer's stead, in the
member's context, and hands the writer only a send that has to wait (the server's backpressure)
or that raised.

Choices the SPEC leaves open (also in ``docs/guide/fanout.md``):

- ``member.send_text/send_bytes/send_json`` are coroutines (as ``WebSocket.send_*``) that only
  queue; a full outbox applies the member's ``on_full`` policy to them as to publishes.
- ``member.stats.queued`` is the number of frames waiting in the outbox now; ``sent`` and
  ``dropped`` count since the member was attached.
- ``member.end_reason`` is None while the member is attached and not ended; then
  ``"slow consumer"``, ``"missed messages"`` or ``"going away"`` when the hub ended it,
  ``"disconnected"`` when the client left (or the application closed the ``WebSocket``) and
  ``"detached"`` once the ``attach()`` block was left otherwise.
- A publish is queued on this process's members first, then handed to the backend; the returned
  count is of local members only.
- ``on_gap`` as a callable is called as ``on_gap(topic, members)``; if it returns an awaitable,
  the hub runs it as a task.
- A ``receive_*`` already waiting in the server when the hub ends the member raises the hub's
  ``WebSocketDisconnect(code, reason)`` too (``WebSocket._end()`` records it as the cause).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import importlib
import itertools
import sys
from collections.abc import Awaitable, Callable, Coroutine, Generator, Iterable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Final, Literal

from . import _json, _tytx
from ._backend import BYTES, TEXT, Backend
from ._fanout import CLOSE, DROP_NEWEST, DROP_OLDEST, FULL, QUEUED, Drain, Outbox, fanout
from .exceptions import WebSocketDisconnect
from .types import Message
from .websocket import WebSocket, WebSocketState

OnFull = Literal["close", "drop_oldest", "drop_newest"]
OnGap = Literal["close", "ignore"] | Callable[[str, list["Member"]], Any]

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
_POLICIES: Final = {"close": CLOSE, "drop_oldest": DROP_OLDEST, "drop_newest": DROP_NEWEST}
_SEND: Final = "websocket.send"


def _check_topic(topic: object) -> str:
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


def _check_policy(on_full: object) -> int:
    if type(on_full) is not str or on_full not in _POLICIES:
        raise ValueError(
            f"on_full must be 'close', 'drop_oldest' or 'drop_newest', got {on_full!r}."
        )
    return _POLICIES[on_full]


def _check_max_queue(max_queue: object) -> int:
    if type(max_queue) is not int or max_queue < 1:
        raise ValueError(f"max_queue must be an int of at least 1, got {max_queue!r}.")
    return max_queue


@dataclass(frozen=True, slots=True)
class MemberStats:
    """A member's outbox counters: frames waiting now, frames sent, frames dropped."""

    queued: int
    sent: int
    dropped: int


class MemoryBackend:
    """The in-process backend: nothing to carry (the hub delivers local publishes itself), and
    presence kept in a dict. One process only: under ``--workers N`` use ``RedisBackend``.

    Raises:
        ValueError: ``max_frame`` is not a positive int.
    """

    __slots__ = ("_presence", "_receiver", "max_frame")

    #: 16 MiB, uvicorn's default WebSocket message limit.
    DEFAULT_MAX_FRAME: Final = 16 * 1024 * 1024

    def __init__(self, *, max_frame: int = DEFAULT_MAX_FRAME) -> None:
        if type(max_frame) is not int or max_frame < 1:
            raise ValueError(f"max_frame must be a positive int, got {max_frame!r}.")
        self.max_frame = max_frame
        self._presence: dict[str, dict[str, dict[str, Any]]] = {}
        self._receiver: Any = None

    async def start(self, receiver: Any) -> None:
        self._receiver = receiver

    async def stop(self) -> None:
        self._presence.clear()
        self._receiver = None

    async def subscribe(self, topic: str) -> None:
        """Nothing to do: there is no other process to receive from."""

    async def unsubscribe(self, topic: str) -> None:
        """Nothing to do: there is no other process to receive from."""

    async def publish(self, topic: str, kind: int, payload: str | bytes) -> None:
        """Nothing to do: the hub has delivered to this (the only) process already."""

    async def add_presence(self, topic: str, key: str, info: dict[str, Any]) -> None:
        self._presence.setdefault(topic, {})[key] = info

    async def remove_presence(self, topic: str, key: str) -> None:
        entries = self._presence.get(topic)
        if entries is not None:
            entries.pop(key, None)
            if not entries:
                del self._presence[topic]

    async def presence(self, topic: str) -> list[dict[str, Any]]:
        return [dict(info) for info in self._presence.get(topic, {}).values()]


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

    def __init__(self, hub: Hub, ws: WebSocket, outbox: Outbox, key: str) -> None:
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
        _check_topic(topic)
        if info is not None and not isinstance(info, dict):
            raise TypeError(f"info must be a dict, got {type(info).__name__}.")
        self._check_usable()
        hub = self._hub
        if topic not in self._topics:
            self._topics[topic] = None
            hub._topics.setdefault(topic, {})[self] = self._outbox
            await hub._sync_subscription(topic)
        self._joined.add(topic)
        await hub._backend.add_presence(topic, self._key, {} if info is None else info)

    async def leave(self, topic: str) -> None:
        """Leave ``topic`` (nothing happens if the member had not joined it).

        Raises:
            ValueError: a bad topic name.
            ConnectionError: the backend cannot be reached.
        """
        _check_topic(topic)
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
                self._hub._end_member(self, TRY_AGAIN_LATER, SLOW_CONSUMER)
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
        await self._push({"type": _SEND, "text": data})

    async def send_bytes(self, data: bytes | bytearray | memoryview) -> None:
        """Queue a binary frame for this member alone (bytes-like data is copied).

        Raises:
            TypeError: ``data`` is not bytes-like.
            RuntimeError, WebSocketDisconnect: as ``send_text()``.
        """
        await self._push({"type": _SEND, "bytes": _frame_bytes(data, "send_bytes")})

    async def send_json(self, data: Any, mode: Literal["text", "binary"] = "text") -> None:
        """Queue ``data`` as JSON, in a text frame or (``mode="binary"``) a UTF-8 binary frame.

        Raises:
            ValueError: ``mode`` is neither ``"text"`` nor ``"binary"``.
            TypeError: ``data`` is not JSON-serializable.
            RuntimeError, WebSocketDisconnect: as ``send_text()``.
        """
        await self._push(_json_message(data, mode))

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
            task = asyncio.current_task()
            uncancel = getattr(task, "uncancel", None)  # Python 3.11+: the hub asked for it
            if uncancel is not None:
                uncancel()
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

    # -- attach / detach -----------------------------------------------------------------------

    async def _detach(self) -> None:
        """Leave every topic, flush the outbox for at most ``flush_timeout``, stop the writer."""
        hub = self._hub
        hub._members.pop(self, None)
        writer = self._writer
        try:
            if self._end is None and self._end_reason is None:
                self._drop_topics()  # no publish reaches the member from now on
                self._flushing = True
                self._wake()
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


def _frame_bytes(data: object, action: str) -> bytes:
    if type(data) is bytes:
        return data
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data)  # a copy: the caller may change its buffer after the call
    raise TypeError(
        f"{action}() takes bytes-like data, got {type(data).__name__}; use the text variant."
    )


def _json_message(data: Any, mode: str) -> Message:
    if mode == "text":
        return {"type": _SEND, "text": _json.dumps(data).decode()}
    if mode == "binary":
        return {"type": _SEND, "bytes": _json.dumps(data)}
    raise ValueError(f"mode must be 'text' or 'binary', got {mode!r}.")


class _Attachment:
    """What ``hub.attach(ws)`` returns: ``async with`` it to get the ``Member``."""

    __slots__ = ("_hub", "_max_queue", "_member", "_on_full", "_ws")

    def __init__(self, hub: Hub, ws: WebSocket, max_queue: int, on_full: int) -> None:
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


class Hub:
    """The fan-out point: topics, their local members, and the backend that links processes.

    ``backend=None`` is a ``MemoryBackend()`` (one process). ``max_queue`` and ``on_full`` are
    the defaults of every member's outbox; ``on_gap`` (``"close"``, ``"ignore"`` or a callable
    ``(topic, members)``) decides what a gap reported by the backend does; ``flush_timeout``
    (seconds) bounds the flush of an outbox when a member detaches or the hub stops, and the
    close of an ended member's connection.

    Raises:
        ValueError: a bad ``max_queue``, ``on_full``, ``on_gap`` or ``flush_timeout``.
    """

    __slots__ = (
        "_backend",
        "_drain",
        "_keys",
        "_lock",
        "_members",
        "_on_full",
        "_running",
        "_subscribed",
        "_tasks",
        "_topics",
        "flush_timeout",
        "max_queue",
        "on_full",
        "on_gap",
    )

    def __init__(
        self,
        backend: Backend | None = None,
        *,
        max_queue: int = 64,
        on_full: OnFull = "close",
        on_gap: OnGap = "close",
        flush_timeout: float = 1.0,
    ) -> None:
        self._backend: Backend = MemoryBackend() if backend is None else backend
        self.max_queue = _check_max_queue(max_queue)
        self._on_full = _check_policy(on_full)
        self.on_full = on_full
        if on_gap not in ("close", "ignore") and not callable(on_gap):
            raise ValueError(f"on_gap must be 'close', 'ignore' or a callable, got {on_gap!r}.")
        self.on_gap = on_gap
        if (
            isinstance(flush_timeout, bool)
            or not isinstance(flush_timeout, (int, float))
            or not flush_timeout >= 0
        ):
            raise ValueError(f"flush_timeout must be a number >= 0, got {flush_timeout!r}.")
        self.flush_timeout = float(flush_timeout)
        self._topics: dict[str, dict[Member, Outbox]] = {}
        self._members: dict[Member, None] = {}
        self._subscribed: set[str] = set()
        self._running = False
        self._lock: asyncio.Lock | None = None
        self._drain: Drain | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._keys = itertools.count(1)

    @property
    def backend(self) -> Backend:
        """Where published messages travel between processes."""
        return self._backend

    # -- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        """Connect the backend and start its listener.

        Raises:
            RuntimeError: the hub is running already.
        """
        if self._running:
            raise RuntimeError("The hub is running already.")
        self._lock = asyncio.Lock()
        self._drain = Drain(asyncio.get_running_loop())
        await self._backend.start(self)
        self._running = True

    async def stop(self) -> None:
        """Flush every outbox (at most ``flush_timeout``), close every member with 1001
        "going away", then stop the backend. Does nothing when the hub is not running."""
        if not self._running:
            return
        self._running = False
        members = list(self._members)
        try:
            for member in members:
                member._flushing = True
                member._wake()
            writers = [m._writer for m in members if m._writer is not None]
            pending = [writer for writer in writers if not writer.done()]
            if pending:
                await asyncio.wait(pending, timeout=self.flush_timeout)
            for member in members:
                self._end_member(member, GOING_AWAY, GOING_AWAY_REASON)
            await self._closed(members)
            if self._tasks:
                await asyncio.wait(list(self._tasks), timeout=self.flush_timeout)
            for task in list(self._tasks):
                task.cancel()
        finally:
            await self._backend.stop()
            self._subscribed.clear()

    async def _closed(self, members: list[Member]) -> None:
        """Wait (at most ``flush_timeout``) for the writers closing ``members``' connections.

        A writer cancelled before it started is replaced by a closing task once it is done,
        so the tasks are looked up again after each wait. Tasks still running at the deadline
        are left to finish: each bounds its close by ``flush_timeout`` itself, and one
        cancelled before its first step would never mark its WebSocket DISCONNECTED.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.flush_timeout
        while True:
            pending = [m._writer for m in members if m._writer is not None and not m._writer.done()]
            if not pending:
                return
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            await asyncio.wait(pending, timeout=remaining)

    async def __aenter__(self) -> Hub:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def _check_running(self, action: str) -> None:
        if not self._running:
            raise RuntimeError(f"{action} outside 'async with hub' (or hub.start()/stop()).")

    def _background(self, work: Awaitable[None]) -> None:
        """Run ``work`` (backend bookkeeping of an ended member) as a task the hub tracks."""
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._background_done)

    def _background_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled():
            task.exception()  # retrieved: a backend failure here is reported by its next call

    # -- members -------------------------------------------------------------------------------

    def attach(
        self, ws: WebSocket, *, max_queue: int | None = None, on_full: OnFull | None = None
    ) -> _Attachment:
        """``async with hub.attach(ws) as member:`` makes an accepted ``ws`` a member.

        ``max_queue``/``on_full`` override the hub's defaults for this member. Leaving the
        block leaves every topic and flushes the outbox for at most ``flush_timeout``.

        Raises:
            TypeError: ``ws`` is not a ``WebSocket``.
            ValueError: a bad ``max_queue`` or ``on_full``.
            RuntimeError: ``ws`` is not accepted (CONNECTED), is attached already, or (when
                entering the block) the hub is not running.
        """
        if not isinstance(ws, WebSocket):
            raise TypeError(f"attach() takes a WebSocket, got {type(ws).__name__}.")
        size = self.max_queue if max_queue is None else _check_max_queue(max_queue)
        policy = self._on_full if on_full is None else _check_policy(on_full)
        return _Attachment(self, ws, size, policy)

    def _attach(self, ws: WebSocket, max_queue: int, on_full: int) -> Member:
        self._check_running("attach()")
        if ws.connection_state is not WebSocketState.CONNECTED:
            raise RuntimeError(
                f"attach() needs an accepted WebSocket, got one in {ws.connection_state.name}."
            )
        if any(member._ws is ws for member in self._members):
            raise RuntimeError("This WebSocket is attached to the hub already.")
        outbox = Outbox(max_queue, on_full)
        member = Member(self, ws, outbox, f"m{next(self._keys)}")
        ws._wakeable(True)  # ending the member wakes its handler's pending receive at once
        # The writer runs in a copy of the handler's context, and the drain runs the writer's
        # sends in that same context (Python 3.10: in a copy of it; create_task takes no
        # context there).
        context = contextvars.copy_context()
        outbox.drain = self._drain
        outbox.send = ws._send_message
        outbox.context = context
        member._writer = _create_task(member._write(), context)
        self._members[member] = None
        return member

    def members(self, topic: str) -> list[Member]:
        """This process's members of ``topic``, in join order.

        Raises:
            ValueError: a bad topic name.
        """
        return list(self._topics.get(_check_topic(topic), ()))

    async def presence(self, topic: str) -> list[dict[str, Any]]:
        """The ``info`` of every member of ``topic`` in every process the backend links.

        Raises:
            ValueError: a bad topic name.
            RuntimeError: the hub is not running.
            ConnectionError: the backend cannot be reached.
        """
        _check_topic(topic)
        self._check_running("presence()")
        return await self._backend.presence(topic)

    def _forget(self, member: Member, topic: str) -> None:
        outboxes = self._topics.get(topic)
        if outboxes is not None:
            outboxes.pop(member, None)
            if not outboxes:
                del self._topics[topic]

    async def _sync_subscription(self, topic: str) -> None:
        """Subscribe the backend to ``topic`` while a local member is in it, else unsubscribe."""
        if self._lock is None:
            return
        async with self._lock:
            wanted = topic in self._topics and self._running
            if wanted and topic not in self._subscribed:
                await self._backend.subscribe(topic)
                self._subscribed.add(topic)
            elif not wanted and topic in self._subscribed:
                self._subscribed.discard(topic)
                await self._backend.unsubscribe(topic)

    def _end_member(self, member: Member, code: int, reason: str) -> None:
        """End ``member``: it leaves every topic now; its writer closes the connection."""
        if member._end is not None or member._end_reason is not None:
            return
        member._end = (code, reason)
        member._end_reason = reason
        member._stop_queueing()
        writer = member._writer
        if writer is None or writer.done():
            member._writer = asyncio.get_running_loop().create_task(member._close_connection())
        elif not member._wake():
            # Busy in a send that may never return: the writer then closes. A writer that had
            # not started yet ends cancelled without running: the callback closes instead.
            writer.cancel()
            writer.add_done_callback(member._cancelled_writer)

    # -- publishing ----------------------------------------------------------------------------

    async def _publish_local(self, topic: str, message: Message, exclude: Member | None) -> int:
        """Queue ``message`` on the local members of ``topic``, as a publish does.

        A full outbox whose writer was woken but has not run yet is no slow consumer (a
        handler publishing in a burst fills every outbox before any writer runs): the
        publish gives the writers one turn of the event loop, then queues the frame on those
        members again, ending only the ones still full.
        """
        outboxes = self._topics.get(topic)
        if outboxes is None:
            return 0
        queued, full = fanout(outboxes, message, exclude)
        if full is not None:
            await asyncio.sleep(0)
            for member in full:
                result = member._outbox.push(message)
                if result == QUEUED:
                    queued += 1
                elif result == FULL:
                    self._end_member(member, TRY_AGAIN_LATER, SLOW_CONSUMER)
        return queued

    def _local(self, topic: str, message: Message, exclude: Member | None) -> int:
        """Queue ``message`` on the local members of ``topic``; end those that overflowed
        (a frame from another process: the backend's listener cannot wait)."""
        outboxes = self._topics.get(topic)
        if outboxes is None:
            return 0
        queued, full = fanout(outboxes, message, exclude)
        if full is not None:
            for member in full:
                self._end_member(member, TRY_AGAIN_LATER, SLOW_CONSUMER)
        return queued

    def _check_publish(self, topic: str, exclude: Member | None) -> None:
        self._check_running("publish()")
        _check_topic(topic)
        if exclude is not None and type(exclude) is not Member:
            raise TypeError(f"exclude must be a Member or None, got {type(exclude).__name__}.")

    def _check_text(self, data: str) -> None:
        limit = self._backend.max_frame
        if len(data) * 4 > limit:  # UTF-8 takes at most 4 bytes per code point
            try:
                size = len(data.encode())
            except UnicodeEncodeError:
                raise ValueError("A text frame must not hold lone surrogates.") from None
            if size > limit:
                raise ValueError(f"The frame is {size} bytes; the backend allows {limit}.")

    def _check_bytes(self, data: bytes) -> None:
        if len(data) > self._backend.max_frame:
            raise ValueError(
                f"The frame is {len(data)} bytes; the backend allows {self._backend.max_frame}."
            )

    async def publish_text(self, topic: str, data: str, *, exclude: Member | None = None) -> int:
        """Publish a text frame to every member of ``topic`` (but ``exclude``).

        Returns the number of local members it was queued for.

        Raises:
            RuntimeError: the hub is not running.
            ValueError: a bad topic name, or a frame bigger than ``backend.max_frame``.
            TypeError: ``data`` is not ``str``, or ``exclude`` is not a ``Member``.
            ConnectionError: the backend cannot be reached (local members got the frame).
        """
        self._check_publish(topic, exclude)
        if type(data) is not str and not isinstance(data, str):
            raise TypeError(
                f"publish_text() takes str, got {type(data).__name__}; use publish_bytes()."
            )
        self._check_text(data)
        queued = await self._publish_local(topic, {"type": _SEND, "text": data}, exclude)
        await self._backend.publish(topic, TEXT, data)
        return queued

    async def publish_bytes(
        self, topic: str, data: bytes | bytearray | memoryview, *, exclude: Member | None = None
    ) -> int:
        """Publish a binary frame (bytes-like data is copied once); as ``publish_text()``.

        Raises:
            TypeError: ``data`` is not bytes-like.
            RuntimeError, ValueError, ConnectionError: as ``publish_text()``.
        """
        self._check_publish(topic, exclude)
        payload = _frame_bytes(data, "publish_bytes")
        self._check_bytes(payload)
        queued = await self._publish_local(topic, {"type": _SEND, "bytes": payload}, exclude)
        await self._backend.publish(topic, BYTES, payload)
        return queued

    async def publish_json(
        self,
        topic: str,
        data: Any,
        mode: Literal["text", "binary"] = "text",
        *,
        exclude: Member | None = None,
    ) -> int:
        """Publish ``data`` as JSON (encoded once), in a text or (``mode="binary"``) a binary
        frame; as ``publish_text()``.

        Raises:
            ValueError: ``mode`` is neither ``"text"`` nor ``"binary"``; as ``publish_text()``.
            TypeError: ``data`` is not JSON-serializable.
            RuntimeError, ConnectionError: as ``publish_text()``.
        """
        self._check_publish(topic, exclude)
        message = _json_message(data, mode)
        text = message.get("text")
        if text is not None:
            self._check_text(text)
            queued = await self._publish_local(topic, message, exclude)
            await self._backend.publish(topic, TEXT, text)
        else:
            payload: bytes = message["bytes"]
            self._check_bytes(payload)
            queued = await self._publish_local(topic, message, exclude)
            await self._backend.publish(topic, BYTES, payload)
        return queued

    async def publish_typed(self, topic: str, data: Any, *, exclude: Member | None = None) -> int:
        """Publish ``data`` as TYTX JSON text (encoded once); as ``publish_text()``.

        Raises:
            ImportError: genro-tytx is not installed (``pip install genro-asgi[tytx]``).
            RuntimeError, ValueError, TypeError, ConnectionError: as ``publish_text()``.
        """
        self._check_publish(topic, exclude)
        text = _tytx.encode(data)
        self._check_text(text)
        queued = await self._publish_local(topic, {"type": _SEND, "text": text}, exclude)
        await self._backend.publish(topic, TEXT, text)
        return queued

    # -- the Receiver side (called by the backend) ----------------------------------------------

    def deliver(self, topic: str, kind: int, payload: str | bytes) -> None:
        """Fan out a frame another process published to this process's members of ``topic``."""
        if kind == TEXT:
            message: Message = {"type": _SEND, "text": payload}
        else:
            message = {"type": _SEND, "bytes": payload}
        self._local(topic, message, None)

    def gap(self, topics: Iterable[str]) -> None:
        """Messages of ``topics`` may have been missed: apply ``on_gap`` to their members."""
        on_gap = self.on_gap
        if on_gap == "ignore":
            return
        for topic in list(topics):
            members = list(self._topics.get(topic, ()))
            if not members:
                continue
            if on_gap == "close":
                for member in members:
                    self._end_member(member, TRY_AGAIN_LATER, MISSED_MESSAGES)
            else:
                assert callable(on_gap)
                result = on_gap(topic, members)
                if asyncio.iscoroutine(result) or isinstance(result, asyncio.Future):
                    self._background(result)


def __getattr__(name: str) -> Any:
    """``RedisBackend`` is imported on first use: ``redis`` is needed only then."""
    if name == "RedisBackend":
        backend = importlib.import_module("genro_asgi._redis_backend").RedisBackend
        globals()[name] = backend
        return backend
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# RedisBackend (through __getattr__) is public but not in __all__: a star import never needs redis.
__all__ = ["Hub", "Member", "MemoryBackend"]
