"""API: book, list, read, cancel and finish consultations (planned and urgent)."""

from __future__ import annotations

from flask import current_app, jsonify, request, url_for

from telemed import errors
from telemed.api import api
from telemed.api import serializers as ser
from telemed.api.parsing import field_int, field_str, json_body, query_int
from telemed.api.urgent import consultation_body, relay
from telemed.auth.web import current_actor
from telemed.scheduling import service as scheduling
from telemed.scheduling.access import REASON_MAX
from telemed.translatable import _l
from telemed.web import clinic_tz, database, db_session, now


@api.post("/consultations")
def create_consultation():
    """Book ``{slot_id, patient_id?, reason?}``: 201, 409 ``slot_taken`` or 422 with the rule's code."""
    actor = current_actor()
    data = json_body()
    slot_id = field_int(data, "slot_id")
    patient_id = field_int(data, "patient_id", required=False)
    reason = field_str(data, "reason", required=False, max_len=REASON_MAX)
    with database().transaction() as s:
        c = scheduling.book(
            s,
            actor,
            slot_id=slot_id,
            patient_id=patient_id,
            reason=reason,
            now=now(),
            clinic_tz=clinic_tz(),
            consent_version=current_app.config["CONSENT_VERSION"],
        )
        body = ser.consultation(c)
    response = jsonify(body)
    response.status_code = 201
    response.headers["Location"] = url_for("api.get_consultation", consultation_id=body["id"])
    return response


@api.get("/consultations")
def list_consultations():
    """The caller's consultations (as patient, guardian, booker or doctor); ``?when=upcoming|past``."""
    actor = current_actor()
    when = request.args.get("when") or None
    if when not in (None, "upcoming", "past"):
        raise errors.ValidationFailed(_l("'when' must be 'upcoming' or 'past'."), details={"field": "when"})
    limit, offset = query_int("limit", 50, lo=1, hi=200), query_int("offset", 0, hi=10**6)
    s = db_session()
    items = scheduling.list_for(s, actor, when=when, now=now(), limit=limit, offset=offset)
    return jsonify([consultation_body(s, c) for c in items])


@api.get("/consultations/<int:consultation_id>")
def get_consultation(consultation_id: int):
    """One consultation (with ``queue`` while an urgent request waits); 404 to anyone not party to it."""
    s = db_session()
    return jsonify(consultation_body(s, scheduling.get_for(s, current_actor(), consultation_id)))


@api.post("/consultations/<int:consultation_id>/cancel")
def cancel_consultation(consultation_id: int):
    """Cancel ``{reason?}`` before the start (frees the slot and the quota), or an urgent request
    while it waits; 409 ``not_cancellable`` after. The doctor must give a ``reason`` (422
    ``validation_error`` without), shown to the member as ``cancel_reason``."""
    actor = current_actor()
    reason = field_str(json_body(), "reason", required=False, max_len=REASON_MAX)
    with database().transaction() as s:
        body = ser.consultation(scheduling.cancel(s, actor, consultation_id, now=now(), reason=reason))
    relay()
    return jsonify(body)


@api.post("/consultations/<int:consultation_id>/finish")
def finish_consultation(consultation_id: int):
    """The consultation's doctor ends the visit: 200 ``completed``; 403 ``forbidden`` for its other
    parties, 404 for anyone else, 409 ``not_in_progress`` unless it is in progress."""
    actor = current_actor()
    with database().transaction() as s:
        body = ser.consultation(scheduling.finish(s, actor, consultation_id, now=now()))
    relay()
    return jsonify(body)
