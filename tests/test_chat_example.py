"""The chat demo (examples/chat/app.py), in process through genro_asgi.testing."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import sys
from collections.abc import AsyncIterator
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

pytest.importorskip("genro_tytx", reason="the chat demo needs genro-asgi[tytx]")

from genro_asgi import WebSocketDisconnect
from genro_asgi.testing import WebSocketDenied, WebSocketTestSession, connect

from .redis_server import until

APP_PATH = Path(__file__).resolve().parent.parent / "examples" / "chat" / "app.py"


def load_chat() -> ModuleType:
    spec = importlib.util.spec_from_file_location("chat_example_app", APP_PATH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


chat = load_chat()


@pytest.fixture
async def app() -> AsyncIterator[Any]:
    """A fresh room for each test, its hub running (as the lifespan runs it under a server)."""
    room = chat.ChatApp()
    async with room.hub:
        yield room


async def join(session: WebSocketTestSession, nick: str, users: list[str]) -> None:
    """Expect the join notice for ``nick`` with the room's ``users``."""
    assert await session.receive_json() == {"type": "join", "nick": nick, "users": users}


async def http(app: Any, method: str, path: str) -> tuple[int, dict[bytes, bytes], bytes]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app({"type": "http", "method": method, "path": path, "headers": []}, receive, send)
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]
    return sent[0]["status"], dict(sent[0]["headers"]), sent[1]["body"]


# -- HTTP and lifespan ---------------------------------------------------------------------------


async def test_get_root_serves_the_page(app: Any) -> None:
    status, headers, body = await http(app, "GET", "/")
    assert status == 200
    assert headers[b"content-type"] == b"text/html; charset=utf-8"
    assert headers[b"content-length"] == str(len(body)).encode()
    assert b"<title>genro-asgi chat</title>" in body
    assert b"function fromTytx" in body


async def test_head_other_paths_and_methods(app: Any) -> None:
    status, headers, body = await http(app, "HEAD", "/")
    assert (status, body) == (200, b"")
    assert int(headers[b"content-length"]) > 1000
    assert (await http(app, "GET", "/nope"))[0] == 404
    assert (await http(app, "POST", "/"))[0] == 405


async def test_lifespan_runs_the_hub_from_startup_to_shutdown() -> None:
    room = chat.ChatApp()
    inbox = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent: list[dict[str, Any]] = []
    running: list[bool] = []

    async def receive() -> dict[str, Any]:
        if sent:  # after startup.complete: the hub answers presence()
            running.append(await room.hub.presence(chat.ROOM) == [])
        return inbox.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await room({"type": "lifespan"}, receive, send)
    assert sent == [{"type": "lifespan.startup.complete"}, {"type": "lifespan.shutdown.complete"}]
    assert running == [True]
    with pytest.raises(RuntimeError):
        await room.hub.presence(chat.ROOM)


# -- the room ------------------------------------------------------------------------------------


async def test_two_members_chat_and_see_join_and_leave(app: Any) -> None:
    async with connect(app, "/ws?nick=alice") as alice:
        await join(alice, "alice", ["alice"])
        async with connect(app, "/ws?nick=Bob") as bob:
            await join(bob, "Bob", ["alice", "Bob"])
            await join(alice, "Bob", ["alice", "Bob"])
            await alice.send_json({"type": "say", "text": "hello Bob"})
            for session in (alice, bob):
                line = await session.receive_json()
                assert (line["type"], line["nick"], line["text"]) == ("say", "alice", "hello Bob")
                assert datetime.fromisoformat(line["at"]).tzinfo is not None
        assert await alice.receive_json() == {"type": "leave", "nick": "Bob", "users": ["alice"]}
    assert await app.roster() == []
    assert app.hub.members(chat.ROOM) == []


async def test_the_roster_is_the_hubs_presence(app: Any) -> None:
    async with connect(app, "/ws?nick=zoe") as zoe, connect(app, "/ws?nick=Adam") as adam:
        await join(zoe, "zoe", ["zoe"])
        await join(adam, "Adam", ["Adam", "zoe"])
        assert sorted(entry["nick"] for entry in await app.hub.presence(chat.ROOM)) == [
            "Adam",
            "zoe",
        ]
        assert len(app.hub.members(chat.ROOM)) == 2


