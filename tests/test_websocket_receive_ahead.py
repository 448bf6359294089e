"""Receive-ahead (``genro_asgi._receive_ahead``): a send-only app notices that the client left.

Some servers never raise from ``send()`` once the client is gone (hypercorn, daphne, granian:
see docs/guide/servers.md); they only report ``websocket.disconnect`` from
``receive()``. ASGI 2.4 servers must raise ``OSError`` there, so receive-ahead runs only below
spec 2.4. These tests drive ``WebSocket`` over a transport whose ``receive()`` waits, like a
server's, until a message arrives, speaking spec 2.3 unless a test says otherwise.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from genro_asgi import WebSocket, WebSocketDisconnect, WebSocketState
from tests.transport import CONNECT, Transport, WaitingTransport, asgi, disconnect, make_scope, text


async def settle() -> None:
    """Let every ready task run (the in-memory transport never blocks on I/O)."""
    for _ in range(10):
        await asyncio.sleep(0)


async def accepted(
    *messages: dict[str, Any], spec_version: str | None = "2.3"
) -> tuple[WebSocket, WaitingTransport]:
    transport = WaitingTransport(CONNECT, *messages)
    scope = make_scope(asgi=asgi(spec_version))
    ws = WebSocket(scope, transport.receive, transport.send)
    await ws.accept()
    return ws, transport


async def receiving_ahead() -> tuple[WebSocket, WaitingTransport]:
    """An accepted connection after two sends in a row: its receive-ahead is pending."""
    ws, transport = await accepted()
    await ws.send_text("1")
    await ws.send_text("2")
    await settle()
    return ws, transport


@pytest.mark.parametrize("spec_version", ["2.3", "2.0", None])
async def test_servers_below_spec_2_4_get_receive_ahead(spec_version: str | None) -> None:
    ws, transport = await accepted(spec_version=spec_version)
    await ws.send_text("a")
    await ws.send_text("b")
    await settle()
    assert transport.receive_calls == 2  # connect, then one receive() on the app's behalf
    await ws.close()


@pytest.mark.parametrize("spec_version", ["2.4", "2.5", "3.0"])
async def test_servers_that_raise_on_send_never_get_receive_ahead(spec_version: str) -> None:
    """ASGI 2.4+: send() raises OSError once the client is gone, so nothing receives ahead."""
    ws, transport = await accepted(spec_version=spec_version)
    for index in range(5):
        await ws.send_text(str(index))
    await settle()
    assert transport.receive_calls == 1  # the handshake's websocket.connect only
    transport.send_error = OSError("client gone")
    with pytest.raises(WebSocketDisconnect) as caught:
        await ws.send_text("late")
    assert caught.value.code == 1006
    assert ws.connection_state is WebSocketState.DISCONNECTED


async def test_a_cancelled_receive_lets_sends_count_again() -> None:
    """A receive_* cancelled while pending leaves no 'receiving' mark behind."""
    ws, transport = await accepted()
    reader = asyncio.ensure_future(ws.receive_text())
    await settle()
    reader.cancel()
    await settle()
    assert transport.receive_calls == 2
    await ws.send_text("a")
    await ws.send_text("b")
    await settle()
    assert transport.receive_calls == 3  # the watch started after the cancelled receive
    await ws.close()


def sent_texts(transport: Transport) -> list[str]:
    return [m["text"] for m in transport.sent if m["type"] == "websocket.send"]


async def test_echo_never_receives_ahead() -> None:
    ws, transport = await accepted(*(text(str(i)) for i in range(5)))
    for i in range(5):
        assert await ws.receive_text() == str(i)
        await ws.send_text(f"echo {i}")
        await settle()
        assert transport.receive_calls == 2 + i  # connect + one per receive_text(), no more
    assert sent_texts(transport) == [f"echo {i}" for i in range(5)]


async def test_one_send_after_a_receive_does_not_receive_ahead() -> None:
    ws, transport = await accepted()
    await ws.send_text("only one")
    await settle()
    assert transport.receive_calls == 1


@pytest.mark.parametrize("send", ["send_text", "send_bytes"])
async def test_send_only_app_sees_the_disconnect(send: str) -> None:
    ws, transport = await accepted()
    payload: Any = "x" if send == "send_text" else b"x"
    await getattr(ws, send)(payload)
    await getattr(ws, send)(payload)
    await settle()
    assert transport.receive_calls == 2  # one receive() is now pending on the app's behalf
    transport.push(disconnect(1001, "going away"))
    await settle()
    assert ws.connection_state is WebSocketState.DISCONNECTED
    with pytest.raises(WebSocketDisconnect) as info:
        await getattr(ws, send)(payload)
    assert (info.value.code, info.value.reason) == (1001, "going away")
    assert (ws.close_code, ws.close_reason) == (1001, "going away")
    assert len(transport.sent) == 3  # accept + two sends: the third never reached the server
    with pytest.raises(WebSocketDisconnect):
        await ws.receive_text()
    assert transport.receive_calls == 2


async def test_send_json_and_send_typed_paths_are_watched_too() -> None:
    ws, transport = await accepted()
    await ws.send_json({"a": 1})
    await ws.send_json([1], mode="binary")
    await settle()
    transport.push(disconnect(1000))
    await settle()
    with pytest.raises(WebSocketDisconnect):
        await ws.send_json({"a": 2})


async def test_messages_received_ahead_are_neither_lost_nor_reordered() -> None:
    ws, transport = await receiving_ahead()
    transport.push(text("a"), text("b"), text("c"))
    await settle()
    await ws.send_text("3")  # the client is alive: sending goes on
    assert [await ws.receive_text() for _ in range(3)] == ["a", "b", "c"]
    assert transport.receive_calls == 4  # connect, a (ahead), b, c: nothing read twice
    assert sent_texts(transport) == ["1", "2", "3"]


async def test_a_data_message_in_the_slot_stops_receiving_ahead() -> None:
    ws, transport = await receiving_ahead()
    transport.push(text("kept"))
    await settle()
    for i in range(5):
        await ws.send_text(str(i))
    await settle()
    assert transport.receive_calls == 2  # the slot is full: no second receive ahead
    assert await ws.receive_text() == "kept"
    # Taking the slot re-arms the watch: two more sends receive ahead again.
    await ws.send_text("a")
    await ws.send_text("b")
    await settle()
    assert transport.receive_calls == 3  # connect, "kept" (ahead), and the new one ahead


async def test_receive_waits_for_the_pending_receive() -> None:
    ws, transport = await receiving_ahead()
    reader = asyncio.ensure_future(ws.receive_data())
    await settle()
    assert not reader.done()
    transport.push(text("late"))
    assert await asyncio.wait_for(reader, 5) == "late"
    assert transport.receive_calls == 2
    assert ws.asgi_receive == transport.receive


async def test_cancelled_receive_loses_nothing() -> None:
    ws, transport = await receiving_ahead()
    reader = asyncio.ensure_future(ws.receive_text())
    await settle()
    reader.cancel()
    with pytest.raises(asyncio.CancelledError):
        await reader
    assert transport.cancelled == 0  # the server's receive() was not cancelled
    transport.push(text("still here"))
    assert await asyncio.wait_for(ws.receive_text(), 5) == "still here"
    assert transport.receive_calls == 2


async def test_no_receive_ahead_while_the_app_receives_concurrently() -> None:
    """A reader task blocked in receive_*() plus a writer task: one receive() at a time."""
    ws, transport = await accepted()
    reader = asyncio.ensure_future(ws.receive_bytes())
    await settle()
    for i in range(4):
        await ws.send_text(str(i))
    await settle()
    assert transport.receive_calls == 2  # connect + the reader's
    transport.push({"type": "websocket.receive", "bytes": b"m"})
    assert await asyncio.wait_for(reader, 5) == b"m"


async def test_disconnect_reaches_a_receive_waiting_on_the_slot() -> None:
    ws, transport = await receiving_ahead()
    reader = asyncio.ensure_future(ws.receive_text())
    await settle()
    transport.push(disconnect(4000, "bye"))
    with pytest.raises(WebSocketDisconnect) as info:
        await asyncio.wait_for(reader, 5)
    assert (info.value.code, info.value.reason) == (4000, "bye")
    assert ws.close_code == 4000


async def test_close_cancels_the_pending_receive() -> None:
    ws, transport = await receiving_ahead()
    await ws.close(4000, "done")
    await settle()
    assert transport.cancelled == 1
    assert transport.sent[-1]["type"] == "websocket.close"
    assert ws.asgi_receive == transport.receive
    assert (ws.close_code, ws.close_reason) == (4000, "done")


async def test_a_server_error_while_receiving_ahead_is_raised_by_the_next_receive() -> None:
    ws, transport = await accepted()
    transport.receive_error = RuntimeError("server receive failed")
    await ws.send_text("1")
    await ws.send_text("2")
    await settle()
    await ws.send_text("3")  # the error belongs to receive(), not to send
    with pytest.raises(RuntimeError, match="server receive failed"):
        await ws.receive_text()


async def test_a_malformed_disconnect_received_ahead_is_raised_by_the_next_receive() -> None:
    ws, transport = await receiving_ahead()
    transport.push({"type": "websocket.disconnect", "code": "1000"})
    await settle()
    assert ws.connection_state is WebSocketState.CONNECTED
    with pytest.raises(TypeError, match="'code' must be int"):
        await ws.receive_text()


async def test_close_while_another_task_waits_on_the_slot() -> None:
    """The waiting reader is not cancelled: it goes on waiting for the server's disconnect."""
    ws, transport = await receiving_ahead()
    reader = asyncio.ensure_future(ws.receive_text())
    await settle()
    await ws.close()
    await settle()
    assert not reader.done()
    transport.push(disconnect(1000))
    with pytest.raises(WebSocketDisconnect):
        await asyncio.wait_for(reader, 5)
    assert transport.cancelled == 1
    assert transport.receive_calls == 3


