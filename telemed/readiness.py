"""Readiness (``/readyz``): does each dependency of this process answer now?

``checks(app)`` returns ``{"database": ..., "redis": ..., "storage": ...}``, each ``"ok"`` or
``"unavailable"``; ``redis`` is ``"not configured"`` in embedded mode. Every check runs in its own
thread under one deadline, so a dependency that hangs is reported unavailable after
``DEADLINE_S`` instead of hanging the probe. The values never name a host or carry an error text.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait

from flask import Flask
from sqlalchemy import text

from telemed import redisconn
from telemed.config import redis_urls

log = logging.getLogger(__name__)

OK, UNAVAILABLE, NOT_CONFIGURED = "ok", "unavailable", "not configured"
DEADLINE_S = 3.0


def _database(app: Flask) -> bool:
    with app.extensions["telemed.db"].engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    return True


def _redis(app: Flask) -> bool:
    for url in redis_urls(app.config):
        conn = redisconn.client(url)
        try:
            if not redisconn.ping(conn):
                return False
        finally:
            conn.close()
    return True


def _storage(app: Flask) -> bool:
    return app.extensions["telemed.storage"].ping()


def _run(name: str, check: Callable[[Flask], bool], app: Flask) -> bool:
    try:
        return check(app)
    except Exception as exc:
        log.warning("readiness: %s check failed: %s", name, type(exc).__name__)
        return False


def checks(app: Flask) -> dict[str, str]:
    """Each dependency's state, checked concurrently within ``DEADLINE_S`` seconds."""
    todo: dict[str, Callable[[Flask], bool]] = {"database": _database, "storage": _storage}
    if redis_urls(app.config):
        todo["redis"] = _redis
    pool = ThreadPoolExecutor(max_workers=len(todo), thread_name_prefix="readyz")
    try:
        futures = {name: pool.submit(_run, name, check, app) for name, check in todo.items()}
        wait(futures.values(), timeout=DEADLINE_S)
    finally:
        pool.shutdown(wait=False)  # a hung check's thread ends with its own client timeout
    result = {name: OK if f.done() and f.result() else UNAVAILABLE for name, f in futures.items()}
    result.setdefault("redis", NOT_CONFIGURED)
    return {name: result[name] for name in ("database", "redis", "storage")}


def ready(states: dict[str, str]) -> bool:
    """True when no dependency is unavailable."""
    return all(state in (OK, NOT_CONFIGURED) for state in states.values())
