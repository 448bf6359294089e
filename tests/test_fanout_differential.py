"""Differential tests: the compiled fan-out queues, drops, counts and wakes exactly as its twin."""

from __future__ import annotations

import contextvars
from collections.abc import Generator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from .conftest import ModulePair


class Waiter:
    """Stands in for the writer's future: records when it is resolved."""

    def __init__(self, log: list[Any], name: int) -> None:
        self.log = log
        self.name = name

    def set_result(self, value: Any) -> None:
        if isinstance(value, tuple):  # a send the drain handed over: (coroutine, step)
            coroutine, step = value
            self.log.append(("handed over", self.name, coroutine.cr_frame is not None, step))
            coroutine.close()
        else:
            self.log.append(("woken", self.name, value))

    def set_exception(self, exc: BaseException) -> None:
        self.log.append(("failed", self.name, type(exc).__name__, exc.args))


class DrainWaiter:
    """Stands in for the future the hub's drain task parks on: records each wake-up."""

    def __init__(self, log: list[Any]) -> None:
        self.log = log

    def set_result(self, value: Any) -> None:
        self.log.append("scheduled")

    def done(self) -> bool:
        return False


VAR: contextvars.ContextVar[str] = contextvars.ContextVar("VAR")


class Suspend:
    def __await__(self) -> Generator[str, None, None]:
        yield "suspended"


def make_send(log: list[Any], name: int) -> Any:
    """A writer's send: completes, suspends (server backpressure) or raises, by the frame."""

    async def send(message: int) -> None:
        log.append(("send", name, message, VAR.get("no context")))
        if message % 5 == 0:
            await Suspend()
        if message % 7 == 1:
            raise ValueError(message)

    return send


class Key:
    """A dict key (the hub's Member) compared by identity."""

    def __init__(self, name: int) -> None:
        self.name = name


def run(module: Any, configs: list[tuple[int, int]], ops: list[tuple[Any, ...]]) -> list[Any]:
    """Apply ``ops`` to outboxes built from ``configs``; the log of everything observable."""
    log: list[Any] = []
    keys = [Key(n) for n in range(len(configs))]
    outboxes = {
        key: module.Outbox(size, policy) for key, (size, policy) in zip(keys, configs, strict=True)
    }
    boxes = list(outboxes.values())
    drain = module.Drain()
    drain.waiter = DrainWaiter(log)  # the drain's task, parked
    for op in ops:
        kind, index = op[0], op[1] % len(boxes)
        box = boxes[index]
        if kind == "fanout":
            exclude = keys[index] if op[2] else None
            queued, full = module.fanout(outboxes, op[3], exclude)
            log.append(("fanout", queued, None if full is None else [k.name for k in full]))
        elif kind == "push":
            log.append(("push", box.push(op[3])))
        elif kind == "take":
            log.append(("take", box.take()))
        elif kind == "clear":
            box.clear()
        elif kind == "close":
            box.closed = True
        elif kind == "park":
            box.waiter = Waiter(log, index)
        elif kind == "park on drain":  # a writer parked in the hub: the drain sends for it
            box.waiter = Waiter(log, index)
            box.drain = drain
            box.send = make_send(log, index)
            if op[2]:
                context = contextvars.copy_context()
                context.run(VAR.set, f"writer {index}")
                box.context = context
        elif kind == "run drain":
            if drain.waiter is None:  # woken: the task runs, then parks again
                drain.run()
                drain.waiter = DrainWaiter(log)
            log.append(("ready", len(drain)))
        elif kind == "sent":
            box.sent += 1
        log.append([(len(b), b.dropped, b.sent, b.closed, b.waiter is None) for b in boxes])
    for box in boxes:  # drain: the order of what is left
        log.append(("left", [box.take() for _ in range(len(box))], box.take()))
    return log


CONFIGS = st.lists(st.tuples(st.integers(1, 4), st.sampled_from([0, 1, 2])), min_size=1, max_size=5)
OPS = st.lists(
    st.tuples(
        st.sampled_from(
            [
                "fanout",
                "fanout",
                "fanout",
                "push",
                "take",
                "clear",
                "close",
                "park",
                "sent",
                "park on drain",
                "park on drain",
                "run drain",
                "run drain",
            ]
        ),
        st.integers(0, 4),
        st.booleans(),
        st.integers(0, 1000),
    ),
    max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(configs=CONFIGS, ops=OPS)
def test_compiled_agrees_with_pure(fanout_pair: ModulePair, configs: Any, ops: Any) -> None:
    assert run(fanout_pair.compiled, configs, ops) == run(fanout_pair.pure, configs, ops)


def test_the_table_of_policies(fanout_pair: ModulePair) -> None:
    """A fixed case per policy, so a failure reads without hypothesis."""
    ops = [("park", 0, False, 0)] + [("fanout", 0, False, n) for n in range(5)]
    for module in (fanout_pair.pure, fanout_pair.compiled):
        log = run(module, [(2, 0), (2, 1), (2, 2)], ops)
        fanouts = [entry for entry in log if isinstance(entry, tuple) and entry[0] == "fanout"]
        assert fanouts == [
            ("fanout", 3, None),
            ("fanout", 3, None),
            ("fanout", 1, [0]),  # close: ended; drop_oldest: queued; drop_newest: dropped
            ("fanout", 1, [0]),
            ("fanout", 1, [0]),
        ]
        assert ("woken", 0, None) in log
        assert log[-3:] == [("left", [0, 1], None), ("left", [3, 4], None), ("left", [0, 1], None)]


def test_constants_agree(fanout_pair: ModulePair) -> None:
    for name in ("CLOSE", "DROP_OLDEST", "DROP_NEWEST", "QUEUED", "DROPPED", "FULL"):
        assert getattr(fanout_pair.pure, name) == getattr(fanout_pair.compiled, name), name


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((0, 0), "max_queue"),
        ((True, 0), "max_queue"),
        ((1.0, 0), "max_queue"),
        ((1, 3), "on_full"),
        ((1, "close"), "on_full"),
    ],
)
def test_constructor_errors_agree(fanout_pair: ModulePair, args: Any, match: str) -> None:
    errors = []
    for module in (fanout_pair.pure, fanout_pair.compiled):
        with pytest.raises(ValueError, match=match) as raised:
            module.Outbox(*args)
        errors.append(str(raised.value))
    assert errors[0] == errors[1]


