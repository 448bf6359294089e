"""``RedisBackend``: publishes carried between processes and hosts over Redis pub/sub (SPEC 7).

Needs the ``redis`` package (``pip install genro-asgi[redis]``); ``genro_asgi`` imports this
module only when ``RedisBackend`` is first used.

Three connections to Redis per process:

- the **listener**: one pub/sub connection, subscribed to one channel per topic a local member
  joined (``{prefix}t:{topic}``), read by one task; the loss of it is a gap for every joined topic,
  after which it reconnects with bounded exponential backoff and subscribes again;
- the **publisher**: one connection on which every publish is one ``PUBLISH``, queued in publish
  order and pipelined, so a process's publishes reach Redis in the order of their sequence numbers;
- a **command** pool of 4 connections for presence (more concurrent calls wait for one,
  within ``timeout``).

Presence: for each topic, a hash ``{prefix}p:{topic}:{process id}`` (member key -> JSON ``info``)
with a TTL, and a set ``{prefix}pp:{topic}`` of the process ids that have one (an index, kept for
a day). A refresh task renews the TTLs (and rewrites the hashes if Redis lost them); a process
that dies without leaving drops out when its hashes expire.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from collections import deque
from collections.abc import Iterable
from typing import Any, Final

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from ._backend import Receiver
from ._envelope import HEADER_SIZE, EnvelopeError, decode, encode

__all__ = ["RedisBackend"]

logger = logging.getLogger("genro_asgi.hub.redis")

#: The default ``max_frame``: 1 MiB. Redis itself accepts up to 512 MB per message
#: (``proto-max-bulk-len``), but every subscriber's output buffer must hold a burst of them:
#: keep ``max_frame`` times the burst well under ``client-output-buffer-limit pubsub``.
DEFAULT_MAX_FRAME: Final = 1 << 20

_PRESENCE_CONNECTIONS: Final = 4  # the command pool's size (presence reads and writes)
_YIELD_EVERY: Final = 64  # messages read in a row before the listener yields to the loop


class _ConnectionLost(Exception):
    """The listener's connection ended (internal)."""


