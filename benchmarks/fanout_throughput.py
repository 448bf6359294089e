"""Fan-out through a real server: one publisher, many subscribers, four apps side by side.

    python benchmarks/fanout_throughput.py                     # the full run (a few minutes)
    python benchmarks/fanout_throughput.py --smoke             # CI: small counts, checks only
    python benchmarks/fanout_throughput.py --clients 500 --publishes 800 --rounds 3

Four apps run under uvicorn (``--ws websockets-sansio``), one server process each, with the same
settings: ``raw``, the raw-ASGI serial loop (the floor: one message dict per publish, a serial
``await send(...)`` per subscriber, no isolation); ``naive``, today's ``examples/chat`` loop on
genro-asgi (a dict of sockets, a serial ``await ws.send_text(...)`` per member); ``broadcaster``,
Starlette with the ``broadcaster`` package's memory backend in its documented pattern (one
subscriber task per connection, fed by an unbounded queue); ``hub``, ``genro_asgi.hub.Hub``.

Scenario 1 (throughput): ``--clients`` subscribers and one publisher connection; the publisher
sends ``--publishes`` text frames of ``--size`` bytes, at most ``--window`` of them ahead of the
slowest subscriber; every subscriber checks that it gets each publish exactly once, in order.
Reported per app: deliveries per second, p50/p99 delivery latency (publisher's write to the
subscriber's read), server CPU per delivery (from ``/proc``), lost and reordered deliveries, and
the server's RSS. Rounds alternate the app order; ratios are the median of per-round ratios to
the raw loop (paired: a round's measurements are close in time, so drifts cancel).

Scenario 2 (a stalled client): ``--stall-clients`` subscribers, ``--stall-publishes`` frames of
``--stall-size`` bytes (about 8 KB, so the stalled client's socket buffers fill), run twice per
app: once with every client reading (the reference) and once with one client that never reads
(its transport is paused). Reported: whether the others finish (no progress for ``--stall-wait``
seconds is a stall), how many messages they got, their p99 against the reference run's, what
the stalled client finds once it reads again (how many frames, in order, and the close code),
and the server's RSS growth over the reference run.

Fairness: the load generator is one process (a minimal WebSocket client on asyncio's Protocol,
with pre-built masked frames), pinned to one CPU and the servers to another when there are two.
The exit status is 1 only when something is lost, reordered or broken (or, with ``--smoke``,
when the hub misses its stalled-client guarantee); speed never fails the run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Any

from _loadgen import (
    Connection,
    client_frame,
    cpu_seconds,
    percentile,
    pin,
    rss_bytes,
    run_load,
    split_cpus,
)

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "e2e"))

APPS = ("raw", "naive", "broadcaster", "hub")
TOPIC = "room"
READY = b"ready"
LOAD_TIMEOUT = 600.0  # seconds one load-generator process may take before the script fails

# -- the four apps --------------------------------------------------------------------------------


async def lifespan(receive: Any, send: Any, start: Any = None, stop: Any = None) -> None:
    """Answer the ASGI lifespan protocol, running ``start``/``stop`` around it."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            if start is not None:
                await start()
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            if stop is not None:
                await stop()
            await send({"type": "lifespan.shutdown.complete"})
            return


def make_raw() -> Callable[..., Awaitable[None]]:
    """The floor: plain ASGI messages, one dict per publish, a serial loop of sends."""
    subscribers: set[Any] = set()

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await lifespan(receive, send)
            return
        await receive()  # websocket.connect
        await send({"type": "websocket.accept"})
        if scope["path"] == "/pub":
            while True:
                message = await receive()
                if message["type"] != "websocket.receive":
                    return
                out = {"type": "websocket.send", "text": message["text"]}
                for subscriber in list(subscribers):
                    with suppress(OSError):  # ASGI 2.4: that client is gone
                        await subscriber(out)
        subscribers.add(send)
        try:
            await send({"type": "websocket.send", "text": READY.decode()})
            while (await receive())["type"] == "websocket.receive":
                pass
        finally:
            subscribers.discard(send)

    return app


