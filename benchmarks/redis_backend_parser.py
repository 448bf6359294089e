"""Does hiredis help RedisBackend? Process CPU per message, with and without it, side by side.

    python benchmarks/redis_backend_parser.py --messages 20000 --rounds 3

Starts its own redis-server (Debian's package) on a free 127.0.0.1 port. Each round runs the
same workload in two child processes, one that may import hiredis and one that cannot
(``sys.modules["hiredis"] = None``), alternating the order: two backends in one event loop,
one publishing ``--messages`` text frames of ``--size`` bytes (``--window`` in flight), the
other receiving all of them (checked: none lost, in order). Reported: the child's CPU seconds
per message (publish + PUBLISH reply + pub/sub read + decode + deliver), median over rounds,
and the ratio hiredis / pure-Python parser. Needs ``pip install hiredis`` for the first side.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

CHILD = r"""
import asyncio, json, sys, time
if sys.argv[1] == "python":
    sys.modules["hiredis"] = None  # redis-py then uses its pure-Python parser
import redis.utils
from genro_asgi._redis_backend import RedisBackend

url, messages, size, window = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])

class Counter:
    def __init__(self):
        self.n = 0
        self.done = asyncio.Event()
    def deliver(self, topic, kind, payload):
        if payload[:8] != f"{self.n:08d}":
            raise SystemExit(f"out of order: {payload[:8]} at {self.n}")
        self.n += 1
        if self.n == messages:
            self.done.set()
    def gap(self, topics):
        raise SystemExit(f"gap {topics}")

async def main():
    a, b, counter = RedisBackend(url), RedisBackend(url), Counter()
    await a.start(Counter())
    await b.start(counter)
    await b.subscribe("bench")
    pad = "x" * (size - 8)
    cpu, wall = time.process_time(), time.perf_counter()
    for start in range(0, messages, window):
        await asyncio.gather(*(a.publish("bench", 0, f"{i:08d}{pad}")
                               for i in range(start, min(start + window, messages))))
    await asyncio.wait_for(counter.done.wait(), 60)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    await a.stop()
    await b.stop()
    print(json.dumps({"hiredis": redis.utils.HIREDIS_AVAILABLE, "cpu": cpu, "wall": wall}))

asyncio.run(main())
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20000)
    parser.add_argument("--size", type=int, default=100)
    parser.add_argument("--window", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    from tests.redis_server import RedisServer

    server = RedisServer()
    server.start()
    results: dict[str, list[dict[str, float]]] = {"hiredis": [], "python": []}
    workload = [str(args.messages), str(args.size), str(args.window)]
    try:
        for round_ in range(args.rounds):
            order = ["hiredis", "python"] if round_ % 2 == 0 else ["python", "hiredis"]
            for side in order:
                out = subprocess.run(
                    [sys.executable, "-c", CHILD, side, server.url, *workload],
                    capture_output=True,
                    check=True,
                    timeout=300,
                ).stdout
                result = json.loads(out)
                if result["hiredis"] != (side == "hiredis"):
                    raise SystemExit(f"the {side} side did not get the parser it asked for")
                results[side].append(result)
    finally:
        server.close()
    us = {
        side: statistics.median(r["cpu"] for r in rs) / args.messages * 1e6
        for side, rs in results.items()
    }
    rate = {
        side: args.messages / statistics.median(r["wall"] for r in rs)
        for side, rs in results.items()
    }
    for side in ("python", "hiredis"):
        print(f"{side:8s} {us[side]:7.1f} us CPU/message  {rate[side]:9.0f} messages/s")
    print(
        f"hiredis / python: CPU per message {us['hiredis'] / us['python']:.2f}x, "
        f"messages/s {rate['hiredis'] / rate['python']:.2f}x"
    )


if __name__ == "__main__":
    main()
