"""RedisBackend against a real redis-server: delivery between processes, gaps, presence, faults.

Two "processes" are two backends in one event loop, each with its own connections and publisher
id; the crash test uses a real subprocess. The Receiver here records what the backend reports
(it stands for the hub, not for Redis: Redis is always real).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import AsyncIterator, Iterable
from types import ModuleType
from typing import Any

import pytest

from .redis_server import RedisServer, missing, until

try:
    import redis
    import redis.asyncio as aioredis
except ImportError:  # pragma: no cover - scripts/test installs it
    missing("The redis package (pip install genro-asgi[redis])")

TEXT, BYTES = 0, 1


class Recorder:
    """A Receiver that records every deliver() and gap() call."""

    def __init__(self) -> None:
        self.frames: list[tuple[str, int, str | bytes]] = []
        self.gaps: list[list[str]] = []

    def deliver(self, topic: str, kind: int, payload: str | bytes) -> None:
        self.frames.append((topic, kind, payload))

    def gap(self, topics: Iterable[str]) -> None:
        self.gaps.append(sorted(topics))

    def texts(self, topic: str) -> list[str | bytes]:
        return [p for t, _, p in self.frames if t == topic]

    def gapped(self, topic: str) -> bool:
        return any(topic in g for g in self.gaps)


@pytest.fixture(scope="module")
def rb() -> ModuleType:
    from genro_asgi import _redis_backend

    return _redis_backend


@pytest.fixture(scope="module")
def envelope() -> ModuleType:
    from genro_asgi import _envelope

    return _envelope


Pair = tuple[Any, Recorder, Any, Recorder]


@pytest.fixture
async def pair(rb: ModuleType, redis_server: RedisServer) -> AsyncIterator[Pair]:
    """Two started backends ("processes" A and B) on one Redis, with fast fault detection."""
    opts: dict[str, Any] = {"timeout": 1.0, "reconnect_max": 0.2, "health_interval": 0.5}
    a, b = rb.RedisBackend(redis_server.url, **opts), rb.RedisBackend(redis_server.url, **opts)
    ra, rb_ = Recorder(), Recorder()
    await a.start(ra)
    await b.start(rb_)
    try:
        yield a, ra, b, rb_
    finally:
        await a.stop()
        await b.stop()


@pytest.fixture
async def admin(redis_server: RedisServer) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(redis_server.url)
    try:
        yield client
    finally:
        await client.aclose()


async def test_two_processes_deliver_to_each_other_in_order(pair: Pair) -> None:
    a, ra, b, rb_ = pair
    await a.subscribe("room")
    await b.subscribe("room")
    for i in range(200):
        await a.publish("room", TEXT, f"a{i}")
        await b.publish("room", BYTES, b"b%d" % i)
    await until(lambda: len(ra.frames) == 200 and len(rb_.frames) == 200)
    # each side gets the other's 200 in publish order, and never its own
    assert ra.frames == [("room", BYTES, b"b%d" % i) for i in range(200)]
    assert rb_.frames == [("room", TEXT, f"a{i}") for i in range(200)]
    assert ra.gaps == rb_.gaps == []


async def test_concurrent_publishes_keep_sequence_order(pair: Pair) -> None:
    a, _, b, rb_ = pair
    await b.subscribe("room")
    await asyncio.gather(*(a.publish("room", TEXT, str(i)) for i in range(500)))
    await until(lambda: len(rb_.frames) == 500)
    assert rb_.texts("room") == [str(i) for i in range(500)]
    assert rb_.gaps == []


async def test_only_joined_topics_are_received(pair: Pair, admin: aioredis.Redis) -> None:
    a, _, b, rb_ = pair
    await b.subscribe("joined")
    assert await admin.pubsub_numsub("genro-asgi:t:joined", "genro-asgi:t:other") == [
        (b"genro-asgi:t:joined", 1),
        (b"genro-asgi:t:other", 0),
    ]
    await a.publish("other", TEXT, "not for b")
    await a.publish("joined", TEXT, "for b")
    await until(lambda: len(rb_.frames) == 1)
    await b.unsubscribe("joined")
    await until(lambda: len(rb_.frames) == 1)
    assert await admin.pubsub_numsub("genro-asgi:t:joined") == [(b"genro-asgi:t:joined", 0)]
    await a.publish("joined", TEXT, "after leaving")
    await b.subscribe("sentinel")
    await a.publish("sentinel", TEXT, "last")
    await until(lambda: len(rb_.frames) == 2)
    assert rb_.frames == [("joined", TEXT, "for b"), ("sentinel", TEXT, "last")]


async def test_one_publish_command_per_publish(
    pair: Pair, redis_server: RedisServer, admin: aioredis.Redis
) -> None:
    a, _, b, rb_ = pair
    await b.subscribe("room")
    before = (await admin.info("commandstats")).get("cmdstat_publish", {}).get("calls", 0)
    await asyncio.gather(*(a.publish("room", TEXT, "x" * 100) for i in range(300)))
    after = (await admin.info("commandstats"))["cmdstat_publish"]["calls"]
    assert after - before == 300
    await until(lambda: len(rb_.frames) == 300)


async def test_foreign_and_malformed_messages_are_skipped(
    pair: Pair, admin: aioredis.Redis, envelope: ModuleType, caplog: pytest.LogCaptureFixture
) -> None:
    a, _, b, rb_ = pair
    await b.subscribe("room")
    channel = "genro-asgi:t:room"
    await admin.publish(channel, b'{"event": "from another library"}')
    await admin.publish(channel, b"GA")  # truncated
    await admin.publish(channel, envelope.encode(0, bytes(16), 1, "v")[:2] + b"\x09" + bytes(30))
    await a.publish("room", TEXT, "still listening")
    await until(lambda: len(rb_.frames) == 1)
    assert rb_.frames == [("room", TEXT, "still listening")]
    skipped = [r for r in caplog.records if "not an envelope" in r.getMessage()]
    assert len(skipped) == 3


async def test_a_receiver_that_raises_does_not_kill_the_listener(
    rb: ModuleType, redis_server: RedisServer
) -> None:
    class Raising(Recorder):
        def deliver(self, topic: str, kind: int, payload: str | bytes) -> None:
            super().deliver(topic, kind, payload)
            if payload == "boom":
                raise RuntimeError("boom")

        def gap(self, topics: Iterable[str]) -> None:
            super().gap(topics)
            raise RuntimeError("gap boom")

    a, b = rb.RedisBackend(redis_server.url), rb.RedisBackend(redis_server.url)
    rec = Raising()
    await a.start(Recorder())
    await b.start(rec)
    try:
        await b.subscribe("t")
        await a.publish("t", TEXT, "boom")
        await a.publish("t", TEXT, "after")
        await until(lambda: len(rec.frames) == 2)
        assert rec.texts("t") == ["boom", "after"]
        b._report_gap(["t"])  # a gap() that raises is logged, never propagates
        assert rec.gaps == [["t"]]
        await a.publish("t", TEXT, "still")
        await until(lambda: len(rec.frames) == 3)
    finally:
        await a.stop()
        await b.stop()


async def test_sequence_jump_is_a_gap(
    pair: Pair, admin: aioredis.Redis, envelope: ModuleType
) -> None:
    _, _, b, rb_ = pair
    await b.subscribe("room")
    await b.subscribe("quiet")
    other, third = os.urandom(16), os.urandom(16)
    channel = "genro-asgi:t:room"
    # the first message seen from a publisher starts its count, whatever the number
    for seq in (100, 101, 102):
        await admin.publish(channel, envelope.encode(0, other, seq, f"m{seq}"))
    await admin.publish(channel, envelope.encode(0, third, 7, "third"))  # its own count
    await until(lambda: len(rb_.frames) == 4)
    assert rb_.gaps == []
    await admin.publish(channel, envelope.encode(0, other, 104, "m104"))  # 103 is missing
    await until(lambda: len(rb_.frames) == 5)
    assert rb_.gaps == [["room"]]
    await admin.publish(channel, envelope.encode(0, other, 105, "m105"))
    # A repeat (a publisher sending again after its connection broke) is skipped: no gap, no
    # second delivery; so is anything older than the last seen.
    await admin.publish(channel, envelope.encode(0, other, 105, "again"))
    await admin.publish(channel, envelope.encode(0, other, 101, "older"))
    await admin.publish(channel, envelope.encode(0, other, 106, "m106"))
    await until(lambda: len(rb_.frames) == 7)
    assert rb_.gaps == [["room"]]
    # the messages are still delivered: the hub's on_gap policy decides what happens to members
    assert rb_.texts("room")[-3:] == ["m104", "m105", "m106"]


async def test_publisher_id_and_process_id(rb: ModuleType) -> None:
    a, b = rb.RedisBackend("redis://127.0.0.1:1"), rb.RedisBackend("redis://127.0.0.1:1")
    assert len(a.publisher_id) == 16
    assert a.publisher_id != b.publisher_id
    assert a.process_id == a.publisher_id.hex()
    assert a.max_frame == 1 << 20


async def test_presence_merges_processes(pair: Pair) -> None:
    a, _, b, _ = pair
    await a.add_presence("room", "1", {"nick": "ann"})
    await a.add_presence("room", "2", {"nick": "bob"})
    await b.add_presence("room", "1", {"nick": "cid"})  # keys are unique per process only
    await b.add_presence("lobby", "1", {"nick": "dan"})
    assert sorted(m["nick"] for m in await a.presence("room")) == ["ann", "bob", "cid"]
    assert await b.presence("lobby") == [{"nick": "dan"}]
    await a.remove_presence("room", "2")
    assert sorted(m["nick"] for m in await b.presence("room")) == ["ann", "cid"]
    await a.remove_presence("room", "2")  # twice: nothing happens
    await b.stop()  # a clean stop removes the process's entries at once
    assert await a.presence("room") == [{"nick": "ann"}]
    assert await a.presence("lobby") == []
    assert await a.presence("nobody") == []


async def test_presence_rejects_info_that_is_not_json(pair: Pair) -> None:
    a, *_ = pair
    with pytest.raises(TypeError):
        await a.add_presence("room", "1", {"when": object()})


async def test_presence_survives_a_redis_restart(rb: ModuleType, redis_server: RedisServer) -> None:
    a = rb.RedisBackend(redis_server.url, presence_ttl=0.6, reconnect_max=0.1, timeout=0.5)
    await a.start(Recorder())
    try:
        await a.add_presence("room", "1", {"nick": "ann"})
        redis_server.restart()  # no persistence: Redis comes back empty
        # the refresh task finds its entries gone and writes them again
        deadline = time.monotonic() + 5
        while True:
            try:
                if await a.presence("room") == [{"nick": "ann"}]:
                    break
            except ConnectionError:
                pass
            assert time.monotonic() < deadline, "presence was not restored"
            await asyncio.sleep(0.05)
    finally:
        await a.stop()


CRASHING_PROCESS = textwrap.dedent(
    """
    import asyncio, os, sys
    from genro_asgi._redis_backend import RedisBackend

    class Nothing:
        def deliver(self, *args): pass
        def gap(self, topics): pass

    async def main():
        backend = RedisBackend(sys.argv[1], presence_ttl=1.0)
        await backend.start(Nothing())
        await backend.add_presence("room", "1", {"nick": "doomed"})
        print("joined", flush=True)
        sys.stdin.readline()
        os._exit(3)  # no stop(), no leave: a crash

    asyncio.run(main())
    """
)


async def test_a_crashed_process_leaves_presence_within_its_ttl(
    pair: Pair, redis_server: RedisServer
) -> None:
    a, *_ = pair
    await a.add_presence("room", "1", {"nick": "alive"})
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        CRASHING_PROCESS,
        redis_server.url,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdin is not None
        assert await asyncio.wait_for(proc.stdout.readline(), 20) == b"joined\n"
        assert sorted(m["nick"] for m in await a.presence("room")) == ["alive", "doomed"]
        proc.stdin.write(b"crash\n")
        assert await asyncio.wait_for(proc.wait(), 10) == 3
        crashed = time.monotonic()
        while (now := await a.presence("room")) != [{"nick": "alive"}]:
            assert time.monotonic() - crashed < 1.0 + 0.5, f"the dead process is still in {now}"
            await asyncio.sleep(0.02)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


# ---- faults ----------------------------------------------------------------------------------


async def publish_until_it_works(backend: Any, topic: str, text: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            await backend.publish(topic, TEXT, text)
            return
        except ConnectionError:
            assert time.monotonic() < deadline, "publishing never resumed"
            await asyncio.sleep(0.05)


async def test_redis_killed_mid_stream_is_a_gap_then_delivery_resumes(
    pair: Pair, redis_server: RedisServer
) -> None:
    a, _, b, rb_ = pair
    for topic in ("one", "two"):
        await b.subscribe(topic)

    async def stream() -> None:
        for i in range(100_000):
            try:
                await a.publish("one", TEXT, str(i))
            except ConnectionError:
                return

    streaming = asyncio.create_task(stream())
    await until(lambda: len(rb_.frames) >= 50)
    redis_server.kill()
    await asyncio.wait_for(streaming, 5)  # the publisher got ConnectionError
    await until(lambda: rb_.gaps != [])
    assert rb_.gaps == [["one", "two"]]  # every joined topic
    received = rb_.texts("one")
    assert received == [str(i) for i in range(len(received))]  # in order up to the loss
    redis_server.start()
    await until(lambda: b._sub_ready)  # the listener reconnected and subscribed again
    count = len(rb_.frames)
    await publish_until_it_works(a, "two", "after")
    await a.publish("one", TEXT, "after")
    await until(lambda: len(rb_.frames) == count + 2)
    assert rb_.frames[-2:] == [("two", TEXT, "after"), ("one", TEXT, "after")]
    assert rb_.gaps == [["one", "two"]]  # the new messages start a new count: no second gap


async def test_redis_restarted_publishing_and_delivery_resume(
    pair: Pair, redis_server: RedisServer
) -> None:
    a, ra, b, rb_ = pair
    await b.subscribe("room")
    await a.publish("room", TEXT, "before")
    await until(lambda: len(rb_.frames) == 1)
    redis_server.restart()
    await until(lambda: rb_.gapped("room"))
    await until(lambda: b._sub_ready)
    # The publisher's connection is stale: the publish is sent again on a new one, and works
    # the first time.
    await a.publish("room", TEXT, "after")
    await until(lambda: rb_.texts("room")[-1:] == ["after"])
    # a topic joined after the restart gets the new messages too, both ways
    await a.subscribe("new")
    await b.publish("new", TEXT, "fresh")
    await until(lambda: ra.frames == [("new", TEXT, "fresh")])


async def test_publish_while_redis_is_down_raises_connection_error_in_time(
    pair: Pair, redis_server: RedisServer
) -> None:
    a, *_ = pair
    redis_server.kill()
    started = time.monotonic()
    with pytest.raises(ConnectionError):
        await a.publish("room", TEXT, "lost")
    assert time.monotonic() - started < a.timeout + 0.5
    with pytest.raises(ConnectionError):
        await a.presence("room")


async def test_publish_to_a_frozen_redis_raises_connection_error_in_time(
    pair: Pair, redis_server: RedisServer
) -> None:
    """A Redis that accepts nothing and answers nothing (SIGSTOP): publish never hangs."""
    a, _, b, rb_ = pair
    await b.subscribe("room")
    assert redis_server.process is not None
    redis_server.process.send_signal(signal.SIGSTOP)
    try:
        started = time.monotonic()
        with pytest.raises(ConnectionError, match=r"within 1\.0 s"):
            await a.publish("room", TEXT, "stuck")
        assert time.monotonic() - started < a.timeout + 0.5
        # the silent listener connection is a gap too (health PINGs go unanswered)
        await until(lambda: rb_.gapped("room"), timeout=5)
    finally:
        redis_server.process.send_signal(signal.SIGCONT)
    await until(lambda: b._sub_ready)
    await publish_until_it_works(a, "room", "thawed")
    await until(lambda: "thawed" in rb_.texts("room"))


async def test_start_fails_promptly_when_redis_is_unreachable(rb: ModuleType) -> None:
    from .redis_server import free_port

    backend = rb.RedisBackend(f"redis://127.0.0.1:{free_port()}", timeout=0.5)
    started = time.monotonic()
    with pytest.raises(ConnectionError):
        await backend.start(Recorder())
    assert time.monotonic() - started < 1.5
    with pytest.raises(RuntimeError, match="not started"):
        await backend.publish("t", TEXT, "x")


async def test_topic_joined_while_redis_is_down_gets_a_gap_on_reconnect(
    pair: Pair, redis_server: RedisServer
) -> None:
    a, _, b, rb_ = pair
    await b.subscribe("early")
    redis_server.kill()
    await until(lambda: rb_.gaps == [["early"]])
    await b.subscribe("late")  # returns at once: Redis is down
    redis_server.start()
    await until(lambda: rb_.gapped("late"))
    assert rb_.gaps == [["early"], ["late"]]
    await publish_until_it_works(a, "late", "hello")
    await until(lambda: rb_.texts("late") == ["hello"])


async def test_subscriber_dropped_for_its_output_buffer_is_a_gap(
    pair: Pair, redis_server: RedisServer, envelope: ModuleType
) -> None:
    """Redis closes a subscriber that reads too slowly (client-output-buffer-limit pubsub)."""
    _, _, b, rb_ = pair
    assert redis_server.command(
        "CONFIG", "SET", "client-output-buffer-limit", "pubsub 64kb 32kb 1"
    ).startswith(b"+OK")
    await b.subscribe("firehose")
    publisher = os.urandom(16)
    big = "x" * 60_000

    def flood() -> None:
        client = redis.Redis.from_url(redis_server.url)
        try:
            pipe = client.pipeline(transaction=False)
            for seq in range(1, 400):  # 24 MB: far more than the socket buffers hold
                pipe.publish("genro-asgi:t:firehose", envelope.encode(0, publisher, seq, big))
            pipe.execute()
        finally:
            client.close()

    # The event loop is blocked while the flood goes out, as in a process too busy to read.
    thread = threading.Thread(target=flood)
    thread.start()
    thread.join(30)
    assert not thread.is_alive()
    await until(lambda: rb_.gapped("firehose"))
    assert "overcoming of output buffer limits" in redis_server.logfile.read_text()
    # the listener is back (connection gone, count restarted): new messages arrive again
    redis_server.command("CONFIG", "SET", "client-output-buffer-limit", "pubsub 32mb 8mb 60")
    await until(lambda: b._sub_ready)
    client = aioredis.Redis.from_url(redis_server.url)
    try:
        await client.publish("genro-asgi:t:firehose", envelope.encode(0, publisher, 10_000, "ok"))
    finally:
        await client.aclose()
    await until(lambda: rb_.texts("firehose")[-1:] == ["ok"])


async def test_a_slow_receiver_does_not_stall_the_listener(
    pair: Pair, redis_server: RedisServer
) -> None:
    """deliver() hands frames to a consumer that is slow: the listener still reads everything
    at once, so Redis keeps nothing queued for this subscriber."""
    a, _, b, rb_ = pair
    await b.subscribe("room")
    consumed: list[str | bytes] = []

    async def slow_consumer() -> None:
        while len(consumed) < 300:
            if len(consumed) < len(rb_.frames):
                consumed.append(rb_.frames[len(consumed)][2])
            await asyncio.sleep(0.01)  # 3 s for all of them

    consumer = asyncio.create_task(slow_consumer())
    try:
        await asyncio.gather(*(a.publish("room", TEXT, str(i)) for i in range(300)))
        await until(lambda: len(rb_.frames) == 300, timeout=2)
        assert len(consumed) < 300  # the consumer is still far behind
        clients = redis_server.command("CLIENT", "LIST").decode()
        subscriber = [line for line in clients.splitlines() if "cmd=subscribe" in line]
        assert subscriber
        assert all(" omem=0 " in line for line in subscriber)
    finally:
        consumer.cancel()


async def test_arguments_are_checked(rb: ModuleType, pair: Pair) -> None:
    with pytest.raises(ValueError, match="presence_ttl must be positive"):
        rb.RedisBackend("redis://127.0.0.1", presence_ttl=0)
    with pytest.raises(ValueError, match="reconnect_min must not exceed"):
        rb.RedisBackend("redis://127.0.0.1", reconnect_min=3, reconnect_max=1)
    a, ra, *_ = pair
    with pytest.raises(RuntimeError, match="already started"):
        await a.start(ra)
    small = rb.RedisBackend("redis://127.0.0.1:1", max_frame=10)
    small._receiver = ra  # started enough to check the frame size, which happens first
    small._loop = asyncio.get_running_loop()
    with pytest.raises(ValueError, match="larger than this backend's max_frame"):
        await small.publish("t", BYTES, b"x" * 11)
    with pytest.raises(ValueError, match="TEXT frame's payload is a str"):
        await a.publish("t", TEXT, b"bytes")
    await a.publish("t", BYTES, b"x" * a.max_frame)
    with pytest.raises(ValueError, match="max_frame"):
        await a.publish("t", TEXT, "é" * (a.max_frame // 2 + 1))


def test_importing_genro_asgi_never_imports_redis() -> None:
    code = (
        "import sys, genro_asgi, genro_asgi._envelope; "
        "print(sorted(m for m in sys.modules if m == 'redis' or m.startswith('redis.')))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"[]\n"


async def test_many_concurrent_joins_all_reach_presence(pair: Pair) -> None:
    """More concurrent presence writes than connections: they wait for one, none fails."""
    a, _, b, _ = pair
    await asyncio.gather(*(a.add_presence("room", str(i), {"n": i}) for i in range(300)))
    await asyncio.gather(*(b.add_presence("room", str(i), {"n": -i}) for i in range(1, 201)))
    assert sorted(m["n"] for m in await b.presence("room")) == list(range(-200, 0)) + list(
        range(300)
    )
    await asyncio.gather(*(a.remove_presence("room", str(i)) for i in range(300)))
    assert len(await a.presence("room")) == 200


async def test_presence_changed_while_redis_is_down_is_written_when_it_is_back(
    rb: ModuleType, redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    a = rb.RedisBackend(redis_server.url, presence_ttl=0.6, reconnect_max=0.1, timeout=0.5)
    await a.start(Recorder())
    try:
        await a.add_presence("room", "1", {"nick": "ann"})
        await a.add_presence("room", "2", {"nick": "bob"})
        redis_server.kill()
        await a.add_presence("room", "3", {"nick": "cid"})  # never fails: kept, written later
        await a.remove_presence("room", "1")
        await a.add_presence("lobby", "1", {"nick": "dan"})
        assert "not written to Redis yet" in caplog.text
        assert "not removed from Redis yet" in caplog.text
        redis_server.start()
        deadline = time.monotonic() + 5
        while True:
            try:
                room = sorted(m["nick"] for m in await a.presence("room"))
                if room == ["bob", "cid"] and await a.presence("lobby") == [{"nick": "dan"}]:
                    break
            except ConnectionError:
                pass
            assert time.monotonic() < deadline, "presence was not written after the outage"
            await asyncio.sleep(0.05)
    finally:
        await a.stop()


async def test_a_stopped_backend_starts_again(rb: ModuleType, redis_server: RedisServer) -> None:
    a, b = rb.RedisBackend(redis_server.url), rb.RedisBackend(redis_server.url)
    ra, rb_ = Recorder(), Recorder()
    await a.start(ra)
    await b.start(rb_)
    try:
        await b.subscribe("t")
        await a.publish("t", TEXT, "one")
        await until(lambda: len(rb_.frames) == 1)
        await b.stop()
        await b.stop()  # twice: nothing happens
        with pytest.raises(RuntimeError, match="not started"):
            await b.subscribe("t")
        await b.start(rb_)
        await b.subscribe("t")
        await a.publish("t", TEXT, "two")
        await until(lambda: len(rb_.frames) == 2)
        assert rb_.texts("t") == ["one", "two"]
    finally:
        await a.stop()
        await b.stop()


async def test_presence_changed_while_redis_is_frozen_reaches_it_after(
    rb: ModuleType, redis_server: RedisServer, admin: aioredis.Redis
) -> None:
    """A Redis that answers nothing (SIGSTOP) keeps its data: the removal is written after."""
    a = rb.RedisBackend(redis_server.url, presence_ttl=1.5, timeout=0.3)
    await a.start(Recorder())
    assert redis_server.process is not None
    try:
        await a.add_presence("room", "1", {"nick": "ann"})
        await a.add_presence("gone", "1", {"nick": "bob"})
        redis_server.process.send_signal(signal.SIGSTOP)
        try:
            await a.remove_presence("gone", "1")  # times out: kept for the refresh task
            await asyncio.sleep(0.6)  # a refresh fails meanwhile
        finally:
            redis_server.process.send_signal(signal.SIGCONT)
        deadline = time.monotonic() + 5
        while await admin.exists(f"genro-asgi:p:gone:{a.process_id}"):
            assert time.monotonic() < deadline, "the removal never reached Redis"
            await asyncio.sleep(0.05)
        assert await a.presence("gone") == []
        assert await a.presence("room") == [{"nick": "ann"}]
    finally:
        await a.stop()


async def test_presence_skips_entries_that_are_not_json_objects(
    pair: Pair, admin: aioredis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    a, *_ = pair
    await a.add_presence("room", "1", {"nick": "ann"})
    key = f"genro-asgi:p:room:{a.process_id}"
    await admin.hset(key, mapping={"2": b"not json", "3": b"[1, 2]"})
    assert await a.presence("room") == [{"nick": "ann"}]
    assert "not JSON" in caplog.text
