"""SPEC section 3: URL."""

from __future__ import annotations

import operator
from typing import Any

import pytest

from genro_asgi.datastructures import URL


@pytest.mark.parametrize(
    ("url", "parts"),
    [
        (
            "ws://example.com:8000/chat/room?x=1&y=2#top",
            ("ws", "example.com:8000", "/chat/room", "x=1&y=2", "top", "example.com", 8000),
        ),
        ("wss://example.com", ("wss", "example.com", "/", "", "", "example.com", None)),
        ("ws://[::1]:9000/a", ("ws", "[::1]:9000", "/a", "", "", "::1", 9000)),
        ("ws://EXAMPLE.com/", ("ws", "EXAMPLE.com", "/", "", "", "example.com", None)),
        ("ws://h/a%20b/%E2%82%AC", ("ws", "h", "/a b/\u20ac", "", "", "h", None)),
        ("ws://h/a%2Fb", ("ws", "h", "/a/b", "", "", "h", None)),
        ("ws://user:pw@h:1/", ("ws", "user:pw@h:1", "/", "", "", "h", 1)),
        ("", ("", "", "/", "", "", None, None)),
        ("/only/path?q", ("", "", "/only/path", "q", "", None, None)),
    ],
)
def test_components(url: str, parts: tuple[Any, ...]) -> None:
    u = URL(url)
    assert (u.scheme, u.netloc, u.path, u.query, u.fragment, u.hostname, u.port) == parts


@pytest.mark.parametrize("url", ["ws://h:1/a?b#c", "wss://[::1]/", "", "ws://h/a%20b"])
def test_str_is_the_url(url: str) -> None:
    assert str(URL(url)) == url
    assert repr(URL(url)) == f"URL({url!r})"


def test_equal_to_equal_url_or_str() -> None:
    url = URL("ws://h/a?b=1")
    assert url == URL("ws://h/a?b=1")
    assert url == "ws://h/a?b=1"
    assert operator.eq("ws://h/a?b=1", url)
    assert url != URL("ws://h/a?b=2")
    assert url != "ws://h/a"
    assert url != 1
    assert url != b"ws://h/a?b=1"


def test_hash_agrees_with_str_equality() -> None:
    url = URL("ws://h/x")
    assert hash(url) == hash(URL("ws://h/x")) == hash("ws://h/x")
    assert {url, URL("ws://h/x")} == {url}
    assert "ws://h/x" in {url}


@pytest.mark.parametrize("bad", [b"ws://h/", None, 1])
def test_typeerror_for_non_str(bad: Any) -> None:
    with pytest.raises(TypeError, match=type(bad).__name__):
        URL(bad)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"scheme": "wss"}, "wss://h:8000/a?x=1#f"),
        ({"path": "/b/c"}, "ws://h:8000/b/c?x=1#f"),
        ({"query": "y=2"}, "ws://h:8000/a?y=2#f"),
        ({"query": ""}, "ws://h:8000/a#f"),
        ({"fragment": ""}, "ws://h:8000/a?x=1"),
        ({"netloc": "other:1"}, "ws://other:1/a?x=1#f"),
        ({"hostname": "other"}, "ws://other:8000/a?x=1#f"),
        ({"port": 9000}, "ws://h:9000/a?x=1#f"),
        ({"port": None}, "ws://h/a?x=1#f"),
        ({"port": 80}, "ws://h/a?x=1#f"),
        ({"hostname": "::1"}, "ws://[::1]:8000/a?x=1#f"),
        ({"hostname": "::1", "port": 1}, "ws://[::1]:1/a?x=1#f"),
        ({}, "ws://h:8000/a?x=1#f"),
    ],
)
def test_replace(changes: dict[str, Any], expected: str) -> None:
    original = URL("ws://h:8000/a?x=1#f")
    replaced = original.replace(**changes)
    assert isinstance(replaced, URL)
    assert replaced == expected
    assert original == "ws://h:8000/a?x=1#f"


def test_replace_keeps_userinfo() -> None:
    assert URL("ws://u:p@h:1/").replace(port=2) == "ws://u:p@h:2/"


def test_replace_unknown_component() -> None:
    with pytest.raises(TypeError, match="colour"):
        URL("ws://h/").replace(colour="red")


def test_immutable() -> None:
    url = URL("ws://h/")
    with pytest.raises(AttributeError):
        url.scheme = "wss"  # type: ignore[misc]
