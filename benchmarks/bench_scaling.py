"""Scaling of the hot paths with hostile input sizes: time at 1x, 10x and 100x, and the ratios.

    python benchmarks/bench_scaling.py            # compiled and pure, every workload
    python benchmarks/bench_scaling.py --quick    # 1x and 10x only

Linear parsing gives ratios of about 10 per step; more than that at the large end is the
memory hierarchy (the data no longer fits the CPU caches), which the ``memory floor`` column
shows: the same number of fresh tuples of fresh strings, built in C. tests/test_limits.py
turns the 1x-to-10x ratio into a pass/fail check; this script only reports.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import itertools
import time
from collections.abc import Callable
from typing import Any


def best_time(run: Callable[[], object], budget: float = 0.2) -> float:
    """Fastest of at least 3 runs (more for short ones), cyclic GC off."""
    best, spent, runs = float("inf"), 0.0, 0
    kept: object = None
    gc.collect()
    gc.disable()
    try:
        while runs < 3 or (spent < budget and runs < 200):
            start = time.perf_counter()
            result = run()
            took = time.perf_counter() - start
            kept = result
            best, spent, runs = min(best, took), spent + took, runs + 1
    finally:
        gc.enable()
    del kept
    return best


def floor(count: int) -> object:
    return list(zip(map(str, range(count)), map(str, range(count)), strict=True))


def workloads(hot: dict[str, Any]) -> list[tuple[str, int, Callable[[int], Any], Any, Any]]:
    """``(name, base size, make(size), parse(data), fields(data))``."""
    query, headers = hot["query"], hot["headers"]

    def params(n: int) -> bytes:
        return b"&".join(b"k%d=v%d" % (i, i) for i in range(n))

    def escaped(kib: int) -> bytes:
        return b"v=" + b"%E2%82%AC+%41" * (kib * 1024 // 13)

    def entries(n: int) -> list[tuple[bytes, bytes]]:
        return [(b"X-Header-%d" % i, b"value %d" % i) for i in range(n)]

    def big_value(kib: int) -> list[tuple[bytes, bytes]]:
        return [(b"host", b"x"), (b"X-Big", bytes(range(256)) * (kib * 4))]

    def look_up_query(data: bytes) -> object:
        p = query.QueryParams(data)
        return p.get("k1"), p.getlist("v"), p.get("missing")

    def all_query(data: bytes) -> object:
        p = query.QueryParams(data)
        return p.multi_items(), p.keys()

    def look_up_headers(raw: Any) -> object:
        h = headers.Headers(raw)
        return h.get("missing"), h.getlist("X-BIG"), "x-header-1" in h

    def all_headers(raw: Any) -> object:
        h = headers.Headers(raw)
        return h.items(), h.keys()

    return [
        ("query: params, look-ups", 10_000, params, look_up_query, lambda d: d.count(b"&") + 1),
        ("query: params, every pair", 10_000, params, all_query, lambda d: d.count(b"&") + 1),
        ("query: KiB of escapes", 100, escaped, look_up_query, lambda d: 1),
        ("headers: entries, look-ups", 1_000, entries, look_up_headers, len),
        ("headers: entries, every pair", 1_000, entries, all_headers, len),
        ("headers: KiB in one value", 6, big_value, look_up_headers, len),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1x and 10x only")
    steps = (1, 10) if parser.parse_args().quick else (1, 10, 100)
    print(
        f"{'workload':32} {'impl':9} "
        + " ".join(f"{f'{s}x (ms)':>11}" for s in steps)
        + "   ratios per 10x   memory floor ratios"
    )
    for impl in ("c", "py"):
        hot = {
            name: importlib.import_module(f"genro_asgi._{name}_{impl}")
            for name in ("query", "headers")
        }
        for name, base, make, parse, fields in workloads(hot):
            data = [make(base * step) for step in steps]
            times = [best_time(lambda d=d, p=parse: p(d)) for d in data]
            floors = [best_time(lambda d=d, f=fields: floor(f(d))) for d in data]
            ratios = [b / a for a, b in itertools.pairwise(times)]
            floor_ratios = [b / a for a, b in itertools.pairwise(floors)]
            print(
                f"{name:32} {'compiled' if impl == 'c' else 'pure':9} "
                + " ".join(f"{t * 1e3:11.3f}" for t in times)
                + "   "
                + ", ".join(f"{r:5.1f}" for r in ratios)
                + "   "
                + ", ".join(f"{r:5.1f}" for r in floor_ratios)
            )


if __name__ == "__main__":
    main()