class RedisBackend:
    """A hub backend on Redis pub/sub: the same application on several workers and hosts.

    Args:
        url: a Redis URL (``redis://host:port/db``, ``rediss://`` for TLS, ``unix://``).
        prefix: prepended to every channel and key this backend uses.
        presence_ttl: seconds a process's presence entries live without a refresh (they are
            refreshed every third of it); a crashed process drops out of presence within it.
        timeout: seconds within which a publish, a presence read or a connection attempt
            succeeds or raises ``ConnectionError``.
        max_frame: the largest payload in bytes (UTF-8 for text) one publish may carry.
        reconnect_min, reconnect_max: the listener's reconnect backoff, doubling from the first
            to the second (seconds).
        health_interval: the listener PINGs Redis after this many idle seconds, and treats the
            connection as lost when nothing came back for twice that long.

    Raises:
        ValueError: a non-positive ``presence_ttl``, ``timeout``, ``max_frame``,
            ``health_interval`` or backoff, or ``reconnect_min > reconnect_max``.
    """

    __slots__ = (
        "_channels",
        "_confirm",
        "_down_joined",
        "_index_ttl",
        "_last",
        "_last_rx",
        "_listen_task",
        "_local_presence",
        "_loop",
        "_outbox",
        "_presence_dirty",
        "_presence_key",
        "_procs_key",
        "_pub_conn",
        "_pub_task",
        "_pub_wake",
        "_receiver",
        "_redis",
        "_refresh_task",
        "_seq",
        "_sub_conn",
        "_sub_ready",
        "_topics",
        "_write_lock",
        "health_interval",
        "max_frame",
        "prefix",
        "presence_ttl",
        "process_id",
        "publisher_id",
        "reconnect_max",
        "reconnect_min",
        "timeout",
        "url",
    )

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "genro-asgi:",
        presence_ttl: float = 15.0,
        timeout: float = 2.0,
        max_frame: int = DEFAULT_MAX_FRAME,
        reconnect_min: float = 0.05,
        reconnect_max: float = 2.0,
        health_interval: float = 5.0,
    ) -> None:
        for name, value in (
            ("presence_ttl", presence_ttl),
            ("timeout", timeout),
            ("max_frame", max_frame),
            ("reconnect_min", reconnect_min),
            ("reconnect_max", reconnect_max),
            ("health_interval", health_interval),
        ):
            if not value > 0:
                raise ValueError(f"RedisBackend's {name} must be positive, not {value!r}.")
        if reconnect_min > reconnect_max:
            raise ValueError("RedisBackend's reconnect_min must not exceed reconnect_max.")
        self.url = url
        self.prefix = prefix
        self.presence_ttl = presence_ttl
        self.timeout = timeout
        self.max_frame = max_frame
        self.reconnect_min = reconnect_min
        self.reconnect_max = reconnect_max
        self.health_interval = health_interval
        #: Random per instance: the envelope's publisher id, and this process's presence id.
        self.publisher_id = os.urandom(16)
        self.process_id = self.publisher_id.hex()
        self._receiver: Receiver | None = None
        self._redis: aioredis.Redis | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        # listener
        self._topics: set[str] = set()  # joined topics (wanted, whether subscribed yet or not)
        self._channels: dict[bytes, str] = {}  # channel -> topic, for the joined topics
        self._confirm: dict[bytes, asyncio.Future[None]] = {}
        self._down_joined: set[str] = set()  # joined while the listener was disconnected
        self._last: dict[str, dict[bytes, int]] = {}  # topic -> publisher -> last seq seen
        self._sub_conn: Any = None
        self._sub_ready = False
        self._last_rx = 0.0
        self._write_lock = asyncio.Lock()
        self._listen_task: asyncio.Task[None] | None = None
        # publisher
        self._seq: dict[str, int] = {}
        self._outbox: deque[tuple[bytes, bytes, asyncio.Future[None]]] = deque()
        self._pub_wake = asyncio.Event()
        self._pub_conn: Any = None
        self._pub_task: asyncio.Task[None] | None = None
        # presence
        self._local_presence: dict[str, dict[str, bytes]] = {}  # topic -> key -> JSON info
        self._refresh_task: asyncio.Task[None] | None = None
        self._presence_dirty: set[str] = set()  # topics whose last write did not reach Redis
        self._presence_key = f"{prefix}p:"
        self._procs_key = f"{prefix}pp:"
        # The set of a topic's process ids is only an index (liveness is each process's hash
        # and its TTL): it outlives every presence TTL, so that processes with different TTLs
        # never shorten it for each other, and goes when no process refreshed it for a day.
        self._index_ttl = _ms(max(86400.0, 10 * presence_ttl))

    def __repr__(self) -> str:
        return f"RedisBackend({self.url!r}, prefix={self.prefix!r})"

    # ---- life cycle -------------------------------------------------------------------------

    async def start(self, receiver: Receiver) -> None:
        """Connect to Redis and start the listener, publisher and presence-refresh tasks.

        Raises:
            RuntimeError: the backend is already started.
            ConnectionError: Redis cannot be reached within ``timeout``.
        """
        if self._receiver is not None:
            raise RuntimeError("This RedisBackend is already started.")
        self._loop = asyncio.get_running_loop()
        self._write_lock = asyncio.Lock()  # new ones for this event loop (a restart may use
        self._pub_wake = asyncio.Event()  # another)
        # Presence calls share a few connections: many joins at once wait for one (within
        # ``timeout``) instead of opening a connection each (or failing on the pool's limit).
        pool = aioredis.BlockingConnectionPool.from_url(
            self.url,
            max_connections=_PRESENCE_CONNECTIONS,
            timeout=self.timeout,
            socket_timeout=self.timeout,
            socket_connect_timeout=self.timeout,
            retry=Retry(NoBackoff(), 1),  # one retry on a connection Redis closed meanwhile
            health_check_interval=0,
        )
        self._redis = aioredis.Redis(connection_pool=pool)
        try:
            await self._bounded(self._redis.ping())
            conn = await self._connect_listener()
        except BaseException:
            await _close_client(self._redis)
            self._redis = None
            raise
        self._receiver = receiver
        self._sub_conn = conn
        self._sub_ready = True
        create = asyncio.create_task
        self._listen_task = create(self._listen(conn), name="genro-asgi redis listener")
        self._pub_task = create(self._publisher(), name="genro-asgi redis publisher")
        self._refresh_task = create(self._refresh(), name="genro-asgi redis presence")

    async def stop(self) -> None:
        """Stop the tasks, remove this process's presence entries (best effort), disconnect."""
        if self._receiver is None:
            return
        for task in (self._listen_task, self._pub_task, self._refresh_task):
            if task is not None:
                task.cancel()
        for task in (self._listen_task, self._pub_task, self._refresh_task):
            if task is not None:
                with contextlib.suppress(BaseException):
                    await task
        _fail(self._outbox, "The RedisBackend was stopped.")
        self._outbox.clear()
        for fut in self._confirm.values():
            if not fut.done():
                fut.set_result(None)
        self._confirm.clear()
        if self._local_presence and self._redis is not None:
            try:
                pipe = self._redis.pipeline(transaction=False)
                for topic in self._local_presence:
                    pipe.delete(self._hash_key(topic))
                    pipe.srem(self._procs_key + topic, self.process_id)
                await self._bounded(pipe.execute())
            except ConnectionError:
                logger.warning("Could not remove this process's presence from Redis on stop.")
        for conn in (self._sub_conn, self._pub_conn):
            if conn is not None:
                with contextlib.suppress(Exception):
                    await conn.disconnect()
        if self._redis is not None:
            await _close_client(self._redis)
        self._sub_conn = self._pub_conn = self._redis = None
        self._sub_ready = False
        self._receiver = None
        self._listen_task = self._pub_task = self._refresh_task = None
        self._topics.clear()
        self._channels.clear()
        self._last.clear()
        self._down_joined.clear()
        self._local_presence.clear()
        self._presence_dirty.clear()

    # ---- subscriptions ----------------------------------------------------------------------

    def _channel(self, topic: str) -> bytes:
        return f"{self.prefix}t:{topic}".encode()

    async def subscribe(self, topic: str) -> None:
        """Start receiving ``topic``'s publishes from other processes.

        Returns once Redis confirmed the subscription (so a publish made after it is received),
        or, while Redis is unreachable, at once: the listener subscribes when it reconnects and
        then reports a gap for ``topic`` (messages may have been published meanwhile).
        """
        self._require_started()
        if topic in self._topics:
            return
        channel = self._channel(topic)
        self._topics.add(topic)
        self._channels[channel] = topic
        self._last[topic] = {}
        if not self._sub_ready:
            self._down_joined.add(topic)
            return
        assert self._loop is not None
        fut = self._confirm.get(channel)
        if fut is None or fut.done():
            fut = self._confirm[channel] = self._loop.create_future()
        try:
            await self._sub_send("SUBSCRIBE", channel)
        except _ConnectionLost:
            return  # the listener reports the loss (a gap for topic) and resubscribes
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(asyncio.shield(fut), self.timeout)

    async def unsubscribe(self, topic: str) -> None:
        """Stop receiving ``topic``'s publishes."""
        self._require_started()
        if topic not in self._topics:
            return
        channel = self._channel(topic)
        self._topics.discard(topic)
        self._down_joined.discard(topic)
        self._channels.pop(channel, None)
        self._last.pop(topic, None)
        fut = self._confirm.pop(channel, None)
        if fut is not None and not fut.done():
            fut.set_result(None)
        if self._sub_ready:
            with contextlib.suppress(_ConnectionLost):
                await self._sub_send("UNSUBSCRIBE", channel)

    async def _sub_send(self, *args: Any) -> None:
        conn = self._sub_conn
        async with self._write_lock:
            if conn is None or not self._sub_ready or not conn.is_connected:
                raise _ConnectionLost
            try:
                await conn.send_packed_command(conn.pack_command(*args), check_health=False)
            except (RedisError, OSError) as exc:
                raise _ConnectionLost from exc

    # ---- the listener -----------------------------------------------------------------------

    async def _connect_listener(self) -> Any:
        assert self._redis is not None
        pool: Any = self._redis.connection_pool
        kwargs = dict(pool.connection_kwargs)
        kwargs["socket_timeout"] = None  # reads block until a message; health PINGs detect loss
        kwargs.pop("retry", None)
        # RESP2 on the listener, where pub/sub messages are plain replies (redis-py 8 speaks
        # RESP3 by default, and hands RESP3 push messages to a handler instead).
        kwargs["protocol"] = 2
        for name in ("maint_notifications_config", "maint_notifications_pool_handler"):
            kwargs.pop(name, None)  # redis-py 8's maintenance notifications need RESP3
        conn: Any = pool.connection_class(**kwargs)
        try:
            await self._bounded(conn.connect())
        except BaseException:
            with contextlib.suppress(Exception):
                await conn.disconnect()
            raise
        self._last_rx = asyncio.get_running_loop().time()
        return conn

    async def _listen(self, conn: Any) -> None:
        """Read the pub/sub connection for ever; on its loss report a gap and reconnect."""
        delay = self.reconnect_min
        while True:
            health = asyncio.create_task(self._health(conn))
            try:
                await self._resubscribe(conn)
                await self._read(conn)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                logger.warning("Lost the Redis pub/sub connection (%s); reconnecting.", exc)
            finally:
                health.cancel()
                with contextlib.suppress(BaseException):
                    await health
            self._sub_ready = False
            with contextlib.suppress(Exception):
                await conn.disconnect()
            self._connection_lost()
            while True:
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.reconnect_max)
                try:
                    conn = await self._connect_listener()
                except ConnectionError as exc:
                    logger.warning("Redis is unreachable (%s); retrying in %.2f s.", exc, delay)
                    continue
                break
            delay = self.reconnect_min
            self._sub_conn = conn
            self._sub_ready = True
            logger.info("Reconnected to Redis; subscribing %d topics again.", len(self._topics))

    def _connection_lost(self) -> None:
        for fut in self._confirm.values():
            if not fut.done():
                fut.set_result(None)
        self._confirm.clear()
        topics = list(self._topics)
        for last in self._last.values():
            last.clear()  # after reconnecting, the first message of each publisher starts again
        if topics:
            self._report_gap(topics)

    async def _resubscribe(self, conn: Any) -> None:
        """Subscribe every joined topic (on a new connection); report a gap for the topics
        joined while the connection was down."""
        channels = [self._channel(t) for t in self._topics]
        if channels:
            async with self._write_lock:
                await conn.send_packed_command(
                    conn.pack_command("SUBSCRIBE", *channels), check_health=False
                )
        down = [t for t in self._down_joined if t in self._topics]
        self._down_joined.clear()
        if down:
            self._report_gap(down)

    async def _read(self, conn: Any) -> None:
        loop = asyncio.get_running_loop()
        channels = self._channels
        in_row = 0
        while True:
            response = await conn.read_response(disable_decoding=True)
            self._last_rx = loop.time()
            if not isinstance(response, list) or len(response) < 3:
                continue
            kind = response[0]
            if kind == b"message":
                topic = channels.get(response[1])
                if topic is not None:
                    self._on_message(topic, response[2])
                in_row += 1
                if in_row >= _YIELD_EVERY:
                    in_row = 0
                    await asyncio.sleep(0)
            elif kind == b"subscribe":
                fut = self._confirm.pop(response[1], None)
                if fut is not None and not fut.done():
                    fut.set_result(None)

    def _on_message(self, topic: str, data: bytes) -> None:
        try:
            env = decode(data)
        except EnvelopeError as exc:
            logger.warning("Skipped a message on topic %r that is not an envelope: %s", topic, exc)
            return
        if env.publisher == self.publisher_id:
            return  # the hub delivered it locally already
        last = self._last.get(topic)
        if last is None:
            return
        previous = last.get(env.publisher)
        if previous is not None and env.seq <= previous:
            # Sent again by a publisher that retried on a new connection (see _publisher).
            logger.debug(
                "Skipped a repeat of %r's message %d on %r.", env.publisher, env.seq, topic
            )
            return
        last[env.publisher] = env.seq
        if previous is not None and env.seq != previous + 1:
            self._report_gap([topic])
        receiver = self._receiver
        if receiver is None:
            return
        try:
            receiver.deliver(topic, env.kind, env.payload)
        except Exception:
            logger.exception("The hub's deliver() raised for topic %r; listening goes on.", topic)

    def _report_gap(self, topics: list[str]) -> None:
        receiver = self._receiver
        if receiver is None:
            return
        try:
            receiver.gap(topics)
        except Exception:
            logger.exception("The hub's gap() raised; the listener goes on.")

    async def _health(self, conn: Any) -> None:
        """PING an idle listener connection; disconnect it when Redis stops answering."""
        loop = asyncio.get_running_loop()
        interval = self.health_interval
        while True:
            await asyncio.sleep(interval / 2)
            idle = loop.time() - self._last_rx
            if idle > 2 * interval:
                logger.warning("Redis did not answer for %.1f s; dropping the connection.", idle)
                with contextlib.suppress(Exception):
                    await conn.disconnect()
                return
            if idle > interval:
                with contextlib.suppress(_ConnectionLost):
                    await self._sub_send("PING")

    # ---- publishing -------------------------------------------------------------------------

    async def publish(self, topic: str, kind: int, payload: str | bytes) -> None:
        """Carry one frame to the other processes' members of ``topic``: one ``PUBLISH``.

        Raises:
            ValueError: the payload is larger than ``max_frame`` bytes, or ``kind`` is unknown.
            RuntimeError: the backend is not started.
            ConnectionError: Redis did not confirm the publish within ``timeout``.
        """
        self._require_started()
        seq = self._seq.get(topic, 0) + 1
        data = encode(kind, self.publisher_id, seq, payload)
        if len(data) - HEADER_SIZE > self.max_frame:
            raise ValueError(
                f"A frame of {len(data) - HEADER_SIZE} bytes is larger than this backend's "
                f"max_frame ({self.max_frame} bytes)."
            )
        self._seq[topic] = seq
        loop = self._loop
        assert loop is not None
        fut: asyncio.Future[None] = loop.create_future()
        item = (self._channel(topic), data, fut)
        self._outbox.append(item)
        self._pub_wake.set()
        timer = loop.call_later(self.timeout, self._expire, item)
        try:
            await fut
        finally:
            timer.cancel()

    def _expire(self, item: tuple[bytes, bytes, asyncio.Future[None]]) -> None:
        """A publish Redis did not confirm within ``timeout``: not sent yet, it never will be;
        already sent, Redis may or may not have it (receivers then see the next sequence number
        jump: a gap)."""
        fut = item[2]
        if fut.done():
            return
        with contextlib.suppress(ValueError):
            self._outbox.remove(item)
        fut.set_exception(
            ConnectionError(f"Redis did not confirm the publish within {self.timeout} s.")
        )

    async def _publisher(self) -> None:
        """Send the queued publishes in order, pipelined on one connection.

        A batch that fails on a connection used before (Redis restarted, or closed it while
        idle) is sent once more, on a new connection, before its publishes fail: a stale
        connection is found only by using it. What Redis may have taken from the first try is
        sent again with the same sequence numbers, and receivers skip such repeats.
        """
        assert self._redis is not None
        pool: Any = self._redis.connection_pool
        while True:
            await self._pub_wake.wait()
            self._pub_wake.clear()
            while self._outbox:
                batch = list(self._outbox)
                self._outbox.clear()
                retry = True
                while batch:
                    used_before = self._pub_conn is not None
                    try:
                        await self._send_batch(pool, batch)
                        break
                    except asyncio.CancelledError:
                        _fail(batch, "The RedisBackend was stopped.")
                        raise
                    except Exception as exc:
                        conn, self._pub_conn = self._pub_conn, None
                        if conn is not None:
                            with contextlib.suppress(Exception):
                                await conn.disconnect()
                        # Not yet confirmed and not expired (expired ones raised already).
                        batch = [item for item in batch if not item[2].done()]
                        if retry and used_before and _broken(exc):
                            retry = False
                            logger.info("Publishing again on a new Redis connection (%s).", exc)
                            continue
                        _fail(batch, f"Could not publish to Redis: {exc}")
                        break

    async def _send_batch(
        self, pool: Any, batch: list[tuple[bytes, bytes, asyncio.Future[None]]]
    ) -> None:
        """PUBLISH every item of ``batch`` in one write; resolve each future on its reply."""
        if self._pub_conn is None:
            self._pub_conn = pool.make_connection()
        conn = self._pub_conn
        commands = [("PUBLISH", channel, data) for channel, data, _ in batch]
        await conn.send_packed_command(conn.pack_commands(commands), check_health=False)
        for _, _, fut in batch:
            await conn.read_response(disable_decoding=True)
            if not fut.done():
                fut.set_result(None)

    # ---- presence ---------------------------------------------------------------------------

    def _hash_key(self, topic: str) -> str:
        return f"{self._presence_key}{topic}:{self.process_id}"

    async def add_presence(self, topic: str, key: str, info: dict[str, Any]) -> None:
        """Record a local member's ``info`` (JSON-serialisable) in ``topic``'s presence.

        The entry is kept locally too: if Redis is unreachable it is written when the refresh
        task reaches Redis again (a warning is logged), so a join never fails on presence.

        Raises:
            TypeError: ``info`` is not JSON-serialisable.
        """
        self._require_started()
        value = json.dumps(info, separators=(",", ":")).encode()
        self._local_presence.setdefault(topic, {})[key] = value
        assert self._redis is not None
        ttl = _ms(self.presence_ttl)
        pipe = self._redis.pipeline(transaction=False)
        pipe.hset(self._hash_key(topic), key, value)
        pipe.pexpire(self._hash_key(topic), ttl)
        pipe.sadd(self._procs_key + topic, self.process_id)
        pipe.pexpire(self._procs_key + topic, self._index_ttl)
        try:
            await self._bounded(pipe.execute())
        except ConnectionError as exc:
            self._presence_dirty.add(topic)
            logger.warning("Presence of %r not written to Redis yet: %s", topic, exc)

    async def remove_presence(self, topic: str, key: str) -> None:
        """Remove a local member from ``topic``'s presence (best effort, as ``add_presence``)."""
        self._require_started()
        entries = self._local_presence.get(topic)
        if entries is None or entries.pop(key, None) is None:
            return
        assert self._redis is not None
        pipe = self._redis.pipeline(transaction=False)
        pipe.hdel(self._hash_key(topic), key)
        if not entries:
            del self._local_presence[topic]
            pipe.srem(self._procs_key + topic, self.process_id)
        try:
            await self._bounded(pipe.execute())
        except ConnectionError as exc:
            self._presence_dirty.add(topic)
            logger.warning("Presence of %r not removed from Redis yet: %s", topic, exc)

    async def presence(self, topic: str) -> list[dict[str, Any]]:
        """The ``info`` of every member of ``topic`` in every live process (in no set order).

        Raises:
            ConnectionError: Redis could not be read within ``timeout``.
        """
        self._require_started()
        assert self._redis is not None
        procs_key = self._procs_key + topic
        procs = await self._bounded(self._redis.smembers(procs_key))
        if not procs:
            return []
        names = sorted(p.decode() if isinstance(p, bytes) else p for p in procs)
        pipe = self._redis.pipeline(transaction=False)
        for name in names:
            pipe.hgetall(f"{self._presence_key}{topic}:{name}")
        hashes = await self._bounded(pipe.execute())
        result: list[dict[str, Any]] = []
        dead = []
        for name, entries in zip(names, hashes, strict=True):
            if not entries:
                dead.append(name)
                continue
            for value in entries.values():
                try:
                    info = json.loads(value)
                except ValueError:
                    logger.warning("Skipped a presence entry of %r that is not JSON.", topic)
                    continue
                if isinstance(info, dict):
                    result.append(info)
        if dead:  # processes whose entries expired: forget them
            with contextlib.suppress(ConnectionError):
                await self._bounded(self._redis.srem(procs_key, *dead))
        return result

    async def _refresh(self) -> None:
        """Renew this process's presence TTLs; rewrite the entries Redis lost, and the topics
        whose last presence write did not reach Redis."""
        while True:
            await asyncio.sleep(self.presence_ttl / 3)
            if self._redis is None:
                continue
            try:
                await self._refresh_once()
            except ConnectionError as exc:
                logger.warning("Could not refresh presence in Redis: %s", exc)

    async def _refresh_once(self) -> None:
        assert self._redis is not None
        ttl = _ms(self.presence_ttl)
        topics = [t for t in self._local_presence if t not in self._presence_dirty]
        rewrite = set(self._presence_dirty)
        if topics:
            pipe = self._redis.pipeline(transaction=False)
            for topic in topics:
                pipe.pexpire(self._hash_key(topic), ttl)
                pipe.sadd(self._procs_key + topic, self.process_id)
                pipe.pexpire(self._procs_key + topic, self._index_ttl)
            results = await self._bounded(pipe.execute())
            rewrite.update(t for t, ok in zip(topics, results[::3], strict=True) if not ok)
        if not rewrite:
            return
        pipe = self._redis.pipeline(transaction=False)
        for topic in rewrite:  # this process's whole entry for the topic, as it is locally
            key = self._hash_key(topic)
            pipe.delete(key)
            entries: dict[Any, Any] | None = self._local_presence.get(topic)
            if entries:
                pipe.hset(key, mapping=entries)
                pipe.pexpire(key, ttl)
                pipe.sadd(self._procs_key + topic, self.process_id)
                pipe.pexpire(self._procs_key + topic, self._index_ttl)
            else:
                pipe.srem(self._procs_key + topic, self.process_id)
        self._presence_dirty.difference_update(rewrite)
        try:
            await self._bounded(pipe.execute())
        except ConnectionError:
            self._presence_dirty.update(rewrite)
            raise

    # ---- helpers ----------------------------------------------------------------------------

    def _require_started(self) -> None:
        if self._receiver is None:
            raise RuntimeError("The RedisBackend is not started: call start() first.")

    async def _bounded(self, awaitable: Any) -> Any:
        """Await a Redis call for at most ``timeout`` seconds; every failure to reach Redis is
        the built-in ``ConnectionError``."""
        try:
            return await asyncio.wait_for(awaitable, self.timeout)
        except asyncio.TimeoutError:
            raise ConnectionError(f"Redis did not answer within {self.timeout} s.") from None
        except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
            if isinstance(exc, ConnectionError):
                raise
            raise ConnectionError(f"Redis is unreachable: {exc}") from exc


def _fail(batch: Iterable[tuple[bytes, bytes, asyncio.Future[None]]], message: str) -> None:
    """Fail every publish of ``batch`` not yet done, each with a ``ConnectionError`` of its own
    (one instance raised in several tasks would gather their tracebacks)."""
    for _, _, fut in batch:
        if not fut.done():
            fut.set_exception(ConnectionError(message))


def _broken(exc: BaseException) -> bool:
    """The connection broke (reset, closed by Redis), as opposed to Redis not answering in
    time or refusing the command."""
    if isinstance(exc, RedisTimeoutError):
        return False
    return isinstance(exc, (RedisConnectionError, ConnectionError))


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))


async def _close_client(client: aioredis.Redis) -> None:
    close = getattr(client, "aclose", None) or client.close  # aclose() is redis-py >= 5.0.1
    with contextlib.suppress(Exception):
        await close()
    with contextlib.suppress(Exception):  # a pool given to Redis() is not closed by it
        await client.connection_pool.disconnect()
