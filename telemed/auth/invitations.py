"""One-time invitations to set a password: new members (and staff) get a link, never a password.

``invite`` writes the invitation in the caller's transaction and sends ``invited``; the
notifications package answers with an ``invite`` notification (auth sits below notifications, so
it cannot write one itself). The link's token is minted when the e-mail is built (``mint``, called
by the mailer), so no usable token is ever stored: only its SHA-256, and a newer token voids the
older one. ``accept`` sets the password once, within ``TTL`` of the invitation.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta

from blinker import Namespace
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from telemed import errors
from telemed.auth import password_policy
from telemed.auth.models import Invitation, User
from telemed.auth.passwords import Passwords
from telemed.translatable import _l

TTL = timedelta(days=7)
PATH = "/auth/invite/"
CHUNK = 1000

#: Sent with ``session``, ``pairs`` [(user_id, invitation_id)] and ``now`` after invitations are written.
invited = Namespace().signal("invited")


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def unusable_password() -> str:
    """A password hash no password matches (not an Argon2 hash): the account waits for its invitation."""
    return "!invited:" + secrets.token_hex(16)


def invite(session: Session, user_id: int, *, now: datetime) -> Invitation:
    """Invite one user (their ``invite`` notification is written in the same transaction)."""
    invitation = Invitation(user_id=user_id, created_at=now, expires_at=now + TTL)
    session.add(invitation)
    session.flush()
    invited.send(session, session=session, pairs=[(user_id, invitation.id)], now=now)
    return invitation


def invite_many(session: Session, user_ids: Sequence[int], *, now: datetime) -> list[int]:
    """Invite many users at once (an insured list); returns the invitations' ids."""
    ids: list[int] = []
    for start in range(0, len(user_ids), CHUNK):
        chunk = user_ids[start : start + CHUNK]
        rows = [{"user_id": u, "created_at": now, "expires_at": now + TTL} for u in chunk]
        made = session.scalars(
            insert(Invitation).returning(Invitation.id, sort_by_parameter_order=True), rows
        ).all()
        invited.send(session, session=session, pairs=list(zip(chunk, made, strict=True)), now=now)
        ids += made
    return ids


def mint(session: Session, invitation_id: int, *, now: datetime) -> str | None:
    """A fresh token for the invitation's link (the older one stops working), or None when it is
    used, expired or gone. The caller commits."""
    token = secrets.token_urlsafe(32)
    done = session.execute(
        update(Invitation)
        .where(Invitation.id == invitation_id, Invitation.used_at.is_(None), Invitation.expires_at > now)
        .values(token_hash=digest(token))
    )
    return token if done.rowcount else None  # type: ignore[attr-defined]


def find(session: Session, token: str, *, now: datetime, lock: bool = False) -> Invitation:
    """The open invitation of ``token``; 404 ``not_found`` when unknown, used or expired."""
    stmt = select(Invitation).where(
        Invitation.token_hash == digest(token), Invitation.used_at.is_(None), Invitation.expires_at > now
    )
    invitation = session.scalar(stmt.with_for_update() if lock else stmt)
    if invitation is None:
        raise errors.NotFound(_l("This invitation link is used, expired or unknown."))
    return invitation


def accept(session: Session, passwords: Passwords, token: str, password: str, *, now: datetime) -> User:
    """Set the invited user's password (``password_policy``) and use the invitation up."""
    invitation = find(session, token, now=now, lock=True)
    user = session.get(User, invitation.user_id)
    if user is None or not user.is_active:
        raise errors.NotFound(_l("This invitation link is used, expired or unknown."))
    password_policy.check(password, password_policy.personal_words(user.username, user.full_name, user.email))
    user.password_hash = passwords.hash(password)
    invitation.used_at = now
    session.flush()
    return user
