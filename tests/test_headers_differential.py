"""Differential tests: the compiled ``Headers`` behaves exactly as the pure twin, on any input."""

from __future__ import annotations

import pickle
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from .conftest import ModulePair

NAMES = st.binary(max_size=10) | st.sampled_from(
    [b"host", b"Host", b"HOST", b"origin", b"x-\xe9", b"X-\xc9", b"\xff", b"", b"[", b"@"]
)
VALUES = st.binary(max_size=10) | st.sampled_from([b"", b"example.com", b"\xe9t\xe9", b"\x00"])
RAW = st.lists(st.tuples(NAMES, VALUES), max_size=10)
# Keys that may or may not match: other cases, non-latin-1 characters, empty.
KEYS = st.text(max_size=8) | st.sampled_from(
    ["host", "HoSt", "x-é", "X-É", "x-\u0100", "", "\U0001f600", "[", "{", "@", "`"]
)
NOT_STR = [None, 1, b"host", 1.5, ("host",), ["host"], object()]
CASES = settings(max_examples=150, deadline=None)


def outcome(call: Callable[[], Any]) -> tuple[str, Any]:
    """What ``call()`` does: its result, or its exception's type and message.

    CPython names a compiled class by its full name in the messages it builds itself
    ("unhashable type: 'genro_asgi._headers_c.Headers'"); that prefix is dropped.
    """
    try:
        result = call()
    except Exception as exc:  # the point is to compare any exception
        return ("raised", (type(exc), str(exc).replace("genro_asgi._headers_c.", "")))
    return ("returned", (type(result), result))


def key_outcomes(headers: Any, key: Any) -> list[tuple[str, Any]]:
    return [
        outcome(lambda: headers.get(key)),
        outcome(lambda: headers.get(key, "fallback")),
        outcome(lambda: headers.getlist(key)),
        outcome(lambda: headers[key]),
        outcome(lambda: key in headers),
    ]


def whole_outcomes(headers: Any) -> list[tuple[str, Any]]:
    return [
        outcome(headers.keys),
        outcome(headers.values),
        outcome(headers.items),
        outcome(lambda: list(headers)),
        outcome(lambda: len(headers)),
        outcome(lambda: repr(headers)),
        outcome(lambda: hash(headers)),
        outcome(lambda: headers == headers),
        outcome(lambda: headers != headers),
        outcome(lambda: headers == headers.items()),
        outcome(lambda: pickle.loads(pickle.dumps(headers)).items()),
    ]


def assert_same(pair: ModulePair, raw: Any, keys: list[Any]) -> None:
    built = outcome(lambda: pair.compiled.Headers(raw))
    assert built[0] == outcome(lambda: pair.pure.Headers(raw))[0], raw
    if built[0] == "raised":
        assert built == outcome(lambda: pair.pure.Headers(raw))
        return
    compiled, pure = pair.compiled.Headers(raw), pair.pure.Headers(raw)
    assert compiled.raw is raw
    assert whole_outcomes(compiled) == whole_outcomes(pure), raw
    for key in keys:
        assert key_outcomes(compiled, key) == key_outcomes(pure, key), (raw, key)


@CASES
@given(raw=RAW, extra=st.lists(KEYS, max_size=3))
@example(raw=[], extra=["host", ""])
@example(raw=[(b"Host", b"a"), (b"host", b"b"), (b"HOST", b"c")], extra=["hOsT"])
@example(raw=[(b"X-\xc9", b"1"), (b"x-\xe9", b"2")], extra=["x-É", "X-é", "x-e"])
@example(raw=[(b"[", b"1"), (b"{", b"2"), (b"@", b"3"), (b"`", b"4")], extra=["{", "`"])
@example(raw=[(b"", b"")], extra=[""])
def test_any_header_list(headers_pair: ModulePair, raw: Any, extra: list[str]) -> None:
    """Same answer from every method, for names present (in other cases) and absent."""
    keys: list[Any] = [*extra, *NOT_STR]
    for name, _ in raw:
        text = name.decode("latin-1")
        keys += [text, text.upper(), text.swapcase()]
    assert_same(headers_pair, raw, keys)
    assert_same(headers_pair, tuple(raw), keys)


class BytesSub(bytes):
    """A bytes subclass: accepted by isinstance, read as its bytes."""


class TupleSub(tuple[bytes, bytes]):
    """A tuple subclass as an item."""


class ListSub(list[tuple[bytes, bytes]]):
    """A list subclass as the container."""


class StrSub(str):
    """A str subclass as a key (its buffer is stored apart from the object)."""


