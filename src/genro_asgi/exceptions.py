"""Exceptions raised by and for WebSocket connections."""

from __future__ import annotations


class WebSocketDisconnect(Exception):
    """The peer closed the connection (or vanished: code 1006).

    ``code`` is the close code the server reported (1005 when it gave none) and ``reason``
    the close reason ("" when none).
    """

    def __init__(self, code: int = 1000, reason: str = "") -> None:
        super().__init__(code, reason)
        self.code = code
        self.reason = reason

    def __str__(self) -> str:
        text = f"WebSocket disconnected with code {self.code}"
        return f"{text}: {self.reason}" if self.reason else text

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, reason={self.reason!r})"


class WebSocketException(Exception):
    """Raised by an application to close its connection with ``code`` and ``reason``.

    Frameworks built on genro-asgi catch it and call ``close(code, reason)``.
    ``str()`` is the reason.
    """

    def __init__(self, code: int = 1000, reason: str = "") -> None:
        super().__init__(code, reason)
        self.code = code
        self.reason = reason

    def __str__(self) -> str:
        return self.reason

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, reason={self.reason!r})"


__all__ = ["WebSocketDisconnect", "WebSocketException"]
