"""Pages: the notifications list with the choice of channels, and the bell's count in the header."""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from telemed.auth.web import current_actor
from telemed.notifications import kinds
from telemed.notifications import service as notifications
from telemed.web import database, db_session, now, viewer_tz

bp = Blueprint("notifications", __name__)


def _reader() -> notifications.Reader:
    return notifications.Reader(locale=str(get_locale()), tz=viewer_tz().key)


def unread_count() -> int:
    """The logged-in user's unread notifications (the bell's badge; once per request)."""
    if not current_user.is_authenticated:
        return 0
    if "unread_notifications" not in g:
        g.unread_notifications = notifications.unread_count(db_session(), current_actor().id)
    return int(g.unread_notifications)


def _register(state) -> None:
    state.app.jinja_env.globals["unread_notifications"] = unread_count


bp.record_once(_register)


@bp.get("/notifications")
def page():
    """Your notifications, newest first, and which kinds come in the app and by e-mail."""
    actor, s = current_actor(), db_session()
    reader = _reader()
    before = request.args.get("before", type=int)
    items = notifications.list_for(s, actor.id, limit=50, before=before)
    shown = [{**notifications.as_json(n, reader), "at": n.created_at} for n in items]
    return render_template(
        "notifications/list.html",
        items=shown,
        more=shown[-1]["id"] if len(shown) == 50 else None,
        preferences=notifications.preferences(s, actor.id),
        labels={k: kinds.label(k, reader.locale) for k in kinds.CHOOSABLE},
        has_email=bool(getattr(current_user, "email", None)),
    )


@bp.post("/notifications/read-all")
def read_all():
    """Mark everything read; back to the list."""
    with database().transaction() as s:
        notifications.mark_all_read(s, current_actor().id, now=now())
    return redirect(url_for(".page"))


@bp.post("/notifications/<int:notification_id>/open")
def open_one(notification_id: int):
    """Mark one read and go where it points (its consultation, else the list)."""
    with database().transaction() as s:
        n = notifications.mark_read(s, current_actor().id, notification_id, now=now())
        target = n.consultation_id, (n.params or {}).get("path")
    if isinstance(target[1], str) and target[1].startswith("/") and not target[1].startswith("//"):
        return redirect(target[1])
    if target[0]:
        return redirect(url_for("scheduling.consultation", consultation_id=target[0]))
    return redirect(url_for(".page"))


@bp.post("/notifications/preferences")
def save_preferences():
    """The channels form: a checkbox per kind and channel (unchecked: off)."""
    chosen = set(request.form.getlist("on"))
    data = {k: {c: f"{k}:{c}" in chosen for c in kinds.CHANNELS} for k in kinds.CHOOSABLE}
    with database().transaction() as s:
        notifications.set_preferences(s, current_actor().id, data)
    flash(_("Notification settings saved."), "success")
    return redirect(url_for(".page") + "#settings")
