"""A genro-asgi app inside FastAPI's ``app.mount`` and Litestar's ASGI route handler (issue 14).

requirements/test.txt installs both; requirements/wheel-test.txt (the tests run against each
built wheel, on every platform) leaves them out, since they need compiled packages
(pydantic-core, msgspec) that not every platform has: there this module is skipped.
"""

from __future__ import annotations

import pytest

pytest.importorskip("fastapi", reason="requirements/test.txt installs it")
pytest.importorskip("litestar", reason="requirements/test.txt installs it")

from fastapi import FastAPI
from litestar import Litestar, asgi
from litestar.exceptions import WebSocketDisconnect as LitestarDisconnect
from litestar.testing import TestClient as LitestarTestClient
from starlette.testclient import TestClient

from genro_asgi.types import Receive, Scope, Send

from .peer_app import PeerApp
from .test_routers import lifespan, seen_at

# -- FastAPI ------------------------------------------------------------------------------------


def test_fastapi_mount() -> None:
    app = FastAPI(lifespan=lifespan)
    app.mount("/genro", PeerApp())
    with TestClient(app) as client:
        seen = seen_at(client, "/genro/chat?room=1")
    assert seen["path"] == "/genro/chat"
    assert seen["root_path"] == "/genro"
    assert seen["url"] == "ws://testserver/genro/chat?room=1"
    assert seen["user"] == "ann"


# -- Litestar -----------------------------------------------------------------------------------


def litestar_app(genro: PeerApp) -> Litestar:
    async def mounted(scope: Scope, receive: Receive, send: Send) -> None:
        await genro(scope, receive, send)

    async def routed(scope: Scope, receive: Receive, send: Send) -> None:
        await genro(scope, receive, send)

    return Litestar(
        [
            asgi("/genro", is_mount=True, copy_scope=True)(mounted),
            asgi("/rooms/{room:str}", copy_scope=True)(routed),
        ],
        lifespan=[lifespan],
    )


def test_litestar_asgi_mount() -> None:
    genro = PeerApp()
    with (
        LitestarTestClient(litestar_app(genro)) as client,
        client.websocket_connect("/genro/chat?x=1") as ws,
    ):
        seen = ws.receive_json()
        ws.send_text("hi")
        assert ws.receive_text() == "HI"
    # Litestar strips the mount from path (adding a trailing slash) and sets no root_path;
    # ws.url is the full URL, built from raw_path.
    assert (seen["path"], seen["root_path"]) == ("/chat/", "")
    assert seen["url"] == "ws://testserver.local/genro/chat?x=1"
    assert seen["path_params"] == {}
    assert genro.events == [("left", 1000, "")]


def test_litestar_asgi_route_path_params_and_state() -> None:
    genro = PeerApp()
    with (
        LitestarTestClient(litestar_app(genro)) as client,
        client.websocket_connect("/rooms/r1") as ws,
    ):
        seen = ws.receive_json()
    assert seen["path"] == "/rooms/r1"
    assert seen["path_params"] == {"room": "r1"}
    assert seen["url"] == "ws://testserver.local/rooms/r1"
    # Litestar keeps its own per-connection data in scope["state"]: ws.state reads the same dict.
    assert seen["user"] is None


def test_litestar_test_client_accept_headers() -> None:
    genro = PeerApp()
    with (
        LitestarTestClient(litestar_app(genro)) as client,
        client.websocket_connect("/rooms/r1?headers=1", subprotocols=["chat"]) as ws,
    ):
        assert ws.accepted_subprotocol == "chat"
        assert ws.extra_headers == [(b"x-served-by", b"genro-asgi")]
        ws.receive_json()


def test_litestar_test_client_close_code_and_reason() -> None:
    genro = PeerApp()
    with (
        LitestarTestClient(litestar_app(genro)) as client,
        client.websocket_connect("/rooms/r1") as ws,
    ):
        ws.receive_json()
        ws.send_text("close")
        with pytest.raises(LitestarDisconnect) as info:
            ws.receive_text()
    assert (info.value.code, info.value.detail) == (4001, "done")


def test_litestar_test_client_deny_is_a_close_before_accept() -> None:
    """Litestar's TestClient offers no websocket.http.response extension."""
    genro = PeerApp()
    with (
        LitestarTestClient(litestar_app(genro)) as client,
        pytest.raises(LitestarDisconnect) as info,
        client.websocket_connect("/rooms/r?deny=1"),
    ):
        pass  # pragma: no cover - refused
    assert info.value.code == 1000
    assert genro.events == [("denied", False)]
