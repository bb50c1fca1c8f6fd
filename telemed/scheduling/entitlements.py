"""Entitlements of the contract that depend on consultations: the psychologist limit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from telemed.catalog.specialties import PSYCHOLOGIST
from telemed.members import service as members
from telemed.members.models import Patient
from telemed.scheduling.models import Consultation, Status


def psychologist_used(session: Session, patient_id: int, contract_id: int) -> int:
    """Psychologist consultations of the patient under the contract, except cancelled ones and those
    the doctor credibly did not come to (``doctor_absent_at``: the quota is given back)."""
    return (
        session.scalar(
            select(func.count(Consultation.id)).where(
                Consultation.patient_id == patient_id,
                Consultation.contract_id == contract_id,
                Consultation.specialty_code == PSYCHOLOGIST,
                Consultation.status != Status.CANCELLED,
                Consultation.doctor_absent_at.is_(None),
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
    policy = members.active_policy(session, patient.id, today)
    if policy is None:
        return Entitlement(0, 0, 0)
    limit = policy.contract.psychologist_limit
    used = psychologist_used(session, patient.id, policy.contract_id)
    covered = policy.contract.telemedicine and PSYCHOLOGIST in (policy.contract.covered_specialties or ())
    if not covered or not members.is_adult(patient, today):
        return Entitlement(limit if covered else 0, used, 0)
    return Entitlement(limit, used, max(0, limit - used))
