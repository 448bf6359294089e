"""Instructions per member per publish of the fan-out hot path, compiled against pure (callgrind).

Usage (genro_asgi installed, compiled; valgrind on PATH)::

    python benchmarks/fanout_instructions.py            # runs callgrind, prints the table
    python benchmarks/fanout_instructions.py IMPL SCENARIO PUBLISHES   # one measured run

Each run builds ``MEMBERS`` outboxes in one topic dict and publishes ``PUBLISHES`` frames to
them through ``fanout()``. The driver runs callgrind for two publish counts and divides the
difference of the instruction totals by the members and the extra publishes, so start-up and
set-up cancel out. Scenarios:

- ``busy``: every writer is busy (no waiter): the fan-out's own work, queue and count;
- ``parked``: every writer is parked (a real ``asyncio`` future as its waiter, the hub's
  ``Drain``): the fan-out also wakes it, which is putting the outbox on the drain's ready list
  (and, once per publish, resolving the future the drain's task waits on, whose wake-up is
  scheduled but not run); the drain then runs with the writers' waiters taken away, so it
  only passes over the outboxes (its bookkeeping, no send);
- ``sending``: as ``parked``, and the drain sends every frame through a trivial ``async def
  send(message)`` (whose own cost, a coroutine created and run, is the same in both twins);
- ``setup``: the waiters' set-up of ``parked`` and the drain's pass over an empty list,
  without the fan-out, subtracted from ``parked``.

Run as ``PYTHONHASHSEED=0 setarch -R valgrind --tool=callgrind`` (the driver does).
"""

from __future__ import annotations

import asyncio
import importlib
import sys
from typing import Any

from instructions import callgrind_total  # this folder is first on sys.path when run

MEMBERS = 1000
LOW, HIGH = 20, 120


def measured(impl: str, scenario: str, publishes: int) -> None:
    module: Any = importlib.import_module(f"genro_asgi._fanout_{impl}")
    outboxes = {object(): module.Outbox(publishes + 1, module.CLOSE) for _ in range(MEMBERS)}
    boxes = list(outboxes.values())
    loop = asyncio.new_event_loop()
    drain = module.Drain()
    fanout = module.fanout
    waiter = loop.create_future()  # the writers' (never resolved: the drain sends for them)

    async def send(message: Any) -> None:
        pass

    def noop(future: Any) -> None:
        pass

    for box in boxes:
        box.drain = drain
        box.send = send
        if scenario == "sending":
            box.waiter = waiter  # every send completes in the drain: the writer stays parked
    for n in range(publishes):
        message = {"type": "websocket.send", "text": str(n)}
        if scenario != "busy":  # the drain's task, parked (as in the hub): woken once
            drain.waiter = loop.create_future()
            drain.waiter.add_done_callback(noop)
        if scenario in ("parked", "setup"):
            for box in boxes:
                box.waiter = waiter
        if scenario != "setup":
            queued, full = fanout(outboxes, message, None)
            assert queued == MEMBERS
            assert full is None
        if scenario in ("parked", "setup"):
            for box in boxes:
                box.waiter = None  # the drain finds no parked writer: it only passes over
        if scenario != "busy":
            drain.run()
            drain.waiter = None
            loop._ready.clear()  # type: ignore[attr-defined]  # the drain task's wake-up
    if scenario == "sending":
        assert all(box.sent == publishes for box in boxes)
    loop.close()


def instructions(impl: str, scenario: str, publishes: int) -> int:
    return callgrind_total([__file__, impl, scenario, str(publishes)], timeout=1200)


def per_member(impl: str, scenario: str) -> float:
    low = instructions(impl, scenario, LOW)
    high = instructions(impl, scenario, HIGH)
    return (high - low) / (MEMBERS * (HIGH - LOW))


def main() -> None:
    rows = {}
    for scenario in ("busy", "parked", "setup", "sending"):
        for impl in ("c", "py"):
            rows[impl, scenario] = per_member(impl, scenario)
    print(f"instructions per member per publish ({MEMBERS} members, {LOW} vs {HIGH} publishes)")
    print(f"Python {sys.version.split()[0]}")
    print(f"{'scenario':<36}{'compiled':>10}{'pure':>10}{'pure/compiled':>15}")
    table = [
        ("busy writers (queue)", rows["c", "busy"], rows["py", "busy"]),
        (
            "parked writers (queue + wake)",
            rows["c", "parked"] - rows["c", "setup"],
            rows["py", "parked"] - rows["py", "setup"],
        ),
        ("parked writers, drain sends", rows["c", "sending"], rows["py", "sending"]),
    ]
    for label, c, py in table:
        print(f"{label:<36}{c:>10.0f}{py:>10.0f}{py / c:>15.2f}")


if __name__ == "__main__":
    if len(sys.argv) == 4:
        measured(sys.argv[1], sys.argv[2], int(sys.argv[3]))
    else:
        main()
