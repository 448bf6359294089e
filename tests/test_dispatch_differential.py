"""Differential tests: the compiled dispatch gives the pure twin's result or exception, always."""

from __future__ import annotations

import sys
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from .conftest import ModulePair

FUNCTIONS = ("text_payload", "bytes_payload", "data_payload", "disconnect_exception")
RECEIVE = "websocket.receive"
DISCONNECT = "websocket.disconnect"


class StrKind(str):
    """A ``str`` subclass as the message type: compared by value, like the pure twin does."""


class GetItemOnly:
    """Has ``__getitem__`` but no ``get``: the generic path must fail the same way."""

    def __getitem__(self, key: str) -> str:
        return RECEIVE

    def __repr__(self) -> str:
        return "GetItemOnly()"


class LoudDict(dict[str, Any]):
    """A dict subclass whose ``get`` is overridden: the compiled fast path must not bypass it."""

    def get(self, key: str, default: Any = None) -> Any:
        return "from get()" if key == "text" else super().get(key, default)


def fresh(key: str) -> str:
    """An equal ``str`` that is not the interned object: the compiled scan must not match it."""
    copy = "".join(list(key))
    assert copy == key
    assert copy is not sys.intern(key)
    return copy


def outcome(function: Callable[[Any], Any], message: Any) -> tuple[str, Any]:
    """What ``function(message)`` does: its result, or its exception's type and message."""
    try:
        result = function(message)
    except Exception as exc:  # the point is to compare any exception
        return ("raised", (type(exc), str(exc)))
    if isinstance(result, BaseException):
        return ("returned", (type(result), result.args, getattr(result, "code", None)))
    return ("returned", (type(result), result))


def assert_same(pair: ModulePair, message: Any, functions: tuple[str, ...] = FUNCTIONS) -> None:
    for name in functions:
        pure = outcome(getattr(pair.pure, name), message)
        compiled = outcome(getattr(pair.compiled, name), message)
        assert compiled == pure, f"{name}({message!r})"


MESSAGES: list[Any] = [
    # text frames
    {"type": RECEIVE, "text": "hello"},
    {"type": RECEIVE, "text": ""},
    {"type": RECEIVE, "text": "é€😀"},
    {"type": RECEIVE, "text": "hi", "bytes": None},
    {"type": RECEIVE, "text": StrKind("sub")},
    # binary frames
    {"type": RECEIVE, "bytes": b"\x00\xff"},
    {"type": RECEIVE, "bytes": b""},
    {"type": RECEIVE, "bytes": b"x", "text": None},
    # malformed receive messages
    {"type": RECEIVE},
    {"type": RECEIVE, "text": None, "bytes": None},
    {"type": RECEIVE, "text": "a", "bytes": b"b"},
    {"type": RECEIVE, "text": "", "bytes": b""},
    {"type": RECEIVE, "text": b"not str"},
    {"type": RECEIVE, "text": 1},
    {"type": RECEIVE, "bytes": "not bytes"},
    {"type": RECEIVE, "bytes": bytearray(b"x")},
    {"type": RECEIVE, "bytes": memoryview(b"x")},
    # disconnects
    {"type": DISCONNECT},
    {"type": DISCONNECT, "code": 1001},
    {"type": DISCONNECT, "code": 4000, "reason": "bye"},
    {"type": DISCONNECT, "reason": "no code"},
    {"type": DISCONNECT, "code": None, "reason": None},
    {"type": DISCONNECT, "code": True},
    {"type": DISCONNECT, "code": "1000"},
    {"type": DISCONNECT, "code": 1000.0},
    {"type": DISCONNECT, "code": 1000, "reason": b"bytes"},
    {"type": DISCONNECT, "code": 1000, "reason": 5},
    # other and missing types
    {"type": "websocket.connect"},
    {"type": "websocket.send", "text": "x"},
    {"type": "http.request"},
    {"type": None},
    {"type": 1},
    {"type": b"websocket.receive", "text": "x"},
    {"type": StrKind(RECEIVE), "text": "str subclass type"},
    {"type": StrKind(DISCONNECT), "code": 1002},
    {},
    {"text": "no type"},
    # keys that are equal strings but not the interned objects, and extra keys
    {fresh("type"): RECEIVE, fresh("text"): "fresh keys"},
    {"type": RECEIVE, fresh("text"): "fresh text key"},
    {fresh("type"): RECEIVE, "bytes": b"fresh type key"},
    {"type": RECEIVE, "bytes": b"x", fresh("text"): "y"},
    {"type": RECEIVE, "text": "extra", "other": 1},
    {"extra": 1, "type": RECEIVE, "text": "extra first"},
    {"text": "type last", "type": RECEIVE},
    {"bytes": None, "text": None, "type": RECEIVE},
    {fresh("type"): DISCONNECT, "code": 1000},
    # not a dict
    None,
    "websocket.receive",
    b"websocket.receive",
    42,
    ["websocket.receive"],
    ("websocket.receive", "hi"),
    GetItemOnly(),
    OrderedDict(type=RECEIVE, text="ordered"),
    LoudDict(type=RECEIVE),
    LoudDict(type=DISCONNECT, code=1003),
]