async def test_the_hub_stopping_closes_every_member_with_1001(app: Any) -> None:
    async with connect(app, "/ws?nick=ann") as ann, connect(app, "/ws?nick=ben") as ben:
        await join(ann, "ann", ["ann"])
        await join(ann, "ben", ["ann", "ben"])
        await join(ben, "ben", ["ann", "ben"])
        await app.hub.stop()
        for session in (ann, ben):  # no leave notice: the room is closing
            with pytest.raises(WebSocketDisconnect) as info:
                await session.receive_text()
            assert (info.value.code, info.value.reason) == (1001, "going away")


async def test_a_bill_is_split_with_decimals_and_sent_typed(app: Any) -> None:
    async with connect(app, "/ws?nick=ann") as ann, connect(app, "/ws?nick=ben") as ben:
        await join(ann, "ann", ["ann"])
        await join(ann, "ben", ["ann", "ben"])
        await join(ben, "ben", ["ann", "ben"])
        await ben.send_typed({"type": "bill", "amount": Decimal("12.50"), "due": date(2025, 1, 2)})
        frame = await ann.receive_text()
        assert frame.endswith("::JS")
        assert '"amount":"12.50::N"' in frame
        assert '"due":"2025-01-02::D"' in frame
        assert '"share":"6.25::N"' in frame
        bill = await ben.receive_typed()
        at = bill.pop("at")
        assert bill == {
            "type": "bill",
            "nick": "ben",
            "amount": Decimal("12.50"),
            "due": date(2025, 1, 2),
            "people": 2,
            "share": Decimal("6.25"),
        }
        assert isinstance(at, datetime)
        assert at.tzinfo == timezone.utc


async def test_the_page_encoding_of_a_bill_is_understood(app: Any) -> None:
    async with connect(app, "/ws?nick=solo") as solo:
        await join(solo, "solo", ["solo"])
        await solo.send_text('{"type":"bill","amount":"10.00::N","due":"2025-03-01::D"}::JS')
        bill = await solo.receive_typed()
        assert (bill["amount"], bill["share"], bill["people"]) == (
            Decimal("10.00"),
            Decimal("10.00"),
            1,
        )


def test_shares_round_half_up_to_the_cent() -> None:
    assert chat.split_bill(Decimal("10"), 3) == Decimal("3.33")
    assert chat.split_bill(Decimal("0.05"), 2) == Decimal("0.03")
    assert chat.split_bill(Decimal("100"), 4) == Decimal("25.00")


async def test_chat_text_that_looks_typed_stays_a_string(app: Any) -> None:
    async with connect(app, "/ws?nick=zed") as zed:
        await join(zed, "zed", ["zed"])
        await zed.send_json({"type": "say", "text": "see you 2025-01-02::D"})
        frame = await zed.receive_text()
        assert not frame.endswith("::JS")
        assert json.loads(frame)["text"] == "see you 2025-01-02::D"


@pytest.mark.parametrize(
    ("frame", "error"),
    [
        ("not json", "unreadable message"),
        ("[1, 2]", "must be a JSON object"),
        ('{"type": "shout"}', "unknown message type 'shout'"),
        ('{"type": "say", "text": "   "}', "1 to 500 characters"),
        ('{"type": "say", "text": 5}', "1 to 500 characters"),
        ('{"type": "say", "text": "' + "x" * 501 + '"}', "1 to 500 characters"),
        ('{"type": "bill", "amount": 12.5, "due": "2025-01-02::D"}::JS', "decimal number"),
        (
            '{"type": "bill", "amount": "abc::N", "due": "2025-01-02::D"}::JS',
            "unreadable message: 'amount' is not a valid decimal number: 'abc'.",
        ),
        (
            '{"type": "bill", "amount": "1::N", "due": "2025-13-01::D"}::JS',
            "unreadable message: 'due' is not a valid date (YYYY-MM-DD): '2025-13-01'.",
        ),
        ('{"type": "say", "text": "x"', "unreadable message: it is not valid JSON (line 1"),
        ('{"type": "bill", "amount": "NaN::N", "due": "2025-01-02::D"}::JS', "decimal number"),
        ('{"type": "bill", "amount": "-1::N", "due": "2025-01-02::D"}::JS', "above 0"),
        ('{"type": "bill", "amount": "1::N", "due": "2025-01-02"}', "due date"),
        ('{"type":"bill","amount":"1::N","due":"2025-01-02T00:00:00Z::DHZ"}::JS', "due date"),
    ],
)
async def test_bad_frames_get_an_error_and_the_member_stays(
    app: Any, frame: str, error: str
) -> None:
    async with connect(app, "/ws?nick=eve") as eve:
        await join(eve, "eve", ["eve"])
        await eve.send_text(frame)
        reply = await eve.receive_json()
        assert reply["type"] == "error"
        assert error in reply["text"]
        assert reply["text"].endswith(".")
        assert "<class" not in reply["text"]  # never Python internals
        await eve.send_json({"type": "say", "text": "still here"})
        assert (await eve.receive_json())["text"] == "still here"


