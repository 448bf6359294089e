"""Fail when a benchmark ratio regresses against the committed baseline.

Usage::

    python benchmarks/report.py --json run.json            # one full benchmark run
    python benchmarks/compare.py run.json                  # compare with benchmarks/baseline.json
    python benchmarks/compare.py run.json --tolerance 0.10 # fail beyond 10% (default 15%)
    python benchmarks/compare.py a.json b.json c.json      # median ratio of several runs
    python benchmarks/compare.py --update a.json b.json    # refresh the baseline on purpose

Absolute times do not travel between machines; ratios measured within one run do. For every
workload (``benchmark.group``) the run holds one benchmark per implementation
(``params["impl"]``); the tracked ratios compare the compiled implementation with each other
one present in that workload:

- ``compiled vs pure``, ``compiled vs starlette``, ``compiled vs parse_qsl``: how many times
  faster compiled is (higher is better);
- ``compiled / raw floor``: compiled's time over the raw ASGI calls (lower is better);
- for memory workloads (``extra_info["bytes"]``): compiled's bytes over the other's (lower is
  better).

A ratio regresses when it worsens by more than the tolerance: compiled's time relative to the
reference grew by more than 15% (the table's ``slowdown`` column). A tracked ratio missing from
the run fails too; a ratio not in the baseline is listed as new and does not fail. Exit
status: 0 ok, 1 regression, 2 unusable input.
"""

from __future__ import annotations

import argparse
import datetime
import json
import statistics
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
BASELINE = HERE / "baseline.json"
SUBJECT = "compiled"
REFERENCES = ("pure", "starlette", "parse_qsl", "raw")
FLOOR = "raw"
DEFAULT_TOLERANCE = 0.15


class InputError(Exception):
    """A run or baseline file that cannot be compared."""


@dataclass(frozen=True)
class Ratio:
    """One tracked ratio of a run: its value and which way is better."""

    value: float
    higher_is_better: bool

    def worsening(self, baseline: Ratio) -> float:
        """How much worse than ``baseline``: 1.2 means 20% worse, below 1 means better."""
        if self.higher_is_better:
            return baseline.value / self.value
        return self.value / baseline.value


@dataclass(frozen=True)
class Row:
    """One line of the comparison table."""

    name: str
    baseline: Ratio | None
    current: Ratio | None
    status: str  # "ok", "improved", "REGRESSED", "MISSING", "new"

    @property
    def failed(self) -> bool:
        return self.status in ("REGRESSED", "MISSING")


def _load_json(path: Path) -> dict[str, object]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from exc
    except json.JSONDecodeError as exc:
        raise InputError(f"{path} is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a JSON object")
    return data


def measurements(
    run: dict[str, object], stat: str, source: str = "run"
) -> dict[str, dict[str, float]]:
    """``group`` → ``impl`` → figure: seconds per call (``stat`` / ops), or bytes for memory."""
    benchmarks = run.get("benchmarks")
    if not isinstance(benchmarks, list) or not benchmarks:
        raise InputError(f"{source}: no 'benchmarks' list; is it pytest-benchmark JSON?")
    table: dict[str, dict[str, float]] = {}
    for bench in benchmarks:
        try:
            group, impl = bench["group"], bench["params"]["impl"]
            extra = bench.get("extra_info") or {}
            figure = (
                float(extra["bytes"])
                if "bytes" in extra
                else float(bench["stats"][stat]) / float(extra.get("ops", 1))
            )
        except (KeyError, TypeError, ValueError) as exc:
            name = bench.get("fullname", "?") if isinstance(bench, dict) else "?"
            raise InputError(
                f"{source}: benchmark {name} lacks group, params['impl'] or stats['{stat}'] "
                f"({exc!r}); every benchmark sets benchmark.group and is parametrized by impl"
            ) from exc
        if impl in table.setdefault(group, {}):
            raise InputError(f"{source}: two benchmarks for group {group!r}, impl {impl!r}")
        table[group][impl] = figure
    return table


