"""Faults: a failing server ``send``, cancelled tasks, concurrent tasks and a vanishing client.

Each test checks the final ``connection_state``, ``close_code``, what reached the server, and
that only exceptions the SPEC names escape (``WebSocketDisconnect``, ``RuntimeError`` for use
after close, and the caller's own ``asyncio.CancelledError``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from genro_asgi.exceptions import WebSocketDisconnect
from genro_asgi.websocket import WebSocket, WebSocketState

from .transport import CONNECT, accepted, connection, disconnect, make_scope, text

CONNECTING = WebSocketState.CONNECTING
CONNECTED = WebSocketState.CONNECTED
DISCONNECTED = WebSocketState.DISCONNECTED
DEADLINE = 5.0  # seconds; a safety net so a broken test fails instead of hanging


class Pipe:
    """A server half driven by the test: ``receive()`` waits for queued messages.

    ``send()`` yields to the loop ``send_yields`` times (a slow network), then raises
    ``ConnectionResetError`` once ``client_gone`` is set (ASGI 2.4), else records the message.
    """

    def __init__(self) -> None:
        self.inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.sent: list[dict[str, Any]] = []
        self.client_gone = False
        self.send_yields = 0
        self.receive_calls = 0
        self.send_calls = 0
        self.receiving = asyncio.Event()

    async def receive(self) -> dict[str, Any]:
        self.receive_calls += 1
        self.receiving.set()
        try:
            return await self.inbox.get()
        finally:
            self.receiving.clear()

    async def send(self, message: dict[str, Any]) -> None:
        self.send_calls += 1
        for _ in range(self.send_yields):
            await asyncio.sleep(0)
        if self.client_gone:
            raise ConnectionResetError("the client is gone")
        self.sent.append(message)

    def client_disconnects(self, code: int = 1001, reason: str = "") -> None:
        """The client leaves: ``send()`` fails from now on, a disconnect is queued."""
        self.client_gone = True
        self.inbox.put_nowait(disconnect(code, reason))

    @property
    def sent_types(self) -> list[str]:
        return [message["type"] for message in self.sent]


async def open_pipe() -> tuple[WebSocket, Pipe]:
    pipe = Pipe()
    ws = WebSocket(make_scope(), pipe.receive, pipe.send)
    pipe.inbox.put_nowait(CONNECT)
    await ws.accept()
    return ws, pipe


async def until(condition: Callable[[], bool]) -> None:
    """Let other tasks run until ``condition()`` holds (bounded, never hangs)."""
    for _ in range(10_000):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("the other tasks never reached the expected point")


async def settle(pipe: Pipe) -> None:
    """Let other tasks run until one of them waits in ``receive()``."""
    await asyncio.wait_for(pipe.receiving.wait(), DEADLINE)


# -- the server's send raises OSError in the middle of a stream -------------------------------

SENDERS: list[tuple[str, Callable[[WebSocket], Awaitable[None]]]] = [
    ("send_text", lambda ws: ws.send_text("x")),
    ("send_bytes", lambda ws: ws.send_bytes(b"x")),
    ("send_json", lambda ws: ws.send_json({"x": 1})),
    ("send_json-binary", lambda ws: ws.send_json([1], mode="binary")),
]


@pytest.mark.parametrize("error", [OSError, ConnectionResetError, BrokenPipeError])
@pytest.mark.parametrize(("name", "sender"), SENDERS, ids=[name for name, _ in SENDERS])
async def test_send_oserror_mid_stream(
    error: type[OSError], name: str, sender: Callable[[WebSocket], Awaitable[None]]
) -> None:
    ws, transport = await accepted()
    for _ in range(3):
        await sender(ws)
    transport.send_error = error("gone")
    with pytest.raises(WebSocketDisconnect) as info:
        await sender(ws)
    assert (info.value.code, info.value.reason) == (1006, "")
    assert ws.connection_state is DISCONNECTED
    assert (ws.close_code, ws.close_reason) == (1006, "")
    assert transport.sent_types == ["websocket.accept"] + ["websocket.send"] * 3
    # Later calls repeat the disconnect without touching the server; close() is a no-op.
    transport.send_error = AssertionError("send() must not be called again")
    for _ in range(2):
        with pytest.raises(WebSocketDisconnect) as again:
            await sender(ws)
        assert again.value.code == 1006
    with pytest.raises(WebSocketDisconnect):
        await ws.receive_text()
    await ws.close(4000, "late")
    assert ws.close_code == 1006
    assert transport.receive_calls == 1
    assert [message async for message in ws] == []


async def test_send_oserror_while_echoing_ends_the_loop_cleanly() -> None:
    ws, transport = await accepted(text("a"), text("b"), text("c"), disconnect(1000))
    echoed = []

    async def echo() -> None:
        async for message in ws:
            if message == "b":
                transport.send_error = BrokenPipeError()
            await ws.send_text(message)
            echoed.append(message)

    with pytest.raises(WebSocketDisconnect) as info:
        await echo()
    assert info.value.code == 1006
    assert echoed == ["a"]
    assert [m.get("text") for m in transport.sent[1:]] == ["a"]
    assert ws.connection_state is DISCONNECTED
    assert ws.close_code == 1006
    assert transport.receive_calls == 3  # "c" and the disconnect were never read


async def test_send_error_other_than_oserror_propagates_and_keeps_the_state() -> None:
    """Not a disconnect: the server's own bug surfaces unchanged, the connection stays open."""
    ws, transport = await accepted()
    transport.send_error = ValueError("server bug")
    with pytest.raises(ValueError, match="server bug"):
        await ws.send_text("x")
    assert ws.connection_state is CONNECTED
    assert ws.close_code is None
    transport.send_error = None
    await ws.send_text("y")
    assert transport.sent[-1] == {"type": "websocket.send", "text": "y"}