async def test_binary_frames_get_an_error(app: Any) -> None:
    async with connect(app, "/ws?nick=bin") as session:
        await join(session, "bin", ["bin"])
        await session.send_bytes(b"{}")
        assert (await session.receive_json())["text"].startswith("send text frames")


# -- the handshake -------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/ws", "/ws?nick=", "/ws?nick=a%20b", "/ws?nick=" + "x" * 21])
async def test_bad_nicknames_are_denied_with_400(app: Any, url: str) -> None:
    with pytest.raises(WebSocketDenied) as info:
        async with connect(app, url):
            pass  # pragma: no cover
    assert info.value.status == 400
    assert b"nick must be" in info.value.body
    assert await app.roster() == []


async def test_other_paths_are_denied_with_404(app: Any) -> None:
    with pytest.raises(WebSocketDenied) as info:
        async with connect(app, "/chat?nick=ann"):
            pass  # pragma: no cover
    assert (info.value.status, info.value.body) == (404, b"the chat is at /ws")


async def test_a_taken_nickname_is_closed_with_4009(app: Any) -> None:
    async with connect(app, "/ws?nick=ann") as first:
        await join(first, "ann", ["ann"])
        async with connect(app, "/ws?nick=ann") as second:
            assert await second.receive_json() == {
                "type": "error",
                "text": "the nickname 'ann' is taken.",
            }
            with pytest.raises(WebSocketDisconnect) as info:
                await second.receive_text()
            assert (info.value.code, info.value.reason) == (4009, "nickname taken")
        assert await app.roster() == ["ann"]
        await first.send_json({"type": "say", "text": "still alone"})
        assert (await first.receive_json())["text"] == "still alone"


async def test_a_member_that_vanishes_is_removed(app: Any) -> None:
    async with connect(app, "/ws?nick=stay") as stay:
        await join(stay, "stay", ["stay"])
        async with connect(app, "/ws?nick=gone") as gone:
            await join(gone, "gone", ["gone", "stay"])
            await join(stay, "gone", ["gone", "stay"])
            await gone.close(1001, "tab closed")
        assert await stay.receive_json() == {"type": "leave", "nick": "gone", "users": ["stay"]}
        assert await app.roster() == ["stay"]


async def test_a_page_of_another_site_is_denied_with_403(app: Any) -> None:
    other = [("origin", "https://evil.example"), ("host", "127.0.0.1:8000")]
    with pytest.raises(WebSocketDenied) as info:
        async with connect(app, "/ws?nick=ann", headers=other):
            pass  # pragma: no cover
    assert info.value.status == 403
    same = [("origin", "http://127.0.0.1:8000"), ("host", "127.0.0.1:8000")]
    async with connect(app, "/ws?nick=ann", headers=same) as ann:
        await join(ann, "ann", ["ann"])


