"""The pre-call check's runtime: one asyncio loop thread and one service per app.

``media_check_service(app)`` creates them on first use (nothing runs until the
first check), configured from the app's ``STUN_URLS``, ``TURN_URLS`` and
``TURN_SECRET``. ``shutdown_media(app)`` stops them, closing every peer; it runs
for every app still running at interpreter exit, and tests call it directly.

Optional config keys (not environment settings): ``MEDIA_CHECK_TIME_LIMIT_S``
(default 60) and ``MEDIA_CHECK_MAX_PEERS`` (default 4).
"""

from __future__ import annotations

import atexit
import threading
import time
from dataclasses import dataclass

from flask import Flask

from telemed.video.aioloop import AsyncioThread
from telemed.video.ice import ice_servers, parse_url_list
from telemed.video.media_check import MediaCheckService

EXTENSION_KEY = "telemed.media_check"
DEFAULT_TIME_LIMIT_S = 60.0
DEFAULT_MAX_PEERS = 4
# The server peer's own TURN credentials never leave the server (browsers get short-lived
# ones of their own), so they only need to outlive the process in practice.
SERVER_TURN_TTL_S = 365 * 24 * 3600
SERVER_TURN_USER = "media-check"

_lock = threading.Lock()
_running: set[_Runtime] = set()
_atexit_registered = False


@dataclass(eq=False)
class _Runtime:
    thread: AsyncioThread
    service: MediaCheckService

    def stop(self) -> None:
        self.thread.stop()  # awaits service.shutdown(): every peer is closed


def time_limit_s(app: Flask) -> float:
    return float(app.config.get("MEDIA_CHECK_TIME_LIMIT_S") or DEFAULT_TIME_LIMIT_S)


def server_ice_servers(app: Flask, *, now: int | None = None) -> list[dict]:
    """The ICE servers the server-side peer uses (browser-shaped entries)."""
    config = ice_servers(
        stun_urls=parse_url_list(app.config.get("STUN_URLS")),
        turn_urls=parse_url_list(app.config.get("TURN_URLS")),
        turn_secret=app.config.get("TURN_SECRET") or None,
        user_id=SERVER_TURN_USER,
        ttl=SERVER_TURN_TTL_S,
        now=int(time.time()) if now is None else now,
    )
    return config["iceServers"]


def media_check_service(app: Flask) -> MediaCheckService:
    """The app's :class:`MediaCheckService`, started on first use (thread-safe)."""
    runtime = app.extensions.get(EXTENSION_KEY)
    if runtime is not None:
        return runtime.service
    with _lock:
        runtime = app.extensions.get(EXTENSION_KEY)
        if runtime is None:
            runtime = _start(app)
            app.extensions[EXTENSION_KEY] = runtime
            _running.add(runtime)
    return runtime.service


def _start(app: Flask) -> _Runtime:
    global _atexit_registered
    servers = server_ice_servers(app)  # config errors surface before any thread starts
    thread = AsyncioThread("telemed-media-check").start()
    try:
        service = MediaCheckService(
            thread,
            ice_servers=servers,
            time_limit_s=time_limit_s(app),
            max_peers=int(app.config.get("MEDIA_CHECK_MAX_PEERS") or DEFAULT_MAX_PEERS),
        )
    except BaseException:
        thread.stop()
        raise
    if not _atexit_registered:
        atexit.register(_shutdown_all)
        _atexit_registered = True
    return _Runtime(thread, service)


def shutdown_media(app: Flask) -> None:
    """Close every check of ``app`` and stop its loop thread (idempotent; a later check starts anew)."""
    with _lock:
        runtime = app.extensions.pop(EXTENSION_KEY, None)
        _running.discard(runtime)
    if runtime is not None:
        runtime.stop()


def _shutdown_all() -> None:
    with _lock:
        runtimes = list(_running)
        _running.clear()
    for runtime in runtimes:
        runtime.stop()
