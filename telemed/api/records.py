"""API: conclusions, the e-card, in-person visits, patient search, FHIR export. Every access is audited."""

from __future__ import annotations

from typing import Literal

from flask import Response, current_app, jsonify

from telemed import errors
from telemed.api import api
from telemed.api.contract import (
    TEXT_PATTERN,
    Body,
    ChoiceParam,
    DateTimeParam,
    Flag,
    IntParam,
    Raw,
    Text,
    TextParam,
    date_schema,
    documented,
)
from telemed.api.openapi_parts import FHIR_BUNDLE, PDF, array_of, json_response, ref
from telemed.auth.web import current_actor
from telemed.catalog.specialties import BY_CODE
from telemed.records import access, audit, ecard, icd10, patient_search, referrals, sharing, visits
from telemed.records import conclusions as service
from telemed.records.audit_web import audited
from telemed.records.export import conclusion_document, fhir_bundle
from telemed.records.pdf import render_conclusion_pdf
from telemed.translatable import _l
from telemed.web import clinic_tz, database, db_session, now, viewer_tz


def _text_or_null(max_len: int) -> dict:
    return {"type": ["string", "null"], "maxLength": max_len, "pattern": TEXT_PATTERN}


CONCLUSION = Body(
    "ConclusionContent",
    (
        *(Raw(name, _text_or_null(service.TEXT_MAX)) for name in service.TEXT_FIELDS),
        Raw("diagnosis", ref("Diagnosis")),
        Raw(
            "referrals",
            {"type": ["array", "null"], "items": ref("ReferralItem"), "maxItems": referrals.MAX_ITEMS},
        ),
    ),
    required=False,
)
SIGN = Body(
    "SignRequest",
    (
        Text("password", 1024, required=True, description="The doctor's password"),
        Text(
            "otp",
            32,
            description="A current code of the doctor's authenticator app (403 invalid_otp when missing)",
        ),
    ),
)
ADDENDUM = Body(
    "AddendumRequest",
    (Text("text", service.TEXT_MAX, required=True), Text("reason", service.REASON_MAX, required=True)),
)
VISIT = Body(
    "VisitRequest",
    (
        Raw("date", date_schema("The visit's day (noon in the clinic's time zone) or moment"), required=True),
        *(Text(name, max_len, required=required) for name, max_len, required in visits.VISIT_TEXTS),
        Raw("specialty", {"type": ["string", "null"], "enum": [*BY_CODE, None]}),
        Raw("diagnosis", ref("Diagnosis")),
    ),
    description="'date' may not lie in the future",
)
SHARING = Body(
    "SharingRequest",
    (
        Flag(
            "shared", description="true: show the entry to the doctors caring for the patient; false: hide it"
        ),
    ),
)
KIND = ChoiceParam("kind", ecard.KINDS)
RECORD_SPECIALTY = ChoiceParam("specialty", tuple(BY_CODE))
RECORD_TEXT = TextParam("text", max_len=200)
RECORD_FROM, RECORD_TO = DateTimeParam("from"), DateTimeParam("to")
RECORD_LIMIT, OFFSET = IntParam("limit", 50, lo=1, hi=500), IntParam("offset", 0, hi=10**6)
SEARCH_Q = TextParam("q", max_len=patient_search.SEARCH_MAX, min_len=patient_search.SEARCH_MIN, required=True)
SEARCH_LIMIT = IntParam("limit", 20, lo=1, hi=100)
LOG_LIMIT = IntParam("limit", 100, lo=1, hi=500)
ICD_Q = TextParam("q", max_len=100, required=True)
ICD_LANG = ChoiceParam("lang", ("ru", "en"))


@api.put("/consultations/<int:consultation_id>/conclusion")
@documented(json_response(ref("Conclusion")), errors=(403, 409), body=CONCLUSION)
def put_conclusion(consultation_id: int):
    """Save the draft (the consultation's doctor only); 409 ``conclusion_signed`` once signed."""
    with audited("conclusion", "write", object_id=consultation_id) as ctx:
        data = CONCLUSION.read()
        with database().transaction() as s:
            conclusion = service.save_draft(s, ctx["actor"], consultation_id, data, now=now())
            ctx["patient_id"] = conclusion.patient_id
            body = service.conclusion_json(conclusion)
    return jsonify(body)


@api.get("/consultations/<int:consultation_id>/conclusion")
@documented(json_response(ref("Conclusion")))
def get_conclusion(consultation_id: int):
    """The conclusion (doctor: also the draft; patient and guardian: once signed)."""
    with audited("conclusion", "read", object_id=consultation_id) as ctx:
        _, conclusion = service.conclusion_for(db_session(), ctx["actor"], consultation_id)
        ctx["patient_id"] = conclusion.patient_id
    return jsonify(service.conclusion_json(conclusion))


