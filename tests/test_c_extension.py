"""The compiled modules are really in use in a normal install, and the switch really switches."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys

import pytest

from .conftest import HOT_PATHS

# Every public name each switch re-exports from its implementation module.
SWITCHED = {
    "headers": ("Headers", "headers_from_scope"),
    "query": ("QueryParams", "query_params_from_scope"),
    "dispatch": ("text_payload", "bytes_payload", "data_payload", "disconnect_exception"),
    "fanout": (
        "Drain",
        "Outbox",
        "fanout",
        "CLOSE",
        "DROP_OLDEST",
        "DROP_NEWEST",
        "QUEUED",
        "DROPPED",
        "FULL",
    ),
}


def run_report(**env: str) -> str:
    """``python -m genro_asgi`` in a fresh interpreter with ``env`` added."""
    environ = {k: v for k, v in os.environ.items() if k != "GENRO_ASGI_NO_EXTENSIONS"}
    environ.update(env)
    done = subprocess.run(
        [sys.executable, "-m", "genro_asgi"],
        env=environ,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return done.stdout


def test_switched_names_are_complete() -> None:
    for hot_path in HOT_PATHS:
        switch = importlib.import_module(f"genro_asgi._{hot_path}")
        assert set(switch.__all__) == {"COMPILED", *SWITCHED[hot_path]}


@pytest.mark.c_extension
def test_compiled_modules_in_use() -> None:
    """Under --c-extensions every switch must hand out the compiled objects."""
    import genro_asgi
    from genro_asgi import _compat

    assert not _compat.NO_EXTENSIONS, "GENRO_ASGI_NO_EXTENSIONS is set under --c-extensions"
    for hot_path in HOT_PATHS:
        switch = importlib.import_module(f"genro_asgi._{hot_path}")
        compiled = importlib.import_module(f"genro_asgi._{hot_path}_c")
        assert compiled.__file__ is not None
        assert not compiled.__file__.endswith(".py"), compiled.__file__
        assert switch.COMPILED is True, f"{hot_path}: the compiled module is not in use"
        for name in SWITCHED[hot_path]:
            assert getattr(switch, name) is getattr(compiled, name), f"{hot_path}.{name}"
    assert genro_asgi.COMPILED is True
    assert genro_asgi.Headers is importlib.import_module("genro_asgi._headers_c").Headers
    assert genro_asgi.QueryParams is importlib.import_module("genro_asgi._query_c").QueryParams
    assert (
        genro_asgi.headers_from_scope
        is importlib.import_module("genro_asgi._headers_c").headers_from_scope
    )
    assert (
        genro_asgi.query_params_from_scope
        is importlib.import_module("genro_asgi._query_c").query_params_from_scope
    )


@pytest.mark.c_extension
def test_websocket_uses_compiled_dispatch() -> None:
    from genro_asgi import _dispatch_c, websocket

    assert websocket.text_payload is _dispatch_c.text_payload
    assert websocket.bytes_payload is _dispatch_c.bytes_payload
    assert websocket.data_payload is _dispatch_c.data_payload


@pytest.mark.c_extension
def test_hub_uses_compiled_fanout() -> None:
    from genro_asgi import _fanout_c, hub

    assert hub.Outbox is _fanout_c.Outbox
    assert hub.fanout is _fanout_c.fanout
    assert hub.Drain is _fanout_c.Drain


@pytest.mark.c_extension
def test_module_report_says_compiled() -> None:
    out = run_report()
    for hot_path in HOT_PATHS:
        assert f"{hot_path:<9} compiled" in out, out
    assert "GENRO_ASGI_NO_EXTENSIONS: not set" in out
    assert "COMPILED  True" in out


def test_no_extensions_at_import_time_selects_the_twins() -> None:
    out = run_report(GENRO_ASGI_NO_EXTENSIONS="1")
    for hot_path in HOT_PATHS:
        assert f"{hot_path:<9} pure-Python" in out, out
    assert "GENRO_ASGI_NO_EXTENSIONS: set" in out
    assert "COMPILED  False" in out


def test_no_extensions_switches_hand_out_the_twins() -> None:
    code = (
        "import genro_asgi, genro_asgi._headers_py as h, genro_asgi._query_py as q, "
        "genro_asgi._dispatch_py as d, genro_asgi.websocket as w, genro_asgi._fanout_py as f, "
        "genro_asgi.hub as hub\n"
        "assert genro_asgi.COMPILED is False\n"
        "assert genro_asgi.Headers is h.Headers and genro_asgi.QueryParams is q.QueryParams\n"
        "assert w.text_payload is d.text_payload and w.bytes_payload is d.bytes_payload\n"
        "assert hub.Outbox is f.Outbox and hub.fanout is f.fanout and hub.Drain is f.Drain\n"
        "print('ok')"
    )
    environ = {**os.environ, "GENRO_ASGI_NO_EXTENSIONS": "1"}
    done = subprocess.run(
        [sys.executable, "-c", code], env=environ, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_this_run_uses_the_requested_implementation(pytestconfig: pytest.Config) -> None:
    """The suite runs on what was asked: compiled under --c-extensions, twins otherwise."""
    import genro_asgi

    if pytestconfig.getoption("c_extensions"):
        assert genro_asgi.COMPILED is True, "--c-extensions but the compiled modules are not used"
    else:
        assert genro_asgi.COMPILED is False
        assert os.environ.get("GENRO_ASGI_NO_EXTENSIONS") == "1"


@pytest.mark.parametrize("hot_path", HOT_PATHS)
def test_missing_compiled_module_falls_back_silently(
    hot_path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A compiled module that cannot be imported selects the twin, and COMPILED says so."""
    from genro_asgi import _compat

    switch = importlib.import_module(f"genro_asgi._{hot_path}")
    twin = importlib.import_module(f"genro_asgi._{hot_path}_py")
    saved = dict(vars(switch))
    monkeypatch.setattr(_compat, "NO_EXTENSIONS", False)
    monkeypatch.setitem(sys.modules, f"genro_asgi._{hot_path}_c", None)  # import → ImportError
    try:
        importlib.reload(switch)
        assert switch.COMPILED is False
        for name in SWITCHED[hot_path]:
            assert getattr(switch, name) is getattr(twin, name)
    finally:
        vars(switch).update(saved)  # the other modules keep the objects they imported


def test_report_lines_follow_the_switches(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``python -m genro_asgi`` (run in-process) prints each switch's choice and COMPILED."""
    import runpy

    import genro_asgi

    monkeypatch.delitem(sys.modules, "genro_asgi.__main__", raising=False)
    runpy.run_module("genro_asgi", run_name="__main__")
    out = capsys.readouterr().out
    assert out.startswith(f"genro-asgi {genro_asgi.__version__}\n")
    for hot_path in HOT_PATHS:
        switch = importlib.import_module(f"genro_asgi._{hot_path}")
        kind = "compiled" if switch.COMPILED else "pure-Python"
        assert f"\n{hot_path:<9} {kind}\n" in out
    assert f"COMPILED  {genro_asgi.COMPILED}" in out
