"""Fuzz message dispatch: the compiled module against the pure twin, on every message shape.

Input layout: one byte per field choice (container, type, text, bytes, code, reason), then
payload bytes. Every choice includes absent keys, ``None``, wrong types and subclasses.

    python fuzz/fuzz_dispatch.py fuzz/corpus/dispatch -max_total_time=60
"""

from __future__ import annotations

import sys
from collections import OrderedDict
from pathlib import Path
from types import ModuleType
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from _common import Reader, main, outcome, same

FUNCTIONS = ("text_payload", "bytes_payload", "data_payload", "disconnect_exception")
MISSING: Any = object()


class StrSub(str):
    """A ``str`` subclass."""


class BytesSub(bytes):
    """A ``bytes`` subclass."""


class DictSub(dict):  # type: ignore[type-arg]
    """A plain ``dict`` subclass."""


class LoudDict(dict):  # type: ignore[type-arg]
    """A ``dict`` whose ``get`` lies: the compiled fast path must not bypass it."""

    def get(self, key: Any, default: Any = None) -> Any:
        return "from get()" if key == "text" else super().get(key, default)


def choose(reader: Reader, options: list[Any]) -> Any:
    return options[reader.byte() % len(options)]


def build(data: bytes) -> Any:
    """The message ``data`` stands for."""
    reader = Reader(data)
    picks = [reader.byte() for _ in range(6)]
    payload = reader.rest()
    text = payload.decode("utf-8", "replace")
    number = int.from_bytes(payload[:9], "little", signed=True)

    def pick(index: int, options: list[Any]) -> Any:
        return options[picks[index] % len(options)]

    kind = pick(
        1,
        [
            "websocket.receive",
            "websocket.receive",
            "websocket.disconnect",
            "websocket.connect",
            "websocket.send",
            text,
            "",
            MISSING,
            None,
            1,
            b"websocket.receive",
            StrSub("websocket.receive"),
            StrSub("websocket.disconnect"),
        ],
    )
    fields = {
        "type": kind,
        "text": pick(2, [MISSING, None, text, "", StrSub(text), payload, bytearray(payload), 0]),
        "bytes": pick(
            3,
            [
                MISSING,
                None,
                payload,
                b"",
                BytesSub(payload),
                text,
                bytearray(payload),
                memoryview(payload),
                0,
            ],
        ),
        "code": pick(4, [MISSING, None, number, 1000, True, str(number), 1000.0, 2**70]),
        "reason": pick(5, [MISSING, None, text, "", payload, StrSub(text), 0]),
    }
    items = [(k, v) for k, v in fields.items() if v is not MISSING]
    container = picks[0] % 9
    if container < 4:
        return dict(items)
    if container == 4:
        return OrderedDict(items)
    if container == 5:
        return DictSub(items)
    if container == 6:
        return LoudDict(items)
    return [None, items, text, payload][picks[0] % 4]


def result(value: Any) -> Any:
    """Exceptions returned by ``disconnect_exception`` compare by type, args, code, reason."""
    if isinstance(value, BaseException):
        return (
            type(value),
            value.args,
            getattr(value, "code", None),
            getattr(value, "reason", None),
        )
    return value


def check(data: bytes, candidate: ModuleType, reference: ModuleType) -> None:
    message = build(data)
    for name in FUNCTIONS:
        got = outcome(getattr(candidate, name), message)
        expected = outcome(getattr(reference, name), message)
        allowed = ("TypeError", "RuntimeError", "AttributeError", "WebSocketDisconnect")
        if got[0] == "raised" and got[1][0].__name__ not in allowed:
            raise AssertionError(f"{name}({message!r}) raised {got[1]!r}")
        same(f"{name}({message!r})", (got[0], result(got[1])), (expected[0], result(expected[1])))


if __name__ == "__main__":
    main("dispatch", check)
