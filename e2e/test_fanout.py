"""The hub (``genro_asgi.hub``) under each real server, and what each server does when a client
stops reading (docs/guide/servers-fanout.md is this file's table).

A server whose ``send()`` waits once a client's buffers are full lets the hub see a stalled
client: its outbox fills and the hub closes it with 1013. A server that buffers every frame
itself and never makes ``send()`` wait hides the stalled client from the application: the hub
never sees it fall behind, so it cannot close it; the frames pile up in the server instead.
``STALL`` says which kind each server is, and the tests assert what genro-asgi guarantees on
each: the other members always get every publish in order, and the stalled member either gets
every frame in order or is closed with 1013 after an in-order prefix: never a silent gap.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

import pytest
from servers import Client, new_id
from test_servers import SERVERS, Delivers
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed
from websockets.frames import Close
from wsapp import PROBE_FRAME, PROBE_LIMIT

MEMBERS = 200  # members of one topic in each test
PUBLISHES = 100  # publishes every member must get, in order
STALL_FRAME = 8192  # bytes per publish in the stalled-client test
BATCH = 16  # publishes per step of the stalled-client test (well under max_queue=64)


@dataclass(frozen=True)
class Stall:
    """What a server does when a client stops reading (docs/guide/servers-fanout.md)."""

    send_waits: bool  # raw ASGI: send() eventually waits (backpressure reaches the app)
    publishes: int  # 8 KB publishes the stalled-client test makes (enough to fill the buffers)
    # The ended stalled client, once it reads again, gets its in-order prefix, then: the hub's
    # close frame (1013); where the server drops a connection whose application returned while
    # that close still waited behind the client's buffers, either that frame or none (1006),
    # depending on whether it left first (the 20-client smoke run saw 1013, the 200-client
    # e2e run none).
    close_frame: bool = True


STALL: dict[str, Stall] = {
    "uvicorn-websockets-sansio": Stall(send_waits=True, publishes=800, close_frame=False),
    "uvicorn-wsproto": Stall(send_waits=True, publishes=800, close_frame=False),
    "uvicorn-websockets": Stall(send_waits=True, publishes=800),
    "hypercorn": Stall(send_waits=True, publishes=800),
    "daphne": Stall(send_waits=False, publishes=800),
    "granian": Stall(send_waits=True, publishes=800),
}


@pytest.fixture
def stall(server_name: str) -> Stall:
    return STALL[server_name]


@pytest.fixture
def delivers(server_name: str) -> Delivers:
    return SERVERS[server_name]


async def test_what_the_server_buffers_for_a_client_that_stops_reading(
    client: Client, stall: Stall, server_name: str
) -> None:
    """Raw ASGI: 8 KB sends to a client whose socket is not read. Does send() ever wait, and how
    many return before it does? Every frame the server took must arrive once the client reads."""
    report_id = new_id()
    async with client.connect("/buffer-probe", report_id, max_queue=4) as ws:
        ws.transport.pause_reading()  # the client stops reading its socket
        seen = await client.report(report_id, timeout=60)
        ws.transport.resume_reading()
        frames = seen["returned"] + seen["waited"]
        for _ in range(frames):
            assert await asyncio.wait_for(ws.recv(), 30) == b"\x00" * PROBE_FRAME
    print(f"\nBUFFER {server_name}: {json.dumps(seen)}")
    assert seen["waited"] == stall.send_waits, seen
    if not stall.send_waits:
        assert seen["returned"] == PROBE_LIMIT


Member = tuple[str, ClientConnection]  # (report id, connection)


@asynccontextmanager
async def joined(client: Client, topic: str, count: int) -> AsyncIterator[list[Member]]:
    """``count`` members of ``topic``, each open once the app said ``ready`` (it has joined)."""
    async with AsyncExitStack() as stack:
        gate = asyncio.Semaphore(50)

        async def one() -> Member:
            report_id = new_id()
            async with gate:
                ws = await stack.enter_async_context(
                    client.connect("/hub", report_id, f"topic={topic}", open_timeout=60)
                )
                assert await asyncio.wait_for(ws.recv(), 30) == "ready"
            return report_id, ws

        yield list(await asyncio.gather(*(one() for _ in range(count))))


class Readers:
    """One task per member that keeps every frame it receives."""

    def __init__(self, members: list[Member]) -> None:
        self.frames: list[list[str]] = [[] for _ in members]
        self.tasks = [asyncio.create_task(self._read(ws, got)) for (_, ws), got in
                      zip(members, self.frames, strict=True)]  # fmt: skip

    @staticmethod
    async def _read(ws: ClientConnection, got: list[str]) -> None:
        while True:
            frame = await ws.recv()
            assert isinstance(frame, str)
            got.append(frame)

    async def wait_for(self, count: int, timeout: float = 60) -> None:
        """Until every member has ``count`` frames (fails after ``timeout`` seconds)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while min(map(len, self.frames)) < count:
            failed = [task for task in self.tasks if task.done()]
            if failed:
                failed[0].result()  # a reader ended: its exception fails the test
                raise AssertionError("a member's connection ended before all frames came")
            if asyncio.get_running_loop().time() > deadline:
                lengths = sorted(set(map(len, self.frames)))
                raise AssertionError(f"members stuck at {lengths} frames of {count}")
            await asyncio.sleep(0.02)

    def stop(self) -> None:
        for task in self.tasks:
            task.cancel()


