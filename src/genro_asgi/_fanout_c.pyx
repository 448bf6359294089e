# cython: language_level=3, freethreading_compatible=True, embedsignature=True
# cython: binding=False
"""Compiled fan-out: the twin of ``_fanout_py.py`` (same results, same counters, same order).

The outbox is a ring of ``max_queue`` object pointers allocated once, so queuing a frame is a
reference count and a pointer store; ``fanout()`` walks the topic's dict with ``PyDict_Next``
and reads each outbox's fields from its C struct. Waking a parked writer is a list append on
the drain's ready list (the drain's task is woken once per batch); the drain steps each send with
``PyIter_Send`` inside the writer's context (``PyContext_Enter``), so a send that completes
raises no ``StopIteration``.

Like the rest of the hub, an outbox belongs to one event loop: it is not meant to be shared
between threads (the free-threaded build needs no GIL for it because nothing else touches it).
"""

from cpython.dict cimport PyDict_Next
from cpython.list cimport PyList_Append
from cpython.mem cimport PyMem_Free, PyMem_Malloc
from cpython.object cimport PyObject
from cpython.ref cimport Py_INCREF, Py_XDECREF


cdef extern from "Python.h":
    # Both in the C API since 3.7 (contexts) and 3.10 (PyIter_Send): -1 is an error set.
    int PyContext_Enter(object context) except -1
    int PyContext_Exit(object context) except -1
    int PyIter_Send(object iterator, object arg, PyObject** result) except -1
    enum:
        PYGEN_RETURN
        PYGEN_NEXT

CLOSE = 0
DROP_OLDEST = 1
DROP_NEWEST = 2
QUEUED = 1
DROPPED = 0
FULL = -1

cdef class Drain


cdef enum:
    _CLOSE = 0
    _DROP_OLDEST = 1
    _DROP_NEWEST = 2


cdef class Outbox:
    """A bounded FIFO of outgoing messages, its policy, its counters and its writer's waiter.

    Raises:
        ValueError: ``max_queue`` is below 1, or ``on_full`` is not a known policy.
    """

    cdef PyObject** _items
    cdef Py_ssize_t _head
    cdef Py_ssize_t _count
    cdef readonly Py_ssize_t max_queue
    cdef readonly int on_full
    cdef public Py_ssize_t dropped
    cdef public Py_ssize_t sent
    cdef public object waiter
    cdef public bint closed
    cdef public Drain drain
    cdef public object send
    cdef public object context
    cdef bint _ready

    def __cinit__(self):
        self._items = NULL
        self._head = 0
        self._count = 0

    def __init__(self, max_queue, on_full):
        if type(max_queue) is not int or max_queue < 1:
            raise ValueError(f"max_queue must be an int of at least 1, got {max_queue!r}.")
        if type(on_full) is not int or on_full not in (_CLOSE, _DROP_OLDEST, _DROP_NEWEST):
            raise ValueError(f"Unknown on_full policy {on_full!r}.")
        cdef Py_ssize_t size = max_queue
        cdef PyObject** items = <PyObject**>PyMem_Malloc(size * sizeof(PyObject*))
        if items == NULL:
            raise MemoryError()
        self._release()
        self._items = items
        self.max_queue = size
        self.on_full = on_full
        self.dropped = 0
        self.sent = 0
        self.waiter = None
        self.closed = False
        self.drain = None
        self.send = None
        self.context = None
        self._ready = False

    def __dealloc__(self):
        self._release()

    cdef void _release(self):
        self._clear()
        PyMem_Free(self._items)
        self._items = NULL

    cdef void _clear(self):
        cdef PyObject* item
        while self._count:
            item = self._items[self._head]
            self._items[self._head] = NULL
            self._head += 1
            if self._head == self.max_queue:
                self._head = 0
            self._count -= 1
            Py_XDECREF(item)  # last: a finalizer it runs sees a consistent ring
        self._head = 0

    cdef inline void _append(self, object message):
        cdef Py_ssize_t index = self._head + self._count
        if index >= self.max_queue:
            index -= self.max_queue
        Py_INCREF(message)
        self._items[index] = <PyObject*>message
        self._count += 1

    cdef inline void _drop_oldest(self):
        cdef PyObject* item = self._items[self._head]
        self._items[self._head] = NULL
        self._head += 1
        if self._head == self.max_queue:
            self._head = 0
        self._count -= 1
        Py_XDECREF(item)

    cdef int _wake(self) except -1:
        """The writer is parked: put the outbox on the drain's ready list, or wake the writer."""
        cdef object waiter
        if self.drain is None or self.send is None:
            waiter = self.waiter
            self.waiter = None
            waiter.set_result(None)
        elif not self._ready:
            self._ready = True
            self.drain._add(self)
        return 0

    cdef int _drive(self) except -1:
        """Send the queued frames while the writer stays parked (see ``_fanout_py``)."""
        cdef object waiter = self.waiter
        cdef object send = self.send
        cdef object context = self.context
        cdef object message
        cdef object coroutine
        cdef object step
        cdef PyObject* result
        cdef int status
        self._ready = False
        if waiter is None:
            return 0  # the writer was woken meanwhile (the member ends or detaches): it sends
        while self._count:
            message = <object>self._items[self._head]  # a new reference
            self._drop_oldest()
            result = NULL
            try:
                coroutine = send(message)
                if context is None:
                    status = PyIter_Send(coroutine, None, &result)
                else:
                    PyContext_Enter(context)
                    try:
                        status = PyIter_Send(coroutine, None, &result)
                    finally:
                        PyContext_Exit(context)
            except BaseException as exc:  # the writer raises it, as if it had sent the frame
                self.waiter = None
                waiter.set_exception(exc)
                return 0
            step = <object>result  # a new reference from PyIter_Send, taken over below
            Py_XDECREF(result)
            if status == PYGEN_RETURN:
                self.sent += 1
                continue
            self.waiter = None
            waiter.set_result((coroutine, step))
            return 0
        return 0

    def __len__(self):
        return self._count

    def push(self, message):
        """Queue ``message`` under the policy: ``QUEUED``, ``DROPPED`` (drop_newest, or a
        closed outbox) or ``FULL`` (policy CLOSE: the caller ends the member)."""
        if self.closed:
            return DROPPED
        if self._count >= self.max_queue:
            if self.on_full == _CLOSE:
                return FULL
            self.dropped += 1
            if self.on_full == _DROP_NEWEST:
                return DROPPED
            self._drop_oldest()
        self._append(message)
        if self.waiter is not None:
            self._wake()
        return QUEUED

    def take(self):
        """The oldest queued message, removed; None when the outbox is empty."""
        cdef object message
        if self._count == 0:
            return None
        message = <object>self._items[self._head]  # a new reference
        self._drop_oldest()
        return message

    def clear(self):
        """Drop every queued message (not counted: the member is ending)."""
        self._clear()


