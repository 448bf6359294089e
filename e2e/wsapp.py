"""The ASGI app the end-to-end tests run under each server, written with ``genro_asgi.WebSocket``.

One route per behaviour under test. Routes that must tell the test what the app saw (a close
code, how a send loop ended) write a JSON report to ``$GENRO_E2E_REPORTS/<id>.json``, where
``id`` is the ``id`` query parameter; the test polls for that file.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Awaitable, Callable
from contextlib import suppress
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from genro_asgi import WebSocket, WebSocketDisconnect

#: The subprotocol the app picks when the client offers it.
PICKED_SUBPROTOCOL = "genro.v2"
ACCEPT_HEADERS = [("x-genro-e2e", "accepted"), ("set-cookie", "a=1"), ("set-cookie", "b=2")]
APP_CLOSE = (4001, "app says bye")
DENY_BODY = b"no entry for you"
STREAM_LIMIT = 30.0  # seconds a /stream loop may run before it gives up and reports a hang


def report(ws: WebSocket, **data: Any) -> None:
    """Write ``data`` where the test looks for it."""
    write_report(ws.query_params["id"], **data)


def write_report(name: str, **data: Any) -> None:
    """Write ``data`` as ``<name>.json`` in the report folder (atomically: write, then rename)."""
    folder = Path(os.environ["GENRO_E2E_REPORTS"])
    tmp = folder / f".{name}.tmp"
    tmp.write_text(json.dumps(data))
    tmp.rename(folder / f"{name}.json")


def _describe(exc: BaseException) -> dict[str, Any]:
    return {"exception": type(exc).__name__, "code": getattr(exc, "code", None),
            "reason": getattr(exc, "reason", None)}  # fmt: skip


async def echo(ws: WebSocket) -> None:
    await ws.accept()
    try:
        while True:
            data = await ws.receive_data()
            if isinstance(data, str):
                await ws.send_text(data)
            else:
                await ws.send_bytes(data)
    except WebSocketDisconnect:
        pass


async def echo_json(ws: WebSocket) -> None:
    await ws.accept()
    async for value in ws.iter_json():
        await ws.send_json({"echo": value})


async def burst(ws: WebSocket) -> None:
    """Three replies per message: the sends in a row make genro-asgi receive ahead."""
    await ws.accept()
    async for message in ws:
        for i in range(3):
            await ws.send_text(f"{message}.{i}")


async def just_return(ws: WebSocket) -> None:
    """Accept, send twice (receiving ahead starts), then return without close()."""
    await ws.accept()
    await ws.send_text("one")
    await ws.send_text("two")


async def subprotocol(ws: WebSocket) -> None:
    picked = PICKED_SUBPROTOCOL if PICKED_SUBPROTOCOL in ws.subprotocols else None
    await ws.accept(subprotocol=picked)
    await ws.send_json({"offered": list(ws.subprotocols), "accepted": ws.accepted_subprotocol})
    async for _ in ws:
        pass


async def headers(ws: WebSocket) -> None:
    try:
        await ws.accept(headers=ACCEPT_HEADERS)
        outcome = "sent"
    except RuntimeError as exc:  # a server below ASGI spec 2.1 cannot send them
        await ws.accept()
        outcome = f"RuntimeError: {exc}"
    await ws.send_text(outcome)
    async for _ in ws:
        pass


async def close_from_app(ws: WebSocket) -> None:
    await ws.accept()
    await ws.close(*APP_CLOSE)
    report(ws, close_code=ws.close_code, close_reason=ws.close_reason, state=ws.connection_state)


async def close_from_client(ws: WebSocket) -> None:
    """Receive until the client closes; report what the disconnect said, and what came after."""
    await ws.accept()
    await ws.send_text("ready")
    try:
        while True:
            await ws.receive_text()
    except WebSocketDisconnect as exc:
        seen = _describe(exc)
    after = {}
    for action in ("receive_text", "send_text"):
        try:  # must raise the same WebSocketDisconnect at once, never block in the server
            call = ws.receive_text() if action == "receive_text" else ws.send_text("late")
            await asyncio.wait_for(call, 5)
            after[action] = {"exception": None}
        except (WebSocketDisconnect, asyncio.TimeoutError) as exc:
            after[action] = _describe(exc)
    report(ws, seen=seen, close_code=ws.close_code, close_reason=ws.close_reason, after=after)


async def deny(ws: WebSocket) -> None:
    used_extension = await ws.deny(401, headers={"x-denied": "yes"}, body=DENY_BODY)
    report(ws, used_extension=used_extension, close_code=ws.close_code)


async def stream(ws: WebSocket) -> None:
    """Only send, never receive, until the client is gone; report how and when the loop ended."""
    await ws.accept()
    sent = 0
    deadline = time.monotonic() + STREAM_LIMIT
    try:
        while time.monotonic() < deadline:
            await ws.send_text(f"tick {sent}")
            sent += 1
            await asyncio.sleep(0.005)
        outcome: dict[str, Any] = {"exception": None}
    except WebSocketDisconnect as exc:
        outcome = _describe(exc)
    report(ws, ended_at=time.time(), sent=sent, close_code=ws.close_code, **outcome)


async def scope_info(ws: WebSocket) -> None:
    """Send what genro-asgi made of the scope, with the types the server used."""
    await ws.accept()
    client = ws.client
    await ws.send_json({
        "client_port_type": type(client.port).__name__ if client else None,
        "url": str(ws.url),
        "url_port": ws.url.port,
        "spec_version": ws.scope.get("asgi", {}).get("spec_version"),
        "http_response": "websocket.http.response" in (ws.scope.get("extensions") or {}),
        "query": ws.query_params.multi_items(),
        "header": ws.headers.get("x-e2e-probe"),
    })  # fmt: skip
    async for _ in ws:
        pass


async def raw_probe(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Raw ASGI, no genro-asgi: what the server itself does once the client has vanished.

    Sends every 5 ms while a second task waits for ``websocket.disconnect``; then keeps sending
    for 1 s to see whether ``send`` raises, and calls ``receive()`` once more (1 s bound).
    """
    name = parse_qs(scope["query_string"].decode())["id"][0]
    await receive()  # websocket.connect
    await send({"type": "websocket.accept"})
    disconnected = asyncio.get_running_loop().create_future()

    async def watch() -> None:
        disconnected.set_result(await receive())

    watcher = asyncio.create_task(watch())
    send_error = None
    deadline = time.monotonic() + STREAM_LIMIT
    while time.monotonic() < deadline:
        try:
            await send({"type": "websocket.send", "text": "tick"})
        except Exception as exc:
            send_error = type(exc).__name__
            break
        if disconnected.done() and deadline > time.monotonic() + 1:
            deadline = time.monotonic() + 1
        await asyncio.sleep(0.005)
    await asyncio.wait({watcher}, timeout=5)
    after: Any = "timeout"
    if disconnected.done():
        try:
            after = (await asyncio.wait_for(receive(), 1)).get("type")
        except asyncio.TimeoutError:
            after = "blocks"
        except Exception as exc:
            after = type(exc).__name__
    watcher.cancel()
    message = disconnected.result() if disconnected.done() else None
    write_report(name, disconnect=message, send_error=send_error, receive_after=after)