def make_naive() -> Callable[..., Awaitable[None]]:
    """Today's examples/chat on genro-asgi: a dict of sockets, a serial ``await ws.send_text``."""
    from genro_asgi import WebSocket, WebSocketDisconnect

    members: dict[int, WebSocket] = {}

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await lifespan(receive, send)
            return
        ws = WebSocket(scope, receive, send)
        await ws.accept()
        if ws.path == "/pub":
            async for text in ws:
                for member in list(members.values()):
                    with suppress(WebSocketDisconnect):
                        await member.send_text(text)
            return
        members[id(ws)] = ws
        try:
            await ws.send_text(READY.decode())
            async for _ in ws:
                pass
        except WebSocketDisconnect:
            pass
        finally:
            del members[id(ws)]

    return app


def make_broadcaster(broadcast: Any = None) -> Callable[..., Awaitable[None]]:
    """Starlette + ``broadcaster``, its README's receiver/sender pattern, over ``broadcast``
    (a ``Broadcast``; None: the memory backend). ``redis_fanout.py`` passes its Redis one."""
    import anyio
    from broadcaster import Broadcast
    from starlette.applications import Starlette
    from starlette.routing import WebSocketRoute
    from starlette.websockets import WebSocket

    if broadcast is None:
        broadcast = Broadcast("memory://")

    async def subscriber(websocket: WebSocket) -> None:
        await websocket.accept()
        async with anyio.create_task_group() as task_group:

            async def receiver() -> None:
                async for _ in websocket.iter_text():
                    pass
                task_group.cancel_scope.cancel()

            task_group.start_soon(receiver)
            async with broadcast.subscribe(channel=TOPIC) as events:
                await websocket.send_text(READY.decode())
                async for event in events:  # type: ignore[union-attr]
                    await websocket.send_text(event.message)

    async def publisher(websocket: WebSocket) -> None:
        await websocket.accept()
        async for message in websocket.iter_text():
            await broadcast.publish(channel=TOPIC, message=message)

    @asynccontextmanager
    async def running(app: Starlette) -> Any:
        async with broadcast:
            yield

    routes = [WebSocketRoute("/pub", publisher), WebSocketRoute("/sub", subscriber)]
    return Starlette(routes=routes, lifespan=running)


def make_hub() -> Callable[..., Awaitable[None]]:
    """genro-asgi's hub: the room is a topic, the hub runs from the lifespan."""
    from genro_asgi import WebSocket
    from genro_asgi.hub import Hub

    hub = Hub()

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await lifespan(receive, send, hub.start, hub.stop)
            return
        ws = WebSocket(scope, receive, send)
        await ws.accept()
        if ws.path == "/pub":
            async for text in ws:
                await hub.publish_text(TOPIC, text)
            return
        async with hub.attach(ws) as member:
            await member.join(TOPIC)
            await member.send_text(READY.decode())
            async for _ in ws:
                pass

    return app


FACTORIES = {"raw": make_raw, "naive": make_naive, "broadcaster": make_broadcaster,
             "hub": make_hub}  # fmt: skip


def serve(app: str, port: int, cpu: int | None) -> None:
    """Run one app under uvicorn (the process the benchmark starts per app)."""
    import uvicorn

    pin(cpu)
    uvicorn.run(
        FACTORIES[app](), host="127.0.0.1", port=port, ws="websockets-sansio", lifespan="on",
        log_level="warning", access_log=False,
    )  # fmt: skip


# -- the load generator ---------------------------------------------------------------------------


def payload(index: int, size: int) -> bytes:
    """Publish ``index``: ``m`` and seven digits, padded to ``size`` bytes."""
    head = b"m%07d " % index
    return head + b"x" * max(0, size - len(head))


