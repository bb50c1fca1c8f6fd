"""API: the urgent queue. Members request; therapists and pediatricians go on duty, see the
queue and take requests. Cancelling a waiting request and finishing the visit are the
consultation's own operations (``api.consultations``)."""

from __future__ import annotations

from flask import current_app, jsonify, url_for

from telemed.api import api
from telemed.api import serializers as ser
from telemed.api.contract import Body, Flag, Id, Text, documented
from telemed.api.openapi_parts import array_of, json_response, ref
from telemed.auth.web import current_actor
from telemed.scheduling.access import REASON_MAX
from telemed.urgent import queue
from telemed.urgent import service as urgent
from telemed.urgent.duty import DutyState
from telemed.urgent.settings import UrgentSettings
from telemed.web import database, db_session, deliver_outbox, now

URGENT = Body(
    "UrgentRequest",
    (
        Id("patient_id", required=False, description="Yourself when absent, or a child in your care"),
        Text("reason", REASON_MAX),
    ),
    required=False,
)
DUTY = Body("DutyRequest", (Flag("on_duty"),))


def settings() -> UrgentSettings:
    return UrgentSettings.from_config(current_app.config)


def consultation_body(session, c) -> dict:
    """A consultation with its place in the queue while it waits."""
    state = queue.state_of(session, c, now=now(), settings=settings())
    return ser.consultation(c, queue=state.as_dict() if state else None)


@api.post("/urgent")
@documented(
    json_response(ref("Consultation"), "Waiting in the queue (status 'waiting', with 'queue')"),
    status=201,
    errors=(409,),
    body=URGENT,
)
def request_urgent():
    """Request an urgent consultation for yourself or a child in your care ``{patient_id?, reason?}``.

    Therapist from 18, pediatrician under 18; the booking's contract rules apply, no slot, no
    quota. 201 with ``status: waiting`` and ``queue``; 409 ``already_waiting``; 422
    ``not_covered``, ``policy_inactive``, ``consent_required``, ``not_guardian``."""
    actor = current_actor()
    data = URGENT.read()
    patient_id, reason = data["patient_id"], data["reason"]
    with database().transaction() as s:
        c = urgent.request(
            s,
            actor,
            patient_id=patient_id,
            reason=reason,
            now=now(),
            settings=settings(),
            consent_version=current_app.config["CONSENT_VERSION"],
        )
        body = consultation_body(s, c)
    deliver_outbox()
    response = jsonify(body)
    response.status_code = 201
    response.headers["Location"] = url_for("api.get_consultation", consultation_id=body["id"])
    return response


@api.get("/urgent/queue")
@documented(json_response(array_of("QueueItem")), errors=(403,))
def urgent_queue():
    """Therapists and pediatricians: the waiting requests of their specialty, oldest first.

    403 ``forbidden`` for anyone else."""
    return jsonify(urgent.queue_for(db_session(), current_actor(), now=now(), settings=settings()))


@api.post("/urgent/<int:consultation_id>/claim")
@documented(json_response(ref("Consultation")), errors=(409,))
def claim_urgent(consultation_id: int):
    """Take a waiting request: you become its doctor, and it starts now.

    200 ``in_progress`` with the doctor, start and end; exactly one doctor wins: 409
    ``already_claimed`` to the others, ``busy`` while an urgent consultation of yours is in
    progress, ``consultation_cancelled``; 404 for anyone but a doctor of its specialty."""
    actor = current_actor()
    with database().transaction() as s:
        c = urgent.claim(s, actor, consultation_id, now=now(), settings=settings())
        body = ser.consultation(c)
    deliver_outbox()
    return jsonify(body)


def _duty_json(state: DutyState) -> dict:
    return {"on_duty": state.on_duty, "since": ser.iso(state.since)}


@api.get("/duty")
@documented(json_response(ref("Duty")), errors=(403,))
def get_duty():
    """Therapists and pediatricians: your duty as it counts now ``{on_duty, since}``.

    It ends by itself when none of your sessions has been connected for the grace time; 403 for
    anyone but a therapist or pediatrician."""
    return jsonify(_duty_json(urgent.duty_of(db_session(), current_actor(), now=now(), settings=settings())))


@api.put("/duty")
@documented(json_response(ref("Duty")), errors=(403,), body=DUTY)
def put_duty():
    """Therapists and pediatricians: go on or off duty ``{on_duty: bool}``.

    403 for anyone but a therapist or pediatrician; 422 unless ``on_duty`` is true or false."""
    actor = current_actor()
    urgent.doctor_of(db_session(), actor)  # 403 before the body is read
    on = bool(DUTY.read()["on_duty"])
    with database().transaction() as s:
        state = urgent.set_duty(s, actor, on, now=now(), settings=settings())
    deliver_outbox()
    return jsonify(_duty_json(state))
