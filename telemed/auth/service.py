"""Accounts, login sessions, API tokens and consent: domain services.

Every function takes an explicit SQLAlchemy ``session``; none commits.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from blinker import Namespace
from sqlalchemy import ColumnElement, and_, bindparam, delete, or_, select, update
from sqlalchemy.orm import Session

from telemed import errors, inputs
from telemed.auth.actor import Actor
from telemed.auth.endings import note_ending
from telemed.auth.models import ADDRESS_MAX, USER_AGENT_MAX, ApiToken, ConsentRecord, LoginSession, Role, User
from telemed.auth.passwords import Passwords
from telemed.translatable import _l

USERNAME_MAX = 64
PASSWORD_MAX = 1024  # what a login accepts; longer ones are refused before hashing


def token_digest(raw: str) -> str:
    """What is stored of a bearer token: its SHA-256, as hex."""
    return hashlib.sha256(raw.encode()).hexdigest()


_digest = token_digest


def create_user(
    session: Session,
    passwords: Passwords,
    *,
    username: str,
    password: str,
    role: str,
    full_name: str,
    email: str | None = None,
) -> User:
    """Create an account. No strength rule applies here (seeding, imports and test factories call
    this directly): code that takes a new password from a person checks it first with
    ``password_policy.check`` (``telemed create-user``, the password change)."""
    if role not in set(Role):
        raise errors.ValidationFailed(_l("Unknown role %(role)s.", role=repr(role)))
    if not username or len(username) > USERNAME_MAX or not password or inputs.has_control(username):
        raise errors.ValidationFailed(_l("Username and password are required."))
    if session.scalar(select(User.id).where(User.username == username)):
        raise errors.Conflict(_l("User %(username)s already exists.", username=repr(username)))
    user = User(
        username=username, password_hash=passwords.hash(password), role=role, full_name=full_name, email=email
    )
    session.add(user)
    session.flush()
    return user


def login_name(raw: str) -> str:
    """The username a login form or API client typed, as it is looked up and as its attempts are
    counted: without surrounding whitespace."""
    return raw.strip()


def authenticate(session: Session, passwords: Passwords, username: str, password: str) -> User:
    """Return the active user with these credentials or raise ``InvalidCredentials``."""
    if not username or "\x00" in username or len(username) > USERNAME_MAX:  # no such user can exist
        passwords.verify(None, password)  # the same time as a wrong password
        raise errors.InvalidCredentials()
    user = session.scalar(select(User).where(User.username == username))
    ok = passwords.verify(user.password_hash if user else None, password)
    if not ok or user is None or not user.is_active:
        raise errors.InvalidCredentials()
    return user


@dataclass(frozen=True)
class Device:
    """Where a login was opened from, as the request said (shown in the user's list of logins)."""

    user_agent: str | None = None
    client_addr: str | None = None

    def columns(self) -> dict[str, str | None]:
        return {
            "user_agent": (self.user_agent or "")[:USER_AGENT_MAX] or None,
            "client_addr": (self.client_addr or "")[:ADDRESS_MAX] or None,
        }


def open_login_session(
    session: Session,
    user: User,
    *,
    now: datetime,
    ttl: timedelta,
    device: Device = Device(),
    idle: timedelta | None = None,
) -> str:
    """A new login session of ``user`` ending after ``ttl``, and, with ``idle``, once that long has
    passed without a request (``logins.mark_seen``, ``touch_login_session``)."""
    sid = secrets.token_urlsafe(32)
    session.add(
        LoginSession(
            id=sid,
            user_id=user.id,
            created_at=now,
            last_seen_at=now,
            expires_at=now + ttl,
            idle_expires_at=now + idle if idle else None,
            **device.columns(),
        )
    )
    return sid


#: A login session's last-seen time is written at most this often.
TOUCH_EVERY = timedelta(minutes=1)


def touch_login_session(session: Session, sid: str, *, now: datetime, idle: timedelta) -> None:
    """Record a request of an idle-limited login session: its idle limit moves to ``now + idle``.
    Written only when the last write is ``TOUCH_EVERY`` old (a conditional UPDATE)."""
    session.execute(
        update(LoginSession)
        .where(
            LoginSession.id == sid,
            LoginSession.idle_expires_at.is_not(None),
            LoginSession.idle_expires_at > now,
            or_(LoginSession.last_seen_at.is_(None), LoginSession.last_seen_at <= now - TOUCH_EVERY),
        )
        .values(last_seen_at=now, idle_expires_at=now + idle)
        .execution_options(synchronize_session=False)
    )


def _live_session(now) -> ColumnElement[bool]:
    """SQL: the login session (joined with its user) is valid at ``now``: unexpired, not idle past
    its idle limit, user active."""
    return and_(
        LoginSession.expires_at > now,
        or_(LoginSession.idle_expires_at.is_(None), LoginSession.idle_expires_at > now),
        User.is_active.is_(True),
    )


def _live_token(now) -> ColumnElement[bool]:
    """SQL: the API token (joined with its user) is valid at ``now``: not revoked, unexpired, user active."""
    return and_(ApiToken.revoked_at.is_(None), ApiToken.expires_at > now, User.is_active.is_(True))


def user_for_login_session(session: Session, sid: str, *, now: datetime) -> User | None:
    """The active user of a valid login session (``_live_session``), else None."""
    found = user_and_last_seen(session, Credential("login_session", sid), now=now)
    return found[0] if found else None


def close_login_session(session: Session, sid: str, *, now: datetime | None = None) -> None:
    """Log out: delete the login session; its sockets end within a second (``note_ending``)."""
    if session.execute(delete(LoginSession).where(LoginSession.id == sid)).rowcount:  # type: ignore[attr-defined]
        note_ending(session, now=now)


def issue_token(
    session: Session, user: User, *, now: datetime, ttl: timedelta, device: Device = Device()
) -> str:
    """Create a bearer token; the raw value is returned once and never stored."""
    raw = secrets.token_urlsafe(32)
    session.add(
        ApiToken(
            user_id=user.id,
            token_hash=_digest(raw),
            created_at=now,
            last_seen_at=now,
            expires_at=now + ttl,
            **device.columns(),
        )
    )
    return raw


def user_for_token(session: Session, raw: str, *, now: datetime) -> User | None:
    """The active user of a valid bearer token (``_live_token``), else None."""
    found = user_and_last_seen(session, Credential("token", raw), now=now)
    return found[0] if found else None


@dataclass(frozen=True)
class Credential:
    """What a connection presented: a login session id (the page's cookie) or a raw bearer token."""

    kind: Literal["login_session", "token"]
    value: str


def user_and_last_seen(
    session: Session, credential: Credential, *, now: datetime
) -> tuple[User, datetime | None] | None:
    """The active user of a valid credential and when the credential was last used, else None."""
    if credential.kind == "login_session":
        stmt = (
            select(User, LoginSession.last_seen_at)
            .join(LoginSession, LoginSession.user_id == User.id)
            .where(LoginSession.id == credential.value, _live_session(now))
        )
    else:
        stmt = (
            select(User, ApiToken.last_seen_at)
            .join(ApiToken, ApiToken.user_id == User.id)
            .where(ApiToken.token_hash == _digest(credential.value), _live_token(now))
        )
    row = session.execute(stmt).first()
    return (row[0], row[1]) if row else None


def actors_for(
    session: Session, credentials: Iterable[Credential], *, now: datetime
) -> dict[Credential, Actor]:
    """Re-validate many credentials at once (two statements at most): the active user of each valid one.

    The same conditions as ``user_for_login_session`` and ``user_for_token`` (``_live_session``,
    ``_live_token``). Invalid credentials are absent from the result.
    """
    return {c: actor for c, (actor, _) in valid_credentials(session, credentials, now=now).items()}


def valid_credentials(
    session: Session, credentials: Iterable[Credential], *, now: datetime
) -> dict[Credential, tuple[Actor, datetime]]:
    """Like ``actors_for``, with the moment each valid credential expires."""
    wanted = set(credentials)
    found: dict[Credential, tuple[Actor, datetime]] = {}
    session_ids = [c.value for c in wanted if c.kind == "login_session"]
    if session_ids:
        rows = session.connection().execute(_SESSIONS_STATEMENT, {"ids": session_ids, "now": now})
        for sid, user_id, role, name, expires_at in rows:
            found[Credential("login_session", sid)] = (Actor(id=user_id, role=role, name=name), expires_at)
    by_digest = {_digest(c.value): c for c in wanted if c.kind == "token"}
    if by_digest:
        rows = session.connection().execute(_TOKENS_STATEMENT, {"ids": list(by_digest), "now": now})
        for digest, user_id, role, name, expires_at in rows:
            found[by_digest[digest]] = (Actor(id=user_id, role=role, name=name), expires_at)
    return found


_SESSIONS_STATEMENT = (
    select(LoginSession.id, User.id, User.role, User.full_name, LoginSession.expires_at)
    .join(User, User.id == LoginSession.user_id)
    .where(LoginSession.id.in_(bindparam("ids", expanding=True)), _live_session(bindparam("now")))
)
_TOKENS_STATEMENT = (
    select(ApiToken.token_hash, User.id, User.role, User.full_name, ApiToken.expires_at)
    .join(User, User.id == ApiToken.user_id)
    .where(ApiToken.token_hash.in_(bindparam("ids", expanding=True)), _live_token(bindparam("now")))
)


def revoke_token(session: Session, raw: str, *, now: datetime) -> None:
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(raw)))
    if token is not None and token.revoked_at is None:
        token.revoked_at = now
        note_ending(session, now=now)


