"""A genro-asgi app inside the routers users already have (issue 14).

Starlette's ``Mount`` and ``WebSocketRoute`` (taking a raw ASGI app), its middleware stack,
FastAPI's ``app.mount`` and Litestar's ASGI route handler: what the framework puts in the scope
(``path``, ``root_path``, ``path_params``, ``scope["state"]``) must reach ``ws.path``,
``ws.url``, ``ws.path_params`` and ``ws.state``. The framework-specific conventions found here
are written down in docs/guide/frameworks.md.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from fastapi import FastAPI
from litestar import Litestar, asgi
from litestar.testing import TestClient as LitestarTestClient
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Router, WebSocketRoute
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect as StarletteDisconnect

from genro_asgi.types import Receive, Scope, Send

from .peer_app import PeerApp


@asynccontextmanager
async def lifespan(app: object) -> AsyncIterator[dict[str, Any]]:
    yield {"user": "ann"}  # Starlette copies it into every connection's scope["state"]


def seen_at(client: TestClient, path: str) -> dict[str, Any]:
    with client.websocket_connect(path) as ws:
        seen: dict[str, Any] = ws.receive_json()
        ws.send_text("hi")
        assert ws.receive_text() == "HI"
    return seen


# -- Starlette ----------------------------------------------------------------------------------


def test_starlette_router_mount_and_websocket_route() -> None:
    genro = PeerApp()
    router = Router(
        [
            Mount("/api/{version}", app=genro),
            WebSocketRoute("/rooms/{room}", endpoint=genro),  # a class instance: raw ASGI
        ]
    )
    client = TestClient(router)
    assert seen_at(client, "/api/v1/chat?x=1") == {
        "path": "/api/v1/chat",  # Starlette keeps the full path and extends root_path
        "url": "ws://testserver/api/v1/chat?x=1",
        "root_path": "/api/v1",
        "path_params": {"version": "v1"},
        "user": None,
        "subprotocols": [],
    }
    seen = seen_at(client, "/rooms/r%201")
    assert (seen["path"], seen["url"]) == ("/rooms/r 1", "ws://testserver/rooms/r%201")
    assert seen["path_params"] == {"room": "r 1"}
    assert genro.events == [("left", 1000, ""), ("left", 1000, "")]


def test_starlette_lifespan_state_reaches_ws_state() -> None:
    app = Starlette(routes=[Mount("/ws", app=PeerApp())], lifespan=lifespan)
    with TestClient(app) as client:  # the block runs the lifespan
        assert seen_at(client, "/ws/chat")["user"] == "ann"


class StateMiddleware:
    """A pure ASGI middleware that stores a value in ``scope["state"]`` for the app."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope.setdefault("state", {})["user"] = "bob"
        await self.app(scope, receive, send)


class PassThrough(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        return await call_next(request)  # pragma: no cover - HTTP only


def test_starlette_middleware_stack_passes_the_connection_through() -> None:
    genro = PeerApp()
    app = Starlette(
        routes=[Mount("/ws", app=genro)],
        middleware=[
            Middleware(TrustedHostMiddleware, allowed_hosts=["testserver"]),
            Middleware(CORSMiddleware, allow_origins=["https://chat.example.com"]),
            Middleware(GZipMiddleware),
            Middleware(PassThrough),
            Middleware(StateMiddleware),
        ],
    )
    client = TestClient(app)
    with client.websocket_connect("/ws/chat?x=1", subprotocols=["chat"]) as ws:
        assert ws.accepted_subprotocol == "chat"
        assert ws.receive_json()["user"] == "bob"
        ws.send_bytes(b"ab")
        assert ws.receive_bytes() == b"ba"
        ws.send_text("close")
        with pytest.raises(StarletteDisconnect) as info:
            ws.receive_text()
    assert info.value.code == 4001
    assert genro.events == [("closed", 4001, "done")]


def test_starlette_trusted_host_refuses_before_the_app() -> None:
    genro = PeerApp()
    app = Starlette(
        routes=[Mount("/ws", app=genro)],
        middleware=[Middleware(TrustedHostMiddleware, allowed_hosts=["chat.example.com"])],
    )
    with pytest.raises(StarletteDisconnect), TestClient(app).websocket_connect("/ws/chat"):
        pass  # pragma: no cover - refused
    assert genro.events == []


def test_starlette_mount_under_a_server_root_path() -> None:
    """A server started with a root path (uvicorn --root-path /app) puts it in path too."""
    genro = PeerApp()
    router = Router([Mount("/api", app=genro)])

    async def server(scope: Scope, receive: Receive, send: Send) -> None:
        scope = {**scope, "root_path": "/app", "path": "/app" + scope["path"]}
        scope["raw_path"] = b"/app" + scope["raw_path"]
        await router(scope, receive, send)

    seen = seen_at(TestClient(server), "/api/chat")
    assert (seen["path"], seen["root_path"]) == ("/app/api/chat", "/app/api")
    assert seen["url"] == "ws://testserver/app/api/chat"


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
