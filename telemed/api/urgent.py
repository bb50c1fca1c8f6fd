"""API: the urgent queue. Members request; therapists and pediatricians go on duty, see the
queue and take requests. Cancelling a waiting request and finishing the visit are the
consultation's own operations (``api.consultations``)."""

from __future__ import annotations

import logging

from flask import current_app, jsonify, url_for

from telemed import errors
from telemed.api import api
from telemed.api import serializers as ser
from telemed.api.parsing import field_int, field_str, json_body
from telemed.auth.web import current_actor
from telemed.scheduling.access import REASON_MAX
from telemed.translatable import _l
from telemed.urgent import queue
from telemed.urgent import service as urgent
from telemed.urgent.duty import DutyState
from telemed.urgent.settings import UrgentSettings
from telemed.web import database, db_session, now

log = logging.getLogger(__name__)


def settings() -> UrgentSettings:
    return UrgentSettings.from_config(current_app.config)


def relay() -> None:
    """Send what the transaction just committed wrote to the outbox. A failure here does not undo
    the request's success: the background relay sends it within half a second."""
    try:
        current_app.extensions["telemed.relay"].deliver()
    except Exception:
        log.exception("sending the outbox after a commit failed")


def consultation_body(session, c) -> dict:
    """A consultation with its place in the queue while it waits."""
    state = queue.state_of(session, c, now=now(), settings=settings())
    return ser.consultation(c, queue=state.as_dict() if state else None)


@api.post("/urgent")
def request_urgent():
    """Request an urgent consultation ``{patient_id?, reason?}``: 201 with ``status: waiting`` and
    ``queue``; 409 ``already_waiting``; 422 ``not_covered``, ``policy_inactive``,
    ``consent_required``, ``not_guardian``."""
    actor = current_actor()
    data = json_body()
    patient_id = field_int(data, "patient_id", required=False)
    reason = field_str(data, "reason", required=False, max_len=REASON_MAX)
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
    relay()
    response = jsonify(body)
    response.status_code = 201
    response.headers["Location"] = url_for("api.get_consultation", consultation_id=body["id"])
    return response


@api.get("/urgent/queue")
def urgent_queue():
    """The waiting requests of the calling therapist's or pediatrician's specialty, oldest first;
    403 ``forbidden`` for anyone else."""
    return jsonify(urgent.queue_for(db_session(), current_actor(), now=now(), settings=settings()))


@api.post("/urgent/<int:consultation_id>/claim")
def claim_urgent(consultation_id: int):
    """Take a waiting request: 200 ``in_progress`` with the doctor, start and end; 409
    ``already_claimed`` (another doctor was first), ``busy`` (an urgent consultation of yours is in
    progress), ``consultation_cancelled``; 404 for anyone but a doctor of its specialty."""
    actor = current_actor()
    with database().transaction() as s:
        c = urgent.claim(s, actor, consultation_id, now=now(), settings=settings())
        body = ser.consultation(c)
    relay()
    return jsonify(body)


def _duty_json(state: DutyState) -> dict:
    return {"on_duty": state.on_duty, "since": ser.iso(state.since)}


@api.get("/duty")
def get_duty():
    """The caller's duty as it counts now ``{on_duty, since}``; 403 for anyone but a therapist or
    pediatrician."""
    return jsonify(_duty_json(urgent.duty_of(db_session(), current_actor(), now=now(), settings=settings())))


@api.put("/duty")
def put_duty():
    """Go on or off duty ``{on_duty: bool}`` → ``{on_duty, since}``; 403 for anyone but a
    therapist or pediatrician; 422 unless ``on_duty`` is true or false."""
    actor = current_actor()
    urgent.doctor_of(db_session(), actor)  # 403 before the body is read
    on = json_body().get("on_duty")
    if not isinstance(on, bool):
        raise errors.ValidationFailed(
            _l("'%(name)s' must be true or false.", name="on_duty"), details={"field": "on_duty"}
        )
    with database().transaction() as s:
        state = urgent.set_duty(s, actor, on, now=now(), settings=settings())
    relay()
    return jsonify(_duty_json(state))
