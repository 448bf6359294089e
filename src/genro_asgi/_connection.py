"""The connection data of an ASGI scope: what ``WebSocket`` knows before any message.

Every property is computed lazily, once, from the scope the server gave. ``Connection`` holds
no lifecycle: ``WebSocket`` adds that on top.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from . import _origin
from .datastructures import (
    _WS_SCHEMES,
    URL,
    Address,
    Headers,
    QueryParams,
    State,
    headers_from_scope,
    parse_cookies,
    port_number,
    query_params_from_scope,
    url_from_scope,
)
from .types import Scope

_UNSET: Any = object()  # a lazy property whose value may be None, not computed yet


class Connection:
    """The lazily computed connection data of a ``scope``.

    The subclass's ``__init__`` stores the scope in ``_scope``, None in each lazy slot and
    ``_UNSET`` in ``_client`` (one ``__init__`` per connection: a second one, called from the
    first, would cost more than the stores).
    """

    __slots__ = (
        "_client",
        "_cookies",
        "_headers",
        "_path_params",
        "_query_params",
        "_scheme",
        "_scope",
        "_scope_state",
        "_subprotocols",
        "_url",
    )

    _scope: Scope
    _headers: Headers | None
    _query_params: QueryParams | None
    _url: URL | None
    _scope_state: State | None
    _cookies: dict[str, str] | None
    _path_params: dict[str, Any] | None
    _subprotocols: tuple[str, ...] | None
    _scheme: str | None
    _client: Address | None

    @property
    def scope(self) -> Scope:
        """The raw ASGI scope."""
        return self._scope

    @property
    def headers(self) -> Headers:
        """The handshake headers (case-insensitive)."""
        if self._headers is None:
            self._headers = headers_from_scope(self._scope)
        return self._headers

    @property
    def query_params(self) -> QueryParams:
        """The parsed query string."""
        if self._query_params is None:
            self._query_params = query_params_from_scope(self._scope)
        return self._query_params

    @property
    def url(self) -> URL:
        """The full ``ws://``/``wss://`` URL the client connected to."""
        if self._url is None:
            self._url = url_from_scope(self._scope)
        return self._url

    @property
    def state(self) -> State:
        """Per-connection state, stored in ``scope["state"]`` (shared with middleware)."""
        if self._scope_state is None:
            self._scope_state = State(self._scope.setdefault("state", {}))
        return self._scope_state

    @property
    def cookies(self) -> dict[str, str]:
        """Cookies sent with the handshake (every ``Cookie`` header, first name wins)."""
        if self._cookies is None:
            self._cookies = parse_cookies("; ".join(self.headers.getlist("cookie")))
        return self._cookies

    @property
    def client(self) -> Address | None:
        """The client's ``(host, port)``, or None when the server does not say.

        The port is an ``int`` even where the server gives a string (granian does).
        """
        if self._client is _UNSET:
            client = self._scope.get("client")
            self._client = None if client is None else Address(client[0], port_number(client[1]))
        return self._client

    @property
    def path(self) -> str:
        """The decoded request path."""
        path: str = self._scope.get("path", "/")
        return path

    @property
    def path_params(self) -> dict[str, Any]:
        """Parameters a router put in ``scope["path_params"]`` (an empty dict, kept, when none)."""
        if self._path_params is None:
            self._path_params = self._scope.get("path_params", {})
        return self._path_params

    @property
    def scheme(self) -> str:
        """``ws`` or ``wss`` (a server's ``http``/``https`` mapped as in ``url``)."""
        if self._scheme is None:
            scheme: str = self._scope.get("scheme", "ws")
            self._scheme = _WS_SCHEMES.get(scheme, scheme)
        return self._scheme

    @property
    def subprotocols(self) -> tuple[str, ...]:
        """Subprotocols the client offered, in its order of preference."""
        if self._subprotocols is None:
            self._subprotocols = tuple(self._scope.get("subprotocols", ()))
        return self._subprotocols

    @property
    def origin(self) -> str | None:
        """The handshake's ``Origin`` header: the page's origin for a browser, else None."""
        return self.headers.get("origin")

    def origin_allowed(self, allowed: Iterable[str] | None = None) -> bool:
        """Whether the handshake's ``Origin`` may be accepted: the guard against cross-site
        WebSocket hijacking (``if not ws.origin_allowed([...]): await ws.deny(403)``).

        With ``allowed=None``: True when the Origin's host and port are the ``Host`` header's
        (same origin). Otherwise ``allowed`` lists the origins to accept: exact ones
        (``"https://chat.example.com"``), ``"https://*.example.com"`` for any subdomain (not
        the apex, and never ``example.com.evil.io``), ``"*"`` for any well-formed origin,
        ``"null"`` for the opaque one. Case and default ports are normalised. No ``Origin``
        header (not a browser) is allowed; a malformed one is not.

        Raises:
            TypeError: ``allowed`` is a ``str`` or ``bytes`` (pass a list), or holds a non-str.
            ValueError: an entry of ``allowed`` is not an origin, a wildcard or ``"*"``.
        """
        headers = self.headers
        return _origin.origin_allowed(
            headers.get("origin"), headers.get("host"), self.scheme, allowed
        )
