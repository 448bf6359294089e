"""In-process WebSocket test sessions for any ASGI app: no server, no sockets.

```python
from genro_asgi.testing import connect

async def test_echo():
    async with connect(app, "/echo?name=ann", subprotocols=["chat"]) as session:
        assert session.accepted_subprotocol == "chat"
        await session.send_text("hello")
        assert await session.receive_text() == "hello"
```

The app runs as an asyncio task fed by two queues, with the scope a server such as uvicorn
builds (ASGI 3.0, spec 2.4, the ``websocket.http.response`` extension). Every wait is bounded by
``timeout`` (5 s by default): a test fails with ``TimeoutError`` instead of hanging. An
exception raised by the app is raised again in the test. Leaving the ``async with`` block closes
the connection (code 1000) if it is still open, waits for the app to return (at most
``timeout``, then cancels it), and raises the app's exception if it failed.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from enum import Enum
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from . import _json, _tytx
from ._headers import Headers
from ._json import JsonMode
from .exceptions import WebSocketDisconnect
from .types import Message, Receive, Scope, Send

#: An ASGI 3 application.
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
#: Seconds any single wait on the app may take before the test fails.
DEFAULT_TIMEOUT = 5.0

_ABNORMAL = 1006  # no close frame was exchanged
_DEFAULT_PORTS = {"ws": 80, "wss": 443}
_PATH_SAFE = "/:@!$&'()*+,;=~%"
_QUERY_SAFE = _PATH_SAFE + "?"


class _AppState(Enum):
    """The app's side of the handshake, as the (fake) server tracks it."""

    CONNECTING = "connecting"
    RESPONDING = "responding"
    OPEN = "open"
    CLOSED = "closed"


_CONNECTING, _RESPONDING, _OPEN, _CLOSED = _AppState

HeadersArg = Mapping[str, str] | Iterable[tuple[str | bytes, str | bytes]]


class WebSocketDenied(Exception):
    """The app refused the handshake with an HTTP response instead of accepting it.

    ``status``, ``headers`` (a ``Headers``) and ``body`` are the response the client would see.
    A ``websocket.close`` before ``websocket.accept`` is a 403 with no body, as servers answer it.
    """

    def __init__(
        self, status: int, headers: Sequence[tuple[bytes, bytes]] = (), body: bytes = b""
    ) -> None:
        super().__init__(status, body)
        self.status = status
        self.headers = Headers(list(headers))
        self.body = body

    def __str__(self) -> str:
        text = f"The app denied the WebSocket handshake with HTTP {self.status}"
        return f"{text}: {self.body!r}" if self.body else text


def _latin1(value: str | bytes) -> bytes:
    return value if isinstance(value, bytes) else value.encode("latin-1")


