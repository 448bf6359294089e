"""Pure-Python ``QueryParams``: the reference for ``_query_c.pyx``.

There is no ``.pyi``: the switch ``_query.py`` imports this module under ``TYPE_CHECKING``,
so the type checker reads these signatures for the compiled module too.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import overload
from urllib.parse import parse_qsl

from .types import Scope


class QueryParams:
    """Immutable multi-dict of query parameters.

    Built from ``bytes`` (decoded as latin-1) or ``str``; the pairs are exactly
    ``urllib.parse.parse_qsl(qs, keep_blank_values=True)``. ``get``/``[]``/``values()``/
    ``items()`` see the first value of each key; ``multi_items()`` every pair in order;
    ``len()`` counts unique keys. Equality is order-sensitive over ``multi_items()``.

    Raises:
        TypeError: the query is neither ``str`` nor ``bytes``.
    """

    __slots__ = ("_dict", "_list")

    def __init__(self, query: str | bytes = "") -> None:
        if isinstance(query, bytes):
            query = query.decode("latin-1")
        elif not isinstance(query, str):
            raise TypeError(f"A query must be str or bytes, got {type(query).__name__}.")
        self._list = parse_qsl(query, keep_blank_values=True)
        first: dict[str, str] = {}
        for key, value in self._list:
            first.setdefault(key, value)
        self._dict = first

    @overload
    def get(self, key: str) -> str | None: ...
    @overload
    def get(self, key: str, default: str) -> str: ...
    @overload
    def get(self, key: str, default: object) -> str | object: ...
    def get(self, key: str, default: object = None) -> str | object:
        """The first value of ``key``, or ``default``."""
        return self._dict.get(key, default)

    def getlist(self, key: str) -> list[str]:
        """Every value of ``key``, in order (empty when absent)."""
        return [value for name, value in self._list if name == key]

    def keys(self) -> list[str]:
        """Unique keys, in first-seen order."""
        return list(self._dict)

    def values(self) -> list[str]:
        """The first value of each unique key."""
        return list(self._dict.values())

    def items(self) -> list[tuple[str, str]]:
        """``(key, first value)`` for each unique key."""
        return list(self._dict.items())

    def multi_items(self) -> list[tuple[str, str]]:
        """Every ``(key, value)`` pair, in the original order."""
        return list(self._list)

    def __getitem__(self, key: str) -> str:
        return self._dict[key]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key in self._dict

    def __iter__(self) -> Iterator[str]:
        return iter(self._dict)

    def __len__(self) -> int:
        return len(self._dict)

    def __bool__(self) -> bool:
        return bool(self._dict)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, QueryParams):
            return NotImplemented
        return self._list == other._list

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"QueryParams({self._list!r})"


def query_params_from_scope(scope: Scope, /) -> QueryParams:
    """``QueryParams`` parsed from ``scope["query_string"]`` (empty when absent)."""
    return QueryParams(scope.get("query_string", b""))
