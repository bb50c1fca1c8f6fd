"""What a user's personal cabinet shows about them (``GET /me`` and the cabinet page)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from telemed import errors
from telemed.auth import service as auth_service
from telemed.auth.actor import Actor
from telemed.auth.models import User
from telemed.catalog.models import Doctor
from telemed.members import service as members
from telemed.members.models import Patient, Policy
from telemed.scheduling import entitlements


def patient_json(p: Patient, today: date) -> dict:
    return {
        "id": p.id,
        "name": p.full_name,
        "birth_date": p.birth_date.isoformat(),
        "is_adult": members.is_adult(p, today),
    }


def _policy_json(policy: Policy | None) -> dict | None:
    if policy is None:
        return None
    c = policy.contract
    return {
        "number": policy.number,
        "valid_from": policy.valid_from.isoformat(),
        "valid_to": policy.valid_to.isoformat(),
        "contract": {
            "number": c.number,
            "client": c.client,
            "telemedicine": c.telemedicine,
            "covered_specialties": list(c.covered_specialties or []),
            "psychologist_limit": c.psychologist_limit,
            "urgent": c.urgent,
        },
    }


def covered_codes(me: dict) -> set[str]:
    """The specialties the active policy of at least one patient in ``me`` (``me_payload``) covers
    by teleconsultation: what the programme lets the member book now."""
    return {
        code
        for p in me["patients"]
        if p["policy"] and p["policy"]["contract"]["telemedicine"]
        for code in p["policy"]["contract"]["covered_specialties"]
    }


def me_payload(session: Session, actor: Actor, *, today: date, consent_version: str) -> dict:
    """What ``GET /me`` returns and the cabinet shows: the user, who they may book for (with each
    one's policy and psychologist entitlement on ``today``), consent to ``consent_version``, and
    for a doctor their doctor id and specialty."""
    user = session.get(User, actor.id)
    if user is None:
        raise errors.NotAuthenticated()
    bookable = members.bookable_patients(session, actor.id)
    policies = members.active_policies(session, [p.id for p in bookable], today)
    ents = entitlements.psychologist_entitlements(session, [(p, policies[p.id]) for p in bookable], today)
    patients = [
        {
            **patient_json(p, today),
            "is_self": p.user_id == actor.id,
            "policy": _policy_json(policies[p.id]),
            "psychologist": ents[p.id].as_dict(),
        }
        for p in bookable
    ]
    own = next((p for p in patients if p["is_self"]), None)
    body = {
        "id": user.id,
        "username": user.username,
        "role": user.role,
        "name": user.full_name,
        "timezone": user.timezone,
        "locale": user.locale,
        "patients": patients,
        "policy": own["policy"] if own else None,
        "entitlements": {"psychologist": {str(p["id"]): p["psychologist"] for p in patients}},
        "consent": {
            "current_version": consent_version,
            "accepted": auth_service.current_consent(session, actor.id, consent_version) is not None,
        },
    }
    doctor = session.scalar(select(Doctor).where(Doctor.user_id == actor.id)) if actor.is_doctor else None
    if doctor is not None:
        body["doctor"] = {"id": doctor.id, "specialty": doctor.specialty_code}
    return body