#: The raw-ASGI buffer probe: frames of this size, at most this many, and how long one send()
#: may take before it counts as waiting (the client stopped reading: only backpressure waits).
PROBE_FRAME = 8192
PROBE_LIMIT = 2000
PROBE_WAIT = 2.0


def _rss() -> int:
    """This process's resident memory in bytes (Linux), 0 elsewhere."""
    with suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


async def buffer_probe(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Raw ASGI, no genro-asgi: send 8 KB frames to a client that does not read.

    Reports how many ``send()`` calls returned before one waited ``PROBE_WAIT`` seconds (or
    ``PROBE_LIMIT`` returned: the server buffers without backpressure), then lets the waiting
    send finish once the client reads again, and waits for the client to leave.
    """
    name = parse_qs(scope["query_string"].decode())["id"][0]
    await receive()  # websocket.connect
    await send({"type": "websocket.accept"})
    frame = {"type": "websocket.send", "bytes": b"\x00" * PROBE_FRAME}
    returned, pending = 0, None
    rss = _rss()
    started = time.monotonic()
    while returned < PROBE_LIMIT:
        task = asyncio.ensure_future(send(frame))
        await asyncio.wait({task}, timeout=PROBE_WAIT)
        if not task.done():
            pending = task
            break
        task.result()
        returned += 1
    elapsed = time.monotonic() - started - (PROBE_WAIT if pending else 0.0)
    write_report(name, returned=returned, waited=pending is not None, seconds=elapsed,
                 rss_growth=_rss() - rss)  # fmt: skip
    if pending is not None:
        await asyncio.wait({pending}, timeout=STREAM_LIMIT)
    with suppress(Exception):
        while (await asyncio.wait_for(receive(), STREAM_LIMIT))["type"] != "websocket.disconnect":
            pass


# -- the hub (genro_asgi.hub): started on first use, in the server's own event loop ---------------
# Not every server runs the ASGI lifespan (daphne does not; the uvicorn commands turn it off), so
# the app starts its hub with ``await hub.start()`` when a hub route is first used; /hub-stop
# stops it (every member is closed with 1001) and the next hub route starts a new one.

_hub: Any = None
_hub_lock: asyncio.Lock | None = None


async def current_hub() -> Any:
    global _hub, _hub_lock
    from genro_asgi.hub import Hub

    if _hub_lock is None:
        _hub_lock = asyncio.Lock()
    async with _hub_lock:
        if _hub is None:
            hub = Hub()
            await hub.start()
            _hub = hub
    return _hub


def _stats(member: Any) -> dict[str, Any]:
    stats = member.stats
    return {key: getattr(stats, key, None) for key in ("queued", "sent", "dropped")}


async def hub_member(ws: WebSocket) -> None:
    """Join ``topic`` (a comma-separated list), say ``ready``, read until the connection ends;
    report how it ended."""
    hub = await current_hub()
    await ws.accept()
    max_queue = ws.query_params.get("max_queue")
    ended: dict[str, Any] = {"exception": None}
    async with hub.attach(ws, max_queue=int(max_queue) if max_queue else None) as member:
        for topic in ws.query_params["topic"].split(","):
            await member.join(topic, info={"id": ws.query_params["id"]})
        await member.send_text("ready")
        async for _ in ws:
            pass
        end_reason = member.end_reason
        stats = _stats(member)
    try:  # after the end, the WebSocket raises the same WebSocketDisconnect at once
        await asyncio.wait_for(ws.receive_text(), 5)
    except (WebSocketDisconnect, asyncio.TimeoutError) as exc:
        ended = _describe(exc)
    report(ws, end_reason=None if end_reason is None else str(end_reason), after=ended,
           close_code=ws.close_code, close_reason=ws.close_reason, stats=stats,
           ended_at=time.time())  # fmt: skip


async def hub_publish(ws: WebSocket) -> None:
    """Each text frame ``"<start> <count> <size>"`` publishes ``count`` frames on ``topic``:
    ``<index>:`` padded with ``x`` to ``size`` bytes, indexes from ``start``; replies with the
    members each publish was queued for."""
    hub = await current_hub()
    await ws.accept()
    topic = ws.query_params["topic"]
    async for command in ws:
        start, count, size = map(int, command.split())
        queued = []
        for index in range(start, start + count):
            head = f"{index}:"
            queued.append(await hub.publish_text(topic, head + "x" * (size - len(head))))
        await ws.send_json(queued)


async def hub_stop(ws: WebSocket) -> None:
    """Stop the hub (its members are closed with 1001); reply how long it took."""
    global _hub
    await ws.accept()
    hub, _hub = _hub, None
    started = time.monotonic()
    if hub is not None:
        await hub.stop()
    await ws.send_json({"stopped": hub is not None, "seconds": time.monotonic() - started})
    async for _ in ws:
        pass


ROUTES: dict[str, Callable[[WebSocket], Awaitable[None]]] = {
    "/echo": echo,
    "/json": echo_json,
    "/burst": burst,
    "/return": just_return,
    "/subprotocol": subprotocol,
    "/headers": headers,
    "/close-app": close_from_app,
    "/close-client": close_from_client,
    "/deny": deny,
    "/stream": stream,
    "/scope": scope_info,
    "/hub": hub_member,
    "/hub-publish": hub_publish,
    "/hub-stop": hub_stop,
}


async def _lifespan(receive: Any, send: Any) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Route a websocket scope by path; answer lifespan; 404 for plain HTTP."""
    if scope["type"] == "lifespan":
        await _lifespan(receive, send)
        return
    if scope["type"] == "http":
        await send({"type": "http.response.start", "status": 404, "headers": []})
        await send({"type": "http.response.body", "body": b"websocket only"})
        return
    if scope["path"] == "/raw-probe":
        await raw_probe(scope, receive, send)
        return
    if scope["path"] == "/buffer-probe":
        await buffer_probe(scope, receive, send)
        return
    ws = WebSocket(scope, receive, send)
    route = ROUTES.get(ws.path)
    if route is None:
        await ws.deny(404)
        return
    await route(ws)
