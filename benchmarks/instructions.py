"""Instructions per operation, counted by valgrind's callgrind: stable on a loaded machine.

``python benchmarks/instructions.py`` runs each workload twice under
``valgrind --tool=callgrind`` (``PYTHONHASHSEED=0``, address randomisation off), with 2,000 and
22,000 operations, and prints the difference divided by 20,000: the cost of one operation
without the interpreter's start-up. The workloads are the benchmarks' own (``test_bench_loop``,
``test_bench_lifecycle``) over the same in-memory transport:

- ``loop-text`` / ``loop-bytes``: one receive+send pair on an accepted connection;
- ``lifecycle``: construct, one header, one query parameter, ``accept(subprotocol)``, ``close()``.

``--impl`` chooses ``compiled`` (default), ``pure``, ``starlette`` or ``raw``; ``--workload``
one workload (default: all). ``--run N`` is what valgrind runs: the workload N times.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

WORKLOADS = ("loop-text", "loop-bytes", "lifecycle")
SMALL, LARGE = 2_000, 22_000


def run(workload: str, impl: str, n: int) -> None:
    """Run ``workload`` ``n`` times (what valgrind measures)."""
    from benchmarks import test_bench_lifecycle as lifecycle
    from benchmarks import test_bench_loop as loop
    from benchmarks._impls import CONNECT, Transport, drive, make_scope, package

    if workload == "lifecycle":
        scope, transport = make_scope(), Transport(CONNECT)
        if impl == "raw":
            for _ in range(n):
                drive(lifecycle.raw_lifecycle(scope, transport))
            return
        import starlette.websockets

        factory: Any = (
            starlette.websockets.WebSocket if impl == "starlette" else package(impl).WebSocket
        )
        for _ in range(n):
            drive(lifecycle.lifecycle(factory, scope, transport))
        return
    transport = Transport(loop.MESSAGES[workload])
    if impl == "raw":
        drive(loop.RAW[workload](transport, n))
    else:
        drive(loop.WRAPPED[workload](loop.accepted(impl, transport), n))


def callgrind_total(argv: list[str], timeout: float | None = None) -> int:
    """Total instructions of ``python *argv`` under callgrind (``PYTHONHASHSEED=0``, address
    randomisation off): the one runner of this file and of the fan-out instruction scripts."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        env = {**os.environ, "PYTHONHASHSEED": "0"}
        command = ["setarch", "-R", "valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"]
        command += [sys.executable, *argv]
        subprocess.run(command, env=env, check=True, capture_output=True, timeout=timeout)
        text = out.read_text()
    match = re.search(r"^summary:\s*(\d+)", text, re.MULTILINE) or re.search(
        r"^totals:\s*(\d+)", text, re.MULTILINE
    )
    assert match is not None, "no summary line in callgrind's output"
    return int(match.group(1))


def count(workload: str, impl: str, n: int) -> int:
    """Total instructions of one valgrind run of ``workload`` ``n`` times."""
    return callgrind_total([__file__, "--run", str(n), "--workload", workload, "--impl", impl])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workload", choices=WORKLOADS)
    parser.add_argument("--impl", default="compiled")
    parser.add_argument("--run", type=int, help="run the workload N times (under valgrind)")
    args = parser.parse_args()
    if args.run is not None:
        run(args.workload, args.impl, args.run)
        return
    for workload in [args.workload] if args.workload else WORKLOADS:
        small, large = count(workload, args.impl, SMALL), count(workload, args.impl, LARGE)
        per_op = (large - small) / (LARGE - SMALL)
        print(f"{workload:12} {args.impl:10} {per_op:10,.0f} instructions per operation")


if __name__ == "__main__":
    main()
