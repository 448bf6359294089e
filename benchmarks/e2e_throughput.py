"""End-to-end echo throughput through a real server: raw ASGI vs genro-asgi vs Starlette.

    python benchmarks/e2e_throughput.py --clients 50 --messages 2000 --rounds 5

Three servers run side by side, one per app, with the same settings (uvicorn and ``--ws``
implementation by default). Each round runs the same workload against each app in turn (the
order rotates every round): ``--clients`` concurrent connections each echo ``--messages`` text
messages, ``--window`` in flight per connection; every echo is checked (nothing lost, nothing
reordered) or the script fails. Results are the median messages per second over the rounds,
and the ratios to the raw ASGI app (the floor: no wrapper at all).

Fairness: the load generator runs in its own process, and it is a minimal WebSocket client
written on asyncio's Protocol with pre-built frames, several times cheaper per message than
the servers, so the server process (where the apps differ) is the bottleneck; with at least two
CPUs, the servers are pinned to one CPU and the load generator to another. All three apps run
the same loop shape (receive text, send it back) with no router in front.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _loadgen import Connection, Failed, client_frame, cpu_seconds, pin, run_load, split_cpus

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "e2e"))

APPS = ("raw", "genro", "starlette")
SERVERS = ("uvicorn-websockets-sansio", "uvicorn-wsproto", "uvicorn-websockets")
LOAD_TIMEOUT = 300.0  # seconds one measurement may take before the script fails

# -- the three apps: the same echo loop ---------------------------------------------------------


async def raw_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The floor: plain ASGI messages, no wrapper."""
    await receive()  # websocket.connect
    await send({"type": "websocket.accept"})
    while True:
        message = await receive()
        if message["type"] != "websocket.receive":
            return
        await send({"type": "websocket.send", "text": message["text"]})


async def genro_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    from genro_asgi import WebSocket, WebSocketDisconnect

    ws = WebSocket(scope, receive, send)
    await ws.accept()
    try:
        while True:
            await ws.send_text(await ws.receive_text())
    except WebSocketDisconnect:
        pass


async def starlette_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    from starlette.websockets import WebSocket, WebSocketDisconnect

    ws = WebSocket(scope, receive, send)
    await ws.accept()
    try:
        while True:
            await ws.send_text(await ws.receive_text())
    except WebSocketDisconnect:
        pass


APP_OBJECTS = {"raw": raw_app, "genro": genro_app, "starlette": starlette_app}


def serve(app: str, port: int, server: str, cpu: int | None) -> None:
    """Run one app under uvicorn (the process the benchmark starts per app)."""
    import uvicorn

    pin(cpu)
    ws = server.removeprefix("uvicorn-")
    uvicorn.run(
        APP_OBJECTS[app], host="127.0.0.1", port=port, ws=ws, lifespan="off",
        log_level="warning", access_log=False,
    )  # fmt: skip


# -- the load generator: echoes checked in order ------------------------------------------------


class EchoClient(Connection):
    """One connection: handshake, then ``len(messages)`` echoes with ``window`` in flight."""

    def __init__(self, port: int, messages: list[bytes], window: int) -> None:
        super().__init__(port, "/bench")
        self.messages = messages
        self.frames = [client_frame(m) for m in messages]
        self.window = window
        self.sent = 0
        self.received = 0
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def start(self) -> None:
        assert self.transport is not None
        count = min(self.window, len(self.frames))
        self.transport.write(b"".join(self.frames[:count]))
        self.sent = count

    def upgraded(self) -> None:
        self.opened.set_result(None)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)  # text() per echo, then one write for the frames they free
        limit = min(self.received + self.window, len(self.frames))
        if limit > self.sent > 0 and not self.error and self.transport is not None:
            self.transport.write(b"".join(self.frames[self.sent : limit]))
            self.sent = limit
        if self.received == len(self.messages) and not self.done.done():
            self.done.set_result(None)

    def text(self, buffer: bytearray, start: int, length: int, now: float) -> None:
        if buffer[start : start + length] != self.messages[self.received]:
            raise Failed(f"echo {self.received}: expected {self.messages[self.received]!r}")
        self.received += 1

    def control(self, opcode: int, body: bytes) -> None:
        raise Failed(f"unexpected frame opcode {opcode} before all echoes arrived")

    def fail(self, why: str) -> None:
        if not self.done.done():
            self.done.set_exception(AssertionError(why))
        super().fail(why)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.fail(f"connection lost after {self.received} echoes: {exc!r}")


async def load(port: int, clients: int, messages: int, window: int) -> dict[str, float]:
    """Open ``clients`` connections, then time ``messages`` echoes on each, all at once."""
    loop = asyncio.get_running_loop()
    protocols = []
    for number in range(clients):
        payloads = [f"c{number:05d} m{i:07d} {'x' * 16}".encode() for i in range(messages)]
        protocol = EchoClient(port, payloads, window)
        await loop.create_connection(lambda p=protocol: p, "127.0.0.1", port)
        protocols.append(protocol)
    await asyncio.gather(*(p.opened for p in protocols))
    start, cpu_start = time.perf_counter(), time.process_time()
    for protocol in protocols:
        protocol.start()
    await asyncio.wait_for(asyncio.gather(*(p.done for p in protocols)), LOAD_TIMEOUT)
    elapsed = time.perf_counter() - start
    busy = (time.process_time() - cpu_start) / elapsed
    for protocol in protocols:
        protocol.finish()
    await asyncio.sleep(0.05)
    total = sum(p.received for p in protocols)
    assert total == clients * messages, f"lost messages: {total} of {clients * messages}"
    return {"messages": total, "seconds": elapsed, "per_second": total / elapsed, "busy": busy}


