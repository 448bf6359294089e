"""``MemoryBackend``: the hub's backend for one process (SPEC section 6)."""

from __future__ import annotations

from typing import Any, Final

__all__ = ["MemoryBackend"]


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
