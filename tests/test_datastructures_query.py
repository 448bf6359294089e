"""SPEC section 3: QueryParams, checked against ``urllib.parse.parse_qsl``."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any
from urllib.parse import parse_qsl

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from genro_asgi.datastructures import QueryParams, query_params_from_scope

TRICKY = [
    "",
    "a=1",
    "a=1&b=2&a=3",
    "flag",
    "flag&x=1",
    "a=",
    "=v",
    "=",
    "&&",
    "a=1&&b=2",
    "&a=1&",
    "a=b=c",
    "a==",
    "q=a+b",
    "q=a%2Bb",
    "a+b=c+d",
    "q=%20%21%7E",
    "q=%e2%82%ac",
    "q=%E2%82%AC",
    "%E2%82%AC=euro",
    "q=%FF",
    "q=%C3",
    "q=%C3%28",
    "q=%ZZ",
    "q=%",
    "q=%4",
    "q=100%",
    "q=%%41",
    "a;b=c",
    "a=1;b=2",
    "q=caf\xe9",
    "q=%00",
    "x=%3D%26",
    "list=1&list=2&list=&list",
    "a=1#frag",
    "  a = 1 ",
]
NON_LATIN1 = ["q=\u20ac", "\u20ac=\U0001f600", "q=\u65e5\u672c&r=\u0442"]


def reference(query: str | bytes) -> list[tuple[str, str]]:
    text = query.decode("latin-1") if isinstance(query, bytes) else query
    return parse_qsl(text, keep_blank_values=True)


def as_bytes(query: str) -> bytes:
    return query.encode("latin-1")


@pytest.mark.parametrize("query", TRICKY + NON_LATIN1)
def test_str_input_equals_parse_qsl(query: str) -> None:
    assert QueryParams(query).multi_items() == reference(query)


@pytest.mark.parametrize("query", TRICKY)
def test_bytes_input_equals_parse_qsl_of_latin1(query: str) -> None:
    raw = as_bytes(query)
    assert QueryParams(raw).multi_items() == reference(raw)
    assert QueryParams(raw) == QueryParams(query)


def test_raw_utf8_bytes_decode_as_latin1() -> None:
    raw = "q=\u20ac".encode()
    assert QueryParams(raw).multi_items() == [("q", raw[2:].decode("latin-1"))]


@pytest.mark.parametrize(
    ("query", "pairs"),
    [
        ("a=b+c", [("a", "b c")]),
        ("a=%41%42", [("a", "AB")]),
        ("a=%E2%82%AC", [("a", "\u20ac")]),
        ("a=%FF", [("a", "\ufffd")]),
        ("a=%ZZ", [("a", "%ZZ")]),
        ("a=%", [("a", "%")]),
        ("flag", [("flag", "")]),
        ("a=1&&b=2", [("a", "1"), ("b", "2")]),
        ("k=v=w", [("k", "v=w")]),
        ("=v", [("", "v")]),
    ],
)
def test_documented_decoding_rules(query: str, pairs: list[tuple[str, str]]) -> None:
    assert QueryParams(query).multi_items() == pairs


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.sampled_from("ab=&+%;2eEfFzZ0 \xe9\u20ac"), max_size=30))
def test_hypothesis_str_equals_parse_qsl(query: str) -> None:
    assert QueryParams(query).multi_items() == reference(query)


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=30))
def test_hypothesis_bytes_equals_parse_qsl(query: bytes) -> None:
    assert QueryParams(query).multi_items() == reference(query)


@pytest.mark.parametrize("bad", [None, 1, 1.5, ["a=1"], {"a": "1"}, bytearray(b"a=1")])
def test_typeerror_for_other_input(bad: Any) -> None:
    with pytest.raises(TypeError, match=type(bad).__name__):
        QueryParams(bad)


@pytest.fixture
def params() -> QueryParams:
    return QueryParams(b"b=1&a=2&b=3&c=&a=4")


def test_get(params: QueryParams) -> None:
    assert params.get("b") == "1"
    assert params.get("c") == ""
    assert params.get("c", "x") == ""
    assert params.get("missing") is None
    assert params.get("missing", "x") == "x"


def test_getlist(params: QueryParams) -> None:
    assert params.getlist("b") == ["1", "3"]
    assert params.getlist("a") == ["2", "4"]
    assert params.getlist("missing") == []


def test_keys_values_items_first_value_per_key(params: QueryParams) -> None:
    assert params.keys() == ["b", "a", "c"]
    assert params.values() == ["1", "2", ""]
    assert params.items() == [("b", "1"), ("a", "2"), ("c", "")]


def test_multi_items_every_pair_in_order(params: QueryParams) -> None:
    assert params.multi_items() == [("b", "1"), ("a", "2"), ("b", "3"), ("c", ""), ("a", "4")]


def test_getitem(params: QueryParams) -> None:
    assert params["a"] == "2"
    with pytest.raises(KeyError):
        params["missing"]


@pytest.mark.parametrize(("key", "expected"), [("a", True), ("c", True), ("z", False)])
def test_contains(params: QueryParams, key: str, expected: bool) -> None:
    assert (key in params) is expected


@pytest.mark.parametrize("key", [b"a", 1, None])
def test_contains_non_str_is_false(params: QueryParams, key: Any) -> None:
    assert (key in params) is False


def test_iteration_len_and_bool(params: QueryParams) -> None:
    assert list(params) == ["b", "a", "c"]
    assert len(params) == 3
    assert bool(params) is True
    assert bool(QueryParams("")) is False
    assert bool(QueryParams("&&")) is False
    assert len(QueryParams()) == 0
    assert bool(QueryParams("flag")) is True


def test_repr_shows_the_pairs() -> None:
    text = repr(QueryParams("a=1&b=x+y"))
    assert text.startswith("QueryParams(")
    assert "('a', '1')" in text
    assert "('b', 'x y')" in text


def test_equality() -> None:
    assert QueryParams("a=1&b=2") == QueryParams(b"a=1&b=2")
    assert QueryParams("a=1&b=2") == QueryParams("a=1&&b=2")
    assert QueryParams("a=1&b=2") != QueryParams("b=2&a=1")
    assert QueryParams("a=1") != QueryParams("a=1&a=2")
    assert QueryParams("a=1") != "a=1"
    assert QueryParams("a=1") != {"a": "1"}
    with pytest.raises(TypeError):
        hash(QueryParams("a=1"))


def test_query_params_from_scope() -> None:
    assert query_params_from_scope({"query_string": b"x=%20"}).items() == [("x", " ")]
    assert len(query_params_from_scope({})) == 0


def test_query_params_from_scope_reads_any_mapping_and_is_positional_only() -> None:
    """A scope that is a ``Mapping`` but not a ``dict`` (a middleware's) works alike."""
    scope = OrderedDict(query_string=b"x=%20")
    assert query_params_from_scope(scope).items() == [("x", " ")]
    assert isinstance(query_params_from_scope(scope), QueryParams)
    with pytest.raises(TypeError):
        query_params_from_scope(scope=scope)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        query_params_from_scope({"query_string": 5})
    with pytest.raises(AttributeError):  # not a mapping: no .get
        query_params_from_scope([])  # type: ignore[arg-type]


TOKENS = st.sampled_from(
    [
        "a",
        "B",
        "=",
        "&",
        "+",
        "%",
        "%2",
        "%20",
        "%2B",
        "%3D",
        "%26",
        "%C3",
        "%A9",
        "%C3%A9",
        "%E2%82%AC",
        "%F0%9F%98%80",
        "%ff",
        "%FE",
        "%zz",
        "%%",
        ";",
        "#",
        "é",
        "€",
        "\x00",
        " ",
    ]
)


@settings(max_examples=200, deadline=None)
@given(st.lists(TOKENS, max_size=12).map("".join))
def test_hypothesis_escape_tokens_equal_parse_qsl(query: str) -> None:
    assert QueryParams(query).multi_items() == reference(query)
    raw = query.encode()
    assert QueryParams(raw).multi_items() == reference(raw)
