"""benchmarks/compare.py, the regression gate, on synthetic pytest-benchmark JSON."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "compare.py"

# Seconds per call: compiled 4x faster than pure, 10x than starlette, 1.5x the raw floor.
TIMES = {
    "headers": {"compiled": 1.0, "pure": 4.0, "starlette": 10.0},
    "query-10": {"compiled": 2.0, "pure": 8.0, "starlette": 30.0, "parse_qsl": 26.0},
    "loop-text": {"compiled": 3.0, "pure": 4.5, "starlette": 9.0, "raw": 2.0},
}
BYTES = {"compiled": 300, "pure": 600, "starlette": 1000}


def load_compare() -> ModuleType:
    spec = importlib.util.spec_from_file_location("genro_bench_compare", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve annotations through sys.modules
    spec.loader.exec_module(module)
    return module


compare = load_compare()


def bench(group: str, impl: str, seconds: float, **extra: Any) -> dict[str, Any]:
    """One pytest-benchmark entry; median is twice min, so --stat is visible."""
    return {
        "group": group,
        "name": f"test_{group}[{impl}]",
        "fullname": f"benchmarks/test_x.py::test_{group}[{impl}]",
        "params": {"impl": impl},
        "stats": {"min": seconds, "median": seconds * 2, "mean": seconds * 3},
        "extra_info": extra,
    }


def make_run(
    times: dict[str, dict[str, float]] | None = None, memory: dict[str, int] | None = None
) -> dict[str, Any]:
    times = TIMES if times is None else times
    memory = BYTES if memory is None else memory
    benchmarks = [
        bench(group, impl, t * 1e-7) for group, impls in times.items() for impl, t in impls.items()
    ]
    benchmarks += [bench("memory", impl, 1e-3, bytes=b) for impl, b in memory.items()]
    return {
        "machine_info": {"python_version": "3.11.7", "cpu": {"brand_raw": "test"}},
        "commit_info": {"id": "abc1234", "dirty": False},
        "benchmarks": benchmarks,
    }


def scaled(group: str, impl: str, factor: float) -> dict[str, dict[str, float]]:
    """TIMES with one benchmark's time multiplied by ``factor``."""
    times = {g: dict(impls) for g, impls in TIMES.items()}
    times[group][impl] *= factor
    return times


@pytest.fixture
def files(tmp_path: Path) -> Any:
    """Write JSON files in tmp_path: ``files("name", data)`` → path."""

    def write(name: str, data: object) -> Path:
        path = tmp_path / name
        path.write_text(json.dumps(data), encoding="utf-8")
        return path

    return write


@pytest.fixture
def baseline(tmp_path: Path, files: Any) -> Path:
    """A baseline written by --update from the synthetic run."""
    path = tmp_path / "baseline.json"
    assert (
        compare.main(["--update", "--baseline", str(path), str(files("b.json", make_run()))]) == 0
    )
    return path


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=60
    )


def test_ratios_of_one_run() -> None:
    ratios = compare.run_ratios(make_run(), "min")
    assert ratios["headers: compiled vs pure"].value == pytest.approx(4.0)
    assert ratios["headers: compiled vs starlette"].value == pytest.approx(10.0)
    assert ratios["query-10: compiled vs parse_qsl"].value == pytest.approx(13.0)
    assert ratios["loop-text: compiled / raw floor"].value == pytest.approx(1.5)
    assert not ratios["loop-text: compiled / raw floor"].higher_is_better
    assert ratios["memory: compiled / starlette bytes"].value == pytest.approx(0.3)
    assert ratios["memory: compiled / pure bytes"].value == pytest.approx(0.5)
    assert "headers: compiled vs raw" not in ratios  # no raw benchmark in that group
    assert len(ratios) == 2 + 3 + 3 + 2


def test_time_is_per_op_when_a_benchmark_loops() -> None:
    run = make_run({"loop-text": {"compiled": 3.0, "raw": 2.0}}, {})
    for entry, ops in zip(run["benchmarks"], (1000, 500), strict=True):
        entry["extra_info"]["ops"] = ops
    ratio = compare.run_ratios(run, "min")["loop-text: compiled / raw floor"].value
    assert ratio == pytest.approx((3.0 / 1000) / (2.0 / 500))