@api.post("/consultations/<int:consultation_id>/conclusion/sign")
@documented(json_response(ref("Conclusion")), errors=(403, 409), body=SIGN)
def sign_conclusion(consultation_id: int):
    """Sign with the doctor's password and a current authenticator code (``otp``); the consultation
    becomes completed. 403 ``invalid_password``, 403 ``invalid_otp``.

    Stores who signed, when, and the content's hash. 409 ``consultation_not_started`` before the
    consultation has started (in progress, or its start time come); the video room stays open."""
    with audited("conclusion", "sign", object_id=consultation_id) as ctx:
        data = SIGN.read()
        password, code = data["password"], data["otp"]
        with database().transaction() as s:
            conclusion = service.sign(
                s,
                current_app.extensions["telemed.passwords"],
                ctx["actor"],
                consultation_id,
                password,
                code,
                now=now(),
            )
            ctx["patient_id"] = conclusion.patient_id
            body = service.conclusion_json(conclusion)
    return jsonify(body)


@api.post("/consultations/<int:consultation_id>/conclusion/addenda")
@documented(json_response(ref("Conclusion"), "Added"), status=201, errors=(403, 409), body=ADDENDUM)
def add_addendum(consultation_id: int):
    """Add a correction ``{text, reason}`` to the signed conclusion."""
    with audited("conclusion", "addendum", object_id=consultation_id) as ctx:
        data = ADDENDUM.read()
        with database().transaction() as s:
            addendum = service.add_addendum(
                s, ctx["actor"], consultation_id, text=data.get("text"), reason=data.get("reason"), now=now()
            )
            ctx["patient_id"] = addendum.conclusion.patient_id
            body = service.conclusion_json(addendum.conclusion)
    return jsonify(body), 201


@api.get("/consultations/<int:consultation_id>/conclusion.pdf")
@documented(PDF, errors=(409,))
def conclusion_pdf(consultation_id: int):
    """The signed conclusion as a PDF (Cyrillic text embedded and extractable)."""
    with audited("pdf", "read", object_id=consultation_id) as ctx:
        consultation, conclusion = service.conclusion_for(db_session(), ctx["actor"], consultation_id)
        ctx["patient_id"] = conclusion.patient_id
        if conclusion.signed_at is None:
            raise errors.NotSigned()
        pdf = render_conclusion_pdf(conclusion_document(consultation, conclusion, viewer_tz().key))
    return Response(
        pdf,
        mimetype="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="conclusion-{consultation_id}.pdf"',
            "Cache-Control": "private, no-store",
        },
    )


def _record_filter() -> ecard.EntryFilter:
    return ecard.EntryFilter(
        kind=KIND.read(),
        start=RECORD_FROM.read(),
        end=RECORD_TO.read(),
        specialty=RECORD_SPECIALTY.read(),
        text=RECORD_TEXT.read(),
    )


@api.get("/patients/<int:patient_id>/record")
@documented(
    json_response(array_of("RecordEntry")),
    query=(KIND, RECORD_FROM, RECORD_TO, RECORD_SPECIALTY, RECORD_TEXT, RECORD_LIMIT, OFFSET),
)
def patient_record(patient_id: int):
    """The e-card: entries of every kind, newest first.

    Filters: ``kind``, ``from``, ``to``, ``specialty`` and ``text`` (words of the title, diagnosis
    and summary)."""
    with audited("record", "read", patient_id=patient_id) as ctx:
        f = _record_filter()
        limit, offset = RECORD_LIMIT.read(), OFFSET.read()
        _patient, reader = ecard.record_for(db_session(), ctx["actor"], patient_id, now=now())
        items = ecard.entries(db_session(), patient_id, f, reader, limit=limit, offset=offset)
    return jsonify(items)


@api.put("/patients/<int:patient_id>/record/entries/<entry_id>/sharing")
@documented(json_response(ref("RecordEntry")), errors=(403, 409, 422), body=SHARING)
def share_entry(patient_id: int, entry_id: str):
    """«Показать врачам»: the patient or a guardian shows a psychologist's entry (``need_to_know``)
    to every doctor caring for the patient (``{"shared": true}``), or hides it again (``false``).

    The share covers the whole consultation (its conclusion and documents) or visit. 403
    ``forbidden`` for anyone else who may read the e-card; 409 ``conflict`` for an entry that is not
    need-to-know; 422 ``consent_required`` to show one after consent was withdrawn."""
    with audited("record", "share", patient_id=patient_id, object_id=entry_id[:64]) as ctx:
        shared = SHARING.read()["shared"]
        ctx["action"] = "share" if shared else "unshare"
        with database().transaction() as s:
            entry = sharing.set_shared(
                s,
                ctx["actor"],
                patient_id,
                entry_id,
                shared,
                now=now(),
                consent_version=current_app.config["CONSENT_VERSION"],
            )
    return jsonify(entry)


