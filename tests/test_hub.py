"""SPEC section 6: the hub, through the in-memory peer, on both fan-out implementations."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import gc
import itertools
import subprocess
import sys
import tracemalloc
from types import ModuleType
from typing import Any

import pytest

from genro_asgi import WebSocketDisconnect, WebSocketState
from genro_asgi import hub as hub_module
from genro_asgi.hub import Hub, Member, MemoryBackend

from .hub_peer import Peer, accepted, member_of, settle, until

# Every test runs on the compiled fan-out and on its pure twin, over a server whose send()
# suspends once and over one whose send() completes without suspending.
pytestmark = pytest.mark.usefixtures("hub_fanout", "server_send")


@pytest.fixture(autouse=True, params=[True, False], ids=["send-yields", "send-completes"])
def server_send(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> bool:
    monkeypatch.setattr(Peer, "yields_by_default", request.param)
    return bool(request.param)


async def handler_outcome(ws: Any) -> BaseException | None:
    """What a handler sitting in ``receive_text()`` sees."""
    try:
        await ws.receive_text()
    except WebSocketDisconnect as exc:
        return exc
    return None


# -- fan-out and order ---------------------------------------------------------------------------


async def test_thousand_members_fifty_publishes_in_order() -> None:
    async with Hub() as hub, contextlib.AsyncExitStack() as stack:
        peers = []
        for _ in range(1000):
            _, peer = await stack.enter_async_context(member_of(hub, "room"))
            peers.append(peer)
        assert len(hub.members("room")) == 1000
        for n in range(50):
            assert await hub.publish_text("room", f"m{n}") == 1000
            if n % 10 == 9:
                await settle(5)
        expected = [f"m{n}" for n in range(50)]
        await until(lambda: all(peer.count == 50 for peer in peers))
        assert all(peer.texts == expected for peer in peers)
        assert all(peer.max_in_flight == 1 for peer in peers)


async def test_one_message_dict_is_shared_by_every_member() -> None:
    async with Hub() as hub, member_of(hub, "t") as (_, a), member_of(hub, "t") as (_, b):
        await hub.publish_json("t", {"x": [1, 2]})
        await hub.publish_bytes("t", bytearray(b"\x00\x01"))
        await until(lambda: a.count == b.count == 2)
        assert a.data[0] is b.data[0]  # encoded once, one dict per publish
        assert a.data[0]["text"] == '{"x":[1,2]}'
        assert a.data[1] is b.data[1]
        assert a.data[1]["bytes"] == b"\x00\x01"
        assert type(a.data[1]["bytes"]) is bytes


async def test_publish_variants_and_exclude() -> None:
    async with Hub() as hub, member_of(hub, "t") as (sender, a), member_of(hub, "t") as (_, b):
        assert await hub.publish_text("t", "hi", exclude=sender) == 1
        assert await hub.publish_json("t", {"k": "é"}, mode="binary", exclude=sender) == 1
        assert await hub.publish_typed("t", {"n": 1}) == 2
        assert await hub.publish_bytes("t", memoryview(b"raw")) == 2
        assert await hub.publish_text("nobody-here", "x") == 0
        await until(lambda: a.count == 2 and b.count == 4)
        assert b.frames[:2] == ["hi", '{"k":"é"}'.encode()]
        assert a.frames[0] == b.frames[2]
        assert a.frames[1] == b"raw"
        with pytest.raises(ValueError, match="mode"):
            await hub.publish_json("t", 1, mode="utf8")  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="exclude"):
            await hub.publish_text("t", "x", exclude="me")  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="publish_bytes"):
            await hub.publish_text("t", b"x")  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="bytes-like"):
            await hub.publish_bytes("t", "x")  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            await hub.publish_json("t", object())
        await settle()
        assert (a.count, b.count) == (2, 4)  # nothing queued by the failed calls


async def test_direct_sends_interleaved_with_broadcasts_keep_order() -> None:
    async with Hub() as hub, member_of(hub, "t") as (member, peer):
        expected: list[str | bytes] = []
        for n in range(30):
            if n % 3 == 0:
                await member.send_text(f"direct{n}")
                expected.append(f"direct{n}")
            elif n % 3 == 1:
                await hub.publish_text("t", f"pub{n}")
                expected.append(f"pub{n}")
            else:
                await member.send_json({"n": n})
                await member.send_bytes(b"b")
                expected += [f'{{"n":{n}}}', b"b"]
            if n % 4 == 0:
                await settle(3)
        await until(lambda: peer.count == len(expected))
        assert peer.frames == expected
        assert peer.max_in_flight == 1
        assert member.stats == hub_module.MemberStats(queued=0, sent=len(expected), dropped=0)


async def test_member_sends_from_several_tasks_never_overlap() -> None:
    async with Hub(max_queue=256) as hub, member_of(hub) as (member, peer):

        async def burst(name: str) -> None:
            for n in range(40):
                await member.send_text(f"{name}{n}")
                await asyncio.sleep(0)

        await asyncio.gather(*(burst(name) for name in "abcde"))
        await until(lambda: peer.count == 200)
        assert peer.max_in_flight == 1
        for name in "abcde":  # each task's frames in its order
            assert [t for t in peer.texts if t[0] == name] == [f"{name}{n}" for n in range(40)]


# -- the drain: parked writers' sends run in one callback ---------------------------------------

HANDLER: contextvars.ContextVar[str] = contextvars.ContextVar("HANDLER", default="none")


class ContextPeer(Peer):
    """Records the handler context each data frame was sent in."""

    def __init__(self) -> None:
        super().__init__()
        self.contexts: list[str] = []

    async def send(self, message: dict[str, Any]) -> None:
        if message["type"] == "websocket.send":
            self.contexts.append(HANDLER.get())
        await super().send(message)


async def test_sends_run_in_the_members_handler_context() -> None:
    """Whether the drain or the writer sends a frame, the server's send() sees the context
    of the member's handler (where tracing middleware keeps its span), not the publisher's."""
    async with Hub() as hub:
        peers = [ContextPeer() for _ in range(3)]
        ready = asyncio.Event()
        done = asyncio.Event()

        async def handler(name: str, peer: ContextPeer) -> None:
            HANDLER.set(name)
            async with member_of(hub, "t", peer=peer) as (member, _):
                ready.set()
                await done.wait()
                await member.send_text("direct")

        tasks = [asyncio.ensure_future(handler(f"h{n}", p)) for n, p in enumerate(peers)]
        await until(lambda: len(hub.members("t")) == 3)
        HANDLER.set("publisher")
        for n in range(10):
            await hub.publish_text("t", f"m{n}")
            if n % 3 == 0:
                await settle(2)
        await until(lambda: all(peer.count == 10 for peer in peers))
        done.set()
        await asyncio.gather(*tasks)
        for n, peer in enumerate(peers):
            assert peer.texts == [f"m{i}" for i in range(10)] + ["direct"]
            assert peer.contexts == [f"h{n}"] * 11


class AlternatingPeer(Peer):
    """A server whose send() suspends on every third call and completes on the others."""

    def __init__(self) -> None:
        super().__init__(yields=False)
        self.calls = 0

    async def send(self, message: dict[str, Any]) -> None:
        self.calls += 1
        self.yields = self.calls % 3 == 0
        await super().send(message)


async def test_sends_that_sometimes_suspend_keep_order_and_never_overlap() -> None:
    async with Hub(max_queue=128) as hub, contextlib.AsyncExitStack() as stack:
        peers = [AlternatingPeer() for _ in range(50)]
        members = [(await stack.enter_async_context(member_of(hub, "t", peer=p)))[0] for p in peers]
        expected: list[str] = []
        for n in range(100):
            await hub.publish_text("t", f"m{n}")
            expected.append(f"m{n}")
            if n % 7 == 0:
                await members[n % 50].send_text(f"d{n}")
            if n % 5 == 4:
                await settle(n % 3)
        await until(lambda: all(peer.count >= 100 for peer in peers))
        await settle()
        for index, (member, peer) in enumerate(zip(members, peers, strict=True)):
            directs = [f"d{n}" for n in range(0, 100, 7) if n % 50 == index]
            assert [t for t in peer.texts if t[0] == "m"] == expected
            assert [t for t in peer.texts if t[0] == "d"] == directs
            assert peer.max_in_flight == 1
            assert member.stats.sent == 100 + len(directs)


class TaskBoundPeer(Peer):
    """A server (or a middleware around its send) that needs a current task: it times each
    send with ``asyncio.wait_for``, which on Python 3.12+ enters ``asyncio.timeout()``."""

    def __init__(self) -> None:
        super().__init__()
        self.tasks: set[asyncio.Task[Any] | None] = set()

    async def send(self, message: dict[str, Any]) -> None:
        self.tasks.add(asyncio.current_task())
        await asyncio.wait_for(super().send(message), 5)


async def test_the_servers_send_runs_inside_a_task() -> None:
    async with Hub() as hub, contextlib.AsyncExitStack() as stack:
        peers = [TaskBoundPeer() for _ in range(5)]
        members = [(await stack.enter_async_context(member_of(hub, "t", peer=p)))[0] for p in peers]
        for n in range(20):
            await hub.publish_text("t", f"m{n}")
            if n % 4 == 0:
                await settle(3)
        await until(lambda: all(peer.count == 20 for peer in peers))
        assert all(member.end_reason is None for member in members)
        assert all(None not in peer.tasks for peer in peers)


async def test_the_drain_outlives_a_cancellation_that_is_not_the_hubs() -> None:
    async with Hub() as hub, member_of(hub, "t") as (_, peer):
        await settle()
        for round_ in range(3):
            task = hub._drain_task
            assert task is not None
            task.cancel()  # not the hub's: e.g. a send's timeout that went on in a writer
            await hub.publish_text("t", f"m{round_}")  # finds the drain's future cancelled
            await until(lambda round_=round_: peer.count == round_ + 1)
            assert not task.done()
        assert peer.texts == ["m0", "m1", "m2"]
    assert task.done()  # stop() ends it


@pytest.mark.skipif(sys.version_info < (3, 11), reason="asyncio.timeout() is Python 3.11+")
async def test_a_send_timeout_that_goes_on_in_the_writer_leaves_the_drain_running() -> None:
    """A middleware's ``asyncio.timeout()`` entered in the drain's task around a send that
    suspends and expires in the member's writer cancels the drain's task: the hub keeps it."""

    class TimedPeer(Peer):
        async def send(self, message: dict[str, Any]) -> None:
            async with asyncio.timeout(0.01):  # type: ignore[attr-defined]
                await super().send(message)

    async with Hub() as hub, contextlib.AsyncExitStack() as stack:
        slow = TimedPeer()
        slow.stalled = True
        _, _ = await stack.enter_async_context(member_of(hub, "t", peer=slow))
        others = [(await stack.enter_async_context(member_of(hub, "t")))[1] for _ in range(3)]
        await settle()
        await hub.publish_text("t", "first")  # slow's send suspends in the drain, times out
        await asyncio.sleep(0.05)
        for n in range(5):
            await hub.publish_text("t", f"m{n}")
        await until(lambda: all(peer.count == 6 for peer in others))
        assert hub._drain_task is not None
        assert not hub._drain_task.done()


class ClosePeer(Peer):
    """Records how many sends were in the server when the close arrived (itself included)."""

    def __init__(self) -> None:
        super().__init__(yields=False)
        self.in_flight_at_close: list[int] = []

    async def send(self, message: dict[str, Any]) -> None:
        if message["type"] == "websocket.close":
            self.in_flight_at_close.append(self.in_flight + 1)
        await super().send(message)


@pytest.mark.parametrize("outcome", ["suspended", "raised"])
async def test_a_member_ended_while_the_drain_hands_its_send_over(outcome: str) -> None:
    """The drain started a send that suspended (or raised) and handed it to the writer; the
    member is ended before the writer ran: the suspended send is closed before the close
    frame goes out (not left in the server), the exception is retrieved (nothing logged),
    the member is closed with the hub's code."""
    loop = asyncio.get_running_loop()
    logged: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _, context: logged.append(context))
    try:
        async with Hub() as hub, member_of(hub, "t", peer=ClosePeer()) as (member, peer):
            await settle()  # the writer is parked
            if outcome == "suspended":
                peer.stalled = True
            else:
                peer.error = ValueError("the server failed")
            await hub.publish_text("t", "m0")
            await asyncio.sleep(0)  # the drain runs: the send suspends (or raises), handed over
            assert peer.in_flight == (1 if outcome == "suspended" else 0)
            assert member.stats.queued == 0
            peer.error = None
            hub.gap(["t"])  # before the writer's step: it is cancelled there
            await until(lambda: len(peer.closes) == 1)
            assert peer.in_flight_at_close == [1]  # the handed-over send was closed first
            assert peer.closes == [
                {"type": "websocket.close", "code": 1013, "reason": "missed messages"}
            ]
            assert member.end_reason == "missed messages"
            assert peer.count == 0
        gc.collect()
        await settle(5)
        assert logged == []
    finally:
        loop.set_exception_handler(None)


