"""Instructions per member per publish of the fan-out hot path, compiled against pure (callgrind).

Usage (genro_asgi installed, compiled; valgrind on PATH)::

    python benchmarks/fanout_instructions.py            # runs callgrind, prints the table
    python benchmarks/fanout_instructions.py IMPL SCENARIO PUBLISHES   # one measured run

Each run builds ``MEMBERS`` outboxes in one topic dict and publishes ``PUBLISHES`` frames to
them through ``fanout()``. The driver runs callgrind for two publish counts and divides the
difference of the instruction totals by the members and the extra publishes, so start-up and
set-up cancel out. Scenarios:

- ``busy``: every writer is busy (no waiter): the fan-out's own work, queue and count;
- ``idle``: every writer is idle: each outbox has a real ``asyncio`` future with a done
  callback (as a parked writer task has), so the fan-out also wakes it (``set_result`` and the
  event loop's ``call_soon``); the futures are made in both runs alike;
- ``setup``: the ``idle`` set-up without the fan-out, to subtract from ``idle``.

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
    fanout = module.fanout

    def noop(future: Any) -> None:
        pass

    for n in range(publishes):
        message = {"type": "websocket.send", "text": str(n)}
        if scenario != "busy":
            for box in boxes:
                waiter = loop.create_future()
                waiter.add_done_callback(noop)
                box.waiter = waiter
        if scenario != "setup":
            queued, full = fanout(outboxes, message, None)
            assert queued == MEMBERS
            assert full is None
        if scenario != "busy":
            loop._ready.clear()  # type: ignore[attr-defined]  # the wake-ups, not run
            for box in boxes:
                box.waiter = None
    loop.close()


def instructions(impl: str, scenario: str, publishes: int) -> int:
    return callgrind_total([__file__, impl, scenario, str(publishes)], timeout=1200)


def per_member(impl: str, scenario: str) -> float:
    low = instructions(impl, scenario, LOW)
    high = instructions(impl, scenario, HIGH)
    return (high - low) / (MEMBERS * (HIGH - LOW))


def main() -> None:
    rows = {}
    for scenario in ("busy", "idle", "setup"):
        for impl in ("c", "py"):
            rows[impl, scenario] = per_member(impl, scenario)
    print(f"instructions per member per publish ({MEMBERS} members, {LOW} vs {HIGH} publishes)")
    print(f"Python {sys.version.split()[0]}")
    print(f"{'scenario':<28}{'compiled':>10}{'pure':>10}{'pure/compiled':>15}")
    for scenario, label in (("busy", "busy writers (queue only)"),):
        c, py = rows["c", scenario], rows["py", scenario]
        print(f"{label:<28}{c:>10.0f}{py:>10.0f}{py / c:>15.2f}")
    c = rows["c", "idle"] - rows["c", "setup"]
    py = rows["py", "idle"] - rows["py", "setup"]
    print(f"{'idle writers (queue + wake)':<28}{c:>10.0f}{py:>10.0f}{py / c:>15.2f}")


if __name__ == "__main__":
    if len(sys.argv) == 4:
        measured(sys.argv[1], sys.argv[2], int(sys.argv[3]))
    else:
        main()
