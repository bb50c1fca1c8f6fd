"""Prometheus metrics of one serving process.

The counters, gauges and the histogram below belong to the process (no multiprocess mode: every
``telemed serve`` process is scraped on its own). Each app gets its own ``CollectorRegistry``
(``registry(app)``) holding them, the process's own (CPU, memory, GC) and the urgent queue's
gauges, which ``QueueCollector`` reads from the app's database on every scrape.

Labels never hold raw paths, ids or user data: requests are labelled by the Flask endpoint name.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from datetime import UTC, datetime

from flask import Flask
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

from telemed.catalog.specialties import URGENT_CODES
from telemed.chat.writer import messages_stored
from telemed.db import Database
from telemed.sockets import connected, disconnected
from telemed.urgent import queue

log = logging.getLogger(__name__)
REGISTRY_KEY = "telemed.metrics"
disable_created_metrics()  # no ``*_created`` series: they double the output and say little

REQUEST_SECONDS = Histogram(
    "telemed_http_request_duration_seconds",
    "HTTP request latency, to the last byte sent, by Flask endpoint, method and status class",
    ["endpoint", "method", "status"],
    registry=None,
)
CHAT_MESSAGES = Counter(
    "telemed_chat_messages_stored", "Chat messages stored (committed) by this process", registry=None
)
STORAGE_ERRORS = Counter(
    "telemed_storage_errors",
    "Object storage failures (unavailable backend, checksum mismatch) by operation",
    ["operation", "kind"],
    registry=None,
)
SOCKETIO_CONNECTIONS = Gauge(
    "telemed_socketio_connections", "Socket.IO connections accepted and still open", registry=None
)
PROCESS_METRICS = (REQUEST_SECONDS, CHAT_MESSAGES, STORAGE_ERRORS, SOCKETIO_CONNECTIONS)

_open_sids: set[str] = set()
_sids_lock = threading.Lock()


@connected.connect
def _socket_opened(_actor, sid: str, **_kw) -> None:
    with _sids_lock:
        _open_sids.add(sid)
        SOCKETIO_CONNECTIONS.set(len(_open_sids))


@disconnected.connect
def _socket_closed(sid: str, **_kw) -> None:
    with _sids_lock:
        _open_sids.discard(sid)
        SOCKETIO_CONNECTIONS.set(len(_open_sids))


@messages_stored.connect
def _messages_stored(_writer, count: int, **_kw) -> None:
    CHAT_MESSAGES.inc(count)


def status_class(status: int) -> str:
    """``200`` -> ``"2xx"``."""
    return f"{status // 100}xx"


class QueueCollector(Collector):
    """The urgent queue per specialty, read on scrape: ``telemed_urgent_queue_length`` and
    ``telemed_urgent_oldest_wait_seconds`` (0 when nobody waits). One grouped query; when the
    database cannot answer, the two gauges are left out of the scrape."""

    def __init__(self, db: Database):
        self.db = db

    @staticmethod
    def _families() -> tuple[GaugeMetricFamily, GaugeMetricFamily]:
        length = GaugeMetricFamily(
            "telemed_urgent_queue_length", "Urgent requests waiting, by specialty", labels=["specialty"]
        )
        wait = GaugeMetricFamily(
            "telemed_urgent_oldest_wait_seconds",
            "How long the oldest waiting urgent request has waited, by specialty",
            labels=["specialty"],
        )
        return length, wait

    def describe(self) -> Iterator[Metric]:
        """The gauges' names, without reading the database (the registry asks at registration,
        when the schema may not exist yet)."""
        yield from self._families()

    def collect(self) -> Iterator[Metric]:
        length, wait = self._families()
        try:
            with self.db.session() as s:
                rows = {row.specialty: row for row in queue.lengths(s)}
        except Exception as exc:
            log.warning("metrics: the urgent queue could not be read: %s", type(exc).__name__)
            return
        now = datetime.now(UTC)
        for code in sorted(set(URGENT_CODES) | set(rows)):
            row = rows.get(code)
            length.add_metric([code], row.waiting if row else 0)
            wait.add_metric([code], max(0.0, (now - row.oldest_since).total_seconds()) if row else 0.0)
        yield length
        yield wait


def init_app(app: Flask) -> None:
    """Give ``app`` its registry: the process's metrics and the queue of its database."""
    registry = CollectorRegistry(auto_describe=True)
    for metric in PROCESS_METRICS:
        registry.register(metric)
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    registry.register(QueueCollector(app.extensions["telemed.db"]))
    app.extensions[REGISTRY_KEY] = registry


def registry(app: Flask) -> CollectorRegistry:
    return app.extensions[REGISTRY_KEY]