async def test_a_tab_reconnecting_takes_its_own_nickname_back(app: Any) -> None:
    async with connect(app, "/ws?nick=ann&session=tab-one-1234") as old:
        await join(old, "ann", ["ann"])
        async with connect(app, "/ws?nick=ann&session=tab-two-1234") as other:
            assert (await other.receive_json())["type"] == "error"
            with pytest.raises(WebSocketDisconnect) as info:
                await other.receive_text()
            assert info.value.code == 4009
        async with connect(app, "/ws?nick=ann&session=tab-one-1234") as again:
            await join(again, "ann", ["ann"])  # the roster lists the nickname once
            await join(old, "ann", ["ann"])
        # the old connection leaving does not free the claim of the new one: it was replaced
    async with connect(app, "/ws?nick=ann") as fresh:
        await join(fresh, "ann", ["ann"])


# -- two workers on one Redis --------------------------------------------------------------------

try:
    import redis.asyncio as aioredis
except ImportError:  # pragma: no cover - scripts/test installs it
    aioredis = None


@pytest.fixture
async def workers(redis_server: Any) -> AsyncIterator[tuple[Any, Any]]:
    """Two rooms as two workers would run them: two hubs on two ``RedisBackend``s, two
    nickname registries, one real redis-server."""
    if aioredis is None:
        from .redis_server import missing

        missing("The redis package (pip install genro-asgi[redis])")
    one = chat.ChatApp(redis_url=redis_server.url)
    two = chat.ChatApp(redis_url=redis_server.url)
    async with one, two:
        yield one, two


async def test_two_workers_share_the_roster_and_the_lines(workers: tuple[Any, Any]) -> None:
    one, two = workers
    async with connect(one, "/ws?nick=alice") as alice:
        await join(alice, "alice", ["alice"])
        async with connect(two, "/ws?nick=Bob") as bob:
            await join(bob, "Bob", ["alice", "Bob"])
            await join(alice, "Bob", ["alice", "Bob"])  # published on the other worker
            assert await one.roster() == await two.roster() == ["alice", "Bob"]
            await alice.send_json({"type": "say", "text": "hello from worker one"})
            await bob.send_json({"type": "say", "text": "hello from worker two"})
            for session in (alice, bob):
                lines = [await session.receive_json() for _ in range(2)]
                assert sorted((line["nick"], line["text"]) for line in lines) == [
                    ("Bob", "hello from worker two"),
                    ("alice", "hello from worker one"),
                ]
            await bob.send_typed({"type": "bill", "amount": Decimal("9"), "due": date(2025, 5, 1)})
            bill = await alice.receive_typed()
            assert (bill["nick"], bill["people"], bill["share"]) == ("Bob", 2, Decimal("4.50"))
        assert await alice.receive_json() == {"type": "leave", "nick": "Bob", "users": ["alice"]}


async def test_a_nickname_taken_on_one_worker_is_refused_on_the_other(
    workers: tuple[Any, Any], redis_server: Any
) -> None:
    one, two = workers
    admin = aioredis.Redis.from_url(redis_server.url)
    key = "genro-asgi-chat:nick:ann"
    try:
        async with connect(one, "/ws?nick=ann") as first:
            await join(first, "ann", ["ann"])
            assert 0 < await admin.ttl(key) <= chat.NICK_TTL  # claimed with SET NX EX
            async with connect(two, "/ws?nick=ann") as second:
                assert await second.receive_json() == {
                    "type": "error",
                    "text": "the nickname 'ann' is taken.",
                }
                with pytest.raises(WebSocketDisconnect) as info:
                    await second.receive_text()
                assert (info.value.code, info.value.reason) == (4009, "nickname taken")
            assert await two.roster() == ["ann"]
        assert await admin.exists(key) == 0  # deleted on leave
        async with connect(two, "/ws?nick=ann") as now:  # free again, on the other worker
            await join(now, "ann", ["ann"])
    finally:
        await admin.aclose()


