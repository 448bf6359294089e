# cython: language_level=3, freethreading_compatible=True, embedsignature=True
# cython: binding=False, always_allow_keywords=False
"""Compiled message dispatch: the twin of ``_dispatch_py.py`` (same results, same exceptions).

A plain ``dict`` message (what every server sends) takes a C fast path: one pass over its
entries that knows the interned keys by identity (no hashing), else borrowed look-ups, and
exact-type checks, no method calls. Anything else goes through the generic Python protocol,
exactly as the pure twin does, so odd inputs fail the same way.

``binding=False`` and ``always_allow_keywords=False`` make each one-argument function a plain
``METH_O`` builtin, the cheapest call CPython has (the pure twin's argument is positional-only,
so both reject ``message=`` alike).
"""

from sys import intern

from cpython.dict cimport PyDict_GetItemWithError, PyDict_Next
from cpython.object cimport PyObject

from .exceptions import WebSocketDisconnect

cdef str _RECEIVE = "websocket.receive"
cdef str _DISCONNECT = "websocket.disconnect"
# The interned keys: a server's message literals use these very objects (CPython interns
# identifier-like constants), so one pass over the dict recognizes them by identity.
cdef object _TYPE = intern("type")
cdef object _TEXT = intern("text")
cdef object _BYTES = intern("bytes")


cdef bint _scan_frame(dict message, PyObject** kind, PyObject** text, PyObject** data):
    """One pass over ``message``: borrowed pointers to its ``type``/``text``/``bytes``.

    False when a key is not one of the interned three (an extra key, or an equal string that
    is another object): the caller then looks the keys up. Only identities are compared, so
    no Python code runs while the borrowed pointers are held. At most three keys are read.
    """
    cdef Py_ssize_t pos = 0
    cdef PyObject* key
    cdef PyObject* value
    while PyDict_Next(message, &pos, &key, &value):
        if key == <PyObject*>_TYPE:
            kind[0] = value
        elif key == <PyObject*>_TEXT:
            text[0] = value
        elif key == <PyObject*>_BYTES:
            data[0] = value
        else:
            return False
    return True


cdef object _payload(object message):
    """The ``text`` or ``bytes`` of a ``websocket.receive`` message."""
    cdef object kind
    cdef object text = None
    cdef object data = None
    cdef PyObject* found_kind = NULL
    cdef PyObject* found_text = NULL
    cdef PyObject* found_data = NULL
    cdef bint scanned = False
    if type(message) is dict:
        scanned = _scan_frame(message, &found_kind, &found_text, &found_data)
        if not scanned:
            found_kind = PyDict_GetItemWithError(message, "type")
        if found_kind is NULL:
            raise RuntimeError(f"Malformed ASGI message without a 'type': {message!r}.")
        kind = <object>found_kind
        # With an exact str type, comparing it runs no Python code that could change the
        # message, so the scanned payloads are still the message's.
        scanned = scanned and type(kind) is str
        if scanned:
            text = None if found_text is NULL else <object>found_text
            data = None if found_data is NULL else <object>found_data
    else:
        try:
            kind = message["type"]
        except (KeyError, TypeError, IndexError):
            raise RuntimeError(f"Malformed ASGI message without a 'type': {message!r}.") from None
    if kind == _RECEIVE:
        if scanned:
            pass
        elif type(message) is dict:
            found_text = PyDict_GetItemWithError(message, "text")
            text = None if found_text is NULL else <object>found_text
            found_data = PyDict_GetItemWithError(message, "bytes")
            data = None if found_data is NULL else <object>found_data
        else:
            text = message.get("text")
            data = message.get("bytes")
        return _frame_payload(text, data)
    if kind == _DISCONNECT:
        raise disconnect_exception(message)
    raise RuntimeError(f"Unexpected ASGI message {kind!r} on an open WebSocket.")


cdef object _frame_payload(object text, object data):
    """The payload of a ``websocket.receive`` message's ``text``/``bytes`` (None if absent)."""
    if text is not None:
        if data is not None:
            raise RuntimeError("websocket.receive message has both 'text' and 'bytes'.")
        if not isinstance(text, str):
            raise TypeError(f"websocket.receive 'text' must be str, got {type(text).__name__}.")
        return text
    if data is not None:
        if not isinstance(data, bytes):
            raise TypeError(f"websocket.receive 'bytes' must be bytes, got {type(data).__name__}.")
        return data
    raise RuntimeError("websocket.receive message has neither 'text' nor 'bytes'.")


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
