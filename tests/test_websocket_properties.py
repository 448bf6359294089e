"""SPEC section 4: connection properties (lazy, computed once), cookies, path_params, state."""

from __future__ import annotations

from typing import Any

import pytest

from genro_asgi.datastructures import URL, Address, Headers, QueryParams, State
from genro_asgi.websocket import WebSocket

from .transport import CONNECT, DROP, Transport, connection, make_scope


def test_raw_asgi_accessors() -> None:
    transport = Transport()
    scope = make_scope()
    ws = WebSocket(scope, transport.receive, transport.send)
    assert ws.scope is scope
    assert ws.asgi_receive == transport.receive
    assert ws.asgi_send == transport.send


def test_typed_properties() -> None:
    ws, _ = connection(subprotocols=["a", "b"], path_params={"room": "7"})
    assert isinstance(ws.headers, Headers)
    assert isinstance(ws.query_params, QueryParams)
    assert isinstance(ws.url, URL)
    assert isinstance(ws.state, State)
    assert isinstance(ws.client, Address)
    assert ws.headers["host"] == "127.0.0.1:8000"
    assert ws.query_params["room"] == "1"
    assert ws.client == ("127.0.0.1", 50000)
    assert ws.client.host == "127.0.0.1"
    assert ws.path == "/chat"
    assert ws.scheme == "ws"
    assert ws.subprotocols == ("a", "b")
    assert ws.path_params == {"room": "7"}


@pytest.mark.parametrize("client", [["10.0.0.1", 1234], ("::1", 1)])
def test_client_from_list_or_tuple(client: Any) -> None:
    ws, _ = connection(client=client)
    assert ws.client == tuple(client)
    host, port = ws.client  # type: ignore[misc]
    assert (host, port) == tuple(client)


@pytest.mark.parametrize("client", [None, DROP])
def test_client_none_when_server_does_not_say(client: Any) -> None:
    ws, _ = connection(client=client)
    assert ws.client is None


@pytest.mark.parametrize("scheme", ["ws", "wss"])
def test_scheme(scheme: str) -> None:
    ws, _ = connection(scheme=scheme)
    assert ws.scheme == scheme


@pytest.mark.parametrize(("server_scheme", "expected"), [("http", "ws"), ("https", "wss")])
def test_scheme_maps_http_to_ws_as_url_does(server_scheme: str, expected: str) -> None:
    ws, _ = connection(scheme=server_scheme)
    assert ws.scheme == expected
    assert ws.url.scheme == expected


def test_scheme_default_is_ws() -> None:
    ws, _ = connection(scheme=DROP)
    assert ws.scheme == "ws"


@pytest.mark.parametrize(
    ("name", "key", "value", "changed"),
    [
        ("client", "client", ("10.0.0.1", 1234), ("10.0.0.2", 99)),
        ("client", "client", None, ("10.0.0.2", 99)),
        ("subprotocols", "subprotocols", ["a", "b"], ["c"]),
        ("path_params", "path_params", {"room": "7"}, {"room": "8"}),
        ("scheme", "scheme", "https", "http"),
    ],
)
def test_scope_properties_computed_once(name: str, key: str, value: Any, changed: Any) -> None:
    ws, _ = connection(**{key: value})
    first = getattr(ws, name)
    ws.scope[key] = changed
    assert getattr(ws, name) is first


def test_path_params_without_scope_key_keeps_writes() -> None:
    ws, _ = connection(path_params=DROP)
    ws.path_params["room"] = 1
    assert ws.path_params == {"room": 1}
    assert ws.path_params is ws.path_params


def test_client_with_string_port_converted_once() -> None:
    ws, _ = connection(client=["10.0.0.1", "8080"])
    assert ws.client == ("10.0.0.1", 8080)
    assert ws.client is ws.client


def test_subprotocols_is_a_tuple() -> None:
    ws, _ = connection(subprotocols=["x"])
    assert ws.subprotocols == ("x",)
    assert isinstance(ws.subprotocols, tuple)
    ws2, _ = connection(subprotocols=DROP)
    assert ws2.subprotocols == ()


def test_path_params_default_empty_and_passthrough() -> None:
    params = {"id": 3}
    ws, _ = connection(path_params=params)
    assert ws.path_params is params
    ws2, _ = connection()
    assert ws2.path_params == {}


@pytest.mark.parametrize("name", ["headers", "query_params", "url", "state", "cookies"])
def test_lazy_and_computed_once(name: str) -> None:
    ws, _ = connection(headers=[(b"cookie", b"a=1"), (b"host", b"h")])
    first = getattr(ws, name)
    ws.scope["headers"] = [(b"cookie", b"b=2")]
    ws.scope["query_string"] = b"changed=1"
    ws.scope["path"] = "/changed"
    ws.scope["raw_path"] = b"/changed"
    assert getattr(ws, name) is first


