"""SPEC section 4: receiving, disconnects and iteration."""

from __future__ import annotations

import re
from typing import Any

import pytest

from genro_asgi.exceptions import WebSocketDisconnect
from genro_asgi.websocket import WebSocket, WebSocketState

from .transport import CONNECT, accepted, binary, connection, disconnect, text

DISCONNECTED = WebSocketState.DISCONNECTED


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (text("hello"), "hello"),
        (text(""), ""),
        (text("€ 😀"), "€ 😀"),
        ({"type": "websocket.receive", "text": "t", "bytes": None}, "t"),
    ],
)
async def test_receive_text(message: dict[str, Any], expected: str) -> None:
    ws, _ = await accepted(message)
    assert await ws.receive_text() == expected


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (binary(b"\x00\xff"), b"\x00\xff"),
        (binary(b""), b""),
        ({"type": "websocket.receive", "text": None, "bytes": b"b"}, b"b"),
    ],
)
async def test_receive_bytes(message: dict[str, Any], expected: bytes) -> None:
    ws, _ = await accepted(message)
    result = await ws.receive_bytes()
    assert result == expected
    assert type(result) is bytes


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (text("t"), "t"),
        (text(""), ""),
        (binary(b"b"), b"b"),
        (binary(b""), b""),
        ({"type": "websocket.receive", "text": None, "bytes": b"x"}, b"x"),
        ({"type": "websocket.receive", "text": "x", "bytes": None}, "x"),
    ],
)
async def test_receive_data_either_frame(message: dict[str, Any], expected: str | bytes) -> None:
    ws, _ = await accepted(message)
    result = await ws.receive_data()
    assert result == expected
    assert type(result) is type(expected)


async def test_receive_text_rejects_binary_naming_receive_bytes() -> None:
    ws, transport = await accepted(binary(b"x"), text("next"))
    with pytest.raises(TypeError, match=r"receive_bytes\(\)"):
        await ws.receive_text()
    assert ws.connection_state is WebSocketState.CONNECTED
    assert await ws.receive_text() == "next"  # the wrong frame was consumed, nothing else
    assert transport.receive_calls == 3


async def test_receive_bytes_rejects_text_naming_receive_text() -> None:
    ws, _ = await accepted(text("x"), binary(b"next"))
    with pytest.raises(TypeError, match=r"receive_text\(\)"):
        await ws.receive_bytes()
    assert ws.connection_state is WebSocketState.CONNECTED
    assert await ws.receive_bytes() == b"next"


@pytest.mark.parametrize(
    "message",
    [
        {"type": "websocket.receive"},
        {"type": "websocket.receive", "text": None, "bytes": None},
        {"type": "websocket.receive", "text": "a", "bytes": b"a"},
    ],
)
@pytest.mark.parametrize("method", ["receive_text", "receive_bytes", "receive_data"])
async def test_malformed_receive_message(message: dict[str, Any], method: str) -> None:
    ws, _ = await accepted(message)
    with pytest.raises(RuntimeError, match=r"websocket\.receive"):
        await getattr(ws, method)()


@pytest.mark.parametrize(
    ("message", "method"),
    [
        ({"type": "websocket.receive", "text": b"not str"}, "receive_text"),
        ({"type": "websocket.receive", "bytes": "not bytes"}, "receive_bytes"),
        ({"type": "websocket.receive", "bytes": bytearray(b"x")}, "receive_data"),
    ],
)
async def test_payload_of_the_wrong_type(message: dict[str, Any], method: str) -> None:
    ws, _ = await accepted(message)
    with pytest.raises(TypeError):
        await getattr(ws, method)()


@pytest.mark.parametrize("kind", ["websocket.connect", "websocket.send", "http.disconnect", "x"])
@pytest.mark.parametrize("method", ["receive_text", "receive_bytes", "receive_data"])
async def test_unexpected_message_type_names_it(kind: str, method: str) -> None:
    ws, _ = await accepted({"type": kind})
    with pytest.raises(RuntimeError, match=re.escape(kind)):
        await getattr(ws, method)()


