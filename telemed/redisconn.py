"""Redis behind ``TELEMED_REDIS_URL``: the startup check, the Socket.IO message queue, a ping.

In embedded mode (no Redis URL) nothing here runs. With one, Redis carries the Socket.IO messages
between the serving processes and Flask-Limiter's counters (``config._check_redis`` points both at
it). Nothing else is kept in Redis: presence, duty, login sessions and API tokens (with their
revocations) are database rows that every process reads.
"""

from __future__ import annotations

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
    return python_socketio.RedisManager(url, channel=CHANNEL, redis_options=options)
