"""Who a member may act for, their policies and entitlements."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from telemed.auth.models import User
from telemed.members import access, rules
from telemed.members.models import Contract, Guardianship, Patient, Policy


def own_patient(session: Session, user_id: int) -> Patient | None:
    return session.scalar(select(Patient).where(Patient.user_id == user_id))


def ward_ids(session: Session, user_id: int) -> list[int]:
    return list(
        session.scalars(select(Guardianship.patient_id).where(Guardianship.guardian_user_id == user_id))
    )


def bookable_patients(session: Session, user_id: int) -> list[Patient]:
    """The user's own patient record first, then the dependants in their care."""
    own = own_patient(session, user_id)
    wards = session.scalars(
        select(Patient)
        .join(Guardianship, Guardianship.patient_id == Patient.id)
        .where(Guardianship.guardian_user_id == user_id)
        .order_by(Patient.birth_date)
    ).all()
    return ([own] if own else []) + [w for w in wards if own is None or w.id != own.id]


def is_guardian(session: Session, user_id: int, patient_id: int) -> bool:
    return session.get(Guardianship, (user_id, patient_id)) is not None


def is_adult(patient: Patient, today: date) -> bool:
    return rules.is_adult_on(patient.birth_date, today)


def guardian_names(session: Session, patient_ids: Iterable[int]) -> dict[int, list[str]]:
    """For each patient, the names of the members in whose care they are (a child's parents)."""
    ids = set(patient_ids)
    if not ids:
        return {}
    rows = session.execute(
        select(Guardianship.patient_id, User.full_name)
        .join(User, User.id == Guardianship.guardian_user_id)
        .where(Guardianship.patient_id.in_(ids))
        .order_by(User.full_name)
    )
    names: dict[int, list[str]] = {}
    for patient_id, name in rows:
        names.setdefault(patient_id, []).append(name)
    return names


def may_act_for(session: Session, user_id: int, patient: Patient) -> bool:
    """Whether the user acts for this patient: the patient themselves or a guardian (``access.may_act_for``)."""
    return access.may_act_for(
        user_id, patient_user_id=patient.user_id, is_guardian=is_guardian(session, user_id, patient.id)
    )


def to_facts(policy: Policy) -> rules.PolicyFacts:
    c: Contract = policy.contract
    return rules.PolicyFacts(
        valid_from=policy.valid_from,
        valid_to=policy.valid_to,
        contract_starts_on=c.starts_on,
        contract_ends_on=c.ends_on,
        telemedicine=c.telemedicine,
        covered_specialties=frozenset(c.covered_specialties or ()),
        psychologist_limit=c.psychologist_limit,
        urgent=c.urgent,
    )


def active_policy(session: Session, patient_id: int, day: date) -> Policy | None:
    """The patient's policy that the booking rules would use on ``day``."""
    policies = session.scalars(select(Policy).where(Policy.patient_id == patient_id)).all()
    chosen = rules.pick_policy([to_facts(p) for p in policies], day)
    return next((p for p in policies if chosen is not None and to_facts(p) == chosen), None)
