# cython: language_level=3, freethreading_compatible=True, embedsignature=True
# cython: binding=False, always_allow_keywords=False
"""Compiled message dispatch: the twin of ``_dispatch_py.py`` (same results, same exceptions).

A plain ``dict`` message (what every server sends) takes a C fast path: borrowed dictionary
look-ups and exact-type checks, no method calls. Anything else goes through the generic
Python protocol, exactly as the pure twin does, so odd inputs fail the same way.

``binding=False`` and ``always_allow_keywords=False`` make each one-argument function a plain
``METH_O`` builtin, the cheapest call CPython has (the pure twin's argument is positional-only,
so both reject ``message=`` alike).
"""

from cpython.dict cimport PyDict_GetItemWithError, PyDict_Size
from cpython.object cimport PyObject

from .exceptions import WebSocketDisconnect

cdef str _RECEIVE = "websocket.receive"
cdef str _DISCONNECT = "websocket.disconnect"


cdef object _payload(object message):
    """The ``text`` or ``bytes`` of a ``websocket.receive`` message."""
    cdef object kind, text, data
    cdef PyObject* found
    if type(message) is dict:
        found = PyDict_GetItemWithError(message, "type")
        if found is NULL:
            raise RuntimeError(f"Malformed ASGI message without a 'type': {message!r}")
        kind = <object>found
    else:
        try:
            kind = message["type"]
        except (KeyError, TypeError, IndexError):
            raise RuntimeError(f"Malformed ASGI message without a 'type': {message!r}") from None
    if kind == _RECEIVE:
        if type(message) is dict:
            found = PyDict_GetItemWithError(message, "text")
            text = None if found is NULL else <object>found
            if text is not None and PyDict_Size(message) == 2:
                data = None  # only "type" and "text": no "bytes" to look up
            else:
                found = PyDict_GetItemWithError(message, "bytes")
                data = None if found is NULL else <object>found
        else:
            text = message.get("text")
            data = message.get("bytes")
        if text is not None:
            if data is not None:
                raise RuntimeError("websocket.receive message has both 'text' and 'bytes'.")
            if not isinstance(text, str):
                raise TypeError(
                    f"websocket.receive 'text' must be str, got {type(text).__name__}."
                )
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


cpdef object disconnect_exception(object message):
    """The ``WebSocketDisconnect`` that a ``websocket.disconnect`` message stands for."""
    cdef object code = message.get("code")
    cdef object reason = message.get("reason")
    if code is None:
        code = 1005
    elif not isinstance(code, int) or isinstance(code, bool):
        raise TypeError(f"websocket.disconnect 'code' must be int, got {type(code).__name__}.")
    if reason is None:
        reason = ""
    elif not isinstance(reason, str):
        raise TypeError(
            f"websocket.disconnect 'reason' must be str, got {type(reason).__name__}."
        )
    return WebSocketDisconnect(code, reason)


cpdef object text_payload(object message):
    """The text of a text frame; ``TypeError`` for a binary frame."""
    cdef object payload = _payload(message)
    if isinstance(payload, bytes):
        raise TypeError("Received binary message. Use receive_bytes() for binary data.")
    return payload


cpdef object bytes_payload(object message):
    """The data of a binary frame; ``TypeError`` for a text frame."""
    cdef object payload = _payload(message)
    if isinstance(payload, str):
        raise TypeError("Received text message. Use receive_text() for text data.")
    return payload


cpdef object data_payload(object message):
    """The payload of either kind of frame."""
    return _payload(message)
