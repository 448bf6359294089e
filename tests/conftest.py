"""Run the suite against one implementation of the hot paths, and test both twins directly.

``--c-extensions`` (the default) requires the compiled modules; ``--no-c-extensions`` sets
``GENRO_ASGI_NO_EXTENSIONS=1`` before ``genro_asgi`` is first imported, so every test that goes
through the public API runs on the pure-Python twins. Nothing here imports ``genro_asgi`` at
module level, for that reason.

Fixtures (the multidict/propcache pattern):

- ``implementation``: an ``Implementation``, parametrized ``c-extension`` / ``pure-python``;
- ``headers_module``, ``query_module``, ``dispatch_module``, ``fanout_module``: that
  implementation's module for one hot path (``genro_asgi._headers_c`` or
  ``genro_asgi._headers_py``, ...);
- ``headers_pair``, ``query_pair``, ``dispatch_pair``, ``fanout_pair``: a ``ModulePair``
  (``pure``, ``compiled``) for differential tests.

Every test that touches a compiled module carries the ``c_extension`` marker (the fixtures add
it): under ``--c-extensions`` it FAILS when the module is missing (ImportError, never a skip);
under ``--no-c-extensions`` it is deselected.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from types import ModuleType

import pytest

from .redis_server import RedisServer

HOT_PATHS = ("headers", "query", "dispatch", "fanout")


@dataclass(frozen=True)
class Implementation:
    """One implementation of the hot paths: the compiled modules or the pure-Python twins."""

    is_pure_python: bool

    @property
    def tag(self) -> str:
        """The test id: ``pure-python`` or ``c-extension``."""
        return "pure-python" if self.is_pure_python else "c-extension"

    def module(self, hot_path: str) -> ModuleType:
        """This implementation's module for ``hot_path`` (ImportError if it is not built)."""
        suffix = "py" if self.is_pure_python else "c"
        return importlib.import_module(f"genro_asgi._{hot_path}_{suffix}")


PURE = Implementation(is_pure_python=True)
COMPILED = Implementation(is_pure_python=False)


@dataclass(frozen=True)
class ModulePair:
    """Both implementations of one hot path, for differential tests."""

    pure: ModuleType
    compiled: ModuleType


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("genro-asgi")
    group.addoption(
        "--c-extensions",
        action="store_true",
        default=True,
        dest="c_extensions",
        help="run against the compiled hot-path modules (default); fail if they are missing",
    )
    group.addoption(
        "--no-c-extensions",
        action="store_false",
        dest="c_extensions",
        help="run against the pure-Python twins (sets GENRO_ASGI_NO_EXTENSIONS=1)",
    )


def pytest_configure(config: pytest.Config) -> None:
    if not config.getoption("c_extensions"):
        os.environ["GENRO_ASGI_NO_EXTENSIONS"] = "1"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under ``--no-c-extensions``, deselect every test marked ``c_extension``."""
    if config.getoption("c_extensions"):
        return
    kept, dropped = [], []
    for item in items:
        (dropped if item.get_closest_marker("c_extension") else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.fixture(
    scope="session",
    params=[
        pytest.param(COMPILED, id=COMPILED.tag, marks=pytest.mark.c_extension),
        pytest.param(PURE, id=PURE.tag),
    ],
)
def implementation(request: pytest.FixtureRequest) -> Implementation:
    """Each implementation in turn (the compiled one only under ``--c-extensions``)."""
    impl: Implementation = request.param
    return impl


@pytest.fixture(scope="session")
def headers_module(implementation: Implementation) -> ModuleType:
    return implementation.module("headers")


@pytest.fixture(scope="session")
def query_module(implementation: Implementation) -> ModuleType:
    return implementation.module("query")


@pytest.fixture(scope="session")
def dispatch_module(implementation: Implementation) -> ModuleType:
    return implementation.module("dispatch")


@pytest.fixture(scope="session")
def fanout_module(implementation: Implementation) -> ModuleType:
    return implementation.module("fanout")


@pytest.fixture
def hub_fanout(fanout_module: ModuleType, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """The hub on the implementation under test: its fan-out names, from that module."""
    from genro_asgi import hub

    for name in HUB_FANOUT_NAMES:
        monkeypatch.setattr(hub, name, getattr(fanout_module, name))
    return fanout_module


#: What ``genro_asgi.hub`` takes from the fan-out hot path.
HUB_FANOUT_NAMES = ("Drain", "Outbox", "fanout")

_PAIR = [pytest.param("pair", id="pure-vs-compiled", marks=pytest.mark.c_extension)]


def _pair(hot_path: str) -> ModulePair:
    return ModulePair(pure=PURE.module(hot_path), compiled=COMPILED.module(hot_path))


@pytest.fixture(scope="session", params=_PAIR)
def headers_pair() -> ModulePair:
    return _pair("headers")


@pytest.fixture(scope="session", params=_PAIR)
def query_pair() -> ModulePair:
    return _pair("query")


@pytest.fixture(scope="session", params=_PAIR)
def dispatch_pair() -> ModulePair:
    return _pair("dispatch")


@pytest.fixture(scope="session", params=_PAIR)
def fanout_pair() -> ModulePair:
    return _pair("fanout")


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    """A real ``redis-server`` of this test's own on a free 127.0.0.1 port, stopped after it."""
    server = RedisServer()
    server.start()
    try:
        yield server
    finally:
        server.close()