def run_ratios(run: dict[str, object], stat: str, source: str = "run") -> dict[str, Ratio]:
    """Every tracked ratio of one run, by name (``"<group>: compiled vs <impl>"``)."""
    memory_groups = {
        bench["group"]
        for bench in run.get("benchmarks", [])  # type: ignore[attr-defined]
        if isinstance(bench, dict) and "bytes" in (bench.get("extra_info") or {})
    }
    ratios: dict[str, Ratio] = {}
    for group, figures in sorted(measurements(run, stat, source).items()):
        subject = figures.get(SUBJECT)
        if subject is None:
            continue
        for ref in REFERENCES:
            other = figures.get(ref)
            if other is None or other <= 0 or subject <= 0:
                continue
            if group in memory_groups:
                ratios[f"{group}: compiled / {ref} bytes"] = Ratio(subject / other, False)
            elif ref == FLOOR:
                ratios[f"{group}: compiled / raw floor"] = Ratio(subject / other, False)
            else:
                ratios[f"{group}: compiled vs {ref}"] = Ratio(other / subject, True)
    if not ratios:
        raise InputError(f"{source}: no workload has both '{SUBJECT}' and a reference impl")
    return ratios


def median_ratios(runs: Sequence[tuple[str, dict[str, object]]], stat: str) -> dict[str, Ratio]:
    """The median of each ratio over several runs (a ratio absent from a run is skipped there)."""
    per_run = [run_ratios(run, stat, source) for source, run in runs]
    names = sorted({name for ratios in per_run for name in ratios})
    merged: dict[str, Ratio] = {}
    for name in names:
        found = [ratios[name] for ratios in per_run if name in ratios]
        merged[name] = Ratio(statistics.median(r.value for r in found), found[0].higher_is_better)
    return merged


def compare(baseline: dict[str, Ratio], current: dict[str, Ratio], tolerance: float) -> list[Row]:
    """One row per ratio of either side, baseline order first."""
    rows = []
    for name, base in baseline.items():
        now = current.get(name)
        if now is None:
            rows.append(Row(name, base, None, "MISSING"))
            continue
        worse = now.worsening(base)
        if worse > 1 + tolerance:
            status = "REGRESSED"
        elif worse < 1 / (1 + tolerance):
            status = "improved"
        else:
            status = "ok"
        rows.append(Row(name, base, now, status))
    rows.extend(
        Row(name, None, now, "new") for name, now in current.items() if name not in baseline
    )
    return rows


def _fmt(ratio: Ratio | None) -> str:
    if ratio is None:
        return "-"
    return f"{ratio.value:.2f}x" + (" faster" if ratio.higher_is_better else "")


def _slowdown(row: Row) -> str:
    """Compiled's time relative to the reference, vs the baseline: +20% is 20% worse.

    The number the tolerance applies to: a ratio regresses when this exceeds it.
    """
    if row.baseline is None or row.current is None:
        return ""
    slowdown = round((row.current.worsening(row.baseline) - 1) * 100, 1)
    return f"{slowdown + 0.0:+.1f}%"  # + 0.0: never "-0.0%"


def render(rows: Sequence[Row], tolerance: float, stat: str) -> str:
    """The comparison table and a verdict line."""
    width = max(len("ratio"), *(len(row.name) for row in rows))
    lines = [
        f"benchmark ratios: run vs baseline ({stat} per call, tolerance {tolerance:.0%})",
        "",
        f"{'ratio':<{width}}  {'baseline':>14}  {'current':>14}  {'slowdown':>8}  status",
    ]
    lines += [
        f"{row.name:<{width}}  {_fmt(row.baseline):>14}  {_fmt(row.current):>14}  "
        f"{_slowdown(row):>8}  {row.status}"
        for row in rows
    ]
    failed = [row for row in rows if row.failed]
    lines.append("")
    if failed:
        lines.append(
            f"{len(failed)} tracked ratio(s) regressed beyond {tolerance:.0%} or went missing: "
            + ", ".join(row.name for row in failed)
        )
        lines.append(
            "If the change is intended, refresh the baseline on purpose: "
            "python benchmarks/compare.py --update RUN.json (see docs/guide/performance.md)."
        )
    else:
        lines.append(f"no tracked ratio regressed beyond {tolerance:.0%}")
    return "\n".join(lines)


