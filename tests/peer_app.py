"""One genro-asgi app for the peers' test clients and routers (test_clients, test_routers).

The query string picks what the handshake does: ``?deny=1`` refuses it with
``deny(401, headers={"x-why": "login"}, body=b"log in first")``; ``?headers=1`` accepts with
the header ``x-served-by: genro-asgi``. Once accepted the app sends one JSON message describing
what it sees of the connection (``describe()``), then serves:

- ``"json"``: reads the next frame with ``receive_json()`` and answers ``send_json({"echo": it})``;
- ``"close"``: ``close(4001, "done")``;
- any other text: the text upper-cased; bytes: the bytes reversed.

Everything the app observes (its ``deny()`` result, the client's disconnect) goes to ``events``.
"""

from __future__ import annotations

from typing import Any

from genro_asgi import WebSocket, WebSocketDisconnect
from genro_asgi.types import Receive, Scope, Send


def describe(ws: WebSocket) -> dict[str, Any]:
    """What the app sees of the connection, as JSON."""
    return {
        "path": ws.path,
        "url": str(ws.url),
        "root_path": ws.scope.get("root_path", ""),
        "path_params": ws.path_params,
        "user": ws.state.user if "user" in ws.state else None,
        "subprotocols": list(ws.subprotocols),
    }


class PeerApp:
    """A raw ASGI app (a class, so Starlette's ``WebSocketRoute`` calls it as ASGI)."""

    def __init__(self) -> None:
        self.events: list[tuple[Any, ...]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        ws = WebSocket(scope, receive, send)
        if ws.query_params.get("deny") == "1":
            extended = await ws.deny(401, headers={"x-why": "login"}, body=b"log in first")
            self.events.append(("denied", extended))
            return
        headers = {"x-served-by": "genro-asgi"} if ws.query_params.get("headers") else None
        await ws.accept(subprotocol="chat" if "chat" in ws.subprotocols else None, headers=headers)
        await ws.send_json(describe(ws))
        try:
            while True:
                data = await ws.receive_data()
                if data == "json":
                    await ws.send_json({"echo": await ws.receive_json()})
                elif data == "close":
                    await ws.close(4001, "done")
                    self.events.append(("closed", ws.close_code, ws.close_reason))
                    return
                elif isinstance(data, str):
                    await ws.send_text(data.upper())
                else:
                    await ws.send_bytes(data[::-1])
        except WebSocketDisconnect as exc:
            self.events.append(("left", exc.code, exc.reason))
