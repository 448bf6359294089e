"""SPEC section 3: Headers."""

from __future__ import annotations

import operator
from collections import OrderedDict
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from genro_asgi.datastructures import Headers, headers_from_scope

RAW = [
    (b"Host", b"example.com"),
    (b"X-Dup", b"one"),
    (b"content-type", b"text/plain"),
    (b"x-dup", b"two"),
    (b"X-DUP", b"three"),
    (b"x-latin", b"caf\xe9"),
]


@pytest.fixture
def headers() -> Headers:
    return Headers(RAW)


@pytest.mark.parametrize("key", ["host", "Host", "HOST", "hOsT"])
def test_lookup_is_case_insensitive(headers: Headers, key: str) -> None:
    assert headers[key] == "example.com"
    assert headers.get(key) == "example.com"
    assert headers.getlist(key) == ["example.com"]
    assert key in headers


@pytest.mark.parametrize("key", [b"host", 1, None])
def test_get_with_non_str_key_returns_the_default(headers: Headers, key: Any) -> None:
    assert headers.get(key) is None
    assert headers.get(key, "d") == "d"
    assert headers.getlist(key) == []


def test_get_first_value_and_default(headers: Headers) -> None:
    assert headers.get("x-dup") == "one"
    assert headers.get("missing") is None
    assert headers.get("missing", "fallback") == "fallback"
    sentinel = object()
    assert headers.get("missing", sentinel) is sentinel
    assert headers.get("host", "fallback") == "example.com"


def test_get_empty_value_is_not_the_default() -> None:
    headers = Headers([(b"x-empty", b"")])
    assert headers.get("x-empty", "default") == ""
    assert headers["x-empty"] == ""
    assert "x-empty" in headers


def test_getlist_all_values_in_order(headers: Headers) -> None:
    assert headers.getlist("X-Dup") == ["one", "two", "three"]
    assert headers.getlist("missing") == []


def test_getitem_first_value_or_keyerror(headers: Headers) -> None:
    assert headers["X-DUP"] == "one"
    with pytest.raises(KeyError) as caught:
        headers["missing"]
    assert caught.value.args == ("missing",)


def test_keys_unique_lowercased_first_seen_order(headers: Headers) -> None:
    assert headers.keys() == ["host", "x-dup", "content-type", "x-latin"]
    assert list(headers) == headers.keys()


def test_values_all_duplicates_kept(headers: Headers) -> None:
    assert headers.values() == ["example.com", "one", "text/plain", "two", "three", "café"]


def test_items_all_pairs_names_lowercased(headers: Headers) -> None:
    assert headers.items() == [
        ("host", "example.com"),
        ("x-dup", "one"),
        ("content-type", "text/plain"),
        ("x-dup", "two"),
        ("x-dup", "three"),
        ("x-latin", "café"),
    ]


def test_len_counts_duplicates(headers: Headers) -> None:
    assert len(headers) == 6
    assert len(Headers([])) == 0
    assert len(Headers()) == 0


def test_values_keep_their_case(headers: Headers) -> None:
    assert Headers([(b"x", b"MiXeD Case")])["x"] == "MiXeD Case"


def test_latin1_decoding_of_names_and_values() -> None:
    raw = [(b"x-caf\xe9", b"\xff\xfe\x80")]
    headers = Headers(raw)
    assert headers.items() == [("x-café", "ÿþ\x80")]
    assert headers["x-café"] == "ÿþ\x80"


def test_non_ascii_names_are_not_case_folded() -> None:
    headers = Headers([(b"x-\xc4", b"upper"), (b"x-\xe4", b"lower")])  # Ä and ä in latin-1
    assert headers.getlist("x-Ä") == ["upper"]
    assert headers.getlist("x-ä") == ["lower"]
    assert headers.keys() == ["x-Ä", "x-ä"]
    assert headers["X-Ä"] == "upper"  # the ASCII part still folds


@pytest.mark.parametrize("key", [b"host", 1, None, ("host",), 1.5])
def test_contains_non_str_is_false(headers: Headers, key: Any) -> None:
    assert (key in headers) is False


@pytest.mark.parametrize("key", ["x-\u20ac", "h\u0131st", "\ud800"])
def test_keys_outside_latin1_never_match(key: str) -> None:
    headers = Headers([(b"x-\x80", b"v"), (b"hist", b"v")])
    assert key not in headers
    assert headers.get(key) is None
    assert headers.getlist(key) == []
    with pytest.raises(KeyError):
        headers[key]


def test_raw_is_the_original_list() -> None:
    raw = [(b"A", b"1"), (b"a", b"2")]
    headers = Headers(raw)
    assert headers.raw is raw
    assert headers.raw == [(b"A", b"1"), (b"a", b"2")]


def test_list_pairs_accepted_as_asgi_allows() -> None:
    headers = Headers([[b"A", b"1"], (b"b", b"2")])  # type: ignore[list-item]
    assert headers.items() == [("a", "1"), ("b", "2")]


def test_tuple_of_pairs_accepted() -> None:
    headers = Headers(((b"a", b"1"), (b"b", b"2")))
    assert headers.items() == [("a", "1"), ("b", "2")]


