"""genro-asgi: a fast, strict WebSocket toolkit for ASGI."""

from __future__ import annotations

from . import _dispatch, _headers, _query
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
from .types import Message, Receive, Scope, Send
from .websocket import WebSocket, WebSocketState

__version__ = "0.1.0"

#: True when every hot-path module in use is the compiled one.
COMPILED: bool = _headers.COMPILED and _query.COMPILED and _dispatch.COMPILED

__all__ = [
    "COMPILED",
    "URL",
    "Address",
    "Headers",
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
