"""genro_asgi.testing: in-process sessions against genro-asgi apps and raw ASGI apps."""

from __future__ import annotations

import asyncio
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from genro_asgi import WebSocket, WebSocketDisconnect
from genro_asgi.testing import (
    DEFAULT_TIMEOUT,
    WebSocketDenied,
    WebSocketTestSession,
    build_scope,
    connect,
)
from genro_asgi.types import Message, Receive, Scope, Send

SHORT = 0.05  # seconds: the timeout used where a test expects the app to stay silent


def leftover_tasks() -> set[asyncio.Task[Any]]:
    return asyncio.all_tasks() - {asyncio.current_task()}  # type: ignore[operator]


async def echo(scope: Scope, receive: Receive, send: Send) -> None:
    """Echo every frame with its kind kept; "close" closes with 4001/"asked"."""
    ws = WebSocket(scope, receive, send)
    offered = ws.subprotocols
    await ws.accept(subprotocol=offered[-1] if offered else None, headers={"x-echo": "yes"})
    while True:
        try:
            data = await ws.receive_data()
        except WebSocketDisconnect:
            return
        if data == "close":
            await ws.close(4001, "asked")
            return
        if isinstance(data, str):
            await ws.send_text(data)
        else:
            await ws.send_bytes(data)


class Recorder:
    """An app that records its WebSocket, so a test can look at it after the session."""

    def __init__(self) -> None:
        self.ws: WebSocket | None = None
        self.finished = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.ws = WebSocket(scope, receive, send)
        await self.ws.accept()
        async for _ in self.ws:
            pass
        self.finished = True


