"""Helpers of the operations tests: the access log's lines and the metrics of a scrape."""

from __future__ import annotations

import json
import logging
import threading
import time

import pytest
from prometheus_client.parser import text_string_to_metric_families

METRICS_TOKEN = "metrics-token-for-the-tests-0123456789"


class AccessLines(logging.Handler):
    """Collects the ``telemed.access`` logger's lines (raw and parsed)."""

    def __init__(self) -> None:
        super().__init__()
        self.raw: list[str] = []
        self._cond = threading.Condition()

    def emit(self, record: logging.LogRecord) -> None:
        with self._cond:
            self.raw.append(record.getMessage())
            self._cond.notify_all()

    def parsed(self) -> list[dict]:
        with self._cond:
            return [json.loads(line) for line in self.raw]

    def wait_for(self, match, timeout: float = 10) -> dict:
        """The first line for which ``match(line)`` holds (lines come when a response is closed)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for line in self.raw:
                    if match(json.loads(line)):
                        return json.loads(line)
                left = deadline - time.monotonic()
                assert left > 0, f"no such access line among {self.raw}"
                self._cond.wait(left)


@pytest.fixture
def access_lines():
    handler = AccessLines()
    logger = logging.getLogger("telemed.access")
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


def sample(text: str, name: str, **labels: str) -> float:
    """The value of the sample ``name`` with ``labels`` (at least those) in a scrape; 0 when absent."""
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return s.value
    return 0.0


def scrape(client) -> str:
    """``GET /metrics`` with the token, through a Flask test client or a requests session."""
    r = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert r.status_code == 200
    text = r.text
    r.close()
    return text
