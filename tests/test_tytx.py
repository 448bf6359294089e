"""SPEC section 4: typed messages through the real genro-tytx package."""

from __future__ import annotations

import datetime
import decimal
import sys
from typing import Any

import pytest

from genro_asgi.exceptions import WebSocketDisconnect

from .transport import accepted, binary, disconnect, text

genro_tytx = pytest.importorskip("genro_tytx")  # requirements/test.txt installs it

UTC = datetime.timezone.utc
TYPED: list[Any] = [
    {"price": decimal.Decimal("19.99")},
    {"day": datetime.date(2024, 2, 29)},
    {"at": datetime.datetime(2024, 2, 29, 23, 59, 58, 123000, tzinfo=UTC)},
    {
        "order": {
            "total": decimal.Decimal("1234567890.000001"),
            "lines": [decimal.Decimal("1"), decimal.Decimal("-0.5")],
            "shipped": datetime.date(1999, 12, 31),
            "note": "plain €",
            "count": 3,
        }
    },
    [decimal.Decimal("0.1"), datetime.date(2000, 1, 1), None, True],
]


@pytest.mark.parametrize("value", TYPED)
async def test_send_typed_sends_to_tytx_as_text(value: Any) -> None:
    ws, transport = await accepted()
    await ws.send_typed(value)
    message = transport.sent[-1]
    assert message["type"] == "websocket.send"
    assert set(message) == {"type", "text"}
    expected = genro_tytx.to_tytx(value)
    assert message["text"] == (expected if isinstance(expected, str) else expected.decode())


@pytest.mark.parametrize("value", TYPED)
async def test_typed_round_trip(value: Any) -> None:
    ws, transport = await accepted()
    await ws.send_typed(value)
    transport.push(text(transport.sent[-1]["text"]))
    result = await ws.receive_typed()
    assert result == value
    assert _types(result) == _types(value)


def _types(value: Any) -> Any:
    """The structure of ``value`` with every leaf replaced by its type."""
    if isinstance(value, dict):
        return {key: _types(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_types(item) for item in value]
    return type(value)


@pytest.mark.parametrize(
    ("payload", "expected"),
    [('{"a": 1, "b": [true, null]}', {"a": 1, "b": [True, None]}), ('"x"', "x"), ("[]", [])],
)
async def test_plain_json_passes_through_receive_typed(payload: str, expected: Any) -> None:
    ws, _ = await accepted(text(payload))
    assert await ws.receive_typed() == expected


async def test_receive_typed_reads_text_frames_only() -> None:
    ws, _ = await accepted(binary(b"{}"))
    with pytest.raises(TypeError, match=r"receive_bytes\(\)"):
        await ws.receive_typed()


async def test_receive_typed_disconnect() -> None:
    ws, _ = await accepted(disconnect(1001))
    with pytest.raises(WebSocketDisconnect):
        await ws.receive_typed()


async def test_typed_needs_connection() -> None:
    from .transport import CONNECT, connection

    ws, transport = connection(CONNECT, text("{}"))
    with pytest.raises(RuntimeError):
        await ws.send_typed({"a": 1})
    with pytest.raises(RuntimeError):
        await ws.receive_typed()
    assert transport.sent == []
    assert transport.receive_calls == 0


@pytest.fixture
def without_tytx(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``import genro_tytx`` fail, as when the package is not installed."""
    monkeypatch.setitem(sys.modules, "genro_tytx", None)


@pytest.mark.usefixtures("without_tytx")
async def test_send_typed_without_the_package() -> None:
    ws, transport = await accepted()
    with pytest.raises(ImportError, match=r"pip install genro-asgi\[tytx\]"):
        await ws.send_typed({"a": decimal.Decimal("1")})
    assert transport.sent_types == ["websocket.accept"]


@pytest.mark.usefixtures("without_tytx")
async def test_receive_typed_without_the_package_consumes_nothing() -> None:
    ws, transport = await accepted(text('{"a": 1}'))
    with pytest.raises(ImportError, match=r"pip install genro-asgi\[tytx\]"):
        await ws.receive_typed()
    assert transport.receive_calls == 1
    assert await ws.receive_json() == {"a": 1}
