"""API: conclusions, the e-card, in-person visits, patient search, FHIR export. Every access is audited."""

from __future__ import annotations

from typing import Literal

from flask import Response, current_app, jsonify, request

from telemed import errors
from telemed.api import api, audits_access
from telemed.api.parsing import field_str, json_body, query_datetime, query_int, query_text
from telemed.auth.web import current_actor
from telemed.catalog.specialties import BY_CODE
from telemed.records import access, audit, ecard, icd10
from telemed.records import conclusions as service
from telemed.records.audit_web import audited
from telemed.records.export import conclusion_document, fhir_bundle
from telemed.records.pdf import render_conclusion_pdf
from telemed.translatable import _l
from telemed.web import clinic_tz, database, db_session, now, viewer_tz


@api.put("/consultations/<int:consultation_id>/conclusion")
@audits_access
def put_conclusion(consultation_id: int):
    """Save the draft (the consultation's doctor only); 409 ``conclusion_signed`` once signed."""
    with audited("conclusion", "write", object_id=consultation_id) as ctx:
        data = json_body()
        with database().transaction() as s:
            conclusion = service.save_draft(s, ctx["actor"], consultation_id, data, now=now())
            ctx["patient_id"] = conclusion.patient_id
            body = service.conclusion_json(conclusion)
    return jsonify(body)


@api.get("/consultations/<int:consultation_id>/conclusion")
@audits_access
def get_conclusion(consultation_id: int):
    """The conclusion: the doctor sees the draft; the patient and guardian only the signed one."""
    with audited("conclusion", "read", object_id=consultation_id) as ctx:
        _, conclusion = service.conclusion_for(db_session(), ctx["actor"], consultation_id)
        ctx["patient_id"] = conclusion.patient_id
    return jsonify(service.conclusion_json(conclusion))


@api.post("/consultations/<int:consultation_id>/conclusion/sign")
@audits_access
def sign_conclusion(consultation_id: int):
    """Sign with ``{password}``: stores who, when and the content hash; the consultation is completed."""
    with audited("conclusion", "sign", object_id=consultation_id) as ctx:
        password = field_str(json_body(), "password", max_len=1024)
        with database().transaction() as s:
            conclusion = service.sign(
                s,
                current_app.extensions["telemed.passwords"],
                ctx["actor"],
                consultation_id,
                password,
                now=now(),
            )
            ctx["patient_id"] = conclusion.patient_id
            body = service.conclusion_json(conclusion)
    return jsonify(body)


@api.post("/consultations/<int:consultation_id>/conclusion/addenda")
@audits_access
def add_addendum(consultation_id: int):
    """Add a correction ``{text, reason}`` to the signed conclusion: 201."""
    with audited("conclusion", "addendum", object_id=consultation_id) as ctx:
        data = json_body()
        with database().transaction() as s:
            addendum = service.add_addendum(
                s, ctx["actor"], consultation_id, text=data.get("text"), reason=data.get("reason"), now=now()
            )
            ctx["patient_id"] = addendum.conclusion.patient_id
            body = service.conclusion_json(addendum.conclusion)
    return jsonify(body), 201


@api.get("/consultations/<int:consultation_id>/conclusion.pdf")
@audits_access
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
    kind = request.args.get("kind") or None
    if kind is not None and kind not in ecard.KINDS:
        raise errors.ValidationFailed(
            _l("'kind' must be one of %(choices)s.", choices=", ".join(ecard.KINDS)),
            details={"field": "kind"},
        )
    specialty = request.args.get("specialty") or None
    if specialty is not None and specialty not in BY_CODE:
        raise errors.ValidationFailed(_l("Unknown specialty."), details={"field": "specialty"})
    text = query_text("text", max_len=200)
    start = query_datetime("from", None) if request.args.get("from") else None
    end = query_datetime("to", None) if request.args.get("to") else None
    return ecard.EntryFilter(kind=kind, start=start, end=end, specialty=specialty, text=text)


@api.get("/patients/<int:patient_id>/record")
@audits_access
def patient_record(patient_id: int):
    """The e-card: entries of every kind, newest first; filters ``kind``, ``from``, ``to``, ``specialty``, ``text``."""
    with audited("record", "read", patient_id=patient_id) as ctx:
        f = _record_filter()
        limit, offset = query_int("limit", 50, lo=1, hi=500), query_int("offset", 0, hi=10**6)
        ecard.patient_for_record(db_session(), ctx["actor"], patient_id, now=now())
        items = ecard.entries(db_session(), patient_id, f, limit=limit, offset=offset)
    return jsonify(items)


@api.post("/patients/<int:patient_id>/record/visits")
@audits_access
def add_visit(patient_id: int):
    """Records staff add an in-person visit ``{date, clinic, doctor_name, diagnosis: {icd10, text}, notes}``: 201."""
    with audited("visit", "write", patient_id=patient_id) as ctx:
        data = json_body()
        with database().transaction() as s:
            visit = ecard.add_visit(s, ctx["actor"], patient_id, data, now=now(), clinic_tz=clinic_tz())
            ctx["object_id"] = visit.id
            entry = ecard.visit_entry(visit)
    return jsonify(entry), 201


@api.get("/patients")
@audits_access
def search_patients():
    """Records staff and admins: patients by name, birth date or policy number (``?q=``)."""
    q = request.args.get("q", "")
    with audited("patient_search", "search") as ctx:  # the query itself may hold a name: not logged
        patients = ecard.search_patients(
            db_session(), ctx["actor"], q, limit=query_int("limit", 20, lo=1, hi=100)
        )
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
@audits_access
def access_log(patient_id: int):
    """Who looked at this patient's record: for the patient, a guardian, records staff and admins."""
    with audited("access_log", "read", patient_id=patient_id) as ctx:
        ecard.patient_for_access_log(db_session(), ctx["actor"], patient_id, now=now())
        rows = audit.access_log(
            db_session(),
            patient_id,
            limit=query_int("limit", 100, lo=1, hi=500),
            offset=query_int("offset", 0, hi=10**6),
        )
    return jsonify(
        [
            {
                "at": r.at.isoformat(timespec="seconds"),
                "actor": {"id": r.actor_id, "role": r.actor_role},
                "object_type": r.object_type,
                "object_id": r.object_id,
                "action": r.action,
                "outcome": r.outcome,
            }
            for r in rows
        ]
    )


@api.get("/patients/<int:patient_id>/record/fhir")
@audits_access
def patient_fhir(patient_id: int):
    """The e-card as a FHIR R4 Bundle (Patient, Practitioner, Encounter, Composition, DocumentReference)."""
    with audited("fhir", "export", patient_id=patient_id) as ctx:
        patient = ecard.patient_for_record(db_session(), ctx["actor"], patient_id, now=now())
        bundle = fhir_bundle(db_session(), patient)
    return Response(jsonify(bundle).get_data(), mimetype="application/fhir+json")


@api.get("/icd10")
def icd10_search():
    """ICD-10 codes matching ``?q=`` (code prefix or words of the title), for doctors and records staff."""
    actor = current_actor()
    if not access.may_search_icd10(actor):
        raise errors.NotPermitted(_l("Only clinicians search the ICD-10 list."))
    q = request.args.get("q", "").strip()
    if not q or len(q) > 100:
        raise errors.ValidationFailed(_l("'q' is required."), details={"field": "q"})
    lang: Literal["ru", "en"] = "en" if request.args.get("lang") == "en" else "ru"
    return jsonify([{"code": e.code, "title": e.title} for e in icd10.search(q, lang=lang, limit=20)])
