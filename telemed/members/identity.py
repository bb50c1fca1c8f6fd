"""Linking an OpenID Connect identity to an insured person, and logging in by the link (no Flask).

Contract of :func:`user_for_identity` (takes a ``session``, never commits):

- A known identity (``issuer`` + ``subject`` in ``oidc_identities``) logs in its linked user,
  whatever the claims say now.
- An unknown one is linked at its first login by verified claims only: the standard ``birthdate``
  (``YYYY-MM-DD``) and the policy-number claim must name a ``Policy.number`` whose patient was born
  that day; never by name. That patient's member account is linked; a patient without an account
  gets one (role member, a random password nobody knows, the patient's name, the e-mail only when
  the provider says it is verified). Consent is asked at the first page, as for every member.
- Refused (:class:`Refused`, nothing written): a missing or malformed claim, no matching policy,
  a patient under 18 on that day (a child's care is arranged from a guardian's account), a staff
  account, a deactivated account, an account already linked to another identity of the same issuer.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from telemed.auth import service as auth_service
from telemed.auth.models import User
from telemed.auth.oidc_models import OidcIdentity
from telemed.auth.passwords import Passwords
from telemed.auth.roles import Role
from telemed.members.models import Patient, Policy
from telemed.members.rules import is_adult_on

Reason = Literal["missing_claim", "no_match", "minor", "staff", "inactive", "linked_elsewhere"]
How = Literal["known", "linked", "created"]


class Refused(Exception):
    """The identity may not log in; ``reason`` says why (for the page and the audit log)."""

    def __init__(self, reason: Reason):
        super().__init__(reason)
        self.reason: Reason = reason


@dataclass(frozen=True)
class Claims:
    """What linking reads of the provider's claims."""

    issuer: str
    subject: str
    birthdate: str | None
    policy_number: str | None
    email: str | None

    @classmethod
    def of(cls, claims: dict[str, Any], *, issuer: str, policy_claim: str) -> Claims:
        """From the provider's claims; the e-mail is kept only when ``email_verified`` is true."""
        email = claims.get("email") if claims.get("email_verified") is True else None
        return cls(
            issuer=str(claims.get("iss") or issuer),
            subject=str(claims["sub"]),
            birthdate=_text(claims.get("birthdate")),
            policy_number=_text(claims.get(policy_claim)),
            email=_text(email),
        )


@dataclass(frozen=True)
class Login:
    user: User
    how: How
    patient_id: int | None  # the patient linked at this login (None for a known identity)


def _text(value: object) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _usable(user: User | None) -> User:
    if user is None or not user.is_active:
        raise Refused("inactive")
    if user.role != Role.MEMBER:
        raise Refused("staff")
    return user


def _birthdate(raw: str | None) -> date:
    try:
        return date.fromisoformat(raw or "")
    except ValueError:
        raise Refused("missing_claim") from None


def user_for_identity(session: Session, passwords: Passwords, claims: Claims, *, now: datetime) -> Login:
    """The user this identity logs in (see the module's contract); raises :class:`Refused`."""
    if not claims.subject or len(claims.subject) > 255 or len(claims.issuer) > 255:
        raise Refused("missing_claim")  # no identity the table could hold
    link = session.scalar(
        select(OidcIdentity).where(
            OidcIdentity.issuer == claims.issuer, OidcIdentity.subject == claims.subject
        )
    )
    if link is not None:
        user = _usable(session.get(User, link.user_id))
        link.last_login_at = now
        return Login(user, "known", None)
    if not claims.policy_number or len(claims.policy_number) > 64:
        raise Refused("missing_claim")
    born = _birthdate(claims.birthdate)
    patient = session.scalar(
        select(Patient).join(Policy).where(Policy.number == claims.policy_number, Patient.birth_date == born)
    )
    if patient is None:
        raise Refused("no_match")
    if not is_adult_on(patient.birth_date, now.date()):
        raise Refused("minor")
    how: How = "linked"
    if patient.user_id is not None:
        user = _usable(session.get(User, patient.user_id))
        taken = select(OidcIdentity.id).where(
            OidcIdentity.user_id == user.id, OidcIdentity.issuer == claims.issuer
        )
        if session.scalar(taken) is not None:
            raise Refused("linked_elsewhere")
    else:
        user = auth_service.create_user(
            session,
            passwords,
            username=f"gu-{secrets.token_hex(6)}",
            password=secrets.token_urlsafe(32),  # never told to anyone: the account logs in by its link
            role=Role.MEMBER,
            full_name=patient.full_name,
            email=claims.email if claims.email and len(claims.email) <= 254 else None,
        )
        patient.user_id = user.id
        how = "created"
    session.add(
        OidcIdentity(
            issuer=claims.issuer, subject=claims.subject, user_id=user.id, created_at=now, last_login_at=now
        )
    )
    session.flush()
    return Login(user, how, patient.id)
