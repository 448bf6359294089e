"""Handshake and close checks, and the messages they lead to: plain functions, no I/O.

``WebSocket`` calls these before it awaits anything, so every bad argument raises before a
message is received or sent; they are tested without an event loop.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, TypeAlias

from ._capabilities import ServerCapabilities
from .types import Message

#: What ``accept()`` and ``deny()`` take as headers.
HeadersArg: TypeAlias = "Mapping[Any, Any] | Iterable[tuple[str | bytes, str | bytes]]"

ABNORMAL = 1006  # RFC 6455: the connection was lost without a close frame
MAX_REASON_BYTES = 123  # RFC 6455: a close frame's payload is at most 125 bytes
_FORBIDDEN_HEADER_BYTES = (b"\r", b"\n", b"\0")


def valid_close_code(code: object) -> bool:
    """RFC 6455 codes an endpoint may send: 1000-1003, 1007-1014 and 3000-4999."""
    if not isinstance(code, int) or isinstance(code, bool):
        return False
    return 1000 <= code <= 1003 or 1007 <= code <= 1014 or 3000 <= code <= 4999


def check_close(code: object, reason: object) -> None:
    """Raise ``ValueError`` unless ``code`` may be sent and ``reason`` fits a close frame."""
    if not valid_close_code(code):
        raise ValueError(f"Close code must be 1000-1003, 1007-1014 or 3000-4999, got {code!r}.")
    if not isinstance(reason, str) or len(reason.encode()) > MAX_REASON_BYTES:
        raise ValueError(f"Close reason must be a str of at most 123 UTF-8 bytes: {reason!r}.")


def check_timeout(timeout: object) -> None:
    """Raise unless ``timeout`` is a number of seconds, zero or more (zero polls).

    Raises:
        TypeError: not an int or float.
        ValueError: negative, or NaN.
    """
    if not isinstance(timeout, (int, float)) or isinstance(timeout, bool):
        raise TypeError(f"timeout must be a number of seconds or None, got {timeout!r}.")
    if not timeout >= 0:  # NaN fails this too
        raise ValueError(f"timeout must be zero or more seconds, got {timeout!r}.")


def close_message(code: object, reason: object, server: ServerCapabilities) -> Message:
    """``websocket.close`` for a checked ``code`` and ``reason``, the reason sent only where
    the server can take one.

    Raises:
        ValueError: as ``check_close()``.
    """
    check_close(code, reason)
    message: Message = {"type": "websocket.close", "code": code}
    if reason and server.close_reason:
        message["reason"] = reason
    return message


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


def encode_headers(headers: HeadersArg) -> list[tuple[bytes, bytes]]:
    """Validate response headers into the ASGI form, names lowercased.

    Raises:
        TypeError: not a mapping or (name, value) pairs, or a name or value that is neither
            str nor bytes.
        ValueError: an empty name, a non-latin-1 str, CR, LF or NUL, or a
            ``sec-websocket-protocol`` header (``accept()`` takes the subprotocol).
    """
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


def accept_message(
    subprotocol: str | None, headers: HeadersArg | None, server: ServerCapabilities
) -> Message:
    """``websocket.accept`` for ``subprotocol`` and ``headers`` (validated).

    Raises:
        RuntimeError: headers on a server that declared an ASGI spec below 2.1.
        TypeError, ValueError: bad headers, as ``encode_headers()``.
    """
    message: Message = {"type": "websocket.accept", "subprotocol": subprotocol}
    if headers is not None:
        raw_headers = encode_headers(headers)
        if raw_headers:
            if not server.accept_headers:
                raise RuntimeError(
                    "This server declared ASGI spec < 2.1, so it cannot send accept headers."
                )
            message["headers"] = raw_headers
    return message


def denial_messages(status: object, headers: HeadersArg | None, body: object) -> list[Message]:
    """The ``websocket.http.response`` messages that refuse a handshake with ``status``.

    Raises:
        ValueError: ``status`` is not an int from 100 to 599, or a bad header.
        TypeError: ``body`` is not bytes, or bad headers.
    """
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        raise ValueError(f"HTTP status must be an int from 100 to 599, got {status!r}.")
    if not isinstance(body, bytes):
        raise TypeError(f"body must be bytes, got {type(body).__name__}.")
    raw_headers = [] if headers is None else encode_headers(headers)
    return [
        {"type": "websocket.http.response.start", "status": status, "headers": raw_headers},
        {"type": "websocket.http.response.body", "body": body},
    ]
