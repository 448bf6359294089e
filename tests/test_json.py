"""SPEC section 4: JSON through orjson when installed, else the standard library.

Every test here runs on both backends: the ``backend`` fixture swaps ``genro_asgi._json``'s
``dumps``/``loads`` for the standard-library functions the module falls back to.
"""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import json
import os
import subprocess
import sys
import textwrap
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from genro_asgi import _json

from .transport import accepted, binary, disconnect, text

NO_ORJSON = "orjson is not installed: only the stdlib json backend can be tested here."


@pytest.fixture(params=["orjson", "json"])
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "orjson":
        # requirements/test.txt installs it except on 3.15 (no cp315 wheel yet); the wheel
        # tests (requirements/wheel-test.txt) leave it out: the json backend is tested there.
        pytest.importorskip("orjson", reason=NO_ORJSON)
        assert _json.BACKEND == "orjson"
        assert _json.dumps is not _json._std_dumps
    else:
        monkeypatch.setattr(_json, "dumps", _json._std_dumps)
        monkeypatch.setattr(_json, "loads", _json._std_loads)
    return str(request.param)


VALUES: list[Any] = [
    None,
    True,
    0,
    -(2**63),
    2**64 - 1,
    1.5,
    -0.25,
    1e100,
    "",
    "plain",
    'quote " backslash \\ newline \n tab \t nul \0',
    "€ 😀 \u2028",
    [],
    [1, "a", None, [2, [3]]],
    {},
    {"a": {"b": [True, False]}, "€": "x"},
]


@pytest.mark.parametrize("value", VALUES)
@pytest.mark.parametrize("mode", ["text", "binary"])
async def test_round_trip(backend: str, value: Any, mode: str) -> None:
    ws, transport = await accepted()
    await ws.send_json(value, mode=mode)
    sent = transport.sent[-1]
    frame = text(sent["text"]) if mode == "text" else binary(sent["bytes"])
    transport.push(frame)
    assert await ws.receive_json(mode=mode) == value
    payload = sent["text"] if mode == "text" else sent["bytes"].decode()
    assert json.loads(payload) == value


@pytest.mark.parametrize(
    ("value", "payload"),
    [
        ({"a": [1, 2]}, '{"a":[1,2]}'),
        ({"é": "ü", "€": "😀"}, '{"é":"ü","€":"😀"}'),
        ([None, True, False], "[null,true,false]"),
        ("\u2028", '"\u2028"'),
        ((1, 2), "[1,2]"),
        ({1: "int key"}, '{"1":"int key"}'),
    ],
)
async def test_compact_utf8_output(backend: str, value: Any, payload: str) -> None:
    ws, transport = await accepted()
    await ws.send_json(value)
    await ws.send_json(value, mode="binary")
    assert transport.sent[-2]["text"] == payload
    assert transport.sent[-1]["bytes"] == payload.encode()


@dataclasses.dataclass
class Point:
    x: int


UNSERIALIZABLE = [
    object(),
    {1, 2},
    b"bytes",
    bytearray(b"x"),
    decimal.Decimal("1.5"),
    datetime.date(2024, 1, 1),
    datetime.datetime(2024, 1, 1),
    Point(1),
    {"nested": [object()]},
    {(1, 2): "tuple key"},
    complex(1, 2),
]


@pytest.mark.parametrize("value", UNSERIALIZABLE, ids=lambda v: type(v).__name__)
@pytest.mark.parametrize("mode", ["text", "binary"])
async def test_unserializable_raises_typeerror(backend: str, value: Any, mode: str) -> None:
    ws, transport = await accepted()
    with pytest.raises(TypeError):
        await ws.send_json(value, mode=mode)
    assert transport.sent_types == ["websocket.accept"]


BAD_JSON = ["", " ", "{", "[1,]", "{'a': 1}", '{"a" 1}', "1 2", "tru", '"unterminated', "[1]]"]


@pytest.mark.parametrize("payload", BAD_JSON)
@pytest.mark.parametrize("mode", ["text", "binary"])
async def test_bad_json_raises_jsondecodeerror(backend: str, payload: str, mode: str) -> None:
    frame = text(payload) if mode == "text" else binary(payload.encode())
    ws, _ = await accepted(frame)
    with pytest.raises(json.JSONDecodeError):
        await ws.receive_json(mode=mode)


