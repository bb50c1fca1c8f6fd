"""Who a member may act for, their policies and entitlements."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, joinedload

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
    """The user's own patient record first, then the dependants in their care by birth date (one query)."""
    wards = select(Guardianship.patient_id).where(Guardianship.guardian_user_id == user_id)
    rows = session.scalars(
        select(Patient)
        .where(or_(Patient.user_id == user_id, Patient.id.in_(wards)))
        .order_by(Patient.birth_date, Patient.id)
    ).all()
    own = next((p for p in rows if p.user_id == user_id), None)
    return ([own] if own else []) + [p for p in rows if p is not own]


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
    return active_policies(session, [patient_id], day)[patient_id]


def active_policies(session: Session, patient_ids: Iterable[int], day: date) -> dict[int, Policy | None]:
    """``active_policy`` of each patient, with its contract, in one query."""
    ids = list(dict.fromkeys(patient_ids))
    held: dict[int, list[Policy]] = {pid: [] for pid in ids}
    if ids:
        for policy in session.scalars(
            select(Policy).options(joinedload(Policy.contract)).where(Policy.patient_id.in_(ids))
        ):
            held[policy.patient_id].append(policy)
    return {pid: _pick(policies, day) for pid, policies in held.items()}


def _pick(policies: list[Policy], day: date) -> Policy | None:
    facts = [to_facts(p) for p in policies]
    chosen = rules.pick_policy(facts, day)
    return next((p for p, f in zip(policies, facts, strict=True) if chosen is not None and f == chosen), None)