async def second_send_held_in_the_server() -> tuple[
    WebSocket, WaitingTransport, asyncio.Event, asyncio.Future[None]
]:
    """A connection that sent once, then a second send the server holds until ``gate`` is set:
    ``(ws, transport, gate, writer)``, ``writer`` being that pending send."""
    ws, transport = await accepted()
    gate = asyncio.Event()
    record = transport.send

    async def slow_send(message: dict[str, Any]) -> None:
        if message.get("text") == "slow":
            await gate.wait()
        await record(message)

    ws._send = slow_send  # type: ignore[misc]  # the server is slow to take this one
    await ws.send_text("1")
    writer = asyncio.ensure_future(ws.send_text("slow"))
    await settle()
    return ws, transport, gate, writer


async def test_no_receive_ahead_while_a_send_is_in_the_server() -> None:
    """The second send counts once the server took it: no receive() is pending in the server
    while that send is (granian does not close the connection of an app that returned while
    a receive() was pending)."""
    ws, transport, gate, writer = await second_send_held_in_the_server()
    assert not writer.done()
    assert transport.receive_calls == 1  # the connect only
    gate.set()
    await asyncio.wait_for(writer, 5)
    await settle()
    assert transport.receive_calls == 2  # now receiving ahead
    await ws.close()


async def test_no_receive_ahead_after_a_concurrent_close() -> None:
    """A send still in the server when another task closes: no receive ahead afterwards."""
    ws, transport, gate, writer = await second_send_held_in_the_server()
    await ws.close()
    gate.set()
    await asyncio.wait_for(writer, 5)
    await settle()
    assert transport.receive_calls == 1
    assert ws.asgi_receive == transport.receive