@pytest.mark.parametrize("message", [{}, {"text": "x"}])
async def test_message_without_type(message: dict[str, Any]) -> None:
    ws, _ = await accepted(message)
    with pytest.raises(RuntimeError, match="type"):
        await ws.receive_text()


RECEIVERS = ["receive_text", "receive_bytes", "receive_data", "receive_json"]
SENDERS = [
    ("send_text", "x"),
    ("send_bytes", b"x"),
    ("send_json", {"a": 1}),
]


@pytest.mark.parametrize("method", RECEIVERS)
@pytest.mark.parametrize(
    ("message", "code", "reason"),
    [
        (disconnect(1000), 1000, ""),
        (disconnect(1001, "going away"), 1001, "going away"),
        (disconnect(4321, "é"), 4321, "é"),
        (disconnect(None), 1005, ""),
        (disconnect(1006, None), 1006, ""),
        ({"type": "websocket.disconnect", "code": None, "reason": None}, 1005, ""),
    ],
)
async def test_disconnect_while_receiving(
    method: str, message: dict[str, Any], code: int, reason: str
) -> None:
    ws, transport = await accepted(message)
    assert ws.close_code is None
    with pytest.raises(WebSocketDisconnect) as caught:
        await getattr(ws, method)()
    assert (caught.value.code, caught.value.reason) == (code, reason)
    assert ws.connection_state is DISCONNECTED
    assert (ws.close_code, ws.close_reason) == (code, reason)
    assert transport.receive_calls == 2
    await _every_call_raises_the_same(ws, code, reason)
    assert transport.receive_calls == 2
    assert transport.sent_types == ["websocket.accept"]


async def _every_call_raises_the_same(ws: WebSocket, code: int, reason: str) -> None:
    calls = [getattr(ws, name)() for name in RECEIVERS]
    calls += [getattr(ws, name)(arg) for name, arg in SENDERS]
    calls += [ws.receive_json(mode="binary"), ws.send_json([], mode="binary")]
    for call in calls:
        with pytest.raises(WebSocketDisconnect) as again:
            await call
        assert (again.value.code, again.value.reason) == (code, reason)


async def test_repeated_disconnect_is_stable() -> None:
    ws, transport = await accepted(disconnect(1001, "bye"))
    for _ in range(5):
        with pytest.raises(WebSocketDisconnect) as caught:
            await ws.receive_text()
        assert str(caught.value) == "WebSocket disconnected with code 1001: bye"
    assert transport.receive_calls == 2


@pytest.mark.parametrize(
    "message",
    [
        {"type": "websocket.disconnect", "code": "1000"},
        {"type": "websocket.disconnect", "code": True},
        {"type": "websocket.disconnect", "code": 1000, "reason": b"bytes"},
    ],
)
async def test_malformed_disconnect_message(message: dict[str, Any]) -> None:
    ws, _ = await accepted(message)
    with pytest.raises(TypeError):
        await ws.receive_text()


# -- JSON --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "mode", "expected"),
    [
        (text('{"a": [1, 2.5, null, true]}'), "text", {"a": [1, 2.5, None, True]}),
        (text('"€"'), "text", "€"),
        (text("[]"), "text", []),
        (binary(b'{"a": 1}'), "binary", {"a": 1}),
        (binary('{"€": "😀"}'.encode()), "binary", {"€": "😀"}),
    ],
)
async def test_receive_json_modes(message: dict[str, Any], mode: str, expected: Any) -> None:
    ws, _ = await accepted(message)
    assert await ws.receive_json(mode=mode) == expected


async def test_receive_json_default_mode_is_text() -> None:
    ws, _ = await accepted(binary(b"1"))
    with pytest.raises(TypeError, match=r"receive_bytes\(\)"):
        await ws.receive_json()


async def test_receive_json_binary_rejects_text_frames() -> None:
    ws, _ = await accepted(text("1"))
    with pytest.raises(TypeError, match=r"receive_text\(\)"):
        await ws.receive_json(mode="binary")