async def test_topics_members_presence_join_leave() -> None:
    async with Hub() as hub, member_of(hub) as (a, _), member_of(hub) as (b, _):
        await a.join("x", info={"nick": "ann"})
        await a.join("y")
        await b.join("x", info={"nick": "bob"})
        assert a.topics == frozenset({"x", "y"})
        assert hub.members("x") == [a, b]
        assert sorted(p["nick"] for p in await hub.presence("x")) == ["ann", "bob"]
        assert await hub.presence("y") == [{}]
        await a.join("x", info={"nick": "ann2"})  # joining again replaces the info
        assert sorted(p["nick"] for p in await hub.presence("x")) == ["ann2", "bob"]
        await a.leave("x")
        await a.leave("never-joined")
        assert hub.members("x") == [b]
        assert await hub.presence("x") == [{"nick": "bob"}]
        assert await hub.publish_text("x", "only b") == 1
        with pytest.raises(TypeError, match="info"):
            await a.join("z", info=["nick"])  # type: ignore[arg-type]
        assert "attached" in repr(a)
    assert a.end_reason == "detached"
    assert a.topics == frozenset()


async def test_leaving_the_block_flushes_and_leaves_everything() -> None:
    async with Hub() as hub:
        peer = Peer()
        async with member_of(hub, "t", peer=peer) as (member, _):
            for n in range(10):
                await hub.publish_text("t", str(n))
        assert peer.texts == [str(n) for n in range(10)]  # flushed before the block ended
        assert hub.members("t") == []
        assert await hub.presence("t") == []
        assert member.end_reason == "detached"
        assert member.websocket.connection_state is WebSocketState.CONNECTED  # not closed
        with pytest.raises(RuntimeError, match="ended"):
            await member.send_text("late")
        assert await hub.publish_text("t", "late") == 0


