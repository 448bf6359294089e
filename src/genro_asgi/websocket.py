"""WebSocket connection handling for ASGI applications.

``WebSocket(scope, receive, send)`` → ``accept()`` → ``send_*``/``receive_*``/``iter_*`` →
``close()``. Text and binary frames are kept apart: ``receive_text()`` rejects binary frames and
``receive_bytes()`` rejects text. This module keeps the connection's state and awaits the
server; the rest is one layer each, none of which imports this one:

- ``_connection``: the connection data of the scope (``Connection``, the base class);
- ``_dispatch``: classify a server message and extract its payload (a compiled hot path);
- ``_capabilities``: what the server declared it supports, read once at ``accept()``;
- ``_handshake``: argument checks and the accept/close/denial messages, without I/O;
- ``_receive_ahead``: noticing a disconnect while the application only sends.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping
from enum import IntEnum
from typing import Any, NoReturn

from . import _json, _tytx
from ._capabilities import SERVERS, ServerCapabilities, capabilities
from ._connection import _UNSET, Connection
from ._dispatch import bytes_payload, data_payload, disconnect_exception, text_payload
from ._handshake import (
    ABNORMAL,
    HeadersArg,
    accept_message,
    check_timeout,
    close_message,
    denial_messages,
)
from ._json import JsonMode
from ._receive_ahead import ReceiveAhead
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


class WebSocket(Connection):
    """A WebSocket connection over an ASGI ``(scope, receive, send)``.

    The connection data (``headers``, ``query_params``, ``url``, ``client``, ...) are
    ``Connection``'s properties, computed lazily, once.

    Raises:
        ValueError: ``scope["type"]`` is not ``"websocket"``.
    """

    __slots__ = (
        "_accepted_subprotocol",
        "_ahead",
        "_client_left",
        "_close_code",
        "_close_reason",
        "_direct",
        "_receive",
        "_send",
        "_server",
        "_state",
    )

    _server: ServerCapabilities  # set by accept(), read only once CONNECTED

    def __init__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Wrap one connection's ASGI scope and callables; nothing is received or sent yet.

        Raises:
            ValueError: ``scope["type"]`` is not ``"websocket"``.
        """
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
        self._ahead: ReceiveAhead | None = None  # set at accept() when the server needs it
        self._accepted_subprotocol: str | None = None
        self._close_code: int | None = None
        self._close_reason: str | None = None
        # Connection's lazy slots, set here: a second __init__ called from this one would cost
        # more than these stores. None until computed: storing None costs far less than the
        # AttributeError a never-set slot raises on its first read.
        self._headers = None
        self._query_params = None
        self._url = None
        self._scope_state = None
        self._cookies = None
        self._path_params = None
        self._subprotocols = None
        self._scheme = None
        self._client = _UNSET

    # -- properties (the connection data are Connection's) ------------------------------------

    @property
    def asgi_receive(self) -> Receive:
        """The server's ASGI ``receive`` callable."""
        return self._receive

    @property
    def asgi_send(self) -> Send:
        """The server's ASGI ``send`` callable."""
        return self._send

    @property
    def connection_state(self) -> WebSocketState:
        """Where the connection is in its lifecycle."""
        return self._state

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

    async def accept(
        self, subprotocol: str | None = None, headers: HeadersArg | None = None
    ) -> None:
        """Accept the connection: consume ``websocket.connect``, send ``websocket.accept``.

        Raises:
            RuntimeError: not in CONNECTING, an unexpected message instead of
                ``websocket.connect``, or ``headers`` on a server that declared an ASGI spec
                below 2.1.
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
        # The common cases inline (a version seen before, no headers): a Python call costs
        # about 400 instructions on 3.11, several percent of a connection's lifecycle.
        try:
            server = SERVERS[self._scope["asgi"]["spec_version"]]
        except (KeyError, TypeError):  # a first version, none declared, or not a str
            server = capabilities(self._scope)
        if headers is None:
            message: Message = {"type": "websocket.accept", "subprotocol": subprotocol}
        else:
            message = accept_message(subprotocol, headers, server)
        receive, send = self._receive, self._send  # local calls cost less than slot calls
        connect = await receive()
        if type(connect) is not dict and not isinstance(connect, Mapping):  # dict: skip the ABC
            raise RuntimeError(f"Malformed ASGI message without a 'type': {connect!r}.")
        kind = connect.get("type")
        if kind != "websocket.connect":
            if kind == "websocket.disconnect":
                self._lost(self._disconnect_exception(connect))
            raise RuntimeError(f"Expected 'websocket.connect', received {kind!r}.")
        try:
            await send(message)
        except OSError:  # ASGI 2.4: the client is gone
            self._lost(WebSocketDisconnect(ABNORMAL))
        self._accepted_subprotocol = subprotocol
        self._server = server
        self._state = _CONNECTED
        if server.send_raises:
            self._direct = True
        else:  # the server may never say that the client left: receive ahead to notice it
            self._ahead = ReceiveAhead(receive, self._record_lost)

    async def deny(
        self, status: int = 403, headers: HeadersArg | None = None, body: bytes = b""
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
        messages = denial_messages(status, headers, body)
        extensions = self._scope.get("extensions") or {}
        extended = "websocket.http.response" in extensions
        if not extended:
            messages = [{"type": "websocket.close", "code": 1000}]
        self._closing(ABNORMAL, "")
        with contextlib.suppress(OSError):  # the client is already gone: nothing to refuse
            for message in messages:
                await self._send(message)
        return extended

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close the connection. Does nothing once closed or disconnected.

        On servers that declared an ASGI spec below 2.3 the reason is not sent. If the server
        reports the client already gone (``OSError``), ``close_code`` becomes 1006 and nothing
        is raised.

        Raises:
            RuntimeError: in CONNECTING (use ``deny()`` to refuse a handshake).
            ValueError: ``code`` is not 1000-1003, 1007-1014 or 3000-4999, or ``reason`` is
                longer than 123 UTF-8 bytes.
        """
        if self._state is not _CONNECTED:
            if self._state is _DISCONNECTED:
                return
            raise RuntimeError("close() before accept(); use deny() to refuse the handshake.")
        # The usual values (the int 1000, reason "") need no checks and no call.
        if type(code) is not int or code != 1000 or type(reason) is not str or reason:
            message = close_message(code, reason, self._server)
        else:
            message = {"type": "websocket.close", "code": 1000}
        self._closing(code, reason)
        send = self._send
        try:
            await send(message)
        except OSError:  # the client is already gone: not raised
            self._close_code, self._close_reason = ABNORMAL, ""

    # -- internals ---------------------------------------------------------------------------

    def _lost(self, exc: WebSocketDisconnect) -> NoReturn:
        """Record that the client left, then raise ``exc``.

        The first cause wins: once DISCONNECTED (the app closed, or a concurrent task saw the
        loss) ``close_code`` and ``close_reason`` are kept; ``exc`` is raised all the same,
        unless the client was already recorded as gone (or ``_end()`` ended the connection):
        then that recorded code and reason are raised.
        """
        if self._client_left:  # recorded before (or the hub ended it): that cause is raised
            self._refuse("receive")
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
            self._record_lost(ABNORMAL, "")
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
        if self._ahead is not None:
            self._ahead.cancel()

    async def _receive_slow(self, action: str, timeout: float | None = None) -> Message:
        """``receive()`` off the fast path: refuse outside CONNECTED, else receive through the
        slot (receiving ahead, or a timed receive: see ``_receive_ahead``)."""
        if timeout is not None:
            check_timeout(timeout)
        if self._state is not _CONNECTED:
            self._refuse(action)
        ahead = self._ahead
        if ahead is None:  # a timed receive on a 2.4 server: the slot only, no send counting
            ahead = self._ahead = ReceiveAhead(self._receive, self._record_lost, count_sends=False)
        self._direct = False  # while a receive may be left in the slot, receives go through it
        try:
            return await ahead.receive(timeout)
        finally:
            self._direct_again()

    def _direct_again(self) -> None:
        """Back on the fast path once nothing holds receives in the slot (2.4 servers only)."""
        ahead = self._ahead
        if (
            self._server.send_raises
            and self._state is _CONNECTED
            and ahead is not None
            and not ahead.pending
            and not ahead.wakeable
        ):
            self._direct = True

    def _send_slow(self, action: str) -> None:
        """Before a send off the fast path: refuse outside CONNECTED."""
        if self._state is not _CONNECTED:
            self._refuse(action)

    def _sent(self) -> None:
        """After a send off the fast path: count it towards receiving ahead, if still open."""
        if self._state is _CONNECTED:
            assert self._ahead is not None
            self._ahead.sent()

    # -- for genro_asgi.hub ------------------------------------------------------------------

    async def _send_message(self, message: Message) -> None:
        """Send a ``websocket.send`` message built by the caller (one per publish, shared by
        every member), with the checks of ``send_*`` but the payload's.

        Raises:
            RuntimeError, WebSocketDisconnect: as ``send_text()``.
        """
        # A member is never on the fast path (its receives go through the slot), so the
        # checks of _send_slow() and _sent() are made inline: a call each is about 400
        # instructions on 3.11, a third of this method's cost per frame.
        if self._state is not _CONNECTED:
            self._refuse("send")
        send = self._send
        try:
            await send(message)
        except OSError:
            self._lost(WebSocketDisconnect(ABNORMAL))
        ahead = self._ahead
        if ahead is not None and ahead.counting and self._state is _CONNECTED:
            ahead.sent()

    def _wakeable(self, on: bool) -> None:
        """While on, every receive runs in the receive-ahead slot, so that ``_end()`` wakes a
        receive pending in the server at once (the hub sets it while a member is attached)."""
        if self._state is not _CONNECTED:
            return
        if self._ahead is None:
            self._ahead = ReceiveAhead(self._receive, self._record_lost, count_sends=False)
        self._ahead.wakeable = on
        if on:
            self._direct = False
        else:
            self._direct_again()

    async def _end(self, code: int, reason: str) -> None:
        """End the connection from the application's side as if the client had left with
        ``code`` and ``reason``: send ``websocket.close``, then every later ``receive_*``/
        ``send_*`` raises ``WebSocketDisconnect(code, reason)`` and ``iter_*`` loops end; so
        does a receive pending in the server, at once while ``_wakeable(True)``, else when
        the server answers. Does nothing once DISCONNECTED; never raises for ``OSError``; a
        server that refuses ``code`` gets a close with 1000 instead.

        Raises:
            RuntimeError: in CONNECTING.
        """
        if self._state is not _CONNECTED:
            if self._state is _DISCONNECTED:
                return
            raise RuntimeError("_end() before accept(): the hub takes accepted connections.")
        message = close_message(code, reason, self._server)
        self._client_left = True
        if self._ahead is not None:
            self._ahead.end(code, reason)  # a receive waiting in the slot raises at once
        self._closing(code, reason)
        send = self._send
        try:
            await send(message)
        except OSError:  # the client is already gone: ended all the same
            pass
        except Exception:
            if code == 1000:
                raise
            # A server that refuses the code (daphne takes only 1000 and 3000-4999): the
            # connection must close all the same, so the client sees 1000 (the handler still
            # sees ``code``).
            with contextlib.suppress(OSError):
                await send(close_message(1000, reason, self._server))

    # -- receiving ---------------------------------------------------------------------------

    async def receive_text(self, timeout: float | None = None) -> str:
        """Receive a text frame, waiting at most ``timeout`` seconds (None: no limit).

        Raises:
            RuntimeError: not connected, or an unexpected ASGI message.
            TypeError: a binary frame arrived (use ``receive_bytes()``), or ``timeout`` is
                not a number.
            ValueError: ``timeout`` is negative.
            TimeoutError: ``timeout`` seconds passed first (nothing is consumed or lost, and
                the connection stays CONNECTED).
            WebSocketDisconnect: the client disconnected.
        """
        if not self._direct or timeout is not None:
            message = await self._receive_slow("receive_text", timeout)
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

    async def receive_bytes(self, timeout: float | None = None) -> bytes:
        """Receive a binary frame, waiting at most ``timeout`` seconds (None: no limit).

        Raises:
            RuntimeError: not connected, or an unexpected ASGI message.
            TypeError: a text frame arrived (use ``receive_text()``), or ``timeout`` is not
                a number.
            ValueError: ``timeout`` is negative.
            TimeoutError: ``timeout`` seconds passed first (nothing is consumed or lost, and
                the connection stays CONNECTED).
            WebSocketDisconnect: the client disconnected.
        """
        if not self._direct or timeout is not None:
            message = await self._receive_slow("receive_bytes", timeout)
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

    async def receive_data(self, timeout: float | None = None) -> str | bytes:
        """Receive a frame of either kind: ``str`` for text, ``bytes`` for binary, waiting at
        most ``timeout`` seconds (None: no limit).

        Raises:
            RuntimeError: not connected, or an unexpected ASGI message.
            TypeError, ValueError: a bad ``timeout``, as in ``receive_text()``.
            TimeoutError: ``timeout`` seconds passed first (nothing is consumed or lost, and
                the connection stays CONNECTED).
            WebSocketDisconnect: the client disconnected.
        """
        if not self._direct or timeout is not None:
            message = await self._receive_slow("receive_data", timeout)
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

    async def receive_json(self, mode: JsonMode = "text", timeout: float | None = None) -> Any:
        """Receive a JSON value from a text frame, or a UTF-8 binary frame with ``mode="binary"``.

        Raises:
            ValueError: ``mode`` is neither ``"text"`` nor ``"binary"``.
            RuntimeError: not connected, or an unexpected ASGI message.
            TypeError: a frame of the other kind arrived.
            json.JSONDecodeError: the payload is not valid JSON (or not UTF-8).
            TimeoutError, WebSocketDisconnect: as ``receive_text()`` (so is a bad ``timeout``).
        """
        if mode == "text":
            return _json.loads(await self.receive_text(timeout))
        if mode == "binary":
            return _json.loads(await self.receive_bytes(timeout))
        raise ValueError(f"mode must be 'text' or 'binary', got {mode!r}.")

    async def receive_typed(self, timeout: float | None = None) -> Any:
        """Receive a text frame of TYTX JSON, typed values hydrated (plain JSON passes through).

        Raises:
            ImportError: genro-tytx is not installed (``pip install genro-asgi[tytx]``).
            RuntimeError, TypeError, ValueError, TimeoutError, WebSocketDisconnect: as
                ``receive_text()``.
        """
        _tytx._tytx()  # without genro-tytx, fail before a frame is consumed
        return _tytx.decode(await self.receive_text(timeout))

    async def iter_text(self) -> AsyncIterator[str]:
        """Yield text frames until the client disconnects.

        Raises:
            RuntimeError: not connected, or an unexpected ASGI message.
            TypeError: a binary frame arrived (use ``iter_bytes()``).
        """
        try:
            while True:
                yield await self.receive_text()
        except WebSocketDisconnect:
            return

    async def iter_bytes(self) -> AsyncIterator[bytes]:
        """Yield binary frames until the client disconnects.

        Raises:
            RuntimeError: not connected, or an unexpected ASGI message.
            TypeError: a text frame arrived (use ``iter_text()``).
        """
        try:
            while True:
                yield await self.receive_bytes()
        except WebSocketDisconnect:
            return

    async def iter_json(self, mode: JsonMode = "text") -> AsyncIterator[Any]:
        """Yield JSON values (as ``receive_json(mode)``) until the client disconnects.

        Raises:
            ValueError, RuntimeError, TypeError, json.JSONDecodeError: as ``receive_json()``.
        """
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
            self._lost(WebSocketDisconnect(ABNORMAL))
        if not self._direct:
            self._sent()

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
            self._lost(WebSocketDisconnect(ABNORMAL))
        if not self._direct:
            self._sent()

    async def send_json(self, data: Any, mode: JsonMode = "text") -> None:
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


__all__ = ["WebSocket", "WebSocketState"]