def test_a_waiter_that_raises_propagates_alike(fanout_pair: ModulePair) -> None:
    class Broken:
        def set_result(self, value: Any) -> None:
            raise RuntimeError("broken waiter")

    for module in (fanout_pair.pure, fanout_pair.compiled):
        box = module.Outbox(2, 0)
        box.waiter = Broken()
        with pytest.raises(RuntimeError, match="broken waiter"):
            module.fanout({1: box}, "m", None)
        assert len(box) == 1  # queued before the wake failed
        assert box.waiter is None


def test_the_drain_table(fanout_pair: ModulePair) -> None:
    """A fixed case per drain outcome (completed, handed over, failed; in the writer's
    context or none; a plain waiter woken), so a failure reads without hypothesis."""
    ops = [
        ("park on drain", 0, True, 0),
        ("park on drain", 1, False, 0),
        ("park", 2, False, 0),
        ("fanout", 0, False, 2),  # 0 and 1 ready (one callback), 2 woken
        ("run drain", 0, False, 0),  # both send 2 at once
        ("fanout", 0, False, 3),
        ("fanout", 0, False, 5),  # no new callback: one is pending
        ("run drain", 0, False, 0),  # 3 sent; 5 suspends: handed over to the writer
        ("fanout", 0, True, 8),  # excluding 0; 1's writer is busy: only queued
        ("park on drain", 1, False, 0),
        ("push", 1, False, 9),
        ("run drain", 0, False, 0),  # 8 raises: handed to the writer, 9 stays queued
    ]
    expected = [
        "scheduled",
        ("woken", 2, None),
        ("send", 0, 2, "writer 0"),
        ("send", 1, 2, "no context"),
        "scheduled",
        ("send", 0, 3, "writer 0"),
        ("send", 0, 5, "writer 0"),
        ("handed over", 0, True, "suspended"),
        ("send", 1, 3, "no context"),
        ("send", 1, 5, "no context"),
        ("handed over", 1, True, "suspended"),
        "scheduled",
        ("send", 1, 8, "no context"),
        ("failed", 1, "ValueError", (8,)),
    ]
    for module in (fanout_pair.pure, fanout_pair.compiled):
        log = run(module, [(4, 0), (4, 0), (4, 0)], ops)
        events = [entry for entry in log if isinstance(entry, str) or entry[0] in EVENTS]
        assert events == expected, module.__name__
        assert ("push", 1) in log
        # 0 and 1 sent 2 and 3 (5 and 8 went to their writers); 9 waits in 1; 2 was only woken
        assert log[-4] == [(0, 0, 2, False, True), (1, 0, 2, False, True), (4, 0, 0, False, True)]


EVENTS = {"woken", "send", "handed over", "failed"}


def test_a_drive_that_raises_leaves_the_rest_on_the_list(fanout_pair: ModulePair) -> None:
    """A writer's waiter that fails when the drain hands it a send (a bug): ``run()`` raises,
    and the outboxes after it stay on the ready list for the next run."""

    class Broken:
        def set_result(self, value: Any) -> None:
            value[0].close()
            raise RuntimeError("broken waiter")

    async def suspends(message: Any) -> None:
        await Suspend()

    async def completes(message: Any) -> None:
        pass

    for module in (fanout_pair.pure, fanout_pair.compiled):
        drain = module.Drain()
        boxes = [module.Outbox(2, 0) for _ in range(3)]
        for box, send in zip(boxes, (completes, suspends, completes), strict=True):
            box.drain, box.send = drain, send
            box.waiter = Broken()
        module.fanout(dict(enumerate(boxes)), "m", None)
        assert len(drain) == 3
        with pytest.raises(RuntimeError, match="broken waiter"):
            drain.run()
        assert len(drain) == 1  # the third: its frame is still queued
        assert boxes[0].sent == 1
        assert len(boxes[2]) == 1
        drain.run()
        assert boxes[2].sent == 1
        assert len(drain) == 0


def test_a_cancelled_drain_waiter_is_not_resolved(fanout_pair: ModulePair) -> None:
    """The drain's task was cancelled while parked (its future is done): queuing on a parked
    writer only puts the outbox on the list and forgets that future (no InvalidStateError in
    the publisher); the task, waking with the cancellation, runs the list."""

    class Cancelled:
        def done(self) -> bool:
            return True

        def set_result(self, value: Any) -> None:
            raise AssertionError("set_result() on a done future")

    async def completes(message: Any) -> None:
        pass

    for module in (fanout_pair.pure, fanout_pair.compiled):
        drain = module.Drain()
        drain.waiter = Cancelled()
        box = module.Outbox(2, 0)
        box.drain, box.send, box.waiter = drain, completes, Waiter([], 0)
        assert module.fanout({0: box}, "m", None) == (1, None)
        assert drain.waiter is None
        assert len(drain) == 1
        drain.run()
        assert box.sent == 1
