"""Staff users in the admin area: create one (doctor, records, admin, curator) and send an
invitation link, reset a second factor, deactivate (``account.service.deactivate``, which audits).

A new account gets a random password nobody knows: it cannot be used until the person follows the
invitation and sets their own. The invitation is sent at one call site, ``_invite``.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime

from sqlalchemy import ColumnElement, delete, exists, func, or_, select
from sqlalchemy.orm import Session

from telemed import errors
from telemed.admin import access
from telemed.auth import invitations
from telemed.auth import service as auth_service
from telemed.auth.actor import Actor
from telemed.auth.models import Invitation, OtpEnrolment, RecoveryCode, User
from telemed.auth.passwords import Passwords
from telemed.auth.roles import STAFF, Role
from telemed.translatable import _l

EMAIL_MAX, NAME_MAX = 254, 200
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
STAFF_ROLES = tuple(sorted(STAFF))
ROLES = tuple(r.value for r in Role)
SEARCH_MAX = 100


def _invite(session: Session, user: User, now: datetime) -> bool:
    """Send ``user`` the one-time link to set a password (``auth.invitations``: an ``invite``
    e-mail, its link minted when sent); False without an e-mail address to send it to."""
    if not user.email:
        return False
    invitations.invite(session, user.id, now=now)
    return True


def create_staff(
    session: Session,
    passwords: Passwords,
    actor: Actor,
    *,
    username: str,
    full_name: str,
    role: str,
    email: str,
    now: datetime,
) -> tuple[User, bool]:
    """Create a staff account with an unusable random password and invite it by e-mail; returns the
    user and whether an invitation went out. ``Conflict`` for a taken username."""
    access.check_admin(actor)
    if not isinstance(role, str) or role not in STAFF:
        raise errors.ValidationFailed(
            _l("'%(name)s' must be one of %(choices)s.", name="role", choices=", ".join(STAFF_ROLES)),
            details={"field": "role"},
        )
    if not _EMAIL.match(email or "") or len(email) > EMAIL_MAX:
        raise errors.ValidationFailed(_l("Enter a valid e-mail address."), details={"field": "email"})
    user = auth_service.create_user(
        session,
        passwords,
        username=username,
        password=secrets.token_urlsafe(32),
        role=role,
        full_name=full_name,
        email=email,
    )
    return user, _invite(session, user, now)


def reset_second_factor(session: Session, actor: Actor, user_id: int) -> User:
    """Delete a user's authenticator and recovery codes: staff enrol again at their next login."""
    access.check_admin(actor)
    user = session.get(User, user_id)
    if user is None:
        raise errors.NotFound(_l("User not found."))
    session.execute(delete(OtpEnrolment).where(OtpEnrolment.user_id == user_id))
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
    return user


def open_invitation(now: datetime) -> ColumnElement[bool]:
    """Whether the user has an unused, unexpired invitation (sent or about to be): a correlated
    ``EXISTS`` on ``invitations`` (indexed by ``user_id``)."""
    return exists().where(
        Invitation.user_id == User.id, Invitation.used_at.is_(None), Invitation.expires_at > now
    )


def _folded(session: Session, column) -> ColumnElement[str]:
    """``column`` lower-cased for a case-insensitive match, Cyrillic included: SQLite's own
    ``lower()`` is ASCII-only, so there it is ``unicode_lower()``, Python's ``str.lower``
    (registered on each connection by ``telemed.db``)."""
    if session.get_bind().dialect.name == "sqlite":
        return func.unicode_lower(column)
    return func.lower(column)


def listing(
    session: Session,
    actor: Actor,
    *,
    role: str | None = None,
    q: str | None = None,
    limit: int = 50,
    offset: int = 0,
    now: datetime,
) -> list[tuple[User, bool]]:
    """Users newest first, each with whether an invitation is open (``open_invitation``); ``role``
    one of ``ROLES``, ``q`` a case-insensitive part of the username, full name or e-mail."""
    access.check_admin(actor)
    stmt = select(User, open_invitation(now).label("invited"))
    if role is not None:
        if role not in ROLES:
            raise errors.ValidationFailed(
                _l("'%(name)s' must be one of %(choices)s.", name="role", choices=", ".join(ROLES)),
                details={"field": "role"},
            )
        stmt = stmt.where(User.role == role)
    if q:
        needle = q.strip().lower()[:SEARCH_MAX]
        stmt = stmt.where(
            or_(
                *(
                    _folded(session, column).contains(needle, autoescape=True)
                    for column in (User.username, User.full_name, func.coalesce(User.email, ""))
                )
            )
        )
    stmt = stmt.order_by(User.created_at.desc(), User.id.desc()).limit(limit).offset(offset)
    return [(user, bool(invited)) for user, invited in session.execute(stmt)]


def check_may_deactivate(actor: Actor, user_id: int) -> None:
    """An admin may deactivate anyone but themselves (nobody would be left to undo a mistake, and
    their own page would end under them); ``Conflict`` for their own account."""
    access.check_admin(actor)
    if actor.id == user_id:
        raise errors.Conflict(_l("You cannot deactivate your own account."))


def user_json(u: User, *, invited: bool = False) -> dict:
    return {
        "id": u.id,
        "username": u.username,
        "full_name": u.full_name,
        "role": u.role,
        "email": u.email,
        "is_active": u.is_active,
        "invited": invited,
    }
