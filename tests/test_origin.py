"""SPEC section 4: the Origin check (``genro_asgi._origin``), plain functions without a loop."""

from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from genro_asgi._origin import Origin, origin_allowed, parse_origin, same_origin

# -- parse_origin ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("https://chat.example.com", Origin("https", "chat.example.com", 443)),
        ("HTTPS://Chat.EXAMPLE.com:443", Origin("https", "chat.example.com", 443)),
        ("http://example.com:80", Origin("http", "example.com", 80)),
        ("http://example.com:8080", Origin("http", "example.com", 8080)),
        ("http://127.0.0.1:8000", Origin("http", "127.0.0.1", 8000)),
        ("http://[::1]:8000", Origin("http", "[::1]", 8000)),
        ("http://[0:0:0:0:0:0:0:1]", Origin("http", "[::1]", 80)),
        ("https://[2001:DB8::A]", Origin("https", "[2001:db8::a]", 443)),
        ("http://xn--bcher-kva.example", Origin("http", "xn--bcher-kva.example", 80)),
        ("chrome-extension://abcdef", Origin("chrome-extension", "abcdef", None)),
        ("http://localhost:0", Origin("http", "localhost", 0)),
        ("http://localhost:65535", Origin("http", "localhost", 65535)),
    ],
)
def test_parse_origin(text: str, expected: Origin) -> None:
    assert parse_origin(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "null",
        "",
        "example.com",
        "https://",
        "https://example.com/",
        "https://example.com/path",
        "https://example.com?q",
        "https://user@example.com",
        "https://example.com:",
        "https://example.com:65536",
        "https://example.com:12a",
        "https://example.com:-1",
        "https://exa mple.com",
        "https://bücher.example",
        "https://a..b",
        "https://[::1",
        "https://[not-ipv6]",
        "https://[fe80::1%25eth0]",
        "https://[::1]x",
        "1http://example.com",
        "https://example.com:443:443",
        "https://*.example.com",
    ],
)
def test_malformed_origins_do_not_parse(text: str) -> None:
    assert parse_origin(text) is None


# -- same origin (allowed=None) -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("origin", "host", "scheme"),
    [
        ("https://chat.example.com", "chat.example.com", "wss"),
        ("https://chat.example.com", "chat.example.com:443", "wss"),
        ("https://CHAT.example.com:443", "Chat.Example.Com", "wss"),
        ("http://127.0.0.1:8000", "127.0.0.1:8000", "ws"),
        ("http://localhost", "localhost", "ws"),
        ("http://localhost", "localhost", "http"),
        ("http://[::1]:8000", "[0::1]:8000", "ws"),
    ],
)
def test_same_origin_is_allowed_by_default(origin: str, host: str, scheme: str) -> None:
    assert same_origin(origin, host, scheme)
    assert origin_allowed(origin, host, scheme, None)


@pytest.mark.parametrize(
    ("origin", "host", "scheme"),
    [
        ("https://evil.example", "chat.example.com", "wss"),
        ("https://chat.example.com:8443", "chat.example.com", "wss"),
        # A page on port 443 against a connection whose Host has no port on a ws scheme (80):
        # behind a TLS-terminating proxy, give the server the proxy's scheme (uvicorn
        # --proxy-headers) or pass an explicit allow list.
        ("https://chat.example.com", "chat.example.com", "ws"),
        ("http://localhost:3000", "localhost:8000", "ws"),
        ("http://sub.localhost:8000", "localhost:8000", "ws"),
        ("null", "localhost:8000", "ws"),
        ("http://localhost:8000/", "localhost:8000", "ws"),
        ("http://localhost:8000", None, "ws"),
        ("http://localhost:8000", "", "ws"),
        ("http://localhost:8000", "localhost:8000/x", "ws"),
        ("http://localhost:8000", "localhost:99999", "ws"),
    ],
)
def test_other_origins_are_refused_by_default(origin: str, host: str | None, scheme: str) -> None:
    assert not origin_allowed(origin, host, scheme, None)


def test_no_origin_header_is_allowed() -> None:
    """Browsers always send Origin: a client without one is not a browser."""
    assert origin_allowed(None, "chat.example.com", "wss", None)
    assert origin_allowed(None, None, "wss", None)
    assert origin_allowed(None, "chat.example.com", "wss", [])
    assert origin_allowed(None, "chat.example.com", "wss", ["https://other.example"])


# -- explicit allow lists -------------------------------------------------------------------------

ALLOWED = ["https://chat.example.com", "https://*.example.org", "http://localhost:8000"]


@pytest.mark.parametrize(
    "origin",
    [
        "https://chat.example.com",
        "https://Chat.Example.Com:443",
        "https://a.example.org",
        "https://a.b.c.example.org",
        "https://A.EXAMPLE.ORG:443",
        "http://localhost:8000",
    ],
)
def test_allow_list_accepts(origin: str) -> None:
    assert origin_allowed(origin, "unrelated.host", "wss", ALLOWED)