class Run:
    """One measurement: the publish times, the count of subscribers that got each publish."""

    def __init__(self, publishes: int, window: int) -> None:
        self.publishes = publishes
        self.window = window
        self.sent_at = [0.0] * publishes
        self.counts = [0] * publishes
        self.target = 0  # how many subscribers must get a publish before it counts as done
        self.complete = 0  # publishes every counted subscriber got, in order from 0
        self.deliveries = 0
        self.latencies: list[float] = []
        self.publisher: Publisher | None = None
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def delivered(self, index: int, now: float) -> None:
        self.deliveries += 1
        self.latencies.append(now - self.sent_at[index])
        count = self.counts[index] = self.counts[index] + 1
        if count == self.target and index == self.complete:
            complete = index + 1
            while complete < self.publishes and self.counts[complete] == self.target:
                complete += 1
            self.complete = complete
            if complete == self.publishes:
                if not self.done.done():
                    self.done.set_result(None)
            elif self.publisher is not None:
                self.publisher.send_up_to(complete + self.window)


class Subscriber(Connection):
    """Checks that publish ``i`` arrives as its ``i``-th frame after ``ready``."""

    def __init__(self, port: int, run: Run, size: int, counted: bool) -> None:
        super().__init__(port, "/sub")
        self.run = run
        self.size = size
        self.counted = counted
        self.expected = 0
        self.reordered = 0
        self.wrong_size = 0

    def text(self, buffer: bytearray, start: int, length: int, now: float) -> None:
        if not self.opened.done():
            if buffer[start : start + length] == READY:
                self.opened.set_result(None)
            else:
                self.fail("the first frame was not 'ready'")
            return
        index = int(buffer[start + 1 : start + 8])
        if length != self.size:
            self.wrong_size += 1
        if index != self.expected:
            self.reordered += 1
        self.expected = index + 1
        if self.counted:
            self.run.delivered(index, now)


class Publisher(Connection):
    """Sends the pre-built frames, at most ``run.window`` ahead of the slowest subscriber."""

    def __init__(self, port: int, run: Run, frames: list[bytes]) -> None:
        super().__init__(port, "/pub")
        self.run = run
        self.frames = frames
        self.sent = 0

    def data_received(self, data: bytes) -> None:
        if not self.open:
            super().data_received(data)
            if self.open and not self.opened.done():
                self.opened.set_result(None)

    def send_up_to(self, limit: int) -> None:
        limit = min(limit, len(self.frames))
        if limit <= self.sent or self.transport is None:
            return
        now = time.perf_counter()
        for index in range(self.sent, limit):
            self.run.sent_at[index] = now
        self.transport.write(b"".join(self.frames[self.sent : limit]))
        self.sent = limit


