"""Run the suite against one implementation of the hot paths.

``--c-extensions`` (the default) requires the compiled modules; ``--no-c-extensions`` sets
``GENRO_ASGI_NO_EXTENSIONS=1`` before ``genro_asgi`` is first imported, so every test runs on
the pure-Python twins. Nothing here imports ``genro_asgi`` at module level, for that reason.
"""

from __future__ import annotations

import os

import pytest


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
