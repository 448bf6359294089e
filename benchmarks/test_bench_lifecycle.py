"""Workload 4: construct, read one header and one query param, accept(subprotocol), close()."""

from __future__ import annotations

from typing import Any

import pytest
import starlette.websockets

from ._impls import CONNECT, Transport, drive, make_scope, package


async def lifecycle(factory: Any, scope: dict[str, Any], transport: Transport) -> tuple[Any, Any]:
    ws = factory(scope, transport.receive, transport.send)
    host = ws.headers["host"]
    room = ws.query_params["room"]
    await ws.accept(subprotocol="chat")
    await ws.close()
    return host, room


async def raw_lifecycle(scope: dict[str, Any], transport: Transport) -> tuple[Any, Any]:
    """The floor: the same messages, exchanged without a wrapper (no header or query parsing)."""
    await transport.receive()
    await transport.send({"type": "websocket.accept", "subprotocol": "chat"})
    await transport.send({"type": "websocket.close", "code": 1000})
    return None, None


@pytest.mark.parametrize("impl", ["compiled", "pure", "starlette", "raw"])
def test_lifecycle(benchmark: Any, impl: str) -> None:
    benchmark.group = "lifecycle"
    scope, transport = make_scope(), Transport(CONNECT)
    if impl == "raw":
        result = benchmark(lambda: drive(raw_lifecycle(scope, transport)))
        assert result == (None, None)
        return
    factory = starlette.websockets.WebSocket if impl == "starlette" else package(impl).WebSocket
    result = benchmark(lambda: drive(lifecycle(factory, scope, transport)))
    assert result == ("chat.example.com", "lobby")