@pytest.mark.parametrize(
    "origin",
    [
        "http://chat.example.com",  # another scheme
        "https://chat.example.com:8443",  # another port
        "https://example.org",  # the apex is not a subdomain
        "https://example.org.evil.io",  # no partial-suffix match
        "https://a.example.org.evil.io",
        "https://evilexample.org",  # a label boundary, not a string suffix
        "https://a.example.org:8443",
        "http://a.example.org",
        "http://localhost",
        "https://unrelated.host",  # the connection's own origin is not implied
        "null",
        "garbage",
    ],
)
def test_allow_list_refuses(origin: str) -> None:
    assert not origin_allowed(origin, "unrelated.host", "wss", ALLOWED)


def test_apex_when_listed_and_wildcard_with_port() -> None:
    allowed = ["https://example.org", "https://*.example.org", "http://*.dev.test:8080"]
    assert origin_allowed("https://example.org", None, "wss", allowed)
    assert origin_allowed("http://x.dev.test:8080", None, "wss", allowed)
    assert not origin_allowed("http://x.dev.test", None, "wss", allowed)


def test_star_allows_every_well_formed_origin() -> None:
    assert origin_allowed("https://anything.example", None, "wss", ["*"])
    assert origin_allowed("chrome-extension://abc", None, "wss", ("*",))
    assert not origin_allowed("null", None, "wss", ["*"])
    assert not origin_allowed("https://a/b", None, "wss", ["*"])


def test_null_is_allowed_only_when_listed() -> None:
    assert origin_allowed("null", None, "ws", ["null"])
    assert not origin_allowed("null", None, "ws", ["https://example.com"])


def test_empty_list_allows_only_clients_without_origin() -> None:
    assert not origin_allowed("https://chat.example.com", "chat.example.com", "wss", [])
    assert origin_allowed(None, "chat.example.com", "wss", [])


def test_any_iterable_is_read_once() -> None:
    allowed = iter(["https://a.example", "https://b.example"])
    assert origin_allowed("https://b.example", None, "wss", allowed)


@pytest.mark.parametrize(
    "entry",
    [
        "chat.example.com",
        "*.example.com",
        "https://*",
        "https://a*.example.com",
        "https://*.*.example.com",
        "https://example.*",
        "https://chat.example.com/",
        "https://*.[::1]",
        "",
    ],
)
def test_a_bad_allow_list_entry_raises_value_error(entry: str) -> None:
    with pytest.raises(ValueError, match=r"is not an origin|needs a domain name") as info:
        origin_allowed("https://chat.example.com", None, "wss", ["https://chat.example.com", entry])
    assert str(info.value).endswith(".")
    # Raised whether an earlier entry matched or not.
    with pytest.raises(ValueError, match=r"is not an origin|needs a domain name"):
        origin_allowed("https://other.example", None, "wss", [entry])


@pytest.mark.parametrize("allowed", ["https://chat.example.com", b"https://chat.example.com"])
def test_a_single_string_raises_type_error(allowed: object) -> None:
    with pytest.raises(TypeError, match="iterable of origins"):
        origin_allowed("https://chat.example.com", None, "wss", allowed)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="iterable of origins"):
        origin_allowed(None, None, "wss", allowed)  # type: ignore[arg-type]


def test_a_non_str_entry_raises_type_error() -> None:
    with pytest.raises(TypeError, match="must be str, got bytes"):
        origin_allowed("https://a.example", None, "wss", [b"https://a.example"])  # type: ignore[list-item]


# -- properties -----------------------------------------------------------------------------------

_label = st.text(string.ascii_lowercase + string.digits, min_size=1, max_size=8)
_domain = st.lists(_label, min_size=1, max_size=4).map(".".join)
_scheme = st.sampled_from(["http", "https"])


@given(_scheme, _domain, st.integers(1, 65535) | st.none())
def test_an_origin_is_allowed_by_itself(scheme: str, domain: str, port: int | None) -> None:
    origin = f"{scheme}://{domain}" + ("" if port is None else f":{port}")
    assert origin_allowed(origin, None, "wss", [origin])
    assert origin_allowed(origin.upper(), None, "wss", [origin])
    assert origin_allowed(origin, None, "wss", ["*"])


@given(_scheme, _domain, _domain, _domain)
def test_wildcard_matches_exactly_the_subdomains(
    scheme: str, sub: str, apex: str, other: str
) -> None:
    allowed = [f"{scheme}://*.{apex}"]
    assert origin_allowed(f"{scheme}://{sub}.{apex}", None, "wss", allowed)
    assert not origin_allowed(f"{scheme}://{apex}", None, "wss", allowed)
    suffixed = f"{scheme}://{sub}.{apex}.{other}"
    assert origin_allowed(suffixed, None, "wss", allowed) == (f"{sub}.{apex}.{other}").endswith(
        f".{apex}"
    )


@given(st.text(max_size=40))
def test_parse_origin_never_raises(text: str) -> None:
    parsed = parse_origin(text)
    if parsed is not None:
        assert parsed.scheme == parsed.scheme.lower()
        assert parsed.host == parsed.host.lower()
        assert parse_origin(f"{parsed.scheme}://{parsed.host}:{parsed.port}") in (parsed, None)


@given(_scheme, _domain, st.sampled_from(["ws", "wss"]))
def test_same_origin_ports_follow_the_schemes(scheme: str, domain: str, ws_scheme: str) -> None:
    """A Host without a port is on the connection scheme's default port."""
    expected = {"http": "ws", "https": "wss"}[scheme] == ws_scheme
    assert same_origin(f"{scheme}://{domain}", domain, ws_scheme) is expected
