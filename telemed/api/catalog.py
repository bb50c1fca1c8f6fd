"""API: specialties, doctors, free slots (public to logged-in users)."""

from __future__ import annotations

from datetime import timedelta

from flask import jsonify, request

from telemed import errors
from telemed.api import api
from telemed.api import serializers as ser
from telemed.api.parsing import query_datetime, query_int
from telemed.auth.web import current_actor
from telemed.catalog import service as catalog
from telemed.scheduling import doctors, slots
from telemed.translatable import _l
from telemed.web import clinic_tz, db_session, now


@api.get("/specialties")
def list_specialties():
    """All specialties with their modes and age rule."""
    current_actor()
    return jsonify([ser.specialty(s.code) for s in catalog.specialties(db_session())])


@api.get("/doctors")
def list_doctors():
    """Doctors of ``?specialty=CODE``, most experienced first, with the next free slot."""
    current_actor()
    code = request.args.get("specialty", "")
    if not code:
        raise errors.ValidationFailed(_l("'specialty' is required."), details={"field": "specialty"})
    t = now()
    cards = doctors.doctors_for(db_session(), code, today=t.astimezone(clinic_tz()).date(), now=t)
    return jsonify([ser.doctor_card(c) for c in cards])


@api.get("/doctors/<int:doctor_id>/slots")
def list_slots(doctor_id: int):
    """Free slots of a doctor between ``from`` and ``to`` (ISO 8601 with offset; default: next 14 days)."""
    current_actor()
    t = now()
    start = query_datetime("from", t)
    end = query_datetime("to", start + timedelta(days=14))
    limit = query_int("limit", 1000, lo=1, hi=2000)
    free = slots.free_slots(db_session(), doctor_id, start=start, end=end, now=t, limit=limit)
    return jsonify([ser.slot(s) for s in free])
