"""The end-to-end matrix: the ``wsapp`` app under each real server, driven by ``websockets``.

Where a server departs from the ASGI spec, ``SERVERS`` below says what it delivers, and the
tests assert exactly that (so a server that starts behaving differently fails here, and the
compatibility table in docs/guide/servers.md must change with it).
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import struct
import time
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from servers import Client, ServerProcess, new_id
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.protocol import State
from wsapp import ACCEPT_HEADERS, APP_CLOSE, DENY_BODY, PICKED_SUBPROTOCOL

CLIENT_CLOSE = (4002, "client says bye")
CONCURRENCY = 200  # connections, and messages on each, in the load test (every server copes)


@dataclass(frozen=True)
class Delivers:
    """What a server delivers where servers differ (the table in docs/guide/servers.md)."""

    empty_messages: bool  # empty text/binary messages reach the app
    app_close_reason: bool  # the client sees the reason of the app's close()
    client_close: tuple[int, str]  # what the app sees when the client closes with CLIENT_CLOSE
    http_response: bool  # websocket.http.response: deny(401, body=...) reaches the client
    accept_headers: str  # accept(headers=...): "sent", "dropped" or "refused" (spec < 2.1)
    send_raises: bool  # raw ASGI: send() raises once the client vanished
    receive_after: str  # raw ASGI: receive() after websocket.disconnect: "blocks" or returns it
    on_return: int | None  # close code the client gets when the app returns without close()


UVICORN = Delivers(
    empty_messages=True, app_close_reason=True, client_close=CLIENT_CLOSE, http_response=True,
    accept_headers="sent", send_raises=True, receive_after="blocks", on_return=1006,
)  # fmt: skip

#: The one table of per-server expectations (mirrored by the table in docs/guide/servers.md).
SERVERS: dict[str, Delivers] = {
    "uvicorn-websockets-sansio": UVICORN,
    "uvicorn-wsproto": UVICORN,
    "uvicorn-websockets": replace(UVICORN, receive_after="websocket.disconnect"),
    "hypercorn": Delivers(
        empty_messages=True, app_close_reason=True, client_close=(1006, ""), http_response=True,
        accept_headers="sent", send_raises=False, receive_after="blocks", on_return=1011,
    ),
    "daphne": Delivers(
        empty_messages=False, app_close_reason=False, client_close=(CLIENT_CLOSE[0], ""),
        http_response=False, accept_headers="dropped", send_raises=False, receive_after="blocks",
        on_return=None,
    ),
    "granian": Delivers(
        empty_messages=True, app_close_reason=True, client_close=(CLIENT_CLOSE[0], ""),
        http_response=True, accept_headers="dropped", send_raises=False,
        receive_after="websocket.disconnect", on_return=1005,
    ),
}  # fmt: skip


@pytest.fixture
def delivers(server_name: str) -> Delivers:
    return SERVERS[server_name]


async def test_text_and_binary_echo(client: Client) -> None:
    async with client.connect("/echo") as ws:
        for message in ("hello", "ünïcødé ✓", b"\x00\x01\xfe\xff", b"bytes"):
            await ws.send(message)
            assert await asyncio.wait_for(ws.recv(), 10) == message


async def test_json_echo(client: Client) -> None:
    value = {"n": 1, "list": [1.5, None, True], "text": "é"}
    async with client.connect("/json") as ws:
        await ws.send(json.dumps(value))
        assert json.loads(await asyncio.wait_for(ws.recv(), 10)) == {"echo": value}


async def test_replies_in_a_row_keep_order(client: Client) -> None:
    """Several sends per receive (genro-asgi receives ahead): nothing lost or reordered."""
    async with client.connect("/burst") as ws:
        for i in range(50):
            await ws.send(str(i))
        received = [await asyncio.wait_for(ws.recv(), 10) for _ in range(150)]
    assert received == [f"{i}.{j}" for i in range(50) for j in range(3)]


async def test_empty_frames(client: Client, delivers: Delivers) -> None:
    """Empty frames are echoed; on a server that drops them, the next message comes first."""
    async with client.connect("/echo") as ws:
        await ws.send("")
        await ws.send(b"")
        await ws.send("after")
        received = [await asyncio.wait_for(ws.recv(), 10)]
        if delivers.empty_messages:
            received += [await asyncio.wait_for(ws.recv(), 10) for _ in range(2)]
            assert received == ["", b"", "after"]
        else:
            assert received == ["after"]


async def test_one_mebibyte_message(client: Client) -> None:
    text = "x" * (1 << 20)
    data = os.urandom(1 << 20)
    async with client.connect("/echo") as ws:
        await ws.send(text)
        assert await asyncio.wait_for(ws.recv(), 30) == text
        await ws.send(data)
        assert await asyncio.wait_for(ws.recv(), 30) == data


async def test_subprotocol_negotiation(client: Client) -> None:
    async with client.connect("/subprotocol", subprotocols=["genro.v1", PICKED_SUBPROTOCOL]) as ws:
        assert ws.subprotocol == PICKED_SUBPROTOCOL
        seen = json.loads(await asyncio.wait_for(ws.recv(), 10))
    assert seen == {"offered": ["genro.v1", PICKED_SUBPROTOCOL], "accepted": PICKED_SUBPROTOCOL}


async def test_accept_headers(client: Client, delivers: Delivers) -> None:
    async with client.connect("/headers") as ws:
        outcome = await asyncio.wait_for(ws.recv(), 10)
        received = ws.response.headers
    cookies = [value for name, value in ACCEPT_HEADERS if name == "set-cookie"]
    if delivers.accept_headers == "sent":
        assert outcome == "sent"
        assert received["x-genro-e2e"] == "accepted"
        assert received.get_all("set-cookie") == cookies
    elif delivers.accept_headers == "dropped":  # sent, and the server drops them (granian
        # claims spec 2.3; daphne declares no spec_version, so genro-asgi cannot know)
        assert outcome == "sent"
        assert "x-genro-e2e" not in received
    else:  # ASGI spec < 2.1: genro-asgi refuses instead of silently dropping them
        assert outcome.startswith("RuntimeError: ")
        assert "x-genro-e2e" not in received


async def test_close_from_app(client: Client, delivers: Delivers) -> None:
    report_id = new_id()
    async with client.connect("/close-app", report_id) as ws:
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 10)
        assert ws.close_code == APP_CLOSE[0]
        assert ws.close_reason == (APP_CLOSE[1] if delivers.app_close_reason else "")
    seen = await client.report(report_id)
    assert [seen["close_code"], seen["close_reason"]] == list(APP_CLOSE)


async def test_app_returns_without_close(client: Client, delivers: Delivers) -> None:
    """What the server does when the app just returns (None: it keeps the connection open)."""
    async with client.connect("/return") as ws:
        assert [await asyncio.wait_for(ws.recv(), 10) for _ in range(2)] == ["one", "two"]
        try:
            await asyncio.wait_for(ws.recv(), 3)
        except ConnectionClosed:
            closed_with: int | None = ws.close_code
        except asyncio.TimeoutError:
            closed_with = None
    assert closed_with == delivers.on_return


async def test_close_from_client(client: Client, delivers: Delivers) -> None:
    """The app sees the client's code (and reason), then never blocks in the server again."""
    report_id = new_id()
    async with client.connect("/close-client", report_id) as ws:
        assert await asyncio.wait_for(ws.recv(), 10) == "ready"
        await ws.close(*CLIENT_CLOSE)
    seen = await client.report(report_id)
    code, reason = delivers.client_close
    disconnect = {"exception": "WebSocketDisconnect", "code": code, "reason": reason}
    assert seen["seen"] == disconnect
    assert [seen["close_code"], seen["close_reason"]] == [code, reason]
    assert seen["after"] == {"receive_text": disconnect, "send_text": disconnect}


