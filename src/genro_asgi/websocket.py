"""WebSocket connection handling for ASGI applications.

``WebSocket(scope, receive, send)`` → ``accept()`` → ``send_*``/``receive_*``/``iter_*`` →
``close()``. Text and binary frames are kept apart: ``receive_text()`` rejects binary frames and
``receive_bytes()`` rejects text. Message classification is done by the ``_dispatch`` hot path.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterable, Mapping
from enum import IntEnum
from typing import Any, NoReturn

from . import _json, _tytx
from ._dispatch import bytes_payload, data_payload, disconnect_exception, text_payload
from ._watch import RECEIVING, SENDS_BEFORE_WATCH, ReceiveAhead
from .datastructures import (
    _WS_SCHEMES,
    URL,
    Address,
    Headers,
    QueryParams,
    State,
    headers_from_scope,
    parse_cookies,
    port_number,
    query_params_from_scope,
    url_from_scope,
)
from .exceptions import WebSocketDisconnect
from .types import Message, Receive, Scope, Send


class WebSocketState(IntEnum):
    """Lifecycle of a connection: CONNECTING → CONNECTED → DISCONNECTED."""

    CONNECTING = 0
    CONNECTED = 1
    DISCONNECTED = 2


_CONNECTING = WebSocketState.CONNECTING
_CONNECTED = WebSocketState.CONNECTED
_DISCONNECTED = WebSocketState.DISCONNECTED
_ABNORMAL = 1006  # RFC 6455: the connection was lost without a close frame
_MAX_REASON_BYTES = 123  # RFC 6455: a close frame's payload is at most 125 bytes
_FORBIDDEN_HEADER_BYTES = (b"\r", b"\n", b"\0")


_SPEC_VERSIONS: dict[object, tuple[int, int]] = {"2.0": (2, 0), "2.3": (2, 3), "2.4": (2, 4)}
# The common answer to "does send() raise OSError once the client is gone?" without parsing.
_SPECS_RAISING_ON_SEND = frozenset({"2.4"})


def _spec_version(text: object) -> tuple[int, int]:
    """``(major, minor)`` of a scope's ``spec_version`` string; ``(2, 0)`` when malformed."""
    known = _SPEC_VERSIONS.get(text) if isinstance(text, str) else None
    if known is not None:
        return known
    try:
        major, minor = str(text).split(".")[:2]
        return int(major), int(minor)
    except ValueError:
        return (2, 0)


def _valid_close_code(code: object) -> bool:
    """RFC 6455 codes an endpoint may send: 1000-1003, 1007-1014 and 3000-4999."""
    if not isinstance(code, int) or isinstance(code, bool):
        return False
    return 1000 <= code <= 1003 or 1007 <= code <= 1014 or 3000 <= code <= 4999


def _encode_header(value: str | bytes, what: str) -> bytes:
    if isinstance(value, str):
        try:
            value = value.encode("latin-1")
        except UnicodeEncodeError:
            raise ValueError(f"Header {what} {value!r} is not latin-1 encodable.") from None
    elif not isinstance(value, bytes):
        raise TypeError(f"Header {what} must be str or bytes, got {type(value).__name__}.")
    if any(char in value for char in _FORBIDDEN_HEADER_BYTES):
        raise ValueError(f"Header {what} {value!r} contains CR, LF or NUL.")
    return value


def _encode_headers(
    headers: Mapping[Any, Any] | Iterable[tuple[str | bytes, str | bytes]],
) -> list[tuple[bytes, bytes]]:
    """Validate response headers into the ASGI form, names lowercased."""
    if isinstance(headers, (str, bytes)):
        raise TypeError(f"headers must be a mapping or (name, value) pairs, got {headers!r}.")
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    encoded = []
    for pair in pairs:
        try:
            if isinstance(pair, (str, bytes)):  # "ab" would unpack as the pair ("a", "b")
                raise ValueError
            name, value = pair
        except (TypeError, ValueError):
            raise TypeError(f"headers must be (name, value) pairs, got {pair!r}.") from None
        raw_name = _encode_header(name, "name").lower()
        if not raw_name:
            raise ValueError("Header names must not be empty.")
        if raw_name == b"sec-websocket-protocol":
            raise ValueError("Use the subprotocol argument, not a sec-websocket-protocol header.")
        encoded.append((raw_name, _encode_header(value, "value")))
    return encoded


