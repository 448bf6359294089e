"""Pure-Python message dispatch: the reference for ``_dispatch_c.pyx``.

There is no ``.pyi``: the switch ``_dispatch.py`` imports this module under ``TYPE_CHECKING``,
so the type checker reads these signatures for the compiled module too.

Each function takes a message returned by the server's ``receive()`` while the connection is
open and returns its payload, or raises:

- ``WebSocketDisconnect(code, reason)`` for ``websocket.disconnect`` (code 1005 when absent);
- ``TypeError`` for a frame of the other kind, naming the method to use instead, or a payload
  of the wrong type;
- ``RuntimeError`` for a malformed message (no ``type``, neither or both payloads) or any other
  message type, naming it.
"""

from __future__ import annotations

from typing import Any

from .exceptions import WebSocketDisconnect

_RECEIVE = "websocket.receive"
_DISCONNECT = "websocket.disconnect"


def _payload(message: Any) -> str | bytes:
    """The ``text`` or ``bytes`` of a ``websocket.receive`` message."""
    try:
        kind = message["type"]
    except (KeyError, TypeError, IndexError):
        raise RuntimeError(f"Malformed ASGI message without a 'type': {message!r}.") from None
    if kind == _RECEIVE:
        text = message.get("text")
        data = message.get("bytes")
        if text is not None:
            if data is not None:
                raise RuntimeError("websocket.receive message has both 'text' and 'bytes'.")
            if not isinstance(text, str):
                raise TypeError(f"websocket.receive 'text' must be str, got {type(text).__name__}.")
            return text
        if data is not None:
            if not isinstance(data, bytes):
                raise TypeError(
                    f"websocket.receive 'bytes' must be bytes, got {type(data).__name__}."
                )
            return data
        raise RuntimeError("websocket.receive message has neither 'text' nor 'bytes'.")
    if kind == _DISCONNECT:
        raise disconnect_exception(message)
    raise RuntimeError(f"Unexpected ASGI message {kind!r} on an open WebSocket.")


def disconnect_exception(message: Any, /) -> WebSocketDisconnect:
    """The ``WebSocketDisconnect`` that a ``websocket.disconnect`` message stands for."""
    code = message.get("code")
    reason = message.get("reason")
    if code is None:
        code = 1005
    elif not isinstance(code, int) or isinstance(code, bool):
        raise TypeError(f"websocket.disconnect 'code' must be int, got {type(code).__name__}.")
    if reason is None:
        reason = ""
    elif not isinstance(reason, str):
        raise TypeError(f"websocket.disconnect 'reason' must be str, got {type(reason).__name__}.")
    return WebSocketDisconnect(code, reason)


def text_payload(message: Any, /) -> str:
    """The text of a text frame; ``TypeError`` for a binary frame."""
    if type(message) is dict:  # the usual message in one call; anything else as _payload says
        text = message.get("text")
        if type(text) is str and message.get("type") == _RECEIVE and "bytes" not in message:
            return text
    payload = _payload(message)
    if isinstance(payload, bytes):
        raise TypeError("Received binary message. Use receive_bytes() for binary data.")
    return payload


def bytes_payload(message: Any, /) -> bytes:
    """The data of a binary frame; ``TypeError`` for a text frame."""
    if type(message) is dict:  # the usual message in one call; anything else as _payload says
        data = message.get("bytes")
        if type(data) is bytes and message.get("type") == _RECEIVE and "text" not in message:
            return data
    payload = _payload(message)
    if isinstance(payload, str):
        raise TypeError("Received text message. Use receive_text() for text data.")
    return payload


def data_payload(message: Any, /) -> str | bytes:
    """The payload of either kind of frame."""
    return _payload(message)