def test_same_run_passes(baseline: Path, files: Any) -> None:
    done = run_cli(str(files("run.json", make_run())), "--baseline", str(baseline))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "REGRESSED" not in done.stdout
    assert "no tracked ratio regressed beyond 15%" in done.stdout


@pytest.mark.parametrize(
    ("group", "impl", "factor", "ratio"),
    [
        ("headers", "compiled", 1.25, "headers: compiled vs pure"),  # compiled got slower
        ("query-10", "parse_qsl", 0.8, "query-10: compiled vs parse_qsl"),  # the peer got faster
        ("loop-text", "compiled", 1.2, "loop-text: compiled / raw floor"),  # farther from floor
    ],
)
def test_regression_beyond_tolerance_fails_with_a_table(
    baseline: Path, files: Any, group: str, impl: str, factor: float, ratio: str
) -> None:
    run = files("run.json", make_run(scaled(group, impl, factor)))
    done = run_cli(str(run), "--baseline", str(baseline))
    assert done.returncode == 1, done.stdout
    line = next(line for line in done.stdout.splitlines() if line.startswith(ratio))
    assert line.split()[-1] == "REGRESSED"
    assert "--update" in done.stdout  # says how to accept an intended change
    regressed = [ln for ln in done.stdout.splitlines() if ln.endswith("REGRESSED")]
    assert len(regressed) >= 1
    assert all(ln.startswith(f"{group}:") for ln in regressed)


def test_change_within_tolerance_passes(baseline: Path, files: Any) -> None:
    run = files("run.json", make_run(scaled("headers", "compiled", 1.10)))
    assert run_cli(str(run), "--baseline", str(baseline)).returncode == 0


def test_tolerance_option(baseline: Path, files: Any) -> None:
    run = files("run.json", make_run(scaled("headers", "compiled", 1.10)))
    done = run_cli(str(run), "--baseline", str(baseline), "--tolerance", "0.05")
    assert done.returncode == 1
    assert "tolerance 5%" in done.stdout


def test_slowdown_column_is_what_the_tolerance_applies_to(baseline: Path) -> None:
    base, _ = compare.load_baseline(baseline)
    current = compare.run_ratios(make_run(scaled("headers", "compiled", 1.25)), "min")
    rows = {row.name: row for row in compare.compare(base, current, 0.15)}
    assert compare._slowdown(rows["headers: compiled vs pure"]) == "+25.0%"
    assert rows["headers: compiled vs pure"].status == "REGRESSED"
    # 14% slower: within 15%, though the speed-up ratio itself dropped by 12.3%.
    current = compare.run_ratios(make_run(scaled("headers", "compiled", 1.14)), "min")
    rows = {row.name: row for row in compare.compare(base, current, 0.15)}
    assert compare._slowdown(rows["headers: compiled vs pure"]) == "+14.0%"
    assert rows["headers: compiled vs pure"].status == "ok"
    faster = compare.run_ratios(make_run(scaled("headers", "compiled", 0.5)), "min")
    rows = {row.name: row for row in compare.compare(base, faster, 0.15)}
    assert rows["headers: compiled vs pure"].status == "improved"
    assert compare._slowdown(rows["headers: compiled vs pure"]) == "-50.0%"


def test_improvement_passes(baseline: Path, files: Any) -> None:
    run = files("run.json", make_run(scaled("headers", "compiled", 0.5)))
    done = run_cli(str(run), "--baseline", str(baseline))
    assert done.returncode == 0
    assert "improved" in done.stdout


def test_memory_regression_fails(baseline: Path, files: Any) -> None:
    run = files("run.json", make_run(memory={"compiled": 400, "pure": 600, "starlette": 1000}))
    done = run_cli(str(run), "--baseline", str(baseline))
    assert done.returncode == 1
    assert "memory: compiled / starlette bytes" in done.stdout