class WebSocket:
    """A WebSocket connection over an ASGI ``(scope, receive, send)``.

    Raises:
        ValueError: ``scope["type"]`` is not ``"websocket"``.
    """

    __slots__ = (
        "_accepted_subprotocol",
        "_client",
        "_client_left",
        "_close_code",
        "_close_reason",
        "_cookies",
        "_direct",
        "_headers",
        "_path_params",
        "_query_params",
        "_receive",
        "_scheme",
        "_scope",
        "_send",
        "_sends",
        "_state",
        "_state_obj",
        "_subprotocols",
        "_url",
        "_watch",
    )

    _client: Address | None  # set on first read (None is a value): AttributeError until then

    def __init__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") != "websocket":
            raise ValueError(f"WebSocket needs a 'websocket' scope, got {scope.get('type')!r}.")
        self._scope = scope
        self._receive = receive
        self._send = send
        self._state = _CONNECTING
        # CONNECTED on a server that needs no receive-ahead (see accept()): the one flag the
        # send_*/receive_* fast path reads. Off it, CONNECTED means receiving ahead.
        self._direct = False
        self._client_left = False
        self._sends = 0  # sends since the last receive, while receiving ahead (see _watch.py)
        self._watch: ReceiveAhead | None = None
        self._accepted_subprotocol: str | None = None
        self._close_code: int | None = None
        self._close_reason: str | None = None
        # Lazily computed, once (None until then). Storing None costs far less than the
        # AttributeError a never-set slot raises on its first read.
        self._headers: Headers | None = None
        self._query_params: QueryParams | None = None
        self._url: URL | None = None
        self._state_obj: State | None = None
        self._cookies: dict[str, str] | None = None
        self._path_params: dict[str, Any] | None = None
        self._subprotocols: tuple[str, ...] | None = None
        self._scheme: str | None = None

    # -- properties --------------------------------------------------------------------------

    @property
    def scope(self) -> Scope:
        """The raw ASGI scope."""
        return self._scope

    @property
    def asgi_receive(self) -> Receive:
        """The server's ASGI ``receive`` callable."""
        return self._receive if self._watch is None else self._watch.server_receive

    @property
    def asgi_send(self) -> Send:
        """The server's ASGI ``send`` callable."""
        return self._send

    @property
    def connection_state(self) -> WebSocketState:
        """Where the connection is in its lifecycle."""
        return self._state

    @property
    def headers(self) -> Headers:
        """The handshake headers (case-insensitive)."""
        if self._headers is None:
            self._headers = headers_from_scope(self._scope)
        return self._headers

    @property
    def query_params(self) -> QueryParams:
        """The parsed query string."""
        if self._query_params is None:
            self._query_params = query_params_from_scope(self._scope)
        return self._query_params

    @property
    def url(self) -> URL:
        """The full ``ws://``/``wss://`` URL the client connected to."""
        if self._url is None:
            self._url = url_from_scope(self._scope)
        return self._url

    @property
    def state(self) -> State:
        """Per-connection state, stored in ``scope["state"]`` (shared with middleware)."""
        if self._state_obj is None:
            self._state_obj = State(self._scope.setdefault("state", {}))
        return self._state_obj

    @property
    def cookies(self) -> dict[str, str]:
        """Cookies sent with the handshake (every ``Cookie`` header, first name wins)."""
        if self._cookies is None:
            self._cookies = parse_cookies("; ".join(self.headers.getlist("cookie")))
        return self._cookies

    @property
    def client(self) -> Address | None:
        """The client's ``(host, port)``, or None when the server does not say.

        The port is an ``int`` even where the server gives a string (granian does).
        """
        try:
            return self._client
        except AttributeError:
            client = self._scope.get("client")
            if client is not None:
                client = Address(client[0], port_number(client[1]))
            self._client = client
            return client

    @property
    def path(self) -> str:
        """The decoded request path."""
        path: str = self._scope.get("path", "/")
        return path

    @property
    def path_params(self) -> dict[str, Any]:
        """Parameters a router put in ``scope["path_params"]`` (an empty dict, kept, when none)."""
        if self._path_params is None:
            self._path_params = self._scope.get("path_params", {})
        return self._path_params

    @property
    def scheme(self) -> str:
        """``ws`` or ``wss`` (a server's ``http``/``https`` mapped as in ``url``)."""
        if self._scheme is None:
            scheme: str = self._scope.get("scheme", "ws")
            self._scheme = _WS_SCHEMES.get(scheme, scheme)
        return self._scheme

    @property
    def subprotocols(self) -> tuple[str, ...]:
        """Subprotocols the client offered, in its order of preference."""
        if self._subprotocols is None:
            self._subprotocols = tuple(self._scope.get("subprotocols", ()))
        return self._subprotocols

    @property
    def accepted_subprotocol(self) -> str | None:
        """The subprotocol chosen in ``accept()``, if any."""
        return self._accepted_subprotocol

    @property
    def close_code(self) -> int | None:
        """The close code once disconnected: the app's, the client's, or 1006 if lost."""
        return self._close_code

    @property
    def close_reason(self) -> str | None:
        """The close reason once disconnected ("" when none was given)."""
        return self._close_reason

    # -- lifecycle ---------------------------------------------------------------------------

    def _spec(self) -> tuple[int, int]:
        """The server's ASGI spec version (``2.0`` when it sends none)."""
        asgi = self._scope.get("asgi") or {}
        return _spec_version(asgi.get("spec_version", "2.0"))

    async def accept(
        self,
        subprotocol: str | None = None,
        headers: Mapping[Any, Any] | Iterable[tuple[str | bytes, str | bytes]] | None = None,
    ) -> None:
        """Accept the connection: consume ``websocket.connect``, send ``websocket.accept``.

        Raises:
            RuntimeError: not in CONNECTING, an unexpected message instead of
                ``websocket.connect``, or ``headers`` on a server below ASGI spec 2.1.
            ValueError: ``subprotocol`` was not offered by the client; a header name or value
                has CR, LF or NUL; a ``sec-websocket-protocol`` header.
            WebSocketDisconnect: the client left before the handshake completed.
        """
        if self._state is not _CONNECTING:
            raise RuntimeError(f"accept() called in state {self._state.name}; call it once, first.")
        # The scope's own list: no tuple built per connection just for this check.
        if subprotocol is not None and subprotocol not in self._scope.get("subprotocols", ()):
            raise ValueError(
                f"Subprotocol {subprotocol!r} was not offered by the client "
                f"(offered: {list(self.subprotocols)})."
            )
        message: Message = {"type": "websocket.accept", "subprotocol": subprotocol}
        if headers is not None:
            raw_headers = _encode_headers(headers)
            if raw_headers:
                if self._spec() < (2, 1):
                    raise RuntimeError("This server (ASGI spec < 2.1) cannot send accept headers.")
                message["headers"] = raw_headers
        receive, send = self._receive, self._send  # local calls cost less than slot calls
        connect = await receive()
        if type(connect) is not dict and not isinstance(connect, Mapping):  # dict: skip the ABC
            raise RuntimeError(f"Malformed ASGI message without a 'type': {connect!r}")
        kind = connect.get("type")
        if kind != "websocket.connect":
            if kind == "websocket.disconnect":
                self._lost(self._disconnect_exception(connect))
            raise RuntimeError(f"Expected 'websocket.connect', received {kind!r}.")
        try:
            await send(message)
        except OSError:  # ASGI 2.4: the client is gone
            self._lost(WebSocketDisconnect(_ABNORMAL))
        self._accepted_subprotocol = subprotocol
        # ASGI 2.4 servers raise OSError from send() once the client is gone; older ones may
        # not, so there the wrapper receives ahead to notice a disconnect (see _watch.py).
        try:
            spec = self._scope["asgi"]["spec_version"]
        except (KeyError, TypeError):
            spec = None
        self._state = _CONNECTED
        self._direct = spec in _SPECS_RAISING_ON_SEND or self._spec() >= (2, 4)

    async def deny(
        self,
        status: int = 403,
        headers: Mapping[Any, Any] | Iterable[tuple[str | bytes, str | bytes]] | None = None,
        body: bytes = b"",
    ) -> bool:
        """Refuse the handshake with an HTTP response.

        Uses the ``websocket.http.response`` extension when the server offers it and returns
        True; otherwise sends ``websocket.close`` (the server answers 403) and returns False.
        Afterwards the state is DISCONNECTED and ``close_code`` is 1006 (no close frame).

        Raises:
            RuntimeError: not in CONNECTING.
            ValueError: ``status`` is not 100-599, or a bad header (as in ``accept()``).
            TypeError: ``body`` is not bytes.
        """
        if self._state is not _CONNECTING:
            raise RuntimeError(f"deny() called in state {self._state.name}; only before accept().")
        if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
            raise ValueError(f"HTTP status must be an int from 100 to 599, got {status!r}.")
        if not isinstance(body, bytes):
            raise TypeError(f"body must be bytes, got {type(body).__name__}.")
        raw_headers = [] if headers is None else _encode_headers(headers)
        extensions = self._scope.get("extensions") or {}
        extended = "websocket.http.response" in extensions
        self._closing(_ABNORMAL, "")
        with contextlib.suppress(OSError):  # the client is already gone: nothing to refuse
            if extended:
                start = {"type": "websocket.http.response.start", "status": status}
                await self._send({**start, "headers": raw_headers})
                await self._send({"type": "websocket.http.response.body", "body": body})
            else:
                await self._send({"type": "websocket.close", "code": 1000})
        return extended

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close the connection. Does nothing once closed or disconnected.

        On servers below ASGI spec 2.3 the reason is not sent. If the server reports the
        client already gone (``OSError``), ``close_code`` becomes 1006 and nothing is raised.

        Raises:
            RuntimeError: in CONNECTING (use ``deny()`` to refuse a handshake).
            ValueError: ``code`` is not 1000-1003, 1007-1014 or 3000-4999, or ``reason`` is
                longer than 123 UTF-8 bytes.
        """
        if self._state is not _CONNECTED:
            if self._state is _DISCONNECTED:
                return
            raise RuntimeError("close() before accept(); use deny() to refuse the handshake.")
        # The usual values (the int 1000, reason "") skip the full checks.
        if (type(code) is not int or code != 1000) and not _valid_close_code(code):
            raise ValueError(f"Close code must be 1000-1003, 1007-1014 or 3000-4999, got {code!r}.")
        if (type(reason) is not str or reason) and (
            not isinstance(reason, str) or len(reason.encode()) > _MAX_REASON_BYTES
        ):
            raise ValueError(f"Close reason must be a str of at most 123 UTF-8 bytes: {reason!r}.")
        message: Message = {"type": "websocket.close", "code": code}
        if reason and self._spec() >= (2, 3):
            message["reason"] = reason
        self._closing(code, reason)
        send = self._send
        try:
            await send(message)
        except OSError:  # the client is already gone: not raised
            self._close_code, self._close_reason = _ABNORMAL, ""

    # -- internals ---------------------------------------------------------------------------

    def _lost(self, exc: WebSocketDisconnect) -> NoReturn:
        """Record that the client left, then raise ``exc``.

        The first cause wins: once DISCONNECTED (the app closed, or a concurrent task saw the
        loss) ``close_code`` and ``close_reason`` are kept; ``exc`` is raised all the same.
        """
        self._record_lost(exc.code, exc.reason)
        raise exc

    def _record_lost(self, code: int, reason: str) -> None:
        """The client left: DISCONNECTED with its code, unless a first cause was recorded."""
        if self._state is not _DISCONNECTED:
            self._state = _DISCONNECTED
            self._direct = False
            self._client_left = True
            self._close_code, self._close_reason = code, reason

    def _disconnect_exception(self, message: Any) -> WebSocketDisconnect:
        """``disconnect_exception(message)``; when its code or reason has the wrong type the
        client is gone all the same: record 1006, then let the ``TypeError`` propagate."""
        try:
            return disconnect_exception(message)
        except TypeError:
            self._record_lost(_ABNORMAL, "")
            raise

    def _bad_payload(self, message: Any) -> None:
        """After a payload ``TypeError``: if ``message`` is a disconnect, the client is gone."""
        if isinstance(message, Mapping) and message.get("type") == "websocket.disconnect":
            self._disconnect_exception(message)

    def _refuse(self, action: str) -> NoReturn:
        """Raise the error for ``action`` outside CONNECTED."""
        if self._client_left:
            assert self._close_code is not None
            raise WebSocketDisconnect(self._close_code, self._close_reason or "")
        if self._state is _CONNECTING:
            raise RuntimeError(f"{action}() before accept(): accept the connection first.")
        raise RuntimeError(f"{action}() after close(): the connection is closed.")

    def _closing(self, code: int, reason: str) -> None:
        """Become DISCONNECTED with ``code``/``reason``, before the closing message is sent.

        The state changes first, so a concurrent task cannot send after the close. When that
        send raises ``OSError`` (the client is already gone) the caller records 1006 instead.
        """
        self._state = _DISCONNECTED
        self._direct = False
        self._close_code, self._close_reason = code, reason
        if self._watch is not None:
            self._watch.cancel()
            self._end_watch(self._watch)

    async def _receive_slow(self, action: str) -> Message:
        """``receive()`` off the fast path: refuse outside CONNECTED, else receive counted.

        CONNECTED off the fast path means receiving ahead: while this receive is pending,
        sends do not count towards a watch.
        """
        if self._state is not _CONNECTED:
            self._refuse(action)
        self._sends = RECEIVING
        try:
            return await self._receive()
        finally:
            self._sends = 0

    def _send_slow(self, action: str) -> None:
        """Before a send off the fast path: refuse outside CONNECTED."""
        if self._state is not _CONNECTED:
            self._refuse(action)

    def _count_send(self) -> None:
        """A send done off the fast path (receiving ahead): at the second in a row without a
        receive, start receiving ahead.

        Counted once the server's ``send()`` has returned: a watch started while a send is
        still in the server would keep a ``receive()`` pending there (granian then never
        closes the connection when the application returns).
        """
        self._sends += 1
        if self._sends == SENDS_BEFORE_WATCH:
            self._start_watch()

    def _start_watch(self) -> None:
        """The app sent twice without receiving: receive ahead to notice a disconnect."""
        if self._watch is None and self._state is _CONNECTED:
            self._watch = ReceiveAhead.start(self, self._receive)
            if self._watch is not None:
                self._receive = self._watch.receive

    def _end_watch(self, watch: ReceiveAhead) -> None:
        """``watch``'s slot was taken (or it was cancelled): use the server's receive again."""
        if self._watch is watch:
            self._receive = watch.server_receive
            self._watch = None

    # -- receiving ---------------------------------------------------------------------------

    async def receive_text(self) -> str:
        """Receive a text frame.

        Raises:
            RuntimeError: not connected, or an unexpected ASGI message.
            TypeError: a binary frame arrived (use ``receive_bytes()``).
            WebSocketDisconnect: the client disconnected.
        """
        if not self._direct:
            message = await self._receive_slow("receive_text")
        else:
            receive = self._receive  # a local call costs less than a call through a slot
            message = await receive()
        try:
            return text_payload(message)
        except WebSocketDisconnect as exc:
            self._lost(exc)
        except TypeError:
            self._bad_payload(message)
            raise

    async def receive_bytes(self) -> bytes:
        """Receive a binary frame.

        Raises:
            RuntimeError: not connected, or an unexpected ASGI message.
            TypeError: a text frame arrived (use ``receive_text()``).
            WebSocketDisconnect: the client disconnected.
        """
        if not self._direct:
            message = await self._receive_slow("receive_bytes")
        else:
            receive = self._receive  # a local call costs less than a call through a slot
            message = await receive()
        try:
            return bytes_payload(message)
        except WebSocketDisconnect as exc:
            self._lost(exc)
        except TypeError:
            self._bad_payload(message)
            raise

    async def receive_data(self) -> str | bytes:
        """Receive a frame of either kind: ``str`` for text, ``bytes`` for binary.

        Raises:
            RuntimeError: not connected, or an unexpected ASGI message.
            WebSocketDisconnect: the client disconnected.
        """
        if not self._direct:
            message = await self._receive_slow("receive_data")
        else:
            receive = self._receive  # a local call costs less than a call through a slot
            message = await receive()
        try:
            return data_payload(message)
        except WebSocketDisconnect as exc:
            self._lost(exc)
        except TypeError:
            self._bad_payload(message)
            raise

    async def receive_json(self, mode: str = "text") -> Any:
        """Receive a JSON value from a text frame, or a UTF-8 binary frame with ``mode="binary"``.

        Raises:
            ValueError: ``mode`` is neither ``"text"`` nor ``"binary"``.
            RuntimeError: not connected, or an unexpected ASGI message.
            TypeError: a frame of the other kind arrived.
            json.JSONDecodeError: the payload is not valid JSON (or not UTF-8).
            WebSocketDisconnect: the client disconnected.
        """
        if mode == "text":
            return _json.loads(await self.receive_text())
        if mode == "binary":
            return _json.loads(await self.receive_bytes())
        raise ValueError(f"mode must be 'text' or 'binary', got {mode!r}.")

    async def receive_typed(self) -> Any:
        """Receive a text frame of TYTX JSON, typed values hydrated (plain JSON passes through).

        Raises:
            ImportError: genro-tytx is not installed (``pip install genro-asgi[tytx]``).
            RuntimeError, TypeError, WebSocketDisconnect: as ``receive_text()``.
        """
        _tytx._tytx()  # without genro-tytx, fail before a frame is consumed
        return _tytx.decode(await self.receive_text())

    async def iter_text(self) -> AsyncIterator[str]:
        """Yield text frames until the client disconnects."""
        try:
            while True:
                yield await self.receive_text()
        except WebSocketDisconnect:
            return

    async def iter_bytes(self) -> AsyncIterator[bytes]:
        """Yield binary frames until the client disconnects."""
        try:
            while True:
                yield await self.receive_bytes()
        except WebSocketDisconnect:
            return

    async def iter_json(self, mode: str = "text") -> AsyncIterator[Any]:
        """Yield JSON values (as ``receive_json(mode)``) until the client disconnects."""
        try:
            while True:
                yield await self.receive_json(mode)
        except WebSocketDisconnect:
            return

    def __aiter__(self) -> AsyncIterator[str]:
        return self.iter_text()

    # -- sending -----------------------------------------------------------------------------

    async def send_text(self, data: str) -> None:
        """Send a text frame.

        Raises:
            RuntimeError: not connected.
            TypeError: ``data`` is not ``str``.
            WebSocketDisconnect: the client is gone (1006) or had disconnected.
        """
        if not self._direct:
            self._send_slow("send_text")
        if type(data) is not str and not isinstance(data, str):  # exact str: the cheap check
            raise TypeError(f"send_text() takes str, got {type(data).__name__}; use send_bytes().")
        send = self._send
        try:
            await send({"type": "websocket.send", "text": data})
        except OSError:
            self._lost(WebSocketDisconnect(_ABNORMAL))
        if not self._direct:
            self._count_send()

    async def send_bytes(self, data: bytes | bytearray | memoryview) -> None:
        """Send a binary frame from any bytes-like object.

        Raises:
            RuntimeError: not connected.
            TypeError: ``data`` is not bytes-like.
            WebSocketDisconnect: the client is gone (1006) or had disconnected.
        """
        if not self._direct:
            self._send_slow("send_bytes")
        if type(data) is not bytes and not isinstance(data, bytes):
            if not isinstance(data, (bytearray, memoryview)):
                raise TypeError(
                    f"send_bytes() takes bytes-like data, got {type(data).__name__}; "
                    "use send_text()."
                )
            data = bytes(data)
        send = self._send
        try:
            await send({"type": "websocket.send", "bytes": data})
        except OSError:
            self._lost(WebSocketDisconnect(_ABNORMAL))
        if not self._direct:
            self._count_send()

    async def send_json(self, data: Any, mode: str = "text") -> None:
        """Send ``data`` as JSON in a text frame, or a UTF-8 binary frame with ``mode="binary"``.

        Raises:
            ValueError: ``mode`` is neither ``"text"`` nor ``"binary"``.
            TypeError: ``data`` is not JSON-serializable.
            RuntimeError, WebSocketDisconnect: as ``send_text()``.
        """
        if mode == "text":
            await self.send_text(_json.dumps(data).decode())
        elif mode == "binary":
            await self.send_bytes(_json.dumps(data))
        else:
            raise ValueError(f"mode must be 'text' or 'binary', got {mode!r}.")

    async def send_typed(self, data: Any) -> None:
        """Send ``data`` as TYTX JSON text, so the peer can hydrate typed values.

        Raises:
            ImportError: genro-tytx is not installed (``pip install genro-asgi[tytx]``).
            RuntimeError, WebSocketDisconnect: as ``send_text()``.
        """
        await self.send_text(_tytx.encode(data))

    def __repr__(self) -> str:
        return f"<WebSocket {self.path!r} {self._state.name}>"

    # -- hub hooks (genro_asgi.hub, issue 12) -------------------------------------------------

    async def _send_message(self, message: Message) -> None:
        """Send an already-built ``websocket.send`` message (the hub shares one dict among every
        member of a publish): the checks and the client-gone handling of ``send_*``, no payload
        check.

        Raises:
            RuntimeError: not connected.
            WebSocketDisconnect: the client is gone (1006) or had disconnected.
        """
        if not self._direct:
            self._send_slow("send")
        send = self._send
        try:
            await send(message)
        except OSError:
            self._lost(WebSocketDisconnect(_ABNORMAL))
        if not self._direct:
            self._count_send()

    async def _end(self, code: int, reason: str) -> None:
        """End the connection from the application side as if the client had left with
        ``(code, reason)``: send ``websocket.close`` (the reason only where the server takes it),
        then every later ``receive_*``/``send_*`` raises ``WebSocketDisconnect(code, reason)``.
        Never raises for ``OSError``; does nothing once DISCONNECTED."""
        if self._state is _DISCONNECTED:
            return
        message: Message = {"type": "websocket.close", "code": code}
        if reason and self._spec() >= (2, 3):
            message["reason"] = reason
        self._closing(code, reason)
        self._client_left = True  # _refuse() now raises WebSocketDisconnect(code, reason)
        send = self._send
        with contextlib.suppress(OSError):  # the client is already gone: (code, reason) stay
            await send(message)


__all__ = ["WebSocket", "WebSocketState"]
