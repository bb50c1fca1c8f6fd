"""API of the admin area: doctors' profiles and photos. Admins only: anyone else gets 403
``forbidden``; every call is audited (``doctor``). Their schedules: ``admin_schedules``; the urgent
duty roster: ``admin_roster``; staff accounts: ``admin_users``."""

from __future__ import annotations

from datetime import date

from flask import Response, current_app, jsonify, stream_with_context

from telemed.admin import doctors, photos, schedules
from telemed.api import api, parsing
from telemed.api.chat import file_reader
from telemed.api.contract import JSON_ID_MAX, Body, ChoiceParam, IntParam, Raw, Text, documented
from telemed.api.openapi_parts import array_of, json_response, ref
from telemed.auth.web import current_actor
from telemed.catalog.specialties import CODES
from telemed.records.audit_web import audited
from telemed.web import clinic_tz, database, db_session, now

DAY = {"type": "string", "format": "date", "description": "YYYY-MM-DD"}
PROFILE = Body(
    "DoctorProfile",
    (
        Text("full_name", doctors.NAME_MAX, required=True),
        Raw("specialty", {"type": "string", "enum": list(CODES)}, required=True),
        Raw("career_start", DAY, required=True),
        Text("education", doctors.EDUCATION_MAX, required=True),
        Text("degree", doctors.DEGREE_MAX),
        Text("bio", doctors.BIO_MAX),
        Raw("is_active", {"type": ["boolean", "null"], "description": "absent or null: true"}),
        Raw(
            "user_id",
            {
                "type": ["integer", "null"],
                "minimum": 1,
                "maximum": JSON_ID_MAX,
                "description": "a staff account of role doctor to link",
            },
        ),
    ),
)
PHOTO_BYTES = {
    "description": "The photo, PNG or JPEG (the type sniffed at upload)",
    "content": {
        "image/png": {"schema": {"type": "string", "format": "binary"}},
        "image/jpeg": {"schema": {"type": "string", "format": "binary"}},
    },
}
SPECIALTY = ChoiceParam("specialty", CODES)
LIMIT, OFFSET = IntParam("limit", 50, lo=1, hi=200), IntParam("offset", 0, hi=10**6)


def _today() -> date:
    return now().astimezone(clinic_tz()).date()


def _profile() -> dict:
    data = PROFILE.read()
    data["user_id"] = parsing.field_int(data, "user_id", required=False)  # beyond the ids: NO_ROW
    return data


@api.post("/admin/doctors")
@documented(json_response(ref("AdminDoctor"), "Created"), status=201, errors=(403, 409), body=PROFILE)
def admin_create_doctor():
    """Admins: add a doctor (profile, specialty of the catalogue, active or not, an optional linked
    staff account of role doctor)."""
    data = _profile()
    with audited("doctor", "write") as ctx, database().transaction() as s:
        doctor = doctors.create(s, ctx["actor"], data, today=_today())
        ctx["object_id"] = doctor.id
        body = doctors.doctor_json(doctor, today=_today())
    return jsonify(body), 201


@api.get("/admin/doctors")
@documented(json_response(array_of("AdminDoctor")), errors=(403,), query=(SPECIALTY, LIMIT, OFFSET))
def admin_list_doctors():
    """Admins: every doctor, active or not, by specialty and name."""
    with audited("doctor", "read") as ctx:
        found = doctors.listing(
            db_session(), ctx["actor"], specialty=SPECIALTY.read(), limit=LIMIT.read(), offset=OFFSET.read()
        )
        body = [doctors.doctor_json(d, today=_today()) for d in found]
    return jsonify(body)


@api.get("/admin/doctors/<int:doctor_id>")
@documented(json_response(ref("AdminDoctor")), errors=(403,))
def admin_get_doctor(doctor_id: int):
    """Admins: a doctor with the weekly template (null before one is set) and the exceptions."""
    with audited("doctor", "read", object_id=doctor_id) as ctx:
        s = db_session()
        doctor = doctors.get(s, ctx["actor"], doctor_id)
        body = doctors.doctor_json(doctor, today=_today()) | {
            "template": schedules.template_json(s, doctor_id),
            "exceptions": [schedules.exception_json(e) for e in schedules.exceptions_of(s, doctor_id)],
        }
    return jsonify(body)


@api.put("/admin/doctors/<int:doctor_id>")
@documented(json_response(ref("AdminDoctor")), errors=(403, 409), body=PROFILE)
def admin_update_doctor(doctor_id: int):
    """Admins: replace a doctor's profile (the same fields as creating one)."""
    with audited("doctor", "write", object_id=doctor_id) as ctx:
        data = _profile()
        with database().transaction() as s:
            doctor = doctors.update(s, ctx["actor"], doctor_id, data, today=_today())
            body = doctors.doctor_json(doctor, today=_today())
    return jsonify(body)


@api.put("/admin/doctors/<int:doctor_id>/photo")
@documented(json_response(ref("AdminDoctor")), errors=(403, 413, 415, 503), multipart=True)
def admin_put_photo(doctor_id: int):
    """Admins: the doctor's photo (multipart ``file``): PNG or JPEG, at most 2 MB, the type
    decided from the bytes; it replaces the previous one."""
    with audited("doctor", "write", object_id=doctor_id) as ctx:
        reader = file_reader(photos.MAX_PHOTO)
        doctor = photos.set_photo(
            database(), current_app.extensions["telemed.storage"], ctx["actor"], doctor_id, reader
        )
        body = doctors.doctor_json(doctor, today=_today())
    return jsonify(body)


@api.get("/doctors/<int:doctor_id>/photo")
@documented(PHOTO_BYTES, errors=(503,))
def doctor_photo(doctor_id: int):
    """A doctor's photo, for anyone logged in (404 without one)."""
    current_actor()
    key, content_type, sha256 = photos.photo_of(database(), doctor_id)
    chunks = current_app.extensions["telemed.storage"].open(key, expected_sha256=sha256 or None)
    response = Response(stream_with_context(chunks), mimetype=content_type)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, max-age=300"
    return response
