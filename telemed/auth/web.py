"""Flask-Login integration: server-side login sessions and bearer tokens."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app, request
from flask_login import UserMixin, current_user

from telemed import errors
from telemed.auth import service
from telemed.auth.actor import Actor
from telemed.auth.models import User
from telemed.auth.roles import STAFF
from telemed.extensions import login_manager
from telemed.web import database, db_session, now


class WebUser(UserMixin):
    """The logged-in user of one request.

    ``get_id`` is the server-side login session id, not the user id: deleting
    that row (logout) makes every copy of the cookie worthless.
    """

    def __init__(self, user: User, *, session_id: str | None = None, token: str | None = None):
        self.actor = Actor(id=user.id, role=user.role, name=user.full_name)
        self.user_id = user.id
        self.role = user.role
        self.name = user.full_name
        self.timezone = user.timezone
        self.locale = user.locale
        self.session_id = session_id
        self.token = token

    def get_id(self) -> str | None:
        return self.session_id

    @property
    def is_doctor(self) -> bool:
        return self.actor.is_doctor

    @property
    def is_member(self) -> bool:
        return self.actor.is_member


def current_actor() -> Actor:
    """The authenticated actor of this request, or ``NotAuthenticated``."""
    if not current_user.is_authenticated:
        raise errors.NotAuthenticated()
    return current_user.actor


@login_manager.user_loader
def _load_from_cookie(session_id: str) -> WebUser | None:
    """The user of a valid login session; a request of an idle-limited one (staff) moves its idle
    limit forward (written at most once a minute)."""
    moment = now()
    found = service.login_session_and_user(db_session(), session_id, now=moment)
    if found is None:
        return None
    row, user = found
    web_user = WebUser(user, session_id=session_id)
    if service.needs_touch(row, now=moment):
        db_session().rollback()  # hold one database connection at a time (its rows reload if used)
        with database().transaction() as s:
            service.touch_login_session(s, session_id, now=moment, idle=staff_idle())
    return web_user


@login_manager.request_loader
def _load_from_bearer(req) -> WebUser | None:
    raw = bearer_token(req)
    if not raw:
        return None
    user = service.user_for_token(db_session(), raw, now=now())
    return WebUser(user, token=raw) if user else None


def bearer_token(req=None) -> str | None:
    header = (req or request).headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def session_ttl() -> timedelta:
    return timedelta(hours=current_app.config["SESSION_TTL_HOURS"])


def staff_idle() -> timedelta:
    """How long a staff login session lasts without a request (``TELEMED_STAFF_IDLE_MINUTES``)."""
    return timedelta(minutes=current_app.config["STAFF_IDLE_MINUTES"])


def idle_limit_for(role: str) -> timedelta | None:
    """The idle limit of a login session of ``role``: staff only."""
    return staff_idle() if role in STAFF else None


def token_ttl() -> timedelta:
    return timedelta(hours=current_app.config["TOKEN_TTL_HOURS"])