def test_repr_shows_the_pairs() -> None:
    text = repr(Headers([(b"Host", b"x"), (b"a", b"1")]))
    assert text.startswith("Headers(")
    assert "('host', 'x')" in text
    assert "('a', '1')" in text


def test_equality_compares_the_pairs() -> None:
    assert Headers([(b"a", b"1"), (b"b", b"2")]) == Headers([(b"a", b"1"), (b"b", b"2")])
    assert Headers([(b"A", b"1")]) == Headers([(b"a", b"1")])
    assert Headers([(b"a", b"1"), (b"b", b"2")]) != Headers([(b"b", b"2"), (b"a", b"1")])
    assert Headers([(b"a", b"1")]) != Headers([(b"a", b"1"), (b"a", b"1")])
    assert Headers([(b"a", b"1")]) != Headers([(b"a", b"X")])
    assert Headers([]) == Headers()


@pytest.mark.parametrize("other", [[(b"a", b"1")], {"a": "1"}, "a: 1", None])
def test_not_equal_to_other_types(other: object) -> None:
    assert Headers([(b"a", b"1")]) != other
    assert operator.eq(Headers([(b"a", b"1")]), other) is False


def test_unhashable_like_a_mutable_mapping_view() -> None:
    with pytest.raises(TypeError):
        hash(Headers([]))


def test_immutable() -> None:
    headers = Headers([(b"a", b"1")])
    with pytest.raises(TypeError):
        headers["a"] = "2"  # type: ignore[index]
    with pytest.raises(AttributeError):
        headers.extra = 1  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("raw", "named"),
    [
        ("host: x", "str"),
        ({b"a": b"1"}, "dict"),
        (None, "NoneType"),
        (b"ab", "bytes"),
        (iter([(b"a", b"1")]), "iterator"),
    ],
)
def test_typeerror_for_a_non_sequence(raw: Any, named: str) -> None:
    with pytest.raises(TypeError, match=named):
        Headers(raw)


@pytest.mark.parametrize(
    "bad",
    [
        ("host", b"x"),
        (b"host", "x"),
        (b"host",),
        (b"a", b"b", b"c"),
        b"host",
        None,
        (bytearray(b"a"), b"1"),
        (b"a", memoryview(b"1")),
    ],
)
def test_typeerror_names_the_bad_item(bad: Any) -> None:
    raw = [(b"ok", b"1"), bad]
    with pytest.raises(TypeError) as caught:
        Headers(raw)
    assert repr(bad) in str(caught.value)


def test_headers_from_scope() -> None:
    assert headers_from_scope({"headers": [(b"A", b"1")]}).items() == [("a", "1")]
    assert len(headers_from_scope({})) == 0


def test_headers_from_scope_reads_any_mapping_and_is_positional_only() -> None:
    """A scope that is a ``Mapping`` but not a ``dict`` (a middleware's) works alike."""
    scope = OrderedDict(headers=[(b"A", b"1")])
    assert headers_from_scope(scope).items() == [("a", "1")]
    assert isinstance(headers_from_scope(scope), Headers)
    with pytest.raises(TypeError):
        headers_from_scope(scope=scope)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        headers_from_scope({"headers": [(b"A",)]})
    with pytest.raises(AttributeError):  # not a mapping: no .get
        headers_from_scope([])  # type: ignore[arg-type]


NAME_BYTES = st.binary(min_size=0, max_size=4).map(lambda b: b.replace(b"x", b"X"))
RAW_HEADERS = st.lists(
    st.tuples(
        st.sampled_from([b"A", b"a", b"\xc4", b"\xe4", b""]) | NAME_BYTES, st.binary(max_size=4)
    ),
    max_size=8,
)


def _ascii_lower(data: bytes) -> bytes:
    return bytes(c + 32 if 65 <= c <= 90 else c for c in data)


@settings(max_examples=150, deadline=None)
@given(
    raw=RAW_HEADERS, key=st.sampled_from(["a", "A", "\xc4", "\xe4", "", "X"]) | st.text(max_size=3)
)
def test_hypothesis_against_a_reference_model(raw: list[tuple[bytes, bytes]], key: str) -> None:
    headers = Headers(raw)
    pairs = [(_ascii_lower(n).decode("latin-1"), v.decode("latin-1")) for n, v in raw]
    try:
        folded = _ascii_lower(key.encode("latin-1")).decode("latin-1")
    except UnicodeEncodeError:
        folded = None
    matches = [v for n, v in pairs if n == folded]
    assert headers.items() == pairs
    assert headers.keys() == list(dict.fromkeys(n for n, _ in pairs))
    assert headers.values() == [v for _, v in pairs]
    assert len(headers) == len(raw)
    assert headers.getlist(key) == matches
    assert headers.get(key) == (matches[0] if matches else None)
    assert (key in headers) is bool(matches)


def test_a_list_changed_after_construction_is_read_live() -> None:
    """Both twins read the list at each look-up: never a value of another header."""
    raw: list[Any] = [(b"Host", b"a"), (b"x", b"1")]
    headers = Headers(raw)
    raw[0] = (b"Other", b"b")
    assert headers.get("host") is None
    assert headers.get("other") == "b"
    assert headers.items() == [("other", "b"), ("x", "1")]
    raw[0] = None
    with pytest.raises(TypeError, match="Header 0 must be a"):
        headers.get("x")