async def load(options: dict[str, Any]) -> dict[str, Any]:
    """One measurement in this process: connect, publish, check, report (a JSON-able dict)."""
    port, pid = options["port"], options["pid"]
    clients, publishes, size = options["clients"], options["publishes"], options["size"]
    stalled = options["stalled"]
    loop = asyncio.get_running_loop()
    run = Run(publishes, options["window"])
    frames = [client_frame(payload(i, size)) for i in range(publishes)]
    subscribers = []
    for number in range(clients):
        counted = not (stalled and number == 0)
        subscriber = Subscriber(port, run, size, counted)
        await loop.create_connection(lambda s=subscriber: s, "127.0.0.1", port)
        subscribers.append(subscriber)
        if number % 50 == 49:
            await asyncio.gather(*(s.opened for s in subscribers))
    await asyncio.gather(*(s.opened for s in subscribers))
    stalled_one = subscribers[0] if stalled else None
    if stalled_one is not None:
        assert stalled_one.transport is not None
        stalled_one.transport.pause_reading()  # it reads nothing more: its buffers fill up
    run.target = sum(s.counted for s in subscribers)
    publisher = Publisher(port, run, frames)
    run.publisher = publisher
    await loop.create_connection(lambda: publisher, "127.0.0.1", port)
    await publisher.opened
    await asyncio.sleep(0.1)
    rss_start = rss_bytes(pid)
    cpu_start, start, own_start = cpu_seconds(pid), time.perf_counter(), time.process_time()
    publisher.send_up_to(run.window)
    finished, last, last_change = True, -1, time.monotonic()
    while not run.done.done():  # bounded: no progress for stall_wait seconds ends the wait
        await asyncio.wait({run.done}, timeout=0.2)
        if run.deliveries != last:
            last, last_change = run.deliveries, time.monotonic()
        elif time.monotonic() - last_change > options["stall_wait"]:
            finished = False
            break
        if any(s.lost.done() for s in subscribers if s.counted):
            finished = False
            break
    elapsed = (time.perf_counter() if finished else last_change_perf(last_change)) - start
    server_cpu = cpu_seconds(pid) - cpu_start
    own_cpu = time.process_time() - own_start
    rss_end = rss_bytes(pid)
    result: dict[str, Any] = {
        "finished": finished,
        "complete": run.complete,
        "deliveries": run.deliveries,
        "expected": publishes * run.target,
        "seconds": elapsed,
        "per_second": run.deliveries / elapsed if elapsed > 0 else 0.0,
        "server_cpu_us": server_cpu / max(run.deliveries, 1) * 1e6,
        "load_busy": own_cpu / max(elapsed, 1e-9),
        "server_busy": server_cpu / max(elapsed, 1e-9),
        "p50_ms": percentile(run.latencies, 0.50) * 1e3,
        "p99_ms": percentile(run.latencies, 0.99) * 1e3,
        "reordered": sum(s.reordered for s in subscribers),
        "wrong_size": sum(s.wrong_size for s in subscribers),
        "closed_early": sum(1 for s in subscribers if s.counted and s.lost.done()),
        "errors": sorted({s.error for s in subscribers if s.error}),
        "rss_start": rss_start,
        "rss_end": rss_end,
    }
    if stalled_one is not None:
        assert stalled_one.transport is not None
        stalled_one.transport.resume_reading()  # now read what the server kept for it
        deadline = time.monotonic() + options["stall_wait"]
        seen = -1
        while not stalled_one.lost.done() and time.monotonic() < deadline:
            await asyncio.wait({stalled_one.lost}, timeout=0.2)
            if stalled_one.expected != seen:
                seen, deadline = stalled_one.expected, time.monotonic() + options["stall_wait"]
        result["stalled"] = {
            "received": stalled_one.expected,
            "in_order": stalled_one.reordered == 0,
            "close_code": stalled_one.close_code,
            "close_reason": stalled_one.close_reason,
            "connection_lost": stalled_one.lost.done(),
        }
    for connection in [publisher, *subscribers]:
        connection.finish()
    await asyncio.sleep(0.2)
    for connection in [publisher, *subscribers]:
        if connection.transport is not None:
            connection.transport.abort()
    return result


def last_change_perf(monotonic_at: float) -> float:
    """``perf_counter()`` at the moment ``monotonic()`` read ``monotonic_at``."""
    return time.perf_counter() - (time.monotonic() - monotonic_at)


# -- orchestration --------------------------------------------------------------------------------


def measure(port: int, pid: int, cpu: int | None, **options: Any) -> dict[str, Any]:
    """One measurement, in a fresh load-generator process."""
    options = {"port": port, "pid": pid, **options}
    argv = [sys.executable, __file__, "--load", json.dumps(options)]
    result: dict[str, Any] = run_load(argv, cpu, LOAD_TIMEOUT)
    return result


def paired(values: dict[str, list[float]], app: str, reference: str) -> float:
    pairs = [a / r for a, r in zip(values[app], values[reference], strict=True) if r]
    return statistics.median(pairs) if pairs else float("nan")


def lost(result: dict[str, Any]) -> int:
    return int(result["expected"] - result["deliveries"])


