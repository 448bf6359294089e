"""The implementations the benchmarks compare, and the shared workload data.

``compiled`` is ``genro_asgi`` as installed (its hot paths must be the compiled modules).
``pure`` is a *second copy* of the same package, imported under the name ``genro_asgi_pure``
while ``GENRO_ASGI_NO_EXTENSIONS=1`` is set: the switches read that flag once, at import, so
the copy's ``WebSocket`` runs the pure-Python dispatch, ``Headers`` and ``QueryParams`` while
``genro_asgi`` keeps the compiled ones, in the same process and the same run. Nothing is
monkeypatched, and both copies are the real modules from the same source files.

``starlette`` is Starlette's ``datastructures``/``websockets``; ``raw`` is the bare ASGI calls
(the floor); ``parse_qsl`` is ``urllib.parse.parse_qsl`` into a ``dict`` (the query peer).
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from types import ModuleType
from typing import Any

import genro_asgi

IMPLS = ("compiled", "pure", "starlette", "raw", "parse_qsl")

# Messages per call in the message-loop benchmarks: one call drives LOOP_N receive+send pairs,
# so the per-call overhead of the driver is amortized; ratios are unaffected.
LOOP_N = 100


def _load_pure_copy() -> ModuleType:
    """``genro_asgi`` imported a second time, as ``genro_asgi_pure``, on the pure twins."""
    name = "genro_asgi_pure"
    if name in sys.modules:
        return sys.modules[name]
    package_dir = Path(genro_asgi.__file__).parent
    spec = importlib.util.spec_from_file_location(
        name, package_dir / "__init__.py", submodule_search_locations=[str(package_dir)]
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    saved = os.environ.get("GENRO_ASGI_NO_EXTENSIONS")
    os.environ["GENRO_ASGI_NO_EXTENSIONS"] = "1"
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        if saved is None:
            del os.environ["GENRO_ASGI_NO_EXTENSIONS"]
        else:
            os.environ["GENRO_ASGI_NO_EXTENSIONS"] = saved
    assert module.COMPILED is False
    return module


PURE = _load_pure_copy()


def compiled() -> ModuleType:
    """``genro_asgi`` itself; fails (not skips) when its hot paths are not compiled."""
    if not genro_asgi.COMPILED:
        raise RuntimeError(
            "genro_asgi is not using its compiled modules (see `python -m genro_asgi`): "
            "build them with `pip install -e .` and unset GENRO_ASGI_NO_EXTENSIONS."
        )
    return genro_asgi


def package(impl: str) -> ModuleType:
    """The genro_asgi package for ``impl`` (``compiled`` or ``pure``)."""
    return compiled() if impl == "compiled" else PURE


def drive(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run a coroutine that never suspends (in-memory transport) without an event loop."""
    try:
        coro.send(None)
    except StopIteration as done:
        return done.value
    raise RuntimeError("the coroutine suspended; the in-memory transport never should")


# -- handshake data -----------------------------------------------------------------------

#: A Chrome WebSocket handshake as uvicorn passes it: 16 entries, names lowercased.
HANDSHAKE: list[tuple[bytes, bytes]] = [
    (b"host", b"chat.example.com"),
    (b"connection", b"Upgrade"),
    (b"pragma", b"no-cache"),
    (b"cache-control", b"no-cache"),
    (
        b"user-agent",
        b"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        b"Chrome/131.0.0.0 Safari/537.36",
    ),
    (b"upgrade", b"websocket"),
    (b"origin", b"https://chat.example.com"),
    (b"sec-websocket-version", b"13"),
    (b"accept-encoding", b"gzip, deflate, br, zstd"),
    (b"accept-language", b"en-US,en;q=0.9,it;q=0.8"),
    (b"cookie", b"session=4f1c2a9e7b; theme=dark; _ga=GA1.2.1234567890.1700000000"),
    (b"sec-websocket-key", b"dGhlIHNhbXBsZSBub25jZQ=="),
    (b"sec-websocket-extensions", b"permessage-deflate; client_max_window_bits"),
    (b"sec-websocket-protocol", b"chat, superchat"),
    (b"x-forwarded-for", b"203.0.113.7"),
    (b"x-request-id", b"9b2f6c1e-3d4a-4e8b-a1c2-7f9e0d5b6a43"),
]
assert len(HANDSHAKE) == 16

QUERIES: dict[str, bytes] = {
    "query-2": b"room=lobby&token=abc123",
    "query-10": (
        b"q=hello+world&name=Jos%C3%A9&city=S%C3%A3o+Paulo&emoji=%F0%9F%98%80&empty="
        b"&flag&bad=%ZZoops&page=2&sort=-date&tag=a%2Bb"
    ),
    "query-100": b"&".join(b"key%d=value+%d%%2F%d" % (i, i, i) for i in range(100)),
}
#: The two look-ups per parsed query string: one present key, one missing.
QUERY_LOOKUPS: dict[str, tuple[str, str]] = {
    "query-2": ("token", "missing"),
    "query-10": ("city", "missing"),
    "query-100": ("key57", "missing"),
}


def make_scope() -> dict[str, Any]:
    """A websocket scope as uvicorn builds it for the handshake above."""
    return {
        "type": "websocket",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "scheme": "wss",
        "server": ("10.0.0.5", 443),
        "client": ("203.0.113.7", 51234),
        "root_path": "",
        "path": "/chat",
        "raw_path": b"/chat",
        "query_string": b"room=lobby&token=abc123",
        "headers": list(HANDSHAKE),
        "subprotocols": ["chat", "superchat"],
        "extensions": {"websocket.http.response": {}},
        "state": {},
    }


CONNECT: dict[str, Any] = {"type": "websocket.connect"}


class Transport:
    """In-memory server side: ``receive()`` returns ``self.message``; ``send()`` drops it.

    Both are plain ``async def`` that never suspend, the cheapest ASGI callables possible, so
    the measured differences are the wrappers' own cost.
    """

    __slots__ = ("message", "receive", "send")

    def __init__(self, message: dict[str, Any]) -> None:
        self.message = message
        box = self

        async def receive() -> dict[str, Any]:
            return box.message

        async def send(message: dict[str, Any]) -> None:
            return None

        self.receive: Callable[[], Coroutine[Any, Any, dict[str, Any]]] = receive
        self.send: Callable[[dict[str, Any]], Coroutine[Any, Any, None]] = send
