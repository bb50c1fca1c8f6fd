"""Who a member may act for, their policies and entitlements."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from telemed.catalog.specialties import ADULT_AGE, PSYCHOLOGIST
from telemed.members.models import Contract, Guardianship, Patient, Policy
from telemed.scheduling import rules
from telemed.scheduling.models import Consultation, Status


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
    return rules.age_on(patient.birth_date, today) >= ADULT_AGE


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
    )


def active_policy(session: Session, patient_id: int, day: date) -> Policy | None:
    """The patient's policy that the booking rules would use on ``day``."""
    policies = session.scalars(select(Policy).where(Policy.patient_id == patient_id)).all()
    chosen = rules.pick_policy([to_facts(p) for p in policies], day)
    return next((p for p in policies if chosen is not None and to_facts(p) == chosen), None)


def psychologist_used(session: Session, patient_id: int, contract_id: int) -> int:
    """Non-cancelled psychologist consultations of the patient under the contract."""
    return (
        session.scalar(
            select(func.count(Consultation.id)).where(
                Consultation.patient_id == patient_id,
                Consultation.contract_id == contract_id,
                Consultation.specialty_code == PSYCHOLOGIST,
                Consultation.status != Status.CANCELLED,
            )
        )
        or 0
    )


@dataclass(frozen=True)
class Entitlement:
    limit: int
    used: int
    left: int

    def as_dict(self) -> dict:
        return {"limit": self.limit, "used": self.used, "left": self.left}


def psychologist_entitlement(session: Session, patient: Patient, today: date) -> Entitlement:
    """Psychologist consultations left for the patient under today's policy (0 for children)."""
    policy = active_policy(session, patient.id, today)
    if policy is None:
        return Entitlement(0, 0, 0)
    limit = policy.contract.psychologist_limit
    used = psychologist_used(session, patient.id, policy.contract_id)
    covered = policy.contract.telemedicine and PSYCHOLOGIST in (policy.contract.covered_specialties or ())
    if not covered or not is_adult(patient, today):
        return Entitlement(limit if covered else 0, used, 0)
    return Entitlement(limit, used, max(0, limit - used))