def indexes(frames: list[str]) -> list[int]:
    return [int(frame.partition(":")[0]) for frame in frames]


async def publish(publisher: ClientConnection, start: int, count: int, size: int) -> list[int]:
    """Publish ``count`` frames from index ``start``; how many members each was queued for."""
    await publisher.send(f"{start} {count} {size}")
    queued: list[int] = json.loads(await asyncio.wait_for(publisher.recv(), 60))
    return queued


async def test_every_member_gets_every_publish_in_order(client: Client) -> None:
    """200 members of one topic, 100 publishes in two bursts of 50 (each fits an outbox)."""
    topic = f"room-{new_id()}"
    async with (
        joined(client, topic, MEMBERS) as members,
        client.connect("/hub-publish", query=f"topic={topic}") as publisher,
    ):
        readers = Readers(members)
        try:
            for start in range(0, PUBLISHES, 50):
                assert await publish(publisher, start, 50, 32) == [MEMBERS] * 50
                await readers.wait_for(start + 50)
        finally:
            readers.stop()
    for frames in readers.frames:
        assert indexes(frames) == list(range(PUBLISHES))
        assert all(len(frame) == 32 for frame in frames)


async def test_a_member_that_stops_reading_is_closed_while_the_others_finish(
    client: Client, stall: Stall, server_name: str
) -> None:
    """One of 200 members stops reading its socket; the others get all 100 publishes in order.

    Its buffers are filled through a second topic only it joined (``feed``, 8 KB frames), so
    the 199 others need not carry megabytes: once the server's send() waits, its outbox fills
    and the hub ends it with 1013 "slow consumer" (the feed's publishes then reach nobody). On
    a server whose send() never waits the hub cannot see the stall: every frame is kept by the
    server and arrives, in order, once the client reads again. Either way: no silent gap.
    """
    room, feed = f"room-{new_id()}", f"feed-{new_id()}"
    stalled_id = new_id()
    async with (
        joined(client, room, MEMBERS - 1) as others,
        client.connect("/hub", stalled_id, f"topic={room},{feed}", max_queue=4) as stalled,
        client.connect("/hub-publish", query=f"topic={room}") as room_publisher,
        client.connect("/hub-publish", query=f"topic={feed}") as feed_publisher,
    ):
        assert await asyncio.wait_for(stalled.recv(), 30) == "ready"
        stalled.transport.pause_reading()  # it stops reading its socket
        readers = Readers(others)
        try:
            assert await publish(room_publisher, 0, 50, 32) == [MEMBERS] * 50
            await readers.wait_for(50)
            fed = 0  # feed frames published while the stalled member was still in the topic
            while fed < stall.publishes:
                queued = await publish(feed_publisher, fed, BATCH, STALL_FRAME)
                fed += queued.count(1)
                if 0 in queued:
                    break  # the hub ended the member: the feed has no member left
            second = await publish(room_publisher, 50, 50, 32)
            await readers.wait_for(PUBLISHES)
        finally:
            readers.stop()
        for frames in readers.frames:
            assert indexes(frames) == list(range(PUBLISHES))
        released = False  # the member's handler returned while its client was still stalled
        if stall.send_waits:
            assert fed < stall.publishes, "the stalled member was never ended"
            assert second == [MEMBERS - 1] * 50
            released = await has_report(client, stalled_id, 10)
        else:
            assert fed == stall.publishes
            assert second == [MEMBERS] * 50
        # the client reads again: an in-order prefix of each topic, then (if ended) the close
        stalled.transport.resume_reading()
        small, large = [], []
        closed: Close | str | None = None
        try:
            while len(small) < PUBLISHES or len(large) < fed:
                frame = await asyncio.wait_for(stalled.recv(), 10)
                assert isinstance(frame, str)
                (small if len(frame) == 32 else large).append(frame)
        except ConnectionClosed as exc:
            closed = exc.rcvd
        except asyncio.TimeoutError:
            closed = "nothing more for 10 s"
    print(f"\nSTALL {server_name}: fed {fed}, stalled client got {len(small)} room and "
          f"{len(large)} feed frames, then {closed}; handler released while stalled: "
          f"{released}")  # fmt: skip
    assert indexes(small) == list(range(len(small)))
    assert indexes(large) == list(range(len(large)))
    if not stall.send_waits:
        assert closed is None
        assert (len(small), len(large)) == (PUBLISHES, fed)
        return
    assert len(large) < fed
    if stall.close_frame:
        assert isinstance(closed, Close), (
            f"the stalled client got {len(large)} feed frames, then {closed}"
        )
        assert (closed.code, closed.reason) == (1013, "slow consumer")
    else:  # the close frame if it left before the handler returned, else no frame (1006)
        assert closed is None or (closed.code, closed.reason) == (1013, "slow consumer"), closed
    seen = await client.report(stalled_id, timeout=10)
    assert seen["end_reason"] == "slow consumer", seen
    assert [seen["close_code"], seen["close_reason"]] == [1013, "slow consumer"], seen
    assert seen["after"] == {"exception": "WebSocketDisconnect", "code": 1013,
                             "reason": "slow consumer"}  # fmt: skip
    assert released, "the member's handler returned only once its client read again"


