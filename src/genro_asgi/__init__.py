"""genro-asgi: a fast, strict WebSocket toolkit for ASGI."""

from __future__ import annotations

from typing import Any

from . import _dispatch, _fanout, _headers, _query
from .datastructures import (
    URL,
    Address,
    Headers,
    QueryParams,
    State,
    headers_from_scope,
    query_params_from_scope,
)
from .exceptions import WebSocketDisconnect, WebSocketException
from .hub import Hub, Member, MemoryBackend
from .types import Message, Receive, Scope, Send
from .websocket import WebSocket, WebSocketState

__version__ = "0.1.0"

#: True when every hot-path module in use is the compiled one.
COMPILED: bool = _headers.COMPILED and _query.COMPILED and _dispatch.COMPILED and _fanout.COMPILED


def __getattr__(name: str) -> Any:
    """``RedisBackend`` is imported on first use (from ``genro_asgi.hub``): ``redis`` is needed
    only then. It is left out of ``__all__`` so that a star import never needs ``redis``."""
    if name == "RedisBackend":
        from . import hub

        return hub.RedisBackend
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "COMPILED",
    "URL",
    "Address",
    "Headers",
    "Hub",
    "Member",
    "MemoryBackend",
    "Message",
    "QueryParams",
    "Receive",
    "Scope",
    "Send",
    "State",
    "WebSocket",
    "WebSocketDisconnect",
    "WebSocketException",
    "WebSocketState",
    "__version__",
    "headers_from_scope",
    "query_params_from_scope",
]
