"""A genro-asgi app inside the routers users already have (issue 14).

Starlette's ``Mount`` and ``WebSocketRoute`` (taking a raw ASGI app) and its middleware stack
(FastAPI and Litestar: test_routers_frameworks.py): what the framework puts in the scope
(``path``, ``root_path``, ``path_params``, ``scope["state"]``) must reach ``ws.path``,
``ws.url``, ``ws.path_params`` and ``ws.state``. The framework-specific conventions found here
are written down in docs/guide/frameworks.md.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

pytest.importorskip("starlette", reason="requirements/test.txt installs it on Python 3.11+")

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


def test_starlette_test_client_root_path_under_a_mount() -> None:
    """TestClient(root_path=...) leaves the root path out of path, Mount keeps it in: the two
    conventions mixed repeat the mount in ws.url (documented in docs/guide/frameworks.md)."""
    router = Router([Mount("/api/{version}", app=PeerApp())])
    seen = seen_at(TestClient(router, root_path="/app"), "/api/v1/chat")
    assert (seen["path"], seen["root_path"]) == ("/api/v1/chat", "/app/api/v1")
    assert seen["url"] == "ws://testserver/app/api/v1/api/v1/chat"
