"""Fan-out: deliver one published message to every member of a topic (SPEC section 6).

``async with hub:`` around the application's life (typically its lifespan), then in each
WebSocket handler ``async with hub.attach(ws) as member:``. Each member has an **outbox**, a
bounded FIFO of outgoing frames drained by one writer task, so frames reach the client in order
and never through two concurrent sends; a publish only queues, so the publisher never waits on a
slow member. The guarantee (default policies): every member receives every message of its
topics, in publish order per publisher, or is disconnected with a code that says why.

A publish wakes no task per member: while a member's writer is parked, the hub's drain (one
task of the hub's, woken once per batch; ``_fanout``'s ``Drain``) runs its sends in the writer's
stead, in the member's context, and hands the writer only a send that has to wait (the server's
backpressure) or that raised.

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
import importlib
import itertools
from collections.abc import Awaitable, Callable, Iterable
from types import TracebackType
from typing import Any, Final, Literal

from . import _tytx
from ._backend import BYTES, TEXT, Backend
from ._fanout import CLOSE, DROP_NEWEST, DROP_OLDEST, FULL, QUEUED, Drain, Outbox, fanout
from ._json import JsonMode
from ._member import (
    GOING_AWAY,
    GOING_AWAY_REASON,
    MISSED_MESSAGES,
    SEND,
    SLOW_CONSUMER,
    TRY_AGAIN_LATER,
    Attachment,
    Member,
    check_topic,
    frame_bytes,
    json_message,
    uncancel,
)
from ._member import MemberStats as MemberStats  # the type of member.stats, documented here
from ._memory_backend import MemoryBackend
from .types import Message
from .websocket import WebSocket, WebSocketState

OnFull = Literal["close", "drop_oldest", "drop_newest"]
OnGap = Literal["close", "ignore"] | Callable[[str, list[Member]], Any]

_POLICIES: Final = {"close": CLOSE, "drop_oldest": DROP_OLDEST, "drop_newest": DROP_NEWEST}


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
        "_drain_task",
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
        self._drain_task: asyncio.Task[None] | None = None
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
        await self._backend.start(self)  # no member yet: nothing reaches the drain before it
        self._drain = drain = Drain()
        self._drain_task = asyncio.get_running_loop().create_task(
            self._serve_drain(drain), name="genro-asgi hub drain"
        )
        self._running = True

    async def stop(self) -> None:
        """Flush every outbox (at most ``flush_timeout``), close every member with 1001
        "going away", then stop the backend. Does nothing when the hub is not running."""
        if not self._running:
            return
        self._running = False
        members = list(self._members)
        try:
            pending = [writer for writer in map(Member._flush, members) if writer is not None]
            if pending:
                await asyncio.wait(pending, timeout=self.flush_timeout)
            for member in members:
                member._end_with(GOING_AWAY, GOING_AWAY_REASON)
            await self._closed(members)
            if self._tasks:
                await asyncio.wait(list(self._tasks), timeout=self.flush_timeout)
            for task in list(self._tasks):
                task.cancel()
        finally:
            drain_task, self._drain_task = self._drain_task, None
            if drain_task is not None:
                drain_task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await drain_task
            await self._backend.stop()
            self._subscribed.clear()

    async def _serve_drain(self, drain: Drain) -> None:
        """The hub's drain task: parked while no outbox is ready, then sends for every parked
        writer at once (``Drain.run``). The servers' ``send()`` (and middleware around it) so
        run inside a task, as they do in a member's writer.

        Only ``stop()`` ends it. A cancellation that is not the hub's is dropped: a timeout
        entered around a send that suspended in the drain and went on in the member's writer
        (an ``asyncio.timeout()`` in a middleware) cancels the task it was entered in, this
        one, and the drain must go on for every other member.
        """
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        while True:
            try:
                if not len(drain):
                    waiter = drain.waiter = loop.create_future()
                    await waiter
                drain.run()
            except asyncio.CancelledError:
                drain.waiter = None
                if self._drain_task is not task:
                    raise  # stop()
                uncancel(task)
            except Exception as exc:  # a bug: loud, and the drain goes on for the other members
                loop.call_exception_handler(
                    {"message": "genro-asgi hub: the drain failed", "exception": exc}
                )

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
            pending = [w for w in map(Member._running_writer, members) if w is not None]
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
    ) -> Attachment:
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
        return Attachment(self, ws, size, policy)

    def _attach(self, ws: WebSocket, max_queue: int, on_full: int) -> Member:
        self._check_running("attach()")
        if ws.connection_state is not WebSocketState.CONNECTED:
            raise RuntimeError(
                f"attach() needs an accepted WebSocket, got one in {ws.connection_state.name}."
            )
        if any(member.websocket is ws for member in self._members):
            raise RuntimeError("This WebSocket is attached to the hub already.")
        member = Member(self, ws, Outbox(max_queue, on_full), f"m{next(self._keys)}")
        member._start(self._drain)
        self._members[member] = None
        return member

    def _detached(self, member: Member) -> None:
        self._members.pop(member, None)

    def members(self, topic: str) -> list[Member]:
        """This process's members of ``topic``, in join order.

        Raises:
            ValueError: a bad topic name.
        """
        return list(self._topics.get(check_topic(topic), ()))

    async def presence(self, topic: str) -> list[dict[str, Any]]:
        """The ``info`` of every member of ``topic`` in every process the backend links.

        Raises:
            ValueError: a bad topic name.
            RuntimeError: the hub is not running.
            ConnectionError: the backend cannot be reached.
        """
        check_topic(topic)
        self._check_running("presence()")
        return await self._backend.presence(topic)

    async def _joined(self, member: Member, outbox: Outbox, topic: str) -> None:
        self._topics.setdefault(topic, {})[member] = outbox
        await self._sync_subscription(topic)

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
                    member._end_with(TRY_AGAIN_LATER, SLOW_CONSUMER)
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
                member._end_with(TRY_AGAIN_LATER, SLOW_CONSUMER)
        return queued

    def _check_publish(self, topic: str, exclude: Member | None) -> None:
        self._check_running("publish()")
        check_topic(topic)
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
        queued = await self._publish_local(topic, {"type": SEND, "text": data}, exclude)
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
        payload = frame_bytes(data, "publish_bytes")
        self._check_bytes(payload)
        queued = await self._publish_local(topic, {"type": SEND, "bytes": payload}, exclude)
        await self._backend.publish(topic, BYTES, payload)
        return queued

    async def publish_json(
        self,
        topic: str,
        data: Any,
        mode: JsonMode = "text",
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
        message = json_message(data, mode)
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
        queued = await self._publish_local(topic, {"type": SEND, "text": text}, exclude)
        await self._backend.publish(topic, TEXT, text)
        return queued

    # -- the Receiver side (called by the backend) ----------------------------------------------

    def deliver(self, topic: str, kind: int, payload: str | bytes) -> None:
        """Fan out a frame another process published to this process's members of ``topic``."""
        if kind == TEXT:
            message: Message = {"type": SEND, "text": payload}
        else:
            message = {"type": SEND, "bytes": payload}
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
                    member._end_with(TRY_AGAIN_LATER, MISSED_MESSAGES)
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