async def test_a_claim_is_refreshed_while_connected(redis_server: Any) -> None:
    admin = aioredis.Redis.from_url(redis_server.url)
    nicks = chat.RedisNicks(redis_server.url, ttl=1.2)  # refreshed every 0.4 s, 1 s EX
    from genro_asgi.hub import Hub, RedisBackend

    room = chat.ChatApp(Hub(RedisBackend(redis_server.url)), nicks)
    try:
        async with room, connect(room, "/ws?nick=kim") as kim:
            await join(kim, "kim", ["kim"])
            key = "genro-asgi-chat:nick:kim"
            held = await admin.get(key)
            for _ in range(4):  # 2.4 s: past the TTL, so only the refresh keeps it
                await asyncio.sleep(0.6)
                assert await admin.get(key) == held
            await admin.delete(key)  # as a Redis restarted empty: the claim is taken again
            await until_async(lambda: admin.get(key), held)
            await admin.set(key, b"someone else", ex=5)  # another holds it: left alone
            await asyncio.sleep(0.8)
            assert await admin.get(key) == b"someone else"
    finally:
        await admin.aclose()


async def test_redis_lost_closes_with_1013_and_the_rejoin_resyncs_the_roster(
    workers: tuple[Any, Any], redis_server: Any
) -> None:
    one, two = workers
    async with connect(one, "/ws?nick=alice") as alice:
        await join(alice, "alice", ["alice"])
        async with connect(two, "/ws?nick=bob") as bob:
            await join(bob, "bob", ["alice", "bob"])
            await join(alice, "bob", ["alice", "bob"])
            redis_server.kill()
            for session in (alice, bob):  # a gap: nobody misses messages silently
                with pytest.raises(WebSocketDisconnect) as info:
                    await session.receive_text()
                assert (info.value.code, info.value.reason) == (1013, "missed messages")
    async with connect(one, "/ws?nick=alice") as early:  # Redis still down: try again later
        assert (await early.receive_json())["text"] == chat.UNREACHABLE
        with pytest.raises(WebSocketDisconnect) as info:
            await early.receive_text()
        assert (info.value.code, info.value.reason) == (1013, "room unreachable")
    redis_server.start()
    await until(lambda: one.hub.backend._sub_ready and two.hub.backend._sub_ready)
    async with contextlib.AsyncExitStack() as stack:
        # as the page does: reconnect until joined (the first publish after a Redis restart
        # may still fail on the old connection: that join is closed with 1013 and retried)
        alice, _ = await rejoin(stack, one, "alice")
        bob, users = await rejoin(stack, two, "bob")
        assert users == ["alice", "bob"]  # the roster again, from both workers
        await until_json(alice, {"type": "join", "nick": "bob", "users": ["alice", "bob"]})
        await bob.send_json({"type": "say", "text": "back"})
        await bob.receive_json()
        assert (await alice.receive_json())["text"] == "back"


async def rejoin(
    stack: contextlib.AsyncExitStack, app: Any, nick: str
) -> tuple[WebSocketTestSession, list[str]]:
    """Connect as ``nick`` until the join is not closed with 1013 (at most 10 tries): the
    session and the roster its join notice carried."""
    for _ in range(10):
        session = await stack.enter_async_context(connect(app, f"/ws?nick={nick}"))
        frame = await session.receive_json()
        assert frame["type"] in ("join", "error"), frame
        if frame["type"] == "join" and frame["nick"] == nick:
            users = frame["users"]
            try:  # the join is local first: wait a moment for a 1013 that may follow
                frame = await asyncio.wait_for(session.receive_json(), 0.3)
            except asyncio.TimeoutError:
                return session, users
            if frame["type"] == "join":
                raise AssertionError(f"{frame} came before the test expected it")
        with pytest.raises(WebSocketDisconnect) as info:
            await session.receive_text()
        assert info.value.code == 1013
        await asyncio.sleep(0.2)
    raise AssertionError(f"{nick} could not join in 10 tries")


async def until_async(read: Any, expected: Any, timeout: float = 5.0) -> None:
    """Wait (bounded) until ``await read()`` returns ``expected``."""
    for _ in range(int(timeout / 0.05)):
        if await read() == expected:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{expected!r} not read within {timeout} s")


async def until_json(session: WebSocketTestSession, expected: dict[str, Any]) -> None:
    """Read frames until ``expected`` (bounded: at most 20 frames)."""
    seen = []
    for _ in range(20):
        frame = await session.receive_json()
        if frame == expected:
            return
        seen.append(frame)
    raise AssertionError(f"{expected} not among {seen}")
