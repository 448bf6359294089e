"""A chat room on genro-asgi: a raw ASGI app, no framework, its room a topic of the hub.

GET / serves the page (``index.html`` beside this file); the WebSocket at ``/ws?nick=NAME``
carries the chat. Run it with ``scripts/demo`` or
``uvicorn --app-dir examples/chat app:app --host 127.0.0.1 --port 8000``.

The room is one topic of a ``genro_asgi.hub.Hub``, run from the ASGI lifespan: every member
has a bounded outbox, so a stalled tab cannot stall the room (the hub closes it with 1013
"slow consumer" once its outbox is full), and the roster is ``hub.presence()``.

Client → server frames:

- ``{"type": "say", "text": "..."}``: plain JSON, a chat line;
- ``{"type": "bill", "amount": "12.50::N", "due": "2025-01-02::D"}::JS``: TYTX JSON, a bill to
  split: ``amount`` arrives as a ``Decimal``, ``due`` as a ``date``.

Server → client frames: ``join``, ``leave``, ``say`` and ``error`` as plain JSON
(``publish_json``/``send_json``); ``bill`` as TYTX JSON (``publish_typed``), with the amount and
each person's share as ``Decimal``, the due date as ``date`` and the time it was posted as
``datetime``, so the page can show each value with its type. Free text never travels as TYTX: a
chat line such as ``"see you::D"`` must stay a string.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from datetime import date, datetime, timezone
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from genro_tytx import from_tytx

from genro_asgi import WebSocket, WebSocketDisconnect
from genro_asgi.hub import Hub, Member
from genro_asgi.types import Receive, Scope, Send

PAGE = (Path(__file__).parent / "index.html").read_bytes()
NICK = re.compile(r"[A-Za-z0-9_-]{1,20}")
ROOM = "room"
MAX_TEXT = 500
MAX_AMOUNT = Decimal("1000000")
CENT = Decimal("0.01")
NICK_TAKEN = 4009  # close code when the nickname is already in the room
#: What each TYTX suffix the room reads stands for, to name a bad value in an error.
TYPED = {"N": "decimal number", "D": "date (YYYY-MM-DD)", "DHZ": "date and time",
         "DH": "date and time", "H": "time", "L": "whole number", "R": "number",
         "B": "boolean"}  # fmt: skip


class ChatError(ValueError):
    """A message the room refuses; its text goes back to the sender."""


def parse_frame(text: str) -> dict[str, Any]:
    """A client frame as a dict: TYTX JSON when it ends with ``::JS``, else plain JSON."""
    typed = text.endswith("::JS")
    try:
        data = json.loads(text[:-4] if typed else text)
    except ValueError as exc:
        where = f" (line {exc.lineno}, column {exc.colno})" if hasattr(exc, "colno") else ""
        raise ChatError(f"unreadable message: it is not valid JSON{where}.") from None
    if typed:
        try:
            data = from_tytx(text)
        except (ValueError, ArithmeticError):
            raise ChatError(f"unreadable message: {bad_typed_value(data)}") from None
    if not isinstance(data, dict):
        raise ChatError("a message must be a JSON object.")
    return data


def bad_typed_value(data: Any) -> str:
    """The first typed value of ``data`` (the frame as plain JSON) TYTX cannot read."""
    for where, value in typed_values(data, ""):
        raw, _, suffix = value.rpartition("::")
        try:
            from_tytx(json.dumps(value) + "::JS")
        except (ValueError, ArithmeticError):
            return f"{where!r} is not a valid {TYPED.get(suffix, f'::{suffix} value')}: {raw!r}."
    return "a typed value is not valid."


def typed_values(data: Any, path: str) -> Iterator[tuple[str, str]]:
    """Every ``(path, "value::SUFFIX")`` string inside ``data``, depth first."""
    if isinstance(data, dict):
        pairs: Iterable[tuple[Any, Any]] = data.items()
    else:
        pairs = enumerate(data) if isinstance(data, list) else ()
    for key, value in pairs:
        where = f"{path}.{key}" if path else str(key)
        if isinstance(value, str) and "::" in value:
            yield where, value
        else:
            yield from typed_values(value, where)


def split_bill(amount: Any, people: int) -> Decimal:
    """Each person's share of ``amount``, rounded half up to the cent."""
    if not isinstance(amount, Decimal) or not amount.is_finite():
        raise ChatError("the amount must be a decimal number (sent as TYTX ::N).")
    if not 0 < amount <= MAX_AMOUNT:
        raise ChatError(f"the amount must be above 0 and at most {MAX_AMOUNT}.")
    return (amount / people).quantize(CENT, rounding=ROUND_HALF_UP)


