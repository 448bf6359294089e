"""JSON for WebSocket frames: ``orjson`` when installed, else the standard library.

Both backends give the same values and the same exception types: ``TypeError`` for data
they cannot serialize, ``json.JSONDecodeError`` for bad JSON (including invalid UTF-8 in a
binary frame). Output is compact (no spaces) and UTF-8, not ASCII-escaped. Known differences:
orjson also serializes some types the standard library rejects (``uuid.UUID``, ``enum.Enum``
members), rejects integers beyond 64 bits, and writes ``null`` for NaN and infinities, where
the standard library backend raises ``ValueError`` rather than emit invalid JSON.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Literal, TypeAlias

#: How a JSON value travels: in a text frame, or UTF-8 in a binary frame.
JsonMode: TypeAlias = Literal["text", "binary"]


def _std_dumps(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


def _std_loads(data: str | bytes) -> Any:
    if isinstance(data, str):
        return json.loads(data)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        shown = data.decode("utf-8", "replace")
        raise json.JSONDecodeError(f"Invalid UTF-8 ({exc.reason})", shown, exc.start) from None
    return json.loads(text)


dumps: Callable[[Any], bytes] = _std_dumps
loads: Callable[[str | bytes], Any] = _std_loads
BACKEND = "json"

try:
    import orjson
except ImportError:  # pragma: no cover - exercised by the no-orjson test run
    pass
else:
    _OPTIONS = (
        orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME
    )

    def _orjson_default(obj: Any) -> Any:
        if isinstance(obj, tuple):  # a namedtuple (e.g. Address): an array, as json writes it
            return list(obj)
        raise TypeError(f"Type is not JSON serializable: {type(obj).__name__}.")

    def _orjson_dumps(data: Any) -> bytes:
        return orjson.dumps(data, default=_orjson_default, option=_OPTIONS)

    dumps = _orjson_dumps
    loads = orjson.loads
    BACKEND = "orjson"