def build_scope(
    url: str = "/",
    *,
    subprotocols: Sequence[str] = (),
    headers: HeadersArg | None = None,
    client: tuple[str, int] = ("127.0.0.1", 50000),
    root_path: str = "",
    spec_version: str = "2.4",
    extensions: Mapping[str, Any] | None = None,
) -> Scope:
    """The ``websocket`` scope a server builds for a client connecting to ``url``.

    ``url`` is a path with an optional query (``"/chat?room=1"``) or a full ``ws://`` /
    ``wss://`` URL, which also sets ``server`` and the ``Host`` header (default
    ``127.0.0.1:80``). ``path`` and ``raw_path`` are prefixed with ``root_path``, as uvicorn does.
    ``headers`` are added to the handshake headers (a ``host`` given there replaces the
    default). ``extensions`` defaults to ``{"websocket.http.response": {}}``.

    Raises:
        ValueError: the URL scheme is not ``ws`` or ``wss``.
    """
    parts = urlsplit(url)
    scheme = parts.scheme or "ws"
    if scheme not in _DEFAULT_PORTS:
        raise ValueError(f"URL scheme must be ws or wss, got {parts.scheme!r} in {url!r}.")
    host = parts.hostname or "127.0.0.1"
    port = parts.port or _DEFAULT_PORTS[scheme]
    netloc = f"[{host}]" if ":" in host else host
    if port != _DEFAULT_PORTS[scheme]:
        netloc = f"{netloc}:{port}"
    raw_path = quote(root_path + (parts.path or "/"), safe=_PATH_SAFE)
    extra: list[tuple[bytes, bytes]] = []
    if headers is not None:
        pairs = headers.items() if isinstance(headers, Mapping) else headers
        extra = [(_latin1(name).lower(), _latin1(value)) for name, value in pairs]
    raw_headers = [] if any(name == b"host" for name, _ in extra) else [(b"host", _latin1(netloc))]
    raw_headers += [
        (b"connection", b"Upgrade"),
        (b"upgrade", b"websocket"),
        (b"sec-websocket-version", b"13"),
        (b"sec-websocket-key", b"dGhlIHNhbXBsZSBub25jZQ=="),
    ]
    if subprotocols:
        raw_headers.append((b"sec-websocket-protocol", ", ".join(subprotocols).encode("latin-1")))
    return {
        "type": "websocket",
        "asgi": {"version": "3.0", "spec_version": spec_version},
        "http_version": "1.1",
        "scheme": scheme,
        "server": (host, port),
        "client": client,
        "root_path": root_path,
        "path": unquote(raw_path),
        "raw_path": raw_path.encode("ascii"),
        "query_string": quote(parts.query, safe=_QUERY_SAFE).encode("ascii"),
        "headers": raw_headers + extra,
        "subprotocols": list(subprotocols),
        "extensions": {"websocket.http.response": {}} if extensions is None else dict(extensions),
        "state": {},
    }


