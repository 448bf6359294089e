"""Pure-Python ``Headers``: the reference for ``_headers_c.pyx`` and its type stub."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import overload


def _fold(key: object) -> bytes | None:
    """The ASCII-lowercased latin-1 bytes of a ``str`` key; None when it cannot match."""
    if not isinstance(key, str):
        return None
    try:
        return key.encode("latin-1").lower()
    except UnicodeEncodeError:
        return None


class Headers:
    """Immutable, case-insensitive view of the ASGI header list ``[(name, value), ...]``.

    Names compare ASCII-case-insensitively and come back lowercased; names and values decode
    as latin-1. ``len()`` counts every entry, duplicates included; iteration yields unique names.

    Raises:
        TypeError: ``raw`` is not a list/tuple of ``(bytes, bytes)`` pairs (the message names
            the bad item).
    """

    __slots__ = ("_names", "_raw")

    def __init__(self, raw: Sequence[tuple[bytes, bytes]] = ()) -> None:
        if not isinstance(raw, (list, tuple)):
            raise TypeError(
                f"headers must be a list or tuple of (bytes, bytes) pairs, got {type(raw).__name__}"
            )
        for index, item in enumerate(raw):
            if not (
                isinstance(item, (tuple, list))
                and len(item) == 2
                and isinstance(item[0], bytes)
                and isinstance(item[1], bytes)
            ):
                raise TypeError(f"header {index} must be a (bytes, bytes) pair, got {item!r}")
        self._raw: Sequence[tuple[bytes, bytes]] = raw
        self._names: list[bytes] = [name.lower() for name, _ in raw]

    @property
    def raw(self) -> Sequence[tuple[bytes, bytes]]:
        """The list the headers were built from, unchanged."""
        return self._raw

    @overload
    def get(self, key: str) -> str | None: ...
    @overload
    def get(self, key: str, default: str) -> str: ...
    @overload
    def get(self, key: str, default: object) -> str | object: ...
    def get(self, key: str, default: object = None) -> str | object:
        """The first value of ``key``, or ``default``."""
        value = self._first(key)
        return default if value is None else value

    def getlist(self, key: str) -> list[str]:
        """Every value of ``key``, in order (empty when absent)."""
        folded = _fold(key)
        return [
            self._raw[index][1].decode("latin-1")
            for index, name in enumerate(self._names)
            if name == folded
        ]

    def keys(self) -> list[str]:
        """Unique lowercased names, in first-seen order."""
        return list(dict.fromkeys(name.decode("latin-1") for name in self._names))

    def values(self) -> list[str]:
        """Every value, duplicates included."""
        return [value.decode("latin-1") for _, value in self._raw]

    def items(self) -> list[tuple[str, str]]:
        """Every ``(name, value)`` pair, names lowercased, duplicates included."""
        return [
            (name.decode("latin-1"), raw[1].decode("latin-1"))
            for name, raw in zip(self._names, self._raw, strict=True)
        ]

    def __getitem__(self, key: str) -> str:
        value = self._first(key)
        if value is None:
            raise KeyError(key)
        return value

    def _first(self, key: object) -> str | None:
        folded = _fold(key)
        for index, name in enumerate(self._names):
            if name == folded:
                return self._raw[index][1].decode("latin-1")
        return None

    def __contains__(self, key: object) -> bool:
        folded = _fold(key)
        return folded is not None and folded in self._names

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self._raw)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Headers):
            return NotImplemented
        return self.items() == other.items()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Headers({self.items()!r})"