def throughput(args: argparse.Namespace, ports: dict[str, tuple[int, int]], cpu: int | None
               ) -> tuple[dict[str, list[dict[str, Any]]], list[str]]:  # fmt: skip
    """Scenario 1: ``args.rounds`` rounds, the app order rotating every round."""
    results: dict[str, list[dict[str, Any]]] = {app: [] for app in APPS}
    problems = []
    options = {"clients": args.clients, "publishes": args.publishes, "size": args.size,
               "window": args.window, "stalled": False, "stall_wait": args.stall_wait}  # fmt: skip
    for number in range(args.rounds):
        order = APPS[number % len(APPS) :] + APPS[: number % len(APPS)]
        for app in order:
            result = measure(*ports[app], cpu, **options)
            results[app].append(result)
            if not result["finished"] or lost(result) or result["reordered"] or result["errors"]:
                problems.append(f"{app}, round {number + 1}: {summary(result)}")
        line = "  ".join(
            f"{app} {results[app][-1]['per_second']:>8,.0f}/s "
            f"{results[app][-1]['server_cpu_us']:5.2f} µs" for app in APPS
        )  # fmt: skip
        print(f"round {number + 1}/{args.rounds}: {line}", flush=True)
    return results, problems


def summary(result: dict[str, Any]) -> str:
    return (
        f"finished={result['finished']} delivered {result['deliveries']} of "
        f"{result['expected']}, reordered {result['reordered']}, errors {result['errors']}"
    )


def report_throughput(args: argparse.Namespace, results: dict[str, list[dict[str, Any]]]) -> None:
    def series(key: str) -> dict[str, list[float]]:
        return {app: [r[key] for r in results[app]] for app in APPS}

    speed, cost = series("per_second"), series("server_cpu_us")
    print(
        f"\nScenario 1: {args.clients} subscribers x {args.publishes} publishes of {args.size} B, "
        f"window {args.window}, {args.rounds} rounds, uvicorn --ws websockets-sansio. Medians over "
        "the rounds; x raw = median of the per-round ratios to the raw serial loop."
    )
    print(f"  {'app':<12}{'deliveries/s':>13}{'x raw':>7}{'p50 ms':>8}{'p99 ms':>8}"
          f"{'CPU µs/dlv':>11}{'x raw':>7}{'lost':>6}{'reord':>6}{'RSS MB':>8}")  # fmt: skip
    for app in APPS:
        rows = results[app]
        print(
            f"  {app:<12}{statistics.median(speed[app]):>13,.0f}{paired(speed, app, 'raw'):>7.3f}"
            f"{statistics.median(r['p50_ms'] for r in rows):>8.2f}"
            f"{statistics.median(r['p99_ms'] for r in rows):>8.2f}"
            f"{statistics.median(cost[app]):>11.3f}{paired(cost, app, 'raw'):>7.3f}"
            f"{sum(lost(r) for r in rows):>6}{sum(r['reordered'] for r in rows):>6}"
            f"{max(r['rss_end'] for r in rows) / 2**20:>8.1f}"
        )
    busy = max(r["load_busy"] for rows in results.values() for r in rows)
    server = [r["server_busy"] for rows in results.values() for r in rows]
    print(f"  load generator busy {busy:.0%} of the time at most (the server must be the limit); "
          f"servers busy {min(server):.0%} to {max(server):.0%} (below 100%: the machine's other "
          "load took their CPU, so the CPU per delivery is the steadier figure).")  # fmt: skip
    if "hub" not in APPS or "broadcaster" not in APPS:
        return
    targets = [
        ("hub server CPU/delivery <= 0.9x raw", paired(cost, "hub", "raw") <= 0.9),
        ("hub deliveries/s >= 0.95x raw", paired(speed, "hub", "raw") >= 0.95),
        ("hub deliveries/s >= 1.1x broadcaster", paired(speed, "hub", "broadcaster") >= 1.1),
        ("0 lost or reordered",
         all(not lost(r) and not r["reordered"] for rows in results.values() for r in rows)),
    ]  # fmt: skip
    print(f"  hub vs broadcaster: {paired(speed, 'hub', 'broadcaster'):.3f}x deliveries/s, "
          f"{paired(cost, 'hub', 'broadcaster'):.3f}x server CPU per delivery")  # fmt: skip
    for label, met in targets:
        print(f"  target {label}: {'met' if met else 'not met'}")


