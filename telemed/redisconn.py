"""Redis behind ``TELEMED_REDIS_URL``: the startup check, the Socket.IO message queue, a ping.

In embedded mode (no Redis URL) nothing here runs. With one, Redis carries the Socket.IO messages
between the serving processes and Flask-Limiter's counters (``config._check_redis`` points both at
it). Nothing else is kept in Redis: presence, duty, login sessions and API tokens (with their
revocations) are database rows that every process reads.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import redis
import socketio as python_socketio

from telemed.config import REDIS_URL_KEYS, ConfigError, redis_urls

# Socket.IO's channel on Redis (Flask-SocketIO's default name, kept so mixed versions interoperate).
CHANNEL = "flask-socketio"
PING_TIMEOUT_S = 2.0


def shown(url: str) -> str:
    """``url`` without its password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username or ''}:***@{f'[{host}]' if ':' in host else host}"
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc))


def client(url: str, *, timeout: float = PING_TIMEOUT_S) -> redis.Redis:
    """A client whose connect and each command give up after ``timeout`` seconds."""
    return redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)


def ping(conn: redis.Redis) -> bool:
    """True when Redis answers PING; never raises."""
    try:
        return bool(conn.ping())
    except (redis.RedisError, OSError):
        return False


def require_reachable(cfg: dict[str, object]) -> None:
    """Raise :class:`ConfigError` unless every Redis the settings name answers PING."""
    for url in redis_urls(cfg):
        conn = client(url)
        try:
            if not ping(conn):
                key = next(k for k in REDIS_URL_KEYS if cfg.get(k) == url)  # REDIS_URL first
                raise ConfigError(
                    f"Redis at {shown(url)} does not answer (TELEMED_{key}); start it or correct the setting"
                )
        finally:
            conn.close()


class BatchingRedisManager(python_socketio.RedisManager):
    """python-socketio's Redis client manager, plus ``batch()``: the emits made in this thread
    inside it reach this process's clients at once, as ever, and go to the other processes in one
    Redis round trip (a pipeline of the same PUBLISH commands) when the block ends.

    The chat writer broadcasts a stored batch this way: without it, each message of the batch
    would wait for its own PUBLISH before the next one is sent (``bench/bench_scale.py``).
    """

    connected: bool  # python-socketio's: the publishing connection is up

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._batches = threading.local()

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Collect this thread's publications until the block ends, then publish them together.
        Nested blocks join the outer one."""
        if getattr(self._batches, "messages", None) is not None:
            yield
            return
        self._batches.messages = []
        try:
            yield
        finally:
            messages, self._batches.messages = self._batches.messages, None
            if messages:
                self._publish_all(messages)

    def _publish(self, data: Any) -> Any:
        messages = getattr(self._batches, "messages", None)
        if messages is None:
            return super()._publish(data)
        messages.append(data)
        return None

    def _publish_all(self, messages: list[Any]) -> None:
        """PUBLISH each message, in order, in one pipeline; on failure reconnect and try once more,
        then log and give up, as a single publication does (the rooms catch up through history)."""
        payloads = [self.json.dumps(m) for m in messages]
        for retries_left in (1, 0):
            try:
                if not self.connected:
                    self._redis_connect()
                pipe = self.redis.pipeline(transaction=False)
                for payload in payloads:
                    pipe.publish(self.channel, payload)
                pipe.execute()
                return
            except Exception as exc:
                self.connected = False
                self._get_logger().error(
                    "Cannot publish %d messages to redis... %s",
                    len(payloads),
                    "retrying" if retries_left else "giving up",
                    extra={"redis_exception": str(exc)},
                )


def batched_emits(manager: object) -> Any:
    """A context in which ``manager``'s emits are published together (``BatchingRedisManager.batch``),
    or one that changes nothing for a manager of this process only."""
    return manager.batch() if isinstance(manager, BatchingRedisManager) else nullcontext()


def message_queue(url: str | None) -> python_socketio.RedisManager | None:
    """The Socket.IO client manager that passes emits through Redis to every process, or None
    (this process's clients only). Its connection waits at most 5 s to connect, never to read:
    its listener blocks on the subscription."""
    if not url:
        return None
    options: dict[str, object] = {"socket_connect_timeout": 5}
    if (
        urlsplit(url).scheme != "unix"
    ):  # TCP keepalive: a vanished peer is noticed (no such option on a Unix socket)
        options["socket_keepalive"] = True
    return BatchingRedisManager(url, channel=CHANNEL, redis_options=options)
