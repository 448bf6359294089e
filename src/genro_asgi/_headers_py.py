"""Pure-Python ``Headers``: the reference for ``_headers_c.pyx``.

There is no ``.pyi``: the switch ``_headers.py`` imports this module under ``TYPE_CHECKING``,
so the type checker reads these signatures for the compiled module too.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import overload

from .types import Scope


def _fold(key: object) -> bytes | None:
    """The ASCII-lowercased latin-1 bytes of a ``str`` key; None when it cannot match."""
    if not isinstance(key, str):
        return None
    try:
        return key.encode("latin-1").lower()
    except UnicodeEncodeError:
        return None


def _pair(index: int, item: object) -> tuple[bytes, bytes]:
    """``item`` as a ``(name, value)`` pair, or the ``TypeError`` naming header ``index``."""
    if (
        isinstance(item, (tuple, list))
        and len(item) == 2
        and isinstance(item[0], bytes)
        and isinstance(item[1], bytes)
    ):
        return item[0], item[1]
    raise TypeError(f"Header {index} must be a (bytes, bytes) pair, got {item!r}.")


class Headers:
    """Immutable, case-insensitive view of the ASGI header list ``[(name, value), ...]``.

    Names compare ASCII-case-insensitively and come back lowercased; names and values decode
    as latin-1. ``len()`` counts every entry, duplicates included; iteration yields unique names.
    The list is referenced, not copied, and read at each look-up: an item spoiled after
    construction raises the same ``TypeError`` then, never a wrong answer.

    Raises:
        TypeError: ``raw`` is not a list/tuple of ``(bytes, bytes)`` pairs (the message names
            the bad item).
    """

    __slots__ = ("_raw",)

    def __init__(self, raw: Sequence[tuple[bytes, bytes]] = ()) -> None:
        if not isinstance(raw, (list, tuple)):
            raise TypeError(
                "Headers must be a list or tuple of (bytes, bytes) pairs, "
                f"got {type(raw).__name__}."
            )
        for index, item in enumerate(raw):
            _pair(index, item)
        self._raw: Sequence[tuple[bytes, bytes]] = raw

    def _pairs(self) -> Iterator[tuple[bytes, bytes]]:
        """The checked pairs, names lowercased, read from the list now."""
        for index, item in enumerate(self._raw):
            name, value = _pair(index, item)
            yield name.lower(), value

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
        return [value.decode("latin-1") for name, value in self._pairs() if name == folded]

    def keys(self) -> list[str]:
        """Unique lowercased names, in first-seen order."""
        return list(dict.fromkeys(name.decode("latin-1") for name, _ in self._pairs()))

    def values(self) -> list[str]:
        """Every value, duplicates included."""
        return [value.decode("latin-1") for _, value in self._pairs()]

    def items(self) -> list[tuple[str, str]]:
        """Every ``(name, value)`` pair, names lowercased, duplicates included."""
        return [(name.decode("latin-1"), value.decode("latin-1")) for name, value in self._pairs()]

    def __getitem__(self, key: str) -> str:
        value = self._first(key)
        if value is None:
            raise KeyError(key)
        return value

    def _first(self, key: object) -> str | None:
        folded = _fold(key)
        if folded is not None:
            for name, value in self._pairs():
                if name == folded:
                    return value.decode("latin-1")
        return None

    def __contains__(self, key: object) -> bool:
        folded = _fold(key)
        return folded is not None and any(name == folded for name, _ in self._pairs())

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


def headers_from_scope(scope: Scope, /) -> Headers:
    """``Headers`` over ``scope["headers"]`` (empty when absent)."""
    return Headers(scope.get("headers", ()))
