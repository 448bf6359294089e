"""SPEC section 4: construction, accept(), deny(), close() and the state machine."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

import pytest

from genro_asgi.exceptions import WebSocketDisconnect
from genro_asgi.websocket import WebSocket, WebSocketState

from .transport import CONNECT, DROP, Transport, accepted, asgi, connection, disconnect, text

CONNECTING = WebSocketState.CONNECTING
CONNECTED = WebSocketState.CONNECTED
DISCONNECTED = WebSocketState.DISCONNECTED


def test_state_enum() -> None:
    assert issubclass(WebSocketState, int)
    assert [(s.name, int(s)) for s in WebSocketState] == [
        ("CONNECTING", 0),
        ("CONNECTED", 1),
        ("DISCONNECTED", 2),
    ]


# -- construction ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["http", "lifespan", "", None, "WebSocket"])
def test_constructor_rejects_other_scope_types(kind: Any) -> None:
    transport = Transport()
    with pytest.raises(ValueError, match="websocket"):
        WebSocket({"type": kind}, transport.receive, transport.send)


def test_constructor_rejects_scope_without_type() -> None:
    transport = Transport()
    with pytest.raises(ValueError, match="websocket"):
        WebSocket({}, transport.receive, transport.send)


def test_constructor_does_no_io_and_starts_connecting() -> None:
    ws, transport = connection(CONNECT)
    assert ws.connection_state is CONNECTING
    assert transport.receive_calls == 0
    assert transport.sent == []
    assert ws.close_code is None
    assert ws.close_reason is None
    assert ws.accepted_subprotocol is None


def test_minimal_scope_works() -> None:
    transport = Transport()
    ws = WebSocket({"type": "websocket"}, transport.receive, transport.send)
    assert ws.path == "/"
    assert ws.scheme == "ws"
    assert ws.client is None
    assert ws.subprotocols == ()
    assert len(ws.headers) == 0
    assert len(ws.query_params) == 0
    assert ws.cookies == {}
    assert ws.path_params == {}


def test_per_connection_object_has_slots() -> None:
    ws, _ = connection()
    with pytest.raises(AttributeError):
        ws.anything = 1  # type: ignore[attr-defined]


def test_repr_shows_path_and_state() -> None:
    ws, _ = connection(path="/room/1")
    assert repr(ws) == "<WebSocket '/room/1' CONNECTING>"


# -- accept ------------------------------------------------------------------------------------


async def test_accept_consumes_connect_and_sends_accept() -> None:
    ws, transport = connection(CONNECT)
    await ws.accept()
    assert transport.receive_calls == 1
    assert transport.sent == [{"type": "websocket.accept", "subprotocol": None}]
    assert ws.connection_state is CONNECTED
    assert ws.accepted_subprotocol is None


async def test_accept_with_an_offered_subprotocol() -> None:
    ws, transport = connection(CONNECT, subprotocols=["chat", "superchat"])
    assert ws.subprotocols == ("chat", "superchat")
    await ws.accept("superchat")
    assert transport.sent == [{"type": "websocket.accept", "subprotocol": "superchat"}]
    assert ws.accepted_subprotocol == "superchat"


@pytest.mark.parametrize(
    ("offered", "chosen"), [([], "chat"), (["chat"], "Chat"), (["chat"], ""), (["a", "b"], "c")]
)
async def test_accept_rejects_a_subprotocol_not_offered(offered: list[str], chosen: str) -> None:
    ws, transport = connection(CONNECT, subprotocols=offered)
    with pytest.raises(ValueError, match="not offered") as caught:
        await ws.accept(chosen)
    assert repr(chosen) in str(caught.value)
    assert transport.receive_calls == 0
    assert transport.sent == []
    assert ws.connection_state is CONNECTING
    await ws.accept()  # nothing was consumed: the handshake can still complete
    assert ws.connection_state is CONNECTED


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"X-Token": "abc"}, [(b"x-token", b"abc")]),
        ({b"X-Raw": b"\xff"}, [(b"x-raw", b"\xff")]),
        (
            [("Set-Cookie", "a=1"), ("set-cookie", "b=2")],
            [(b"set-cookie", b"a=1"), (b"set-cookie", b"b=2")],
        ),
        (((b"X-A", "1"), ("x-b", b"2")), [(b"x-a", b"1"), (b"x-b", b"2")]),
        (iter([("X-Gen", "caf\xe9")]), [(b"x-gen", b"caf\xe9")]),
        ({"x-empty": ""}, [(b"x-empty", b"")]),
    ],
)
async def test_accept_headers(headers: Any, expected: list[tuple[bytes, bytes]]) -> None:
    ws, transport = connection(CONNECT)
    await ws.accept(headers=headers)
    assert transport.sent == [
        {"type": "websocket.accept", "subprotocol": None, "headers": expected}
    ]


CRLF = "CR, LF or NUL"
BAD_HEADERS = [
    ({"x-a": "1\r\n"}, CRLF),
    ({"x-a": "1\nx-b: 2"}, CRLF),
    ({"x-a": "a\rb"}, CRLF),
    ({"x-a": "nul\0"}, CRLF),
    ({"x-a\r": "1"}, CRLF),
    ({"x\nb": "1"}, CRLF),
    ({b"x\0": b"1"}, CRLF),
    ({"x-a": b"1\r\n"}, CRLF),
    ({"Sec-WebSocket-Protocol": "chat"}, "subprotocol"),
    ({b"sec-websocket-protocol": b"chat"}, "subprotocol"),
    ([("x-ok", "1"), ("SEC-WEBSOCKET-PROTOCOL", "chat")], "subprotocol"),
    ({"": "1"}, "empty"),
    ({"x-euro": "\u20ac"}, "latin-1"),
]


@pytest.mark.parametrize(("headers", "match"), BAD_HEADERS)
async def test_accept_rejects_bad_headers_before_any_io(headers: Any, match: str) -> None:
    ws, transport = connection(CONNECT, subprotocols=["chat"])
    with pytest.raises(ValueError, match=match):
        await ws.accept(headers=headers)
    assert transport.receive_calls == 0
    assert transport.sent == []
    assert ws.connection_state is CONNECTING


@pytest.mark.parametrize("headers", [{1: "x"}, {"x": 1}, [("x", None)]])
async def test_accept_rejects_headers_of_wrong_type(headers: Any) -> None:
    ws, transport = connection(CONNECT)
    with pytest.raises(TypeError):
        await ws.accept(headers=headers)
    assert transport.sent == []


@pytest.mark.parametrize(
    ("headers", "named"),
    [
        (["ab"], "'ab'"),  # must not be taken as the pair ("a", "b")
        ([b"ab"], "b'ab'"),
        ([("x-a", "1", "2")], "('x-a', '1', '2')"),
        ([("x-a",)], "('x-a',)"),
        ([None], "None"),
        ("x-a: 1", "'x-a: 1'"),
        (b"xy", "b'xy'"),
    ],
)
@pytest.mark.parametrize("method", ["accept", "deny"])
async def test_headers_must_be_pairs(headers: Any, named: str, method: str) -> None:
    ws, transport = connection(CONNECT)
    with pytest.raises(TypeError, match="pairs") as caught:
        await getattr(ws, method)(headers=headers)
    assert named in str(caught.value)
    assert transport.sent == []
    assert transport.receive_calls == 0
    assert ws.connection_state is CONNECTING


@pytest.mark.parametrize("spec", ["2.0", "2.0.1"])
async def test_accept_headers_need_spec_2_1(spec: str) -> None:
    """Only a server that *declared* a spec below 2.1 refuses accept headers."""
    ws, transport = connection(CONNECT, asgi=asgi(spec))
    with pytest.raises(RuntimeError, match=r"2\.1"):
        await ws.accept(headers={"x-a": "1"})
    assert transport.receive_calls == 0
    assert transport.sent == []
    assert ws.connection_state is CONNECTING


@pytest.mark.parametrize(
    "scope",
    [
        {"asgi": DROP},
        {"asgi": None},
        {"asgi": {"spec_version": "garbage"}},
        {"asgi": {"spec_version": 2}},
    ],
)
async def test_unknown_spec_version_sends_accept_headers(scope: dict[str, Any]) -> None:
    """No readable spec_version is a server of unknown spec, not a proven 2.0 one (SPEC 4)."""
    ws, transport = connection(CONNECT, **scope)
    await ws.accept(headers={"x-a": "1"})
    assert transport.sent[0]["headers"] == [(b"x-a", b"1")]


@pytest.mark.parametrize("spec", ["2.1", "2.3", "2.4", "2.10", "3.0"])
async def test_accept_headers_on_spec_2_1_and_later(spec: str) -> None:
    ws, transport = connection(CONNECT, asgi=asgi(spec))
    await ws.accept(headers={"x-a": "1"})
    assert transport.sent[0]["headers"] == [(b"x-a", b"1")]


@pytest.mark.parametrize("headers", [{}, []])
async def test_accept_empty_headers_work_on_any_server(headers: Any) -> None:
    ws, transport = connection(CONNECT, asgi=asgi(None))
    await ws.accept(headers=headers)
    assert transport.sent == [{"type": "websocket.accept", "subprotocol": None}]


async def test_accept_twice_is_an_error() -> None:
    ws, transport = await accepted()
    with pytest.raises(RuntimeError, match="CONNECTED"):
        await ws.accept()
    assert transport.receive_calls == 1
    assert len(transport.sent) == 1


@pytest.mark.parametrize(
    ("message", "code", "reason"),
    [(disconnect(1001, "gone"), 1001, "gone"), (disconnect(None), 1005, "")],
)
async def test_accept_when_client_already_left(
    message: dict[str, Any], code: int, reason: str
) -> None:
    ws, transport = connection(message)
    with pytest.raises(WebSocketDisconnect) as caught:
        await ws.accept()
    assert (caught.value.code, caught.value.reason) == (code, reason)
    assert ws.connection_state is DISCONNECTED
    assert (ws.close_code, ws.close_reason) == (code, reason)
    assert transport.sent == []
    for action in (ws.send_text("x"), ws.receive_text()):
        with pytest.raises(WebSocketDisconnect) as again:
            await action
        assert (again.value.code, again.value.reason) == (code, reason)
    assert transport.receive_calls == 1
    with pytest.raises(RuntimeError):
        await ws.accept()
    await ws.close()  # idempotent once disconnected
    assert transport.sent == []


@pytest.mark.parametrize("kind", ["websocket.receive", "http.request", "lifespan.startup"])
async def test_accept_rejects_an_unexpected_first_message(kind: str) -> None:
    ws, transport = connection({"type": kind})
    with pytest.raises(RuntimeError, match=kind):
        await ws.accept()
    assert transport.sent == []


async def test_accept_send_oserror_becomes_disconnect_1006() -> None:
    ws, transport = connection(CONNECT)
    transport.send_error = ConnectionResetError("peer gone")
    with pytest.raises(WebSocketDisconnect) as caught:
        await ws.accept()
    assert caught.value.code == 1006
    assert ws.connection_state is DISCONNECTED
    assert ws.close_code == 1006
    assert ws.accepted_subprotocol is None


# -- deny --------------------------------------------------------------------------------------


async def test_deny_with_the_http_response_extension() -> None:
    ws, transport = connection(CONNECT)
    result = await ws.deny(401, {"WWW-Authenticate": "Bearer"}, b"no token")
    assert result is True
    assert transport.sent == [
        {
            "type": "websocket.http.response.start",
            "status": 401,
            "headers": [(b"www-authenticate", b"Bearer")],
        },
        {"type": "websocket.http.response.body", "body": b"no token"},
    ]
    assert ws.connection_state is DISCONNECTED
    assert ws.close_code == 1006
    assert transport.receive_calls == 0


async def test_deny_defaults() -> None:
    ws, transport = connection(CONNECT)
    assert await ws.deny() is True
    assert transport.sent[0] == {
        "type": "websocket.http.response.start",
        "status": 403,
        "headers": [],
    }
    assert transport.sent[1] == {"type": "websocket.http.response.body", "body": b""}


@pytest.mark.parametrize("extensions", [DROP, None, {}, {"websocket.other": {}}])
async def test_deny_falls_back_to_close(extensions: Any) -> None:
    ws, transport = connection(CONNECT, extensions=extensions)
    result = await ws.deny(404, {"x": "1"}, b"ignored")
    assert result is False
    assert transport.sent_types == ["websocket.close"]
    assert ws.connection_state is DISCONNECTED


@pytest.mark.parametrize("status", [99, 600, 0, -403, True, "403", 403.0, None])
async def test_deny_rejects_a_bad_status(status: Any) -> None:
    ws, transport = connection(CONNECT)
    with pytest.raises(ValueError, match="status"):
        await ws.deny(status)
    assert transport.sent == []
    assert ws.connection_state is CONNECTING


@pytest.mark.parametrize("status", [100, 200, 403, 599])
async def test_deny_status_boundaries(status: int) -> None:
    ws, transport = connection(CONNECT)
    assert await ws.deny(status) is True
    assert transport.sent[0]["status"] == status


@pytest.mark.parametrize("body", ["text", bytearray(b"x"), None])
async def test_deny_body_must_be_bytes(body: Any) -> None:
    ws, transport = connection(CONNECT)
    with pytest.raises(TypeError, match="bytes"):
        await ws.deny(body=body)
    assert transport.sent == []


@pytest.mark.parametrize(("headers", "match"), BAD_HEADERS)
async def test_deny_validates_headers(headers: Any, match: str) -> None:
    ws, transport = connection(CONNECT)
    with pytest.raises(ValueError, match=match):
        await ws.deny(headers=headers)
    assert transport.sent == []
    assert ws.connection_state is CONNECTING


async def test_deny_only_from_connecting() -> None:
    ws, _ = await accepted()
    with pytest.raises(RuntimeError, match="deny"):
        await ws.deny()
    assert ws.connection_state is CONNECTED
    ws2, _ = connection(CONNECT)
    await ws2.deny()
    with pytest.raises(RuntimeError):
        await ws2.deny()
    with pytest.raises(RuntimeError):
        await ws2.accept()


async def test_after_deny() -> None:
    ws, transport = connection(CONNECT)
    await ws.deny()
    sent = len(transport.sent)
    await ws.close()  # idempotent
    assert len(transport.sent) == sent
    with pytest.raises(RuntimeError):
        await ws.send_text("x")
    with pytest.raises(RuntimeError):
        await ws.receive_text()
    assert transport.receive_calls == 0


@pytest.mark.parametrize("extensions", [{"websocket.http.response": {}}, {}])
async def test_deny_swallows_oserror(extensions: dict[str, Any]) -> None:
    ws, transport = connection(CONNECT, extensions=extensions)
    transport.send_error = BrokenPipeError()
    await ws.deny()
    assert ws.connection_state is DISCONNECTED
    assert ws.close_code == 1006


# -- close -------------------------------------------------------------------------------------


async def test_close_defaults() -> None:
    ws, transport = await accepted()
    await ws.close()
    assert transport.sent[1:] == [{"type": "websocket.close", "code": 1000}]
    assert ws.connection_state is DISCONNECTED
    assert (ws.close_code, ws.close_reason) == (1000, "")


async def test_close_with_code_and_reason() -> None:
    ws, transport = await accepted()
    await ws.close(4001, reason="bad token")
    assert transport.sent[1:] == [{"type": "websocket.close", "code": 4001, "reason": "bad token"}]
    assert (ws.close_code, ws.close_reason) == (4001, "bad token")


async def test_close_is_idempotent() -> None:
    ws, transport = await accepted()
    await ws.close(1001)
    await ws.close()
    await ws.close(4000, "again")
    assert transport.sent_types == ["websocket.accept", "websocket.close"]
    assert ws.close_code == 1001


async def test_close_after_client_disconnect_sends_nothing() -> None:
    ws, transport = await accepted(disconnect(1001, "bye"))
    with pytest.raises(WebSocketDisconnect):
        await ws.receive_text()
    await ws.close(1000)
    assert transport.sent_types == ["websocket.accept"]
    assert (ws.close_code, ws.close_reason) == (1001, "bye")


async def test_close_in_connecting_points_to_deny() -> None:
    ws, transport = connection(CONNECT)
    with pytest.raises(RuntimeError, match=r"deny\(\)"):
        await ws.close()
    assert transport.sent == []
    assert ws.connection_state is CONNECTING


VALID_CODES = [1000, 1001, 1002, 1003, 1007, 1008, 1011, 1014, 3000, 3999, 4000, 4999]
INVALID_CODES = [0, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000, 65535, -1]


@pytest.mark.parametrize("code", VALID_CODES)
async def test_close_accepts_valid_codes(code: int) -> None:
    ws, transport = await accepted()
    await ws.close(code)
    assert transport.sent[-1] == {"type": "websocket.close", "code": code}
    assert ws.close_code == code


@pytest.mark.parametrize("code", [*INVALID_CODES, True, False, 1000.0, "1000", None])
async def test_close_rejects_invalid_codes(code: Any) -> None:
    ws, transport = await accepted()
    with pytest.raises(ValueError, match="1000-1003, 1007-1014 or 3000-4999"):
        await ws.close(code)
    assert transport.sent_types == ["websocket.accept"]
    assert ws.connection_state is CONNECTED
    assert ws.close_code is None


@pytest.mark.parametrize(
    "reason",
    ["a" * 123, "é" * 61 + "a", "€" * 41, "😀" * 30 + "abc", "", "ok"],
)
async def test_close_reason_up_to_123_utf8_bytes(reason: str) -> None:
    assert len(reason.encode()) <= 123
    ws, transport = await accepted()
    await ws.close(1000, reason)
    assert transport.sent[-1].get("reason", "") == reason
    assert ws.close_reason == reason


@pytest.mark.parametrize("reason", ["a" * 124, "é" * 62, "€" * 41 + "a", "😀" * 31, "a" * 1000])
async def test_close_reason_over_123_utf8_bytes(reason: str) -> None:
    assert len(reason.encode()) > 123
    ws, transport = await accepted()
    with pytest.raises(ValueError, match="123"):
        await ws.close(1000, reason)
    assert transport.sent_types == ["websocket.accept"]
    assert ws.connection_state is CONNECTED


@pytest.mark.parametrize("reason", [b"bytes", None, 1])
async def test_close_reason_must_be_str(reason: Any) -> None:
    ws, transport = await accepted()
    with pytest.raises(ValueError, match="reason"):
        await ws.close(1000, reason)
    assert transport.sent_types == ["websocket.accept"]


@pytest.mark.parametrize(
    ("spec", "sent_reason"),
    [(None, True), ("2.0", False), ("2.2", False), ("2.3", True), ("2.4", True), ("2.10", True)],
)
async def test_close_reason_needs_spec_2_3(spec: str | None, sent_reason: bool) -> None:
    ws, transport = await accepted(asgi=asgi(spec))
    await ws.close(4000, "why")
    expected: dict[str, Any] = {"type": "websocket.close", "code": 4000}
    if sent_reason:
        expected["reason"] = "why"
    assert transport.sent[-1] == expected
    assert (ws.close_code, ws.close_reason) == (4000, "why")


async def test_daphne_like_scope_without_spec_version() -> None:
    """daphne (and the test clients) give no spec_version: headers and reason are sent."""
    scope = {"asgi": {"version": "3.0"}, "extensions": DROP, "raw_path": DROP}
    ws, transport = connection(CONNECT, **scope)
    await ws.accept(headers=[("x-a", "1")])
    await ws.close(1000, "done")
    assert transport.sent == [
        {"type": "websocket.accept", "subprotocol": None, "headers": [(b"x-a", b"1")]},
        {"type": "websocket.close", "code": 1000, "reason": "done"},
    ]


async def test_close_oserror_is_not_raised_and_code_becomes_1006() -> None:
    ws, transport = await accepted()
    transport.send_error = OSError("gone")
    await ws.close(4000, "x")
    assert ws.connection_state is DISCONNECTED
    assert (ws.close_code, ws.close_reason) == (1006, "")


async def test_close_other_errors_propagate_but_state_is_disconnected() -> None:
    ws, transport = await accepted()
    transport.send_error = KeyError("server bug")
    with pytest.raises(KeyError):
        await ws.close()
    assert ws.connection_state is DISCONNECTED


def every_io_call(ws: WebSocket) -> list[Coroutine[Any, Any, Any]]:
    """One call of each ``send_*``/``receive_*`` method, not yet awaited."""
    return [
        ws.send_text("x"),
        ws.send_bytes(b"x"),
        ws.send_json({}),
        ws.receive_text(),
        ws.receive_bytes(),
        ws.receive_data(),
        ws.receive_json(),
    ]


async def test_use_after_close_is_a_runtime_error() -> None:
    ws, transport = await accepted(text("late"))
    await ws.close()
    for action in every_io_call(ws):
        with pytest.raises(RuntimeError, match="close"):
            await action
    assert transport.receive_calls == 1
    assert transport.sent_types == ["websocket.accept", "websocket.close"]


async def test_use_before_accept_is_a_runtime_error() -> None:
    ws, transport = connection(CONNECT, text("early"))
    for action in every_io_call(ws):
        with pytest.raises(RuntimeError, match="accept"):
            await action
    assert transport.receive_calls == 0
    assert transport.sent == []


async def test_full_lifecycle_states() -> None:
    ws, transport = connection(CONNECT, text("hi"))
    assert ws.connection_state is CONNECTING
    await ws.accept()
    assert ws.connection_state is CONNECTED
    assert await ws.receive_text() == "hi"
    await ws.send_text("yo")
    assert ws.connection_state is CONNECTED
    await ws.close()
    assert ws.connection_state is DISCONNECTED
    assert transport.sent_types == ["websocket.accept", "websocket.send", "websocket.close"]


def _allowed(code: int) -> bool:
    return 1000 <= code <= 1003 or 1007 <= code <= 1014 or 3000 <= code <= 4999


async def test_close_code_validation_exhaustive() -> None:
    for code in [*range(-2, 5010), 65535, 2**31]:
        ws, transport = await accepted()
        if _allowed(code):
            await ws.close(code)
            assert transport.sent[-1] == {"type": "websocket.close", "code": code}
        else:
            with pytest.raises(ValueError, match=str(code)):
                await ws.close(code)
            assert ws.connection_state is CONNECTED


@pytest.mark.parametrize("char", ["a", "é", "€", "😀"])
async def test_close_reason_length_exhaustive(char: str) -> None:
    width = len(char.encode())
    for count in range(130 // width + 2):
        reason = char * count
        ws, transport = await accepted()
        if count * width <= 123:
            await ws.close(1000, reason)
            assert transport.sent[-1].get("reason", "") == reason
        else:
            with pytest.raises(ValueError, match="123"):
                await ws.close(1000, reason)


async def test_state_changes_before_the_close_message_is_sent() -> None:
    ws, transport = await accepted()
    transport.send_gate = asyncio.Event()
    closing = asyncio.create_task(ws.close(4000, "bye"))
    await asyncio.sleep(0)  # close() is now waiting inside the server's send()
    assert ws.connection_state is DISCONNECTED
    assert (ws.close_code, ws.close_reason) == (4000, "bye")
    with pytest.raises(RuntimeError, match="close"):
        await ws.send_text("too late")
    await ws.close()  # a concurrent second close() is a no-op
    transport.send_gate.set()
    await closing
    assert transport.sent_types == ["websocket.accept", "websocket.close"]


async def test_close_reason_not_encodable_as_utf8() -> None:
    ws, transport = await accepted()
    with pytest.raises(ValueError, match=r"(?i)surrogate|utf-8|reason"):
        await ws.close(1000, "\ud800")
    assert transport.sent_types == ["websocket.accept"]
    assert ws.connection_state is CONNECTED
