"""Fixtures for the end-to-end suite: one real server per parametrization, a report folder.

This folder sits outside ``testpaths``: ``pytest`` and ``pytest tests`` never start a server;
``pytest e2e`` (or ``scripts/ci-e2e``) runs this suite. ``--e2e-servers a,b`` picks servers.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from servers import COMMANDS, Client, ServerProcess

HERE = Path(__file__).resolve().parent
TEST_TIMEOUT = 120  # seconds; every test is bounded (pytest-timeout)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--e2e-servers",
        default=",".join(COMMANDS),
        help=f"comma-separated servers for the matrix (default: all of {', '.join(COMMANDS)})",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "server_name" in metafunc.fixturenames:
        names = [n for n in metafunc.config.getoption("--e2e-servers").split(",") if n]
        unknown = set(names) - set(COMMANDS)
        if unknown:
            raise pytest.UsageError(f"unknown server(s) {sorted(unknown)}; use {list(COMMANDS)}")
        metafunc.parametrize("server_name", names, scope="session")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        item.add_marker(pytest.mark.timeout(TEST_TIMEOUT))


@pytest.fixture(scope="session")
def reports(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the app writes what it saw (``GENRO_E2E_REPORTS``)."""
    return tmp_path_factory.mktemp("reports")


@pytest.fixture(scope="session")
def server(
    server_name: str, reports: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    """``e2e/wsapp.py:app`` running under ``server_name`` on a free loopback port."""
    log = tmp_path_factory.mktemp("logs") / f"{server_name}.log"
    env = {"GENRO_E2E_REPORTS": str(reports)}
    process = ServerProcess(server_name, "wsapp:app", app_dir=HERE, log_path=log, env=env)
    process.start()
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture
def client(server: ServerProcess, reports: Path) -> Client:
    return Client(server, reports)