@api.post("/patients/<int:patient_id>/record/visits")
@documented(json_response(ref("RecordEntry"), "Added"), status=201, errors=(403,), body=VISIT)
def add_visit(patient_id: int):
    """Records staff: add an in-person visit ``{date, clinic, doctor_name, specialty?, diagnosis?, notes?}``."""
    with audited("visit", "write", patient_id=patient_id) as ctx:
        data = VISIT.read()
        with database().transaction() as s:
            visit = visits.add_visit(s, ctx["actor"], patient_id, data, now=now(), clinic_tz=clinic_tz())
            ctx["object_id"] = visit.id
            entry = ecard.visit_entry(visit)
    return jsonify(entry), 201


@api.get("/patients")
@documented(json_response(array_of("PatientMatch")), errors=(403,), query=(SEARCH_Q, SEARCH_LIMIT))
def search_patients():
    """Records staff: search patients by name, birth date (ДД.ММ.ГГГГ or ISO) or policy number."""
    with audited("patient_search", "search") as ctx:  # the query itself may hold a name: not logged
        q, limit = SEARCH_Q.read() or "", SEARCH_LIMIT.read()
        patients = patient_search.search_patients(db_session(), ctx["actor"], q, limit=limit)
    return jsonify(
        [
            {
                "id": p.id,
                "name": p.full_name,
                "birth_date": p.birth_date.isoformat(),
                "policies": [x.number for x in p.policies],
            }
            for p in patients
        ]
    )


@api.get("/patients/<int:patient_id>/record/access-log")
@documented(json_response(array_of("AccessLogEntry")), query=(LOG_LIMIT, OFFSET))
def access_log(patient_id: int):
    """Who looked at this record (for the patient, a guardian, records staff and admins)."""
    with audited("access_log", "read", patient_id=patient_id) as ctx:
        ecard.patient_for_access_log(db_session(), ctx["actor"], patient_id, now=now())
        limit, offset = LOG_LIMIT.read(), OFFSET.read()
        rows = audit.access_log(db_session(), patient_id, limit=limit, offset=offset)
        names = audit.actor_names(db_session(), rows)
    return jsonify(
        [
            {
                "at": r.at.isoformat(timespec="seconds"),
                "actor": {"id": r.actor_id, "role": r.actor_role, "name": names.get(r.actor_id or 0)},
                "object_type": r.object_type,
                "object_id": r.object_id,
                "action": r.action,
                "outcome": r.outcome,
            }
            for r in rows
        ]
    )


@api.get("/patients/<int:patient_id>/record/fhir")
@documented(FHIR_BUNDLE)
def patient_fhir(patient_id: int):
    """The e-card as a FHIR R4 Bundle (Patient, Practitioner, Encounter, Composition, DocumentReference):
    exactly the entries ``GET /record`` shows the same reader; a restricted one is labelled
    ``meta.security`` R and keeps its date and specialty only."""
    with audited("fhir", "export", patient_id=patient_id) as ctx:
        patient, reader = ecard.record_for(db_session(), ctx["actor"], patient_id, now=now())
        everything = ecard.entries(db_session(), patient_id, ecard.EntryFilter(), reader, limit=None)
        bundle = fhir_bundle(db_session(), patient, everything)
    return Response(jsonify(bundle).get_data(), mimetype="application/fhir+json")


@api.get("/icd10")
@documented(json_response(array_of("Icd10Entry")), errors=(403,), query=(ICD_Q, ICD_LANG))
def icd10_search():
    """Search the ICD-10 list by code prefix or words of the title (doctors, records staff).

    ``lang`` is the language of the titles: ``ru`` (default) or ``en``."""
    actor = current_actor()
    if not access.may_search_icd10(actor):
        raise errors.NotPermitted(_l("Only clinicians search the ICD-10 list."))
    q = ICD_Q.read() or ""
    lang: Literal["ru", "en"] = "en" if ICD_LANG.read() == "en" else "ru"
    return jsonify([{"code": e.code, "title": e.title} for e in icd10.search(q, lang=lang, limit=20)])