def stall(args: argparse.Namespace, ports: dict[str, tuple[int, int]], cpu: int | None
          ) -> tuple[dict[str, dict[str, Any]], list[str]]:  # fmt: skip
    """Scenario 2: per app, a reference run with every client reading, then one stalled."""
    options = {"clients": args.stall_clients, "publishes": args.stall_publishes,
               "size": args.stall_size, "window": args.window,
               "stall_wait": args.stall_wait}  # fmt: skip
    outcome: dict[str, dict[str, Any]] = {}
    problems = []
    for app in APPS:
        reference = measure(*ports[app], cpu, stalled=False, **options)
        stalled = measure(*ports[app], cpu, stalled=True, **options)
        outcome[app] = {"reference": reference, "stalled": stalled}
        if not reference["finished"] or lost(reference) or reference["reordered"]:
            problems.append(f"{app}, reference run with a stalled client: {summary(reference)}")
        if stalled["finished"] and (lost(stalled) or stalled["reordered"]):
            problems.append(f"{app}, run with a stalled client: {summary(stalled)}")
        if not stalled["stalled"]["in_order"]:
            problems.append(f"{app}: the stalled client got its frames out of order")
        print(f"stalled client, {app}: finished={stalled['finished']} "
              f"stalled client={stalled['stalled']}", flush=True)  # fmt: skip
    hub = outcome.get("hub", {}).get("stalled")
    # What must hold (the printed targets are stricter): the hub finishes and ends the stalled
    # client, with a 1013 close or, where the server drops a connection whose handler returned
    # while the close waited behind the client's buffers (uvicorn websockets-sansio, wsproto),
    # by the connection ending after an in-order prefix: never left open, never a silent gap.
    if hub is not None and (
        not hub["finished"]
        or not (hub["stalled"]["close_code"] == 1013 or hub["stalled"]["connection_lost"])
    ):
        problems.append(f"hub with a stalled client: {summary(hub)}, that client: {hub['stalled']}")
    return outcome, problems


def report_stall(args: argparse.Namespace, outcome: dict[str, dict[str, Any]]) -> None:
    print(
        f"\nScenario 2: {args.stall_clients} subscribers x {args.stall_publishes} publishes of "
        f"{args.stall_size} B, one subscriber never reads (a run with all reading is the "
        "reference). 'others got' is how many publishes every other client got; RSS growth is "
        "the server's at the end of the stalled run over the reference run's."
    )
    print(f"  {'app':<12}{'finished':>9}{'others got':>11}{'p99 ms':>8}{'x ref':>7}"
          f"{'stalled client':>40}{'RSS +MB':>9}")  # fmt: skip
    for app in APPS:
        reference, stalled = outcome[app]["reference"], outcome[app]["stalled"]
        slow = stalled["stalled"]
        if slow["close_code"] is not None:
            fate = f"got {slow['received']}, closed {slow['close_code']} {slow['close_reason']!r}"
        else:
            fate = f"got {slow['received']}, {'lost' if slow['connection_lost'] else 'not closed'}"
        ratio = stalled["p99_ms"] / reference["p99_ms"] if stalled["finished"] else float("nan")
        growth = (stalled["rss_end"] - reference["rss_end"]) / 2**20
        print(f"  {app:<12}{stalled['finished']!s:>9}{stalled['complete']:>11}"
              f"{stalled['p99_ms'] if stalled['finished'] else float('nan'):>8.2f}{ratio:>7.2f}"
              f"{fate:>40}{growth:>+9.2f}")  # fmt: skip
    if "hub" not in outcome:
        return
    hub = outcome["hub"]
    outbox = 64 * args.stall_size / 2**20
    growth = (hub["stalled"]["rss_end"] - hub["reference"]["rss_end"]) / 2**20
    ratio = hub["stalled"]["p99_ms"] / hub["reference"]["p99_ms"]
    slow = hub["stalled"]["stalled"]
    targets = [
        ("hub finishes", hub["stalled"]["finished"]),
        ("hub closes the stalled client with 1013", slow["close_code"] == 1013),
        ("others' p99 within 1.5x of the reference", hub["stalled"]["finished"] and ratio <= 1.5),
        (f"memory growth <= one outbox ({outbox:.2f} MB)", growth <= outbox),
    ]
    for label, met in targets:
        print(f"  target {label}: {'met' if met else 'not met'}")