@pytest.mark.parametrize(
    ("key", "value", "name"),
    [("headers", "not a list", "headers"), ("query_string", 123, "query_params")],
)
def test_bad_scope_data_only_fails_when_the_property_is_read(
    key: str, value: Any, name: str
) -> None:
    ws, _ = connection(**{key: value})
    with pytest.raises(TypeError):
        getattr(ws, name)


# -- cookies -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ([], {}),
        ([(b"cookie", b"")], {}),
        ([(b"cookie", b"a=1")], {"a": "1"}),
        ([(b"Cookie", b"a=1; b=2")], {"a": "1", "b": "2"}),
        ([(b"cookie", b"a=1;b=2;  c = 3 ")], {"a": "1", "b": "2", "c": "3"}),
        ([(b"cookie", b'sid="quoted value"')], {"sid": "quoted value"}),
        ([(b"cookie", b'x="')], {"x": '"'}),
        ([(b"cookie", b"a=1; a=2")], {"a": "1"}),
        ([(b"cookie", b"a=1"), (b"cookie", b"b=2; a=3")], {"a": "1", "b": "2"}),
        ([(b"cookie", b"token=abc==; empty=")], {"token": "abc==", "empty": ""}),
        ([(b"cookie", b"lonely")], {"": "lonely"}),
        ([(b"cookie", b";;a=1;;")], {"a": "1"}),
        ([(b"cookie", b"n=caf\xe9")], {"n": "café"}),
    ],
)
def test_cookies(headers: list[tuple[bytes, bytes]], expected: dict[str, str]) -> None:
    ws, _ = connection(headers=headers)
    assert ws.cookies == expected


# -- state -------------------------------------------------------------------------------------


def test_state_created_in_scope_when_absent() -> None:
    ws, _ = connection()
    assert "state" not in ws.scope
    ws.state.user = "ada"
    assert ws.scope["state"] == {"user": "ada"}


def test_state_shared_with_middleware_through_scope() -> None:
    shared: dict[str, Any] = {"db": "pool"}
    ws, _ = connection(state=shared)
    assert ws.state.db == "pool"
    ws.state.user = "ada"
    assert shared["user"] == "ada"
    assert ws.scope["state"] is shared
    shared["late"] = 1
    assert ws.state.late == 1
    other = WebSocket(ws.scope, ws.asgi_receive, ws.asgi_send)
    assert other.state.user == "ada"


def test_state_missing_attribute() -> None:
    ws, _ = connection()
    with pytest.raises(AttributeError, match="'nope'"):
        _ = ws.state.nope


async def test_close_code_and_reason_none_until_disconnected() -> None:
    ws, _ = connection(CONNECT)
    await ws.accept()
    assert (ws.close_code, ws.close_reason) == (None, None)
    await ws.close(3001, "x")
    assert (ws.close_code, ws.close_reason) == (3001, "x")


# -- Origin (SPEC section 4): the guard against cross-site WebSocket hijacking -----------------


def with_origin(
    origin: bytes | None, host: bytes = b"chat.example.com", scheme: str = "wss"
) -> Any:
    headers = [(b"host", host)] + ([(b"origin", origin)] if origin is not None else [])
    ws, _ = connection(headers=headers, scheme=scheme)
    return ws


@pytest.mark.parametrize(
    ("origin", "expected"),
    [
        (None, True),  # not a browser
        (b"https://chat.example.com", True),
        (b"https://CHAT.example.com:443", True),  # case and the default port normalised
        (b"https://chat.example.com:8443", False),
        (b"https://evil.example.org", False),
        (b"not an origin", False),
    ],
)
def test_same_origin_by_default(origin: bytes | None, expected: bool) -> None:
    ws = with_origin(origin)
    assert ws.origin == (None if origin is None else origin.decode())
    assert ws.origin_allowed() is expected


@pytest.mark.parametrize(
    ("origin", "expected"),
    [
        (b"https://eu.example.com", True),
        (b"https://example.com", False),  # the apex is not a subdomain: list it too
        (b"https://example.com.evil.io", False),  # no partial-suffix match
        (b"https://chat.other.org", True),
        (b"http://chat.other.org", False),
    ],
)
def test_an_allow_list(origin: bytes, expected: bool) -> None:
    allowed = ["https://*.example.com", "https://chat.other.org"]
    assert with_origin(origin).origin_allowed(allowed) is expected
    assert with_origin(origin).origin_allowed(["*"]) is True


def test_a_single_string_is_not_an_allow_list() -> None:
    with pytest.raises(TypeError, match="iterable of origins"):
        with_origin(b"https://a.example.com").origin_allowed("https://a.example.com")  # type: ignore[arg-type]