def test_missing_tracked_ratio_fails(baseline: Path, files: Any) -> None:
    times = {g: impls for g, impls in TIMES.items() if g != "headers"}
    done = run_cli(str(files("run.json", make_run(times))), "--baseline", str(baseline))
    assert done.returncode == 1
    assert "MISSING" in done.stdout
    assert "headers: compiled vs pure" in done.stdout


def test_new_ratio_is_listed_and_passes(baseline: Path, files: Any) -> None:
    times = {**TIMES, "lifecycle": {"compiled": 1.0, "starlette": 5.0}}
    done = run_cli(str(files("run.json", make_run(times))), "--baseline", str(baseline))
    assert done.returncode == 0
    line = next(ln for ln in done.stdout.splitlines() if ln.startswith("lifecycle:"))
    assert line.split()[-1] == "new"


def test_stat_option_and_baseline_stat(tmp_path: Path, files: Any) -> None:
    # The median of compiled doubles relative to others only if it is used: make min and median
    # disagree for one benchmark and check which one the comparison reads.
    run = make_run()
    for entry in run["benchmarks"]:
        if entry["group"] == "headers" and entry["params"]["impl"] == "compiled":
            entry["stats"]["median"] *= 2
    path = files("run.json", run)
    base = tmp_path / "base.json"
    assert (
        compare.main(["--update", "--baseline", str(base), str(files("b.json", make_run()))]) == 0
    )
    assert json.loads(base.read_text())["stat"] == "min"
    assert run_cli(str(path), "--baseline", str(base)).returncode == 0  # min: unchanged
    assert run_cli(str(path), "--baseline", str(base), "--stat", "median").returncode == 1


def test_update_takes_the_median_of_several_runs(tmp_path: Path, files: Any) -> None:
    runs = [
        files(f"r{i}.json", make_run(scaled("headers", "compiled", factor)))
        for i, factor in enumerate([1.0, 2.0, 0.5])
    ]
    base = tmp_path / "base.json"
    done = run_cli("--update", "--baseline", str(base), *map(str, runs))
    assert done.returncode == 0, done.stderr
    assert "baseline written" in done.stdout
    data = json.loads(base.read_text())
    assert data["runs"] == 3
    assert data["machine"]["cpu"] == "test"
    assert data["commit"] == "abc1234"
    assert data["ratios"]["headers: compiled vs pure"] == {"value": 4.0, "higher_is_better": True}
    assert data["ratios"]["loop-text: compiled / raw floor"]["higher_is_better"] is False


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "is not JSON"),
        ({"benchmarks": []}, "no 'benchmarks' list"),
        ({"benchmarks": [{"group": "headers", "stats": {"min": 1}}]}, "lacks group, params"),
        ({"benchmarks": [bench("headers", "pure", 1.0)]}, "no workload has both 'compiled'"),
        ({"benchmarks": [bench("headers", "pure", 1.0)] * 2}, "two benchmarks for group"),
    ],
)
def test_unusable_run_exits_2(
    baseline: Path, tmp_path: Path, content: object, message: str
) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    done = run_cli(str(path), "--baseline", str(baseline))
    assert done.returncode == 2
    assert message in done.stderr


def test_missing_baseline_says_how_to_create_it(tmp_path: Path, files: Any) -> None:
    done = run_cli(str(files("run.json", make_run())), "--baseline", str(tmp_path / "none.json"))
    assert done.returncode == 2
    assert "--update" in done.stderr


def test_committed_baseline_is_usable() -> None:
    """benchmarks/baseline.json loads and tracks the compiled-vs-peer ratios of every workload."""
    ratios, stat = compare.load_baseline(SCRIPT.parent / "baseline.json")
    assert stat in ("min", "median", "mean")
    assert "headers: compiled vs starlette" in ratios
    assert "headers: compiled vs pure" in ratios
    assert any(name.endswith("compiled vs parse_qsl") for name in ratios)
    assert any(name.endswith("compiled / raw floor") for name in ratios)
    assert all(ratio.value > 0 for ratio in ratios.values())