# -- validation ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "topic",
    ["", "a\0b", "x" * 257, "é" * 129, "\U0001f600" * 65, "\ud800" * 70, None, b"bytes", 3],
)
async def test_bad_topics_raise_value_error_before_anything_is_queued(topic: Any) -> None:
    async with Hub() as hub, member_of(hub, "ok") as (member, peer):
        with pytest.raises(ValueError, match=r"\.$"):
            await hub.publish_text(topic, "x")
        with pytest.raises(ValueError, match=r"\.$"):
            await member.join(topic)
        with pytest.raises(ValueError, match="topic"):
            hub.members(topic)
        with pytest.raises(ValueError, match="topic"):
            await hub.presence(topic)
        with pytest.raises(ValueError, match="topic"):
            await member.leave(topic)
        await settle()
        assert peer.count == 0
        assert member.topics == frozenset({"ok"})


async def test_longest_topics_are_accepted() -> None:
    async with Hub() as hub, member_of(hub) as (member, _):
        for topic in ("x" * 256, "é" * 128, "\U0001f600" * 64):
            await member.join(topic)
            assert await hub.publish_text(topic, "x") == 1


async def test_oversized_frames_raise_value_error_before_anything_is_queued() -> None:
    async with Hub(MemoryBackend(max_frame=8)) as hub, member_of(hub, "t") as (_, peer):
        assert await hub.publish_text("t", "12345678") == 1
        assert await hub.publish_text("t", "éééé") == 1  # 8 UTF-8 bytes
        assert await hub.publish_bytes("t", b"12345678") == 1
        for publish in (
            hub.publish_text("t", "123456789"),
            hub.publish_text("t", "ééééé"),
            hub.publish_text("t", "\ud800" * 3),
            hub.publish_bytes("t", b"123456789"),
            hub.publish_json("t", "12345678"),  # '"12345678"': 10 bytes
            hub.publish_json("t", [1, 2, 3, 4], mode="binary"),
            hub.publish_typed("t", "123456789"),
        ):
            with pytest.raises(ValueError, match=r"bytes|surrogates"):
                await publish
        await settle()
        assert peer.count == 3


def test_constructor_arguments_are_checked() -> None:
    for kwargs in (
        {"max_queue": 0},
        {"max_queue": 2.5},
        {"max_queue": True},
        {"on_full": "block"},
        {"on_gap": "retry"},
        {"flush_timeout": -1},
        {"flush_timeout": "1"},
        {"flush_timeout": float("nan")},
    ):
        with pytest.raises(ValueError, match=r"\.$"):
            Hub(**kwargs)
    with pytest.raises(ValueError, match="max_frame"):
        MemoryBackend(max_frame=0)
    hub = Hub(max_queue=3, on_full="drop_oldest", on_gap=lambda topic, members: None)
    assert (hub.max_queue, hub.on_full, hub.flush_timeout) == (3, "drop_oldest", 1.0)
    assert isinstance(hub.backend, MemoryBackend)