async def has_report(client: Client, report_id: str, timeout: float) -> bool:
    """Whether the app writes its report for ``report_id`` within ``timeout`` seconds."""
    try:
        await client.report(report_id, timeout=timeout)
    except AssertionError:
        return False
    return True


async def closed_within(ws: ClientConnection, timeout: float, client: Client) -> None:
    """Receive from ``ws``, which must be closed (``ConnectionClosed``) within ``timeout``."""
    try:
        await asyncio.wait_for(ws.recv(), timeout)
    except asyncio.TimeoutError:
        log = client.server.log()
        raise AssertionError(f"not closed within {timeout} s; the server's log:\n{log}") from None


async def test_the_hub_stopping_closes_every_member_with_1001(
    client: Client, delivers: Delivers, server_name: str
) -> None:
    """Every member's client gets 1001 "going away"; daphne's WebSocket library refuses any
    code but 1000 and 3000-4999, so there the hub falls back to 1000 (the handlers see 1001)."""
    expected_code = 1000 if server_name == "daphne" else 1001
    topic = f"room-{new_id()}"
    async with joined(client, topic, MEMBERS) as members:
        async with client.connect("/hub-stop") as stopper:
            reply = json.loads(await asyncio.wait_for(stopper.recv(), 30))
        assert reply["stopped"] is True
        for _, ws in members:
            with pytest.raises(ConnectionClosed) as info:
                await closed_within(ws, 10, client)
            assert info.value.rcvd is not None
            reason = "going away" if delivers.app_close_reason else ""
            assert (info.value.rcvd.code, info.value.rcvd.reason) == (expected_code, reason)
        for report_id, _ in members:
            seen = await client.report(report_id)
            assert seen["end_reason"] == "going away", seen
            assert [seen["close_code"], seen["close_reason"]] == [1001, "going away"], seen
    assert reply["seconds"] < 5
