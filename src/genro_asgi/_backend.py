"""What the hub and its backends say to each other (SPEC sections 6 and 7).

The hub delivers every publish to its own process's members itself (so ``exclude=`` stays
local and a local publish needs no round trip); a backend carries the publish to the *other*
processes and hands what they published to this process's hub. ``MemoryBackend`` (one
process) therefore has nothing to carry; ``RedisBackend`` carries each publish once over
Redis pub/sub.

A backend never touches a ``Member`` or a ``WebSocket``: it speaks topics, frames and presence
entries, and reports back through the ``Receiver`` it is started with.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final, Protocol

#: Frame kinds: the two WebSocket data frames a publish can be.
TEXT: Final = 0
BYTES: Final = 1


class Receiver(Protocol):
    """The hub, as a backend sees it."""

    def deliver(self, topic: str, kind: int, payload: str | bytes) -> None:
        """Fan out a frame another process published (``str`` for TEXT, ``bytes`` for BYTES)
        to this process's members of ``topic``. Never blocks, never raises for a slow member."""

    def gap(self, topics: Iterable[str]) -> None:
        """Messages of ``topics`` may have been missed (a sequence jump, a lost connection):
        the hub applies its ``on_gap`` policy to their local members."""


class Backend(Protocol):
    """Where published messages travel between processes, and where presence is kept."""

    #: The largest payload, in bytes (UTF-8 for text), that one publish may carry.
    max_frame: int

    async def start(self, receiver: Receiver) -> None:
        """Connect and start listening; frames from other processes go to ``receiver``."""

    async def stop(self) -> None:
        """Stop listening, drop this process's presence entries and disconnect."""

    async def subscribe(self, topic: str) -> None:
        """The first local member joined ``topic``: start receiving its publishes."""

    async def unsubscribe(self, topic: str) -> None:
        """The last local member left ``topic``: stop receiving its publishes."""

    async def publish(self, topic: str, kind: int, payload: str | bytes) -> None:
        """Carry one frame to the other processes' members of ``topic``.

        Raises:
            ConnectionError: the backend cannot be reached (within a bounded time).
        """

    async def add_presence(self, topic: str, key: str, info: dict[str, Any]) -> None:
        """Record a local member (``key``, unique in this process) in ``topic``'s presence."""

    async def remove_presence(self, topic: str, key: str) -> None:
        """Remove a local member from ``topic``'s presence."""

    async def presence(self, topic: str) -> list[dict[str, Any]]:
        """The ``info`` of every member of ``topic`` in every live process."""