async def test_publish_and_attach_outside_the_hub_raise_runtime_error() -> None:
    hub = Hub()
    peer = Peer()
    ws = await accepted(peer)
    with pytest.raises(RuntimeError, match="async with hub"):
        await hub.publish_text("t", "x")
    with pytest.raises(RuntimeError, match="async with hub"):
        await hub.publish_json("t", {})
    with pytest.raises(RuntimeError, match="async with hub"):
        await hub.presence("t")
    with pytest.raises(RuntimeError, match="async with hub"):
        async with hub.attach(ws):
            pass
    async with hub:
        with pytest.raises(RuntimeError, match="running already"):
            await hub.start()
        async with hub.attach(ws) as member:
            await member.join("t")
    # After the hub stopped: RuntimeError again.
    with pytest.raises(RuntimeError, match="async with hub"):
        await hub.publish_text("t", "x")
    with pytest.raises(RuntimeError, match="ended"):
        await member.send_text("x")
    assert member.end_reason == "detached"
    await hub.stop()  # a no-op once stopped


async def test_attach_needs_an_accepted_websocket_once() -> None:
    async with Hub() as hub:
        peer = Peer()
        from .transport import make_scope

        fresh = hub_module.WebSocket(make_scope(), peer.receive, peer.send)
        with pytest.raises(RuntimeError, match="CONNECTING"):
            async with hub.attach(fresh):
                pass
        with pytest.raises(TypeError, match="WebSocket"):
            hub.attach(object())  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="on_full"):
            hub.attach(fresh, on_full="block")  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="max_queue"):
            hub.attach(fresh, max_queue=0)
        ws = await accepted(Peer())
        attachment = hub.attach(ws)
        async with attachment:
            with pytest.raises(RuntimeError, match="attached to the hub already"):
                async with hub.attach(ws):
                    pass
            with pytest.raises(RuntimeError, match="entered already"):
                async with attachment:
                    pass
        await ws.close()
        with pytest.raises(RuntimeError, match="DISCONNECTED"):
            async with hub.attach(ws):
                pass


# -- slow consumers ------------------------------------------------------------------------------


async def test_stalled_member_is_closed_with_1013_and_does_not_delay_the_others() -> None:
    async with Hub(max_queue=4) as hub, contextlib.AsyncExitStack() as stack:
        fast = [(await stack.enter_async_context(member_of(hub, "t")))[1] for _ in range(5)]
        stalled_peer = Peer()
        stalled_peer.stalled = True
        stalled, _ = await stack.enter_async_context(member_of(hub, "t", peer=stalled_peer))
        outcome = asyncio.ensure_future(handler_outcome(stalled.websocket))
        counts = []
        for n in range(1, 21):
            counts.append(await hub.publish_text("t", f"m{n}"))
            await until(lambda n=n: all(peer.count == n for peer in fast), steps=50)
            if n <= 5:  # one frame in the stalled send, four waiting
                assert stalled.stats.queued == n - 1
        # Publish 6 found the outbox full: the member was ended there, the others went on.
        assert counts == [6] * 5 + [5] * 15
        assert stalled.end_reason == "slow consumer"
        assert hub.members("t") == [m for m in hub.members("t") if m is not stalled]
        assert len(hub.members("t")) == 5
        await until(lambda: stalled.websocket.connection_state is WebSocketState.DISCONNECTED)
        await until(lambda: len(stalled_peer.closes) == 1)
        assert stalled_peer.closes == [
            {"type": "websocket.close", "code": 1013, "reason": "slow consumer"}
        ]
        stalled_peer.disconnect(1006)  # the server reports the lost connection
        exc = await outcome
        assert isinstance(exc, WebSocketDisconnect)
        assert (exc.code, exc.reason) == (1013, "slow consumer")
        with pytest.raises(WebSocketDisconnect) as raised:
            await stalled.websocket.send_text("x")
        assert (raised.value.code, raised.value.reason) == (1013, "slow consumer")
        with pytest.raises(WebSocketDisconnect):
            await stalled.send_text("x")
        with pytest.raises(WebSocketDisconnect):
            await stalled.join("t")
        assert stalled.stats.queued == 0  # its frames were released
        assert all(peer.texts == [f"m{n}" for n in range(1, 21)] for peer in fast)


@pytest.mark.parametrize(
    ("policy", "delivered"),
    [
        ("drop_oldest", ["m1", "m17", "m18", "m19", "m20"]),
        ("drop_newest", ["m1", "m2", "m3", "m4", "m5"]),
    ],
)
async def test_drop_policies_count_exactly(policy: str, delivered: list[str]) -> None:
    async with Hub() as hub, member_of(hub, "t") as (_, fast):
        stalled_peer = Peer()
        stalled_peer.stalled = True
        async with member_of(hub, "t", peer=stalled_peer, max_queue=4, on_full=policy) as (
            member,
            _,
        ):
            for n in range(1, 21):
                assert await hub.publish_text("t", f"m{n}") == (
                    2 if policy == "drop_oldest" or n <= 5 else 1
                )
                await settle(3)
            assert member.stats == hub_module.MemberStats(queued=4, sent=0, dropped=15)
            assert member.end_reason is None
            stalled_peer.release.set()
            await until(lambda: stalled_peer.count == 5)
            assert stalled_peer.texts == delivered
            assert member.stats == hub_module.MemberStats(queued=0, sent=5, dropped=15)
        assert fast.count == 20