def load_baseline(path: Path) -> tuple[dict[str, Ratio], str]:
    """The baseline's ratios and the statistic they were computed with."""
    if not path.exists():
        raise InputError(
            f"no baseline at {path}: create it with python benchmarks/compare.py --update RUN.json"
        )
    data = _load_json(path)
    try:
        ratios = {
            name: Ratio(float(entry["value"]), bool(entry["higher_is_better"]))
            for name, entry in data["ratios"].items()  # type: ignore[attr-defined]
        }
        stat = str(data.get("stat", "min"))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InputError(f"{path}: not a baseline written by --update ({exc!r})") from exc
    return ratios, stat


def write_baseline(
    path: Path, ratios: dict[str, Ratio], stat: str, runs: Sequence[tuple[str, dict[str, object]]]
) -> None:
    """Write the baseline file: the ratios plus where they came from."""
    machine = runs[0][1].get("machine_info", {})
    info = machine if isinstance(machine, dict) else {}
    cpu = info.get("cpu", {})
    commit = runs[0][1].get("commit_info")  # set when the run was made in a git checkout
    data = {
        "about": "Benchmark ratios tracked by benchmarks/compare.py; refresh with --update.",
        "created": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "stat": stat,
        "runs": len(runs),
        "commit": commit.get("id") if isinstance(commit, dict) else None,
        "machine": {
            "python": info.get("python_version"),
            "implementation": info.get("python_implementation"),
            "system": f"{info.get('system', '?')} {info.get('machine', '?')}",
            "cpu": cpu.get("brand_raw") if isinstance(cpu, dict) else None,
        },
        "ratios": {
            name: {"value": round(r.value, 4), "higher_is_better": r.higher_is_better}
            for name, r in ratios.items()
        },
    }
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=(__doc__ or "").split("\n\n")[0],
        epilog="exit status: 0 ok, 1 a tracked ratio regressed or is missing, 2 unusable input",
    )
    parser.add_argument("runs", nargs="+", type=Path, help="pytest-benchmark JSON file(s)")
    parser.add_argument("--baseline", type=Path, default=BASELINE, help="default: %(default)s")
    parser.add_argument(
        "--tolerance",
        type=float,
        default=DEFAULT_TOLERANCE,
        help="allowed worsening of a ratio, as a fraction (default: %(default)s)",
    )
    parser.add_argument(
        "--stat",
        choices=("min", "median", "mean"),
        help="statistic per benchmark (default: the baseline's, else min)",
    )
    parser.add_argument(
        "--update", action="store_true", help="write the runs' ratios as the new baseline"
    )
    args = parser.parse_args(argv)
    if args.tolerance < 0:
        parser.error("--tolerance must be >= 0")
    try:
        runs = [(str(path), _load_json(path)) for path in args.runs]
        if args.update:
            stat = args.stat or "min"
            ratios = median_ratios(runs, stat)
            write_baseline(args.baseline, ratios, stat, runs)
            for name, ratio in ratios.items():
                print(f"{name:<40} {_fmt(ratio):>14}")
            print(f"baseline written: {args.baseline} ({len(ratios)} ratios, {len(runs)} run(s))")
            return 0
        baseline, baseline_stat = load_baseline(args.baseline)
        stat = args.stat or baseline_stat
        rows = compare(baseline, median_ratios(runs, stat), args.tolerance)
    except InputError as exc:
        print(f"compare.py: {exc}", file=sys.stderr)
        return 2
    print(render(rows, args.tolerance, stat))
    return 1 if any(row.failed for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
