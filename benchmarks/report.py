"""Run every benchmark in one process and print the ratios against the targets of issue 3.

Usage::

    python benchmarks/report.py                  # full run (about a minute), table of ratios
    python benchmarks/report.py --quick          # few rounds (CI: proves the benchmarks run)
    python benchmarks/report.py --json out.json  # also keep the pytest-benchmark JSON
    python benchmarks/report.py -- -k headers    # extra pytest arguments after --

Ratios compare implementations measured in the same run, so they hold across machines far
better than absolute times. Each ratio uses the ``min`` of the rounds by default (the least
disturbed by other processes; ``--stat median`` to change). Memory is not a timing: the
memory benchmarks put bytes per connection in ``extra_info["bytes"]`` of the same JSON.

The exit status is 0 when every benchmark ran, whatever the timings (timing noise must not
break CI; ``--strict`` also fails on a missed target). The regression gate of issue 4 reads
the JSON: ``benchmark.group`` is the workload, ``params["impl"]`` the implementation.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import io
import json
import os
import platform
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
#: Applied to every benchmark alike. Without warmup pytest-benchmark calibrates on the first,
#: cold call and may then time one iteration per round, so a ~200 ns workload would carry
#: ~100 ns of timer overhead. Warmed up, with rounds of at least 100 us, the timer's own cost
#: is well under 1 % of every round, whatever the workload.
MEASURE = [
    "--benchmark-warmup=on",
    "--benchmark-warmup-iterations=2000",
    "--benchmark-min-time=0.0001",
]
QUICK = ["--benchmark-min-rounds=3", "--benchmark-max-time=0.02", "--benchmark-warmup=off"]


@dataclass(frozen=True)
class Target:
    """One ratio: ``slow``'s figure over ``fast``'s, compared with ``bound``."""

    group: str
    label: str
    slow: str
    fast: str
    op: str  # ">=": at least bound times faster; "<=": at most bound times the floor; "": info
    bound: float = 0.0
    metric: str = "time"  # or "bytes"


def _loop_targets(group: str) -> list[Target]:
    return [
        Target(group, "compiled / raw floor", "compiled", "raw", "<=", 2.0),
        Target(group, "compiled vs starlette", "starlette", "compiled", ">=", 2.5),
        Target(group, "compiled vs pure", "pure", "compiled", ">=", 1.0),
        Target(group, "pure / raw floor", "pure", "raw", "<=", 2.5),
    ]


TARGETS: list[Target] = [
    Target("headers", "compiled vs starlette", "starlette", "compiled", ">=", 8.0),
    Target("headers", "compiled vs pure", "pure", "compiled", ">=", 3.0),
    Target("query-2", "compiled vs parse_qsl", "parse_qsl", "compiled", ""),
    Target("query-2", "compiled vs starlette", "starlette", "compiled", ""),
    Target("query-10", "compiled vs parse_qsl", "parse_qsl", "compiled", ">=", 12.0),
    Target("query-10", "compiled vs starlette", "starlette", "compiled", ""),
    Target("query-10", "compiled vs pure", "pure", "compiled", ""),
    Target("query-100", "compiled vs parse_qsl", "parse_qsl", "compiled", ">=", 15.0),
    Target("query-100", "compiled vs starlette", "starlette", "compiled", ""),
    Target("query-100", "compiled vs pure", "pure", "compiled", ""),
    *_loop_targets("loop-text"),
    *_loop_targets("loop-bytes"),
    *_loop_targets("loop-json"),
    Target("lifecycle", "compiled vs starlette", "starlette", "compiled", ">=", 4.0),
    Target("lifecycle", "compiled vs pure", "pure", "compiled", ""),
    Target("lifecycle", "compiled / raw floor", "compiled", "raw", ""),
    Target("memory", "compiled / starlette bytes", "compiled", "starlette", "<=", 0.5, "bytes"),
    Target("memory", "pure / starlette bytes", "pure", "starlette", "", 0.0, "bytes"),
]


def figures(data: dict[str, object], stat: str) -> dict[tuple[str, str], dict[str, float]]:
    """``(group, impl)`` → ``{"time": seconds per call, "bytes": ..., "ops": ...}``."""
    table: dict[tuple[str, str], dict[str, float]] = {}
    for bench in data["benchmarks"]:  # type: ignore[attr-defined]
        extra = bench.get("extra_info", {})
        entry = {"time": bench["stats"][stat], "ops": extra.get("ops", 1)}
        if "bytes" in extra:
            entry["bytes"] = extra["bytes"]
        table[(bench["group"], bench["params"]["impl"])] = entry
    return table


def render(data: dict[str, object], stat: str) -> tuple[str, int]:
    """The report text and the number of missed targets."""
    table = figures(data, stat)
    machine = data.get("machine_info", {})
    lines = [
        f"genro-asgi benchmarks, {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC",
        f"machine: {platform.platform()}, {os.cpu_count()} CPUs, "
        f"{machine.get('cpu', {}).get('brand_raw', platform.processor() or '?')}, "  # type: ignore[union-attr]
        f"Python {platform.python_version()}; ratio of the {stat} per call, one run",
        "",
        f"{'workload':<11} {'ratio':<28} {'measured':>9}  {'target':<8} {'':4}  figures",
    ]
    missed = 0
    for target in TARGETS:
        slow, fast = table.get((target.group, target.slow)), table.get((target.group, target.fast))
        if slow is None or fast is None or target.metric not in slow or target.metric not in fast:
            continue
        ratio = slow[target.metric] / fast[target.metric]
        if target.op == ">=":
            ok, wanted = ratio >= target.bound, f">= {target.bound:g}x"
        elif target.op == "<=":
            ok, wanted = ratio <= target.bound, f"<= {target.bound:g}x"
        else:
            ok, wanted = True, "(info)"
        missed += not ok
        verdict = "" if not target.op else ("ok" if ok else "MISS")
        lines.append(
            f"{target.group:<11} {target.label:<28} {ratio:>8.2f}x  {wanted:<8} {verdict:<4}  "
            f"{_figure(target.slow, slow, target.metric)} / "
            f"{_figure(target.fast, fast, target.metric)}"
        )
    lines.append("")
    lines.append(f"{missed} target(s) missed" if missed else "every target met")
    return "\n".join(lines), missed


def _figure(impl: str, entry: dict[str, float], metric: str) -> str:
    if metric == "bytes":
        return f"{impl} {entry['bytes']:.0f} B"
    return f"{impl} {entry['time'] / entry['ops'] * 1e9:.0f} ns"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path, help="write the pytest-benchmark JSON here")
    parser.add_argument("--quick", action="store_true", help="few rounds: a smoke run for CI")
    parser.add_argument("--stat", default="min", choices=["min", "median", "mean"])
    parser.add_argument("--strict", action="store_true", help="exit 1 on a missed target")
    parser.add_argument("--verbose", action="store_true", help="show pytest's own output")
    parser.add_argument("pytest_args", nargs="*", help="extra pytest arguments (after --)")
    args = parser.parse_args(argv)

    import pytest  # imported here, so --help works without them

    import genro_asgi

    if not genro_asgi.COMPILED:
        print(
            "genro_asgi is not using its compiled modules (python -m genro_asgi); "
            "the 'compiled' benchmarks will fail. Build them: pip install -e .",
            file=sys.stderr,
        )
    with tempfile.TemporaryDirectory() as tmp:
        path = args.json or Path(tmp) / "benchmarks.json"
        pytest_args = [
            str(HERE),
            "-p",
            "no:cacheprovider",
            f"--rootdir={HERE.parent}",
            f"--benchmark-json={path}",
            "--benchmark-columns=min,median,rounds",
            *MEASURE,
            *(QUICK if args.quick else []),
            *args.pytest_args,
        ]
        output = io.StringIO()
        if args.verbose:
            status = pytest.main(pytest_args)
        else:
            with contextlib.redirect_stdout(output):
                status = pytest.main(["-q", *pytest_args])
        if status != 0:
            print(output.getvalue())
            print(f"benchmarks failed (pytest exit status {int(status)})", file=sys.stderr)
            return 1
        data = json.loads(Path(path).read_text())
    text, missed = render(data, args.stat)
    print(text)
    if args.json:
        print(f"pytest-benchmark JSON: {args.json}")
    return 1 if args.strict and missed else 0


if __name__ == "__main__":
    sys.exit(main())
