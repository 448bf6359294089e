"""SPEC section 4: ``str(ws.url)`` is a valid URL rebuilt from the scope."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from genro_asgi import WebSocket

from .transport import DROP, Transport, connection, make_scope


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        ({}, "ws://127.0.0.1:8000/chat?room=1"),
        ({"query_string": b""}, "ws://127.0.0.1:8000/chat"),
        ({"query_string": DROP}, "ws://127.0.0.1:8000/chat"),
        ({"query_string": b"a=%20b&c"}, "ws://127.0.0.1:8000/chat?a=%20b&c"),
        # IPv6 hosts in brackets
        ({"server": ("::1", 8000)}, "ws://[::1]:8000/chat?room=1"),
        ({"server": ("fe80::1%eth0", 9)}, "ws://[fe80::1%eth0]:9/chat?room=1"),
        ({"server": ["::", 443], "scheme": "wss"}, "wss://[::]/chat?room=1"),
        # default ports left out, others kept
        ({"server": ("h", 80)}, "ws://h/chat?room=1"),
        ({"server": ("h", 443), "scheme": "wss"}, "wss://h/chat?room=1"),
        ({"server": ("h", 443)}, "ws://h:443/chat?room=1"),
        ({"server": ("h", 80), "scheme": "wss"}, "wss://h:80/chat?room=1"),
        # http -> ws scheme mapping; missing scheme is ws
        ({"scheme": "http", "server": ("h", 80)}, "ws://h/chat?room=1"),
        ({"scheme": "https", "server": ("h", 443)}, "wss://h/chat?room=1"),
        ({"scheme": "https", "server": ("h", 8443)}, "wss://h:8443/chat?room=1"),
        ({"scheme": DROP}, "ws://127.0.0.1:8000/chat?room=1"),
        # Host header when the scope has no server
        (
            {"server": None, "headers": [(b"host", b"example.com:9000")]},
            "ws://example.com:9000/chat?room=1",
        ),
        ({"server": DROP, "headers": [(b"Host", b"[::1]:1")]}, "ws://[::1]:1/chat?room=1"),
        (
            {"server": DROP, "headers": [(b"host", b"example.com")], "scheme": "wss"},
            "wss://example.com/chat?room=1",
        ),
        # a unix socket server ([path, None]) says nothing about the host: use Host
        (
            {"server": ("/tmp/app.sock", None), "headers": [(b"host", b"example.com")]},
            "ws://example.com/chat?room=1",
        ),
        # root_path prefixed (once)
        (
            {"root_path": "/api", "path": "/chat", "raw_path": b"/chat"},
            "ws://127.0.0.1:8000/api/chat?room=1",
        ),
        (
            {"root_path": "/api", "path": "/api/chat", "raw_path": b"/api/chat"},
            "ws://127.0.0.1:8000/api/chat?room=1",
        ),
        (
            {"root_path": "/api", "path": "/chat", "raw_path": DROP},
            "ws://127.0.0.1:8000/api/chat?room=1",
        ),
        (
            {"root_path": "/my app", "path": "/x", "raw_path": DROP},
            "ws://127.0.0.1:8000/my%20app/x?room=1",
        ),
        *[
            (
                {"root_path": root, "path": path, "raw_path": DROP, "server": ("h", 1)},
                f"ws://h:1{full}?room=1",
            )
            for root, path, full in [
                ("/api", "/apiary", "/api/apiary"),  # a prefix of a segment is not the root
                ("/api", "/api", "/api"),
                ("/api", "", "/api"),
                ("/api", "/", "/api/"),
                ("/api/", "/x", "/api/x"),
                ("/api/", "/api/x", "/api/x"),
                ("/", "/chat", "/chat"),
                ("/a/b", "/a/bc", "/a/b/a/bc"),
            ]
        ],
        # percent-encoded paths
        ({"path": "/a b/ü", "raw_path": DROP}, "ws://127.0.0.1:8000/a%20b/%C3%BC?room=1"),
        ({"path": "/100%/?#", "raw_path": DROP}, "ws://127.0.0.1:8000/100%25/%3F%23?room=1"),
        (
            {"path": "/a:b@c;d=e,f+g~h", "raw_path": DROP},
            "ws://127.0.0.1:8000/a:b@c;d=e,f+g~h?room=1",
        ),
        ({"path": "", "raw_path": DROP}, "ws://127.0.0.1:8000/?room=1"),
        ({"path": DROP, "raw_path": DROP}, "ws://127.0.0.1:8000/?room=1"),
        # raw_path wins over path when the server gives it
        ({"path": "/a/b", "raw_path": b"/a%2Fb"}, "ws://127.0.0.1:8000/a%2Fb?room=1"),
        ({"path": "/ü", "raw_path": b"/%C3%BC"}, "ws://127.0.0.1:8000/%C3%BC?room=1"),
        ({"path": "/ü", "raw_path": b"/\xc3\xbc"}, "ws://127.0.0.1:8000/%C3%BC?room=1"),
        ({"path": "/a b", "raw_path": b"/a b"}, "ws://127.0.0.1:8000/a%20b?room=1"),
        ({"path": "/chat", "raw_path": b"/chat?room=1"}, "ws://127.0.0.1:8000/chat?room=1"),
        ({"path": "/x", "raw_path": None}, "ws://127.0.0.1:8000/x?room=1"),
        ({"path": "/x", "raw_path": b""}, "ws://127.0.0.1:8000/x?room=1"),
    ],
)
def test_str_url(scope: dict[str, Any], expected: str) -> None:
    ws, _ = connection(**scope)
    assert str(ws.url) == expected
    assert ws.url == expected


def test_url_components() -> None:
    ws, _ = connection(
        scheme="wss",
        server=("::1", 8443),
        root_path="/api",
        path="/a b",
        raw_path=DROP,
        query_string=b"x=1",
    )
    url = ws.url
    assert (url.scheme, url.hostname, url.port) == ("wss", "::1", 8443)
    assert url.netloc == "[::1]:8443"
    assert url.path == "/api/a b"
    assert url.query == "x=1"
    assert url.fragment == ""


PATH_TEXT = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=20
).map(lambda s: "/" + s)


QUERY = st.text(alphabet="ab=&%2B+", max_size=10).map(str.encode)


@settings(max_examples=100, deadline=None)
@given(root=st.sampled_from(["", "/api", "/a b"]), path=PATH_TEXT, query=QUERY)
def test_url_is_valid_and_decodes_to_the_path(root: str, path: str, query: bytes) -> None:
    if root and path.startswith(root):
        path = "/x" + path
    ws, _ = connection(root_path=root, path=path, raw_path=DROP, query_string=query)
    url = str(ws.url)
    assert url.isascii()
    assert url.isprintable()
    assert not any(c in url for c in " #")
    parts = urlsplit(url)
    assert parts.query == query.decode()
    assert parts.scheme == "ws"
    assert parts.netloc == "127.0.0.1:8000"
    assert unquote(parts.path) == root + path
    assert ws.url.path == root + path


# -- granian sends ports as strings (found end to end) ----------------------------------------


def test_client_port_string_becomes_int() -> None:
    ws = WebSocket(make_scope(client=("127.0.0.1", "50123")), Transport().receive, Transport().send)
    assert ws.client == ("127.0.0.1", 50123)
    assert isinstance(ws.client.port, int)


@pytest.mark.parametrize(("port", "url"), [("80", "ws://example.org/chat"), ("8000", None)])
def test_server_port_string_in_the_url(port: str, url: str | None) -> None:
    scope = make_scope(server=("example.org", port), query_string=b"")
    ws = WebSocket(scope, Transport().receive, Transport().send)
    assert str(ws.url) == (url or f"ws://example.org:{port}/chat")
    assert ws.url.port == (None if port == "80" else int(port))
