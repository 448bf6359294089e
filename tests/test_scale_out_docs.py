"""docs/guide/scale-out.md's example, run as two workers on one real redis-server."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import pytest

from .redis_server import RedisServer, missing, until

try:
    import redis  # noqa: F401
except ImportError:  # pragma: no cover - scripts/test installs it
    missing("The redis package (pip install genro-asgi[redis])")

from .hub_peer import Peer
from .transport import make_scope

DOC = Path(__file__).resolve().parents[1] / "docs" / "guide" / "scale-out.md"
if not DOC.is_file():  # the installed-wheel runs copy tests/, not docs/ (test_docs_examples too)
    pytest.skip("the documents are not among these tests' sources", allow_module_level=True)


def example() -> str:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)
    assert blocks, "the guide has no Python example"
    return str(blocks[0])


class Lifespan:
    """Runs an app's lifespan: startup on start(), shutdown on stop()."""

    def __init__(self, app: Any) -> None:
        self.inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.sent: list[dict[str, Any]] = []
        self.task = asyncio.create_task(app({"type": "lifespan"}, self.inbox.get, self.send))

    async def send(self, message: dict[str, Any]) -> None:
        self.sent.append(message)

    async def start(self) -> None:
        await self.inbox.put({"type": "lifespan.startup"})
        await until(lambda: self.sent == [{"type": "lifespan.startup.complete"}])

    async def stop(self) -> None:
        await self.inbox.put({"type": "lifespan.shutdown"})
        await asyncio.wait_for(self.task, 10)
        assert self.sent[-1] == {"type": "lifespan.shutdown.complete"}


async def test_the_example_spans_two_workers(
    redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REDIS_URL", redis_server.url)
    code = compile(example(), str(DOC), "exec")
    workers = []
    for _ in range(2):  # two processes: two module namespaces, two hubs, two backends
        namespace: dict[str, Any] = {}
        exec(code, namespace)
        workers.append(namespace["app"])
    lifespans = [Lifespan(app) for app in workers]
    for lifespan in lifespans:
        await lifespan.start()
    ann, bob = Peer(), Peer()
    handlers = [
        asyncio.create_task(workers[0](make_scope(query_string=b"nick=ann"), ann.receive, ann.send))
    ]
    await until(lambda: len(ann.texts) == 1)
    assert json.loads(ann.texts[0]) == {"joined": "ann", "here": [{"nick": "ann"}]}
    # ann's local members get the frame first; wait until it went out to Redis too, so that
    # bob (who joins next, on the other worker) does not get it
    await until(lambda: "calls=1," in redis_server.info("commandstats").get("cmdstat_publish", ""))
    handlers.append(
        asyncio.create_task(workers[1](make_scope(query_string=b"nick=bob"), bob.receive, bob.send))
    )
    await until(lambda: len(ann.texts) == 2 and len(bob.texts) == 1)
    for peer in (ann, bob):  # bob joined on the other worker: both see him and the roster
        joined = json.loads(peer.texts[-1])
        assert joined["joined"] == "bob"
        assert sorted(m["nick"] for m in joined["here"]) == ["ann", "bob"]
    ann.inbox.put_nowait({"type": "websocket.receive", "text": "hello from worker 1"})
    await until(lambda: len(bob.texts) == 2)
    assert json.loads(bob.texts[1]) == {"nick": "ann", "text": "hello from worker 1"}
    assert len(ann.texts) == 2  # exclude=member: not echoed to the sender
    ann.disconnect()
    bob.disconnect()
    await asyncio.wait_for(asyncio.gather(*handlers), 10)
    for lifespan in lifespans:
        await lifespan.stop()
