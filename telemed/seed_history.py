"""The demo member's history (``telemed seed-demo``): a past teleconsultation with a signed
conclusion and its referrals, and an in-person visit in the e-card.

Written as the visit itself would have left it (no admin service makes a past visit).
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from telemed.auth.models import User
from telemed.catalog.models import Doctor
from telemed.db import utcnow
from telemed.members.models import Contract, Patient
from telemed.records.conclusions import content_hash
from telemed.records.models import Conclusion, Visit
from telemed.records.referrals import issue_for
from telemed.scheduling.models import Consultation, Slot
from telemed.scheduling.status import Mode, Status
from telemed.seed_data import SLOT_MINUTES


def seed_history(
    s, patient: Patient, member: User, contract: Contract, therapist: Doctor, tz: ZoneInfo
) -> None:
    """A past teleconsultation with a signed conclusion and an in-person visit, once."""
    if s.scalar(select(Visit.id).where(Visit.patient_id == patient.id)) is not None:
        return
    start = datetime.combine(utcnow().astimezone(tz).date() - timedelta(days=20), time(10), tzinfo=tz)
    slot = Slot(doctor_id=therapist.id, starts_at=start, ends_at=start + timedelta(minutes=SLOT_MINUTES))
    s.add(slot)
    s.flush()
    c = Consultation(
        patient_id=patient.id,
        booked_by_id=member.id,
        doctor_id=therapist.id,
        slot_id=slot.id,
        contract_id=contract.id,
        specialty_code="therapist",
        mode=Mode.PLANNED,
        status=Status.COMPLETED,
        reason="Кашель, температура",
        starts_at=slot.starts_at,
        ends_at=slot.ends_at,
    )
    s.add(c)
    s.flush()
    conclusion = Conclusion(
        consultation_id=c.id,
        patient_id=patient.id,
        complaints="Кашель, температура 37,8 °C третий день",
        anamnesis="Контакт с заболевшими коллегами",
        objective="Со слов пациентки: слабость, насморк",
        diagnosis_icd10="J06.9",
        diagnosis_text="Острая инфекция верхних дыхательных путей",
        recommendations="Обильное тёплое питьё, отдых; при температуре выше 38,5 °C — жаропонижающее",
        referrals=[
            {"kind": "test", "code": "B03.016.002"},
            {"kind": "specialist", "specialty": "ent", "note": "При сохранении заложенности носа"},
        ],
        follow_up="Повторная консультация через 5 дней",
        search_text="острая инфекция верхних дыхательных путей",
        signed_at=slot.ends_at,
        signed_by_id=therapist.user_id,
        updated_at=slot.ends_at,
    )
    s.add(conclusion)
    s.flush()
    conclusion.content_sha256 = content_hash(conclusion)
    issue_for(s, conclusion, slot.ends_at)
    s.add(
        Visit(
            patient_id=patient.id,
            visited_at=start - timedelta(days=40),
            clinic="Клиника на Пятницкой",
            doctor_name="Петров Пётр Петрович",
            specialty_code="cardiologist",
            diagnosis_icd10="I10",
            diagnosis_text="Эссенциальная гипертензия",
            notes="АД 150/95, назначен контроль давления",
            search_text="эссенциальная гипертензия клиника на пятницкой петров петр петрович",
            created_by_id=s.scalar(select(User.id).where(User.username == "records")),
        )
    )