# -- receive raising CancelledError at each state ---------------------------------------------


async def cancelled_receive() -> dict[str, Any]:
    raise asyncio.CancelledError


async def test_cancelled_during_accept() -> None:
    transport_ws, transport = connection(CONNECT)
    ws = WebSocket(transport_ws.scope, cancelled_receive, transport.send)
    with pytest.raises(asyncio.CancelledError):
        await ws.accept()
    assert ws.connection_state is CONNECTING
    assert ws.close_code is None
    assert transport.sent == []


async def test_task_cancelled_while_accept_waits_for_connect() -> None:
    pipe = Pipe()
    ws = WebSocket(make_scope(), pipe.receive, pipe.send)
    task = asyncio.create_task(ws.accept())
    await settle(pipe)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert ws.connection_state is CONNECTING
    assert pipe.sent == []
    # The handshake can still complete later.
    pipe.inbox.put_nowait(CONNECT)
    await ws.accept()
    assert ws.connection_state is CONNECTED
    assert pipe.sent_types == ["websocket.accept"]


RECEIVERS = ["receive_text", "receive_bytes", "receive_data", "receive_json"]


@pytest.mark.parametrize("method", RECEIVERS)
async def test_cancelled_during_receive(method: str) -> None:
    ws, transport = await accepted()
    ws._receive = cancelled_receive  # type: ignore[assignment]  # the server's receive raises
    with pytest.raises(asyncio.CancelledError):
        await getattr(ws, method)()
    assert ws.connection_state is CONNECTED
    assert ws.close_code is None
    await ws.close(1001)
    assert transport.sent_types == ["websocket.accept", "websocket.close"]
    assert ws.close_code == 1001


@pytest.mark.parametrize("method", RECEIVERS)
async def test_receive_timeout_leaves_the_connection_usable(method: str) -> None:
    """``asyncio.wait_for`` cancels the pending receive; the next one gets the next frame."""
    ws, pipe = await open_pipe()
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(getattr(ws, method)(), 0.01)
    assert ws.connection_state is CONNECTED
    pipe.inbox.put_nowait(text('"late"'))
    assert await asyncio.wait_for(ws.receive_data(), DEADLINE) == '"late"'
    await ws.send_text("still open")
    assert pipe.sent_types == ["websocket.accept", "websocket.send"]


async def cancelled_send(message: dict[str, Any]) -> None:
    raise asyncio.CancelledError


@pytest.mark.parametrize(("name", "sender"), SENDERS, ids=[name for name, _ in SENDERS])
async def test_cancelled_during_send(
    name: str, sender: Callable[[WebSocket], Awaitable[None]]
) -> None:
    ws, transport = await accepted(text("next"))
    ws._send = cancelled_send  # type: ignore[assignment]
    with pytest.raises(asyncio.CancelledError):
        await sender(ws)
    assert ws.connection_state is CONNECTED
    assert ws.close_code is None
    assert await ws.receive_text() == "next"
    assert transport.sent_types == ["websocket.accept"]


async def test_cancelled_during_accept_send() -> None:
    ws, transport = connection(CONNECT)
    ws._send = cancelled_send  # type: ignore[assignment]
    with pytest.raises(asyncio.CancelledError):
        await ws.accept()
    assert ws.connection_state is CONNECTING
    assert ws.accepted_subprotocol is None
    assert transport.sent == []


