"""What the ASGI server can do, read once per connection from ``scope["asgi"]["spec_version"]``.

Only a *declared* version withholds a feature. A scope without a ``spec_version`` (Starlette's
TestClient, httpx-ws, asgiref's ApplicationCommunicator, daphne), or with one that is not a
``"major.minor"`` string, is a server of unknown spec: accept headers and the close reason are
sent (a server that does not know a message key ignores it), and the wrapper receives ahead,
since nothing promises that its ``send()`` raises once the client is gone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class ServerCapabilities:
    """What the server declared it supports (all True for a server of unknown spec, except
    ``send_raises``, which must be promised)."""

    #: ``websocket.accept`` may carry ``headers`` (ASGI spec 2.1).
    accept_headers: bool
    #: ``websocket.close`` may carry ``reason`` (ASGI spec 2.3).
    close_reason: bool
    #: ``send()`` raises ``OSError`` once the client is gone (ASGI spec 2.4), so the wrapper
    #: needs no receive-ahead to notice a disconnect.
    send_raises: bool


UNKNOWN = ServerCapabilities(accept_headers=True, close_reason=True, send_raises=False)


def _declared(version: tuple[int, int]) -> ServerCapabilities:
    return ServerCapabilities(
        accept_headers=version >= (2, 1),
        close_reason=version >= (2, 3),
        send_raises=version >= (2, 4),
    )


def _parse(spec_version: object) -> tuple[int, int] | None:
    """``(major, minor)`` of a ``"2.4"``-style string, None when it is not one."""
    if not isinstance(spec_version, str):
        return None
    major, _, rest = spec_version.partition(".")
    minor = rest.partition(".")[0]
    if not (major.isdigit() and minor.isdigit() and major.isascii() and minor.isascii()):
        return None
    return int(major), int(minor)


# Versions seen so far (servers send a handful): a dict look-up per connection, not a parse.
_KNOWN: dict[str, ServerCapabilities] = {}


def capabilities(scope: Any) -> ServerCapabilities:
    """The capabilities of the server behind ``scope`` (cached per ``spec_version`` string)."""
    asgi = scope.get("asgi")
    if type(asgi) is not dict and not isinstance(asgi, Mapping):  # dict: skip the ABC check
        return UNKNOWN
    spec_version = asgi.get("spec_version")
    if type(spec_version) is not str:
        return UNKNOWN
    known = _KNOWN.get(spec_version)
    if known is None:
        version = _parse(spec_version)
        known = UNKNOWN if version is None else _declared(version)
        if len(_KNOWN) < 64:  # a server that makes up a version per connection: no growth
            _KNOWN[spec_version] = known
    return known
