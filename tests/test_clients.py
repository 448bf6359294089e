"""One genro-asgi app driven by the test clients users already have (issue 14).

Starlette's ``TestClient``, asgiref's ``ApplicationCommunicator`` and httpx-ws's
``ASGIWebSocketTransport``: handshake (subprotocol, accept headers), text/bytes/JSON both ways,
a close with code and reason as the client sees it, ``deny()`` as the client sees it, and the
client leaving as the app sees it. None of these clients puts ``spec_version`` in its scope
(SPEC section 4, revised: a server of unknown spec gets the accept headers and the close reason).
What each client gets wrong is written down in docs/guide/frameworks.md.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest

pytest.importorskip("starlette", reason="requirements/test.txt installs it on Python 3.11+")
pytest.importorskip("httpx", reason="requirements/test.txt installs it on Python 3.11+")
pytest.importorskip("httpx_ws", reason="requirements/test.txt installs it on Python 3.11+")
pytest.importorskip("asgiref", reason="requirements/test.txt installs it on Python 3.11+")

import httpx
from asgiref.testing import ApplicationCommunicator
from httpx_ws import WebSocketDisconnect as HttpxWsDisconnect
from httpx_ws import WebSocketSession, aconnect_ws
from httpx_ws.transport import ASGIWebSocketTransport
from starlette.testclient import TestClient, WebSocketDenialResponse
from starlette.websockets import WebSocketDisconnect as StarletteDisconnect

from .peer_app import PeerApp

TIMEOUT = 5.0  # every wait on the app is bounded


@pytest.fixture
def app() -> PeerApp:
    return PeerApp()


# -- Starlette's TestClient ------------------------------------------------------------------------


def test_starlette_handshake_and_subprotocol(app: PeerApp) -> None:
    with TestClient(app).websocket_connect("/ws?x=1", subprotocols=["other", "chat"]) as ws:
        assert ws.accepted_subprotocol == "chat"
        seen = ws.receive_json()
    assert seen["subprotocols"] == ["other", "chat"]
    assert seen["url"] == "ws://testserver/ws?x=1"


def test_starlette_accept_headers(app: PeerApp) -> None:
    with TestClient(app).websocket_connect("/ws?headers=1") as ws:
        assert (b"x-served-by", b"genro-asgi") in ws.extra_headers
        ws.receive_json()


def test_starlette_text_bytes_json_both_ways(app: PeerApp) -> None:
    with TestClient(app).websocket_connect("/ws") as ws:
        ws.receive_json()
        ws.send_text("hi")
        assert ws.receive_text() == "HI"
        ws.send_bytes(b"\x00\x01\xff")
        assert ws.receive_bytes() == b"\xff\x01\x00"
        ws.send_text("json")
        ws.send_json({"a": [1, "é"]})
        assert ws.receive_json() == {"echo": {"a": [1, "é"]}}


def test_starlette_close_code_and_reason(app: PeerApp) -> None:
    with TestClient(app).websocket_connect("/ws") as ws:
        ws.receive_json()
        ws.send_text("close")
        with pytest.raises(StarletteDisconnect) as info:
            ws.receive_text()
    assert (info.value.code, info.value.reason) == (4001, "done")
    assert app.events == [("closed", 4001, "done")]


def test_starlette_deny_is_the_denial_response(app: PeerApp) -> None:
    with (
        pytest.raises(WebSocketDenialResponse) as info,
        TestClient(app).websocket_connect("/ws?deny=1"),
    ):
        pass  # pragma: no cover - the handshake is refused
    assert info.value.status_code == 401
    assert info.value.content == b"log in first"
    assert info.value.headers["x-why"] == "login"
    assert app.events == [("denied", True)]


@pytest.mark.parametrize(("close", "seen"), [((4002, "bye"), (4002, "bye")), (None, (1000, ""))])
def test_starlette_client_leaving(
    app: PeerApp, close: tuple[int, str] | None, seen: tuple[int, str]
) -> None:
    with TestClient(app).websocket_connect("/ws") as ws:
        ws.receive_json()
        if close is not None:
            ws.close(*close)
    # Leaving the block waits for the app to return.
    assert app.events == [("left", *seen)]


# -- asgiref's ApplicationCommunicator ---------------------------------------------------------


def communicator(app: PeerApp, query: bytes = b"", **scope: Any) -> ApplicationCommunicator:
    return ApplicationCommunicator(
        app,
        {
            "type": "websocket",
            "path": "/ws",
            "raw_path": b"/ws",
            "query_string": query,
            "scheme": "ws",
            "headers": [(b"host", b"testserver")],
            "server": ("testserver", 80),
            "client": ("127.0.0.1", 50000),
            "subprotocols": ["chat"],
            **scope,
        },
    )


async def handshake(comm: ApplicationCommunicator) -> dict[str, Any]:
    await comm.send_input({"type": "websocket.connect"})
    accept: dict[str, Any] = await comm.receive_output(TIMEOUT)
    assert (await comm.receive_output(TIMEOUT))["type"] == "websocket.send"  # describe()
    return accept


async def test_asgiref_handshake_and_subprotocol(app: PeerApp) -> None:
    comm = communicator(app)
    assert await handshake(comm) == {"type": "websocket.accept", "subprotocol": "chat"}
    await comm.send_input({"type": "websocket.disconnect", "code": 1000})
    await comm.wait(TIMEOUT)


async def test_asgiref_accept_headers(app: PeerApp) -> None:
    comm = communicator(app, b"headers=1")
    accept = await handshake(comm)
    assert accept["headers"] == [(b"x-served-by", b"genro-asgi")]
    await comm.send_input({"type": "websocket.disconnect", "code": 1000})
    await comm.wait(TIMEOUT)


async def test_asgiref_text_bytes_json_both_ways(app: PeerApp) -> None:
    comm = communicator(app)
    await handshake(comm)
    await comm.send_input({"type": "websocket.receive", "text": "hi"})
    assert await comm.receive_output(TIMEOUT) == {"type": "websocket.send", "text": "HI"}
    await comm.send_input({"type": "websocket.receive", "bytes": b"ab"})
    assert await comm.receive_output(TIMEOUT) == {"type": "websocket.send", "bytes": b"ba"}
    await comm.send_input({"type": "websocket.receive", "text": "json"})
    await comm.send_input({"type": "websocket.receive", "text": '{"n": 1}'})
    reply = await comm.receive_output(TIMEOUT)
    assert reply == {"type": "websocket.send", "text": '{"echo":{"n":1}}'}
    await comm.send_input({"type": "websocket.disconnect", "code": 1001})
    await comm.wait(TIMEOUT)
    assert app.events == [("left", 1001, "")]


async def test_asgiref_close_code_and_reason(app: PeerApp) -> None:
    comm = communicator(app)
    await handshake(comm)
    await comm.send_input({"type": "websocket.receive", "text": "close"})
    close = await comm.receive_output(TIMEOUT)
    assert close == {"type": "websocket.close", "code": 4001, "reason": "done"}
    await comm.wait(TIMEOUT)


async def test_asgiref_deny_with_the_extension(app: PeerApp) -> None:
    comm = communicator(app, b"deny=1", extensions={"websocket.http.response": {}})
    await comm.send_input({"type": "websocket.connect"})
    start = await comm.receive_output(TIMEOUT)
    assert start == {
        "type": "websocket.http.response.start",
        "status": 401,
        "headers": [(b"x-why", b"login")],
    }
    body = await comm.receive_output(TIMEOUT)
    assert body == {"type": "websocket.http.response.body", "body": b"log in first"}
    await comm.wait(TIMEOUT)
    assert app.events == [("denied", True)]


async def test_asgiref_deny_without_the_extension(app: PeerApp) -> None:
    """The scope offers no extension: a close before accept, which a server answers with 403."""
    comm = communicator(app, b"deny=1")
    await comm.send_input({"type": "websocket.connect"})
    assert await comm.receive_output(TIMEOUT) == {"type": "websocket.close", "code": 1000}
    await comm.wait(TIMEOUT)
    assert app.events == [("denied", False)]


async def test_asgiref_client_leaving(app: PeerApp) -> None:
    comm = communicator(app)
    await handshake(comm)
    await comm.send_input({"type": "websocket.disconnect", "code": 4002, "reason": "bye"})
    await comm.wait(TIMEOUT)
    assert app.events == [("left", 4002, "bye")]


# -- httpx-ws ----------------------------------------------------------------------------------


@asynccontextmanager
async def httpx_ws_client(app: PeerApp) -> AsyncIterator[httpx.AsyncClient]:
    async with (
        ASGIWebSocketTransport(app) as transport,
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as client,
    ):
        yield client


def bounded(
    test: Callable[[PeerApp], Awaitable[None]],
) -> Callable[[PeerApp], Awaitable[None]]:
    async def run(app: PeerApp) -> None:
        await asyncio.wait_for(test(app), TIMEOUT)

    run.__name__ = test.__name__
    return run


@bounded
async def test_httpx_ws_handshake_and_subprotocol(app: PeerApp) -> None:
    async with (
        httpx_ws_client(app) as client,
        aconnect_ws("/ws?x=1", client, subprotocols=["chat"]) as ws,
    ):
        assert ws.subprotocol == "chat"
        seen = await ws.receive_json()
    assert seen["url"] == "ws://testserver/ws?x=1"


@bounded
async def test_httpx_ws_keeps_the_space_after_a_comma(app: PeerApp) -> None:
    """httpx-ws 0.9 splits the offered subprotocols on "," without stripping (documented)."""
    async with (
        httpx_ws_client(app) as client,
        aconnect_ws("/ws", client, subprotocols=["other", "chat"]) as ws,
    ):
        assert ws.subprotocol is None
        assert (await ws.receive_json())["subprotocols"] == ["other", " chat"]


@bounded
async def test_httpx_ws_accept_headers(app: PeerApp) -> None:
    async with httpx_ws_client(app) as client, aconnect_ws("/ws?headers=1", client) as ws:
        assert ws.response is not None
        assert ws.response.headers["x-served-by"] == "genro-asgi"
        await ws.receive_json()


@bounded
async def test_httpx_ws_text_bytes_json_both_ways(app: PeerApp) -> None:
    async with httpx_ws_client(app) as client, aconnect_ws("/ws", client) as ws:
        await ws.receive_json()
        await ws.send_text("hi")
        assert await ws.receive_text() == "HI"
        await ws.send_bytes(b"ab")
        assert await ws.receive_bytes() == b"ba"
        await ws.send_text("json")
        await ws.send_json({"n": 1})
        assert await ws.receive_json() == {"echo": {"n": 1}}


@bounded
async def test_httpx_ws_close_code_and_reason(app: PeerApp) -> None:
    async with httpx_ws_client(app) as client, aconnect_ws("/ws", client) as ws:
        await ws.receive_json()
        await ws.send_text("close")
        with pytest.raises(HttpxWsDisconnect) as info:
            await ws.receive_text()
    assert (info.value.code, info.value.reason) == (4001, "done")


@bounded
async def test_httpx_ws_deny_is_a_close_before_accept(app: PeerApp) -> None:
    """httpx-ws reads a denial response but does not offer the extension in its scope."""
    async with httpx_ws_client(app) as client:
        with pytest.raises(HttpxWsDisconnect) as info:
            async with aconnect_ws("/ws?deny=1", client):
                pass  # pragma: no cover - the handshake is refused
    assert info.value.code == 1000
    assert app.events == [("denied", False)]


@bounded
async def test_httpx_ws_client_leaving(app: PeerApp) -> None:
    async with httpx_ws_client(app) as client:
        ws: WebSocketSession
        async with aconnect_ws("/ws", client) as ws:
            await ws.receive_json()
        for _ in range(100):  # the app runs in the transport's task group: let it finish
            if app.events:
                break
            await asyncio.sleep(0.01)
    assert app.events == [("left", 1000, "")]