async def test_direct_send_overflow_follows_the_policy() -> None:
    async with Hub(max_queue=2) as hub:
        peer = Peer()
        peer.stalled = True
        async with member_of(hub, peer=peer) as (member, _):
            await member.send_text("1")  # taken by the writer, stuck in the server
            await settle(3)
            await member.send_text("2")
            await member.send_text("3")
            with pytest.raises(WebSocketDisconnect) as raised:
                await member.send_text("4")
            assert (raised.value.code, raised.value.reason) == (1013, "slow consumer")
            assert member.end_reason == "slow consumer"
        peer2 = Peer()
        peer2.stalled = True
        async with member_of(hub, peer=peer2, on_full="drop_newest") as (member2, _):
            for n in range(6):
                await member2.send_text(str(n))
                await settle(3)
            assert member2.stats.dropped == 3
            peer2.release.set()
        assert peer2.texts == ["0", "1", "2"]


async def test_memory_of_a_stalled_member_stays_within_max_queue_frames() -> None:
    frame = 10_000
    max_queue = 8
    async with Hub() as hub, member_of(hub, "t", peer=Peer(keep=False)):
        stalled_peer = Peer(keep=False)
        stalled_peer.stalled = True
        async with member_of(
            hub, "t", peer=stalled_peer, max_queue=max_queue, on_full="drop_oldest"
        ):
            for n in range(20):
                await hub.publish_bytes("t", bytes([n % 256]) * frame)
                await settle(3)
            gc.collect()
            tracemalloc.start()
            try:
                before = tracemalloc.get_traced_memory()[0]
                for n in range(400):
                    await hub.publish_bytes("t", bytes([n % 256]) * frame)
                    await settle(3)
                gc.collect()
                grown = tracemalloc.get_traced_memory()[0] - before
            finally:
                tracemalloc.stop()
            stalled_peer.release.set()
    # 400 frames of 10 kB went through. Traced memory counts only what was allocated after
    # start(): the stalled member's queue now holds max_queue of those frames (the frames it
    # held before, allocated untraced, were freed); an unbounded outbox would hold all 400.
    # The slack is the tracer's own allocations (about 18 KiB on Python 3.10, less later).
    assert max_queue * frame <= grown < max_queue * frame + 2 * frame, f"grew by {grown} bytes"


# -- ending members ------------------------------------------------------------------------------


@pytest.mark.parametrize("spec", ["2.4", "2.3", None, "2.0"])
async def test_hub_stop_flushes_then_closes_everyone_with_1001(spec: str | None) -> None:
    hub = Hub(flush_timeout=0.5)
    await hub.start()
    peers = [Peer() for _ in range(3)]
    outcomes = []
    members = []
    for peer in peers:
        ws = await accepted(peer, spec)
        attachment = hub.attach(ws)
        member = await attachment.__aenter__()
        await member.join("t")
        members.append((attachment, member))
        outcomes.append(asyncio.ensure_future(handler_outcome(ws)))
    for n in range(20):
        await hub.publish_text("t", str(n))
    await hub.stop()  # frames still queued: flushed first
    # The close message carries the reason wherever close() would send one.
    twin = Peer()
    await (await accepted(twin, spec)).close(1001, "going away")
    for peer in peers:
        assert peer.texts == [str(n) for n in range(20)]
        assert peer.closes == twin.closes
        assert peer.closes[0]["code"] == 1001
        peer.disconnect(1001)
    for outcome, (attachment, member) in zip(outcomes, members, strict=True):
        exc = await outcome
        assert isinstance(exc, WebSocketDisconnect)
        assert (exc.code, exc.reason) == (1001, "going away")
        assert member.end_reason == "going away"
        assert member.websocket.close_code == 1001
        await attachment.__aexit__(None, None, None)


async def test_hub_stop_gives_a_stalled_member_flush_timeout_then_closes_it() -> None:
    loop = asyncio.get_running_loop()
    hub = Hub(flush_timeout=0.05)
    await hub.start()
    peer, stalled_peer = Peer(), Peer()
    stalled_peer.stalled = True
    stack = contextlib.AsyncExitStack()
    member, _ = await stack.enter_async_context(member_of(hub, "t", peer=peer))
    stalled, _ = await stack.enter_async_context(member_of(hub, "t", peer=stalled_peer))
    for n in range(5):
        await hub.publish_text("t", str(n))
    started = loop.time()
    await hub.stop()
    assert loop.time() - started < 1.0  # bounded by the flush timeouts, not by the client
    assert peer.texts == ["0", "1", "2", "3", "4"]
    assert stalled_peer.texts == []
    assert stalled_peer.closes == [
        {"type": "websocket.close", "code": 1001, "reason": "going away"}
    ]
    assert stalled.end_reason == member.end_reason == "going away"
    await stack.aclose()


async def test_gap_closes_with_missed_messages_or_follows_on_gap() -> None:
    async with Hub() as hub, member_of(hub, "a") as (a, pa), member_of(hub, "b") as (b, _):
        outcome = asyncio.ensure_future(handler_outcome(a.websocket))
        hub.gap(["a", "nobody"])
        assert a.end_reason == "missed messages"
        assert b.end_reason is None
        await until(lambda: len(pa.closes) == 1)
        assert pa.closes[0]["code"] == 1013
        assert pa.closes[0]["reason"] == "missed messages"
        pa.disconnect(1013, "missed messages")
        exc = await outcome
        assert isinstance(exc, WebSocketDisconnect)
        assert (exc.code, exc.reason) == (1013, "missed messages")
    seen: list[tuple[str, list[Member]]] = []
    on_gap = lambda topic, members: seen.append((topic, members))  # noqa: E731
    async with Hub(on_gap=on_gap) as hub, member_of(hub, "a") as (a, _):
        hub.gap(["a"])
        assert seen == [("a", [a])]
        assert a.end_reason is None
    async with Hub(on_gap="ignore") as hub, member_of(hub, "a") as (a, _):
        hub.gap(["a"])
        assert a.end_reason is None
    done = asyncio.Event()

    async def later(topic: str, members: list[Member]) -> None:
        done.set()

    async with Hub(on_gap=later) as hub, member_of(hub, "a"):
        hub.gap(["a"])
        await asyncio.wait_for(done.wait(), 1)


