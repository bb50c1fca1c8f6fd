"""Staff users in the admin area: create one (doctor, records, admin, curator) and send an
invitation link, reset a second factor, deactivate (``account.service.deactivate``, which audits).

A new account gets a random password nobody knows: it cannot be used until the person follows the
invitation and sets their own. The invitation is sent at one call site, ``_invite``.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.orm import Session

from telemed import errors
from telemed.admin import access
from telemed.auth import invitations
from telemed.auth import service as auth_service
from telemed.auth.actor import Actor
from telemed.auth.models import OtpEnrolment, RecoveryCode, User
from telemed.auth.passwords import Passwords
from telemed.auth.roles import STAFF
from telemed.translatable import _l

EMAIL_MAX, NAME_MAX = 254, 200
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
STAFF_ROLES = tuple(sorted(STAFF))


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
