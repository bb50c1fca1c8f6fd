"""Pages: the conclusion on the consultation page, the doctor's conclusion editor, the e-card, patient search.

Access follows the domain services exactly (``scheduling.get_for``, ``ecard.patient_for_record``,
``patient_search.search_patients``) and every read of e-card data is audited the way the JSON API audits it.
The editor itself talks to the JSON API from ``static/js/conclusion-editor.js``.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from telemed import errors, inputs
from telemed.auth.actor import Actor
from telemed.auth.web import current_actor
from telemed.catalog.specialties import BY_CODE, SPECIALTIES
from telemed.members import service as members
from telemed.records import access, audit, ecard, patient_search, sharing, visits
from telemed.records import conclusions as service
from telemed.records.audit_web import audited, log_join
from telemed.records.models import Conclusion, Visit
from telemed.scheduling import service as scheduling
from telemed.scheduling.models import Consultation, Status
from telemed.scheduling.views import CONCLUSION_STATES, CONSULTATION_PANELS
from telemed.translatable import _l
from telemed.video.events import JOIN_AUDIT
from telemed.web import clinic_tz, database, db_session, now, viewer_tz

bp = Blueprint("records", __name__)
PAGE_SIZE = 20
MAX_PAGE = 10_000
CLOSED = (Status.CANCELLED, Status.NO_SHOW)


def _conclusion_of(consultation_id: int) -> Conclusion | None:
    return db_session().scalar(select(Conclusion).where(Conclusion.consultation_id == consultation_id))


def conclusion_panel(actor: Actor, c: Consultation) -> dict:
    """What the viewer of consultation ``c`` sees of its conclusion (for ``records/_conclusion.html``).

    The consultation's doctor gets the state and a link to the editor; the patient and the guardian
    the signed conclusion only (that read is audited like ``GET /conclusion``); nothing while unsigned.
    Registered as the ``conclusion`` panel of the consultation page (``scheduling.views``).
    """
    conclusion = _conclusion_of(c.id)
    closed = c.status in CLOSED
    if access.may_write_conclusion(actor, c):
        state = "none" if conclusion is None else ("signed" if conclusion.signed_at else "draft")
        return {"doctor": True, "state": state, "conclusion": conclusion, "closed": closed}
    if conclusion is None or conclusion.signed_at is None:
        return {"doctor": False, "state": "none", "conclusion": None, "closed": closed}
    with audited("conclusion", "read", object_id=c.id, patient_id=c.patient_id) as ctx:
        _consultation, conclusion = service.conclusion_for(db_session(), ctx["actor"], c.id)
    return {"doctor": False, "state": "signed", "conclusion": conclusion, "closed": closed}


def history_panel(actor: Actor, c: Consultation) -> dict | None:
    """For the consultation's doctor: a link to the patient's e-card and the latest earlier
    conclusions at a glance, as the e-card shows them to this doctor (need-to-know applies)."""
    if not access.may_write_conclusion(actor, c):
        return None
    try:
        _patient, reader = ecard.record_for(db_session(), actor, c.patient_id, now=now())
    except errors.NotFound:  # no longer caring for the patient (30 days after the visit)
        return None
    entries = ecard.entries(db_session(), c.patient_id, ecard.EntryFilter(kind="conclusion"), reader, limit=6)
    earlier = [e for e in entries if e.get("consultation_id") != c.id][:5]
    for e in earlier:
        e["at"] = datetime.fromisoformat(e["date"])
    return {"patient_id": c.patient_id, "earlier": earlier}


def conclusion_states(session, consultation_ids: list[int]) -> dict[int, str]:
    """``{consultation id: "draft" | "signed"}`` of those that have a conclusion (one query)."""
    if not consultation_ids:
        return {}
    rows = session.execute(
        select(Conclusion.consultation_id, Conclusion.signed_at).where(
            Conclusion.consultation_id.in_(consultation_ids)
        )
    )
    return {cid: ("signed" if signed_at else "draft") for cid, signed_at in rows}


def _register_panel(state) -> None:
    state.app.extensions.setdefault(CONSULTATION_PANELS, {})["conclusion"] = conclusion_panel
    state.app.extensions[CONCLUSION_STATES] = conclusion_states
    state.app.extensions[CONSULTATION_PANELS]["history"] = history_panel
    state.app.extensions[JOIN_AUDIT] = log_join  # the socket's join reads the chat history


bp.record_once(_register_panel)


@bp.get("/consultations/<int:consultation_id>/conclusion")
def editor(consultation_id: int):
    """The conclusion editor: only the consultation's doctor; 404 to everyone else, the patient included."""
    with audited("conclusion", "read", object_id=consultation_id) as ctx:
        c = scheduling.get_for(db_session(), ctx["actor"], consultation_id)
        if not access.may_write_conclusion(ctx["actor"], c):
            raise errors.NotFound(_l("Consultation not found."))
        ctx["patient_id"] = c.patient_id
        conclusion = _conclusion_of(c.id)
    signed = conclusion is not None and conclusion.signed_at is not None
    state = "signed" if signed else ("closed" if c.status in CLOSED else "draft")
    return render_template(
        "records/editor.html", c=c, conclusion=conclusion, state=state, specialties=SPECIALTIES
    )


