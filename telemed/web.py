"""Helpers shared by pages, the JSON API and socket events (the web layer only)."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app, g, request
from flask_login import current_user
from sqlalchemy.orm import Session
from werkzeug.routing import BaseConverter

from telemed import inputs
from telemed.db import Database, utcnow

log = logging.getLogger(__name__)


def database() -> Database:
    return current_app.extensions["telemed.db"]


def db_session() -> Session:
    """The request's read session, closed at teardown."""
    if "db_session" not in g:
        g.db_session = database().session()
    return g.db_session


def close_db_session(_exc=None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()


def now() -> datetime:
    return utcnow()


def deliver_outbox() -> None:
    """Send what the request's transaction just wrote to the outbox (``notify.relay``). A failure
    does not undo the request's success: the background relay sends it within half a second."""
    try:
        current_app.extensions["telemed.relay"].deliver()
    except Exception:
        log.exception("sending the outbox after a commit failed")


def clinic_tz() -> ZoneInfo:
    return ZoneInfo(current_app.config["CLINIC_TIMEZONE"])


def safe_zone(name: str | None) -> ZoneInfo | None:
    if not name or len(name) > 64:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def viewer_tz() -> ZoneInfo:
    """The viewer's time zone: profile setting, then the browser's (cookie ``tz``), then the clinic's."""
    if current_user.is_authenticated and current_user.timezone:
        zone = safe_zone(current_user.timezone)
        if zone:
            return zone
    return safe_zone(request.cookies.get("tz")) or clinic_tz()


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.path in ("/healthz", "/readyz")


def limit_body_size() -> None:
    """Before every request: a body that is not a multipart upload (uploads stream to storage under
    their own limit) may be at most ``TELEMED_MAX_JSON_KB``. A larger declared length is answered
    413 at once; of a body without one Werkzeug reads at most one byte past the limit, which
    ``api.parsing.json_body`` answers 413."""
    if request.mimetype != "multipart/form-data":
        request.max_content_length = body_limit() + 1


def body_limit() -> int:
    """The largest request body that is not an upload, in bytes (``TELEMED_MAX_JSON_KB``)."""
    return int(current_app.config["MAX_JSON_KB"]) * 1024


class IdConverter(BaseConverter):
    """``<int:...>`` in every route: a run of at most 30 digits. A number beyond the database's id
    columns becomes ``inputs.NO_ROW``, which names no row, so it is answered 404 like any unknown id
    (refusing it in the converter would make Werkzeug answer 405 when another method's rule matches)."""

    regex = r"\d{1,30}"
    part_isolating = True
    weight = 50

    def to_python(self, value: str) -> int:
        return inputs.known_id(int(value))

    def to_url(self, value: Any) -> str:
        return str(int(value))
