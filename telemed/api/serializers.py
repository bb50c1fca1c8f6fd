"""ORM objects to the API's JSON shapes."""

from __future__ import annotations

from telemed.catalog.models import Doctor
from telemed.catalog.specialties import BY_CODE
from telemed.dates import iso
from telemed.scheduling.doctors import DoctorCard
from telemed.scheduling.models import Consultation, Slot


def specialty(code: str) -> dict:
    info = BY_CODE[code]
    return {
        "code": info.code,
        "name": info.name_ru,
        "name_en": info.name_en,
        "modes": info.modes,
        "adult_only": info.adult_only,
    }


def doctor_brief(d: Doctor) -> dict:
    return {"id": d.id, "name": d.full_name, "specialty": d.specialty_code}


def doctor_card(card: DoctorCard) -> dict:
    d = card.doctor
    return {
        **doctor_brief(d),
        "experience_years": card.experience_years,
        "education": d.education,
        "degree": d.degree,
        "bio": d.bio,
        "next_free_slot": iso(card.next_free_slot),
    }


def slot(s: Slot) -> dict:
    return {"id": s.id, "start": iso(s.starts_at), "end": iso(s.ends_at)}


def consultation(c: Consultation, *, queue: dict | None = None) -> dict:
    """A consultation; ``doctor``, ``start`` and ``end`` are null for an urgent request nobody has
    taken (waiting, or cancelled while waiting). ``queue`` (its place in the urgent queue) is
    added while it waits."""
    taken = c.doctor is not None
    body = {
        "id": c.id,
        "status": c.status,
        "mode": c.mode,
        "specialty": c.specialty_code,
        "doctor": doctor_brief(c.doctor) if c.doctor is not None else None,
        "patient": {"id": c.patient.id, "name": c.patient.full_name},
        "start": iso(c.starts_at) if taken else None,
        "end": iso(c.ends_at) if taken else None,
        "reason": c.reason,
        "booked_by": c.booked_by_id,
        "created_at": iso(c.created_at),
        "cancelled_at": iso(c.cancelled_at),
        "cancel_reason": c.cancel_reason,
        "completed_at": iso(c.completed_at),
    }
    if queue is not None:
        body["queue"] = queue
    return body
