"""API: book, list, read, cancel and finish consultations (planned and urgent)."""

from __future__ import annotations

from flask import current_app, jsonify, url_for

from telemed.api import api
from telemed.api import serializers as ser
from telemed.api.contract import Body, ChoiceParam, Id, IntParam, Text, documented
from telemed.api.openapi_parts import array_of, json_response, ref
from telemed.api.urgent import consultation_body
from telemed.auth.web import current_actor
from telemed.records.audit_web import audited
from telemed.scheduling import service as scheduling
from telemed.scheduling.access import REASON_MAX
from telemed.web import clinic_tz, database, db_session, deliver_outbox, now

BOOKING = Body(
    "BookingRequest",
    (
        Id("slot_id"),
        Id("patient_id", required=False, description="Yourself when absent, or a child in your care"),
        Text("reason", REASON_MAX),
    ),
)
CANCEL = Body(
    "CancelRequest",
    (Text("reason", REASON_MAX),),
    required=False,
    description="'reason' is required when the consultation's doctor cancels",
)
WHEN = ChoiceParam("when", ("upcoming", "past"))
LIMIT, OFFSET = IntParam("limit", 50, lo=1, hi=200), IntParam("offset", 0, hi=10**6)


@api.post("/consultations")
@documented(json_response(ref("Consultation"), "Booked"), status=201, errors=(409,), body=BOOKING)
def create_consultation():
    """Book a planned consultation ``{slot_id, patient_id?, reason?}``.

    409 ``slot_taken``; 422 with the rule's code (``slot_unavailable``, ``limit_reached``,
    ``adult_only``, ``not_covered``, ``policy_inactive``, ``consent_required``, ``not_guardian``)."""
    actor = current_actor()
    data = BOOKING.read()
    slot_id, patient_id, reason = data["slot_id"], data["patient_id"], data["reason"]
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
@documented(json_response(array_of("Consultation")), query=(WHEN, LIMIT, OFFSET))
def list_consultations():
    """The caller's consultations (as patient, guardian, booker or doctor); ``?when=upcoming|past``."""
    actor = current_actor()
    when, limit, offset = WHEN.read(), LIMIT.read(), OFFSET.read()
    s = db_session()
    items = scheduling.list_for(s, actor, when=when, now=now(), limit=limit, offset=offset)
    return jsonify([consultation_body(s, c) for c in items])


@api.get("/consultations/<int:consultation_id>")
@documented(json_response(ref("Consultation")))
def get_consultation(consultation_id: int):
    """One consultation (with ``queue`` while an urgent request waits); 404 to anyone not party to it."""
    s = db_session()
    with audited("consultation", "read", object_id=consultation_id) as ctx:
        c = scheduling.get_for(s, ctx["actor"], consultation_id)
        ctx["patient_id"] = c.patient_id
    return jsonify(consultation_body(s, c))


@api.post("/consultations/<int:consultation_id>/cancel")
@documented(json_response(ref("Consultation")), errors=(409,), body=CANCEL)
def cancel_consultation(consultation_id: int):
    """Cancel before the start, or an urgent request while it waits; the doctor must give a reason.

    Frees the slot and the quota; 409 ``not_cancellable`` after the start. The doctor without a
    ``reason`` gets 422 ``validation_error``; the reason is shown to the member as ``cancel_reason``."""
    actor = current_actor()
    reason = CANCEL.read()["reason"]
    with database().transaction() as s:
        body = ser.consultation(scheduling.cancel(s, actor, consultation_id, now=now(), reason=reason))
    deliver_outbox()
    return jsonify(body)


@api.post("/consultations/<int:consultation_id>/finish")
@documented(json_response(ref("Consultation")), errors=(403, 409))
def finish_consultation(consultation_id: int):
    """The consultation's doctor ends the visit (a dropped connection never does).

    200 ``completed``; 403 ``forbidden`` for its other parties, 404 for anyone else, 409
    ``not_in_progress`` unless it is in progress."""
    actor = current_actor()
    with database().transaction() as s:
        body = ser.consultation(scheduling.finish(s, actor, consultation_id, now=now()))
    deliver_outbox()
    return jsonify(body)
