"""SPEC section 4: sending, and OSError from the server's send."""

from __future__ import annotations

from typing import Any

import pytest

from genro_asgi.exceptions import WebSocketDisconnect
from genro_asgi.websocket import WebSocketState

from .transport import accepted, text


@pytest.mark.parametrize("data", ["hello", "", "€ 😀", "a" * 100_000])
async def test_send_text(data: str) -> None:
    ws, transport = await accepted()
    await ws.send_text(data)
    assert transport.sent[-1] == {"type": "websocket.send", "text": data}


@pytest.mark.parametrize(
    "data", [b"\x00\xff", b"", bytearray(b"ba"), memoryview(b"mv"), memoryview(b"xabcx")[1:4]]
)
async def test_send_bytes_takes_bytes_like(data: Any) -> None:
    ws, transport = await accepted()
    await ws.send_bytes(data)
    message = transport.sent[-1]
    assert message == {"type": "websocket.send", "bytes": bytes(data)}
    assert type(message["bytes"]) is bytes


async def test_send_bytes_copies_mutable_buffers() -> None:
    ws, transport = await accepted()
    buffer = bytearray(b"abc")
    await ws.send_bytes(buffer)
    buffer[0] = ord("z")
    assert transport.sent[-1]["bytes"] == b"abc"


@pytest.mark.parametrize("data", [b"bytes", bytearray(b"x"), 1, None, ["x"]])
async def test_send_text_rejects_non_str(data: Any) -> None:
    ws, transport = await accepted()
    with pytest.raises(TypeError, match="str"):
        await ws.send_text(data)
    assert transport.sent_types == ["websocket.accept"]
    assert ws.connection_state is WebSocketState.CONNECTED


@pytest.mark.parametrize("data", ["text", 1, None, [1, 2], object()])
async def test_send_bytes_rejects_non_bytes_like(data: Any) -> None:
    ws, transport = await accepted()
    with pytest.raises(TypeError, match="bytes"):
        await ws.send_bytes(data)
    assert transport.sent_types == ["websocket.accept"]


@pytest.mark.parametrize(
    ("data", "mode", "key", "payload"),
    [
        ({"a": [1, None, True]}, "text", "text", '{"a":[1,null,true]}'),
        ({"€": "😀"}, "text", "text", '{"€":"😀"}'),
        ([], "text", "text", "[]"),
        ({"a": 1}, "binary", "bytes", b'{"a":1}'),
        ("€", "binary", "bytes", '"€"'.encode()),
    ],
)
async def test_send_json_modes(data: Any, mode: str, key: str, payload: str | bytes) -> None:
    ws, transport = await accepted()
    await ws.send_json(data, mode=mode)
    assert transport.sent[-1] == {"type": "websocket.send", key: payload}


async def test_send_json_default_mode_is_text() -> None:
    ws, transport = await accepted()
    await ws.send_json({"x": 1})
    assert transport.sent[-1] == {"type": "websocket.send", "text": '{"x":1}'}


@pytest.mark.parametrize("mode", ["TEXT", "bytes", "", None])
async def test_send_json_bad_mode(mode: Any) -> None:
    ws, transport = await accepted()
    with pytest.raises(ValueError, match="mode"):
        await ws.send_json({}, mode=mode)
    assert transport.sent_types == ["websocket.accept"]


@pytest.mark.parametrize("mode", ["text", "binary"])
async def test_send_json_unserializable_sends_nothing(mode: str) -> None:
    ws, transport = await accepted()
    with pytest.raises(TypeError):
        await ws.send_json({"x": object()}, mode=mode)
    assert transport.sent_types == ["websocket.accept"]
    assert ws.connection_state is WebSocketState.CONNECTED


SENDS = [
    ("send_text", ("x",)),
    ("send_bytes", (b"x",)),
    ("send_json", ({"a": 1},)),
    ("send_json", ({"a": 1}, "binary")),
]


@pytest.mark.parametrize(("method", "args"), SENDS)
@pytest.mark.parametrize("error", [OSError(), ConnectionResetError(), BrokenPipeError()])
async def test_send_oserror_becomes_disconnect_1006(
    method: str, args: tuple[Any, ...], error: OSError
) -> None:
    ws, transport = await accepted(text("never read"))
    transport.send_error = error
    with pytest.raises(WebSocketDisconnect) as caught:
        await getattr(ws, method)(*args)
    assert (caught.value.code, caught.value.reason) == (1006, "")
    assert caught.value.__cause__ is None or caught.value.__cause__ is error
    assert ws.connection_state is WebSocketState.DISCONNECTED
    assert (ws.close_code, ws.close_reason) == (1006, "")
    # Later calls raise the same disconnect without touching the server again.
    transport.send_error = None
    for again in (ws.send_text("y"), ws.receive_text(), ws.send_bytes(b"y")):
        with pytest.raises(WebSocketDisconnect) as repeated:
            await again
        assert repeated.value.code == 1006
    assert transport.sent_types == ["websocket.accept"]
    assert transport.receive_calls == 1
    await ws.close()
    assert transport.sent_types == ["websocket.accept"]


async def test_other_send_errors_propagate_unchanged() -> None:
    ws, transport = await accepted()
    transport.send_error = ValueError("server bug")
    with pytest.raises(ValueError, match="server bug"):
        await ws.send_text("x")
    assert ws.connection_state is WebSocketState.CONNECTED


async def test_many_sends_in_order() -> None:
    ws, transport = await accepted()
    await ws.send_text("1")
    await ws.send_bytes(b"2")
    await ws.send_json(3)
    await ws.send_json(4, mode="binary")
    assert transport.sent[1:] == [
        {"type": "websocket.send", "text": "1"},
        {"type": "websocket.send", "bytes": b"2"},
        {"type": "websocket.send", "text": "3"},
        {"type": "websocket.send", "bytes": b"4"},
    ]
