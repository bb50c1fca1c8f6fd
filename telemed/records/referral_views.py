"""Pages: the member's referrals («Направления»), and the ``referral_items`` template filter that
shows a conclusion's referrals (structured or legacy) in the viewer's language."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, render_template
from flask_babel import get_locale

from telemed.records import referrals
from telemed.records.audit_web import audited
from telemed.web import db_session, now

bp = Blueprint("referrals", __name__)


def referral_items(stored: list | None) -> list[dict]:
    """A conclusion's stored referrals as ``{kind, code, specialty, note, title}`` to show."""
    lang = "en" if str(get_locale()) == "en" else "ru"
    items = [referrals.normalize(r) for r in stored or []]
    return [item | {"title": referrals.title_of(item, lang)} for item in items]


def _register_filter(state) -> None:
    state.app.jinja_env.filters["referral_items"] = referral_items


bp.record_once(_register_filter)


@bp.get("/referrals")
def index():
    """The member's referrals and their dependants', newest first, with their status; a specialist
    referral that is still valid links to the booking of its specialty. 403 for doctors and staff."""
    lang = "en" if str(get_locale()) == "en" else "ru"
    with audited("referral", "read") as ctx:
        items = referrals.list_for(db_session(), ctx["actor"], now=now(), limit=500)
    for item in items:
        item["title"] = referrals.title_of(item, lang)
        item["issued"] = datetime.fromisoformat(item["issued_at"])
        item["until"] = datetime.fromisoformat(item["valid_until"])
    return render_template("records/referrals.html", referrals=items)