def run(args: argparse.Namespace, apps: tuple[str, ...]) -> int:
    global APPS
    APPS = apps
    from servers import ServerProcess

    import genro_asgi

    server_cpu, load_cpu = split_cpus()
    logs = Path(tempfile.mkdtemp(prefix="genro-fanout-bench-"))
    print(f"genro-asgi {genro_asgi.__version__} (compiled: {genro_asgi.COMPILED}); "
          f"server logs in {logs}", flush=True)  # fmt: skip
    servers: dict[str, ServerProcess] = {}
    problems: list[str] = []
    try:
        for app in APPS:
            command = [sys.executable, __file__, "--serve", app, "--port", "{port}"]
            if server_cpu is not None:
                command += ["--cpu", str(server_cpu)]
            servers[app] = ServerProcess(
                "uvicorn-websockets-sansio", app, app_dir=HERE, log_path=logs / f"{app}.log",
                command=command,
            ).start()  # fmt: skip
        ports = {app: (servers[app].port, servers[app].pid) for app in APPS}
        for app in APPS:  # the first connections import the app's modules: not measured
            measure(*ports[app], None, clients=10, publishes=20, size=args.size,
                    window=args.window, stalled=False, stall_wait=args.stall_wait)  # fmt: skip
        if args.rounds:
            results, found = throughput(args, ports, load_cpu)
            problems += found
            report_throughput(args, results)
        if args.stall_publishes:
            outcome, found = stall(args, ports, load_cpu)
            problems += found
            report_stall(args, outcome)
    finally:
        for process in servers.values():
            process.stop()
    for app, process in servers.items():
        if "Traceback" in process.log():
            problems.append(f"{app}: the server logged a traceback (see {process.log_path})")
    for problem in problems:
        print(f"PROBLEM: {problem}")
    return 1 if problems else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=500, help="subscribers (scenario 1)")
    parser.add_argument("--publishes", type=int, default=800, help="publishes (scenario 1)")
    parser.add_argument("--size", type=int, default=100, help="bytes per publish (scenario 1)")
    parser.add_argument("--window", type=int, default=16, help="publishes ahead of the slowest")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of scenario 1 (0: skip)")
    parser.add_argument("--stall-clients", type=int, default=200)
    parser.add_argument("--stall-publishes", type=int, default=1000, help="0 skips scenario 2")
    parser.add_argument("--stall-size", type=int, default=8000)
    parser.add_argument("--stall-wait", type=float, default=5.0,
                        help="seconds without progress that count as a stall")  # fmt: skip
    parser.add_argument("--smoke", action="store_true",
                        help="small counts for CI: checks nothing is lost, not speed")  # fmt: skip
    parser.add_argument("--apps", default=",".join(APPS),
                        help="comma-separated apps to compare (default: all four)")  # fmt: skip
    parser.add_argument("--serve", choices=APPS, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--load", help=argparse.SUPPRESS)
    parser.add_argument("--cpu", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port, args.cpu)
        return 0
    if args.load:
        pin(args.cpu)
        print(json.dumps(asyncio.run(load(json.loads(args.load)))))
        return 0
    chosen = tuple(app for app in APPS if app in args.apps.split(","))
    if "raw" not in chosen:
        parser.error("--apps must include raw (the floor every ratio compares with).")
    if args.smoke:
        args.clients, args.publishes, args.rounds = 20, 100, 1
        args.stall_clients = 20
    return run(args, chosen)


if __name__ == "__main__":
    sys.exit(main())