class WebSocketTestSession:
    """The client side of one in-process connection; made by ``connect()``.

    ``timeout`` (seconds) bounds every wait on the app and may be changed at any time.
    """

    __slots__ = (
        "_accept_headers",
        "_app",
        "_app_close",
        "_app_error",
        "_app_state",
        "_client_close",
        "_disconnect_sent",
        "_from_app",
        "_subprotocol",
        "_task",
        "_to_app",
        "scope",
        "timeout",
    )

    def __init__(self, app: ASGIApp, scope: Scope, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.scope = scope
        self.timeout = timeout
        self._app = app
        self._to_app: asyncio.Queue[Message] = asyncio.Queue()
        self._from_app: asyncio.Queue[Message | None] = asyncio.Queue()  # None: the app returned
        self._task: asyncio.Task[None] | None = None
        self._app_state = _CONNECTING
        self._app_error: BaseException | None = None
        self._app_close: WebSocketDisconnect | None = None  # the app's close, once received
        self._client_close: WebSocketDisconnect | None = None  # ours, once close() was called
        self._disconnect_sent = False
        self._subprotocol: str | None = None
        self._accept_headers = Headers([])

    # -- what the test sees ------------------------------------------------------------------

    @property
    def accepted_subprotocol(self) -> str | None:
        """The subprotocol the app chose in ``websocket.accept`` (None when it chose none)."""
        return self._subprotocol

    @property
    def accept_headers(self) -> Headers:
        """The extra headers the app sent with ``websocket.accept``."""
        return self._accept_headers

    @property
    def close_code(self) -> int | None:
        """The code the app closed with, once its ``websocket.close`` has been received."""
        return None if self._app_close is None else self._app_close.code

    @property
    def close_reason(self) -> str | None:
        """The reason the app closed with, once its ``websocket.close`` has been received."""
        return None if self._app_close is None else self._app_close.reason

    # -- the fake server: what the app's receive() and send() do -----------------------------

    async def _run_app(self) -> None:
        try:
            await self._app(self.scope, self._app_receive, self._app_send)
        except Exception as exc:
            self._app_error = exc
        finally:
            self._from_app.put_nowait(None)

    async def _app_receive(self) -> Message:
        message = await self._to_app.get()
        if message["type"] == "websocket.disconnect":
            self._to_app.put_nowait(message)  # every later receive() gets it again
        return message

    def _disconnect_app(self, code: int, reason: str) -> None:
        if not self._disconnect_sent:
            self._disconnect_sent = True
            self._to_app.put_nowait(
                {"type": "websocket.disconnect", "code": code, "reason": reason}
            )

    async def _app_send(self, message: Message) -> None:
        kind = message.get("type")
        if self._client_close is not None and self._app_state is not _CLOSED:
            raise OSError(f"The test client has disconnected; the app cannot send {kind!r}.")
        state = self._app_state
        if state is _CONNECTING:
            if kind == "websocket.accept":
                self._app_state = _OPEN
            elif kind == "websocket.close":
                self._app_state = _CLOSED
                self._disconnect_app(_ABNORMAL, "")
            elif kind == "websocket.http.response.start":
                if "websocket.http.response" not in self.scope["extensions"]:
                    raise RuntimeError(
                        "The app sent 'websocket.http.response.start' but the scope does not "
                        "offer the 'websocket.http.response' extension."
                    )
                self._app_state = _RESPONDING
            else:
                raise RuntimeError(
                    f"The app sent {kind!r} before the handshake; expected 'websocket.accept', "
                    "'websocket.close' or 'websocket.http.response.start'."
                )
        elif state is _RESPONDING:
            if kind != "websocket.http.response.body":
                raise RuntimeError(
                    f"The app sent {kind!r} during its HTTP response; "
                    "expected 'websocket.http.response.body'."
                )
            if not message.get("more_body", False):
                self._app_state = _CLOSED
                self._disconnect_app(_ABNORMAL, "")
        elif state is _OPEN:
            if kind == "websocket.send":
                text, data = message.get("text"), message.get("bytes")
                if (text is None) == (data is None):
                    raise RuntimeError("websocket.send needs exactly one of 'text' and 'bytes'.")
            elif kind == "websocket.close":
                self._app_state = _CLOSED
                self._disconnect_app(message.get("code") or 1000, message.get("reason") or "")
            else:
                raise RuntimeError(
                    f"The app sent {kind!r} on an open WebSocket; "
                    "expected 'websocket.send' or 'websocket.close'."
                )
        else:
            raise RuntimeError(f"The app sent {kind!r} after the connection was closed.")
        self._from_app.put_nowait(message)

    # -- plumbing ------------------------------------------------------------------------------

    def _raise_app_error(self) -> None:
        """Raise the app's exception, unless it is the disconnect the client caused."""
        error = self._app_error
        if error is None:
            return
        if isinstance(error, WebSocketDisconnect) and self._client_close is not None:
            return
        self._app_error = None  # raised once
        raise error

    async def _next(self, waiting_for: str) -> Message | None:
        """The app's next message, or None once it has returned; bounded by ``timeout``."""
        getter = asyncio.ensure_future(self._from_app.get())
        try:
            done, _ = await asyncio.wait({getter}, timeout=self.timeout)
        finally:
            if not getter.done():
                getter.cancel()
        if not done:
            raise TimeoutError(
                f"The app sent nothing within {self.timeout} s while the test waited for "
                f"{waiting_for}. Is it waiting for a message the test did not send? "
                "(connect(..., timeout=...) sets the limit.)"
            )
        message = getter.result()
        if message is None:
            self._from_app.put_nowait(None)  # stays the last message
            self._raise_app_error()
        return message

    async def _start(self) -> None:
        """Start the app, send ``websocket.connect`` and complete the handshake."""
        self._task = asyncio.create_task(self._run_app(), name=f"asgi app {self.scope['path']}")
        self._to_app.put_nowait({"type": "websocket.connect"})
        message = await self._next("the handshake")
        if message is None:
            raise RuntimeError(
                "The app returned without accepting or denying the WebSocket handshake "
                "(a server answers HTTP 500)."
            )
        kind = message["type"]
        if kind == "websocket.accept":
            self._subprotocol = message.get("subprotocol")
            self._accept_headers = Headers(list(message.get("headers") or []))
            return
        if kind == "websocket.close":
            raise WebSocketDenied(403)
        status, headers, body = message["status"], list(message.get("headers") or []), b""
        while True:
            part = await self._next("the body of the app's HTTP response")
            if part is None:
                raise RuntimeError("The app returned in the middle of its HTTP response.")
            body += part.get("body", b"")
            if not part.get("more_body", False):
                raise WebSocketDenied(status, headers, body)

    async def _stop(self, wait: bool) -> None:
        """Let the app finish (at most ``timeout`` when ``wait``), else cancel it."""
        task = self._task
        if task is None or task.done():
            return
        if wait:
            await asyncio.wait({task}, timeout=self.timeout)
        if not task.done():
            task.cancel()
            await asyncio.wait({task})

    def _check_open(self, action: str) -> None:
        if self._client_close is not None:
            raise RuntimeError(f"{action}() after close(): the test session is closed.")
        if self._app_close is not None:
            raise WebSocketDisconnect(self._app_close.code, self._app_close.reason)

    # -- sending -------------------------------------------------------------------------------

    async def _send(self, action: str, message: Message) -> None:
        self._check_open(action)
        if self._app_state is _CLOSED:  # closed by the app, its close not received yet
            return
        self._raise_app_error()
        self._to_app.put_nowait(message)
        await asyncio.sleep(0)  # let the app run

    async def send_text(self, data: str) -> None:
        """Send a text frame to the app.

        Raises:
            TypeError: ``data`` is not ``str``.
            RuntimeError: after ``close()``.
            WebSocketDisconnect: the app has closed the connection.
        """
        if not isinstance(data, str):
            raise TypeError(f"send_text() takes str, got {type(data).__name__}; use send_bytes().")
        await self._send("send_text", {"type": "websocket.receive", "text": data})

    async def send_bytes(self, data: bytes | bytearray | memoryview) -> None:
        """Send a binary frame to the app (raises as ``send_text()``)."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(
                f"send_bytes() takes bytes, got {type(data).__name__}; use send_text()."
            )
        await self._send("send_bytes", {"type": "websocket.receive", "bytes": bytes(data)})

    async def send_json(self, data: Any, mode: JsonMode = "text") -> None:
        """Send ``data`` as JSON in a text frame, or a binary frame with ``mode="binary"``."""
        if mode == "text":
            await self.send_text(_json.dumps(data).decode())
        elif mode == "binary":
            await self.send_bytes(_json.dumps(data))
        else:
            raise ValueError(f"mode must be 'text' or 'binary', got {mode!r}.")

    async def send_typed(self, data: Any) -> None:
        """Send ``data`` as TYTX JSON text (needs ``genro-asgi[tytx]``)."""
        await self.send_text(_tytx.encode(data))

    # -- receiving -----------------------------------------------------------------------------

    async def receive_data(self) -> str | bytes:
        """The next frame from the app: ``str`` for text, ``bytes`` for binary.

        Raises:
            WebSocketDisconnect: the app closed the connection (its ``code`` and ``reason``).
            TimeoutError: the app sent nothing within ``timeout``.
            RuntimeError: after ``close()``, or the app returned without closing.
            Exception: whatever the app raised.
        """
        self._check_open("receive")
        message = await self._next("a message")
        if message is None:
            raise RuntimeError("The app returned without closing the WebSocket.")
        if message["type"] == "websocket.close":
            self._app_close = WebSocketDisconnect(
                message.get("code") or 1000, message.get("reason") or ""
            )
            raise WebSocketDisconnect(self._app_close.code, self._app_close.reason)
        text = message.get("text")
        return text if text is not None else bytes(message["bytes"])

    async def receive_text(self) -> str:
        """The next text frame (raises as ``receive_data()``; ``TypeError`` for binary)."""
        data = await self.receive_data()
        if not isinstance(data, str):
            raise TypeError(f"The app sent a binary frame {data[:40]!r}; use receive_bytes().")
        return data

    async def receive_bytes(self) -> bytes:
        """The next binary frame (raises as ``receive_data()``; ``TypeError`` for text)."""
        data = await self.receive_data()
        if not isinstance(data, bytes):
            raise TypeError(f"The app sent a text frame {data[:40]!r}; use receive_text().")
        return data

    async def receive_json(self, mode: JsonMode = "text") -> Any:
        """The next frame parsed as JSON (a binary frame with ``mode="binary"``)."""
        if mode == "text":
            return _json.loads(await self.receive_text())
        if mode == "binary":
            return _json.loads(await self.receive_bytes())
        raise ValueError(f"mode must be 'text' or 'binary', got {mode!r}.")

    async def receive_typed(self) -> Any:
        """The next text frame decoded from TYTX JSON (needs ``genro-asgi[tytx]``)."""
        return _tytx.decode(await self.receive_text())

    # -- closing -------------------------------------------------------------------------------

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close from the client side and wait for the app to return.

        Sends ``websocket.disconnect`` with ``code`` and ``reason`` (unless the app closed
        first), waits at most ``timeout`` for the app to return, then cancels it. Idempotent.

        Raises:
            Exception: whatever the app raised (a ``WebSocketDisconnect`` caused by this
                close is not raised).
        """
        if self._client_close is None:
            self._client_close = WebSocketDisconnect(code, reason)
            self._disconnect_app(code, reason)
        await self._stop(wait=True)
        self._raise_app_error()

    async def _abort(self) -> None:
        """The test failed: the client vanishes (1006) and the app is cancelled."""
        if self._client_close is None:
            self._client_close = WebSocketDisconnect(_ABNORMAL)
            self._disconnect_app(_ABNORMAL, "")
        await self._stop(wait=False)

    def __repr__(self) -> str:
        return f"<WebSocketTestSession {self.scope['path']!r} app={self._app_state.value}>"


@asynccontextmanager
async def connect(
    app: ASGIApp,
    url: str = "/",
    *,
    subprotocols: Sequence[str] = (),
    headers: HeadersArg | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    client: tuple[str, int] = ("127.0.0.1", 50000),
    root_path: str = "",
    spec_version: str = "2.4",
    extensions: Mapping[str, Any] | None = None,
) -> AsyncIterator[WebSocketTestSession]:
    """Open an in-process WebSocket connection to ``app`` (see the module docstring).

    The scope comes from ``build_scope()`` with the same arguments. On leaving the block
    the session is closed (``close()``); if the block raised, the app is cancelled instead.

    Raises:
        WebSocketDenied: the app refused the handshake (its status, headers and body).
        TimeoutError: the app neither accepted nor denied within ``timeout``.
        RuntimeError: the app returned without answering the handshake.
        Exception: whatever the app raised.
    """
    scope = build_scope(
        url,
        subprotocols=subprotocols,
        headers=headers,
        client=client,
        root_path=root_path,
        spec_version=spec_version,
        extensions=extensions,
    )
    session = WebSocketTestSession(app, scope, timeout)
    try:
        await session._start()
    except WebSocketDenied:
        await session._stop(wait=True)  # the app got websocket.disconnect: let it return
        raise
    except BaseException:
        await session._abort()
        raise
    try:
        yield session
    except BaseException:
        await session._abort()
        raise
    await session.close()


__all__ = [
    "DEFAULT_TIMEOUT",
    "ASGIApp",
    "WebSocketDenied",
    "WebSocketTestSession",
    "build_scope",
    "connect",
]