async def test_cancelled_during_close_send() -> None:
    """The state changes before the send: a cancelled close() still counts as closed."""
    ws, transport = await accepted()
    ws._send = cancelled_send  # type: ignore[assignment]
    with pytest.raises(asyncio.CancelledError):
        await ws.close(4000, "bye")
    assert ws.connection_state is DISCONNECTED
    assert (ws.close_code, ws.close_reason) == (4000, "bye")
    await ws.close()  # idempotent
    with pytest.raises(RuntimeError, match="after close"):
        await ws.send_text("x")
    assert transport.sent_types == ["websocket.accept"]


async def test_task_cancelled_while_a_slow_send_is_in_flight() -> None:
    ws, pipe = await open_pipe()
    pipe.send_yields = 10
    task = asyncio.create_task(ws.send_text("x"))
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert ws.connection_state is CONNECTED
    assert pipe.sent_types == ["websocket.accept"]
    pipe.send_yields = 0
    await ws.close()
    assert pipe.sent_types == ["websocket.accept", "websocket.close"]


# -- a reader and a writer sharing one connection while the client disconnects ----------------

ALLOWED = (WebSocketDisconnect,)


async def reader(ws: WebSocket, seen: list[str]) -> None:
    async for message in ws:
        seen.append(message)


async def writer(ws: WebSocket, count: list[int], stop: int = 10_000) -> None:
    while count[0] < stop:
        await ws.send_text(str(count[0]))
        count[0] += 1
        await asyncio.sleep(0)


async def run(*coroutines: Awaitable[None]) -> list[Any]:
    return list(
        await asyncio.wait_for(asyncio.gather(*coroutines, return_exceptions=True), DEADLINE)
    )


async def test_reader_sees_the_disconnect_then_the_writer_stops() -> None:
    """The disconnect reaches the reader first; the writer's next send repeats it, unsent."""
    ws, pipe = await open_pipe()
    pipe.inbox.put_nowait(text("hi"))
    seen: list[str] = []
    count = [0]

    async def client() -> None:
        await until(lambda: count[0] >= 3)
        pipe.inbox.put_nowait(disconnect(1001, "page closed"))  # the server has not noticed yet

    results = await run(reader(ws, seen), writer(ws, count), client())
    assert results[0] is None  # iteration ends cleanly
    assert isinstance(results[1], WebSocketDisconnect)
    assert (results[1].code, results[1].reason) == (1001, "page closed")
    assert results[2] is None
    assert seen == ["hi"]
    assert ws.connection_state is DISCONNECTED
    assert (ws.close_code, ws.close_reason) == (1001, "page closed")
    assert pipe.sent_types == ["websocket.accept"] + ["websocket.send"] * count[0]
    assert pipe.send_calls == 1 + count[0]  # no send after the disconnect was seen


async def test_writer_sees_the_oserror_first_then_the_reader_gets_the_disconnect() -> None:
    """ASGI 2.4: send fails (1006); a reader started afterwards ends at once, reading nothing."""
    ws, pipe = await open_pipe()
    seen: list[str] = []
    count = [0]
    writer_task = asyncio.create_task(writer(ws, count))
    await until(lambda: count[0] >= 3)
    pipe.client_gone = True
    with pytest.raises(WebSocketDisconnect) as info:
        await asyncio.wait_for(writer_task, DEADLINE)
    assert info.value.code == 1006
    reader_task = asyncio.create_task(reader(ws, seen))
    results = await run(reader_task)
    assert results == [None]
    assert seen == []
    assert ws.connection_state is DISCONNECTED
    assert ws.close_code == 1006
    assert pipe.sent_types == ["websocket.accept"] + ["websocket.send"] * 3


async def test_reader_blocked_in_receive_when_the_writer_hits_oserror() -> None:
    ws, pipe = await open_pipe()
    seen: list[str] = []
    count = [0]
    reader_task = asyncio.create_task(reader(ws, seen))
    await settle(pipe)
    writer_task = asyncio.create_task(writer(ws, count))
    await until(lambda: count[0] >= 2)
    pipe.client_disconnects(1001)
    results = await run(reader_task, writer_task)
    assert results[0] is None
    assert isinstance(results[1], WebSocketDisconnect)
    assert results[1].code == 1006
    assert ws.connection_state is DISCONNECTED
    assert ws.close_code == 1006  # the writer saw the loss first
    assert seen == []
    assert pipe.sent_types == ["websocket.accept", "websocket.send", "websocket.send"]