# --- the e-card -------------------------------------------------------------------------------------------


def _day(value: str | None) -> date | None:
    """A filter's ``YYYY-MM-DD`` between ``inputs.DATE_MIN`` and ``DATE_MAX``, else None (dropped)."""
    try:
        day = date.fromisoformat(value) if value and len(value) == 10 else None
    except ValueError:
        return None
    return day if day and inputs.DATE_MIN.date() <= day < inputs.DATE_MAX.date() else None


def _control_free(text: str) -> str:
    try:
        return inputs.clean_text(text, "text", max_len=200)
    except errors.ValidationFailed:
        return ""


def _filters(args) -> tuple[ecard.EntryFilter, dict]:
    """The GET form's filters; values the form cannot produce are dropped rather than refused."""
    kind = args.get("kind") if args.get("kind") in ecard.KINDS else None
    specialty = args.get("specialty") if args.get("specialty") in BY_CODE else None
    text = _control_free((args.get("text") or "").strip()[:200]) or None
    start, end = _day(args.get("from")), _day(args.get("to"))
    tz = viewer_tz()
    f = ecard.EntryFilter(
        kind=kind,
        specialty=specialty,
        text=text,
        start=datetime.combine(start, time.min, tzinfo=tz) if start else None,
        end=datetime.combine(end + timedelta(days=1), time.min, tzinfo=tz) if end else None,
    )
    form = {
        "kind": kind or "",
        "specialty": specialty or "",
        "text": text or "",
        "from": start.isoformat() if start else "",
        "to": end.isoformat() if end else "",
    }
    return f, form


def _party_consultations(actor: Actor, ids: set[int]) -> set[int]:
    """Of ``ids``, the consultations the actor takes part in (may open the page, the PDF, the documents)."""
    asks = [(actor.id, cid) for cid in ids]
    return {cid for _, cid in scheduling.states_for_many(db_session(), asks)}


def _view_entries(actor, items: list[dict]) -> list[dict]:
    """E-card entries with what the page shows beside them: links for participants, details otherwise."""
    hidden = [e for e in items if e.get("restricted")]
    items = [e for e in items if not e.get("restricted")]
    party = _party_consultations(actor, {e["consultation_id"] for e in items if e["consultation_id"]})
    s = db_session()
    conclusion_ids = [
        e["object_id"] for e in items if e["kind"] == "conclusion" and e["consultation_id"] not in party
    ]
    conclusions = (
        {x.id: x for x in s.scalars(select(Conclusion).where(Conclusion.id.in_(conclusion_ids)))}
        if conclusion_ids
        else {}
    )
    visit_ids = [e["object_id"] for e in items if e["kind"] == "visit"]
    visits = {v.id: v for v in s.scalars(select(Visit).where(Visit.id.in_(visit_ids)))} if visit_ids else {}
    # a chat document goes with its consultation; a visit document (no consultation) with the e-card itself
    shown = [
        {
            **e,
            "at": datetime.fromisoformat(e["date"]),
            "party": e["consultation_id"] in party,
            "downloadable": e["kind"] == "document"
            and (not e["consultation_id"] or e["consultation_id"] in party),
            "conclusion": conclusions.get(e["object_id"]) if e["kind"] == "conclusion" else None,
            "visit": visits.get(e["object_id"]) if e["kind"] == "visit" else None,
        }
        for e in items
    ]
    restricted = [{**e, "id": None, "at": datetime.fromisoformat(e["date"])} for e in hidden]
    return sorted(shown + restricted, key=lambda e: e["at"], reverse=True)


