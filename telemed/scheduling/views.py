"""Pages: the personal cabinet, the booking flow, a consultation, the doctor's schedule."""

from __future__ import annotations

from collections import OrderedDict
from datetime import datetime, time, timedelta

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from telemed import errors, inputs
from telemed.auth.web import current_actor
from telemed.catalog import service as catalog
from telemed.catalog.models import Doctor
from telemed.catalog.specialties import BY_CODE
from telemed.headers import allow_camera_and_microphone
from telemed.members import rules as member_rules
from telemed.members import service as members
from telemed.scheduling import access, doctors, slots
from telemed.scheduling import service as scheduling
from telemed.scheduling.cabinet import covered_codes, me_payload
from telemed.scheduling.models import Mode, Slot
from telemed.scheduling.status import OPEN_STATUSES
from telemed.translatable import _l
from telemed.web import clinic_tz, database, db_session, deliver_outbox, now, viewer_tz

bp = Blueprint("scheduling", __name__)
BOOKING_DAYS = 14

#: ``app.extensions`` key of the consultation page's extra panels: ``{name: build(actor, consultation)
#: -> dict}``. Features above this one register theirs (``records`` adds ``conclusion``), so the page
#: shows them without this package importing those features; each is computed before rendering.
CONSULTATION_PANELS = "telemed.consultation_panels"
#: ``app.extensions`` key: ``states(session, consultation ids) -> {id: "draft" | "signed"}`` of their
#: conclusions, registered by ``records`` (the schedule's "conclusion pending" filter and marks).
CONCLUSION_STATES = "telemed.conclusion_states"
SCHEDULE_VIEWS = ("upcoming", "today", "past")
PAST_DAYS = 30


def _me(session, actor) -> dict:
    return me_payload(
        session,
        actor,
        today=now().astimezone(clinic_tz()).date(),
        consent_version=current_app.config["CONSENT_VERSION"],
    )


@bp.get("/cabinet")
def cabinet():
    """Personal cabinet: teleconsultations (upcoming and past) and entitlements."""
    actor = current_actor()
    s = db_session()
    t = now()
    return render_template(
        "scheduling/cabinet.html",
        me=_me(s, actor),
        upcoming=scheduling.list_for(s, actor, when="upcoming", now=t),
        past=scheduling.list_for(s, actor, when="past", now=t, limit=20),
    )


@bp.get("/consultations/new")
def choose_specialty():
    """Step 1: choose a specialty."""
    actor = current_actor()
    me = _me(db_session(), actor)
    return render_template(
        "scheduling/specialties.html",
        specialties=catalog.specialties(db_session()),
        me=me,
        covered=covered_codes(me),
    )


@bp.get("/consultations/new/<code>")
def choose_doctor(code: str):
    """Step 2: doctors of the specialty with experience, education, degree and next free slot; for
    the therapist and the pediatrician also the urgent request form."""
    actor = current_actor()
    if code not in BY_CODE:
        raise errors.NotFound(_l("Unknown specialty."))
    t = now()
    cards = doctors.doctors_for(db_session(), code, today=t.astimezone(clinic_tz()).date(), now=t)
    order = request.args.get("sort", "experience")
    if order == "experience_asc":
        cards = list(reversed(cards))
    elif order == "name":
        cards = sorted(cards, key=lambda c: c.doctor.full_name)
    return render_template(
        "scheduling/doctors.html",
        specialty=BY_CODE[code],
        cards=cards,
        sort=order,
        me=_me(db_session(), actor) if BY_CODE[code].urgent else None,
    )


def _slots_by_day(slots: list[Slot]) -> OrderedDict:
    tz = viewer_tz()
    days: OrderedDict = OrderedDict()
    for slot in slots:
        days.setdefault(slot.starts_at.astimezone(tz).date(), []).append(slot)
    return days


@bp.get("/consultations/new/doctor/<int:doctor_id>")
def choose_slot(doctor_id: int):
    """Step 3: free slots by day, in the viewer's time zone."""
    current_actor()
    doctor = db_session().get(Doctor, doctor_id)
    if doctor is None or not doctor.is_active:
        raise errors.NotFound(_l("Doctor not found."))
    t = now()
    tz = viewer_tz()
    days = _slots_by_day(
        slots.free_slots(db_session(), doctor_id, start=t, end=t + timedelta(days=BOOKING_DAYS), now=t)
    )
    chosen = request.args.get("day")
    day = next((d for d in days if d.isoformat() == chosen), next(iter(days), None))
    return render_template(
        "scheduling/slots.html",
        doctor=doctor,
        specialty=BY_CODE[doctor.specialty_code],
        days=days,
        day=day,
        tz=tz,
    )