async def test_many_readers_and_writers_all_stop() -> None:
    ws, pipe = await open_pipe()
    seens: list[list[str]] = [[] for _ in range(3)]
    counts = [[0] for _ in range(3)]
    tasks = [reader(ws, seen) for seen in seens] + [writer(ws, count) for count in counts]

    async def client() -> None:
        for i in range(5):
            pipe.inbox.put_nowait(text(str(i)))
            await asyncio.sleep(0)
        pipe.client_disconnects(1000)
        for _ in range(2):  # the other readers are still waiting on the server's receive
            pipe.inbox.put_nowait(disconnect(1000))

    results = await run(*tasks, client())
    assert all(r is None or isinstance(r, ALLOWED) for r in results), results
    assert results[:3] == [None, None, None]
    assert sorted(m for seen in seens for m in seen) == ["0", "1", "2", "3", "4"]
    assert ws.connection_state is DISCONNECTED
    assert ws.close_code in (1000, 1006)
    assert set(pipe.sent_types[1:]) <= {"websocket.send"}


# -- close() racing a client disconnect -------------------------------------------------------


async def test_close_after_the_reader_saw_the_disconnect_sends_nothing() -> None:
    ws, pipe = await open_pipe()
    seen: list[str] = []
    reader_task = asyncio.create_task(reader(ws, seen))
    await settle(pipe)
    pipe.client_disconnects(4002, "bye")
    assert await run(reader_task) == [None]
    await ws.close(1000)
    assert (ws.close_code, ws.close_reason) == (4002, "bye")
    assert pipe.sent_types == ["websocket.accept"]
    assert pipe.send_calls == 1


async def test_close_while_the_client_is_gone_is_silent() -> None:
    """The server already knows (send raises OSError); the reader is handed the disconnect."""
    ws, pipe = await open_pipe()
    seen: list[str] = []
    reader_task = asyncio.create_task(reader(ws, seen))
    await settle(pipe)
    pipe.client_gone = True
    await ws.close(1000, "done")
    assert ws.connection_state is DISCONNECTED
    assert (ws.close_code, ws.close_reason) == (1006, "")
    pipe.inbox.put_nowait(disconnect(1001))
    assert await run(reader_task) == [None]
    assert (ws.close_code, ws.close_reason) == (1006, "")
    assert pipe.sent_types == ["websocket.accept"]


async def test_app_close_then_the_client_disconnect_reaches_the_reader() -> None:
    """The app closed first: its code stays; the reader ends cleanly on the echo."""
    ws, pipe = await open_pipe()
    seen: list[str] = []
    reader_task = asyncio.create_task(reader(ws, seen))
    await settle(pipe)
    await ws.close(4000, "app")
    pipe.inbox.put_nowait(disconnect(1000))
    assert await run(reader_task) == [None]
    assert ws.connection_state is DISCONNECTED
    assert (ws.close_code, ws.close_reason) == (4000, "app")
    assert pipe.sent == [
        {"type": "websocket.accept", "subprotocol": None},
        {"type": "websocket.close", "code": 4000, "reason": "app"},
    ]
    await ws.close()
    assert pipe.send_calls == 2


async def test_two_tasks_close_at_once_send_one_close() -> None:
    ws, pipe = await open_pipe()
    pipe.send_yields = 3
    results = await run(ws.close(4001), ws.close(4002), ws.close())
    assert results == [None, None, None]
    assert pipe.sent_types == ["websocket.accept", "websocket.close"]
    assert pipe.sent[-1]["code"] == 4001
    assert ws.close_code == 4001


async def test_close_during_a_slow_send_from_another_task() -> None:
    """The in-flight frame goes first; the writer's next send is refused as after-close."""
    ws, pipe = await open_pipe()
    pipe.send_yields = 3
    count = [0]
    writer_task = asyncio.create_task(writer(ws, count))
    await asyncio.sleep(0)
    await ws.close(1000)
    results = await run(writer_task)
    assert isinstance(results[0], RuntimeError)
    assert "after close()" in str(results[0])
    assert pipe.sent_types == ["websocket.accept", "websocket.send", "websocket.close"]
    assert ws.close_code == 1000


async def test_close_racing_disconnect_during_accept() -> None:
    ws, transport = connection(disconnect(1001))
    with pytest.raises(WebSocketDisconnect):
        await ws.accept()
    await ws.close()
    assert ws.connection_state is DISCONNECTED
    assert ws.close_code == 1001
    assert transport.sent == []
