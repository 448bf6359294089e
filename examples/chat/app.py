"""A chat room on genro-asgi: a raw ASGI app, no framework, its room a topic of the hub.

GET / serves the page (``index.html`` beside this file); the WebSocket at
``/ws?nick=NAME&session=ID`` carries the chat. Run it with ``scripts/demo`` or
``uvicorn --app-dir examples/chat app:app --host 127.0.0.1 --port 8000``; on two workers
sharing a Redis with ``scripts/demo --workers 2``, or with ``GENRO_ASGI_REDIS_URL`` set.

The room is one topic of a ``genro_asgi.hub.Hub``, run from the ASGI lifespan: every member
has a bounded outbox, so a stalled tab cannot stall the room (the hub closes it with 1013
"slow consumer" once its outbox is full), and the roster is ``hub.presence()``. With
``GENRO_ASGI_REDIS_URL`` set the hub runs on ``RedisBackend``: the room, its roster and its
nicknames span every worker and host on that Redis; a gap (Redis lost messages) closes the
members with 1013 "missed messages", and the page reconnects and gets the roster again.

A nickname is claimed for the connection that joined with it: in process (``LocalNicks``)
on the memory backend, with ``SET key value NX EX ttl`` in Redis (``RedisNicks``), refreshed
while connected and deleted on leave, so a worker that dies frees its nicknames within the
TTL. The optional ``session`` (a random id the page keeps for its tab) lets a tab that
reconnects take its own nickname back before the old connection's claim is gone.

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

import asyncio
import contextlib
import json
import os
import re
import secrets
from collections.abc import Iterable, Iterator
from datetime import date, datetime, timezone
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any, Protocol

from genro_tytx import from_tytx

from genro_asgi import WebSocket, WebSocketDisconnect
from genro_asgi.hub import Hub, Member, MemoryBackend
from genro_asgi.types import Receive, Scope, Send

PAGE = (Path(__file__).parent / "index.html").read_bytes()
NICK = re.compile(r"[A-Za-z0-9_-]{1,20}")
ROOM = "room"
MAX_TEXT = 500
MAX_AMOUNT = Decimal("1000000")
CENT = Decimal("0.01")
SESSION = re.compile(r"[A-Za-z0-9_-]{8,64}")
NICK_TAKEN = 4009  # close code when the nickname is already in the room
TRY_AGAIN = 1013  # close code when the room's Redis is unreachable: the page reconnects
UNREACHABLE = "the room is unreachable for now (its Redis is down); the page tries again."
REDIS_URL_ENV = "GENRO_ASGI_REDIS_URL"
NICK_TTL = 15.0  # seconds a nickname claim lives in Redis without a refresh (presence's TTL)
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


class Nicks(Protocol):
    """Who holds which nickname: ``claim`` it for a connection, ``release`` it on leave."""

    async def claim(self, nick: str, session: str) -> str | None:
        """A token for the claim, or None when another connection holds ``nick``."""

    async def release(self, nick: str, token: str) -> None:
        """Free ``nick`` if ``token`` still holds it."""

    async def close(self) -> None:
        """Release what the registry holds open."""


def claim_token(session: str) -> str:
    """A claim's value: the tab's ``session`` (may be empty), a space, a random part."""
    return f"{session} {secrets.token_hex(8)}"


def same_session(token: str, session: str) -> bool:
    return bool(session) and token.startswith(session + " ")


class LocalNicks:
    """The nicknames of this process (memory backend: one process holds the whole room)."""

    __slots__ = ("_held",)

    def __init__(self) -> None:
        self._held: dict[str, str] = {}

    async def claim(self, nick: str, session: str) -> str | None:
        held = self._held.get(nick)
        if held is not None and not same_session(held, session):
            return None
        token = self._held[nick] = claim_token(session)
        return token

    async def release(self, nick: str, token: str) -> None:
        if self._held.get(nick) == token:
            del self._held[nick]

    async def close(self) -> None:
        self._held.clear()


#: Take the nickname if free (``SET NX EX``) or held by the same tab's session; else 0.
_CLAIM = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[3]) then return 1 end
local held = redis.call('GET', KEYS[1])
if held and ARGV[2] ~= '' and string.sub(held, 1, #ARGV[2] + 1) == ARGV[2] .. ' ' then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[3])
  return 1
end
return 0
"""
#: Renew the claim's TTL (or delete it) only while this connection still holds it.
_REFRESH = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return 0
"""
_RECLAIM = "if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2]) then return 1 end return 0"
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class RedisNicks:
    """The room's nicknames in Redis, for every worker: ``{prefix}{nick}`` holds the claim
    with a TTL of ``ttl`` seconds, refreshed every third of it while the connection lasts.

    Raises (``claim``, ``release``): ``ConnectionError`` when Redis is unreachable.
    """

    __slots__ = ("_redis", "_refreshers", "prefix", "ttl")

    def __init__(self, url: str, *, prefix: str = "genro-asgi-chat:nick:", ttl: float = NICK_TTL):
        import redis.asyncio as aioredis  # only when the demo runs on Redis

        self._redis = aioredis.from_url(url, socket_timeout=2.0, socket_connect_timeout=2.0)
        self._refreshers: dict[str, asyncio.Task[None]] = {}
        self.prefix = prefix
        self.ttl = max(1, round(ttl))

    async def _eval(self, script: str, nick: str, *args: str | int) -> int:
        from redis.exceptions import RedisError

        try:
            result: int = await self._redis.eval(script, 1, self.prefix + nick, *args)
        except (RedisError, OSError) as exc:
            raise ConnectionError(f"Redis is unreachable for the nicknames: {exc}.") from exc
        return result

    async def claim(self, nick: str, session: str) -> str | None:
        token = claim_token(session)
        if not await self._eval(_CLAIM, nick, token, session, self.ttl):
            return None
        self._refreshers[token] = asyncio.create_task(self._refresh(nick, token))
        return token

    async def _refresh(self, nick: str, token: str) -> None:
        while True:
            await asyncio.sleep(self.ttl / 3)
            try:
                if await self._eval(_REFRESH, nick, token, self.ttl):
                    continue
                # gone (Redis restarted empty): take it again if free, else another holds it
                if not await self._eval(_RECLAIM, nick, token, self.ttl):
                    return
            except ConnectionError:
                continue  # Redis down: the next tick tries again

    async def release(self, nick: str, token: str) -> None:
        task = self._refreshers.pop(token, None)
        if task is not None:
            task.cancel()
        await self._eval(_RELEASE, nick, token)

    async def close(self) -> None:
        for task in self._refreshers.values():
            task.cancel()
        self._refreshers.clear()
        await self._redis.aclose()


class ChatApp:
    """The whole demo: the page over HTTP and one chat room over WebSocket."""

    def __init__(
        self, hub: Hub | None = None, nicks: Nicks | None = None, *, redis_url: str | None = None
    ) -> None:
        """On Redis when ``redis_url`` is given (the app below: ``GENRO_ASGI_REDIS_URL``)."""
        if hub is None:
            if redis_url:
                from genro_asgi.hub import RedisBackend

                hub = Hub(RedisBackend(redis_url))
            else:
                hub = Hub(MemoryBackend())
        if nicks is None:
            nicks = RedisNicks(redis_url) if redis_url else LocalNicks()
        self.hub = hub
        self.nicks = nicks

    async def start(self) -> None:
        await self.hub.start()

    async def stop(self) -> None:
        try:
            await self.hub.stop()
        finally:
            await self.nicks.close()

    async def __aenter__(self) -> ChatApp:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

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
                await self.start()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.stop()
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
        nicks = {entry["nick"] for entry in await self.hub.presence(ROOM)}  # a tab reconnecting
        return sorted(nicks, key=str.lower)  # may be there twice for a moment

    async def websocket(self, ws: WebSocket) -> None:
        """One member: join, relay lines and bills, leave."""
        if ws.path != "/ws":
            await ws.deny(404, body=b"the chat is at /ws")
            return
        nick = ws.query_params.get("nick", "")
        if not NICK.fullmatch(nick):
            await ws.deny(400, body=b"nick must be 1-20 letters, digits, '_' or '-'")
            return
        session = ws.query_params.get("session", "")
        if session and not SESSION.fullmatch(session):
            await ws.deny(400, body=b"session must be 8-64 letters, digits, '_' or '-'")
            return
        if not ws.origin_allowed():  # a page of another site (cross-site WebSocket hijacking)
            await ws.deny(403)
            return
        await ws.accept()
        try:
            token = await self.nicks.claim(nick, session)
        except ConnectionError:
            await ws.send_json({"type": "error", "text": UNREACHABLE})
            await ws.close(TRY_AGAIN, "room unreachable")
            return
        if token is None:
            await ws.send_json({"type": "error", "text": f"the nickname {nick!r} is taken."})
            await ws.close(NICK_TAKEN, "nickname taken")
            return
        try:
            await self.member(ws, nick)
        finally:
            with contextlib.suppress(ConnectionError):  # Redis down: the claim's TTL frees it
                await self.nicks.release(nick, token)

    async def member(self, ws: WebSocket, nick: str) -> None:
        """Join the room (everyone gets the roster: a reconnected page resyncs), relay, leave."""
        ended = None
        try:
            async with self.hub.attach(ws) as member:
                await member.join(ROOM, info={"nick": nick})
                try:
                    users = await self.roster()
                    await self.hub.publish_json(
                        ROOM, {"type": "join", "nick": nick, "users": users}
                    )
                except ConnectionError:  # Redis unreachable: tell the page, which retries
                    ended = "unreachable"
                    await member.send_json({"type": "error", "text": UNREACHABLE})
                else:
                    try:
                        await self.relay(ws, member, nick)
                    finally:
                        ended = member.end_reason
        except WebSocketDisconnect:
            pass  # the member left, or the hub ended it (1013 slow consumer or missed
            # messages, 1001 going away)
        if ended == "unreachable":  # the outbox is flushed: close after the error
            await ws.close(TRY_AGAIN, "room unreachable")
        elif ended != "going away":  # the hub is stopping: nobody is left to tell
            with contextlib.suppress(ConnectionError):  # Redis down: presence expires it
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
            except ConnectionError:  # the local members got it, the other workers may not
                text = "the room's Redis is unreachable: your message may not reach everyone."
                await member.send_json({"type": "error", "text": text})
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


app = ChatApp(redis_url=os.environ.get(REDIS_URL_ENV) or None)