async def test_deliver_from_another_process() -> None:
    async with Hub() as hub, member_of(hub, "t") as (_, peer):
        hub.deliver("t", hub_module.TEXT, "from afar")
        hub.deliver("t", hub_module.BYTES, b"bin")
        hub.deliver("other", hub_module.TEXT, "nobody")
        await until(lambda: peer.count == 2)
        assert peer.frames == ["from afar", b"bin"]


@pytest.mark.parametrize("spec", ["2.4", "2.3"])
async def test_client_leaving_mid_fanout(spec: str) -> None:
    async with (
        Hub() as hub,
        member_of(hub, "t") as (_, a),
        member_of(hub, "t", spec=spec) as (
            leaver,
            gone,
        ),
    ):
        for n in range(3):
            await hub.publish_text("t", str(n))
        await until(lambda: gone.count == 3)
        if spec == "2.4":
            gone.error = OSError("client gone")  # ASGI 2.4: send() raises
        else:
            gone.disconnect(1001)  # seen by the receive-ahead the sends started
        for n in range(3, 10):
            await hub.publish_text("t", str(n))
        await until(lambda: leaver.end_reason == "disconnected")
        assert len(hub.members("t")) == 1
        assert leaver not in hub.members("t")
        assert await hub.publish_text("t", "after") == 1
        await until(lambda: a.count == 11)
        assert a.texts == [*map(str, range(10)), "after"]
        assert leaver.websocket.connection_state is WebSocketState.DISCONNECTED
        if spec == "2.3":
            assert gone.receive_calls >= 2  # the handshake, then the receive-ahead


async def test_application_closing_the_member_websocket() -> None:
    async with Hub() as hub, member_of(hub, "t") as (member, peer):
        await hub.publish_text("t", "before")
        await until(lambda: peer.count == 1)
        await member.websocket.close(4000, "bye")
        await hub.publish_text("t", "after")
        await until(lambda: member.end_reason == "disconnected")
        assert peer.closes == [{"type": "websocket.close", "code": 4000, "reason": "bye"}]
        assert peer.texts == ["before"]
        assert await hub.publish_text("t", "later") == 0


async def test_handler_iteration_ends_when_the_hub_ends_the_member() -> None:
    async with Hub(max_queue=1) as hub:
        peer = Peer()
        peer.stalled = True
        ws = await accepted(peer)
        received: list[str] = []

        async def handler() -> None:
            async with hub.attach(ws) as member:
                await member.join("t")
                async for text in ws.iter_text():
                    received.append(text)

        task = asyncio.ensure_future(handler())
        await until(lambda: len(hub.members("t")) == 1)
        peer.inbox.put_nowait({"type": "websocket.receive", "text": "hello"})
        for n in range(4):
            await hub.publish_text("t", str(n))
            await settle(3)
        await until(lambda: len(peer.closes) == 1)
        peer.disconnect(1006)
        await asyncio.wait_for(task, 1)  # iter_text ended, the block was left
        assert received == ["hello"]
        assert ws.close_code == 1013
        assert ws.close_reason == "slow consumer"


# -- the WebSocket hooks directly ----------------------------------------------------------------


@pytest.mark.parametrize(("spec", "sends_reason"), [("2.4", True), ("2.3", True), ("2.0", False)])
async def test_end_hook(spec: str, sends_reason: bool) -> None:
    peer = Peer()
    ws = await accepted(peer, spec)
    pending = asyncio.ensure_future(handler_outcome(ws))
    await settle(3)
    await ws._end(1013, "slow consumer")
    expected = {"type": "websocket.close", "code": 1013}
    if sends_reason:
        expected["reason"] = "slow consumer"
    assert peer.closes == [expected]
    assert ws.connection_state is WebSocketState.DISCONNECTED
    assert (ws.close_code, ws.close_reason) == (1013, "slow consumer")
    for call in (ws.receive_text(), ws.send_text("x"), ws._send_message({"type": "x"})):
        with pytest.raises(WebSocketDisconnect) as raised:
            await call
        assert (raised.value.code, raised.value.reason) == (1013, "slow consumer")
    assert [text async for text in ws.iter_text()] == []
    await ws._end(1001, "going away")  # a no-op once DISCONNECTED
    await ws.close()
    assert len(peer.closes) == 1
    peer.disconnect(1000)
    exc = await pending  # the server's own disconnect: the recorded cause is raised
    assert isinstance(exc, WebSocketDisconnect)
    assert (exc.code, exc.reason) == (1013, "slow consumer")
    assert ws.close_code == 1013


class RefusingPeer(Peer):
    """daphne's way: its WebSocket library refuses close codes but 1000 and 3000-4999."""

    async def send(self, message: dict[str, Any]) -> None:
        code = message.get("code", 1000)
        if message["type"] == "websocket.close" and not (code == 1000 or 3000 <= code <= 4999):
            raise Exception(f"invalid close code {code}")  # what autobahn raises
        await super().send(message)


async def test_end_hook_falls_back_to_1000_where_the_server_refuses_the_code() -> None:
    peer = RefusingPeer()
    ws = await accepted(peer, None)
    await ws._end(1013, "slow consumer")
    assert peer.closes == [{"type": "websocket.close", "code": 1000, "reason": "slow consumer"}]
    assert (ws.close_code, ws.close_reason) == (1013, "slow consumer")  # what the handler sees
    with pytest.raises(WebSocketDisconnect) as raised:
        await ws.receive_text()
    assert raised.value.code == 1013


@pytest.mark.parametrize("spec", ["2.4", "2.3"])
async def test_a_stalled_member_handler_waiting_in_receive_wakes_when_ended(spec: str) -> None:
    """The client reads nothing, so the server never answers the close nor delivers a
    disconnect: ending the member still ends the handler's receive at once."""
    async with Hub(max_queue=2, flush_timeout=0.01) as hub:
        peer = Peer()
        peer.stalled = peer.stall_close = True
        ws = await accepted(peer, spec)
        async with hub.attach(ws) as member:
            await member.join("t")
            pending = asyncio.ensure_future(handler_outcome(ws))
            await settle(3)
            for n in range(4):
                await hub.publish_text("t", str(n))
            exc = await asyncio.wait_for(pending, 2)
        assert isinstance(exc, WebSocketDisconnect)
        assert (exc.code, exc.reason) == (1013, "slow consumer")
        assert member.end_reason == "slow consumer"


