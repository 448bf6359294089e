"""Differential tests: compiled ``QueryParams`` == pure twin == ``urllib.parse.parse_qsl``."""

from __future__ import annotations

import pickle
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from .conftest import ModulePair

# Pieces that make the tricky cases likely: escapes (valid, malformed, cut short, multi-byte
# UTF-8, invalid UTF-8), separators, "+", raw non-ASCII bytes.
TOKENS = [
    b"a", b"B", b"k", b"=", b"==", b"&", b"&&", b"%", b"+", b"%2B", b"%26", b"%3D", b"%20",
    b"%41", b"%e9", b"%C3", b"%A9", b"%C3%A9", b"%E2%82%AC", b"%E2%82", b"%F0%9F%98%80",
    b"%F0%9F", b"%FF", b"%ZZ", b"%4", b"%%", b"%G1", b"\xe9", b"\xff", b"\x80", b"\x00",
    b" ", b";", b"#", b"?",
]  # fmt: skip
QUERIES = st.binary(max_size=24) | st.lists(st.sampled_from(TOKENS), max_size=14).map(b"".join)
# str queries: the same pieces, plus characters beyond latin-1 (two- and four-byte storage).
TEXT_TOKENS = [t.decode("latin-1") for t in TOKENS] + ["\u0100", "\u20ac", "\U0001f600", "\ud800"]
TEXTS = st.text(max_size=16) | st.lists(st.sampled_from(TEXT_TOKENS), max_size=14).map("".join)
KEYS = st.text(max_size=6) | st.sampled_from(["a", "k", "", " ", "a b", "é", "\ufffd", "€"])
NOT_STR = [None, 1, b"a", 1.5, ("a",), ["unhashable"], {"a": 1}]
CASES = settings(max_examples=200, deadline=None)


def reference(query: str | bytes) -> list[tuple[str, str]]:
    text = query.decode("latin-1") if isinstance(query, bytes) else query
    return parse_qsl(text, keep_blank_values=True)


def outcome(call: Callable[[], Any]) -> tuple[str, Any]:
    """What ``call()`` does: its result, or its exception's type and message.

    CPython names a compiled class by its full name in the messages it builds itself
    ("unhashable type: 'genro_asgi._query_c.QueryParams'"); that prefix is dropped.
    """
    try:
        result = call()
    except Exception as exc:  # the point is to compare any exception
        return ("raised", (type(exc), str(exc).replace("genro_asgi._query_c.", "")))
    return ("returned", (type(result), result))


def key_outcomes(params: Any, key: Any) -> list[tuple[str, Any]]:
    return [
        outcome(lambda: params.get(key)),
        outcome(lambda: params.get(key, "fallback")),
        outcome(lambda: params.getlist(key)),
        outcome(lambda: params[key]),
        outcome(lambda: key in params),
    ]


def whole_outcomes(params: Any) -> list[tuple[str, Any]]:
    return [
        outcome(params.keys),
        outcome(params.values),
        outcome(params.items),
        outcome(params.multi_items),
        outcome(lambda: list(params)),
        outcome(lambda: len(params)),
        outcome(lambda: bool(params)),
        outcome(lambda: repr(params)),
        outcome(lambda: hash(params)),
        outcome(lambda: params == params),
        outcome(lambda: params != params),
        outcome(lambda: params == params.multi_items()),
        outcome(lambda: pickle.loads(pickle.dumps(params)).multi_items()),
    ]


def assert_same(pair: ModulePair, query: Any, keys: list[Any]) -> None:
    compiled, pure = pair.compiled.QueryParams(query), pair.pure.QueryParams(query)
    expected = reference(query)
    assert compiled.multi_items() == expected, query
    assert pure.multi_items() == expected, query
    assert whole_outcomes(compiled) == whole_outcomes(pure), query
    for key in [*keys, *(name for name, _ in expected), *NOT_STR]:
        assert key_outcomes(compiled, key) == key_outcomes(pure, key), (query, key)


@CASES
@given(query=QUERIES, keys=st.lists(KEYS, max_size=2))
@example(query=b"", keys=["a"])
@example(query=b"%", keys=["%"])
@example(query=b"a=%&b=%4&c=%ZZ&d=%%41&e=%G1", keys=["a", "b"])
@example(query=b"a+b=c+d&%2B=%2B&+=+", keys=["a b", "+", " "])
@example(query=b"%C3%A9=%E2%82%AC&x=%F0%9F%98%80", keys=["é", "x"])
@example(query=b"a=%C3&b=%E2%82&c=%FF%FE&d=%C3%28&e=%ED%A0%80", keys=["a"])
@example(query=b"a=%C3\xa9&b=\xe9%A9&c=%E2\x82%AC", keys=["a", "b", "c"])
@example(query=b"&&a=1&&a=2&&", keys=["a"])
@example(query=b"=&==&=a&a==b&flag&flag=", keys=["", "a", "flag"])
@example(query=b"k%3D=v%26&k=v", keys=["k=", "k"])
@example(query=b"a=" + b"%41" * 150 + b"+" * 100 + b"&" + b"b" * 300 + b"=1", keys=["a", "b" * 300])
@example(query=b"\xe9=1&%E9=2&%C3%A9=3", keys=["é", "\ufffd"])
def test_any_bytes_query(query_pair: ModulePair, query: bytes, keys: list[str]) -> None:
    """Bytes read as latin-1: every method agrees, and the pairs are parse_qsl's."""
    assert_same(query_pair, query, keys)


