"""Malformed and unexpected ASGI messages from the server: clear errors, consistent state.

Each bad message gives the documented ``RuntimeError`` (malformed or unexpected message) or
``TypeError`` (a payload of the wrong type) with a message naming the problem; the connection
stays in the state it was in, so the next good message is received normally.
"""

from __future__ import annotations

from typing import Any

import pytest

from genro_asgi.exceptions import WebSocketDisconnect
from genro_asgi.websocket import WebSocket, WebSocketState

from .transport import CONNECT, accepted, binary, connection, disconnect, text

CONNECTING = WebSocketState.CONNECTING
CONNECTED = WebSocketState.CONNECTED
DISCONNECTED = WebSocketState.DISCONNECTED
RECEIVE = "websocket.receive"
RECEIVERS = ("receive_text", "receive_bytes", "receive_data")


async def receive(ws: WebSocket, method: str) -> Any:
    result: Any = await getattr(ws, method)()
    return result


async def assert_still_usable(ws: WebSocket, method: str, transport: Any) -> None:
    """The connection is CONNECTED and the next good frame arrives normally."""
    assert ws.connection_state is CONNECTED
    assert ws.close_code is None
    transport.push(binary(b"ok") if method == "receive_bytes" else text("ok"))
    assert await receive(ws, method) in ("ok", b"ok")


# -- missing or unusable 'type' ----------------------------------------------------------------

NO_TYPE: list[Any] = [
    {},
    {"text": "hi"},
    {"TYPE": RECEIVE, "text": "hi"},
    None,
    "websocket.receive",
    b"websocket.receive",
    42,
    ["websocket.receive"],
    (RECEIVE, "hi"),
]


@pytest.mark.parametrize("method", RECEIVERS)
@pytest.mark.parametrize("message", NO_TYPE, ids=repr)
async def test_message_without_type(method: str, message: Any) -> None:
    ws, transport = await accepted(message)
    with pytest.raises(RuntimeError, match="Malformed ASGI message without a 'type'"):
        await receive(ws, method)
    await assert_still_usable(ws, method, transport)


@pytest.mark.parametrize("message", [{}, {"text": "hi"}, {"type": None}])
async def test_accept_with_a_first_message_without_type(message: Any) -> None:
    ws, transport = connection(message)
    with pytest.raises(RuntimeError, match=r"Expected 'websocket\.connect', received None"):
        await ws.accept()
    assert ws.connection_state is CONNECTING
    assert transport.sent == []


@pytest.mark.parametrize("message", [None, "websocket.connect", 42, ["websocket.connect"]])
async def test_accept_with_a_first_message_that_is_not_a_mapping(message: Any) -> None:
    ws, transport = connection(message)
    with pytest.raises(RuntimeError, match="Malformed ASGI message without a 'type'"):
        await ws.accept()
    assert ws.connection_state is CONNECTING
    assert transport.sent == []


# -- unknown or misplaced types ----------------------------------------------------------------

UNKNOWN_TYPES: list[Any] = [
    "websocket.send",
    "websocket.accept",
    "websocket.close",
    "websocket.Receive",
    "websocket.receive ",
    "http.request",
    "http.disconnect",
    "lifespan.startup",
    "",
    None,
    42,
    b"websocket.receive",
]


@pytest.mark.parametrize("method", RECEIVERS)
@pytest.mark.parametrize("kind", UNKNOWN_TYPES, ids=repr)
async def test_unknown_message_type_is_named(method: str, kind: Any) -> None:
    ws, transport = await accepted({"type": kind, "text": "hi"})
    with pytest.raises(RuntimeError, match="Unexpected ASGI message") as info:
        await receive(ws, method)
    assert repr(kind) in str(info.value)
    await assert_still_usable(ws, method, transport)


@pytest.mark.parametrize("kind", ["websocket.receive", "websocket.send", "http.request", None])
async def test_accept_names_an_unexpected_first_message(kind: Any) -> None:
    ws, transport = connection({"type": kind, "text": "hi"})
    with pytest.raises(RuntimeError, match=r"Expected 'websocket\.connect'") as info:
        await ws.accept()
    assert repr(kind) in str(info.value)
    assert ws.connection_state is CONNECTING
    assert transport.sent == []