def fanout(dict outboxes not None, object message, object exclude):
    """Queue ``message`` on every outbox of ``outboxes`` (its values) but ``exclude``'s (a key).

    Returns how many outboxes queued it, and the keys of the full outboxes whose policy is
    CLOSE (None when there are none), for the caller to end.
    """
    cdef Py_ssize_t pos = 0
    cdef Py_ssize_t queued = 0
    cdef PyObject* key
    cdef PyObject* value
    cdef Outbox outbox
    cdef list full = None
    while PyDict_Next(outboxes, &pos, &key, &value):
        if key == <PyObject*>exclude:
            continue
        outbox = <Outbox?><object>value  # checked; a strong reference while the waiter runs
        if outbox.closed:
            continue
        if outbox._count >= outbox.max_queue:
            if outbox.on_full == _CLOSE:
                if full is None:
                    full = []
                full.append(<object>key)
                continue
            outbox.dropped += 1
            if outbox.on_full == _DROP_NEWEST:
                continue
            outbox._drop_oldest()
        outbox._append(message)
        queued += 1
        if outbox.waiter is not None:
            outbox._wake()
    return queued, full


cdef class Drain:
    """The ready list of outboxes whose parked writers have frames to send, and ``run()``,
    which sends them (``Outbox._drive``). The hub calls ``run()`` from one task of its own,
    parked on ``waiter`` while the list is empty: the first outbox put on the list resolves
    it, so a batch of wake-ups costs one task step, whatever the number of members."""

    cdef list _ready
    cdef public object waiter

    def __init__(self):
        self._ready = []
        self.waiter = None

    cdef int _add(self, Outbox outbox) except -1:
        cdef object waiter
        PyList_Append(self._ready, outbox)
        waiter = self.waiter
        if waiter is not None:
            self.waiter = None
            if not waiter.done():  # cancelled: the task wakes with the cancellation anyway
                waiter.set_result(None)
        return 0

    def run(self):
        """Drive every ready outbox; one put on the list meanwhile waits for the next run.
        Should a drive raise, the outboxes after it stay on the list."""
        cdef list ready = self._ready
        cdef Py_ssize_t index
        cdef Outbox outbox
        self._ready = []
        for index in range(len(ready)):
            outbox = <Outbox>ready[index]
            try:
                outbox._drive()
            except BaseException:
                self._ready[:0] = ready[index + 1:]
                raise

    def __len__(self):
        return len(self._ready)
