"""In-person visits: records staff enter them into the e-card (they list as ``ecard`` entries)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from telemed import errors, inputs
from telemed.auth.actor import Actor
from telemed.catalog.specialties import BY_CODE
from telemed.members.models import Patient, fold
from telemed.records import access
from telemed.records.conclusions import clean_diagnosis
from telemed.records.models import Visit
from telemed.translatable import _l

#: A visit's text fields: (name, most characters, required).
VISIT_TEXTS = (("clinic", 200, True), ("doctor_name", 200, True), ("notes", 10_000, False))


def add_visit(
    session: Session, actor: Actor, patient_id: int, data: dict, *, now: datetime, clinic_tz: ZoneInfo
) -> Visit:
    """Records staff enter an in-person visit (``{date, clinic, doctor_name, diagnosis, notes, specialty?}``)."""
    if not access.may_add_visit(actor):
        raise errors.NotPermitted(_l("Only records staff add in-person visits."))
    if session.get(Patient, patient_id) is None:
        raise errors.NotFound(_l("Patient not found."))
    visited_at = _visit_time(data.get("date"), clinic_tz)
    if visited_at > now + timedelta(days=1):
        raise errors.ValidationFailed(_l("A visit cannot be in the future."), details={"field": "date"})
    fields = {}
    for name, max_len, required in VISIT_TEXTS:
        value = data.get(name)
        if value is None:
            value = ""
        if isinstance(value, str):
            value = inputs.clean_text(value, name, max_len=max_len)
        if not isinstance(value, str) or len(value) > max_len or (required and not value):
            raise errors.ValidationFailed(
                _l(
                    "'%(name)s' is required text of at most %(max_len)s characters.",
                    name=name,
                    max_len=max_len,
                ),
                details={"field": name},
            )
        fields[name] = value.strip()
    specialty = data.get("specialty")
    if specialty is not None and (not isinstance(specialty, str) or specialty not in BY_CODE):
        raise errors.ValidationFailed(
            _l("'specialty' must be a specialty code."), details={"field": "specialty"}
        )
    code, text = clean_diagnosis(data.get("diagnosis"))
    visit = Visit(
        patient_id=patient_id,
        visited_at=visited_at,
        specialty_code=specialty or None,
        diagnosis_icd10=code,
        diagnosis_text=text,
        created_by_id=actor.id,
        created_at=now,
        **fields,
        search_text=fold(" ".join([text, fields["clinic"], fields["doctor_name"], fields["notes"]])),
    )
    session.add(visit)
    session.flush()
    return visit


def _visit_time(value: object, clinic_tz: ZoneInfo) -> datetime:
    if not isinstance(value, str) or not value:
        raise errors.ValidationFailed(
            _l("'date' must be an ISO date or date-time."), details={"field": "date"}
        )
    try:
        if len(value) == 10:  # a day: noon in the clinic
            moment = datetime.combine(inputs.parse_datetime(value).date(), time(12), tzinfo=clinic_tz)
        else:
            moment = inputs.parse_datetime(value)
    except ValueError:
        raise errors.ValidationFailed(
            _l("'date' must be an ISO date or date-time."), details={"field": "date"}
        ) from None
    return inputs.check_date(moment if moment.tzinfo else moment.replace(tzinfo=clinic_tz), "date")