class ChatApp:
    """The whole demo: the page over HTTP and one chat room over WebSocket."""

    def __init__(self, hub: Hub | None = None) -> None:
        self.hub = Hub() if hub is None else hub

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "websocket":
            await self.websocket(WebSocket(scope, receive, send))
        elif kind == "http":
            await self.http(scope, send)
        elif kind == "lifespan":
            await self.lifespan(receive, send)

    async def lifespan(self, receive: Receive, send: Send) -> None:
        """The hub runs from startup to shutdown (shutdown closes every member with 1001)."""
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await self.hub.start()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.hub.stop()
                await send({"type": "lifespan.shutdown.complete"})
                return

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

    async def roster(self) -> list[str]:
        """Who is in the room: the nicknames of ``hub.presence(ROOM)``."""
        return sorted((entry["nick"] for entry in await self.hub.presence(ROOM)), key=str.lower)

    async def websocket(self, ws: WebSocket) -> None:
        """One member: join, relay lines and bills, leave."""
        if ws.path != "/ws":
            await ws.deny(404, body=b"the chat is at /ws")
            return
        nick = ws.query_params.get("nick", "")
        if not NICK.fullmatch(nick):
            await ws.deny(400, body=b"nick must be 1-20 letters, digits, '_' or '-'")
            return
        # The origin check belongs here, before accept(): with ws.origin_allowed() (SPEC
        # section 4) a page of another site is refused:
        #     if not ws.origin_allowed(): await ws.deny(403); return
        await ws.accept()
        if nick in await self.roster():
            await ws.send_json({"type": "error", "text": f"the nickname {nick!r} is taken."})
            await ws.close(NICK_TAKEN, "nickname taken")
            return
        ended = None
        try:
            async with self.hub.attach(ws) as member:
                await member.join(ROOM, info={"nick": nick})
                users = await self.roster()
                await self.hub.publish_json(ROOM, {"type": "join", "nick": nick, "users": users})
                try:
                    await self.relay(ws, member, nick)
                finally:
                    ended = member.end_reason
        except WebSocketDisconnect:
            pass  # the member left, or the hub ended it (1013 slow consumer, 1001 going away)
        if ended != "going away":  # the hub is stopping: nobody is left to tell
            users = await self.roster()
            await self.hub.publish_json(ROOM, {"type": "leave", "nick": nick, "users": users})

    async def relay(self, ws: WebSocket, member: Member, nick: str) -> None:
        """Handle the member's frames until it leaves (``WebSocketDisconnect``)."""
        while True:
            frame = await ws.receive_data()
            try:
                if isinstance(frame, bytes):
                    raise ChatError("send text frames: JSON or TYTX JSON.")
                await self.handle(nick, parse_frame(frame))
            except ChatError as exc:
                await member.send_json({"type": "error", "text": str(exc)})

    async def handle(self, nick: str, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "say":
            text = message.get("text")
            if not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT:
                raise ChatError(f"a chat line is 1 to {MAX_TEXT} characters of text.")
            now = datetime.now(timezone.utc).isoformat()
            await self.hub.publish_json(
                ROOM, {"type": "say", "nick": nick, "text": text, "at": now}
            )
        elif kind == "bill":
            due = message.get("due")
            if not isinstance(due, date) or isinstance(due, datetime):
                raise ChatError("the due date must be a date (sent as TYTX ::D).")
            people = len(await self.roster())
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
            await self.hub.publish_typed(ROOM, bill)
        else:
            raise ChatError(f"unknown message type {kind!r}; use 'say' or 'bill'.")


app = ChatApp()
