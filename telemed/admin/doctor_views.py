"""Admin pages: doctors (list and add), one doctor (profile, photo, the weekly template as seven rows,
exceptions, slot generation) and the urgent duty roster (coverage with its gaps, add a shift).
Thin: they read the form, call ``admin.doctors``, ``admin.schedules``, ``admin.roster`` and render."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from telemed import errors
from telemed.admin import access, doctors, gate, photos, roster, schedule_rules, schedules
from telemed.catalog.specialties import CODES, URGENT_CODES
from telemed.error_handlers import translate
from telemed.records.audit_web import audited
from telemed.web import clinic_tz, database, db_session, now

bp = Blueprint("admin_doctors", __name__)
bp.before_request(gate.check_page)
WEEKDAYS = range(7)
_REFUSALS = (errors.ValidationFailed, errors.Conflict)
PHOTO_FORM_OVERHEAD = 64 * 1024  # the multipart form around the file: its boundary, headers, csrf_token


def _today() -> date:
    return now().astimezone(clinic_tz()).date()


def _form_profile() -> dict:
    f = request.form
    return {
        "full_name": f.get("full_name", "").strip(),
        "specialty": f.get("specialty", ""),
        "career_start": f.get("career_start", ""),
        "education": f.get("education", "").strip(),
        "degree": f.get("degree", "").strip() or None,
        "bio": f.get("bio", "").strip() or None,
        "is_active": f.get("is_active") == "1",
        "user_id": int(f["user_id"]) if f.get("user_id", "").isdigit() else None,
    }


def _status(exc: errors.DomainError) -> int:
    return 409 if exc.status == 409 else 422


@bp.get("/admin/doctors")
def doctors_page(error: str | None = None, form: dict | None = None, status: int = 200):
    """Every doctor, and the form to add one (admins only)."""
    with audited("doctor", "read") as ctx:
        found = doctors.listing(db_session(), ctx["actor"], limit=200)
    page = render_template(
        "admin/doctors.html",
        doctors=[doctors.doctor_json(d, today=_today()) for d in found],
        specialties=CODES,
        error=error,
        form=form or {},
    )
    return page, status


@bp.post("/admin/doctors")
def create_doctor_page():
    """Add a doctor; a refusal shows the form again with the input kept."""
    data = _form_profile()
    try:
        with audited("doctor", "write") as ctx, database().transaction() as s:
            doctor = doctors.create(s, ctx["actor"], data, today=_today())
            ctx["object_id"] = doctor_id = doctor.id
    except _REFUSALS as exc:
        return doctors_page(exc.render(translate), request.form.to_dict(), _status(exc))
    flash(_("The doctor is added. Now set the weekly hours."), "success")
    return redirect(url_for(".doctor_page", doctor_id=doctor_id))


def _template_rows(template: dict | None) -> list[dict]:
    rows = [{"weekday": d, "start": "", "end": ""} for d in WEEKDAYS]
    for hours in (template or {}).get("days", []):
        row = rows[hours["weekday"]]
        if not row["start"]:  # the form edits one range a day
            row["start"], row["end"] = hours["start"], hours["end"]
    return rows


@bp.get("/admin/doctors/<int:doctor_id>")
def doctor_page(
    doctor_id: int,
    error: str | None = None,
    affected: list | None = None,
    status: int = 200,
    proposed: dict | None = None,
):
    """A doctor's profile, weekly hours, exceptions and slot generation. After a refused change of
    the hours, the form shows the hours ``proposed`` (as sent), so the admin only picks what to do
    with the bookings and saves again."""
    with audited("doctor", "read", object_id=doctor_id) as ctx:
        s = db_session()
        doctor = doctors.get(s, ctx["actor"], doctor_id)
        template = schedules.template_json(s, doctor_id)
        shown = proposed or template
        page = render_template(
            "admin/doctor.html",
            doctor=doctors.doctor_json(doctor, today=_today()),
            photo_version=(doctor.photo_sha256 or "")[:16],
            template=template,
            rows=_template_rows(shown),
            slot_minutes=(shown or {}).get("slot_minutes") or 30,
            timezone=(shown or {}).get("timezone") or current_app.config["CLINIC_TIMEZONE"],
            exceptions=schedules.exceptions_of(s, doctor_id),
            kinds=schedules.EXCEPTION_KINDS,
            specialties=CODES,
            error=error,
            affected=affected or [],
        )
    return page, status


@bp.post("/admin/doctors/<int:doctor_id>")
def update_doctor_page(doctor_id: int):
    """Save the profile."""
    data = _form_profile()
    try:
        with audited("doctor", "write", object_id=doctor_id) as ctx, database().transaction() as s:
            doctors.update(s, ctx["actor"], doctor_id, data, today=_today())
    except _REFUSALS as exc:
        return doctor_page(doctor_id, exc.render(translate), status=_status(exc))
    flash(_("Saved."), "success")
    return redirect(url_for(".doctor_page", doctor_id=doctor_id))


@bp.post("/admin/doctors/<int:doctor_id>/photo")
def photo_page(doctor_id: int):
    """Upload the doctor's photo (``admin.photos.set_photo``, as the API): PNG or JPEG, at most 2 MB;
    a refused file is said in a flash message."""
    back = redirect(url_for(".doctor_page", doctor_id=doctor_id))
    try:
        with audited("doctor", "write", object_id=doctor_id) as ctx:
            access.check_admin(ctx["actor"])
            if (request.content_length or 0) > photos.MAX_PHOTO + PHOTO_FORM_OVERHEAD:
                raise errors.FileTooLarge()
            upload = request.files.get("file")
            if upload is None or not upload.filename:
                flash(_("Choose a PNG or JPEG file."), "error")
                return back
            photos.set_photo(
                database(), current_app.extensions["telemed.storage"], ctx["actor"], doctor_id, upload.stream
            )
    except errors.FileTooLarge:
        flash(_("The photo is larger than 2 MB: choose a smaller one."), "error")
        return back
    except errors.UnsupportedType:
        flash(_("The photo must be a PNG or JPEG image."), "error")
        return back
    flash(_("The photo is saved."), "success")
    return back


def _on_booked() -> tuple[str | None, str]:
    choice = request.form.get("on_booked") or None
    return (choice if choice in schedule_rules.ON_BOOKED else None), request.form.get("reason", "").strip()


def _refused(doctor_id: int, exc: errors.DomainError, proposed: dict | None = None):
    affected = exc.details.get("consultations", []) if isinstance(exc, errors.Conflict) else []
    for a in affected:
        a["at"] = datetime.fromisoformat(a["starts_at"])
    return doctor_page(doctor_id, exc.render(translate), affected, _status(exc), proposed)


@bp.post("/admin/doctors/<int:doctor_id>/template")
def template_page(doctor_id: int):
    """Save the weekly hours: seven rows, an empty row is a day off."""
    f = request.form
    days = []
    for d in WEEKDAYS:
        start, end = f.get(f"start_{d}", "").strip(), f.get(f"end_{d}", "").strip()
        if start or end:
            days.append({"weekday": d, "start": start, "end": end})
    minutes = f.get("slot_minutes", "")
    data = {
        "slot_minutes": int(minutes) if minutes.isdigit() and len(minutes) < 5 else None,
        "timezone": f.get("timezone", "").strip() or None,
        "days": days,
    }
    on_booked, reason = _on_booked()
    try:
        with audited("schedule", "write", object_id=doctor_id) as ctx, database().transaction() as s:
            out = schedules.set_template(
                s,
                ctx["actor"],
                doctor_id,
                data,
                now=now(),
                default_zone=current_app.config["CLINIC_TIMEZONE"],
                on_booked=on_booked,
                reason=reason,
            )
    except _REFUSALS as exc:
        return _refused(doctor_id, exc, data)
    flash(
        _(
            "The hours are saved: %(removed)s free slots removed, %(cancelled)s consultations cancelled.",
            removed=out["removed_slots"],
            cancelled=len(out["cancelled"]),
        ),
        "success",
    )
    return redirect(url_for(".doctor_page", doctor_id=doctor_id))


@bp.post("/admin/doctors/<int:doctor_id>/exceptions")
def exception_page(doctor_id: int):
    """Add days off (vacation, sick day)."""
    f = request.form
    on_booked, _reason = _on_booked()
    try:
        first = doctors.parse_day(f.get("first_day", ""), "first_day")
        last = doctors.parse_day(f.get("last_day", "") or f.get("first_day", ""), "last_day")
        with audited("schedule", "write", object_id=doctor_id) as ctx, database().transaction() as s:
            schedules.add_exception(
                s,
                ctx["actor"],
                doctor_id,
                first_day=first,
                last_day=last,
                kind=f.get("kind", ""),
                reason=f.get("exception_reason", "").strip(),
                now=now(),
                on_booked=on_booked,
            )
    except _REFUSALS as exc:
        return _refused(doctor_id, exc)
    flash(_("The days off are saved."), "success")
    return redirect(url_for(".doctor_page", doctor_id=doctor_id))


@bp.post("/admin/doctors/<int:doctor_id>/generate")
def generate_page(doctor_id: int):
    """Generate the slots of the next days now (the worker does it daily too)."""
    days = request.form.get("days", "")
    try:
        with audited("schedule", "write", object_id=doctor_id) as ctx, database().transaction() as s:
            created = schedules.generate_for(
                s,
                ctx["actor"],
                doctor_id,
                now=now(),
                days=int(days) if days.isdigit() and len(days) < 4 else 0,
            )
    except _REFUSALS as exc:
        return _refused(doctor_id, exc)
    flash(_("%(count)s slots created.", count=created), "success")
    return redirect(url_for(".doctor_page", doctor_id=doctor_id))


@bp.get("/admin/roster")
def roster_page(error: str | None = None, status: int = 200):
    """The urgent duty roster: the next 7 days hour by hour per specialty, gaps marked; add a shift."""
    with audited("roster", "read") as ctx:
        s = db_session()
        cover = roster.coverage(s, ctx["actor"], now=now())
        start = datetime.fromisoformat(cover["from"])
        planned = roster.shifts(
            s, ctx["actor"], start=start, end=start + timedelta(days=roster.COVERAGE_DAYS)
        )
        on_duty = doctors.listing(s, ctx["actor"], active=True, limit=200)
    hours = [start + timedelta(hours=i) for i in range(cover["hours"])]
    page = render_template(
        "admin/roster.html",
        cover=cover,
        gap_ranges={
            code: [
                (datetime.fromisoformat(g["starts_at"]), datetime.fromisoformat(g["ends_at"]))
                for g in c["gaps"]
            ]
            for code, c in cover["specialties"].items()
        },
        hours=hours,
        shifts=planned,
        moment=now(),
        doctors=[d for d in on_duty if d.specialty_code in URGENT_CODES],
        specialties=URGENT_CODES,
        error=error,
    )
    return page, status


@bp.post("/admin/roster")
def add_shift_page():
    """Plan a shift (times in the clinic's zone)."""
    f = request.form
    zone = clinic_tz()
    try:
        start = _local(f.get("starts_at", ""), zone, "starts_at")
        end = _local(f.get("ends_at", ""), zone, "ends_at")
        doctor_id = (
            int(f["doctor_id"]) if f.get("doctor_id", "").isdigit() and len(f["doctor_id"]) < 10 else 0
        )
        with audited("roster", "write") as ctx, database().transaction() as s:
            shift = roster.add_shift(
                s,
                ctx["actor"],
                doctor_id=doctor_id,
                specialty=f.get("specialty", ""),
                starts_at=start,
                ends_at=end,
                now=now(),
            )
            ctx["object_id"] = shift.id
    except (*_REFUSALS, errors.NotFound) as exc:
        return roster_page(exc.render(translate), _status(exc))
    flash(_("The shift is planned."), "success")
    return redirect(url_for(".roster_page"))


@bp.post("/admin/roster/<int:shift_id>/remove")
def remove_shift_page(shift_id: int):
    """Take a shift off the roster (one under way ends now)."""
    try:
        with audited("roster", "write", object_id=shift_id) as ctx, database().transaction() as s:
            kept = roster.remove_shift(s, ctx["actor"], shift_id, now=now())
    except (errors.Conflict, errors.NotFound) as exc:
        return roster_page(exc.render(translate), exc.status)
    flash(_("The shift ends now.") if kept else _("The shift is removed."), "success")
    return redirect(url_for(".roster_page"))


def _local(text: str, zone, field: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise errors.ValidationFailed(_("Enter a date and time."), details={"field": field}) from None
    return moment.replace(tzinfo=zone) if moment.tzinfo is None else moment
