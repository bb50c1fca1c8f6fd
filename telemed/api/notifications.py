"""API: a user's notifications (the bell) and their choice of channels per kind."""

from __future__ import annotations

from flask import jsonify
from flask_babel import get_locale

from telemed.api import api, parsing
from telemed.api.contract import Body, IntParam, Raw, documented
from telemed.api.openapi_parts import array_of, json_response, ref
from telemed.auth.web import current_actor
from telemed.notifications import kinds
from telemed.notifications import service as notifications
from telemed.web import database, db_session, now, viewer_tz

_CHANNELS = {
    "type": "object",
    "properties": {channel: {"type": "boolean"} for channel in kinds.CHANNELS},
    "additionalProperties": False,
}
PREFERENCES = Body(
    "NotificationPreferencesRequest",
    tuple(Raw(kind, _CHANNELS) for kind in kinds.CHOOSABLE),
    required=False,
    closed=True,
)
LIMIT = IntParam("limit", 50, lo=1, hi=notifications.LIST_MAX)
BEFORE = IntParam("before", 0, lo=0, hi=2**31 - 1)


def reader() -> notifications.Reader:
    """The caller's language (of this request) and time zone."""
    return notifications.Reader(locale=str(get_locale()), tz=viewer_tz().key)


@api.get("/notifications")
@documented(array_of("Notification"), query=(LIMIT, BEFORE))
def list_notifications():
    """Your notifications, newest first: ``{id, kind, title, created_at, read_at, consultation_id}``
    (``title`` in your language; no diagnosis is ever in one). ``before``: only older than that id
    (the next page). The header ``X-Unread-Count`` is the bell's badge."""
    actor, s = current_actor(), db_session()
    before = BEFORE.read() or None
    items = notifications.list_for(s, actor.id, limit=LIMIT.read(), before=before)
    response = jsonify([notifications.as_json(n, reader()) for n in items])
    response.headers["X-Unread-Count"] = str(notifications.unread_count(s, actor.id))
    return response


@api.post("/notifications/<int:notification_id>/read")
@documented(json_response(ref("Notification")))
def read_notification(notification_id: int):
    """Mark one of your notifications read (again: no change); 404 for anyone else's."""
    with database().transaction() as s:
        n = notifications.mark_read(s, current_actor().id, notification_id, now=now())
        body = notifications.as_json(n, reader())
    return jsonify(body)


@api.post("/notifications/read-all")
@documented(json_response(ref("NotificationsMarked")))
def read_all_notifications():
    """Mark all your notifications read; ``{marked}``: how many were unread."""
    with database().transaction() as s:
        marked = notifications.mark_all_read(s, current_actor().id, now=now())
    return jsonify({"marked": marked})


@api.get("/notification-preferences")
@documented(json_response(ref("NotificationPreferences")))
def get_notification_preferences():
    """Your channels per kind: ``{kind: {in_app, email}}`` (all on until you choose otherwise)."""
    return jsonify(notifications.preferences(db_session(), current_actor().id))


@api.put("/notification-preferences")
@documented(json_response(ref("NotificationPreferences")), body=PREFERENCES)
def put_notification_preferences():
    """Choose channels per kind, e.g. ``{"reminder_24h": {"email": false}}``; kinds and channels
    left out keep their choice; 422 ``validation_error`` for an unknown kind or channel. E-mail
    needs an address in your profile."""
    data = parsing.json_body()  # all of it: an unknown kind is refused, not ignored
    with database().transaction() as s:
        body = notifications.set_preferences(s, current_actor().id, data)
    return jsonify(body)