async def test_a_burst_from_one_handler_does_not_end_members_that_read() -> None:
    """Publishing many frames without yielding fills every outbox before any writer runs: a
    member is slow only if its outbox is still full once the writers had a turn."""
    async with Hub(max_queue=4) as hub:
        peers = [Peer(yields=False) for _ in range(5)]
        async with contextlib.AsyncExitStack() as stack:
            members = [await stack.enter_async_context(member_of(hub, "t", peer=p)) for p in peers]
            for n in range(20):
                assert await hub.publish_text("t", str(n)) == 5
            await until(lambda: all(p.count == 20 for p in peers))
            assert all(m.end_reason is None for m, _ in members)
            assert all(p.texts == [str(n) for n in range(20)] for p in peers)


async def test_end_hook_never_raises_for_oserror() -> None:
    peer = Peer()
    ws = await accepted(peer)
    peer.error = OSError("gone")
    await ws._end(1013, "slow consumer")
    assert (ws.close_code, ws.close_reason) == (1013, "slow consumer")


async def test_send_message_hook() -> None:
    peer = Peer()
    ws = await accepted(peer, "2.3")
    message = {"type": "websocket.send", "text": "shared"}
    await ws._send_message(message)
    await ws._send_message(message)  # counts towards receive-ahead like send_*
    assert peer.sent[1:] == [message, message]
    await until(lambda: peer.receive_calls == 2)  # the receive-ahead started
    peer.error = OSError("gone")
    with pytest.raises(WebSocketDisconnect) as raised:
        await ws._send_message(message)
    assert raised.value.code == 1006
    from .transport import make_scope

    fresh = hub_module.WebSocket(make_scope(), peer.receive, peer.send)
    with pytest.raises(RuntimeError, match="before accept"):
        await fresh._send_message(message)


# -- imports -------------------------------------------------------------------------------------


def test_importing_the_hub_never_imports_redis() -> None:
    code = (
        "import sys, genro_asgi, genro_asgi.hub\n"
        "assert 'redis' not in sys.modules and 'genro_asgi._redis_backend' not in sys.modules\n"
        "print('ok')"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_redis_backend_is_imported_lazily(monkeypatch: pytest.MonkeyPatch) -> None:
    import genro_asgi

    fake = ModuleType("genro_asgi._redis_backend")

    class RedisBackend:
        pass

    fake.RedisBackend = RedisBackend  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "genro_asgi._redis_backend", fake)
    monkeypatch.delitem(vars(hub_module), "RedisBackend", raising=False)
    assert hub_module.RedisBackend is RedisBackend
    assert genro_asgi.RedisBackend is RedisBackend
    del vars(hub_module)["RedisBackend"]  # the fake, cached by __getattr__: never restore it
    with pytest.raises(AttributeError, match="nothing"):
        hub_module.nothing  # noqa: B018
    with pytest.raises(AttributeError, match="nothing"):
        genro_asgi.nothing  # noqa: B018


async def test_an_ended_member_leaves_presence_and_a_denied_websocket_cannot_attach() -> None:
    async with Hub(max_queue=1) as hub:
        stalled_peer = Peer()
        stalled_peer.stalled = True
        async with member_of(hub, peer=stalled_peer) as (member, _):
            await member.join("t", info={"nick": "slow"})
            async with member_of(hub) as (other, _):
                await other.join("t", info={"nick": "ok"})
                for n in range(3):
                    await hub.publish_text("t", str(n))
                    await settle(3)
                assert member.end_reason == "slow consumer"
                await until(lambda: not hub._tasks)
                assert await hub.presence("t") == [{"nick": "ok"}]
        peer = Peer()
        from .transport import make_scope

        ws = hub_module.WebSocket(make_scope(), peer.receive, peer.send)
        await ws.deny(403)
        with pytest.raises(RuntimeError, match="DISCONNECTED"):
            async with hub.attach(ws):
                pass


async def test_member_send_type_errors() -> None:
    async with Hub() as hub, member_of(hub) as (member, peer):
        with pytest.raises(TypeError, match="send_bytes"):
            await member.send_text(b"x")  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="bytes-like"):
            await member.send_bytes("x")  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="mode"):
            await member.send_json({}, mode="utf8")  # type: ignore[arg-type]
        await settle()
        assert peer.count == 0


async def test_leaving_the_block_with_a_stalled_client_takes_at_most_flush_timeout() -> None:
    loop = asyncio.get_running_loop()
    async with Hub(flush_timeout=0.05) as hub:
        peer = Peer()
        peer.stalled = True
        started = loop.time()
        async with member_of(hub, "t", peer=peer) as (member, _):
            for n in range(3):
                await hub.publish_text("t", str(n))
        assert loop.time() - started < 1.0
        assert member.end_reason == "detached"
        assert member.stats.queued == 0
        assert peer.count == 0


async def test_a_close_that_never_returns_is_bounded_by_flush_timeout() -> None:
    async with Hub(flush_timeout=0.05) as hub, member_of(hub, "t") as (member, peer):
        peer.stall_close = True
        hub.gap(["t"])
        await asyncio.sleep(0.2)
        assert member.websocket.connection_state is WebSocketState.DISCONNECTED
        assert member.websocket.close_code == 1013
        assert member.end_reason == "missed messages"


async def test_an_unexpected_server_failure_is_raised_when_the_block_is_left() -> None:
    async def broken_server() -> Member:
        async with member_of(hub, "t") as (member, peer):
            peer.error = ZeroDivisionError()
            await hub.publish_text("t", "x")
            await settle()
        return member

    async with Hub() as hub:
        with pytest.raises(ZeroDivisionError):
            await broken_server()
        assert hub.members("t") == []


