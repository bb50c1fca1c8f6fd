"""Entitlements of the contract that depend on consultations: the psychologist limit."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from telemed.catalog.specialties import PSYCHOLOGIST
from telemed.members import service as members
from telemed.members.models import Patient, Policy
from telemed.scheduling.models import Consultation, Status


def _counted() -> tuple:
    """The consultations that use the psychologist quota: psychologist ones, except cancelled ones
    and those the doctor credibly did not come to (``doctor_absent_at``: the quota is given back)."""
    return (
        Consultation.specialty_code == PSYCHOLOGIST,
        Consultation.status != Status.CANCELLED,
        Consultation.doctor_absent_at.is_(None),
    )


def psychologist_used(session: Session, patient_id: int, contract_id: int) -> int:
    """Psychologist consultations of the patient under the contract that use the quota (``_counted``)."""
    return (
        session.scalar(
            select(func.count(Consultation.id)).where(
                Consultation.patient_id == patient_id, Consultation.contract_id == contract_id, *_counted()
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
    return psychologist_entitlements(session, [(patient, policy)], today)[patient.id]


def psychologist_entitlements(
    session: Session, held: Iterable[tuple[Patient, Policy | None]], today: date
) -> dict[int, Entitlement]:
    """``psychologist_entitlement`` of each patient under the policy given with it (its active
    policy on ``today``), counting the consultations used in one query."""
    held = list(held)
    insured: list[tuple[Patient, Policy]] = [(p, policy) for p, policy in held if policy is not None]
    used: dict[tuple[int, int], int] = {}
    if insured:
        rows = session.execute(
            select(Consultation.patient_id, Consultation.contract_id, func.count(Consultation.id))
            .where(Consultation.patient_id.in_({patient.id for patient, _ in insured}), *_counted())
            .group_by(Consultation.patient_id, Consultation.contract_id)
        )
        used = {(pid, cid): n for pid, cid, n in rows}
    out = {patient.id: Entitlement(0, 0, 0) for patient, _ in held}
    for patient, policy in insured:
        out[patient.id] = _entitlement(patient, policy, used.get((patient.id, policy.contract_id), 0), today)
    return out


def _entitlement(patient: Patient, policy: Policy, used: int, today: date) -> Entitlement:
    contract = policy.contract
    limit = contract.psychologist_limit
    covered = contract.telemedicine and PSYCHOLOGIST in (contract.covered_specialties or ())
    if not covered or not members.is_adult(patient, today):
        return Entitlement(limit if covered else 0, used, 0)
    return Entitlement(limit, used, max(0, limit - used))
