"""Pages: «Второе медицинское мнение» — the member's requests and the form to make one; one
request with its documents and history; for curators, every request, its steps and the report."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from telemed import errors
from telemed.auth.web import current_actor
from telemed.error_handlers import translate
from telemed.members import service as members
from telemed.opinions import rules
from telemed.opinions import service as opinions
from telemed.records.audit_web import audited
from telemed.web import database, db_session, now

bp = Blueprint("opinions", __name__)


def _tz() -> ZoneInfo:
    return ZoneInfo(current_app.config["CLINIC_TIMEZONE"])


def _list_page(form: dict | None = None, error: str | None = None, status: int = 200):
    actor = current_actor()
    with audited("second_opinion", "read") as ctx:
        items = opinions.list_for(db_session(), ctx["actor"], limit=100)
        views = [opinions.opinion_json(db_session(), o, now()) for o in items]
    for v in views:
        v["due"] = datetime.fromisoformat(v["contact_due_at"])
    patients = members.bookable_patients(db_session(), actor.id) if actor.is_member else []
    page = render_template(
        "opinions/list.html",
        opinions=views,
        patients=patients,
        form=form or {},
        error=error,
        channels=rules.CHANNELS,
    )
    return page, status


@bp.get("/second-opinions")
def list_page():
    """The member's requests and the request form; curators: every request, overdue first."""
    return _list_page()


@bp.post("/second-opinions")
def request_page():
    """The request form («Запросить второе мнение»); a refusal shows the form again with the input kept."""
    form = request.form
    data = {
        "patient_id": int(form["patient_id"]) if form.get("patient_id", "").isdigit() else None,
        "icd10": form.get("icd10", "").strip(),
        "condition": form.get("condition", ""),
        "question": form.get("question", ""),
        "contact": {"channel": form.get("channel") or "phone", "phone": form.get("phone") or None},
    }
    try:
        with audited("second_opinion", "write") as ctx, database().transaction() as s:
            opinion = opinions.request_opinion(
                s,
                ctx["actor"],
                data,
                now=now(),
                tz=_tz(),
                consent_version=current_app.config["CONSENT_VERSION"],
            )
            ctx["patient_id"], ctx["object_id"] = opinion.patient_id, opinion.id
            opinion_id = opinion.id
    except (errors.ValidationFailed, errors.OpinionAlreadyGiven, errors.PolicyInactive) as exc:
        return _list_page(form.to_dict(), exc.render(translate), 422 if exc.status == 422 else 409)
    flash(_("Your request is sent. A curator will contact you by the date shown."), "success")
    return redirect(url_for(".detail_page", opinion_id=opinion_id))


@bp.get("/second-opinions/<int:opinion_id>")
def detail_page(opinion_id: int):
    """One request: its state, deadline, documents and history; its next step for curators."""
    with audited("second_opinion", "read", object_id=opinion_id) as ctx:
        opinion = opinions.get_for(db_session(), ctx["actor"], opinion_id)
        ctx["patient_id"] = opinion.patient_id
        view = opinions.opinion_json(db_session(), opinion, now())
    view["due"] = datetime.fromisoformat(view["contact_due_at"])
    actor = current_actor()
    return render_template(
        "opinions/detail.html",
        o=view,
        next_status=rules.TRANSITIONS.get(view["status"]) if actor.is_curator else None,
        can_upload=rules.takes_documents(view["status"], by_curator=actor.is_curator),
    )


@bp.post("/second-opinions/<int:opinion_id>/status")
def move_page(opinion_id: int):
    """A curator's next step, with a note."""
    with (
        audited("second_opinion", "write", object_id=opinion_id) as ctx,
        database().transaction() as s,
    ):
        opinion = opinions.move(
            s, ctx["actor"], opinion_id, request.form.get("status"), request.form.get("note"), now=now()
        )
        ctx["patient_id"] = opinion.patient_id
    flash(_("Status changed."), "success")
    return redirect(url_for(".detail_page", opinion_id=opinion_id))


@bp.post("/second-opinions/<int:opinion_id>/documents")
def upload_page(opinion_id: int):
    """Add a document from the page (the member's results; a curator's: the expert's report)."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash(_("Choose a file."), "error")
        return redirect(url_for(".detail_page", opinion_id=opinion_id))
    with audited("attachment", "write", object_id=f"opinion:{opinion_id}") as ctx:
        row = opinions.upload_document(
            database(),
            current_app.extensions["telemed.storage"],
            ctx["actor"],
            opinion_id,
            stream=upload.stream,
            filename=upload.filename,
            max_size=int(current_app.config["MAX_UPLOAD_MB"]) * 1024 * 1024,
            now=now(),
        )
        ctx["patient_id"], ctx["object_id"] = row.patient_id, row.id
    flash(_("Document added."), "success")
    return redirect(url_for(".detail_page", opinion_id=opinion_id))
