"""Pages of the urgent queue: the member's request form (on the cabinet and on the therapist's and
pediatrician's pages), the waiting view inside the consultation page (the ``urgent`` panel), and
the duty desk of therapists and pediatricians. The queue's live parts are driven by
``static/js/urgent/`` over Socket.IO and the JSON API."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from telemed import errors, inputs
from telemed.auth.actor import Actor
from telemed.auth.web import current_actor
from telemed.catalog.specialties import BY_CODE
from telemed.error_handlers import translate
from telemed.scheduling.access import REASON_MAX
from telemed.scheduling.models import Consultation, Mode, Status
from telemed.scheduling.views import CONSULTATION_PANELS
from telemed.urgent import duty, queue
from telemed.urgent import service as urgent
from telemed.urgent.settings import UrgentSettings
from telemed.web import database, db_session, deliver_outbox, now

bp = Blueprint("urgent", __name__)


def settings() -> UrgentSettings:
    return UrgentSettings.from_config(current_app.config)


@bp.post("/urgent/request")
def request_urgent():
    """Ask for an urgent consultation (form: ``patient_id`` (default: yourself), ``reason``, CSRF),
    then go to its page. Refusals are flashed on the page the form was on; ``already_waiting``
    leads to the request already open."""
    actor = current_actor()
    patient_id = request.form.get("patient_id", type=int)
    if patient_id is not None:
        patient_id = inputs.known_id(patient_id)
    reason = inputs.clean_text(request.form.get("reason", ""), "reason", max_len=REASON_MAX)
    try:
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
            consultation_id = c.id
    except errors.AlreadyWaiting as exc:
        open_id = urgent.open_request_of(db_session(), actor, patient_id)
        if open_id is None:
            raise
        flash(exc.render(translate), "error")
        return redirect(url_for("scheduling.consultation", consultation_id=open_id))
    deliver_outbox()
    flash(_("You are in the urgent queue. A doctor on duty will take your request."), "success")
    return redirect(url_for("scheduling.consultation", consultation_id=consultation_id))


@bp.get("/duty")
def desk():
    """The duty desk: the on/off duty switch and the live queue of the doctor's specialty with a
    «take» button; 403 for anyone but a therapist or pediatrician."""
    actor = current_actor()
    s = db_session()
    doctor = urgent.doctor_of(s, actor)
    state = urgent.duty_of(s, actor, now=now(), settings=settings())
    return render_template(
        "urgent/desk.html", doctor=doctor, specialty=BY_CODE[doctor.specialty_code], on_duty=state.on_duty
    )


def urgent_panel(actor: Actor, c: Consultation) -> dict:
    """The waiting view of an urgent request (``urgent/_waiting.html``): its place in the queue
    while it waits. Registered as the ``urgent`` panel of the consultation page."""
    if c.mode != Mode.URGENT:
        return {}
    state = queue.state_of(db_session(), c, now=now(), settings=settings())
    return {
        "waiting": c.status == Status.WAITING,
        "state": state,
        "queue": state.as_dict() if state else None,
    }


def _register(setup_state) -> None:
    setup_state.app.extensions.setdefault(CONSULTATION_PANELS, {})["urgent"] = urgent_panel


bp.record_once(_register)


@bp.app_context_processor
def _desk_link() -> dict:
    def has_duty_desk() -> bool:
        """Whether the logged-in user is a therapist or pediatrician (the navigation links the desk)."""
        actor = current_actor()
        return actor.is_doctor and duty.urgent_doctor(db_session(), actor.id) is not None

    return {"has_duty_desk": has_duty_desk}