@bp.route("/consultations/new/slot/<int:slot_id>", methods=["GET", "POST"])
def confirm(slot_id: int):
    """Step 4: confirm for self or a dependant; books on POST."""
    actor = current_actor()
    s = db_session()
    slot = s.get(Slot, slot_id)
    if slot is None:
        raise errors.NotFound(_l("This time slot does not exist."))
    if request.method == "POST":
        patient_id = request.form.get("patient_id", type=int)
        if patient_id is not None:
            patient_id = inputs.known_id(patient_id)
        reason = inputs.clean_text(request.form.get("reason", ""), "reason", max_len=access.REASON_MAX)
        with database().transaction() as ws:
            c = scheduling.book(
                ws,
                actor,
                slot_id=slot_id,
                patient_id=patient_id,
                reason=reason,
                now=now(),
                clinic_tz=clinic_tz(),
                consent_version=current_app.config["CONSENT_VERSION"],
            )
            consultation_id = c.id
        flash(_("Teleconsultation booked."), "success")
        return redirect(url_for("scheduling.consultation", consultation_id=consultation_id))
    me = _me(s, actor)
    return render_template(
        "scheduling/confirm.html",
        slot=slot,
        doctor=slot.doctor,
        specialty=BY_CODE[slot.doctor.specialty_code],
        me=me,
    )


@bp.get("/consultations/<int:consultation_id>")
def consultation(consultation_id: int):
    """One consultation: details, the cancel form while allowed, the chat and other features' panels."""
    actor = current_actor()
    c = scheduling.get_for(db_session(), actor, consultation_id)
    panels = {
        name: build(actor, c) for name, build in current_app.extensions.get(CONSULTATION_PANELS, {}).items()
    }
    if (panels.get("urgent") or {}).get("waiting"):
        allow_camera_and_microphone()  # the waiting view turns into the video room
    return render_template(
        "scheduling/consultation.html",
        c=c,
        specialty=BY_CODE[c.specialty_code],
        cancellable=access.may_cancel(actor, c, now()),
        reason_required=access.cancel_reason_required(actor, c),
        reason_max=access.REASON_MAX,
        room_link=c.status in OPEN_STATUSES,
        precall_check=access.may_run_precall_check(actor),
        finishable=access.may_finish(actor, c),
        panels=panels,
    )


@bp.post("/consultations/<int:consultation_id>/cancel")
def cancel(consultation_id: int):
    """Cancel a consultation before its start; the doctor gives a reason (form field ``reason``)."""
    actor = current_actor()
    reason = inputs.clean_text(request.form.get("reason", ""), "reason", max_len=access.REASON_MAX)
    with database().transaction() as s:
        scheduling.cancel(s, actor, consultation_id, now=now(), reason=reason)
    deliver_outbox()  # e.g. an urgent request leaves the doctors' queue at once
    flash(_("Consultation cancelled."), "info")
    return redirect(url_for("scheduling.cabinet"))


@bp.post("/consultations/<int:consultation_id>/finish")
def finish(consultation_id: int):
    """The consultation's doctor ends the visit («Завершить приём»); a dropped call never does."""
    actor = current_actor()
    with database().transaction() as s:
        scheduling.finish(s, actor, consultation_id, now=now())
    deliver_outbox()
    flash(_("The consultation is finished."), "success")
    return redirect(url_for("scheduling.consultation", consultation_id=consultation_id))


@bp.get("/schedule")
def schedule():
    """The doctor's schedule by day: ``?view=upcoming`` (the coming two weeks, default), ``today`` or
    ``past`` (the last 30 days, newest first), narrowed by ``?only=pending`` (the conclusion is not
    signed yet) or ``urgent``. Each row shows the patient's age and birth date, and a child's guardian."""
    actor = current_actor()
    tz = viewer_tz()
    today = now().astimezone(tz).date()
    start = datetime.combine(today, time.min, tzinfo=tz)
    asked = request.args.get("view", "upcoming")
    view = asked if asked in SCHEDULE_VIEWS else "upcoming"
    only = request.args.get("only") if request.args.get("only") in ("pending", "urgent") else None
    span = {
        "upcoming": (start, start + timedelta(days=BOOKING_DAYS)),
        "today": (start, start + timedelta(days=1)),
        "past": (start - timedelta(days=PAST_DAYS), start),
    }[view]
    items = scheduling.doctor_schedule(db_session(), actor, start=span[0], end=span[1])
    if view == "past":
        items.reverse()
    signed = current_app.extensions.get(CONCLUSION_STATES, lambda _s, _ids: {})(
        db_session(), [c.id for c in items]
    )
    if only == "urgent":
        items = [c for c in items if c.mode == Mode.URGENT]
    pending = {c.id for c in items if access.conclusion_pending(c.status, signed.get(c.id))}
    if only == "pending":
        items = [c for c in items if c.id in pending]
    guardians = members.guardian_names(db_session(), {c.patient_id for c in items})
    days: OrderedDict = OrderedDict()
    for c in items:
        days.setdefault(c.starts_at.astimezone(tz).date(), []).append(c)
    return render_template(
        "scheduling/schedule.html",
        days=days,
        members=members,
        today=today,
        view=view,
        only=only,
        pending=pending,
        guardians=guardians,
        age_on=member_rules.age_on,
    )
