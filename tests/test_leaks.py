"""No reference leaks in the compiled hot paths, on the success and on every error path.

Each exercise runs every entry point of one compiled module on fresh inputs, many times. A
leaked reference keeps an input (or an exception) alive, so it shows up as traced memory
(``tracemalloc``) and live GC objects that grow with the number of rounds; a leaked reference
to a long-lived object shows up in its ``sys.getrefcount``. Release builds have no
``sys.gettotalrefcount``, hence these proxies.

Not covered: the ``MemoryError`` branches (a failed ``PyMem_Malloc`` in ``QueryParams`` and
in its unquoting buffer, or a failed allocation inside a decode). They cannot be reached
without fault injection in the allocator, which these tests do not do.
"""

from __future__ import annotations

import contextvars
import ctypes
import gc
import sys
import tracemalloc
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import pytest

from .conftest import COMPILED

pytestmark = pytest.mark.c_extension

ROUNDS = 1000


def assert_flat(exercise: Callable[[], None], *watched: object, rounds: int = ROUNDS) -> None:
    """Fail when ``rounds`` runs of ``exercise`` leave memory, objects or references behind."""
    for _ in range(rounds // 10 + 1):  # warm up: caches, interned strings, free lists
        exercise()
    tracemalloc.start()
    try:
        # A first traced window absorbs one-time allocations that only show under tracing
        # (Python 3.10 allocates a function's cached frame again, about 4.6 KiB); the second,
        # equal window is the one measured: a leak grows it by every round.
        for _ in range(rounds):
            exercise()
        gc.collect()
        refs = [sys.getrefcount(obj) for obj in watched]
        objects = len(gc.get_objects())
        memory = tracemalloc.get_traced_memory()[0]
        for _ in range(rounds):
            exercise()
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - memory
        more_objects = len(gc.get_objects()) - objects
    finally:
        tracemalloc.stop()
    # A few KiB of noise (caches warming up); one leaked small object per round is ~32 KiB.
    assert grown < max(rounds, 4096), f"traced memory grew by {grown} bytes over {rounds} rounds"
    assert more_objects <= rounds // 100, f"{more_objects} more live objects after {rounds} rounds"
    assert [sys.getrefcount(obj) for obj in watched] == refs, "a watched object gained references"


def raises(expected: type[BaseException], call: Callable[..., object], *args: object) -> None:
    """Run ``call(*args)``, which must raise ``expected`` (so each error path really runs)."""
    try:
        call(*args)
    except expected:
        return
    raise AssertionError(f"{call}{args} did not raise {expected.__name__}")


def test_checker_sees_a_leak() -> None:
    """The checker itself fails on a leak of one small object per round, or of one reference."""
    kept: list[object] = []
    with pytest.raises(AssertionError, match=r"grew|more live objects"):
        assert_flat(lambda: kept.append([]))
    watched = object()
    leaked = ctypes.py_object(watched)
    with pytest.raises(AssertionError, match="gained references"):
        assert_flat(lambda: ctypes.pythonapi.Py_IncRef(leaked), watched, rounds=100)
    for _ in range(sys.getrefcount(watched) - 3):  # hand the leaked references back
        ctypes.pythonapi.Py_DecRef(leaked)


# Long-lived inputs whose reference counts are watched.
HEADER_NAME = b"X-Long-Lived"
HEADER_VALUE = b"long lived"
QUERY = b"long=lived&k=%41"
TEXT_QUERY = "\u20ac=%E2%82%AC"


class BytesSub(bytes):
    """A bytes subclass (the normalizing path)."""


def test_headers() -> None:
    module = COMPILED.module("headers")
    headers_cls = module.Headers

    def exercise() -> None:
        host = b"HOST".lower()  # a fresh bytes object each round
        raw = [(host, b"example.com".upper()), (HEADER_NAME, HEADER_VALUE), (b"a", b"1")]
        headers = headers_cls(raw)
        results = [
            headers.get("host"),
            headers.get("x-long-lived", "default"),
            headers.get("missing"),
            headers.get(1),
            headers.getlist("A"),
            headers.getlist("\u20ac"),
            headers["x-LONG-lived"],
            "host" in headers,
            b"host" in headers,
            headers.keys(),
            headers.values(),
            headers.items(),
            list(headers),
            len(headers),
            repr(headers),
            headers == headers_cls(list(raw)),
            headers.__reduce__(),
            headers_cls(tuple(raw)).get("a"),
            headers_cls([[host, host], (BytesSub(host), BytesSub(host))]).items(),
        ]
        assert results[0] == "EXAMPLE.COM"
        assert headers.__eq__([host]) is NotImplemented  # a fresh object of another type
        assert headers != (host, host)
        raises(KeyError, headers.__getitem__, "missing")
        raises(KeyError, headers.__getitem__, (host,))  # a fresh non-str key
        raises(TypeError, hash, headers)
        raises(TypeError, headers_cls, {host: host})
        raises(TypeError, headers_cls, [(host, host), (host, "str")])
        raises(TypeError, headers_cls, [(host,)])
        other = headers_cls(list(raw))
        # Spoiled after construction by a fresh object (a leaked reference to it would show
        # as memory): every method that reaches it raises the TypeError naming it.
        raw.append([host])
        raises(TypeError, headers.get, "missing")
        raises(TypeError, headers.__getitem__, "missing")
        raises(TypeError, headers.getlist, "host")
        raises(TypeError, headers.__contains__, "missing")
        raises(TypeError, headers.keys)
        raises(TypeError, headers.values)
        raises(TypeError, headers.items)
        raises(TypeError, iter, headers)
        raises(TypeError, repr, headers)
        raises(TypeError, headers.__eq__, other)
        raises(TypeError, other.__eq__, headers)
        raises(KeyError, headers.__getitem__, (host,))  # a non-str key never scans
        assert headers.get("host") == "EXAMPLE.COM"  # found before the spoiled entry
        assert len(headers) == 4
        spoiled = [(host, b"1")]
        by_value = headers_cls(spoiled)
        spoiled[0] = (host, [host])  # the name matches; the value is no longer bytes
        raises(TypeError, by_value.get, "host")
        raises(TypeError, by_value.__getitem__, "host")
        raises(TypeError, by_value.getlist, "host")
        from_scope = module.headers_from_scope
        assert from_scope({"headers": raw[:3]}).get("host") == "EXAMPLE.COM"
        assert from_scope(OrderedDict(headers=raw[:3])).get("a") == "1"
        assert len(from_scope({})) == 0
        raises(TypeError, from_scope, {"headers": [host]})
        raises(TypeError, from_scope, {"headers": None})
        raises(AttributeError, from_scope, [host])

    assert_flat(exercise, HEADER_NAME, HEADER_VALUE)


def test_query() -> None:
    query_cls = COMPILED.module("query").QueryParams
    from_scope = COMPILED.module("query").query_params_from_scope
    long_segment = ("a=" + "%41" * 150 + "+" * 150).encode()  # the heap buffer path

    def exercise() -> None:
        fresh = b"A=1&a=%41&b=caf%C3%A9+x&flag&&=e&bad=%ZZ%4".lower()
        for query in (fresh, fresh.decode(), QUERY, TEXT_QUERY, "\U0001f600=%F0%9F%98%80\u0100"):
            params = query_cls(query)
            results = [
                params.get("a"),
                params.get("missing", "default"),
                params.get(1),
                params.getlist("a"),
                params.getlist(None),
                "long" in params,
                params.keys(),
                params.values(),
                params.items(),
                params.multi_items(),
                list(params),
                len(params),
                bool(params),
                repr(params),
                params == query_cls(query),
                params.__reduce__(),
            ]
            assert results[-2] is True
            if "b" in params:
                results.append(params["b"])
            raises(KeyError, params.__getitem__, "missing")
            raises(KeyError, params.__getitem__, 1)
            raises(TypeError, params.__getitem__, ["unhashable"])
            raises(TypeError, params.get, ["unhashable"])
            raises(TypeError, hash, params)
            assert params.__eq__([query]) is NotImplemented  # a fresh object of another type
            assert params != (query,)
            # The cache is built now: the listings again read it, a re-init drops it.
            assert (params.keys(), list(params), params.multi_items()) == (
                results[6],
                results[10],
                results[9],
            )
            assert len(params) == results[11]
            assert repr(params) == results[13]
            params.__init__(fresh)
            assert params.multi_items()[0] == ("a", "1")
        query_cls(BytesSub(fresh)).multi_items()
        query_cls(long_segment).get("a")
        query_cls(query=b"").get("a")
        params = query_cls(fresh)
        params.__init__(fresh.decode())
        lazy = query_cls(fresh)  # look-ups only: no cache is built
        assert (lazy.get("b"), lazy.getlist("a"), "flag" in lazy) == ("café x", ["1", "A"], True)
        raises(TypeError, query_cls, bytearray(fresh))
        raises(TypeError, query_cls, None)
        assert from_scope({"query_string": fresh}).get("b") == "café x"
        assert from_scope(OrderedDict(query_string=fresh)).getlist("a") == ["1", "A"]
        assert len(from_scope({})) == 0
        raises(TypeError, from_scope, {"query_string": None})
        raises(AttributeError, from_scope, [fresh])

    assert_flat(exercise, QUERY, TEXT_QUERY)


class Message(OrderedDict[str, Any]):
    """A dict subclass: the generic (non-dict) path of the dispatch."""


def test_dispatch() -> None:
    module = COMPILED.module("dispatch")
    from genro_asgi.exceptions import WebSocketDisconnect

    receive, disconnect = "websocket.receive", "websocket.disconnect"
    reason = "long-lived reason"

    def exercise() -> None:
        text = "hello".upper()
        data = b"hello".upper()
        for make in (dict, Message):
            text_frame = make(type=receive, text=text)
            bytes_frame = make(type=receive, bytes=data)
            module.text_payload(text_frame)
            module.bytes_payload(bytes_frame)
            module.data_payload(text_frame)
            module.data_payload(bytes_frame)
            module.data_payload(make(type=receive, text=None, bytes=data))
            module.disconnect_exception(make(type=disconnect, code=1000, reason=reason))
            module.disconnect_exception(make(type=disconnect))
            raises(TypeError, module.text_payload, bytes_frame)
            raises(TypeError, module.bytes_payload, text_frame)
            for bad in (
                make(type=receive, text=text, bytes=data),
                make(type=receive),
                make(type="websocket.unknown"),
                make(text=text),
            ):
                raises(RuntimeError, module.data_payload, bad)
            raises(TypeError, module.data_payload, make(type=receive, text=data))
            raises(TypeError, module.data_payload, make(type=receive, bytes=text))
            goodbye = make(type=disconnect, code=1001, reason=reason)
            raises(WebSocketDisconnect, module.text_payload, goodbye)
            for bad in (make(code="1000"), make(code=True), make(reason=b"x")):
                raises(TypeError, module.disconnect_exception, bad)
        raises(RuntimeError, module.data_payload, None)
        raises(RuntimeError, module.data_payload, [receive])
        raises(AttributeError, module.disconnect_exception, None)

    assert_flat(exercise, reason)


class Waiter:
    """Stands in for a writer's future."""

    __slots__ = ("result",)

    def __init__(self) -> None:
        self.result: object = None

    def set_result(self, value: object) -> None:
        self.result = value


class BrokenWaiter:
    def set_result(self, value: object) -> None:
        raise RuntimeError("broken waiter")


def test_fanout() -> None:
    module = COMPILED.module("fanout")
    outbox_cls, fanout = module.Outbox, module.fanout
    shared = {"type": "websocket.send", "text": "long-lived"}

    def exercise() -> None:
        keys = [object() for _ in range(4)]
        outboxes = {
            key: outbox_cls(2, policy) for key, policy in zip(keys, (0, 1, 2, 0), strict=True)
        }
        boxes = list(outboxes.values())
        boxes[3].closed = True
        for n in range(4):  # fill, then every policy's full path
            boxes[0].waiter = Waiter()
            message = {"type": "websocket.send", "text": str(n)}  # fresh each time
            queued, full = fanout(outboxes, message, keys[1] if n == 2 else None)
            assert queued <= 3
            assert full is None or full == [keys[0]]
            fanout(outboxes, shared, None)
        assert boxes[0].push(shared) == module.FULL
        assert boxes[1].push({"fresh": [1]}) == module.QUEUED
        assert boxes[2].push(shared) == module.DROPPED
        assert boxes[3].push(shared) == module.DROPPED
        assert boxes[1].take() is not None
        boxes[1].clear()
        assert boxes[1].take() is None
        boxes[2].__init__(3, 1)  # re-initialised: the old ring is released
        assert len(boxes[2]) == 0
        boxes[0].waiter = BrokenWaiter()
        boxes[0].clear()
        raises(RuntimeError, fanout, outboxes, {"fresh": "x"}, None)
        raises(TypeError, fanout, {object(): "not an outbox"}, shared, None)
        raises(TypeError, fanout, None, shared, None)
        raises(ValueError, outbox_cls, 0, 0)
        raises(ValueError, outbox_cls, 1, 7)
        # An outbox dropped while it still holds frames releases them.
        holder = outbox_cls(3, 0)
        holder.push([shared])
        holder.push({"fresh": object()})

    assert_flat(exercise, shared)


class RecordingWaiter:
    def __init__(self) -> None:
        self.outcome: Any = None

    def set_result(self, value: Any) -> None:
        self.outcome = value

    def set_exception(self, exc: BaseException) -> None:
        self.outcome = exc

    def done(self) -> bool:
        return False


class Suspend:
    def __await__(self) -> Any:
        yield "suspended"


async def drain_send(message: Any) -> Any:
    """Completes, suspends or raises, by the message's "do"."""
    if message["do"] == "suspend":
        await Suspend()
    elif message["do"] == "raise":
        raise ValueError(message["text"])
    return message  # a return value: PyIter_Send hands it back, the drain releases it


def test_drain() -> None:
    module = COMPILED.module("fanout")
    shared = {"type": "websocket.send", "text": "long-lived", "do": "send"}
    context = contextvars.copy_context()

    def exercise() -> None:
        drain = module.Drain()
        drain.waiter = RecordingWaiter()  # the drain's task, parked
        boxes = [module.Outbox(4, 0) for _ in range(4)]
        outboxes = {object(): box for box in boxes}
        waiters = [RecordingWaiter() for _ in boxes]
        for n, (box, waiter) in enumerate(zip(boxes, waiters, strict=True)):
            box.waiter = waiter
            box.drain = drain
            box.send = drain_send
            box.context = context if n % 2 else None
        fanout = module.fanout
        fanout(outboxes, shared, None)
        boxes[1].push({"do": "suspend", "text": "fresh"})
        boxes[2].push({"do": "raise", "text": "fresh"})
        boxes[3].push({"text": "no do"})  # KeyError inside the send
        assert len(drain) == 4
        assert drain.waiter is None  # woken once for the four
        drain.run()
        assert len(drain) == 0
        assert waiters[0].outcome is None
        assert boxes[0].sent == 1
        coroutine, step = waiters[1].outcome
        assert step == "suspended"
        coroutine.close()
        assert isinstance(waiters[2].outcome, ValueError)
        assert isinstance(waiters[3].outcome, KeyError)
        # A drain whose outbox was woken meanwhile: nothing is sent.
        boxes[0].waiter = RecordingWaiter()
        boxes[0].push(shared)
        boxes[0].waiter = None
        drain.run()
        assert len(boxes[0]) == 1
        assert boxes[0].sent == 1

    assert_flat(exercise, shared, context)
