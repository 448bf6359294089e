"""The example of ``docs/guide/fanout.md`` runs: lifespan, two members, a broadcast, presence."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import pytest

from .hub_peer import Peer, until
from .transport import make_scope

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "guide" / "fanout.md"
if not GUIDE.is_file():  # the installed-wheel runs copy tests/, not docs/ (test_docs_examples too)
    pytest.skip("the documents are not among these tests' sources", allow_module_level=True)


def example() -> str:
    blocks = re.findall(r"```python\n(.*?)```", GUIDE.read_text(), re.DOTALL)
    assert len(blocks) == 1
    assert len(blocks[0].splitlines()) <= 25  # the "20-line example"
    return str(blocks[0])


async def test_the_guide_example_runs() -> None:
    namespace: dict[str, Any] = {}
    exec(compile(example(), str(GUIDE), "exec"), namespace)
    app = namespace["app"]

    lifespan_in: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    lifespan_out: list[dict[str, Any]] = []

    async def lifespan_send(message: dict[str, Any]) -> None:
        lifespan_out.append(message)

    lifespan_in.put_nowait({"type": "lifespan.startup"})
    lifespan = asyncio.ensure_future(app({"type": "lifespan"}, lifespan_in.get, lifespan_send))
    await until(lambda: lifespan_out == [{"type": "lifespan.startup.complete"}])

    ann, bob = Peer(), Peer()
    ann_task = asyncio.ensure_future(
        app(make_scope(query_string=b"nick=ann"), ann.receive, ann.send)
    )
    await until(lambda: ann.count == 1)
    bob_task = asyncio.ensure_future(
        app(make_scope(query_string=b"nick=bob"), bob.receive, bob.send)
    )
    await until(lambda: ann.count == 2 and bob.count == 1)
    joined = json.loads(bob.texts[0])
    assert joined["joined"] == "bob"
    assert sorted(entry["nick"] for entry in joined["here"]) == ["ann", "bob"]
    bob.inbox.put_nowait({"type": "websocket.receive", "text": "hello"})
    await until(lambda: ann.count == 3)
    assert json.loads(ann.texts[2]) == {"nick": "bob", "text": "hello"}
    assert bob.count == 1  # exclude=member: the sender does not get its own line

    lifespan_in.put_nowait({"type": "lifespan.shutdown"})
    await until(lambda: len(ann.closes) == len(bob.closes) == 1)
    assert ann.closes[0]["code"] == bob.closes[0]["code"] == 1001
    ann.disconnect(1001)
    bob.disconnect(1001)
    await asyncio.wait_for(asyncio.gather(ann_task, bob_task, lifespan), 2)
    assert lifespan_out[-1] == {"type": "lifespan.shutdown.complete"}
