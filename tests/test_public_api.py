"""SPEC section 1: the public modules and names."""

from __future__ import annotations

import importlib
import importlib.metadata
import re
import typing

import pytest

import genro_asgi

PUBLIC = {
    "genro_asgi.websocket": ["WebSocket", "WebSocketState"],
    "genro_asgi.datastructures": [
        "Address",
        "Headers",
        "QueryParams",
        "State",
        "URL",
        "headers_from_scope",
        "query_params_from_scope",
    ],
    "genro_asgi.exceptions": ["WebSocketDisconnect", "WebSocketException"],
    "genro_asgi.types": ["Scope", "Message", "Receive", "Send"],
}
#: Public names of genro_asgi.hub imported eagerly; RedisBackend is lazy (see test_hub.py).
HUB = ["Hub", "Member", "MemoryBackend"]


@pytest.mark.parametrize("module_name", PUBLIC)
def test_module_exports(module_name: str) -> None:
    module = importlib.import_module(module_name)
    assert sorted(module.__all__) == sorted(PUBLIC[module_name])
    for name in PUBLIC[module_name]:
        assert getattr(module, name) is getattr(genro_asgi, name), name


def test_hub_module_exports() -> None:
    module = importlib.import_module("genro_asgi.hub")
    assert sorted(module.__all__) == sorted(HUB)  # RedisBackend: lazy, outside __all__
    for name in HUB:
        assert getattr(module, name) is getattr(genro_asgi, name), name


def test_package_reexports_everything() -> None:
    names = {name for names in PUBLIC.values() for name in names}
    expected = names | {*HUB, "__version__", "COMPILED"}
    assert set(genro_asgi.__all__) == expected
    for name in genro_asgi.__all__:
        assert hasattr(genro_asgi, name), name


def test_star_import() -> None:
    namespace: dict[str, object] = {}
    exec("from genro_asgi import *", namespace)
    assert {name for name in namespace if name != "__builtins__"} == set(genro_asgi.__all__)


def test_version_matches_the_distribution() -> None:
    assert re.fullmatch(r"\d+\.\d+\.\d+([.-]?\w+)*", genro_asgi.__version__)
    assert importlib.metadata.version("genro-asgi") == genro_asgi.__version__


def test_compiled_flag_is_the_conjunction_of_the_hot_paths() -> None:
    from genro_asgi import _dispatch, _headers, _query

    assert isinstance(genro_asgi.COMPILED, bool)
    expected = _headers.COMPILED and _query.COMPILED and _dispatch.COMPILED
    assert genro_asgi.COMPILED is bool(expected)


def test_public_classes_come_from_the_hot_path_in_use() -> None:
    from genro_asgi import _headers, _query

    assert genro_asgi.Headers is _headers.Headers
    assert genro_asgi.QueryParams is _query.QueryParams


def test_the_implementation_in_use_matches_its_flag(pytestconfig: pytest.Config) -> None:
    from genro_asgi import _headers, _query

    for switch, cls, stem in (
        (_headers, genro_asgi.Headers, "_headers"),
        (_query, genro_asgi.QueryParams, "_query"),
    ):
        suffix = "_c" if switch.COMPILED else "_py"
        implementation = importlib.import_module(f"genro_asgi.{stem}{suffix}")
        assert cls is getattr(implementation, cls.__name__)
    if not pytestconfig.getoption("c_extensions"):  # GENRO_ASGI_NO_EXTENSIONS=1 is in force
        from genro_asgi import _dispatch

        assert genro_asgi.COMPILED is False
        assert (_headers.COMPILED, _query.COMPILED, _dispatch.COMPILED) == (False, False, False)


def test_typing_aliases() -> None:
    from genro_asgi.types import Message, Receive, Scope, Send

    assert typing.get_origin(Scope) is not None
    assert typing.get_origin(Message) is not None
    assert typing.get_origin(Receive) is not None
    assert typing.get_origin(Send) is not None


def test_py_typed_marker_is_shipped() -> None:
    from importlib.resources import files

    assert files("genro_asgi").joinpath("py.typed").is_file()


def test_websocket_state_values() -> None:
    state = genro_asgi.WebSocketState
    assert (state.CONNECTING, state.CONNECTED, state.DISCONNECTED) == (0, 1, 2)
