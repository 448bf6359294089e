"""The app of e2e/test_scale_out.py: one hub on RedisBackend per server process.

``/ws?id=...`` joins the topic ``room`` (presence ``{"id": ...}``), sends ``joined`` once the
join is done, then for each text ``pub:<payload>`` publishes ``<payload>`` to ``room`` and for
``presence`` answers with the number of members in every process (``presence:<n>``).
The Redis URL comes from ``GENRO_E2E_REDIS_URL``; the hub runs from the lifespan.
"""

from __future__ import annotations

import os
from typing import Any

from genro_asgi import WebSocket
from genro_asgi.hub import Hub, RedisBackend

hub = Hub(RedisBackend(os.environ["GENRO_E2E_REDIS_URL"]), max_queue=512)


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        await receive()
        async with hub:
            await send({"type": "lifespan.startup.complete"})
            await receive()
        await send({"type": "lifespan.shutdown.complete"})
        return
    ws = WebSocket(scope, receive, send)
    await ws.accept()
    async with hub.attach(ws) as member:
        await member.join("room", info={"id": ws.query_params.get("id", "")})
        await member.send_text("joined")
        async for text in ws.iter_text():
            if text.startswith("pub:"):
                await hub.publish_text("room", text[4:])
            elif text == "presence":
                await member.send_text(f"presence:{len(await hub.presence('room'))}")
