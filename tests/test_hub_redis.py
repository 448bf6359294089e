"""The hub on RedisBackend: two hubs ("processes") on one real redis-server, through members.

Each hub has its own RedisBackend (own connections, own publisher id); members are accepted
WebSockets over the in-memory peer of ``hub_peer``. Redis is always real.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from .redis_server import RedisServer, missing, until

try:
    import redis  # noqa: F401
except ImportError:  # pragma: no cover - scripts/test installs it
    missing("The redis package (pip install genro-asgi[redis])")

from genro_asgi._redis_backend import RedisBackend
from genro_asgi.hub import Hub

from .hub_peer import Peer, member_of

FAST = {"timeout": 1.0, "reconnect_max": 0.2, "health_interval": 0.5}


# Every test runs on the compiled fan-out and on its pure twin.
pytestmark = pytest.mark.usefixtures("hub_fanout")


@contextlib.asynccontextmanager
async def two_hubs(url: str, **hub: Any) -> AsyncIterator[tuple[Hub, Hub]]:
    async with (
        Hub(RedisBackend(url, **FAST), **hub) as a,
        Hub(RedisBackend(url, **FAST), **hub) as b,
    ):
        yield a, b


async def publish_until_it_works(hub: Hub, topic: str, text: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            await hub.publish_text(topic, text)
            return
        except ConnectionError:
            assert time.monotonic() < deadline, "publishing never resumed"
            await asyncio.sleep(0.05)


def test_redis_backend_is_exported_lazily() -> None:
    """In a fresh interpreter: the hub module and the package hand out the real class."""
    code = (
        "import sys, genro_asgi, genro_asgi.hub as hub\n"
        "assert 'redis' not in sys.modules\n"
        "from genro_asgi._redis_backend import RedisBackend\n"
        "assert hub.RedisBackend is RedisBackend and genro_asgi.RedisBackend is RedisBackend\n"
        "assert 'RedisBackend' not in genro_asgi.__all__\n"
        "print('ok')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60)
    assert result.stdout == b"ok\n", result.stderr


async def test_members_on_both_hubs_get_every_publish_in_order(redis_server: RedisServer) -> None:
    async with two_hubs(redis_server.url) as (a, b), contextlib.AsyncExitStack() as stack:
        peers = []
        for hub in (a, b, a, b, a, b):
            _, peer = await stack.enter_async_context(member_of(hub, "room"))
            peers.append(peer)
        for n in range(100):
            assert await a.publish_text("room", f"a{n}") == 3  # queued for a's local members
            await b.publish_json("room", {"b": n})
        await until(lambda: all(p.count == 200 for p in peers))
        for peer in peers:
            assert [t for t in peer.texts if t[0] == "a"] == [f"a{n}" for n in range(100)]
            assert [t for t in peer.texts if t[0] == "{"] == [f'{{"b":{n}}}' for n in range(100)]
            assert peer.closes == []


async def test_bytes_and_exclude_stay_local(redis_server: RedisServer) -> None:
    async with (
        two_hubs(redis_server.url) as (a, b),
        member_of(a, "t") as (sender, pa),
        member_of(a, "t") as (_, pa2),
        member_of(b, "t") as (_, pb),
    ):
        await a.publish_bytes("t", b"\x00raw", exclude=sender)
        await a.publish_text("t", "to all")
        await until(lambda: pb.count == 2 and pa2.count == 2 and pa.count == 1)
        assert pb.frames == [b"\x00raw", "to all"]
        assert pa2.frames == [b"\x00raw", "to all"]
        assert pa.frames == ["to all"]  # excluded on its own hub, not elsewhere


async def test_presence_merges_hubs(redis_server: RedisServer) -> None:
    async with two_hubs(redis_server.url) as (a, b), member_of(a) as (ma, _):
        async with member_of(b) as (mb, _):
            await ma.join("room", info={"nick": "ann"})
            await mb.join("room", info={"nick": "bob"})
            assert sorted(p["nick"] for p in await a.presence("room")) == ["ann", "bob"]
            assert sorted(p["nick"] for p in await b.presence("room")) == ["ann", "bob"]
        assert await a.presence("room") == [{"nick": "ann"}]  # bob's block ended


async def test_redis_killed_closes_members_with_missed_messages(
    redis_server: RedisServer,
) -> None:
    async with two_hubs(redis_server.url) as (a, b), member_of(b, "room") as (member, peer):
        await a.publish_text("room", "before")
        await until(lambda: peer.count == 1)
        redis_server.kill()
        await until(lambda: member.end_reason is not None)
        assert member.end_reason == "missed messages"
        await until(lambda: peer.closes != [])
        assert peer.closes[0]["code"] == 1013
        assert peer.closes[0]["reason"] == "missed messages"
        with pytest.raises(ConnectionError):
            await a.publish_text("room", "while down")
        redis_server.start()
        await until(lambda: b.backend._sub_ready)  # type: ignore[attr-defined]
        async with member_of(b, "room") as (_, fresh):  # the client, reconnected
            await publish_until_it_works(a, "room", "after")
            await until(lambda: fresh.texts == ["after"])


async def test_a_member_that_joins_while_redis_is_down_is_closed_once_it_is_back(
    redis_server: RedisServer,
) -> None:
    """Messages published meanwhile (by processes that still reach Redis) may be lost."""
    async with two_hubs(redis_server.url) as (_, b):
        redis_server.kill()
        await until(lambda: not b.backend._sub_ready)  # type: ignore[attr-defined]
        async with member_of(b, "room") as (early, peer):
            assert early.end_reason is None
            redis_server.start()
            await until(lambda: early.end_reason == "missed messages")
            await until(lambda: peer.closes != [])
            assert peer.closes[0]["code"] == 1013


async def test_on_gap_ignore_keeps_members_through_a_redis_restart(
    redis_server: RedisServer,
) -> None:
    async with (
        two_hubs(redis_server.url, on_gap="ignore") as (a, b),
        member_of(b, "room") as (member, peer),
    ):
        await a.publish_text("room", "before")
        await until(lambda: peer.count == 1)
        redis_server.kill()
        await until(lambda: not b.backend._sub_ready)  # type: ignore[attr-defined]
        redis_server.start()
        await until(lambda: b.backend._sub_ready)  # type: ignore[attr-defined]
        await publish_until_it_works(a, "room", "after")
        await until(lambda: peer.texts[-1:] == ["after"])
        assert member.end_reason is None
        assert peer.closes == []


async def test_on_gap_callable_gets_topic_and_members(redis_server: RedisServer) -> None:
    seen: list[tuple[str, list[Any]]] = []
    async with (
        two_hubs(redis_server.url, on_gap=lambda t, m: seen.append((t, m))) as (_, b),
        member_of(b, "room") as (member, _),
    ):
        redis_server.kill()
        await until(lambda: seen != [])
        assert seen == [("room", [member])]


async def test_a_slow_member_does_not_stall_the_listener(redis_server: RedisServer) -> None:
    stalled = Peer()
    stalled.stalled = True  # a client that stopped reading
    async with (
        two_hubs(redis_server.url, max_queue=8) as (a, b),
        member_of(b, "room", peer=stalled) as (slow, _),
        member_of(b, "room") as (_, fast),
    ):
        for n in range(100):
            await a.publish_text("room", str(n))
        await until(lambda: fast.count == 100)
        assert fast.texts == [str(n) for n in range(100)]
        assert slow.end_reason == "slow consumer"
        stalled.release.set()