def drive(coroutine: Any) -> None:
    """Run a coroutine that never suspends, without any event loop (as under trio)."""
    with pytest.raises(StopIteration):
        coroutine.send(None)


def test_send_outside_an_asyncio_loop_does_not_receive_ahead() -> None:
    """Under another event loop (trio), sends work as before, without receiving ahead."""
    ws, transport = asyncio.run(accepted())
    drive(ws.send_text("1"))
    drive(ws.send_text("2"))  # the second send in a row: no asyncio loop to receive ahead in
    assert transport.receive_calls == 1
    assert [m["text"] for m in transport.sent[1:]] == ["1", "2"]


def test_the_layer_starts_no_task_outside_an_asyncio_loop() -> None:
    from genro_asgi._receive_ahead import ReceiveAhead

    transport = WaitingTransport()
    ahead = ReceiveAhead(transport.receive, lambda code, reason: None)
    ahead.sent()
    ahead.sent()
    assert transport.receive_calls == 0


async def test_the_layer_reports_a_disconnect_through_its_callback() -> None:
    """ReceiveAhead needs no WebSocket: the callback it was given hears of the disconnect."""
    from genro_asgi._receive_ahead import ReceiveAhead

    transport = WaitingTransport()
    heard: list[tuple[int, str]] = []
    ahead = ReceiveAhead(transport.receive, lambda code, reason: heard.append((code, reason)))
    ahead.sent()
    ahead.sent()
    transport.push(disconnect(4001, "bye"))
    await settle()
    assert heard == [(4001, "bye")]
    assert await ahead.receive() == disconnect(4001, "bye")  # still in the slot, then taken
    assert transport.receive_calls == 1