def raw_app(*messages: Message, then_receive: bool = True) -> Any:
    """A raw ASGI app: receive websocket.connect, send ``messages``, optionally wait."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        assert (await receive())["type"] == "websocket.connect"
        for message in messages:
            await send(message)
        if then_receive:
            await receive()

    return app


# -- exchanging frames -------------------------------------------------------------------------


async def test_text_bytes_and_json_round_trip() -> None:
    async with connect(echo, "/echo") as session:
        await session.send_text("héllo")
        assert await session.receive_text() == "héllo"
        await session.send_bytes(b"\x00\xff")
        assert await session.receive_bytes() == b"\x00\xff"
        await session.send_bytes(bytearray(b"ba"))
        assert await session.receive_data() == b"ba"
        await session.send_json({"a": [1, 2], "b": "ü"})
        assert await session.receive_json() == {"a": [1, 2], "b": "ü"}
        await session.send_json([True, None], mode="binary")
        assert await session.receive_json(mode="binary") == [True, None]
        await session.send_text("")
        assert await session.receive_text() == ""


async def test_typed_round_trip_keeps_decimal_and_date() -> None:
    pytest.importorskip("genro_tytx")
    data = {"amount": Decimal("12.50"), "due": date(2025, 1, 2), "note": "x"}
    async with connect(echo) as session:
        await session.send_typed(data)
        assert await session.receive_typed() == data


async def test_app_sees_typed_values_sent_by_the_session() -> None:
    pytest.importorskip("genro_tytx")
    seen: list[Any] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        ws = WebSocket(scope, receive, send)
        await ws.accept()
        seen.append(await ws.receive_typed())
        await ws.send_typed({"total": seen[0]["amount"] * 2})

    async with connect(app) as session:
        await session.send_typed({"amount": Decimal("1.25")})
        assert await session.receive_typed() == {"total": Decimal("2.50")}
    assert seen == [{"amount": Decimal("1.25")}]


async def test_frame_kind_mismatch_raises_type_error_naming_the_other_method() -> None:
    async with connect(echo) as session:
        await session.send_bytes(b"bin")
        with pytest.raises(TypeError, match=r"receive_bytes\(\)"):
            await session.receive_text()
        await session.send_text("txt")
        with pytest.raises(TypeError, match=r"receive_text\(\)"):
            await session.receive_bytes()


async def test_wrong_payload_types_and_modes_are_rejected() -> None:
    async with connect(echo) as session:
        with pytest.raises(TypeError, match="send_bytes"):
            await session.send_text(b"x")  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="send_text"):
            await session.send_bytes("x")  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="mode"):
            await session.send_json({}, mode="xml")
        with pytest.raises(ValueError, match="mode"):
            await session.receive_json(mode="xml")


# -- the scope -----------------------------------------------------------------------------------


async def test_scope_is_what_a_server_builds() -> None:
    app = Recorder()
    async with connect(
        app,
        "/chat/r%C3%A9union?room=1&nick=ann",
        subprotocols=["v1", "v2"],
        headers={"Cookie": "sid=abc", "X-Trace": "7"},
    ) as session:
        assert app.ws is not None
        scope = app.ws.scope
        assert session.scope is scope
        assert scope["type"] == "websocket"
        assert scope["asgi"] == {"version": "3.0", "spec_version": "2.4"}
        assert scope["scheme"] == "ws"
        assert scope["path"] == "/chat/réunion"
        assert scope["raw_path"] == b"/chat/r%C3%A9union"
        assert scope["query_string"] == b"room=1&nick=ann"
        assert scope["root_path"] == ""
        assert scope["client"] == ("127.0.0.1", 50000)
        assert scope["server"] == ("127.0.0.1", 80)
        assert scope["subprotocols"] == ["v1", "v2"]
        assert scope["extensions"] == {"websocket.http.response": {}}
        ws = app.ws
        assert ws.headers["host"] == "127.0.0.1"
        assert ws.headers["upgrade"] == "websocket"
        assert ws.headers["sec-websocket-version"] == "13"
        assert ws.headers["sec-websocket-protocol"] == "v1, v2"
        assert ws.headers["x-trace"] == "7"
        assert ws.cookies == {"sid": "abc"}
        assert ws.query_params["nick"] == "ann"
        assert ws.client == ("127.0.0.1", 50000)
        assert str(ws.url) == "ws://127.0.0.1/chat/r%C3%A9union?room=1&nick=ann"


def test_scope_from_a_full_url_sets_server_and_host() -> None:
    scope = build_scope("wss://[::1]:8443/a b?q=ü", root_path="/api")
    assert scope["scheme"] == "wss"
    assert scope["server"] == ("::1", 8443)
    assert (b"host", b"[::1]:8443") in scope["headers"]
    assert scope["path"] == "/api/a b"
    assert scope["raw_path"] == b"/api/a%20b"
    assert scope["query_string"] == b"q=%C3%BC"
    assert scope["root_path"] == "/api"


def test_scope_host_header_given_by_the_test_replaces_the_default() -> None:
    scope = build_scope("/", headers=[(b"Host", b"example.com"), ("x-a", "1"), ("x-a", "2")])
    hosts = [value for name, value in scope["headers"] if name == b"host"]
    assert hosts == [b"example.com"]
    assert [v for n, v in scope["headers"] if n == b"x-a"] == [b"1", b"2"]
    assert b"sec-websocket-protocol" not in dict(scope["headers"])


def test_scope_rejects_other_schemes() -> None:
    with pytest.raises(ValueError, match="ws or wss"):
        build_scope("http://127.0.0.1/")


# -- the handshake ---------------------------------------------------------------------------


async def test_accepted_subprotocol_and_accept_headers_are_visible() -> None:
    async with connect(echo, subprotocols=["a", "b"]) as session:
        assert session.accepted_subprotocol == "b"
        assert session.accept_headers["x-echo"] == "yes"
    async with connect(echo) as session:
        assert session.accepted_subprotocol is None


async def test_deny_with_http_response_carries_status_headers_and_body() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        ws = WebSocket(scope, receive, send)
        assert await ws.deny(401, headers={"www-authenticate": "Bearer"}, body=b"no token")

    with pytest.raises(WebSocketDenied) as info:
        async with connect(app):
            pytest.fail("the block must not run when the app denies")  # pragma: no cover
    denied = info.value
    assert denied.status == 401
    assert denied.headers["www-authenticate"] == "Bearer"
    assert denied.body == b"no token"
    assert str(denied) == "The app denied the WebSocket handshake with HTTP 401: b'no token'"
    assert not leftover_tasks()


async def test_deny_body_in_several_parts_is_joined() -> None:
    app = raw_app(
        {"type": "websocket.http.response.start", "status": 429, "headers": []},
        {"type": "websocket.http.response.body", "body": b"slow ", "more_body": True},
        {"type": "websocket.http.response.body", "body": b"down"},
    )
    with pytest.raises(WebSocketDenied) as info:
        async with connect(app):
            pass  # pragma: no cover
    assert (info.value.status, info.value.body) == (429, b"slow down")
    assert len(info.value.headers) == 0


async def test_deny_without_the_extension_is_a_403() -> None:
    disconnect: list[Message] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        ws = WebSocket(scope, receive, send)
        assert not await ws.deny(401, body=b"ignored")
        disconnect.extend([await receive(), await receive()])  # deny() leaves connect queued

    with pytest.raises(WebSocketDenied) as info:
        async with connect(app, extensions={}):
            pass  # pragma: no cover
    assert (info.value.status, info.value.body) == (403, b"")
    assert str(info.value) == "The app denied the WebSocket handshake with HTTP 403"
    assert disconnect == [
        {"type": "websocket.connect"},
        {"type": "websocket.disconnect", "code": 1006, "reason": ""},
    ]


async def test_raw_close_before_accept_is_a_403() -> None:
    with pytest.raises(WebSocketDenied) as info:
        async with connect(raw_app({"type": "websocket.close", "code": 1000})):
            pass  # pragma: no cover
    assert info.value.status == 403


async def test_app_returning_without_a_handshake_is_reported() -> None:
    with pytest.raises(RuntimeError, match="without accepting or denying"):
        async with connect(raw_app(then_receive=False)):
            pass  # pragma: no cover


async def test_app_returning_in_the_middle_of_its_response_is_reported() -> None:
    app = raw_app(
        {"type": "websocket.http.response.start", "status": 400},
        {"type": "websocket.http.response.body", "body": b"a", "more_body": True},
        then_receive=False,
    )
    with pytest.raises(RuntimeError, match="middle of its HTTP response"):
        async with connect(app):
            pass  # pragma: no cover


async def test_handshake_timeout_fails_instead_of_hanging() -> None:
    async def silent(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await asyncio.Event().wait()

    with pytest.raises(TimeoutError, match="handshake"):
        async with connect(silent, timeout=SHORT):
            pass  # pragma: no cover
    assert not leftover_tasks()


# -- exceptions raised by the app ------------------------------------------------------------


async def test_exception_before_accept_surfaces() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        raise LookupError("no such room")

    with pytest.raises(LookupError, match="no such room"):
        async with connect(app):
            pass  # pragma: no cover


async def test_exception_after_accept_surfaces_in_receive() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        ws = WebSocket(scope, receive, send)
        await ws.accept()
        await ws.receive_text()
        raise ZeroDivisionError("bad input")

    async with connect(app) as session:
        await session.send_text("x")
        with pytest.raises(ZeroDivisionError, match="bad input"):
            await session.receive_text()


async def test_exception_surfaces_in_the_next_send() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        ws = WebSocket(scope, receive, send)
        await ws.accept()
        await ws.receive_text()
        raise KeyError("boom")

    async with connect(app) as session:
        await session.send_text("one")
        await asyncio.sleep(0)
        with pytest.raises(KeyError, match="boom"):
            await session.send_text("two")


async def test_exception_surfaces_when_the_block_ends() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        ws = WebSocket(scope, receive, send)
        await ws.accept()
        await ws.receive_text()
        raise ValueError("late failure")

    with pytest.raises(ValueError, match="late failure"):
        async with connect(app) as session:
            await session.send_text("x")


async def test_disconnect_the_client_caused_is_not_an_error() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        ws = WebSocket(scope, receive, send)
        await ws.accept()
        while True:  # the WebSocketDisconnect from the client's close ends the app
            await ws.receive_text()

    async with connect(app) as session:
        await session.send_text("x")
    assert not leftover_tasks()


async def test_protocol_violations_of_a_raw_app_surface() -> None:
    cases = [
        ([{"type": "websocket.send", "text": "early"}], "before the handshake"),
        ([{"type": "websocket.http.response.start", "status": 400}], "extension"),
        (
            [
                {"type": "websocket.http.response.start", "status": 400},
                {"type": "websocket.send", "text": "x"},
            ],
            "during its HTTP response",
        ),
        (
            [{"type": "websocket.accept"}, {"type": "websocket.send", "text": "a", "bytes": b"b"}],
            "exactly one",
        ),
        ([{"type": "websocket.accept"}, {"type": "websocket.accept"}], "on an open WebSocket"),
    ]

    async def run(messages: list[Message], extensions: dict[str, Any] | None) -> None:
        async with connect(raw_app(*messages), extensions=extensions) as session:
            await session.receive_data()
            await session.receive_data()

    for messages, error in cases:
        with pytest.raises(RuntimeError, match=error):
            await run(messages, {} if error == "extension" else None)


async def test_send_after_the_app_closed_surfaces_when_the_block_ends() -> None:
    app = raw_app(
        {"type": "websocket.accept"},
        {"type": "websocket.close"},
        {"type": "websocket.send", "text": "x"},
    )

    async def run() -> None:
        async with connect(app) as session:
            with pytest.raises(WebSocketDisconnect):
                await session.receive_data()

    with pytest.raises(RuntimeError, match="after the connection was closed"):
        await run()


# -- receive timeout ---------------------------------------------------------------------------


async def test_receive_timeout_fails_instead_of_hanging() -> None:
    async with connect(echo, timeout=SHORT) as session:
        assert session.timeout == SHORT
        with pytest.raises(TimeoutError, match=r"sent nothing within 0\.05 s"):
            await session.receive_text()
        await session.send_text("still works")
        assert await session.receive_text() == "still works"


def test_default_timeout_is_five_seconds() -> None:
    assert DEFAULT_TIMEOUT == 5.0


# -- closing -----------------------------------------------------------------------------------


async def test_app_close_is_seen_with_code_and_reason() -> None:
    async with connect(echo) as session:
        await session.send_text("hi")
        await session.send_text("close")
        assert await session.receive_text() == "hi"  # frames sent before the close arrive first
        with pytest.raises(WebSocketDisconnect) as info:
            await session.receive_text()
        assert (info.value.code, info.value.reason) == (4001, "asked")
        assert (session.close_code, session.close_reason) == (4001, "asked")
        with pytest.raises(WebSocketDisconnect, match="4001: asked"):
            await session.receive_bytes()
        with pytest.raises(WebSocketDisconnect, match="4001"):
            await session.send_text("too late")


async def test_send_after_the_app_closed_but_before_reading_its_close_is_dropped() -> None:
    async with connect(echo) as session:
        await session.send_text("close")
        await session.send_text("ignored")  # the app is gone; a client would not notice yet
        with pytest.raises(WebSocketDisconnect):
            await session.receive_text()


async def test_raw_app_close_without_code_means_1000() -> None:
    app = raw_app({"type": "websocket.accept"}, {"type": "websocket.close"})
    async with connect(app) as session:
        with pytest.raises(WebSocketDisconnect) as info:
            await session.receive_data()
        assert (info.value.code, info.value.reason) == (1000, "")


async def test_client_close_reaches_the_app_with_code_and_reason() -> None:
    app = Recorder()
    async with connect(app) as session:
        await session.send_text("x")
        await session.close(4321, "going home")
        assert app.ws is not None
        assert (app.ws.close_code, app.ws.close_reason) == (4321, "going home")
        await session.close(1000)  # idempotent
        with pytest.raises(RuntimeError, match=r"after close\(\)"):
            await session.send_text("x")
        with pytest.raises(RuntimeError, match=r"after close\(\)"):
            await session.receive_text()
    assert app.finished


async def test_leaving_the_block_closes_with_1000() -> None:
    app = Recorder()
    async with connect(app):
        pass
    assert app.ws is not None
    assert app.ws.close_code == 1000
    assert not leftover_tasks()


async def test_app_sending_after_the_client_left_gets_1006() -> None:
    outcome: list[int] = []

    async def ticker(scope: Scope, receive: Receive, send: Send) -> None:
        ws = WebSocket(scope, receive, send)
        await ws.accept()
        try:
            for n in range(1000):
                await ws.send_text(str(n))
                await asyncio.sleep(0)
        except WebSocketDisconnect as exc:
            outcome.append(exc.code)

    async with connect(ticker) as session:
        assert await session.receive_text() == "0"
    assert outcome == [1006]


async def test_app_that_ignores_the_disconnect_is_cancelled() -> None:
    cancelled: list[bool] = []

    async def stubborn(scope: Scope, receive: Receive, send: Send) -> None:
        ws = WebSocket(scope, receive, send)
        await ws.accept()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    async with connect(stubborn, timeout=SHORT):
        pass
    assert cancelled == [True]
    assert not leftover_tasks()


async def test_app_returning_without_closing_is_reported_on_receive() -> None:
    async with connect(raw_app({"type": "websocket.accept"}, then_receive=False)) as session:
        with pytest.raises(RuntimeError, match="returned without closing"):
            await session.receive_text()


async def test_failure_in_the_block_cancels_the_app_and_propagates() -> None:
    app = Recorder()
    with pytest.raises(AssertionError, match="test failed"):
        async with connect(app):
            raise AssertionError("test failed")
    assert not leftover_tasks()
    assert app.ws is not None
    assert app.ws.close_code in (1006, None)  # vanished client, or cancelled before it noticed


async def test_failure_after_close_keeps_the_close_code() -> None:
    app = Recorder()

    async def run() -> None:
        async with connect(app) as session:
            await session.close(4000, "done")
            raise AssertionError("after close")

    with pytest.raises(AssertionError, match="after close"):
        await run()
    assert app.ws is not None
    assert app.ws.close_code == 4000


async def test_many_sessions_share_one_app_instance() -> None:
    async with connect(echo, "/a") as one, connect(echo, "/b") as two:
        await one.send_text("1")
        await two.send_text("2")
        assert await two.receive_text() == "2"
        assert await one.receive_text() == "1"
    assert not leftover_tasks()


async def test_older_spec_version_reaches_the_app() -> None:
    app = raw_app(
        {"type": "websocket.accept"},
        {"type": "websocket.close", "code": 1000, "reason": "sent anyway"},
    )
    async with connect(app, spec_version="2.0") as session:
        assert session.scope["asgi"]["spec_version"] == "2.0"
        with pytest.raises(WebSocketDisconnect, match="sent anyway"):
            await session.receive_text()

    async def closing(scope: Scope, receive: Receive, send: Send) -> None:
        ws = WebSocket(scope, receive, send)
        await ws.accept()
        await ws.close(1000, "dropped below 2.3")

    async with connect(closing, spec_version="2.2") as session:
        with pytest.raises(WebSocketDisconnect) as info:
            await session.receive_text()
        assert info.value.reason == ""


def test_session_repr_and_slots() -> None:
    session = WebSocketTestSession(echo, build_scope("/x"))
    assert repr(session) == "<WebSocketTestSession '/x' app=connecting>"
    with pytest.raises(AttributeError):
        session.other = 1  # type: ignore[attr-defined]


# -- the README's examples ---------------------------------------------------------------------


async def readme_echo(scope: Scope, receive: Receive, send: Send) -> None:
    """The README's "Echo in 15 lines", plus a refused path."""
    ws = WebSocket(scope, receive, send)
    if ws.path == "/private":
        await ws.deny(401, body=b"log in first")
        return
    await ws.accept(subprotocol="chat" if "chat" in ws.subprotocols else None)
    name = ws.query_params.get("name", "stranger")
    await ws.send_text(f"hello {name}")
    async for message in ws:
        if message == "bye":
            await ws.close(1000, "see you")
            break
        await ws.send_json({"echo": message, "from": ws.client})


async def test_readme_testing_example() -> None:
    async with connect(readme_echo, "/echo?name=ann", subprotocols=["chat"]) as ws:
        assert ws.accepted_subprotocol == "chat"
        assert await ws.receive_text() == "hello ann"
        await ws.send_text("hi")  # ws.client is an Address (a namedtuple): a JSON array
        assert await ws.receive_json() == {"echo": "hi", "from": ["127.0.0.1", 50000]}
        await ws.send_text("bye")
        with pytest.raises(WebSocketDisconnect, match="1000: see you"):
            await ws.receive_text()
    with pytest.raises(WebSocketDenied) as denied:
        async with connect(readme_echo, "/private"):
            pass  # pragma: no cover
    assert (denied.value.status, denied.value.body) == (401, b"log in first")
