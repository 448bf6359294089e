"""Connection data: headers, query parameters, URL, client address and per-connection state."""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from typing import Any, NamedTuple
from urllib.parse import SplitResult, quote, quote_from_bytes, unquote, urlsplit

from ._headers import Headers, headers_from_scope
from ._query import QueryParams, query_params_from_scope
from .types import Scope

# Characters a URL path keeps unescaped (RFC 3986 pchar and "/"); "%" is escaped.
_PATH_SAFE = "/:@!$&'()*+,;=~"
_DEFAULT_PORTS = {"ws": 80, "wss": 443, "http": 80, "https": 443}
_WS_SCHEMES = {"http": "ws", "https": "wss"}


class Address(NamedTuple):
    """The ``(host, port)`` of a peer; equal to the plain tuple, unpackable, hashable."""

    host: str
    port: int


class State:
    """Attribute access over a dict: ``state.user = u`` stores ``data["user"] = u``.

    The dict is used as given (not copied), so ``WebSocket.state`` shares ``scope["state"]``
    with the middleware and the server's lifespan state.
    """

    __slots__ = ("_data",)

    def __init__(self, data: MutableMapping[str, Any] | None = None) -> None:
        object.__setattr__(self, "_data", {} if data is None else data)

    def __getattr__(self, name: str) -> Any:
        try:
            return self._data[name]
        except KeyError:
            raise AttributeError(f"State has no attribute {name!r}.") from None

    def __setattr__(self, name: str, value: Any) -> None:
        self._data[name] = value

    def __delattr__(self, name: str) -> None:
        try:
            del self._data[name]
        except KeyError:
            raise AttributeError(f"State has no attribute {name!r}.") from None

    def __contains__(self, name: object) -> bool:
        return name in self._data

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __repr__(self) -> str:
        return f"State({self._data!r})"


class URL:
    """An immutable URL split into its components.

    ``path`` is percent-decoded (``/`` when empty); ``str()`` gives the URL back; equal to an
    equal ``URL`` or ``str``. ``replace()`` takes the components as they appear in the URL
    (``path`` percent-encoded), plus ``hostname`` and ``port``.
    """

    __slots__ = ("_parts", "_url")

    def __init__(self, url: str = "") -> None:
        if not isinstance(url, str):
            raise TypeError(f"URL must be str, got {type(url).__name__}.")
        self._url = url
        self._parts = urlsplit(url)

    @property
    def scheme(self) -> str:
        return self._parts.scheme

    @property
    def netloc(self) -> str:
        return self._parts.netloc

    @property
    def path(self) -> str:
        return unquote(self._parts.path) or "/"

    @property
    def query(self) -> str:
        return self._parts.query

    @property
    def fragment(self) -> str:
        return self._parts.fragment

    @property
    def hostname(self) -> str | None:
        return self._parts.hostname

    @property
    def port(self) -> int | None:
        return self._parts.port

    def replace(self, **components: Any) -> URL:
        """A new URL with the given components replaced.

        Raises:
            TypeError: an unknown component name.
        """
        if "hostname" in components or "port" in components:
            hostname = components.pop("hostname", self._parts.hostname) or ""
            port = components.pop("port", self._parts.port)
            userinfo, at, _ = self._parts.netloc.rpartition("@")
            components["netloc"] = userinfo + at + _netloc(hostname, port, self._parts.scheme)
        unknown = set(components) - set(SplitResult._fields)
        if unknown:
            raise TypeError(f"URL.replace() got unknown components: {sorted(unknown)}.")
        return URL(self._parts._replace(**components).geturl())

    def __str__(self) -> str:
        return self._url

    def __repr__(self) -> str:
        return f"URL({self._url!r})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (str, URL)):
            return self._url == str(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._url)


def _netloc(host: str, port: int | None, scheme: str) -> str:
    """``host[:port]`` with IPv6 hosts bracketed and the scheme's default port left out."""
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    if port is None or _DEFAULT_PORTS.get(scheme) == port:
        return host
    return f"{host}:{port}"


def port_number(port: Any) -> Any:
    """A scope's port as an ``int``, also where the server gives a digit string (granian)."""
    return int(port) if isinstance(port, str) and port.isdigit() else port


def url_from_scope(scope: Scope) -> URL:
    """The URL a client connected to, rebuilt from an ASGI scope.

    The scheme is ``ws``/``wss`` (``http``/``https`` are mapped); the host comes from
    ``scope["server"]`` (unless it is a unix socket, ``[path, None]``), else the ``Host``
    header, else it is left empty. The path is
    ``raw_path`` when the server gives it, else ``path`` percent-encoded; ``root_path`` is
    prefixed unless the path already starts with it as whole segments (servers differ on
    whether ``path`` includes it).
    """
    scheme = scope.get("scheme") or "ws"
    scheme = _WS_SCHEMES.get(scheme, scheme)
    server = scope.get("server")
    if server is not None and server[1] is not None:  # [path, None] is a unix socket
        netloc = _netloc(str(server[0]), port_number(server[1]), scheme)
    else:
        netloc = headers_from_scope(scope).get("host", "")
    raw_path = scope.get("raw_path")
    if raw_path:
        path = quote_from_bytes(raw_path.partition(b"?")[0], safe=_PATH_SAFE + "%")
    else:
        path = quote(scope.get("path", ""), safe=_PATH_SAFE)
    root_path = quote(scope.get("root_path", ""), safe=_PATH_SAFE).rstrip("/")
    # "/api" + "/apiary" is "/api/apiary": only a whole leading segment counts as included.
    if root_path and path != root_path and not path.startswith(root_path + "/"):
        path = root_path + path
    url = f"{scheme}://{netloc}{path or '/'}"
    query = scope.get("query_string", b"")
    if query:
        url = f"{url}?{query.decode('latin-1')}"
    return URL(url)


def parse_cookies(header: str) -> dict[str, str]:
    """Name/value pairs of a ``Cookie`` header, as browsers send them.

    Pairs split on ``;``; a pair without ``=`` is a value with an empty name (as browsers do);
    surrounding double quotes are removed; the first occurrence of a name wins.
    """
    cookies: dict[str, str] = {}
    for chunk in header.split(";"):
        name, sep, value = chunk.partition("=")
        if not sep:
            name, value = "", name
        name, value = name.strip(), value.strip()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        if name or value:
            cookies.setdefault(name, value)
    return cookies


__all__ = [
    "URL",
    "Address",
    "Headers",
    "QueryParams",
    "State",
    "headers_from_scope",
    "query_params_from_scope",
]
