"""API: specialties, doctors, free slots (public to logged-in users)."""

from __future__ import annotations

from datetime import timedelta

from flask import jsonify

from telemed.api import api
from telemed.api import serializers as ser
from telemed.api.contract import ChoiceParam, DateTimeParam, IntParam, documented
from telemed.api.openapi_parts import array_of, json_response
from telemed.auth.web import current_actor
from telemed.catalog import service as catalog
from telemed.catalog.specialties import BY_CODE
from telemed.scheduling import doctors, slots
from telemed.web import clinic_tz, db_session, now

SPECIALTY = ChoiceParam("specialty", tuple(BY_CODE), required=True)
SLOTS_FROM, SLOTS_TO = DateTimeParam("from"), DateTimeParam("to")
SLOTS_LIMIT = IntParam("limit", 1000, lo=1, hi=2000)


@api.get("/specialties")
@documented(json_response(array_of("Specialty")))
def list_specialties():
    """All specialties with their modes and age rule."""
    current_actor()
    return jsonify([ser.specialty(s.code) for s in catalog.specialties(db_session())])


@api.get("/doctors")
@documented(json_response(array_of("Doctor")), query=(SPECIALTY,))
def list_doctors():
    """Doctors of ``?specialty=CODE``, most experienced first, with the next free slot."""
    current_actor()
    code = SPECIALTY.read() or ""  # required: never empty
    t = now()
    cards = doctors.doctors_for(db_session(), code, today=t.astimezone(clinic_tz()).date(), now=t)
    return jsonify([ser.doctor_card(c) for c in cards])


@api.get("/doctors/<int:doctor_id>/slots")
@documented(json_response(array_of("Slot")), query=(SLOTS_FROM, SLOTS_TO, SLOTS_LIMIT))
def list_slots(doctor_id: int):
    """Free slots of a doctor between ``from`` and ``to``.

    ``from`` defaults to now and ``to`` to 14 days after ``from``; ``to`` must follow ``from`` by
    at most 62 days (422 ``validation_error`` otherwise). Past slots are never listed."""
    current_actor()
    t = now()
    start = SLOTS_FROM.read() or t
    end = SLOTS_TO.read() or start + timedelta(days=14)
    limit = SLOTS_LIMIT.read()
    free = slots.free_slots(db_session(), doctor_id, start=start, end=end, now=t, limit=limit)
    return jsonify([ser.slot(s) for s in free])
