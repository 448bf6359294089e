"""How fast could the lifecycle benchmark be? A bound measured against the real WebSocket.

Usage (genro_asgi installed, compiled; Starlette installed)::

    python benchmarks/prototypes/lean_lifecycle.py

``Bare`` is the least a wrapper can do for workload 4 (construct, one header, one query
parameter, ``accept(subprotocol=...)``, ``close()``) with the same compiled ``Headers`` and
``QueryParams``: six slots, a state integer, and no other check. It does not validate the
subprotocol, the ``websocket.connect`` message, the close code or reason; it does not detect the
server's ASGI spec, turn ``OSError`` into ``WebSocketDisconnect``, or keep ``close_code``,
``close_reason`` and ``accepted_subprotocol``. So it is not a candidate, only a bound: the ratio
it reaches against Starlette is the most any wrapper written in Python can reach on this
interpreter. Three subclasses of ``WebSocket`` each drop one part of that work (what
``__init__`` sets beyond ``Bare``, ``accept()``'s checks, ``close()``'s checks), so what each
part costs is the difference to ``WebSocket``. It prints ns per lifecycle (best of several
timeit repeats) and the ratios to Starlette. Not part of the benchmark suite.
"""

from __future__ import annotations

import platform
import sys
import timeit
from pathlib import Path
from typing import Any

import starlette.websockets

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks._impls import CONNECT, Transport, drive, make_scope
from benchmarks.test_bench_lifecycle import lifecycle, raw_lifecycle

from genro_asgi import COMPILED, WebSocket, headers_from_scope, query_params_from_scope
from genro_asgi.websocket import _CONNECTED, _CONNECTING, _DISCONNECTED


class Bare:
    """The lifecycle's work and nothing else (see the module docstring)."""

    __slots__ = ("_headers", "_query", "_receive", "_scope", "_send", "_state")

    def __init__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope.get("type") != "websocket":
            raise ValueError("not a websocket scope")
        self._scope, self._receive, self._send = scope, receive, send
        self._state = 0
        self._headers: Any = None
        self._query: Any = None

    @property
    def headers(self) -> Any:
        if self._headers is None:
            self._headers = headers_from_scope(self._scope)
        return self._headers

    @property
    def query_params(self) -> Any:
        if self._query is None:
            self._query = query_params_from_scope(self._scope)
        return self._query

    async def accept(self, subprotocol: str | None = None) -> None:
        if self._state != 0:
            raise RuntimeError("accept() twice")
        receive, send = self._receive, self._send
        if (await receive())["type"] != "websocket.connect":
            raise RuntimeError("no websocket.connect")
        await send({"type": "websocket.accept", "subprotocol": subprotocol})
        self._state = 1

    async def close(self, code: int = 1000) -> None:
        if self._state == 1:
            self._state = 2
            send = self._send
            await send({"type": "websocket.close", "code": code})


class WithoutInitState(WebSocket):
    """``WebSocket`` whose ``__init__`` sets only what this lifecycle reads."""

    __slots__ = ()

    def __init__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope.get("type") != "websocket":
            raise ValueError("not a websocket scope")
        self._scope, self._receive, self._send = scope, receive, send
        self._state = _CONNECTING
        self._headers = self._query_params = self._watch = None


class WithoutAcceptChecks(WebSocket):
    """``WebSocket`` whose ``accept()`` is ``Bare``'s."""

    __slots__ = ()

    async def accept(self, subprotocol: str | None = None, headers: Any = None) -> None:
        if self._state is not _CONNECTING:
            raise RuntimeError("accept() twice")
        receive, send = self._receive, self._send
        if (await receive())["type"] != "websocket.connect":
            raise RuntimeError("no websocket.connect")
        await send({"type": "websocket.accept", "subprotocol": subprotocol})
        self._state = _CONNECTED
        self._direct = True


class WithoutCloseChecks(WebSocket):
    """``WebSocket`` whose ``close()`` is ``Bare``'s."""

    __slots__ = ()

    async def close(self, code: int = 1000, reason: str = "") -> None:
        if self._state is _CONNECTED:
            self._state = _DISCONNECTED
            send = self._send
            await send({"type": "websocket.close", "code": code})


def best_ns(run: Any, number: int = 2000, repeat: int = 15) -> float:
    return min(timeit.repeat(run, number=number, repeat=repeat)) / number * 1e9


def main() -> None:
    if not COMPILED:
        raise SystemExit("genro_asgi is not compiled: see `python -m genro_asgi`")
    scope, transport = make_scope(), Transport(CONNECT)
    factories = {
        "Bare": Bare,
        "WebSocket": WebSocket,
        "WebSocket without __init__ state": WithoutInitState,
        "WebSocket without accept() checks": WithoutAcceptChecks,
        "WebSocket without close() checks": WithoutCloseChecks,
        "Starlette": starlette.websockets.WebSocket,
    }
    for factory in factories.values():  # the same results before anything is timed
        assert drive(lifecycle(factory, scope, transport)) == ("chat.example.com", "lobby")
    times = {"raw": best_ns(lambda: drive(raw_lifecycle(scope, transport)))}
    for name, factory in factories.items():
        times[name] = best_ns(lambda f=factory: drive(lifecycle(f, scope, transport)))
    print(f"Python {platform.python_version()}, ns per lifecycle (best of 15 x 2000)")
    for name, ns in times.items():
        ratio = f"Starlette / this {times['Starlette'] / ns:.2f}x" if name != "Starlette" else ""
        print(f"  {name:<34} {ns:7.0f} ns  {ratio}")


if __name__ == "__main__":
    main()