# -- orchestration ------------------------------------------------------------------------------


def measure(port: int, args: argparse.Namespace, cpu: int | None) -> dict[str, float]:
    """One measurement, in a fresh load-generator process: messages/s and its CPU share."""
    argv = [sys.executable, __file__, "--load-port", str(port), "--clients", str(args.clients),
            "--messages", str(args.messages), "--window", str(args.window)]  # fmt: skip
    result: dict[str, float] = run_load(argv, cpu, LOAD_TIMEOUT)
    return result


def report(
    args: argparse.Namespace,
    results: dict[str, list[float]],
    costs: dict[str, list[float]],
    busy: float,
) -> None:
    """Print medians and, per app, the median over rounds of its ratio to raw ASGI in that round
    (paired ratios: a round's three measurements are close in time, so drifts cancel)."""
    import genro_asgi

    def paired(values: dict[str, list[float]], app: str) -> float:
        return statistics.median(a / r for a, r in zip(values[app], values["raw"], strict=True))

    print(
        f"\n{args.server}, {args.clients} clients x {args.messages} messages, window "
        f"{args.window}, {args.rounds} rounds; genro-asgi {genro_asgi.__version__} "
        f"(compiled: {genro_asgi.COMPILED}); load generator busy {busy:.0%} of the time at most."
        "\nMedian messages/s (wall clock) and server CPU per message, each with the median of "
        "its per-round ratio to raw ASGI:"
    )
    speed = {app: paired(results, app) for app in APPS}
    cost = {app: paired(costs, app) for app in APPS}
    for app in APPS:
        print(
            f"  {app:<10} {statistics.median(results[app]):>9,.0f} msg/s  {speed[app]:.3f}   "
            f"{statistics.median(costs[app]):6.2f} µs/msg  {cost[app]:.3f}"
        )
    by_speed = speed["genro"] >= 0.95 and speed["genro"] > speed["starlette"]
    by_cpu = cost["genro"] <= 1.05 and cost["genro"] < cost["starlette"]
    for metric, met in (("throughput", by_speed), ("server CPU", by_cpu)):
        verdict = "met" if met else "not met"
        print(f"  target by {metric} (within 5% of raw ASGI, ahead of Starlette): {verdict}")


def run(args: argparse.Namespace) -> int:
    from servers import ServerProcess

    server_cpu, load_cpu = split_cpus()
    logs = Path(tempfile.mkdtemp(prefix="genro-e2e-bench-"))
    servers: dict[str, ServerProcess] = {}
    try:
        for app in APPS:
            command = [sys.executable, __file__, "--serve", app, "--port", "{port}",
                       "--server", args.server]  # fmt: skip
            if server_cpu is not None:
                command += ["--cpu", str(server_cpu)]
            servers[app] = ServerProcess(
                args.server, app, app_dir=HERE, log_path=logs / f"{app}.log", command=command
            ).start()
        warm_up = argparse.Namespace(**{**vars(args), "messages": 50})
        for app in APPS:  # first connections import the app's modules: not measured
            measure(servers[app].port, warm_up, None)
        results: dict[str, list[float]] = {app: [] for app in APPS}
        costs: dict[str, list[float]] = {app: [] for app in APPS}
        busy = []
        for round_number in range(args.rounds):
            order = APPS[round_number % 3 :] + APPS[: round_number % 3]
            for app in order:
                pid = servers[app].pid
                before = cpu_seconds(pid)
                result = measure(servers[app].port, args, load_cpu)
                used = cpu_seconds(pid) - before
                results[app].append(result["per_second"])
                costs[app].append(used / result["messages"] * 1e6)
                busy.append(result["busy"])
            line = "  ".join(
                f"{app} {results[app][-1]:>7,.0f} msg/s {costs[app][-1]:5.1f} µs" for app in APPS
            )
            print(f"round {round_number + 1}/{args.rounds}: {line}", flush=True)
    finally:
        for process in servers.values():
            process.stop()
    report(args, results, costs, max(busy))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=50, help="concurrent connections")
    parser.add_argument("--messages", type=int, default=2000, help="echoes per connection")
    parser.add_argument("--window", type=int, default=8, help="messages in flight per connection")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds (median kept)")
    parser.add_argument("--server", choices=SERVERS, default=SERVERS[0])
    parser.add_argument("--serve", choices=APPS, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--load-port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--cpu", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port, args.server, args.cpu)
        return 0
    if args.load_port:
        pin(args.cpu)
        result = asyncio.run(load(args.load_port, args.clients, args.messages, args.window))
        print(json.dumps(result))
        return 0
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