@CASES
@given(query=TEXTS, keys=st.lists(KEYS, max_size=2))
@example(query="k=\U0001f600%F0%9F%98%80", keys=["k"])
@example(query="\u0100%41=%E2%82\u20ac%AC&\u0100A=x", keys=["\u0100A"])
@example(query="€=1&%E2%82%AC=2&€+€=3", keys=["€", "€ €"])
@example(query="a=\ud800%ED%A0%80", keys=["a"])
@example(query="é=%C3%A9&%C3%A9=é", keys=["é"])
def test_any_str_query(query_pair: ModulePair, query: str, keys: list[str]) -> None:
    """str of any width (latin-1, BMP, astral, lone surrogates) agrees too."""
    assert_same(query_pair, query, keys)


class BytesSub(bytes):
    """A bytes subclass: accepted by isinstance, read as its bytes."""


class StrSub(str):
    """A str subclass."""


@pytest.mark.parametrize(
    "query", [BytesSub(b"a=1&b=%41"), StrSub("a=1&b=%41"), StrSub("\u20ac=%E2%82%AC")], ids=repr
)
def test_subclass_input(query_pair: ModulePair, query: Any) -> None:
    assert_same(query_pair, query, ["a", "b", StrSub("a"), StrSub("€")])


@pytest.mark.parametrize(
    "query", [None, 1, 1.5, bytearray(b"a=1"), memoryview(b"a=1"), ["a=1"], {"a": "1"}], ids=repr
)
def test_bad_input(query_pair: ModulePair, query: Any) -> None:
    """Anything but str/bytes raises the same TypeError."""
    compiled = outcome(lambda: query_pair.compiled.QueryParams(query))
    assert compiled[0] == "raised"
    assert compiled == outcome(lambda: query_pair.pure.QueryParams(query))


def test_default_and_keyword(query_pair: ModulePair) -> None:
    for module in (query_pair.compiled, query_pair.pure):
        assert not module.QueryParams()
        assert module.QueryParams(query=b"a=1").multi_items() == [("a", "1")]


def test_equality(query_pair: ModulePair) -> None:
    """Order-sensitive over every pair, bytes and str alike; never equal to the other twin."""
    make = query_pair.compiled.QueryParams
    assert make(b"a=1&b=2") == make("a=1&b=2")
    assert make(b"a=%41") == make("a=A")
    assert make(b"a=1&b=2") != make(b"b=2&a=1")
    assert make(b"a=1&a=2") != make(b"a=1")
    assert make(b"a=1") != query_pair.pure.QueryParams(b"a=1")
    assert make(b"a=1") != [("a", "1")]


def test_reinit_replaces_the_pairs(query_pair: ModulePair) -> None:
    for module in (query_pair.compiled, query_pair.pure):
        params = module.QueryParams(b"a=1&b=2")
        params.__init__("c=3")
        assert params.multi_items() == [("c", "3")]


def test_compiled_without_init(query_pair: ModulePair) -> None:
    """An instance made by ``__new__`` alone behaves as empty instead of crashing."""
    cls = query_pair.compiled.QueryParams
    params = cls.__new__(cls)
    assert params.get("a") is None
    assert params.multi_items() == []
    assert not params
    assert "a" not in params


def test_slots(query_pair: ModulePair) -> None:
    """No per-instance ``__dict__``: attributes cannot be added, as with ``__slots__``.

    The interpreter words the AttributeError (3.14 added "and no __dict__ for setting new
    attributes"): both twins raise its message, the compiled class's module prefix aside.
    """
    compiled = query_pair.compiled.QueryParams(b"")
    pure = query_pair.pure.QueryParams(b"")
    for params in (compiled, pure):
        with pytest.raises(AttributeError, match="object has no attribute 'anything'"):
            params.anything = 1
    assert outcome(lambda: setattr(compiled, "anything", 1)) == outcome(
        lambda: setattr(pure, "anything", 1)
    )
    assert outcome(lambda: delattr(compiled, "anything")) == outcome(
        lambda: delattr(pure, "anything")
    )
