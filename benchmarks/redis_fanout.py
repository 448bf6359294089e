"""Fan-out across processes on one Redis: the hub on RedisBackend vs Starlette + broadcaster.

    python benchmarks/redis_fanout.py --clients 500 --publishes 200 --rounds 3

Starts its own redis-server (Debian's package) on a free 127.0.0.1 port. The server processes
run the genro_asgi this interpreter imports (printed first, with whether it is compiled). Three
set-ups, side by side in each round (the order rotates):

- ``raw``: ONE uvicorn process, the raw-ASGI serial loop (one message dict per publish, a serial
  ``await send(...)`` per subscriber): the single-process floor, no Redis;
- ``hub-redis``: TWO uvicorn processes, each with ``Hub(RedisBackend(url))``;
- ``broadcaster-redis``: TWO uvicorn processes, each a Starlette app with ``broadcaster``
  0.3.1 on Redis in its README's pattern (one subscriber task per connection). broadcaster's
  Redis backend as published delivers nothing with redis-py >= 6 (its listener starts before
  the first SUBSCRIBE is done, finds no channel and waits for ever): its ``subscribe`` is
  patched to set the ready flag after subscribing, the smallest change that makes it deliver.
  A second broadcaster race: while a channel's first SUBSCRIBE is in flight, every other
  subscriber that arrives also sees no subscriber and *replaces* the channel's set of queues, so
  all but the last of them never get a message (seen here: with 50 connections opened at once,
  some subscribers got 0 of 32, the others all 32). The load generator therefore connects one
  subscriber per process alone first, then the rest, 50 at a time; the hub needs neither.

``--clients`` subscribers, spread evenly over the set-up's processes, and one publisher
connection to the first process; the publisher sends ``--publishes`` text frames (index and
send time in the payload), at most ``--window`` ahead of the slowest subscriber. Every
subscriber checks it gets each publish once, in order. Reported per set-up (median over
rounds): deliveries per second, p50/p99 latency (publisher's write to the subscriber's read),
lost, Redis commands per publish (``INFO commandstats``: PUBLISH and all commands), and the
server CPU per delivery (``/proc``, all server processes; Redis not included). The exit status
is 1 only if a delivery is lost or reordered.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from _loadgen import Connection, client_frame, cpu_seconds, percentile

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parent / "e2e"))

SETUPS = {"raw": 1, "hub-redis": 2, "broadcaster-redis": 2}  # set-up -> server processes
TOPIC = "room"
READY = b"ready"

# -- the apps (run in the server processes: `python redis_fanout.py --serve NAME PORT URL`) ----


def make_raw() -> Any:
    sends: set[Any] = set()

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await receive()
            await send({"type": "lifespan.startup.complete"})
            await receive()
            await send({"type": "lifespan.shutdown.complete"})
            return
        await receive()
        await send({"type": "websocket.accept"})
        if scope["path"] == "/pub":
            while (message := await receive())["type"] == "websocket.receive":
                out = {"type": "websocket.send", "text": message["text"]}
                for member in list(sends):
                    await member(out)
            return
        sends.add(send)
        await send({"type": "websocket.send", "text": READY.decode()})
        try:
            while (await receive())["type"] == "websocket.receive":
                pass
        finally:
            sends.discard(send)

    return app


def make_hub(url: str) -> Any:
    from genro_asgi import WebSocket
    from genro_asgi.hub import Hub, RedisBackend

    hub = Hub(RedisBackend(url), max_queue=256)

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await receive()
            async with hub:
                await send({"type": "lifespan.startup.complete"})
                await receive()
            await send({"type": "lifespan.shutdown.complete"})
            return
        ws = WebSocket(scope, receive, send)
        await ws.accept()
        if ws.path == "/pub":
            async for text in ws.iter_text():
                await hub.publish_text(TOPIC, text)
            return
        async with hub.attach(ws) as member:
            await member.join(TOPIC)
            await member.send_text(READY.decode())
            async for _ in ws.iter_text():
                pass

    return app


def make_broadcaster(url: str) -> Any:
    from broadcaster import Broadcast
    from broadcaster._backends.redis import RedisBackend

    from benchmarks.fanout_throughput import make_broadcaster as broadcaster_app

    class Patched(RedisBackend):  # type: ignore[misc]
        async def subscribe(self, channel: str) -> None:
            await self._pubsub.subscribe(channel)
            self._ready.set()

    # The same Starlette app as fanout_throughput.py's, over the patched Redis backend.
    return broadcaster_app(Broadcast(backend=Patched(url)))


def serve(name: str, port: int, url: str) -> None:
    import uvicorn

    if name == "raw":
        app = make_raw()
    elif name == "hub-redis":
        app = make_hub(url)
    else:
        app = make_broadcaster(url)
    uvicorn.run(app, host="127.0.0.1", port=port, ws="websockets-sansio", log_level="warning",
                lifespan="on")  # fmt: skip


# -- the load generator ---------------------------------------------------------------------------


class Client(Connection):
    """A subscriber (open on its 'ready' frame; checks each publish comes once, in order) or the
    publisher (open on the 101); payload ``%08d %d``: the index, the send time in ns."""

    def __init__(self, port: int, path: str) -> None:
        super().__init__(port, path)
        self.next = 0
        self.latencies: list[float] = []
        self.reordered = 0

    def upgraded(self) -> None:
        if self.path == "/pub":
            self.opened.set_result(None)

    def text(self, buffer: bytearray, start: int, length: int, now: float) -> None:
        payload = buffer[start : start + length]
        if payload == READY:
            if not self.opened.done():
                self.opened.set_result(None)
            return
        index = int(payload[:8])
        if index != self.next:
            self.reordered += 1
        self.next = index + 1
        self.latencies.append((now - int(payload[9:]) / 1e9) * 1e3)  # ms

    def control(self, opcode: int, body: bytes) -> None:
        """Ignored (a close included)."""


def command_stats(server: Any) -> dict[str, int]:
    stats = {}
    for name, value in server.info("commandstats").items():
        calls = value.split("calls=", 1)[1].split(",", 1)[0]
        stats[name] = int(calls)
    return stats


async def load(
    ports: list[int], args: argparse.Namespace, sample: Any
) -> tuple[dict[str, Any], Any, Any]:
    """Connect, publish, collect; ``sample()`` is taken once every subscriber is ready and the
    publisher connected, and again when the deliveries are in (connection set-up excluded)."""
    loop = asyncio.get_running_loop()
    subscribers: list[Client] = []
    for port in ports:  # one subscriber per process first, alone (see the module docstring)
        _, sub = await loop.create_connection(
            lambda port=port: Client(port, "/sub"), "127.0.0.1", port
        )
        await asyncio.wait_for(sub.opened, 30)
        subscribers.append(sub)
    for n in range(len(ports), args.clients):
        port = ports[n % len(ports)]
        _, sub = await loop.create_connection(
            lambda port=port: Client(port, "/sub"), "127.0.0.1", port
        )
        subscribers.append(sub)
        if n % 50 == 49:
            await asyncio.wait_for(asyncio.gather(*(s.opened for s in subscribers)), 30)
    await asyncio.wait_for(asyncio.gather(*(s.opened for s in subscribers)), 30)
    _, pub = await loop.create_connection(lambda: Client(ports[0], "/pub"), "127.0.0.1", ports[0])
    await asyncio.wait_for(pub.opened, 10)
    assert pub.transport is not None
    await asyncio.sleep(0.5)  # every subscription settled (broadcaster subscribes lazily)
    first = sample()
    started = time.perf_counter()
    stuck = False
    for index in range(args.publishes):
        deadline = time.monotonic() + 10
        while index - min(s.next for s in subscribers) >= args.window:
            if time.monotonic() > deadline:
                stuck = True  # a subscriber stopped receiving: stop, report what was lost
                break
            await asyncio.sleep(0.0005)
        if stuck or pub.transport.is_closing():
            break
        pub.transport.write(client_frame(b"%08d %d" % (index, time.perf_counter_ns())))
    deadline = time.monotonic() + 10
    # polls the counters the protocols update (no event per delivery on the hot path)
    while min(s.next for s in subscribers) < args.publishes and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.001)
    elapsed = time.perf_counter() - started
    second = sample()
    if stuck:
        behind = [n for n, s in enumerate(subscribers) if s.next < args.publishes]
        counts = sorted({subscribers[n].next for n in behind})
        print(f"stuck: {len(behind)} subscribers behind, their counts {counts[:10]}", flush=True)
    latencies = [x for s in subscribers for x in s.latencies]
    delivered = len(latencies)
    for connection in [*subscribers, pub]:
        if connection.transport is not None:
            connection.transport.close()
    await asyncio.sleep(0.2)
    return (
        {
            "delivered": delivered,
            "lost": args.clients * args.publishes - delivered,
            "reordered": sum(s.reordered for s in subscribers),
            "elapsed": elapsed,
            "p50": percentile(latencies, 0.50),
            "p99": percentile(latencies, 0.99),
        },
        first,
        second,
    )


def measure(setup: str, redis_server: Any, args: argparse.Namespace, log: Path) -> dict[str, Any]:
    from servers import free_port

    procs, ports = [], []
    try:
        for _ in range(SETUPS[setup]):
            port = free_port()
            procs.append(
                subprocess.Popen(
                    [sys.executable, __file__, "--serve", setup, str(port), redis_server.url],
                    stdout=log.open("ab"),
                    stderr=subprocess.STDOUT,
                )  # the servers import the genro_asgi this interpreter has (main() prints it)
            )
            ports.append(port)
        for port in ports:
            wait_port(port)

        def sample() -> tuple[float, dict[str, int]]:
            return sum(cpu_seconds(p.pid) for p in procs), command_stats(redis_server)

        result, (cpu0, before), (cpu1, after) = asyncio.run(load(ports, args, sample))
        cpu = cpu1 - cpu0
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    calls = {k: after.get(k, 0) - before.get(k, 0) for k in after}
    result["publish_per_publish"] = calls.get("cmdstat_publish", 0) / args.publishes
    result["commands_per_publish"] = sum(calls.values()) / args.publishes
    result["cpu_per_delivery_us"] = cpu / max(result["delivered"], 1) * 1e6
    result["deliveries_per_s"] = result["delivered"] / result["elapsed"]
    return result


def wait_port(port: int) -> None:
    import socket

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                time.sleep(0.3)
                return
        time.sleep(0.05)
    raise RuntimeError(f"no server on port {port}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--publishes", type=int, default=200)
    parser.add_argument("--window", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--setups", default=",".join(SETUPS))
    parser.add_argument("--json", type=Path, help="write every round's results here")
    parser.add_argument(
        "--serve", nargs=3, metavar=("SETUP", "PORT", "URL"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.serve:
        serve(args.serve[0], int(args.serve[1]), args.serve[2])
        return 0
    from tests.redis_server import RedisServer

    import genro_asgi

    print(f"genro-asgi {genro_asgi.__version__} (compiled: {genro_asgi.COMPILED}) from "
          f"{Path(genro_asgi.__file__).parent}", flush=True)  # fmt: skip
    setups = [s for s in args.setups.split(",") if s]
    redis_server = RedisServer()
    redis_server.start()
    log = redis_server.dir / "servers.log"
    results: dict[str, list[dict[str, Any]]] = {s: [] for s in setups}
    try:
        for round_ in range(args.rounds):
            order = setups[round_ % len(setups) :] + setups[: round_ % len(setups)]
            for setup in order:
                result = measure(setup, redis_server, args, log)
                results[setup].append(result)
                print(f"round {round_ + 1} {setup:18s} {result['deliveries_per_s']:9.0f}/s "
                      f"p50 {result['p50']:7.2f} ms p99 {result['p99']:7.2f} ms "
                      f"lost {result['lost']} cpu {result['cpu_per_delivery_us']:.2f} us/delivery",
                      flush=True)  # fmt: skip
    finally:
        if any(r["lost"] or r["reordered"] for rs in results.values() for r in rs):
            print("servers' log (end):\n" + log.read_text()[-3000:])
        redis_server.close()
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))

    def med(setup: str, key: str) -> float:
        return statistics.median(r[key] for r in results[setup])

    print(f"\n{args.clients} clients, {args.publishes} publishes, window {args.window}, "
          f"{args.rounds} rounds (medians); load average {os.getloadavg()[0]:.2f}")  # fmt: skip
    print("| set-up | processes | deliveries/s | p50 ms | p99 ms | lost | PUBLISH/publish | "
          "Redis commands/publish | server CPU us/delivery |")  # fmt: skip
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for setup in setups:
        print(f"| {setup} | {SETUPS[setup]} | {med(setup, 'deliveries_per_s'):.0f} | "
              f"{med(setup, 'p50'):.2f} | {med(setup, 'p99'):.2f} | "
              f"{sum(r['lost'] for r in results[setup])} | "
              f"{med(setup, 'publish_per_publish'):.2f} | "
              f"{med(setup, 'commands_per_publish'):.2f} | "
              f"{med(setup, 'cpu_per_delivery_us'):.2f} |")  # fmt: skip
    if "hub-redis" in setups and "broadcaster-redis" in setups:
        ratio = med("hub-redis", "deliveries_per_s") / med("broadcaster-redis", "deliveries_per_s")
        print(f"hub-redis / broadcaster-redis deliveries per second: {ratio:.2f}x")
    if "hub-redis" in setups and "raw" in setups:
        ratio = med("hub-redis", "cpu_per_delivery_us") / med("raw", "cpu_per_delivery_us")
        print(f"hub-redis / raw (one process) server CPU per delivery: {ratio:.2f}x")
    broken = any(r["lost"] or r["reordered"] for rs in results.values() for r in rs)
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
