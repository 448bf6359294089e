"""The sans-I/O layer: server capabilities, argument checks and messages, no event loop."""

from __future__ import annotations

from typing import Any

import pytest

from genro_asgi._capabilities import UNKNOWN, ServerCapabilities, capabilities
from genro_asgi._handshake import (
    accept_message,
    check_close,
    close_message,
    denial_messages,
    encode_headers,
    valid_close_code,
)

DECLARED_20 = ServerCapabilities(accept_headers=False, close_reason=False, send_raises=False)


# -- capabilities ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec_version", "expected"),
    [
        ("2.0", (False, False, False)),
        ("2.0.1", (False, False, False)),
        ("2.1", (True, False, False)),
        ("2.2", (True, False, False)),
        ("2.3", (True, True, False)),
        ("2.4", (True, True, True)),
        ("2.10", (True, True, True)),
        ("3.0", (True, True, True)),
    ],
)
def test_a_declared_version_decides(spec_version: str, expected: tuple[bool, ...]) -> None:
    server = capabilities({"asgi": {"version": "3.0", "spec_version": spec_version}})
    assert (server.accept_headers, server.close_reason, server.send_raises) == expected


@pytest.mark.parametrize(
    "scope",
    [
        {},
        {"asgi": None},
        {"asgi": "3.0"},
        {"asgi": {"version": "3.0"}},
        {"asgi": {"spec_version": None}},
        {"asgi": {"spec_version": 2}},
        {"asgi": {"spec_version": "garbage"}},
        {"asgi": {"spec_version": "2"}},
        {"asgi": {"spec_version": "2.x"}},
        {"asgi": {"spec_version": "٢.٤"}},  # Arabic-Indic digits: not an ASGI version
    ],
)
def test_no_readable_version_is_an_unknown_server(scope: dict[str, Any]) -> None:
    """Headers and reason are sent, and receive-ahead stays on: nothing was promised."""
    assert capabilities(scope) is UNKNOWN
    assert (UNKNOWN.accept_headers, UNKNOWN.close_reason, UNKNOWN.send_raises) == (1, 1, 0)


def test_capabilities_are_cached_and_frozen() -> None:
    scope = {"asgi": {"spec_version": "2.3"}}
    assert capabilities(scope) is capabilities({"asgi": {"spec_version": "2.3"}})
    with pytest.raises(AttributeError):
        capabilities(scope).close_reason = False  # type: ignore[misc]


def test_made_up_versions_do_not_grow_the_cache() -> None:
    from genro_asgi import _capabilities

    for minor in range(200):
        capabilities({"asgi": {"spec_version": f"9.{minor}"}})
    assert len(_capabilities._KNOWN) <= 64


# -- close -------------------------------------------------------------------------------------


@pytest.mark.parametrize("code", [1000, 1003, 1007, 1014, 3000, 4999])
def test_valid_close_codes(code: int) -> None:
    assert valid_close_code(code)
    check_close(code, "")


@pytest.mark.parametrize("code", [999, 1004, 1005, 1006, 1015, 2999, 5000, True, 1000.0, "1000"])
def test_invalid_close_codes(code: Any) -> None:
    assert not valid_close_code(code)
    with pytest.raises(ValueError, match=r"^Close code must be .*\.$"):
        check_close(code, "")


@pytest.mark.parametrize("reason", ["é" * 62, b"x", None, "x" * 124])
def test_invalid_close_reasons(reason: Any) -> None:
    with pytest.raises(ValueError, match="123 UTF-8 bytes"):
        check_close(1000, reason)


def test_a_reason_of_123_bytes_fits() -> None:
    check_close(1000, "é" * 61 + "x")


@pytest.mark.parametrize(
    ("server", "expected"),
    [
        (UNKNOWN, {"type": "websocket.close", "code": 4001, "reason": "done"}),
        (DECLARED_20, {"type": "websocket.close", "code": 4001}),
    ],
)
def test_close_message(server: ServerCapabilities, expected: dict[str, Any]) -> None:
    assert close_message(4001, "done", server) == expected
    assert close_message(1000, "", UNKNOWN) == {"type": "websocket.close", "code": 1000}


# -- accept ------------------------------------------------------------------------------------


def test_accept_message_with_headers() -> None:
    message = accept_message("chat", {"X-A": "1", b"x-b": b"2"}, UNKNOWN)
    assert message == {
        "type": "websocket.accept",
        "subprotocol": "chat",
        "headers": [(b"x-a", b"1"), (b"x-b", b"2")],
    }


def test_accept_headers_on_a_declared_old_server() -> None:
    with pytest.raises(RuntimeError, match=r"2\.1"):
        accept_message(None, [("x-a", "1")], DECLARED_20)
    # Empty headers are nothing to send: fine on any server.
    assert accept_message(None, [], DECLARED_20) == {
        "type": "websocket.accept",
        "subprotocol": None,
    }


def test_repeated_header_names_are_kept() -> None:
    assert encode_headers([("Set-Cookie", "a=1"), ("set-cookie", "b=2")]) == [
        (b"set-cookie", b"a=1"),
        (b"set-cookie", b"b=2"),
    ]


@pytest.mark.parametrize(
    ("headers", "error", "match"),
    [
        ("x-a: 1", TypeError, "mapping or"),
        (b"x-a", TypeError, "mapping or"),
        (["ab"], TypeError, "pairs"),
        ([("a", "b", "c")], TypeError, "pairs"),
        ([(1, "b")], TypeError, "str or bytes"),
        ([("", "b")], ValueError, "empty"),
        ([("x-a", "\u20ac")], ValueError, "latin-1"),
        ([("x-a", "1\r\nx-b: 2")], ValueError, "CR, LF or NUL"),
        ([("x-a\0", "1")], ValueError, "CR, LF or NUL"),
        ({"Sec-WebSocket-Protocol": "chat"}, ValueError, "subprotocol argument"),
    ],
)
def test_bad_headers(headers: Any, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        encode_headers(headers)


# -- deny --------------------------------------------------------------------------------------


def test_denial_messages() -> None:
    assert denial_messages(401, {"WWW-Authenticate": "Bearer"}, b"no") == [
        {
            "type": "websocket.http.response.start",
            "status": 401,
            "headers": [(b"www-authenticate", b"Bearer")],
        },
        {"type": "websocket.http.response.body", "body": b"no"},
    ]


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (99, b"", ValueError),
        (600, b"", ValueError),
        (True, b"", ValueError),
        ("403", b"", ValueError),
        (403, "no", TypeError),
        (403, bytearray(b"no"), TypeError),
    ],
)
def test_bad_denials(status: Any, body: Any, error: type[Exception]) -> None:
    with pytest.raises(error, match=r"\.$"):
        denial_messages(status, None, body)