def current_consent(session: Session, user_id: int, version: str) -> ConsentRecord | None:
    """The user's standing acceptance of ``version``, if not withdrawn."""
    return session.scalar(
        select(ConsentRecord)
        .where(
            ConsentRecord.user_id == user_id,
            ConsentRecord.version == version,
            ConsentRecord.withdrawn_at.is_(None),
        )
        .order_by(ConsentRecord.id.desc())
        .limit(1)
    )


def accept_consent(
    session: Session, user_id: int, *, version: str, current_version: str, now: datetime
) -> ConsentRecord:
    """Record acceptance of the current consent text; accepting twice is a no-op."""
    if version != current_version:
        raise errors.ValidationFailed(
            _l("The current consent version is %(current_version)s.", current_version=current_version),
            details={"field": "version", "current_version": current_version},
        )
    record = current_consent(session, user_id, version)
    if record is None:
        record = ConsentRecord(user_id=user_id, version=version, accepted_at=now)
        session.add(record)
        session.flush()
    return record


#: Sent with the user's id as sender and ``session``, ``now`` when a member withdraws consent; the
#: features above (scheduling) stop what would process their data, in the same transaction.
consent_withdrawn = Namespace().signal("consent-withdrawn")


def withdraw_consent(session: Session, user_id: int, *, now: datetime) -> int:
    """Withdraw every standing consent of the user (``consent_withdrawn`` is sent); returns how
    many were withdrawn."""
    rows = session.scalars(
        select(ConsentRecord).where(ConsentRecord.user_id == user_id, ConsentRecord.withdrawn_at.is_(None))
    ).all()
    for row in rows:
        row.withdrawn_at = now
    if rows:
        consent_withdrawn.send(user_id, session=session, now=now)
    return len(rows)


def require_consent(session: Session, actor: Actor, version: str) -> None:
    """``ConsentRequired`` for a member without a standing consent to ``version``: without it
    nothing of theirs (or of the children in their care) is processed: no messages, uploads, calls,
    pre-call checks or requests. Staff act under the clinic's own legal basis."""
    if actor.is_member and current_consent(session, actor.id, version) is None:
        raise errors.ConsentRequired()


def members_without_consent(session: Session, user_ids: Iterable[int], version: str) -> set[int]:
    """Of ``user_ids``, the members without a standing consent to ``version`` (one query)."""
    ids = set(user_ids)
    if not ids:
        return set()
    consented = select(ConsentRecord.user_id).where(
        ConsentRecord.version == version, ConsentRecord.withdrawn_at.is_(None)
    )
    return set(
        session.scalars(
            select(User.id).where(User.id.in_(ids), User.role == Role.MEMBER, User.id.not_in(consented))
        )
    )