def _record_page(
    patient_id: int, *, visit_form: dict | None = None, visit_error: errors.DomainError | None = None
):
    f, form = _filters(request.args)
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), MAX_PAGE)
    with audited("record", "read", patient_id=patient_id) as ctx:
        actor = ctx["actor"]
        patient, reader = ecard.record_for(db_session(), actor, patient_id, now=now())
        items = ecard.entries(
            db_session(), patient_id, f, reader, limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE
        )
    switch = members.bookable_patients(db_session(), actor.id) if actor.is_member else []

    def page_url(n: int) -> str:
        return url_for(".record", patient_id=patient_id, **{k: v for k, v in form.items() if v}, page=n)

    return render_template(
        "records/ecard.html",
        patient=patient,
        entries=_view_entries(actor, items[:PAGE_SIZE]),
        filters=form,
        filtered=any(form.values()),
        page=page,
        has_next=len(items) > PAGE_SIZE,
        page_url=page_url,
        kinds=ecard.KINDS,
        specialties=SPECIALTIES,
        switch=switch if len(switch) > 1 else [],
        can_add_visit=access.may_add_visit(actor),
        can_share=access.may_share_entry(
            acts_for_patient=members.may_act_for(db_session(), actor.id, patient)
        ),
        can_read_access_log=access.may_read_access_log(
            actor, is_own_record=patient.user_id == actor.id, may_read=True
        ),
        visit_form=visit_form or {},
        visit_error=_visit_error_message(visit_error) if visit_error else None,
        visit_error_field=(visit_error.details or {}).get("field") if visit_error else None,
        today=now().astimezone(clinic_tz()).date(),
    )


@bp.get("/patients/<int:patient_id>/record")
def record(patient_id: int):
    """A patient's e-card: every kind of entry, newest first, filtered and paginated; 404 without access."""
    return _record_page(patient_id)


ACCESS_LOG_PAGE = 50
ROLE_TITLES = {
    "member": _l("Member"),
    "doctor": _l("Doctor"),
    "records": _l("Records staff"),
    "admin": _l("Administrator"),
    "curator": _l("Curator"),
    "system": _l("System"),
    "anonymous": _l("Unknown"),
}
WHAT_TITLES = {
    "record": _l("Medical record"),
    "conclusion": _l("Medical conclusion"),
    "attachment": _l("Document"),
    "pdf": _l("Conclusion (PDF)"),
    "visit": _l("In-person visit"),
    "fhir": _l("Record export (FHIR)"),
    "access_log": _l("This access log"),
    "chat": _l("Consultation chat"),
    "consultation": _l("Consultation"),
    "urgent_request": _l("Urgent request"),
    "patient_search": _l("Patient search"),
    "complaint": _l("Complaint"),
    "second_opinion": _l("Second medical opinion"),
}


@bp.get("/patients/<int:patient_id>/record/access-log")
def access_log_page(patient_id: int):
    """«Кто открывал мою медкарту»: who opened the record, what and when, refused attempts marked
    (the patient, a guardian, records staff and admins; 404 to others)."""
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), MAX_PAGE)
    with audited("access_log", "read", patient_id=patient_id) as ctx:
        patient = ecard.patient_for_access_log(db_session(), ctx["actor"], patient_id, now=now())
        rows = audit.access_log(
            db_session(), patient_id, limit=ACCESS_LOG_PAGE + 1, offset=(page - 1) * ACCESS_LOG_PAGE
        )
    names = audit.actor_names(db_session(), rows)
    tz = viewer_tz()
    events = [
        {
            "at": r.at.astimezone(tz),
            "name": names.get(r.actor_id or 0),
            "role": ROLE_TITLES.get(r.actor_role, r.actor_role),
            "what": WHAT_TITLES.get(r.object_type, r.object_type),
            "action": r.action,
            "denied": r.outcome == "denied",
        }
        for r in rows[:ACCESS_LOG_PAGE]
    ]
    return render_template(
        "records/access_log.html",
        patient=patient,
        events=events,
        page=page,
        has_next=len(rows) > ACCESS_LOG_PAGE,
    )