async def test_deny(client: Client, delivers: Delivers) -> None:
    report_id = new_id()
    with pytest.raises(InvalidStatus) as info:
        async with client.connect("/deny", report_id):
            pass
    response = info.value.response
    if delivers.http_response:
        assert response.status_code == 401
        assert response.body == DENY_BODY
        assert response.headers["x-denied"] == "yes"
    else:
        assert response.status_code == 403
    seen = await client.report(report_id)
    assert seen == {"used_extension": delivers.http_response, "close_code": 1006}


def _vanish(ws: object, how: str = "reset") -> None:
    """Drop the TCP connection at once, no close frame: with a RST (``reset``) or a FIN."""
    transport = ws.transport  # type: ignore[attr-defined]
    if how == "reset":
        sock = transport.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


@pytest.mark.parametrize("how", ["reset", "fin"])
async def test_client_vanishes_while_app_only_sends(client: Client, how: str) -> None:
    """The app's send-only loop ends with WebSocketDisconnect promptly on every server."""
    report_id = new_id()
    async with client.connect("/stream", report_id) as ws:
        for _ in range(5):
            assert (await asyncio.wait_for(ws.recv(), 10)).startswith("tick ")
        vanished_at = time.time()
        _vanish(ws, how)
    seen = await client.report(report_id, timeout=15)
    assert seen["exception"] == "WebSocketDisconnect", seen
    assert seen["ended_at"] - vanished_at < 5.0, seen
    assert seen["close_code"] == seen["code"]