@pytest.mark.parametrize("method", RECEIVERS)
async def test_websocket_connect_arriving_twice(method: str) -> None:
    ws, transport = await accepted(CONNECT)
    with pytest.raises(RuntimeError, match=r"Unexpected ASGI message 'websocket\.connect'"):
        await receive(ws, method)
    assert transport.sent_types == ["websocket.accept"]
    await assert_still_usable(ws, method, transport)


async def test_accept_cannot_consume_a_second_connect() -> None:
    ws, transport = await accepted(CONNECT)
    with pytest.raises(RuntimeError, match="accept\\(\\) called in state CONNECTED"):
        await ws.accept()
    assert transport.receive_calls == 1
    assert list(transport.inbox) == [CONNECT]


# -- websocket.receive with neither or both payloads -------------------------------------------

NEITHER: list[dict[str, Any]] = [
    {"type": RECEIVE},
    {"type": RECEIVE, "text": None},
    {"type": RECEIVE, "bytes": None},
    {"type": RECEIVE, "text": None, "bytes": None},
]
BOTH: list[dict[str, Any]] = [
    {"type": RECEIVE, "text": "a", "bytes": b"a"},
    {"type": RECEIVE, "text": "", "bytes": b""},
    {"type": RECEIVE, "text": 1, "bytes": 2},
]


@pytest.mark.parametrize("method", RECEIVERS)
@pytest.mark.parametrize("message", NEITHER, ids=repr)
async def test_receive_with_neither_payload(method: str, message: dict[str, Any]) -> None:
    ws, transport = await accepted(message)
    with pytest.raises(RuntimeError, match="neither 'text' nor 'bytes'"):
        await receive(ws, method)
    await assert_still_usable(ws, method, transport)


@pytest.mark.parametrize("method", RECEIVERS)
@pytest.mark.parametrize("message", BOTH, ids=repr)
async def test_receive_with_both_payloads(method: str, message: dict[str, Any]) -> None:
    ws, transport = await accepted(message)
    with pytest.raises(RuntimeError, match="both 'text' and 'bytes'"):
        await receive(ws, method)
    await assert_still_usable(ws, method, transport)


@pytest.mark.parametrize(
    ("message", "method", "expected"),
    [
        ({"type": RECEIVE, "text": "", "bytes": None}, "receive_text", ""),
        ({"type": RECEIVE, "text": None, "bytes": b""}, "receive_bytes", b""),
        ({"type": RECEIVE, "text": "x", "bytes": None}, "receive_data", "x"),
        ({"type": RECEIVE, "text": None, "bytes": b"x"}, "receive_data", b"x"),
    ],
)
async def test_one_payload_none_is_valid(message: Any, method: str, expected: Any) -> None:
    ws, _ = await accepted(message)
    assert await receive(ws, method) == expected


# -- wrong payload types -----------------------------------------------------------------------

WRONG_TEXT: list[Any] = [b"hi", bytearray(b"hi"), 1, 1.5, ["hi"], {"hi": 1}, True]
WRONG_BYTES: list[Any] = ["hi", bytearray(b"hi"), memoryview(b"hi"), 1, [104, 105], False]


@pytest.mark.parametrize("method", RECEIVERS)
@pytest.mark.parametrize("value", WRONG_TEXT, ids=repr)
async def test_text_payload_of_wrong_type(method: str, value: Any) -> None:
    ws, transport = await accepted({"type": RECEIVE, "text": value})
    with pytest.raises(TypeError, match="'text' must be str, got " + type(value).__name__):
        await receive(ws, method)
    await assert_still_usable(ws, method, transport)


@pytest.mark.parametrize("method", RECEIVERS)
@pytest.mark.parametrize("value", WRONG_BYTES, ids=repr)
async def test_bytes_payload_of_wrong_type(method: str, value: Any) -> None:
    ws, transport = await accepted({"type": RECEIVE, "bytes": value})
    with pytest.raises(TypeError, match="'bytes' must be bytes, got " + type(value).__name__):
        await receive(ws, method)
    await assert_still_usable(ws, method, transport)


async def test_frame_of_the_other_kind_is_consumed_and_named() -> None:
    ws, transport = await accepted(binary(b"x"), text("y"))
    with pytest.raises(TypeError, match=r"Use receive_bytes\(\)"):
        await ws.receive_text()
    with pytest.raises(TypeError, match=r"Use receive_text\(\)"):
        await ws.receive_bytes()
    assert transport.receive_calls == 3
    await assert_still_usable(ws, "receive_text", transport)