@pytest.mark.parametrize("message", MESSAGES, ids=repr)
def test_table(dispatch_pair: ModulePair, message: Any) -> None:
    assert_same(dispatch_pair, message)


def test_table_covers_every_outcome(dispatch_pair: ModulePair) -> None:
    """The table exercises every return and every exception the twins can produce."""
    seen: set[tuple[str, Any]] = set()
    for message in MESSAGES:
        for name in FUNCTIONS:
            kind, detail = outcome(getattr(dispatch_pair.compiled, name), message)
            seen.add((kind, detail[0]))
    assert seen >= {
        ("returned", str),
        ("returned", bytes),
        ("returned", dispatch_pair.pure.WebSocketDisconnect),
        ("raised", dispatch_pair.pure.WebSocketDisconnect),
        ("raised", TypeError),
        ("raised", RuntimeError),
        ("raised", AttributeError),
    }


def test_results_are_the_payload_objects(dispatch_pair: ModulePair) -> None:
    """No copies: the compiled twin hands back the very objects in the message."""
    text, data = "x" * 100, b"y" * 100
    assert dispatch_pair.compiled.text_payload({"type": RECEIVE, "text": text}) is text
    assert dispatch_pair.compiled.bytes_payload({"type": RECEIVE, "bytes": data}) is data
    assert dispatch_pair.compiled.data_payload({"type": RECEIVE, "bytes": data}) is data


def test_disconnect_raises_websocket_disconnect(dispatch_pair: ModulePair) -> None:
    for module in (dispatch_pair.pure, dispatch_pair.compiled):
        with pytest.raises(module.WebSocketDisconnect) as caught:
            module.text_payload({"type": DISCONNECT, "code": 1001, "reason": "away"})
        assert (caught.value.code, caught.value.reason) == (1001, "away")
        exc = module.disconnect_exception({"type": DISCONNECT})
        assert (exc.code, exc.reason) == (1005, "")


def test_same_exception_class_as_the_public_one(dispatch_pair: ModulePair) -> None:
    from genro_asgi import WebSocketDisconnect

    assert dispatch_pair.compiled.WebSocketDisconnect is WebSocketDisconnect
    assert dispatch_pair.pure.WebSocketDisconnect is WebSocketDisconnect


values = st.one_of(
    st.none(),
    st.text(max_size=20),
    st.binary(max_size=20),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.booleans(),
    st.floats(allow_nan=False),
    st.sampled_from([RECEIVE, DISCONNECT, "websocket.connect", "", StrKind(RECEIVE)]),
)
keys = st.sampled_from(["type", "text", "bytes", "code", "reason", "other"]).flatmap(
    lambda key: st.sampled_from([key, fresh(key)])  # the interned key or an equal copy
)
message_dicts = st.dictionaries(keys, values, max_size=6)
receive_messages = st.fixed_dictionaries(
    {"type": st.just(RECEIVE)},
    optional={"text": st.one_of(st.none(), st.text()), "bytes": st.one_of(st.none(), st.binary())},
)
disconnect_messages = st.fixed_dictionaries(
    {"type": st.just(DISCONNECT)},
    optional={"code": values, "reason": values},
)


@given(message=st.one_of(message_dicts, receive_messages, disconnect_messages, values))
def test_hypothesis_agree(dispatch_pair: ModulePair, message: Any) -> None:
    assert_same(dispatch_pair, message)