async def test_concurrent_connections(client: Client) -> None:
    """200 connections x 200 messages at once: every message echoed, in order, on its own."""
    count = CONCURRENCY

    async def one(number: int) -> list[str]:
        async with client.connect("/echo", open_timeout=60) as ws:
            sent = [f"{number}:{i}" for i in range(count)]
            for message in sent:
                await ws.send(message)
            received = [await asyncio.wait_for(ws.recv(), 60) for _ in range(count)]
            assert ws.state is State.OPEN
            return received

    results = await asyncio.gather(*(one(n) for n in range(count)))
    for number, received in enumerate(results):
        assert received == [f"{number}:{i}" for i in range(count)]


async def test_scope(client: Client) -> None:
    """What genro-asgi reads from the scope: the client port is an int on every server."""
    async with client.connect("/scope", "q", additional_headers={"X-E2E-Probe": "yes"}) as ws:
        seen = json.loads(await asyncio.wait_for(ws.recv(), 10))
    assert seen["client_port_type"] == "int"
    assert seen["url"] == f"{client.server.url}/scope?id=q"
    assert seen["url_port"] == client.server.port
    assert seen["query"] == [["id", "q"]]
    assert seen["header"] == "yes"


async def test_raw_server_behaviour(client: Client, delivers: Delivers) -> None:
    """Without genro-asgi: does the server's send raise once the client vanished, and what
    does receive() do after the disconnect? (The table in docs/guide/servers.md.)"""
    report_id = new_id()
    async with client.connect("/raw-probe", report_id) as ws:
        for _ in range(3):
            await asyncio.wait_for(ws.recv(), 10)
        _vanish(ws)
    seen = await client.report(report_id, timeout=15)
    assert seen["disconnect"]["type"] == "websocket.disconnect", seen
    assert (seen["send_error"] is not None) == delivers.send_raises, seen
    assert seen["receive_after"] == delivers.receive_after, seen


def test_server_stops_with_all_its_processes(server_name: str, tmp_path: Path) -> None:
    """stop() leaves no process of the server's group (hypercorn's resource tracker included)."""
    process = ServerProcess(
        server_name, "wsapp:app", app_dir=Path(__file__).parent, log_path=tmp_path / "log",
        env={"GENRO_E2E_REPORTS": str(tmp_path)},
    ).start()  # fmt: skip
    group = process.pid
    try:
        members = [pid for pid in map(int, filter(str.isdigit, os.listdir("/proc")))
                   if _pgid(pid) == group]  # fmt: skip
        assert group in members
        if server_name == "hypercorn":  # a worker and multiprocessing's resource tracker
            assert len(members) >= 3, members
    finally:
        process.stop()
    with pytest.raises(ProcessLookupError):
        os.killpg(group, 0)


def _pgid(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except ProcessLookupError:
        return None
