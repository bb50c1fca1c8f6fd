"""The second factor: enrolling a TOTP authenticator, checking codes, recovery codes.

Staff (doctors, records staff, admins) need it at every login; members may enable it. Every
function takes an explicit SQLAlchemy ``session``; none commits. A code is accepted once: the
accepted step and used recovery codes are recorded with conditional updates, so two requests
racing with the same code cannot both pass.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from telemed import errors
from telemed.auth import otp
from telemed.auth.models import OtpEnrolment, RecoveryCode
from telemed.auth.roles import STAFF


def required_by_role(role: str) -> bool:
    """Staff must have a second factor; members choose."""
    return role in STAFF


def enrolment(session: Session, user_id: int) -> OtpEnrolment | None:
    return session.get(OtpEnrolment, user_id)


def is_enrolled(session: Session, user_id: int) -> bool:
    """The user has a confirmed authenticator."""
    row = enrolment(session, user_id)
    return row is not None and row.confirmed_at is not None


def needs_second_step(session: Session, user_id: int, role: str) -> bool:
    """A login of this user needs a code: staff always, members once they enabled it."""
    return required_by_role(role) or is_enrolled(session, user_id)


def start_enrolment(session: Session, user_id: int, *, now: datetime) -> str:
    """The secret to show on the enrolment page: the pending one, or a new random one. A confirmed
    enrolment is replaced only by ``confirm_enrolment``, so starting over cannot lock anyone out."""
    row = enrolment(session, user_id)
    if row is not None and row.confirmed_at is None:
        return row.secret
    if row is None:
        row = OtpEnrolment(user_id=user_id, secret=otp.new_secret(), created_at=now)
        session.add(row)
        session.flush()
        return row.secret
    return row.secret  # already confirmed: re-enrolling is not offered


def confirm_enrolment(session: Session, user_id: int, code: str, *, now: datetime) -> list[str]:
    """Confirm the pending authenticator with its first code; returns fresh recovery codes (shown
    once; earlier ones stop working). ``InvalidOtp`` for a wrong code."""
    row = enrolment(session, user_id)
    if row is None:
        raise errors.InvalidOtp()
    if row.confirmed_at is not None:
        raise errors.Conflict()
    step = otp.matching_step(row.secret, otp.normalize(code), now, last_step=row.last_step)
    if step is None:
        raise errors.InvalidOtp()
    row.confirmed_at, row.last_step = now, step
    return _replace_recovery_codes(session, user_id)


def enrol_with_secret(session: Session, user_id: int, secret: str, *, now: datetime) -> None:
    """Enrol (confirmed) with a known secret: the demo accounts and tests only."""
    row = enrolment(session, user_id)
    if row is None:
        session.add(OtpEnrolment(user_id=user_id, secret=secret, created_at=now, confirmed_at=now))
    else:
        row.secret, row.confirmed_at, row.last_step = secret, now, None
    session.flush()


def disable(session: Session, user_id: int, role: str) -> None:
    """Remove a member's authenticator and recovery codes; staff cannot go without one."""
    if required_by_role(role):
        raise errors.NotPermitted()
    session.execute(delete(OtpEnrolment).where(OtpEnrolment.user_id == user_id))
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))


def verify(session: Session, user_id: int, code: str | None, *, now: datetime) -> None:
    """Accept a current TOTP code (not used before) or an unused recovery code, and use it up.

    ``OtpRequired`` without a code or without a confirmed enrolment; ``InvalidOtp`` for a wrong,
    replayed or used code."""
    row = enrolment(session, user_id)
    if row is None or row.confirmed_at is None:
        raise errors.OtpRequired(errors.ENROL_FIRST)
    typed = otp.normalize(code)
    if not typed:
        raise errors.OtpRequired()
    if otp.is_totp_shaped(typed):
        step = otp.matching_step(row.secret, typed, now, last_step=row.last_step)
        if step is not None and _claim_step(session, user_id, step):
            return
        raise errors.InvalidOtp()
    used = session.execute(
        update(RecoveryCode)
        .where(
            RecoveryCode.user_id == user_id,
            RecoveryCode.code_hash == otp.recovery_hash(typed),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if used.rowcount != 1:  # type: ignore[attr-defined]
        raise errors.InvalidOtp()


def _claim_step(session: Session, user_id: int, step: int) -> bool:
    """Record ``step`` as used unless the same or a later one was: one winner per code."""
    result = session.execute(
        update(OtpEnrolment)
        .where(
            OtpEnrolment.user_id == user_id,
            or_(OtpEnrolment.last_step.is_(None), OtpEnrolment.last_step < step),
        )
        .values(last_step=step)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1  # type: ignore[attr-defined]


def unused_recovery_codes(session: Session, user_id: int) -> int:
    return len(
        session.scalars(
            select(RecoveryCode.id).where(RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None))
        ).all()
    )


def regenerate_recovery_codes(session: Session, user_id: int) -> list[str]:
    """New recovery codes for an enrolled user (the old ones stop working)."""
    if not is_enrolled(session, user_id):
        raise errors.OtpRequired(errors.ENROL_FIRST)
    return _replace_recovery_codes(session, user_id)


def _replace_recovery_codes(session: Session, user_id: int) -> list[str]:
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
    codes = otp.new_recovery_codes()
    session.add_all(RecoveryCode(user_id=user_id, code_hash=otp.recovery_hash(c)) for c in codes)
    session.flush()
    return codes
