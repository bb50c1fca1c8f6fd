"""A user's own logins: list and end them, change the password, deactivate an account (no Flask).

A login is a server-side login session (a browser) or an API token. Each ending is counted
(``endings.note_ending``) so that serving processes disconnect its sockets within a second.
Every function takes an explicit ``session`` and ``now``; none commits.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import case, or_, select, update
from sqlalchemy.orm import Session

from telemed import errors
from telemed.auth import password_policy
from telemed.auth.endings import note_ending
from telemed.auth.models import ApiToken, LoginSession, User
from telemed.auth.passwords import Passwords
from telemed.auth.service import Credential, token_digest
from telemed.translatable import _l

#: How stale ``last_seen_at`` may get before a request refreshes it (one write a minute at most).
SEEN_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class Login:
    """One live login of a user, as the list of active sessions shows it."""

    id: str  # opaque: never the session id or the token
    kind: Literal["session", "token"]
    created_at: datetime
    last_seen_at: datetime | None
    user_agent: str | None
    client_addr: str | None
    current: bool


def login_id(kind: str, key: str) -> str:
    """The public id of a login (``key``: the session id, or the token's digest)."""
    return hashlib.sha256(f"{kind}:{key}".encode()).hexdigest()[:32]


def _key(credential: Credential | None) -> tuple[str, str] | None:
    if credential is None:
        return None
    if credential.kind == "login_session":
        return ("session", credential.value)
    return ("token", token_digest(credential.value))


def _live_rows(
    session: Session, user_id: int, now: datetime
) -> list[tuple[str, str, LoginSession | ApiToken]]:
    """``(kind, key, row)`` of the user's unexpired login sessions and unrevoked, unexpired tokens."""
    sessions = session.scalars(
        select(LoginSession).where(LoginSession.user_id == user_id, LoginSession.expires_at > now)
    )
    tokens = session.scalars(
        select(ApiToken).where(
            ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None), ApiToken.expires_at > now
        )
    )
    return [("session", row.id, row) for row in sessions] + [("token", row.token_hash, row) for row in tokens]


def active_logins(
    session: Session, user_id: int, *, now: datetime, current: Credential | None = None
) -> list[Login]:
    """The user's live logins, newest first; ``current`` marks the one this request came with."""
    mine = _key(current)
    found = [
        Login(
            id=login_id(kind, key),
            kind=kind,  # type: ignore[arg-type]
            created_at=row.created_at,
            last_seen_at=row.last_seen_at,
            user_agent=row.user_agent,
            client_addr=row.client_addr,
            current=mine == (kind, key),
        )
        for kind, key, row in _live_rows(session, user_id, now)
    ]
    return sorted(found, key=lambda login: login.created_at, reverse=True)


def end_login(session: Session, user_id: int, public_id: str, *, now: datetime) -> None:
    """End one of the user's live logins by its public id; ``NotFound`` when the user has no live
    login with that id (another user's included)."""
    for kind, key, row in _live_rows(session, user_id, now):
        if login_id(kind, key) == public_id:
            _end(session, row, now)
            note_ending(session, now=now)
            return
    raise errors.NotFound(_l("No such active session."))


def _end(session: Session, row: LoginSession | ApiToken, now: datetime) -> None:
    if isinstance(row, LoginSession):
        session.delete(row)
    else:
        row.revoked_at = now


def end_other_logins(session: Session, user_id: int, *, now: datetime, keep: Credential | None = None) -> int:
    """End every live login of the user but ``keep``; returns how many ended."""
    kept = _key(keep)
    ended = 0
    for kind, key, row in _live_rows(session, user_id, now):
        if (kind, key) != kept:
            _end(session, row, now)
            ended += 1
    if ended:
        note_ending(session, now=now)
    return ended


def change_password(
    session: Session,
    passwords: Passwords,
    user_id: int,
    *,
    current_password: str,
    new_password: str,
    personal: Iterable[str] = (),
    keep: Credential | None = None,
    now: datetime,
) -> int:
    """Set a new password: ``InvalidPassword`` unless ``current_password`` is right, ``WeakPassword``
    unless the new one meets ``password_policy`` (the user's username, name and e-mail, and
    ``personal``, count as guessable). Every other login of the user ends (``keep``: the one making
    the change stays). Returns how many logins ended."""
    user = session.get(User, user_id)
    if user is None or not passwords.verify(user.password_hash, current_password):
        raise errors.InvalidPassword(_l("The current password is wrong; the password was not changed."))
    words = password_policy.personal_words(user.username, user.full_name, user.email)
    password_policy.check(new_password, [*words, *personal])
    user.password_hash = passwords.hash(new_password)
    return end_other_logins(session, user_id, now=now, keep=keep)


def deactivate_user(session: Session, user_id: int, *, now: datetime) -> User:
    """Deactivate an account (``NotFound`` when there is none): it can no longer log in, and all its
    logins end (their sockets within a second). Deactivating twice is a no-op."""
    user = session.get(User, user_id)
    if user is None:
        raise errors.NotFound(_l("User not found."))
    user.is_active = False
    end_other_logins(session, user_id, now=now)
    note_ending(session, now=now)
    return user


def user_by_username(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == username))


def seen_due(last_seen_at: datetime | None, now: datetime) -> bool:
    """Whether a request at ``now`` should refresh ``last_seen_at``."""
    return last_seen_at is None or now - last_seen_at >= SEEN_EVERY


def mark_seen(
    session: Session, credential: Credential, *, now: datetime, idle: timedelta | None = None
) -> None:
    """Record that ``credential`` was used at ``now``; a login session with an idle limit (staff)
    has it moved to ``now + idle`` (unless it already passed: an idle login stays ended)."""
    if credential.kind == "login_session":
        values: dict = {"last_seen_at": now}
        if idle is not None:
            values["idle_expires_at"] = case((LoginSession.idle_expires_at.is_(None), None), else_=now + idle)
        stmt = (
            update(LoginSession)
            .where(
                LoginSession.id == credential.value,
                or_(LoginSession.idle_expires_at.is_(None), LoginSession.idle_expires_at > now),
            )
            .values(values)
        )
    else:
        stmt = (
            update(ApiToken)
            .where(ApiToken.token_hash == token_digest(credential.value))
            .values(last_seen_at=now)
        )
    session.execute(stmt.execution_options(synchronize_session=False))
