"""Flask-Login integration: server-side login sessions and bearer tokens."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from flask import after_this_request, current_app, request
from flask_login import UserMixin, current_user
from sqlalchemy.exc import SQLAlchemyError

from telemed import errors
from telemed.auth import logins, service
from telemed.auth.actor import Actor
from telemed.auth.models import User
from telemed.auth.roles import STAFF
from telemed.extensions import login_manager
from telemed.web import database, db_session, now

log = logging.getLogger(__name__)


class WebUser(UserMixin):
    """The logged-in user of one request.

    ``get_id`` is the server-side login session id, not the user id: deleting
    that row (logout) makes every copy of the cookie worthless.
    """

    def __init__(self, user: User, *, session_id: str | None = None, token: str | None = None):
        self.actor = Actor(id=user.id, role=user.role, name=user.full_name)
        # held for the request: its session then finds the row again (``session.get``) without a query
        self._user = user
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
    def credential(self) -> service.Credential:
        """The login this request came with: the page's login session or the bearer token."""
        if self.session_id:
            return service.Credential("login_session", self.session_id)
        return service.Credential("token", self.token or "")

    @property
    def is_doctor(self) -> bool:
        return self.actor.is_doctor

    @property
    def is_member(self) -> bool:
        return self.actor.is_member

    @property
    def is_curator(self) -> bool:
        return self.actor.is_curator

    @property
    def is_admin(self) -> bool:
        return self.actor.role == "admin"


def current_actor() -> Actor:
    """The authenticated actor of this request, or ``NotAuthenticated``."""
    if not current_user.is_authenticated:
        raise errors.NotAuthenticated()
    return current_user.actor


@login_manager.user_loader
def _load_from_cookie(session_id: str) -> WebUser | None:
    credential = service.Credential("login_session", session_id)
    user = _valid_user(credential)
    return WebUser(user, session_id=session_id) if user else None


@login_manager.request_loader
def _load_from_bearer(req) -> WebUser | None:
    raw = bearer_token(req)
    if not raw:
        return None
    user = _valid_user(service.Credential("token", raw))
    return WebUser(user, token=raw) if user else None


def _valid_user(credential: service.Credential) -> User | None:
    """The credential's active user, its last use refreshed (at most once a minute)."""
    at = now()
    found = service.user_and_last_seen(db_session(), credential, now=at)
    if found is None:
        return None
    if logins.seen_due(found[1], at):
        if hasattr(request, "sid"):  # a Socket.IO event: loaded before its handler's work
            _mark_seen(credential, at)
        else:  # an HTTP request may load its user inside its own write transaction: after it

            @after_this_request
            def _seen(response):
                _mark_seen(credential, at)
                return response

    return found[0]


def _mark_seen(credential: service.Credential, at: datetime) -> None:
    try:
        with database().transaction() as s:
            logins.mark_seen(s, credential, now=at, idle=staff_idle())
    except SQLAlchemyError:  # only the list of sessions shows it: never fail the request for it
        log.warning("recording a login's last use failed", exc_info=True)


def device() -> service.Device:
    """The requesting device, as recorded on a new login session or token."""
    return service.Device(user_agent=request.user_agent.string, client_addr=request.remote_addr)


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
