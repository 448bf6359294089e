"""Workload 5: memory the wrapper adds per accepted connection, headers and query parsed.

The timed part is the connection setup (construct, parse headers and query, accept). The
memory is measured once, outside the timing, with ``tracemalloc`` around the creation of
``MEMORY_N`` wrappers only: the scopes and the ASGI callables exist before tracing starts, the
wrappers are kept alive, and the bytes still allocated afterwards, divided by ``MEMORY_N``, go
into ``benchmark.extra_info["bytes"]`` (so the pytest-benchmark JSON carries them).
"""

from __future__ import annotations

import gc
import tracemalloc
from typing import Any

import pytest
import starlette.websockets

from ._impls import CONNECT, Transport, drive, make_scope, package

MEMORY_N = 200


def connect(factory: Any, scope: dict[str, Any], transport: Transport) -> Any:
    ws = factory(scope, transport.receive, transport.send)
    assert ws.headers.get("host") is not None
    assert ws.query_params.get("room") is not None
    drive(ws.accept(subprotocol="chat"))
    return ws


def bytes_per_connection(factory: Any) -> int:
    """Bytes still allocated per connection after creating ``MEMORY_N`` of them."""
    pairs = [(make_scope(), Transport(CONNECT)) for _ in range(MEMORY_N + 10)]
    for scope, transport in pairs[MEMORY_N:]:  # warm up caches outside the measurement
        connect(factory, scope, transport)
    kept: list[Any] = [None] * MEMORY_N
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for index in range(MEMORY_N):
            scope, transport = pairs[index]
            kept[index] = connect(factory, scope, transport)
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    return round((after - before) / MEMORY_N)


@pytest.mark.parametrize("impl", ["compiled", "pure", "starlette"])
def test_memory(benchmark: Any, impl: str) -> None:
    benchmark.group = "memory"
    factory = starlette.websockets.WebSocket if impl == "starlette" else package(impl).WebSocket
    benchmark.extra_info["bytes"] = bytes_per_connection(factory)
    scope, transport = make_scope(), Transport(CONNECT)
    ws = benchmark(lambda: connect(factory, scope, transport))
    assert ws.accepted_subprotocol if impl != "starlette" else ws.headers
