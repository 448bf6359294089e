"""A chat room on genro-asgi: a raw ASGI app, no framework.

GET / serves the page (``index.html`` beside this file); the WebSocket at ``/ws?nick=NAME``
carries the chat. Run it with ``scripts/demo`` or
``uvicorn --app-dir examples/chat app:app --host 127.0.0.1 --port 8000``.

Client → server frames:

- ``{"type": "say", "text": "..."}``: plain JSON, a chat line;
- ``{"type": "bill", "amount": "12.50::N", "due": "2025-01-02::D"}::JS``: TYTX JSON, a bill to
  split: ``amount`` arrives as a ``Decimal``, ``due`` as a ``date``.

Server → client frames: ``join``, ``leave``, ``say`` and ``error`` as plain JSON (``send_json``);
``bill`` as TYTX JSON (``send_typed``), with the amount and each person's share as ``Decimal``,
the due date as ``date`` and the time it was posted as ``datetime``, so the page can show each
value with its type. Free text never travels as TYTX: a chat line such as ``"see you::D"`` must
stay a string.
"""

from __future__ import annotations

import json
import re
from contextlib import suppress
from datetime import date, datetime, timezone
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from genro_tytx import from_tytx

from genro_asgi import WebSocket, WebSocketDisconnect
from genro_asgi.types import Receive, Scope, Send

PAGE = (Path(__file__).parent / "index.html").read_bytes()
NICK = re.compile(r"[A-Za-z0-9_-]{1,20}")
MAX_TEXT = 500
MAX_AMOUNT = Decimal("1000000")
CENT = Decimal("0.01")
NICK_TAKEN = 4009  # close code when the nickname is already in the room


class ChatError(ValueError):
    """A message the room refuses; its text goes back to the sender."""


def parse_frame(text: str) -> dict[str, Any]:
    """A client frame as a dict: TYTX JSON when it ends with ``::JS``, else plain JSON."""
    try:
        data = from_tytx(text) if text.endswith("::JS") else json.loads(text)
    except (ValueError, ArithmeticError) as exc:
        raise ChatError(f"unreadable message: {exc}") from None
    if not isinstance(data, dict):
        raise ChatError("a message must be a JSON object")
    return data


def split_bill(amount: Any, people: int) -> Decimal:
    """Each person's share of ``amount``, rounded half up to the cent."""
    if not isinstance(amount, Decimal) or not amount.is_finite():
        raise ChatError("the amount must be a decimal number (sent as TYTX ::N)")
    if not 0 < amount <= MAX_AMOUNT:
        raise ChatError(f"the amount must be above 0 and at most {MAX_AMOUNT}")
    return (amount / people).quantize(CENT, rounding=ROUND_HALF_UP)


class ChatApp:
    """The whole demo: the page over HTTP and one chat room over WebSocket."""

    def __init__(self) -> None:
        self.members: dict[str, WebSocket] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "websocket":
            await self.websocket(WebSocket(scope, receive, send))
        elif kind == "http":
            await self.http(scope, send)
        elif kind == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})

    async def http(self, scope: Scope, send: Send) -> None:
        """``GET /`` is the page; anything else is 404 (405 for other methods)."""
        status, body, content_type = 200, PAGE, b"text/html; charset=utf-8"
        if scope["path"] != "/":
            status, body, content_type = 404, b"not found\n", b"text/plain; charset=utf-8"
        elif scope["method"] not in ("GET", "HEAD"):
            status, body, content_type = 405, b"use GET\n", b"text/plain; charset=utf-8"
        headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send(
            {"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body}
        )

    async def broadcast(self, data: dict[str, Any], typed: bool = False) -> None:
        """Send ``data`` to every member; a member who has gone is left to its own handler."""
        for ws in list(self.members.values()):
            with suppress(WebSocketDisconnect):
                await (ws.send_typed(data) if typed else ws.send_json(data))

    def roster(self) -> list[str]:
        return sorted(self.members, key=str.lower)

    async def websocket(self, ws: WebSocket) -> None:
        """One member: join, relay lines and bills, leave."""
        if ws.path != "/ws":
            await ws.deny(404, body=b"the chat is at /ws")
            return
        nick = ws.query_params.get("nick", "")
        if not NICK.fullmatch(nick):
            await ws.deny(400, body=b"nick must be 1-20 letters, digits, '_' or '-'")
            return
        await ws.accept()
        if nick in self.members:
            await ws.send_json({"type": "error", "text": f"the nickname {nick!r} is taken"})
            await ws.close(NICK_TAKEN, "nickname taken")
            return
        self.members[nick] = ws
        try:
            await self.broadcast({"type": "join", "nick": nick, "users": self.roster()})
            await self.relay(ws, nick)
        except WebSocketDisconnect:
            pass  # the member left
        finally:
            del self.members[nick]
        await self.broadcast({"type": "leave", "nick": nick, "users": self.roster()})

    async def relay(self, ws: WebSocket, nick: str) -> None:
        """Handle the member's frames until it leaves (``WebSocketDisconnect``)."""
        while True:
            frame = await ws.receive_data()
            try:
                if isinstance(frame, bytes):
                    raise ChatError("send text frames: JSON or TYTX JSON")
                await self.handle(nick, parse_frame(frame))
            except ChatError as exc:
                await ws.send_json({"type": "error", "text": str(exc)})

    async def handle(self, nick: str, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "say":
            text = message.get("text")
            if not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT:
                raise ChatError(f"a chat line is 1 to {MAX_TEXT} characters of text")
            now = datetime.now(timezone.utc)
            await self.broadcast({"type": "say", "nick": nick, "text": text, "at": now.isoformat()})
        elif kind == "bill":
            due = message.get("due")
            if not isinstance(due, date) or isinstance(due, datetime):
                raise ChatError("the due date must be a date (sent as TYTX ::D)")
            people = len(self.members)
            share = split_bill(message.get("amount"), people)
            bill = {
                "type": "bill",
                "nick": nick,
                "amount": message["amount"],
                "due": due,
                "people": people,
                "share": share,
                "at": datetime.now(timezone.utc),
            }
            await self.broadcast(bill, typed=True)
        else:
            raise ChatError(f"unknown message type {kind!r}; use 'say' or 'bill'")


app = ChatApp()
