"""Doctors in the admin area: create, update, list (profile, specialty, active or not, an optional
linked staff account). Admins only; the API audits every call (``object_type="doctor"``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from telemed import errors
from telemed.admin import access
from telemed.auth.actor import Actor
from telemed.auth.models import User
from telemed.auth.roles import Role
from telemed.catalog.models import Doctor
from telemed.catalog.rules import experience_years
from telemed.catalog.specialties import BY_CODE
from telemed.translatable import _l

NAME_MAX, EDUCATION_MAX, DEGREE_MAX, BIO_MAX = 200, 2000, 200, 4000
EARLIEST_CAREER = date(1950, 1, 1)


@dataclass(frozen=True)
class Profile:
    full_name: str
    specialty: str
    career_start: date
    education: str
    degree: str | None
    bio: str | None
    is_active: bool
    user_id: int | None


def _bad(message, field: str) -> errors.DomainError:
    return errors.ValidationFailed(message, details={"field": field})


def parse_day(value: Any, field: str) -> date:
    """An ISO date ``YYYY-MM-DD``; ``ValidationFailed`` naming ``field`` otherwise."""
    try:
        if not isinstance(value, str) or len(value) != 10:
            raise ValueError
        return date.fromisoformat(value)
    except ValueError:
        raise _bad(_l("'%(name)s' must be a date YYYY-MM-DD.", name=field), field) from None


def profile_from(data: dict[str, Any], *, today: date) -> Profile:
    """Check a profile read by the API or a form (texts already trimmed, ``None`` when absent)."""
    specialty = data.get("specialty")
    if not isinstance(specialty, str) or specialty not in BY_CODE:
        raise _bad(_l("Unknown specialty %(specialty)s.", specialty=repr(specialty)), "specialty")
    career_start = parse_day(data.get("career_start"), "career_start")
    if not EARLIEST_CAREER <= career_start <= today:
        raise _bad(_l("The career start must be a past date."), "career_start")
    for name in ("full_name", "education"):
        if not data.get(name):
            raise _bad(_l("'%(name)s' is required.", name=name), name)
    active = data.get("is_active")
    if active is not None and not isinstance(active, bool):
        raise _bad(_l("'%(name)s' must be true or false.", name="is_active"), "is_active")
    return Profile(
        full_name=data["full_name"],
        specialty=specialty,
        career_start=career_start,
        education=data["education"],
        degree=data.get("degree") or None,
        bio=data.get("bio") or None,
        is_active=True if active is None else bool(active),
        user_id=data.get("user_id"),
    )


def _check_account(session: Session, user_id: int | None, doctor_id: int | None) -> None:
    if user_id is None:
        return
    user = session.get(User, user_id) if user_id > 0 else None
    if user is None or user.role != Role.DOCTOR:
        raise _bad(_l("The linked account must be a doctor's staff account."), "user_id")
    other = session.scalar(select(Doctor.id).where(Doctor.user_id == user_id))
    if other is not None and other != doctor_id:
        raise errors.Conflict(
            _l("This account is already linked to another doctor."), details={"field": "user_id"}
        )


def _apply(doctor: Doctor, p: Profile) -> None:
    doctor.full_name, doctor.specialty_code, doctor.career_start = p.full_name, p.specialty, p.career_start
    doctor.education, doctor.degree, doctor.bio = p.education, p.degree, p.bio
    doctor.is_active, doctor.user_id = p.is_active, p.user_id


def create(session: Session, actor: Actor, data: dict[str, Any], *, today: date) -> Doctor:
    access.check_admin(actor)
    profile = profile_from(data, today=today)
    _check_account(session, profile.user_id, None)
    doctor = Doctor()
    _apply(doctor, profile)
    session.add(doctor)
    session.flush()
    return doctor


def get(session: Session, actor: Actor, doctor_id: int) -> Doctor:
    access.check_admin(actor)
    doctor = session.get(Doctor, doctor_id)
    if doctor is None:
        raise errors.NotFound(_l("Doctor not found."))
    return doctor


def update(session: Session, actor: Actor, doctor_id: int, data: dict[str, Any], *, today: date) -> Doctor:
    doctor = get(session, actor, doctor_id)
    profile = profile_from(data, today=today)
    _check_account(session, profile.user_id, doctor.id)
    _apply(doctor, profile)
    session.flush()
    return doctor


def listing(
    session: Session,
    actor: Actor,
    *,
    specialty: str | None = None,
    active: bool | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[Doctor]:
    access.check_admin(actor)
    query = select(Doctor)
    if specialty is not None:
        query = query.where(Doctor.specialty_code == specialty)
    if active is not None:
        query = query.where(Doctor.is_active == active)
    return list(
        session.scalars(
            query.order_by(Doctor.specialty_code, Doctor.full_name, Doctor.id).limit(limit).offset(offset)
        )
    )


def doctor_json(d: Doctor, *, today: date) -> dict:
    return {
        "id": d.id,
        "full_name": d.full_name,
        "specialty": d.specialty_code,
        "career_start": d.career_start.isoformat(),
        "experience_years": experience_years(d.career_start, today),
        "education": d.education,
        "degree": d.degree,
        "bio": d.bio,
        "is_active": d.is_active,
        "user_id": d.user_id,
        "has_photo": d.photo_key is not None,
    }