@pytest.mark.parametrize("mode", ["TEXT", "bytes", "", None])
async def test_receive_json_bad_mode_consumes_nothing(mode: Any) -> None:
    ws, transport = await accepted(text("1"))
    with pytest.raises(ValueError, match="mode"):
        await ws.receive_json(mode=mode)
    assert transport.receive_calls == 1
    assert await ws.receive_json() == 1


# -- iteration ---------------------------------------------------------------------------------


async def test_iter_text_until_disconnect() -> None:
    ws, _ = await accepted(text("a"), text(""), text("c"), disconnect(1001))
    assert [m async for m in ws.iter_text()] == ["a", "", "c"]
    assert ws.connection_state is DISCONNECTED
    assert ws.close_code == 1001


async def test_async_for_is_iter_text() -> None:
    ws, _ = await accepted(text("a"), text("b"), disconnect())
    assert [m async for m in ws] == ["a", "b"]


async def test_iter_bytes_until_disconnect() -> None:
    ws, _ = await accepted(binary(b"a"), binary(b""), disconnect(None))
    assert [m async for m in ws.iter_bytes()] == [b"a", b""]
    assert ws.close_code == 1005


@pytest.mark.parametrize("mode", ["text", "binary"])
async def test_iter_json_until_disconnect(mode: str) -> None:
    frame = text if mode == "text" else (lambda s: binary(s.encode()))
    ws, _ = await accepted(frame('{"n": 1}'), frame("[2]"), frame('"3"'), disconnect(4000, "end"))
    assert [m async for m in ws.iter_json(mode)] == [{"n": 1}, [2], "3"]
    assert (ws.close_code, ws.close_reason) == (4000, "end")


async def test_iter_json_default_is_text() -> None:
    ws, _ = await accepted(text("1"), disconnect())
    assert [m async for m in ws.iter_json()] == [1]


async def test_iteration_on_an_already_disconnected_socket_is_empty() -> None:
    ws, transport = await accepted(disconnect(1000))
    with pytest.raises(WebSocketDisconnect):
        await ws.receive_text()
    assert [m async for m in ws] == []
    assert [m async for m in ws.iter_bytes()] == []
    assert [m async for m in ws.iter_json()] == []
    assert transport.receive_calls == 2


@pytest.mark.parametrize(
    ("iterator", "wrong"),
    [("iter_text", binary(b"x")), ("iter_bytes", text("x")), ("iter_json", binary(b"1"))],
)
async def test_iteration_propagates_wrong_frame_type(iterator: str, wrong: dict[str, Any]) -> None:
    ws, _ = await accepted(wrong)
    with pytest.raises(TypeError):
        async for _ in getattr(ws, iterator)():
            pass


async def test_iter_json_propagates_bad_json() -> None:
    import json

    ws, _ = await accepted(text("{"))
    with pytest.raises(json.JSONDecodeError):
        async for _ in ws.iter_json():
            pass


@pytest.mark.parametrize("iterator", ["iter_text", "iter_bytes", "iter_json"])
async def test_iteration_before_accept_is_a_runtime_error(iterator: str) -> None:
    ws, _ = connection(CONNECT, text("x"))
    with pytest.raises(RuntimeError, match="accept"):
        async for _ in getattr(ws, iterator)():
            pass


async def test_iteration_stops_after_app_close_with_runtime_error() -> None:
    ws, _ = await accepted(text("a"), text("b"))
    received: list[str] = []

    async def echo_then_close() -> None:
        async for message in ws:
            received.append(message)
            await ws.close()

    with pytest.raises(RuntimeError, match="close"):
        await echo_then_close()
    assert received == ["a"]


async def test_receive_json_disconnect() -> None:
    ws, _ = await accepted(disconnect(1001))
    with pytest.raises(WebSocketDisconnect):
        await ws.receive_json(mode="binary")
    assert ws.close_code == 1001
