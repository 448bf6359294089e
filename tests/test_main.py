"""SPEC section 1: ``python -m genro_asgi`` prints version, Python, platform and implementations."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

import genro_asgi
from genro_asgi import __main__ as main_module

HOT_PATHS = ("headers", "query", "dispatch", "fanout")


def run(*args: str, no_extensions: bool | None) -> str:
    env = dict(os.environ)
    env.pop("GENRO_ASGI_NO_EXTENSIONS", None)
    if no_extensions:
        env["GENRO_ASGI_NO_EXTENSIONS"] = "1"
    result = subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, env=env, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    return result.stdout


def implementation_lines(output: str) -> dict[str, str]:
    lines = {}
    for line in output.splitlines():
        name, _, value = line.partition(" ")
        lines[name] = value.strip()
    return lines


def test_header_lines() -> None:
    output = run("-m", "genro_asgi", no_extensions=True)
    lines = output.splitlines()
    assert lines[0] == f"genro-asgi {genro_asgi.__version__}"
    assert lines[1].startswith(f"Python {platform.python_version()} ")
    assert platform.platform() in lines[1]
    assert sys.implementation.name in lines[1]


def test_no_extensions_reports_pure_python_everywhere() -> None:
    output = run("-m", "genro_asgi", no_extensions=True)
    lines = implementation_lines(output)
    for name in HOT_PATHS:
        assert lines[name] == "pure-Python", output
    assert lines["COMPILED"] == "False"
    assert "GENRO_ASGI_NO_EXTENSIONS: set" in output


def test_default_reports_what_is_really_imported() -> None:
    output = run("-m", "genro_asgi", no_extensions=False)
    flags = run(
        "-c",
        "import genro_asgi, genro_asgi._headers as h, genro_asgi._query as q, "
        "genro_asgi._dispatch as d, genro_asgi._fanout as f; "
        "print(h.COMPILED, q.COMPILED, d.COMPILED, f.COMPILED, genro_asgi.COMPILED)",
        no_extensions=False,
    ).split()
    lines = implementation_lines(output)
    expected = ["compiled" if flag == "True" else "pure-Python" for flag in flags[:4]]
    assert [lines[name] for name in HOT_PATHS] == expected
    assert lines["COMPILED"] == flags[4] == str(all(flag == "True" for flag in flags[:4]))
    assert "GENRO_ASGI_NO_EXTENSIONS: not set" in output


def test_json_backend_line() -> None:
    output = run("-m", "genro_asgi", no_extensions=True)
    from genro_asgi import _json

    assert implementation_lines(output)["json"] == _json.BACKEND


def test_report_in_process_matches_the_modules_in_use() -> None:
    lines = implementation_lines(main_module.report())
    for name, module in main_module.HOT_PATHS.items():
        assert lines[name] == ("compiled" if module.COMPILED else "pure-Python")
    assert lines["COMPILED"] == str(genro_asgi.COMPILED)


@pytest.mark.parametrize("name", HOT_PATHS)
def test_report_follows_the_module_flags(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    module = main_module.HOT_PATHS[name]
    for flag, word in ((True, "compiled"), (False, "pure-Python")):
        monkeypatch.setattr(module, "COMPILED", flag)
        assert implementation_lines(main_module.report())[name] == word
