"""Pages: the rating on the consultation page (the patient and a guardian), the doctor's own
rating on the schedule, and the curator service's complaints."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from telemed.auth.actor import Actor
from telemed.auth.web import current_actor
from telemed.feedback import rules
from telemed.feedback import service as feedback
from telemed.members import service as members
from telemed.records.audit_web import audited
from telemed.scheduling.models import Consultation
from telemed.scheduling.views import CONSULTATION_PANELS
from telemed.web import database, db_session, now

bp = Blueprint("feedback", __name__)


def rating_panel(actor: Actor, c: Consultation) -> dict | None:
    """The «Оценка обращения» panel of the consultation page: for the patient and a guardian once
    the consultation has ended (registered as the ``rating`` panel)."""
    if not actor.is_member or not members.may_act_for(db_session(), actor.id, c.patient):
        return None
    if not rules.has_ended(c.status, c.ends_at, now()):
        return None
    panel = feedback.rating_for(db_session(), actor, c.id, now=now())
    until = panel["editable_until"]
    return {**panel, "starts": c.starts_at, "until": datetime.fromisoformat(until) if until else None}


def _my_rating() -> dict | None:
    """The logged-in doctor's average and count (for the schedule page), else None."""
    actor = current_actor()
    return feedback.doctor_summary(db_session(), actor) if actor.is_doctor else None


def _register(state) -> None:
    state.app.extensions.setdefault(CONSULTATION_PANELS, {})["rating"] = rating_panel
    state.app.jinja_env.globals["my_rating"] = _my_rating


bp.record_once(_register)


def _score(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


@bp.post("/consultations/<int:consultation_id>/rating")
def rate(consultation_id: int):
    """The rating form: confirm the visit, scores and a comment; back to the consultation page."""
    form = request.form
    data = {
        "happened": form.get("happened"),
        "doctor_score": _score(form.get("doctor_score")),
        "service_score": _score(form.get("service_score")),
        "comment": form.get("comment", ""),
    }
    with database().transaction() as s:
        body = feedback.rate(s, current_actor(), consultation_id, data, now=now())
    if body["complaint"] and body["complaint"]["status"] == "open":
        flash(_("Thank you. The curator service will look into it and contact you."), "success")
    else:
        flash(_("Thank you for your rating."), "success")
    return redirect(url_for("scheduling.consultation", consultation_id=consultation_id) + "#rating")


@bp.get("/complaints")
def complaints_page():
    """The curator service's complaints: open ones first; taking and closing them (403 to others)."""
    status = request.args.get("status")
    status = status if status in rules.COMPLAINT_STATUSES else None
    with audited("complaint", "read") as ctx:
        items = feedback.complaints(db_session(), ctx["actor"], status=status, limit=100)
    return render_template("feedback/complaints.html", complaints=items, status=status or "")


@bp.post("/complaints/<int:complaint_id>/status")
def move_complaint(complaint_id: int):
    """Take (``in_progress``) or close a complaint from the curators' page, with a note."""
    new = request.form.get("status")
    with (
        audited("complaint", "write", object_id=complaint_id) as ctx,
        database().transaction() as s,
    ):
        body = feedback.move_complaint(
            s, ctx["actor"], complaint_id, new, request.form.get("note"), now=now()
        )
        ctx["patient_id"] = body["patient"]["id"]
    flash(_("Complaint closed.") if new == "closed" else _("You are handling this complaint."), "success")
    return redirect(url_for(".complaints_page"))
