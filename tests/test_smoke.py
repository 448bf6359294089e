"""The echo flow end to end over the in-memory transport."""

from __future__ import annotations

import pytest

from genro_asgi import WebSocketDisconnect, WebSocketState

from .transport import accepted, disconnect, text


async def test_echo_until_disconnect() -> None:
    ws, transport = await accepted(text("a"), text("b"), disconnect(1001, "bye"))
    async for message in ws:
        await ws.send_text(message.upper())
    assert [m.get("text") for m in transport.sent[1:]] == ["A", "B"]
    assert ws.connection_state is WebSocketState.DISCONNECTED
    assert (ws.close_code, ws.close_reason) == (1001, "bye")
    with pytest.raises(WebSocketDisconnect) as caught:
        await ws.receive_text()
    assert (caught.value.code, caught.value.reason) == (1001, "bye")
    assert transport.receive_calls == 4
