"""Workload 3: the message loop, ``receive_*()`` then ``send_*()``, over an in-memory transport.

One benchmark call runs ``LOOP_N`` receive+send pairs in one coroutine, driven without an
event loop (the transport never suspends). ``raw`` is the floor: the bare ASGI calls an
application would make without any wrapper, with the same JSON backend as genro-asgi.
"""

from __future__ import annotations

from typing import Any

import pytest
import starlette.websockets

from genro_asgi import _json

from ._impls import CONNECT, LOOP_N, Transport, drive, make_scope, package

IMPLS = ["compiled", "pure", "starlette", "raw"]
MESSAGES: dict[str, dict[str, Any]] = {
    "loop-text": {"type": "websocket.receive", "text": "hello, world"},
    "loop-bytes": {"type": "websocket.receive", "bytes": b"\x00\x01hello, world"},
    "loop-json": {"type": "websocket.receive", "text": '{"op":"say","room":7,"text":"hello"}'},
}


async def raw_text(transport: Transport, n: int) -> None:
    receive, send = transport.receive, transport.send
    for _ in range(n):
        message = await receive()
        await send({"type": "websocket.send", "text": message["text"]})


async def raw_bytes(transport: Transport, n: int) -> None:
    receive, send = transport.receive, transport.send
    for _ in range(n):
        message = await receive()
        await send({"type": "websocket.send", "bytes": message["bytes"]})


async def raw_json(transport: Transport, n: int) -> None:
    receive, send = transport.receive, transport.send
    loads, dumps = _json.loads, _json.dumps
    for _ in range(n):
        message = await receive()
        data = loads(message["text"])
        await send({"type": "websocket.send", "text": dumps(data).decode()})


async def ws_text(ws: Any, n: int) -> None:
    for _ in range(n):
        await ws.send_text(await ws.receive_text())


async def ws_bytes(ws: Any, n: int) -> None:
    for _ in range(n):
        await ws.send_bytes(await ws.receive_bytes())


async def ws_json(ws: Any, n: int) -> None:
    for _ in range(n):
        await ws.send_json(await ws.receive_json())


RAW = {"loop-text": raw_text, "loop-bytes": raw_bytes, "loop-json": raw_json}
WRAPPED = {"loop-text": ws_text, "loop-bytes": ws_bytes, "loop-json": ws_json}


def accepted(impl: str, transport: Transport) -> Any:
    """A connection of ``impl`` accepted over ``transport``, which then delivers frames."""
    factory = starlette.websockets.WebSocket if impl == "starlette" else package(impl).WebSocket
    frame = transport.message
    transport.message = CONNECT
    # uvicorn's scope (ASGI spec 2.4: send() raises once the client is gone, so genro-asgi
    # needs no receive-ahead); below 2.4 each receive costs one more coroutine layer.
    ws = factory(make_scope(), transport.receive, transport.send)
    drive(ws.accept())
    transport.message = frame
    return ws


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("workload", list(MESSAGES))
def test_loop(benchmark: Any, workload: str, impl: str) -> None:
    benchmark.group = workload
    benchmark.extra_info["ops"] = LOOP_N
    transport = Transport(MESSAGES[workload])
    if impl == "raw":
        loop, target = RAW[workload], transport
    else:
        loop, target = WRAPPED[workload], accepted(impl, transport)
    benchmark(lambda: drive(loop(target, LOOP_N)))
