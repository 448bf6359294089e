"""Fuzz ``QueryParams``: the compiled module against the pure twin and ``parse_qsl``.

Input layout: a flags byte, then the query string bytes. Flags pick how it is passed (bytes,
a latin-1 ``str``, a UTF-8 ``str`` with non-latin-1 characters, or a wrong type).

    python fuzz/fuzz_query.py fuzz/corpus/query -max_total_time=60
"""

from __future__ import annotations

import sys
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import parse_qsl

sys.path.insert(0, str(Path(__file__).parent))
from _common import Reader, main, outcome, same


def build(data: bytes) -> tuple[Any, str | None]:
    """The query to parse, and the ``str`` that ``parse_qsl`` sees (None for a bad type)."""
    reader = Reader(data)
    flags = reader.byte()
    raw = reader.rest()
    form = flags & 7
    if form == 1:
        text = raw.decode("latin-1")
        return text, text
    if form == 2:
        text = raw.decode("utf-8", "replace")
        return text, text
    if form == 3 and flags & 0xF0 == 0xF0:
        wrong: list[Any] = [bytearray(raw), memoryview(raw), None, 1, [raw], raw.split(b"&")]
        return wrong[(flags >> 3) % len(wrong)], None
    return raw, raw.decode("latin-1")


def check(data: bytes, candidate: ModuleType, reference: ModuleType) -> None:
    query, text = build(data)
    built = outcome(candidate.QueryParams, query)
    expected = outcome(reference.QueryParams, query)
    if built[0] == "raised" or expected[0] == "raised" or text is None:
        same("QueryParams(query)", built, expected)
        if text is None and built[0] != "raised":
            raise AssertionError(f"QueryParams({query!r}) should raise TypeError")
        return
    got: Any = built[1]
    ref: Any = expected[1]
    pairs = parse_qsl(text, keep_blank_values=True)
    same("multi_items() vs parse_qsl", got.multi_items(), pairs)
    same("multi_items()", got.multi_items(), ref.multi_items())
    same("items()", got.items(), ref.items())
    same("keys()", got.keys(), ref.keys())
    same("values()", got.values(), ref.values())
    same("iter", list(got), list(ref))
    same("len()", len(got), len(ref))
    same("bool()", bool(got), bool(ref))
    same("repr", repr(got), repr(ref))
    same("== same query", got == candidate.QueryParams(query), True)
    same("== as str", got == candidate.QueryParams(text), True)
    same("!= other", got != object(), True)
    same("unhashable", outcome(hash, got)[1][0], TypeError)  # messages name the class
    keys: list[Any] = list(dict.fromkeys(key for key, _ in pairs))[:16]
    keys += [k + "x" for k in keys[:4]] + [k.upper() for k in keys[:4]]
    keys += [None, 1, b"a", "", "\u0100", "\x00"]
    keys += [key.encode("utf-8", "surrogatepass") for key in keys[:2] if isinstance(key, str)]
    for key in keys:
        for name, args in (
            ("get", (key,)),
            ("get", (key, "D")),
            ("getlist", (key,)),
            ("__getitem__", (key,)),
            ("__contains__", (key,)),
        ):
            same(
                f"{name}{args!r}",
                outcome(getattr(got, name), *args),
                outcome(getattr(ref, name), *args),
            )


if __name__ == "__main__":
    main("query", check)