async def test_attach_while_receiving_ahead_and_end() -> None:
    async with Hub() as hub:
        peer = Peer()
        ws = await accepted(peer, "2.3")
        await ws.send_text("a")
        await ws.send_text("b")  # the second send in a row starts a receive-ahead
        await until(lambda: peer.receive_calls == 2)
        async with hub.attach(ws) as member:
            await member.join("t")
            pending = asyncio.ensure_future(handler_outcome(ws))
            await settle(3)
            hub.gap(["t"])
            await until(lambda: len(peer.closes) == 1)
            peer.disconnect(1000, "echo")  # what the server reports: not the hub's code
            exc = await pending
            assert isinstance(exc, WebSocketDisconnect)
            assert (exc.code, exc.reason) == (1013, "missed messages")


@pytest.mark.parametrize("flush_timeout", [0, 0.5])
async def test_members_ended_before_their_writer_ran_are_closed(flush_timeout: float) -> None:
    hub = Hub(flush_timeout=flush_timeout)
    await hub.start()
    stack = contextlib.AsyncExitStack()
    gapped, gapped_peer = await stack.enter_async_context(member_of(hub, "a"))
    hub.gap(["a"])  # no loop iteration since attach(): the writer has not started
    stopped, stopped_peer = await stack.enter_async_context(member_of(hub, "b"))
    await hub.stop()  # nor has this one's
    await until(lambda: len(gapped_peer.closes) == len(stopped_peer.closes) == 1)
    assert gapped_peer.closes[0]["code"] == 1013
    assert stopped_peer.closes[0]["code"] == 1001
    assert (gapped.end_reason, stopped.end_reason) == ("missed messages", "going away")
    await stack.aclose()


class RecordingBackend(MemoryBackend):
    """A backend that records what the hub asks of it, and can be made unreachable."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[Any, ...]] = []
        self.unreachable = False

    async def start(self, receiver: Any) -> None:
        self.calls.append(("start", receiver))
        await super().start(receiver)

    async def stop(self) -> None:
        self.calls.append(("stop",))
        await super().stop()

    async def subscribe(self, topic: str) -> None:
        await asyncio.sleep(0)  # a real backend waits for the network here
        self.calls.append(("subscribe", topic))

    async def unsubscribe(self, topic: str) -> None:
        await asyncio.sleep(0)
        self.calls.append(("unsubscribe", topic))

    async def publish(self, topic: str, kind: int, payload: str | bytes) -> None:
        if self.unreachable:
            raise ConnectionError("Redis is unreachable.")
        self.calls.append(("publish", topic, kind, payload))


async def test_what_the_hub_asks_of_its_backend() -> None:
    backend = RecordingBackend()
    async with Hub(backend) as hub:
        assert backend.calls == [("start", hub)]
        async with member_of(hub, "t") as (a, _), member_of(hub, "t") as (_, peer):
            await a.join("u")
            assert await hub.publish_text("t", "x", exclude=a) == 1
            await hub.publish_json("t", [1], mode="binary")
            await hub.publish_typed("u", {"n": 1})
            await a.leave("u")
            await settle()
            # Once per topic while a local member is in it; once per publish, whatever the
            # number of local members; the excluded sender stays a local matter.
            assert [c for c in backend.calls if c[0] != "start"] == [
                ("subscribe", "t"),
                ("subscribe", "u"),
                ("publish", "t", hub_module.TEXT, "x"),
                ("publish", "t", hub_module.BYTES, b"[1]"),
                ("publish", "u", hub_module.TEXT, backend.calls[5][3]),
                ("unsubscribe", "u"),
            ]
            backend.unreachable = True
            with pytest.raises(ConnectionError):
                await hub.publish_text("t", "local only")
            await until(lambda: peer.count == 3)
            assert peer.frames[-1] == "local only"  # local members got it first
            backend.unreachable = False
            hub.deliver("t", hub_module.TEXT, "remote")
            await until(lambda: peer.count == 4)
            assert backend.calls[-1] == ("unsubscribe", "u")  # a delivery is not republished
        await settle()
        assert backend.calls[-1] == ("unsubscribe", "t")
    assert backend.calls[-1] == ("stop",)


async def test_concurrent_joins_and_leaves_keep_the_subscription_right() -> None:
    backend = RecordingBackend()
    async with Hub(backend) as hub, contextlib.AsyncExitStack() as stack:
        members = [(await stack.enter_async_context(member_of(hub)))[0] for _ in range(6)]

        async def churn(member: Member, n: int) -> None:
            for _ in range(n):
                await member.join("t")
                await member.leave("t")

        await asyncio.gather(*(churn(m, n) for n, m in enumerate(members, 1)))
        await members[0].join("t")
        await settle()
        subscriptions = [c for c in backend.calls if c[0] in ("subscribe", "unsubscribe")]
        assert subscriptions[-1] == ("subscribe", "t")
        for first, second in itertools.pairwise(subscriptions):  # strictly alternating
            assert first[0] != second[0]
        assert hub.members("t") == [members[0]]


async def test_a_hub_whose_backend_cannot_start_leaves_nothing_running() -> None:
    class Unreachable(MemoryBackend):
        async def start(self, receiver: Any) -> None:
            raise ConnectionError("the backend is unreachable")

    hub = Hub(Unreachable())
    before = asyncio.all_tasks()
    with pytest.raises(ConnectionError, match="unreachable"):
        await hub.start()
    assert asyncio.all_tasks() == before  # no drain task left behind
    with pytest.raises(RuntimeError, match="outside"):
        await hub.publish_text("t", "x")
    hub._backend = MemoryBackend()  # reachable now: the same hub starts
    async with hub, member_of(hub, "t") as (_, peer):
        await hub.publish_text("t", "x")
        await until(lambda: peer.count == 1)