@pytest.mark.parametrize("payload", [b'"\xff"', b'{"a": "\xc3\x28"}', b"\xed\xa0\x80", b"[\x80]"])
async def test_invalid_utf8_in_binary_mode(backend: str, payload: bytes) -> None:
    ws, _ = await accepted(binary(payload))
    with pytest.raises(json.JSONDecodeError):
        await ws.receive_json(mode="binary")


async def test_utf8_bom_free_binary_with_multibyte(backend: str) -> None:
    ws, _ = await accepted(binary('["\u00e9", "\U0001f600"]'.encode()))
    assert await ws.receive_json(mode="binary") == ["é", "😀"]


async def test_iter_json_both_modes(backend: str) -> None:
    ws, _ = await accepted(binary(b"[1]"), binary(b'{"b":2}'), disconnect())
    assert [v async for v in ws.iter_json(mode="binary")] == [[1], {"b": 2}]


def test_stdlib_dumps_rejects_nan_instead_of_emitting_invalid_json() -> None:
    with pytest.raises(ValueError, match="JSON"):
        _json._std_dumps(float("nan"))


def test_stdlib_loads_error_position_for_invalid_utf8() -> None:
    with pytest.raises(json.JSONDecodeError) as caught:
        _json._std_loads(b'["ok", "\xff"]')
    assert caught.value.pos == 8
    assert "UTF-8" in caught.value.msg


BLOCK_ORJSON = textwrap.dedent(
    """
    import sys

    class BlockOrjson:
        def find_spec(self, name, path=None, target=None):
            if name == "orjson" or name.startswith("orjson."):
                raise ImportError("orjson blocked for this test")
            return None

    sys.meta_path.insert(0, BlockOrjson())
    for name in [n for n in sys.modules if n == "orjson" or n.startswith("orjson.")]:
        del sys.modules[name]
    """
)

WITHOUT_ORJSON = BLOCK_ORJSON + textwrap.dedent(
    """
    import asyncio, json
    import genro_asgi
    from genro_asgi import _json
    from genro_asgi.__main__ import report

    assert "orjson" not in sys.modules
    assert _json.BACKEND == "json", _json.BACKEND
    assert _json.dumps is _json._std_dumps and _json.loads is _json._std_loads
    assert "json      json" in report().splitlines()

    sent = []
    inbox = [{"type": "websocket.connect"},
             {"type": "websocket.receive", "bytes": b'{"b": [1, 2]}'},
             {"type": "websocket.receive", "text": "{bad"}]

    async def receive():
        return inbox.pop(0)

    async def send(message):
        sent.append(message)

    async def main():
        ws = genro_asgi.WebSocket({"type": "websocket"}, receive, send)
        await ws.accept()
        await ws.send_json({"é": [1, None]})
        assert await ws.receive_json(mode="binary") == {"b": [1, 2]}
        try:
            await ws.receive_json()
        except json.JSONDecodeError:
            pass
        else:
            raise AssertionError("bad JSON accepted")
        try:
            await ws.send_json({1, 2})
        except TypeError:
            pass
        else:
            raise AssertionError("a set was serialized")

    asyncio.run(main())
    assert sent[1] == {"type": "websocket.send", "text": '{"é":[1,null]}'}, sent
    print("stdlib-json-ok")
    """
)


def test_stdlib_backend_is_used_when_orjson_is_not_importable() -> None:
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    result = subprocess.run(
        [sys.executable, "-c", WITHOUT_ORJSON],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "stdlib-json-ok"


def test_orjson_backend_is_used_when_installed() -> None:
    pytest.importorskip("orjson", reason=NO_ORJSON)
    result = subprocess.run(
        [sys.executable, "-c", "from genro_asgi import _json; print(_json.BACKEND)"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "orjson"


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=4), children, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None)
@given(value=JSON_VALUES)
def test_both_backends_agree(value: Any) -> None:
    orjson = pytest.importorskip("orjson", reason=NO_ORJSON)
    std = _json._std_dumps(value)
    fast = _json.dumps(value)
    assert _json.BACKEND == "orjson"
    for payload in (std, fast, std.decode(), fast.decode()):
        assert _json._std_loads(payload) == value
        assert orjson.loads(payload) == value
        assert _json.loads(payload) == value