@pytest.mark.parametrize(
    ("message", "match"),
    [
        (disconnect(code=None) | {"code": "1000"}, "'code' must be int, got str"),
        (disconnect(code=None) | {"code": 1000.0}, "'code' must be int, got float"),
        (disconnect(code=None) | {"code": True}, "'code' must be int, got bool"),
        (disconnect(reason=None) | {"reason": b"bye"}, "'reason' must be str, got bytes"),
        (disconnect(reason=None) | {"reason": 1}, "'reason' must be str, got int"),
    ],
)
@pytest.mark.parametrize("method", RECEIVERS)
async def test_disconnect_with_payload_of_wrong_type(
    method: str, message: dict[str, Any], match: str
) -> None:
    """The client is gone (the message says so): TypeError names the field, the state follows."""
    ws, transport = await accepted(message, text("never read"))
    with pytest.raises(TypeError, match=match):
        await receive(ws, method)
    assert ws.connection_state is DISCONNECTED
    assert ws.close_code == 1006
    assert ws.close_reason == ""
    with pytest.raises(WebSocketDisconnect) as info:
        await receive(ws, method)
    assert info.value.code == 1006
    assert transport.receive_calls == 2
    await ws.close()
    assert transport.sent_types == ["websocket.accept"]


@pytest.mark.parametrize(
    ("message", "match"),
    [
        (disconnect(code=None) | {"code": "1000"}, "'code' must be int, got str"),
        (disconnect(reason=None) | {"reason": b"bye"}, "'reason' must be str, got bytes"),
    ],
)
async def test_disconnect_of_wrong_type_during_accept(message: dict[str, Any], match: str) -> None:
    ws, transport = connection(message)
    with pytest.raises(TypeError, match=match):
        await ws.accept()
    assert ws.connection_state is DISCONNECTED
    assert ws.close_code == 1006
    assert transport.sent == []


# -- messages after disconnect -----------------------------------------------------------------


@pytest.mark.parametrize("method", RECEIVERS)
async def test_messages_after_client_disconnect_are_never_read(method: str) -> None:
    ws, transport = await accepted(disconnect(4001, "gone"), text("late"), CONNECT)
    for _ in range(3):
        with pytest.raises(WebSocketDisconnect) as info:
            await receive(ws, method)
        assert (info.value.code, info.value.reason) == (4001, "gone")
    assert transport.receive_calls == 2  # connect + disconnect, nothing after
    assert ws.connection_state is DISCONNECTED
    assert (ws.close_code, ws.close_reason) == (4001, "gone")
    with pytest.raises(WebSocketDisconnect):
        await ws.send_text("x")
    assert transport.sent_types == ["websocket.accept"]


async def test_messages_after_disconnect_during_accept_are_never_read() -> None:
    ws, transport = connection(disconnect(1001), CONNECT, text("late"))
    with pytest.raises(WebSocketDisconnect) as info:
        await ws.accept()
    assert info.value.code == 1001
    for method in RECEIVERS:
        with pytest.raises(WebSocketDisconnect):
            await receive(ws, method)
    assert transport.receive_calls == 1
    assert transport.sent == []


@pytest.mark.parametrize("method", RECEIVERS)
async def test_messages_after_app_close_are_never_read(method: str) -> None:
    ws, transport = await accepted(text("late"))
    await ws.close(1000)
    with pytest.raises(RuntimeError, match="after close"):
        await receive(ws, method)
    assert transport.receive_calls == 1
    assert transport.sent_types == ["websocket.accept", "websocket.close"]
    assert ws.close_code == 1000


async def test_iteration_stops_at_disconnect_and_reads_nothing_after() -> None:
    ws, transport = await accepted(text("a"), text("b"), disconnect(1000), text("late"))
    assert [message async for message in ws] == ["a", "b"]
    assert transport.receive_calls == 4
    assert [message async for message in ws] == []
    assert transport.receive_calls == 4


async def test_iteration_propagates_a_malformed_message() -> None:
    ws, _ = await accepted(text("a"), {"type": "websocket.bogus"})
    seen = []

    async def consume() -> None:
        async for message in ws:
            seen.append(message)

    with pytest.raises(RuntimeError, match=r"'websocket\.bogus'"):
        await consume()
    assert seen == ["a"]
    assert ws.connection_state is CONNECTED
