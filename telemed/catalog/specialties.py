"""The specialties of the telemedicine programme, as the member booklet lists them.

This is the single source of truth: ``sync_specialties`` writes it to the
``specialties`` table, and the booking rules read the same flags.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy.orm import Session

from telemed.catalog.models import Specialty

ADULT_AGE = 18


class Mode(StrEnum):
    """How a consultation is held. Planned: a booked slot. Urgent: the 24/7 queue."""

    PLANNED = "planned"
    URGENT = "urgent"


@dataclass(frozen=True)
class SpecialtyInfo:
    code: str
    name_ru: str
    name_en: str
    urgent: bool = False  # urgent (24/7 queue) as well as planned
    min_age: int | None = None  # inclusive
    max_age: int | None = None  # exclusive
    #: Mental health: its e-card entries are need-to-know (``records.access.sees_entry``).
    need_to_know: bool = False

    @property
    def modes(self) -> list[Mode]:
        return [Mode.URGENT, Mode.PLANNED] if self.urgent else [Mode.PLANNED]

    @property
    def adult_only(self) -> bool:
        return self.min_age is not None and self.min_age >= ADULT_AGE


PSYCHOLOGIST = "psychologist"
PEDIATRICIAN = "pediatrician"
THERAPIST = "therapist"

SPECIALTIES: tuple[SpecialtyInfo, ...] = (
    SpecialtyInfo(THERAPIST, "Терапевт", "Therapist", urgent=True),
    SpecialtyInfo(PEDIATRICIAN, "Педиатр", "Pediatrician", urgent=True, max_age=ADULT_AGE),
    SpecialtyInfo("neurologist", "Невролог", "Neurologist"),
    SpecialtyInfo("cardiologist", "Кардиолог", "Cardiologist"),
    SpecialtyInfo("endocrinologist", "Эндокринолог", "Endocrinologist"),
    SpecialtyInfo("urologist", "Уролог", "Urologist"),
    SpecialtyInfo("gynecologist", "Гинеколог", "Gynecologist"),
    SpecialtyInfo("ent", "ЛОР", "ENT specialist"),
    SpecialtyInfo("allergist", "Аллерголог-иммунолог", "Allergist-immunologist"),
    SpecialtyInfo("gastroenterologist", "Гастроэнтеролог", "Gastroenterologist"),
    SpecialtyInfo("dermatologist", "Дерматолог", "Dermatologist"),
    SpecialtyInfo("orthopedist", "Хирург-ортопед", "Orthopedic surgeon"),
    SpecialtyInfo(PSYCHOLOGIST, "Психолог", "Psychologist", min_age=ADULT_AGE, need_to_know=True),
)

BY_CODE: dict[str, SpecialtyInfo] = {s.code: s for s in SPECIALTIES}
CODES: tuple[str, ...] = tuple(BY_CODE)
#: The specialties of the urgent 24/7 queue (therapist and pediatrician).
URGENT_CODES: tuple[str, ...] = tuple(s.code for s in SPECIALTIES if s.urgent)
#: The specialties whose consultations, conclusions, visits and documents are need-to-know
#: (psychologist): other doctors see that such an entry exists, not what it says.
NEED_TO_KNOW_CODES: tuple[str, ...] = tuple(s.code for s in SPECIALTIES if s.need_to_know)


def sync_specialties(session: Session) -> None:
    """Insert or update the ``specialties`` rows from ``SPECIALTIES``."""
    existing = {s.code: s for s in session.query(Specialty)}
    for position, info in enumerate(SPECIALTIES):
        row = existing.get(info.code) or Specialty(code=info.code)
        row.name_ru, row.name_en = info.name_ru, info.name_en
        row.urgent, row.min_age, row.max_age, row.position = info.urgent, info.min_age, info.max_age, position
        session.add(row)
