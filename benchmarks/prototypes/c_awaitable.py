"""Measure the C-level awaitable prototype (``c_awaitable.pyx``) against the real WebSocket.

Usage (needs Cython and a C compiler; genro_asgi installed, compiled)::

    python benchmarks/prototypes/c_awaitable.py

It compiles the prototype into a temporary directory, checks that it behaves under a real
event loop (suspension, cancellation, a binary frame, a disconnect, a send ``OSError``), then
prints ns per text receive+send pair for the raw ASGI calls (the floor), the leanest possible
``async def`` wrapper, ``genro_asgi.WebSocket`` and ``WebSocket`` whose ``receive_text``/
``send_text`` return the prototype's awaitables. Not part of the benchmark suite.
"""

from __future__ import annotations

import asyncio
import importlib
import shutil
import subprocess
import sys
import tempfile
import timeit
from pathlib import Path
from typing import Any

from genro_asgi import WebSocket, WebSocketDisconnect
from genro_asgi.websocket import _CONNECTED

HERE = Path(__file__).resolve().parent
N = 100
FRAME = {"type": "websocket.receive", "text": "hello, world"}
CONNECT = {"type": "websocket.connect"}


def build() -> Any:
    """Compile ``c_awaitable.pyx`` in a temporary directory and import it."""
    tmp = Path(tempfile.mkdtemp(prefix="c_awaitable-"))
    shutil.copy(HERE / "c_awaitable.pyx", tmp)
    subprocess.run(
        [sys.executable, "-m", "Cython.Build.Cythonize", "-3", "-q", "-i", "c_awaitable.pyx"],
        cwd=tmp,
        check=True,
        capture_output=True,
    )
    sys.path.insert(0, str(tmp))
    return importlib.import_module("c_awaitable")


proto = build()


class AwaitableWebSocket(WebSocket):
    """``receive_text``/``send_text`` as plain methods returning the prototype's awaitables."""

    __slots__ = ()

    def receive_text(self) -> Any:  # type: ignore[override]
        if self._state is not _CONNECTED:
            self._refuse("receive_text")
        return proto.text_receive(self, self._receive())

    def send_text(self, data: str) -> Any:  # type: ignore[override]
        if self._state is not _CONNECTED:
            self._refuse("send_text")
        if not isinstance(data, str):
            raise TypeError(f"send_text() takes str, got {type(data).__name__}")
        return proto.send_forward(self, self._send({"type": "websocket.send", "text": data}))


class Leanest:
    """The least an ``async def`` wrapper can do: forward, no checks."""

    def __init__(self, scope: Any, receive: Any, send: Any) -> None:
        self._receive, self._send = receive, send

    async def accept(self) -> None:
        await self._receive()
        await self._send({"type": "websocket.accept"})

    async def receive_text(self) -> str:
        return (await self._receive())["text"]  # type: ignore[no-any-return]

    async def send_text(self, data: str) -> None:
        await self._send({"type": "websocket.send", "text": data})


async def raises(expected: type[BaseException], awaitable: Any) -> Any:
    """Await ``awaitable``, which must raise ``expected``; return the exception."""
    try:
        await awaitable
    except expected as exc:
        return exc
    raise AssertionError(f"{expected.__name__} was not raised")


async def behaviour() -> None:
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        if message.get("text") == "boom":
            raise OSError("client gone")
        sent.append(message)

    ws = AwaitableWebSocket({"type": "websocket"}, inbox.get, send)
    inbox.put_nowait(CONNECT)
    await ws.accept()
    asyncio.get_running_loop().call_later(0.01, inbox.put_nowait, FRAME)
    assert await ws.receive_text() == "hello, world"  # the server's receive() suspended
    await ws.send_text("hi")
    assert sent[-1]["text"] == "hi"
    task = asyncio.ensure_future(ws.receive_text())
    await asyncio.sleep(0.01)
    task.cancel()
    await raises(asyncio.CancelledError, task)
    inbox.put_nowait({"type": "websocket.receive", "bytes": b"x"})
    await raises(TypeError, ws.receive_text())
    lost = await raises(WebSocketDisconnect, ws.send_text("boom"))
    assert lost.code == 1006
    assert ws.close_code == 1006


def drive(coro: Any) -> None:
    try:
        coro.send(None)
    except StopIteration:
        return
    raise RuntimeError("suspended")


async def receive() -> dict[str, Any]:
    return FRAME


async def send(message: dict[str, Any]) -> None:
    return None


async def raw(n: int) -> None:
    for _ in range(n):
        message = await receive()
        await send({"type": "websocket.send", "text": message["text"]})


async def loop(ws: Any, n: int) -> None:
    for _ in range(n):
        await ws.send_text(await ws.receive_text())


def connected(factory: Any) -> Any:
    messages = iter([CONNECT])

    async def first() -> dict[str, Any]:
        return next(messages)

    ws = factory({"type": "websocket"}, first, send)
    drive(ws.accept())
    ws._receive = receive
    return ws


def ns(fn: Any) -> float:
    return min(timeit.repeat(fn, number=200, repeat=15)) / 200 / N * 1e9


if __name__ == "__main__":
    asyncio.run(behaviour())
    floor = ns(lambda: drive(raw(N)))
    print(f"Python {sys.version.split()[0]}: ns per text receive+send pair")
    print(f"{'raw ASGI calls (floor)':<34} {floor:6.0f}  1.00x")
    for name, factory in [
        ("leanest async def wrapper", Leanest),
        ("genro_asgi.WebSocket", WebSocket),
        ("WebSocket + C awaitables", AwaitableWebSocket),
    ]:
        ws = connected(factory)
        time = ns(lambda ws=ws: drive(loop(ws, N)))
        print(f"{name:<34} {time:6.0f}  {time / floor:.2f}x")