UNUSUAL: list[Any] = [
    [[b"Host", b"a"], [b"origin", b"b"]],  # lists as items
    [TupleSub((b"Host", b"a"))],
    [(BytesSub(b"Host"), BytesSub(b"a")), (b"host", b"b")],
    ListSub([(b"Host", b"a"), (b"host", b"b")]),
    (TupleSub((b"A", b"1")), [b"a", b"2"]),
]
BAD: list[Any] = [
    None,
    1,
    "host: a",
    b"host",
    {b"host": b"a"},
    iter([(b"host", b"a")]),
    [(b"host",)],
    [(b"host", b"a", b"b")],
    [(b"host", "a")],
    [("host", b"a")],
    [(bytearray(b"host"), b"a")],
    [(b"host", memoryview(b"a"))],
    [(b"host", b"a"), None],
    [(b"host", b"a"), b"origin"],
    [(b"host", b"a"), {b"x": b"y"}],
    [(b"host", b"a"), [b"x"]],
    ((b"ok", b"1"), (b"bad", None)),
]


@pytest.mark.parametrize("raw", UNUSUAL + BAD, ids=repr)
def test_unusual_and_bad_input(headers_pair: ModulePair, raw: Any) -> None:
    """Subclasses and list items work as in the twin; bad input raises the same TypeError."""
    keys = ["host", "HOST", "origin", "a", "x", StrSub("hOst"), StrSub("x-\u0100"), *NOT_STR]
    assert_same(headers_pair, raw, keys)


def test_bad_input_message(headers_pair: ModulePair) -> None:
    with pytest.raises(TypeError, match=r"^Header 1 must be a \(bytes, bytes\) pair, got None\.$"):
        headers_pair.compiled.Headers([(b"a", b"b"), None])
    with pytest.raises(TypeError, match=r"^Headers must be a list or tuple .*, got dict\.$"):
        headers_pair.compiled.Headers({})


def test_default_and_keyword(headers_pair: ModulePair) -> None:
    for module in (headers_pair.compiled, headers_pair.pure):
        assert len(module.Headers()) == 0
        assert module.Headers(raw=[(b"a", b"b")]).items() == [("a", "b")]


def test_equality(headers_pair: ModulePair) -> None:
    """Equal when the lowercased pairs are; never equal to the other twin or to a list."""
    make = headers_pair.compiled.Headers
    assert make([(b"Host", b"a")]) == make([(b"host", b"a")])
    assert make([(b"host", b"a")]) != make([(b"host", b"A")])
    assert make([(b"a", b"1"), (b"b", b"2")]) != make([(b"b", b"2"), (b"a", b"1")])
    assert make([(b"a", b"1")]) != headers_pair.pure.Headers([(b"a", b"1")])
    assert make([(b"a", b"1")]) != [("a", "1")]


def test_compiled_survives_a_mutated_list(headers_pair: ModulePair) -> None:
    """The compiled twin reads the list live: an item spoiled later raises, never crashes."""
    raw: list[Any] = [(b"host", b"a")]
    headers = headers_pair.compiled.Headers(raw)
    raw.append((b"origin", b"b"))
    assert headers.get("origin") == "b"
    raw[0] = None
    for call in (lambda: headers.get("x"), headers.keys, lambda: "x" in headers, headers.values):
        with pytest.raises(TypeError, match="Header 0 must be a"):
            call()
    raw[0] = ("host", b"a")  # a str name
    with pytest.raises(TypeError, match="Header 0 must be a"):
        headers.get("origin")
    raw[0] = (b"host", None)
    assert "host" in headers  # the name is fine; the value is checked when it is read
    with pytest.raises(TypeError, match="Header 0 must be a"):
        headers.get("host")
    raw.clear()
    assert headers.get("host") is None
    assert len(headers) == 0


def test_compiled_without_init(headers_pair: ModulePair) -> None:
    """An instance made by ``__new__`` alone behaves as empty instead of crashing."""
    cls = headers_pair.compiled.Headers
    headers = cls.__new__(cls)
    assert headers.get("host") is None
    assert headers.keys() == []
    assert len(headers) == 0
    assert "host" not in headers


def test_slots(headers_pair: ModulePair) -> None:
    """No per-instance ``__dict__``: attributes cannot be added, as with ``__slots__``.

    The interpreter words the AttributeError (3.14 added "and no __dict__ for setting new
    attributes"): both twins raise its message, the compiled class's module prefix aside.
    """
    compiled = headers_pair.compiled.Headers([])
    pure = headers_pair.pure.Headers([])
    for headers in (compiled, pure):
        with pytest.raises(AttributeError, match="object has no attribute 'anything'"):
            headers.anything = 1
    assert outcome(lambda: setattr(compiled, "anything", 1)) == outcome(
        lambda: setattr(pure, "anything", 1)
    )
    assert outcome(lambda: delattr(compiled, "anything")) == outcome(
        lambda: delattr(pure, "anything")
    )
