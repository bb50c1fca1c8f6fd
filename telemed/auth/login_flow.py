"""The steps of a web login: password, then (for staff and members who enabled it) the second
factor, then the login session.

Between the steps the Flask session holds only who passed the password and until when
(``PENDING_SECONDS``): it grants nothing, no page and no API call, until the second step passes
and ``finish_login`` opens the server-side login session.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit

from flask import current_app, session
from flask_login import login_user
from sqlalchemy.orm import Session

from telemed.auth import otp, service
from telemed.auth.models import User
from telemed.auth.web import WebUser, device, idle_limit_for, session_ttl

PENDING_KEY = "login_pending"
PENDING_SECONDS = 300  # the time to type the code after the password


def safe_next(target: str | None) -> str | None:
    """Only same-site relative paths are followed after login."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def _fresh_flask_session() -> None:
    """Discard the pre-login session (no fixation), keeping the language choice."""
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang


def begin_second_step(user: User, next_url: str | None, *, now: datetime) -> None:
    """Remember that ``user`` passed the password, for ``PENDING_SECONDS``."""
    _fresh_flask_session()
    session[PENDING_KEY] = {
        "uid": user.id,
        "name": user.username,
        "until": now.timestamp() + PENDING_SECONDS,
        "next": safe_next(next_url) or "",
    }


def pending(*, now: datetime) -> dict | None:
    """The login waiting for its second step, or None (none, or it took too long)."""
    data = session.get(PENDING_KEY)
    if not isinstance(data, dict) or data.get("until", 0) <= now.timestamp():
        return None
    return data


def finish_login(s: Session, user: User, *, now: datetime) -> WebUser:
    """Open the login session (staff: with the idle limit) and log the browser in."""
    sid = service.open_login_session(
        s, user, now=now, ttl=session_ttl(), device=device(), idle=idle_limit_for(user.role)
    )
    web_user = WebUser(user, session_id=sid)
    _fresh_flask_session()
    login_user(web_user)
    return web_user


def demo_code(*, now: datetime) -> str | None:
    """The demo staff accounts' current code, shown beside the login form in ``telemed demo`` only."""
    if not current_app.config.get("DEMO_OTP_HINT"):
        return None
    return otp.code_at(otp.DEMO_SECRET, now)
