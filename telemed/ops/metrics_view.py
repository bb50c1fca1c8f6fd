"""``GET /metrics``: the process's Prometheus metrics, for the holder of ``METRICS_TOKEN`` only.

It answers only when ``TELEMED_METRICS_TOKEN`` is set and the request carries
``Authorization: Bearer <that token>`` (compared in constant time); any other request gets the
same 404 as an unknown page, so the endpoint is not advertised. No login, CSRF or rate limit
applies; it is not part of the ``/api/v1`` OpenAPI document.
"""

from __future__ import annotations

import hmac

from flask import Flask, Response, abort, current_app, request
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from telemed.extensions import limiter
from telemed.ops.metrics import registry


def authorized(token: object, header: str | None) -> bool:
    """Whether ``header`` is ``Bearer <token>``; False when no token is configured."""
    if not isinstance(token, str) or not token or not header:
        return False
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode(), token.encode())


@limiter.exempt
def metrics():
    """The metrics in Prometheus' text format; 404 without the right bearer token."""
    # The token is not an API token: have the request's user be anonymous without asking the
    # database (Flask-Login would look the token up), so a scrape works while the database is down.
    current_app.login_manager._update_request_context_with_user()  # type: ignore[attr-defined]
    if not authorized(current_app.config["METRICS_TOKEN"], request.headers.get("Authorization")):
        abort(404)
    response = Response(generate_latest(registry(current_app)), content_type=CONTENT_TYPE_LATEST)
    response.headers["Cache-Control"] = "no-store"
    return response


def init_app(app: Flask) -> None:
    app.add_url_rule("/metrics", "metrics", metrics, methods=["GET"])
