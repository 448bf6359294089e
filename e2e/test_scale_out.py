"""Scale-out end to end: two uvicorn processes on two ports sharing one real redis-server.

2 x 100 clients join one topic, 100 on each server; one client on each server publishes 100
messages (200 in all, from both sides): every client gets all 200, each publisher's in order,
and presence counts the members of both processes.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from contextlib import AsyncExitStack
from pathlib import Path

import pytest
from servers import COMMANDS, Client, ServerProcess
from websockets.asyncio.client import ClientConnection

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.redis_server import RedisServer

HERE = Path(__file__).resolve().parent
CLIENTS = 100  # per server
PUBLISHES = 100  # per publishing client (one on each server)
COMMAND = tuple(p if p != "off" else "on" for p in COMMANDS["uvicorn-websockets-sansio"])


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(scope="module")
def servers(
    redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[ServerProcess]]:
    logs = tmp_path_factory.mktemp("scale-out-logs")
    env = {"GENRO_E2E_REDIS_URL": redis_server.url}
    started: list[ServerProcess] = []
    try:
        for n in (1, 2):
            process = ServerProcess(
                f"uvicorn-{n}", "scaleapp:app", app_dir=HERE, log_path=logs / f"{n}.log",
                env=env, command=COMMAND,
            )  # fmt: skip
            started.append(process.start())
        yield started
    finally:
        for process in started:
            process.stop()


async def test_two_servers_one_redis_every_client_gets_every_publish(
    servers: list[ServerProcess], tmp_path: Path
) -> None:
    clients = [Client(server, tmp_path) for server in servers]
    connections: list[ClientConnection] = []
    async with AsyncExitStack() as stack:
        for client in clients:
            for _ in range(CLIENTS):
                ws = await stack.enter_async_context(client.connect("/ws"))
                assert await asyncio.wait_for(ws.recv(), 10) == "joined"
                connections.append(ws)
        await connections[0].send("presence")
        assert await asyncio.wait_for(connections[0].recv(), 10) == f"presence:{2 * CLIENTS}"

        async def collect(ws: ClientConnection) -> list[str]:
            got: list[str] = []
            while len(got) < 2 * PUBLISHES:
                got.append(str(await asyncio.wait_for(ws.recv(), 30)))
            return got

        collecting = [asyncio.create_task(collect(ws)) for ws in connections]
        publishers = [connections[0], connections[CLIENTS]]  # one on each server

        async def publish(ws: ClientConnection, side: str) -> None:
            for n in range(PUBLISHES):
                await ws.send(f"pub:{side}{n}")

        await asyncio.gather(publish(publishers[0], "a"), publish(publishers[1], "b"))
        results = await asyncio.wait_for(asyncio.gather(*collecting), 60)
        for got in results:
            assert [m for m in got if m[0] == "a"] == [f"a{n}" for n in range(PUBLISHES)]
            assert [m for m in got if m[0] == "b"] == [f"b{n}" for n in range(PUBLISHES)]
    for server in servers:
        assert "Traceback" not in server.log()
