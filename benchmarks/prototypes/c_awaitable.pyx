# cython: language_level=3
"""PROTOTYPE, not used by genro-asgi: C-level awaitables for the message loop (issue 3).

``text_receive(ws, awaitable)`` forwards the server's ``receive()`` awaitable and converts the
message it returns to the text payload; ``send_forward(ws, awaitable)`` forwards ``send()`` and
turns ``OSError`` into ``WebSocketDisconnect(1006)``. They replace the ``async def`` layer of
``receive_text()``/``send_text()``: the methods become plain functions that return these.

- Python 3.10/3.11: ``await`` calls the type's ``am_send`` slot, so the result comes back
  without an exception (set below, at import).
- Python 3.12+: ``await`` on anything but a generator/coroutine calls ``tp_iternext`` and takes
  the result from a ``StopIteration``: one exception object per message (set in C below, with no
  traceback).

Only the dict text-frame fast path is converted here; anything else raises ``TypeError``, and
a disconnect calls ``ws._lost``. Measure with ``python benchmarks/prototypes/c_awaitable.py``.
"""

cimport cython
from cpython.object cimport PyObject

from genro_asgi.exceptions import WebSocketDisconnect

cdef extern from "Python.h":
    ctypedef enum PySendResult:
        PYGEN_RETURN
        PYGEN_ERROR
        PYGEN_NEXT
    PySendResult PyIter_Send(PyObject* iter, PyObject* arg, PyObject** presult)
    ctypedef PySendResult (*sendfunc)(PyObject*, PyObject*, PyObject**)
    ctypedef PyObject* (*iternextfunc)(PyObject*)
    ctypedef struct PyAsyncMethods:
        sendfunc am_send
    ctypedef struct PyTypeObject:
        PyAsyncMethods* tp_as_async
        iternextfunc tp_iternext
    void Py_DECREF(PyObject*)
    void Py_INCREF(PyObject*)
    void PyErr_SetObject(PyObject*, PyObject*)
    int PyErr_ExceptionMatches(PyObject*)
    void PyErr_Clear()
    PyObject* PyExc_StopIteration
    PyObject* PyExc_OSError
    int PyCoro_CheckExact(object)
    PyObject* PyDict_GetItemWithError(object, object) except? NULL


cdef inline object _iter_of(object awaitable):
    return awaitable if PyCoro_CheckExact(awaitable) else awaitable.__await__()


cdef object _text(object ws, object message):
    """The text of a text frame (dict fast path only, for the measurement)."""
    cdef PyObject* found
    if type(message) is dict:
        found = PyDict_GetItemWithError(message, "type")
        if found is not NULL and (<object>found) == "websocket.receive":
            found = PyDict_GetItemWithError(message, "text")
            if found is not NULL and type(<object>found) is str:
                if PyDict_GetItemWithError(message, "bytes") is NULL:
                    return <object>found
        elif found is not NULL and (<object>found) == "websocket.disconnect":
            ws._lost(WebSocketDisconnect(message.get("code", 1005), message.get("reason") or ""))
    raise TypeError("prototype: only text frames are converted")


@cython.freelist(8)
cdef class TextReceive:
    cdef object ws
    cdef object inner

    def __await__(self):
        return self

    def send(self, value):
        cdef PyObject* result = NULL
        cdef PySendResult status = _text_send(<PyObject*>self, <PyObject*>value, &result)
        obj = <object>result  # Cython takes its own reference: drop ours
        Py_DECREF(result)
        if status == PYGEN_NEXT:
            return obj
        raise StopIteration(obj)

    def throw(self, *args):
        try:
            return self.inner.throw(*args)
        except StopIteration as done:
            raise StopIteration(_text(self.ws, done.value)) from None

    def close(self):
        self.inner.close()


cdef PySendResult _text_send(PyObject* me, PyObject* arg, PyObject** presult) except PYGEN_ERROR:
    cdef TextReceive self = <TextReceive>me
    cdef PyObject* result = NULL
    presult[0] = NULL
    cdef PySendResult status = PyIter_Send(<PyObject*>self.inner, arg, &result)
    if status == PYGEN_NEXT:
        presult[0] = result
        return status
    if status == PYGEN_ERROR:
        return status  # the server's exception, as set by PyIter_Send
    message = <object>result
    Py_DECREF(result)
    payload = _text(self.ws, message)
    Py_INCREF(<PyObject*>payload)
    presult[0] = <PyObject*>payload
    return PYGEN_RETURN


cdef PyObject* _text_next(PyObject* me) except NULL:
    cdef PyObject* result = NULL
    if _text_send(me, <PyObject*>None, &result) == PYGEN_NEXT:
        return result
    PyErr_SetObject(PyExc_StopIteration, result)  # str payload: no tuple unpacking
    Py_DECREF(result)
    return NULL


(<PyTypeObject*>TextReceive).tp_as_async.am_send = <sendfunc>_text_send
(<PyTypeObject*>TextReceive).tp_iternext = <iternextfunc>_text_next


def text_receive(ws, awaitable):
    cdef TextReceive aw = TextReceive.__new__(TextReceive)
    aw.ws = ws
    aw.inner = _iter_of(awaitable)
    return aw


@cython.freelist(8)
cdef class SendForward:
    cdef object ws
    cdef object inner

    def __await__(self):
        return self

    def send(self, value):
        cdef PyObject* result = NULL
        cdef PySendResult status = _forward_send(<PyObject*>self, <PyObject*>value, &result)
        obj = <object>result  # Cython takes its own reference: drop ours
        Py_DECREF(result)
        if status == PYGEN_NEXT:
            return obj
        raise StopIteration(obj)

    def throw(self, *args):
        try:
            return self.inner.throw(*args)
        except OSError:
            self.ws._lost(WebSocketDisconnect(1006))

    def close(self):
        self.inner.close()


cdef PySendResult _forward_send(PyObject* me, PyObject* arg, PyObject** presult) except PYGEN_ERROR:
    cdef SendForward self = <SendForward>me
    presult[0] = NULL
    cdef PySendResult status = PyIter_Send(<PyObject*>self.inner, arg, presult)
    if status != PYGEN_ERROR:
        return status
    if PyErr_ExceptionMatches(PyExc_OSError):
        PyErr_Clear()
        self.ws._lost(WebSocketDisconnect(1006))
    return status  # any other exception of the server's send, still set


cdef PyObject* _forward_next(PyObject* me) except? NULL:
    cdef PyObject* result = NULL
    if _forward_send(me, <PyObject*>None, &result) == PYGEN_NEXT:
        return result
    Py_DECREF(result)  # None: NULL without an exception means "returned None"
    return NULL


(<PyTypeObject*>SendForward).tp_as_async.am_send = <sendfunc>_forward_send
(<PyTypeObject*>SendForward).tp_iternext = <iternextfunc>_forward_next


def send_forward(ws, awaitable):
    cdef SendForward aw = SendForward.__new__(SendForward)
    aw.ws = ws
    aw.inner = _iter_of(awaitable)
    return aw
