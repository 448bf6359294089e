"""Fuzz ``Headers``: the compiled module against the pure twin and a plain model.

Input layout (see ``encode``): a flags byte, then entries ``len(name) name len(value) value``,
then look-up keys. Flags turn the list into a tuple, pairs into lists, or inject one bad item,
so the ``TypeError`` paths are fuzzed too.

    python fuzz/fuzz_headers.py fuzz/corpus/headers -max_total_time=60
"""

from __future__ import annotations

import sys
from pathlib import Path
from types import ModuleType
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from _common import Reader, main, outcome, same


class BytesSub(bytes):
    """A ``bytes`` subclass: accepted as bytes by ``isinstance``."""


class Pair(tuple):  # type: ignore[type-arg]
    """A ``tuple`` subclass pair (as a NamedTuple would be)."""


def bad_items(name: bytes, value: bytes) -> list[Any]:
    return [
        (name.decode("latin-1"), value),
        (name, value.decode("latin-1")),
        (bytearray(name), value),
        (name, memoryview(value)),
        (name, value, b""),
        (name,),
        (),
        None,
        name,
        name.decode("latin-1"),
        42,
        (BytesSub(name), value),
        (name, BytesSub(value)),
        Pair((name, value)),
        [name, value, value],
        {name: value},
    ]


NOT_A_LIST: list[Any] = [None, b"", "", {b"a": b"b"}, iter([(b"a", b"b")]), 1, {(b"a", b"b")}]


def build(data: bytes) -> tuple[Any, list[Any]]:
    """The header list and the look-up keys that ``data`` stands for."""
    reader = Reader(data)
    flags = reader.byte()
    count = reader.byte() % 65
    raw: list[Any] = []
    for _ in range(count):
        if not reader:
            break
        name = reader.take(reader.byte() % 48)
        value = reader.take(reader.byte())
        pair: Any = [name, value] if flags & 2 and reader.byte() & 1 else (name, value)
        raw.append(pair)
    keys: list[Any] = []
    for entry in raw[:8]:
        name = entry[0].decode("latin-1")
        keys += [name, name.upper(), name.swapcase(), name + " "]
    while reader and len(keys) < 40:
        chunk = reader.take(reader.byte() % 16)
        keys += [chunk.decode("latin-1"), chunk.decode("utf-8", "replace"), chunk]
    keys += [None, 1, "", "\u0100", "host\x00", "\udcff"]
    if flags & 4:
        name, value = raw[0] if raw else (b"x", b"y")
        options = bad_items(bytes(name), bytes(value))
        raw.insert((flags >> 4) % (len(raw) + 1), options[reader.byte() % len(options)])
    if flags & 0xF8 == 0xF8:
        return NOT_A_LIST[reader.byte() % len(NOT_A_LIST)], keys
    return (tuple(raw) if flags & 1 else raw), keys


def model_items(raw: Any) -> list[tuple[str, str]]:
    """The SPEC: names ASCII-lowercased, both decoded as latin-1, duplicates kept."""
    return [(bytes(n).lower().decode("latin-1"), bytes(v).decode("latin-1")) for n, v in raw]


def check(data: bytes, candidate: ModuleType, reference: ModuleType) -> None:
    raw, keys = build(data)
    built = outcome(candidate.Headers, raw)
    expected = outcome(reference.Headers, raw)
    if built[0] == "raised" or expected[0] == "raised":
        same("Headers(raw)", built, expected)
        return
    got: Any = built[1]
    ref: Any = expected[1]
    items = model_items(raw)
    same("items()", got.items(), ref.items())
    same("items() vs model", got.items(), items)
    same("len()", len(got), len(ref))
    same("keys()", got.keys(), ref.keys())
    same("keys() vs model", got.keys(), list(dict.fromkeys(n for n, _ in items)))
    same("values()", got.values(), ref.values())
    same("iter", list(got), list(ref))
    same("repr", repr(got), repr(ref))
    if got.raw is not raw:
        raise AssertionError("raw is not the list given")
    same("==", got == candidate.Headers(raw), True)
    same("!= other", got != object(), True)
    same("unhashable", outcome(hash, got)[1][0], TypeError)  # messages name the class
    for key in keys:
        for name, function, args in (
            ("get", "get", (key,)),
            ("get default", "get", (key, "D")),
            ("getlist", "getlist", (key,)),
            ("[]", "__getitem__", (key,)),
            ("in", "__contains__", (key,)),
        ):
            same(
                f"{name}({key!r})",
                outcome(getattr(got, function), *args),
                outcome(getattr(ref, function), *args),
            )


def encode(flags: int, entries: list[tuple[bytes, bytes]], keys: list[bytes] = ()) -> bytes:  # type: ignore[assignment]
    """The fuzz input for ``entries`` (and extra look-up keys), for the seed corpus."""
    out = bytearray([flags, len(entries)])
    for name, value in entries:
        out += bytes([len(name)]) + name + bytes([len(value)]) + value
    for key in keys:
        out += bytes([len(key)]) + key
    return bytes(out)


if __name__ == "__main__":
    main("headers", check)
