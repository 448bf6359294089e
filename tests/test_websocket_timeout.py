"""``receive_*(timeout=...)`` (SPEC 4): ``TimeoutError``, nothing consumed or lost, still
CONNECTED, on servers that raise from ``send()`` (2.4) and on those that need receive-ahead."""

from __future__ import annotations

import asyncio
import math
from typing import Any

import pytest

from genro_asgi import WebSocket, WebSocketDisconnect, WebSocketState
from tests.transport import CONNECT, WaitingTransport, asgi, disconnect, make_scope, text

CONNECTED = WebSocketState.CONNECTED


async def accepted(spec_version: str = "2.4") -> tuple[WebSocket, WaitingTransport]:
    transport = WaitingTransport(CONNECT)
    ws = WebSocket(make_scope(asgi=asgi(spec_version)), transport.receive, transport.send)
    await ws.accept()
    return ws, transport


SPECS = pytest.mark.parametrize("spec_version", ["2.4", "2.3"])


@SPECS
async def test_timeout_loses_nothing(spec_version: str) -> None:
    ws, transport = await accepted(spec_version)
    with pytest.raises(TimeoutError):
        await ws.receive_text(timeout=0.01)
    assert ws.connection_state is CONNECTED
    transport.push(text("late"))
    assert await ws.receive_text() == "late"  # the pending receive brought it: not lost
    assert transport.receive_calls == 2  # connect, then that one receive: no second one
    transport.push(text("next"))
    assert await ws.receive_text() == "next"
    assert transport.receive_calls == 3


@SPECS
async def test_repeated_timeouts_keep_one_receive_pending(spec_version: str) -> None:
    ws, transport = await accepted(spec_version)
    for _ in range(3):
        with pytest.raises(TimeoutError):
            await ws.receive_bytes(timeout=0)
    assert transport.receive_calls == 2
    transport.push({"type": "websocket.receive", "bytes": b"\x01"})
    assert await ws.receive_bytes(timeout=1) == b"\x01"


async def test_the_fast_path_comes_back_after_a_timed_receive() -> None:
    """On a 2.4 server, once the slot is empty, receives call the server directly again."""
    ws, transport = await accepted("2.4")
    with pytest.raises(TimeoutError):
        await ws.receive_text(timeout=0)
    transport.push(text("a"))
    assert await ws.receive_text() == "a"
    assert ws._direct  # the one flag of the fast path
    transport.push(text("b"))
    assert await ws.receive_text() == "b"


async def test_a_message_already_there_is_returned_with_timeout_zero() -> None:
    ws, transport = await accepted()
    transport.push(text("ready"))
    assert await ws.receive_text(timeout=0) == "ready"


@SPECS
async def test_a_disconnect_during_a_timed_receive(spec_version: str) -> None:
    ws, transport = await accepted(spec_version)
    waiting = asyncio.ensure_future(ws.receive_text(timeout=5))
    await asyncio.sleep(0)
    transport.push(disconnect(4001, "bye"))
    with pytest.raises(WebSocketDisconnect) as caught:
        await waiting
    assert (caught.value.code, caught.value.reason) == (4001, "bye")
    assert ws.connection_state is WebSocketState.DISCONNECTED


async def test_close_after_a_timeout_cancels_the_pending_receive() -> None:
    ws, transport = await accepted()
    with pytest.raises(TimeoutError):
        await ws.receive_text(timeout=0)
    await ws.close()
    await asyncio.sleep(0)
    assert transport.cancelled == 1
    assert transport.sent[-1] == {"type": "websocket.close", "code": 1000}


async def test_sends_while_a_timed_receive_waits_on_a_2_4_server_never_receive_ahead() -> None:
    ws, transport = await accepted("2.4")
    waiting = asyncio.ensure_future(ws.receive_text(timeout=5))
    await asyncio.sleep(0)
    for index in range(4):
        await ws.send_text(str(index))
    await asyncio.sleep(0)
    assert transport.receive_calls == 2  # connect and the timed receive only
    transport.push(text("x"))
    assert await waiting == "x"


@pytest.mark.parametrize(
    ("call", "frame", "expected"),
    [
        ("receive_json", text('{"a": 1}'), {"a": 1}),
        ("receive_data", {"type": "websocket.receive", "bytes": b"b"}, b"b"),
        ("receive_typed", text('{"n": "1.5::N"}'), None),
    ],
)
async def test_every_receive_takes_a_timeout(
    call: str, frame: dict[str, Any], expected: Any
) -> None:
    if call == "receive_typed":
        pytest.importorskip("genro_tytx", reason="typed messages need genro-tytx")
    ws, transport = await accepted()
    with pytest.raises(TimeoutError):
        await getattr(ws, call)(timeout=0)
    transport.push(frame)
    result = await getattr(ws, call)(timeout=1)
    if call == "receive_typed":
        from decimal import Decimal

        assert result == {"n": Decimal("1.5")}
    else:
        assert result == expected


@pytest.mark.parametrize(
    ("timeout", "error"),
    [(-1, ValueError), (math.nan, ValueError), ("1", TypeError), (True, TypeError)],
)
async def test_a_bad_timeout_raises_before_anything_is_received(timeout: Any, error: type) -> None:
    ws, transport = await accepted()
    with pytest.raises(error, match=r"timeout.*\.$"):
        await ws.receive_text(timeout=timeout)
    assert transport.receive_calls == 1
    assert ws.connection_state is CONNECTED


async def test_timeout_before_accept_is_the_usual_error() -> None:
    transport = WaitingTransport(CONNECT)
    ws = WebSocket(make_scope(), transport.receive, transport.send)
    with pytest.raises(RuntimeError, match="before accept"):
        await ws.receive_text(timeout=1)
