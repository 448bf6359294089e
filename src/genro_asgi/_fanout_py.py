"""Fan-out: queue one already-built frame on many outboxes (the pure-Python twin of ``_fanout_c``).

An ``Outbox`` is one member's bounded FIFO of ASGI ``websocket.send`` messages, drained by one
writer task (in ``hub.py``). The writer parks on a future (``waiter``) when the outbox is empty;
whoever queues a frame on an idle outbox resolves that future, so a writer is woken once per
idle period, never once per frame, and then sends everything queued in one go.

``fanout()`` is the hot path of a publish: for every outbox of a topic it applies the
outbox's ``on_full`` policy, queues the one message dict shared by all of them, counts, and
wakes the idle writers. It never runs the writers and never ends a member itself: it returns
the keys of the outboxes whose policy is ``CLOSE`` and that were full, and the hub ends those.
"""

from __future__ import annotations

from collections import deque
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

    __slots__ = ("_queue", "closed", "dropped", "max_queue", "on_full", "sent", "waiter")

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
        waiter = self.waiter
        if waiter is not None:
            self.waiter = None
            waiter.set_result(None)
        return QUEUED

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
        waiter = outbox.waiter
        if waiter is not None:
            outbox.waiter = None
            waiter.set_result(None)
    return queued, full
