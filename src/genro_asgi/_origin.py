"""The ``Origin`` check of a WebSocket handshake (SPEC section 4): plain functions, no I/O.

Browsers send ``Origin`` with every WebSocket handshake and let any page open a WebSocket to
any host, cookies included: a server that does not check it is open to cross-site WebSocket
hijacking. :func:`origin_allowed` is the check behind ``WebSocket.origin_allowed()``.

- An origin is ``scheme://host[:port]`` (RFC 6454): the scheme and host are compared
  lowercased, a default port (80 for ``http``/``ws``, 443 for ``https``/``wss``) equals no port,
  IPv6 hosts are in brackets and compared in their canonical form (``[0:0::1]`` is ``[::1]``).
- No ``Origin`` header: allowed. Browsers always send one, so its absence means a client that
  is not a browser (a script, a server, a test), against which the header proves nothing.
- A malformed ``Origin`` (a path, user info, a bad port, non-ASCII, the opaque ``null`` that
  sandboxed frames and ``file:`` pages send): not allowed, unless the allow list names that
  exact text (``"null"``).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from functools import lru_cache
from typing import NamedTuple

#: The port a scheme implies when an origin or a ``Host`` header gives none.
DEFAULT_PORTS = {"http": 80, "ws": 80, "https": 443, "wss": 443}

_SCHEME = re.compile(r"[a-z][a-z0-9+.\-]*\Z")
# A DNS name or an IPv4 address, as browsers serialize them (IDNA hosts arrive as punycode).
_REG_NAME = re.compile(r"[a-z0-9_\-]+(?:\.[a-z0-9_\-]+)*\.?\Z")
_PORT = re.compile(r"[0-9]{1,5}\Z")


class Origin(NamedTuple):
    """A parsed origin: lowercased ``scheme`` and ``host`` (IPv6 in brackets), ``port``.

    ``port`` is the explicit port, else the scheme's default, else None (an unknown scheme).
    """

    scheme: str
    host: str
    port: int | None


def _authority(text: str) -> tuple[str, int | None] | None:
    """``(host, port)`` of ``host[:port]``, host normalised; None when malformed."""
    if not text.isascii():
        return None
    text = text.lower()
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            return None
        if "%" in text[:end]:  # a zone id is local to one machine: never in an origin
            return None
        try:
            host = f"[{ipaddress.IPv6Address(text[1:end]).compressed}]"
        except ValueError:
            return None
        rest = text[end + 1 :]
    else:
        host, colon, port_text = text.partition(":")
        rest = colon + port_text
        if not _REG_NAME.match(host):
            return None
    if not rest:
        return host, None
    if rest[0] != ":" or not _PORT.match(rest[1:]):
        return None
    port = int(rest[1:])
    return (host, port) if port <= 65535 else None


def parse_origin(origin: str) -> Origin | None:
    """Parse a serialized origin such as ``"https://Chat.Example.com:443"``.

    Returns None when ``origin`` is not ``scheme://host[:port]`` (this includes ``"null"``).
    """
    scheme, sep, authority = origin.partition("://")
    scheme = scheme.lower()
    if not sep or not _SCHEME.match(scheme):
        return None
    parsed = _authority(authority)
    if parsed is None:
        return None
    host, port = parsed
    return Origin(scheme, host, DEFAULT_PORTS.get(scheme) if port is None else port)


def same_origin(origin: str, host: str | None, scheme: str) -> bool:
    """True when ``origin``'s host and port are those of the ``Host`` header ``host``.

    A ``Host`` without a port has the default port of the connection's ``scheme``
    (``ws``/``http``: 80, ``wss``/``https``: 443). False when either is missing or malformed.
    """
    parsed = parse_origin(origin)
    target = None if host is None else _authority(host)
    if parsed is None or target is None:
        return False
    target_host, target_port = target
    if target_port is None:
        target_port = DEFAULT_PORTS.get(scheme.lower())
    return parsed.host == target_host and parsed.port == target_port


class _Pattern(NamedTuple):
    """One entry of an allow list: an exact origin, or ``suffix`` for ``scheme://*.suffix``."""

    origin: Origin
    wildcard: bool


@lru_cache(maxsize=256)
def _pattern(entry: str) -> _Pattern:
    """Parse one allow-list entry, or raise ``ValueError`` saying what is wrong with it."""
    scheme, sep, authority = entry.partition("://")
    wildcard = authority.startswith("*.")
    parsed = parse_origin(f"{scheme}{sep}{authority[2:]}" if wildcard else entry)
    if parsed is None or "*" in authority[2 if wildcard else 0 :]:
        raise ValueError(
            f"Allowed origin {entry!r} is not an origin: use 'https://host[:port]', "
            "'https://*.example.com' for any subdomain, or '*' for any origin."
        )
    if wildcard and parsed.host.startswith("["):
        raise ValueError(f"Allowed origin {entry!r}: a wildcard needs a domain name.")
    return _Pattern(parsed, wildcard)


def _matches(pattern: _Pattern, origin: Origin) -> bool:
    expected = pattern.origin
    if origin.scheme != expected.scheme or origin.port != expected.port:
        return False
    if not pattern.wildcard:
        return origin.host == expected.host
    # Any subdomain, at any depth, on a label boundary: not the apex, not "example.com.evil.io"
    # nor "evilexample.com".
    return origin.host.endswith("." + expected.host)


def origin_allowed(
    origin: str | None, host: str | None, scheme: str, allowed: Iterable[str] | None
) -> bool:
    """Whether a handshake whose ``Origin`` header is ``origin`` may be accepted.

    Args:
        origin: the ``Origin`` header, or None when the client sent none (always allowed).
        host: the ``Host`` header (for the same-origin check), or None.
        scheme: the connection's scheme, ``ws`` or ``wss`` (``http``/``https`` are read alike).
        allowed: None for same origin only; else the origins to accept, each an exact origin
            (``"https://chat.example.com"``), ``"https://*.example.com"`` for any subdomain of
            ``example.com`` (not ``example.com`` itself: list it too), ``"*"`` for any
            well-formed origin, or ``"null"`` for the opaque origin. The connection's own
            origin is not implied: list it.

    Raises:
        TypeError: ``allowed`` is a ``str`` or ``bytes`` (pass a list), or holds a non-str.
        ValueError: an entry of ``allowed`` is not an origin, a wildcard or ``"*"``.
    """
    if isinstance(allowed, (str, bytes)):
        raise TypeError(f"allowed must be an iterable of origins, not a single {allowed!r}.")
    if origin is None:
        return True
    if allowed is None:
        return same_origin(origin, host, scheme)
    parsed = parse_origin(origin)
    result = False
    for entry in allowed:  # every entry is checked, so a bad list fails on the first call
        if not isinstance(entry, str):
            raise TypeError(f"Allowed origins must be str, got {type(entry).__name__}.")
        if entry == "*":
            result = result or parsed is not None
        elif entry == "null":
            result = result or origin == "null"
        else:
            pattern = _pattern(entry)
            result = result or (parsed is not None and _matches(pattern, parsed))
    return result


__all__ = ["DEFAULT_PORTS", "Origin", "origin_allowed", "parse_origin", "same_origin"]
