"""Fan-out: queue one already-built frame on many outboxes (the pure-Python twin of ``_fanout_c``).

An ``Outbox`` is one member's bounded FIFO of ASGI ``websocket.send`` messages, drained by one
writer task (in ``hub.py``). The writer parks on a future (``waiter``) when the outbox is empty.

Waking a parked writer is what a publish costs most: a task step per member, through the event
loop's Python code, for a send that usually completes without ever suspending. So an outbox
with a ``Drain`` is not woken one by one: a frame queued on it while its writer is parked only
puts it on the drain's ready list, and the drain, run by one task of the hub's once per batch
of such wake-ups, does the parked writers' work itself: for each ready outbox it calls the writer's
``send`` (an ``async def``) on every queued frame and steps the coroutine once, inside the
writer's ``context``. A send that completes there is done (counted in ``sent``); one that
suspends (the server applies backpressure) or raises is handed to the writer, which is woken
with ``(coroutine, step)`` (the suspended send and what it yielded) or with the exception, and
carries on from there. So a send is still never in flight twice on one connection: the drain
only drives an outbox whose writer is parked, and a send it cannot finish goes to the writer.
An outbox without a drain (or without a ``send``) wakes its writer with ``None``, as before.

``fanout()`` is the hot path of a publish: for every outbox of a topic it applies the
outbox's ``on_full`` policy, queues the one message dict shared by all of them, counts, and
wakes the idle writers. It never runs the writers and never ends a member itself: it returns
the keys of the outboxes whose policy is ``CLOSE`` and that were full, and the hub ends those.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any, Final

#: ``on_full`` policies, as the hub passes them to ``Outbox``.
CLOSE: Final = 0
DROP_OLDEST: Final = 1
DROP_NEWEST: Final = 2

#: What ``Outbox.push()`` returns.
QUEUED: Final = 1
DROPPED: Final = 0
FULL: Final = -1


class Outbox:
    """A bounded FIFO of outgoing messages, its policy, its counters and its writer's waiter.

    Raises:
        ValueError: ``max_queue`` is below 1, or ``on_full`` is not a known policy.
    """

    __slots__ = (
        "_queue",
        "_ready",
        "closed",
        "context",
        "drain",
        "dropped",
        "max_queue",
        "on_full",
        "send",
        "sent",
        "waiter",
    )

    def __init__(self, max_queue: int, on_full: int) -> None:
        if type(max_queue) is not int or max_queue < 1:
            raise ValueError(f"max_queue must be an int of at least 1, got {max_queue!r}.")
        if type(on_full) is not int or on_full not in (CLOSE, DROP_OLDEST, DROP_NEWEST):
            raise ValueError(f"Unknown on_full policy {on_full!r}.")
        self._queue: deque[Any] = deque()
        self.max_queue: int = max_queue
        self.on_full: int = on_full
        #: Frames dropped by the drop policies, and frames the writer has sent.
        self.dropped: int = 0
        self.sent: int = 0
        #: The future the idle writer waits on (None while the writer is busy or gone).
        self.waiter: Any = None
        #: True once the member is ending or detached: nothing more is queued.
        self.closed: bool = False
        #: The drain that runs this outbox's sends while its writer is parked (None: wake the
        #: writer instead), the writer's send (an ``async def`` taking one message) and the
        #: ``contextvars.Context`` the drain runs it in (None: the drain's own).
        self.drain: Drain | None = None
        self.send: Callable[[Any], Any] | None = None
        self.context: Any = None
        self._ready = False  # on the drain's ready list

    def __len__(self) -> int:
        return len(self._queue)

    def push(self, message: Any) -> int:
        """Queue ``message`` under the policy: ``QUEUED``, ``DROPPED`` (drop_newest, or a
        closed outbox) or ``FULL`` (policy CLOSE: the caller ends the member)."""
        if self.closed:
            return DROPPED
        queue = self._queue
        if len(queue) >= self.max_queue:
            policy = self.on_full
            if policy == CLOSE:
                return FULL
            self.dropped += 1
            if policy == DROP_NEWEST:
                return DROPPED
            queue.popleft()
        queue.append(message)
        if self.waiter is not None:
            self._wake()
        return QUEUED

    def _wake(self) -> None:
        """The writer is parked: put the outbox on the drain's ready list, or wake the writer."""
        drain = self.drain
        if drain is None or self.send is None:
            waiter = self.waiter
            self.waiter = None
            waiter.set_result(None)
        elif not self._ready:
            self._ready = True
            drain._add(self)

    def _drive(self) -> None:
        """Send the queued frames while the writer stays parked (see the module docstring)."""
        self._ready = False
        waiter = self.waiter
        if waiter is None:
            return  # the writer was woken meanwhile (the member ends or detaches): it sends
        queue = self._queue
        send = self.send
        context = self.context
        while queue:
            try:
                coroutine = send(queue.popleft())  # type: ignore[misc]
                if context is None:
                    step = coroutine.send(None)
                else:
                    step = context.run(coroutine.send, None)
            except StopIteration:
                self.sent += 1
                continue
            except BaseException as exc:  # the writer raises it, as if it had sent the frame
                self.waiter = None
                waiter.set_exception(exc)
                return
            self.waiter = None
            waiter.set_result((coroutine, step))
            return

    def take(self) -> Any:
        """The oldest queued message, removed; None when the outbox is empty."""
        queue = self._queue
        return queue.popleft() if queue else None

    def clear(self) -> None:
        """Drop every queued message (not counted: the member is ending)."""
        self._queue.clear()


def fanout(
    outboxes: dict[Any, Outbox], message: Any, exclude: object
) -> tuple[int, list[Any] | None]:
    """Queue ``message`` on every outbox of ``outboxes`` (its values) but ``exclude``'s (a key).

    Returns how many outboxes queued it, and the keys of the full outboxes whose policy is
    CLOSE (None when there are none), for the caller to end.
    """
    queued = 0
    full: list[Any] | None = None
    for key, outbox in outboxes.items():
        if key is exclude or outbox.closed:
            continue
        queue = outbox._queue
        if len(queue) >= outbox.max_queue:
            policy = outbox.on_full
            if policy == CLOSE:
                if full is None:
                    full = []
                full.append(key)
                continue
            outbox.dropped += 1
            if policy == DROP_NEWEST:
                continue
            queue.popleft()
        queue.append(message)
        queued += 1
        if outbox.waiter is not None:
            outbox._wake()
    return queued, full


class Drain:
    """The ready list of outboxes whose parked writers have frames to send, and ``run()``,
    which sends them (``Outbox._drive``). The hub calls ``run()`` from one task of its own,
    parked on ``waiter`` while the list is empty: the first outbox put on the list resolves
    it, so a batch of wake-ups costs one task step, whatever the number of members."""

    __slots__ = ("_ready", "waiter")

    def __init__(self) -> None:
        self._ready: list[Outbox] = []
        #: The future the drain's task waits on (None while it runs, or before it parks).
        self.waiter: Any = None

    def _add(self, outbox: Outbox) -> None:
        self._ready.append(outbox)
        waiter = self.waiter
        if waiter is not None:
            self.waiter = None
            if not waiter.done():  # cancelled: the task wakes with the cancellation anyway
                waiter.set_result(None)

    def run(self) -> None:
        """Drive every ready outbox; one put on the list meanwhile waits for the next run.
        Should a drive raise, the outboxes after it stay on the list."""
        ready = self._ready
        self._ready = []
        for index, outbox in enumerate(ready):
            try:
                outbox._drive()
            except BaseException:
                self._ready[:0] = ready[index + 1 :]
                raise

    def __len__(self) -> int:
        return len(self._ready)