@bp.post("/patients/<int:patient_id>/record/entries/<entry_id>/sharing")
def share_entry(patient_id: int, entry_id: str):
    """«Показать врачам» / «Скрыть от врачей» on the e-card (the form's ``shared`` is 1 or 0), as
    ``PUT /api/v1/.../sharing`` does; back to the e-card with a notice (a refusal is flashed, as on
    every form)."""
    shared = request.form.get("shared") == "1"
    action = "share" if shared else "unshare"
    with (
        audited("record", action, patient_id=patient_id, object_id=entry_id[:64]) as ctx,
        database().transaction() as s,
    ):
        sharing.set_shared(
            s,
            ctx["actor"],
            patient_id,
            entry_id,
            shared,
            now=now(),
            consent_version=current_app.config["CONSENT_VERSION"],
        )
    if shared:
        flash(_("Doctors caring for you now see this entry."), "success")
    else:
        flash(_("Only you, records staff and the specialist who made this entry see it now."), "success")
    return redirect(url_for(".record", patient_id=patient_id))


@bp.get("/record")
def my_record():
    """The member's own e-card (a guardian without an own record: the first child's)."""
    actor = current_actor()
    patients = members.bookable_patients(db_session(), actor.id)
    if not patients:
        raise errors.NotFound(_l("Patient not found."))
    return redirect(url_for(".record", patient_id=patients[0].id))


def _visit_error_message(exc: errors.DomainError) -> str:
    field = str((exc.details or {}).get("field"))
    messages = {
        "date": _("Enter the date of the visit; it cannot be in the future."),
        "clinic": _("Enter the clinic."),
        "doctor_name": _("Enter the doctor's name."),
        "specialty": _("Choose a specialty from the list."),
        "diagnosis.icd10": _("Choose a code from the ICD-10 list."),
    }
    return messages.get(field, _("Some fields are invalid."))


@bp.post("/patients/<int:patient_id>/record/visits")
def add_visit(patient_id: int):
    """Records staff add an in-person visit from the e-card form (CSRF-checked like every page form)."""
    form = request.form
    specialty = form.get("specialty") or None
    data = {
        "date": form.get("date", ""),
        "clinic": form.get("clinic", ""),
        "doctor_name": form.get("doctor_name", ""),
        "notes": form.get("notes", ""),
        "specialty": specialty,
        "diagnosis": {"icd10": form.get("diagnosis_icd10") or None, "text": form.get("diagnosis_text", "")},
    }
    try:
        if specialty is not None and specialty not in BY_CODE:
            raise errors.ValidationFailed(_l("Unknown specialty."), details={"field": "specialty"})
        with audited("visit", "write", patient_id=patient_id) as ctx, database().transaction() as s:
            visit = visits.add_visit(s, ctx["actor"], patient_id, data, now=now(), clinic_tz=clinic_tz())
            ctx["object_id"] = visit.id
    except errors.ValidationFailed as exc:
        return _record_page(patient_id, visit_form=form.to_dict(), visit_error=exc), 422
    flash(_("In-person visit added."), "success")
    return redirect(url_for(".record", patient_id=patient_id))


# --- the records staff's workspace --------------------------------------------------------------------------


@bp.get("/patients")
def patients():
    """Records staff and admins search patients by name, birth date (ДД.ММ.ГГГГ) or policy; 403 to others."""
    actor = current_actor()
    if not access.may_search_patients(actor):
        raise errors.NotPermitted(_l("Only records staff search patients."))
    q = request.args.get("q", "").strip()[:100]
    found, message = None, None
    if q:
        try:
            # the query may hold a name or a birth date: the audit row records that a search ran, not what
            with audited("patient_search", "search") as ctx:
                found = patient_search.search_patients(db_session(), ctx["actor"], q, limit=50)
        except errors.ValidationFailed:
            message = _("Type at least 2 characters.")
    return render_template("records/patients.html", q=q, found=found, message=message)
