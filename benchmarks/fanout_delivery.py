"""Server instructions per delivery, in one process: the hub against the serial loops (callgrind).

Usage (genro_asgi installed, compiled; valgrind on PATH)::

    python benchmarks/fanout_delivery.py                    # runs callgrind, prints the table
    python benchmarks/fanout_delivery.py APP BURST PUBLISHES  # one measured run

``MEMBERS`` accepted connections over a server ``send()`` that returns at once (a real server's
``send()`` when the socket takes the frame); a publisher sends ``PUBLISHES`` text frames, and
lets the event loop run after every ``BURST`` of them (``BURST=1``: every publish finds every
writer parked; larger bursts queue several frames per member before the hub's drain sends
them). Apps:

- ``raw``: the raw-ASGI serial loop, ``for send in sends: await send({...})``: the floor,
  with no isolation (one stalled client stalls everyone);
- ``naive``: ``for ws in members: await ws.send_text(text)``, today's chat example;
- ``hub`` / ``hub-pure``: ``await hub.publish_text(...)`` with the compiled or the pure fan-out;
- ``hub-eager``: the pure fan-out with eager sending: a parked writer's frame is sent inside
  the publish itself (``EagerDrain``) instead of in the drain's callback after it; compare
  with ``hub-pure``.

The driver runs callgrind for two publish counts and divides the difference by
``MEMBERS * (HIGH - LOW)``: instructions per delivery, set-up cancelled out. It measures CPU
work per delivery only, not the network; ``benchmarks/`` has the end-to-end benchmark.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from instructions import callgrind_total  # this folder is first on sys.path when run

from genro_asgi import _fanout_py

MEMBERS = 200
LOW, HIGH = 10, 60


class EagerDrain(_fanout_py.Drain):
    """Eager sending: a parked writer's frame is sent inside the publish that queued it (the
    send driven until it completes or first suspends), not in the drain's one callback."""

    __slots__ = ()

    def _add(self, outbox: Any) -> None:
        outbox._drive()


def scope() -> dict[str, Any]:
    return {
        "type": "websocket",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "path": "/",
        "headers": [],
        "query_string": b"",
    }


async def run(app: str, burst: int, publishes: int) -> None:
    if app in ("hub-pure", "hub-eager"):
        from genro_asgi import hub

        hub.Outbox, hub.fanout = _fanout_py.Outbox, _fanout_py.fanout  # type: ignore[misc]
        hub.Drain = _fanout_py.Drain if app == "hub-pure" else EagerDrain  # type: ignore[misc]
    from genro_asgi import WebSocket
    from genro_asgi.hub import Hub

    counts = [0] * MEMBERS

    def server(index: int) -> tuple[Any, Any]:
        async def receive() -> dict[str, Any]:
            return {"type": "websocket.connect"}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "websocket.send":
                counts[index] += 1

        return receive, send

    pairs = [server(n) for n in range(MEMBERS)]
    sockets = [WebSocket(scope(), receive, send) for receive, send in pairs]
    for ws in sockets:
        await ws.accept()
    sends = [send for _, send in pairs]
    texts = [f"message {n:06d} " + "x" * 80 for n in range(publishes)]
    if app == "raw":
        for text in texts:
            for send in sends:
                await send({"type": "websocket.send", "text": text})
    elif app == "naive":
        for text in texts:
            for ws in sockets:
                await ws.send_text(text)
    else:
        async with Hub(max_queue=max(64, burst)) as hub:
            attachments = [hub.attach(ws) for ws in sockets]
            for attachment in attachments:
                member = await attachment.__aenter__()
                await member.join("t")
            for n, text in enumerate(texts, 1):
                await hub.publish_text("t", text)
                if n % burst == 0:
                    await asyncio.sleep(0)
            for _ in range(1000):
                if all(count == publishes for count in counts):
                    break
                await asyncio.sleep(0)
            for attachment in attachments:
                await attachment.__aexit__(None, None, None)
    assert all(count == publishes for count in counts), counts[:5]


def instructions(app: str, burst: int, publishes: int) -> int:
    return callgrind_total([__file__, app, str(burst), str(publishes)], timeout=1800)


def per_delivery(app: str, burst: int) -> float:
    low = instructions(app, burst, LOW)
    high = instructions(app, burst, HIGH)
    return (high - low) / (MEMBERS * (HIGH - LOW))


def main() -> None:
    print(f"instructions per delivery ({MEMBERS} members, {LOW} vs {HIGH} publishes)")
    print(f"Python {sys.version.split()[0]}")
    raw = per_delivery("raw", 1)
    naive = per_delivery("naive", 1)
    print(f"{'app':<22}{'burst':>6}{'instructions':>14}{'x raw':>8}")
    print(f"{'raw serial loop':<22}{'-':>6}{raw:>14.0f}{1:>8.2f}")
    print(f"{'naive genro-asgi loop':<22}{'-':>6}{naive:>14.0f}{naive / raw:>8.2f}")
    for app in ("hub", "hub-pure", "hub-eager"):
        for burst in (1, 8):
            cost = per_delivery(app, burst)
            print(f"{app:<22}{burst:>6}{cost:>14.0f}{cost / raw:>8.2f}")


if __name__ == "__main__":
    if len(sys.argv) == 4:
        asyncio.run(run(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
    else:
        main()
