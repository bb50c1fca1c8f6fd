"""API: second medical opinion requests («Второе медицинское мнение»). Members request and follow
theirs; the curator service sees all, moves them one step at a time and uploads the expert's report."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import current_app, jsonify

from telemed.api import api
from telemed.api.chat import file_reader, max_upload
from telemed.api.contract import Body, ChoiceParam, Id, IntParam, Raw, Text, documented
from telemed.api.openapi_parts import array_of, json_response, ref
from telemed.documents.store import attachment_json
from telemed.opinions import rules
from telemed.opinions import service as opinions
from telemed.records.audit_web import audited
from telemed.web import database, db_session, now

REQUEST = Body(
    "SecondOpinionRequest",
    (
        Id("patient_id", required=False, description="Yourself when absent, or a dependant in your care"),
        Raw("icd10", {"type": "string", "maxLength": 10}, required=True),
        Text("condition", rules.CONDITION_MAX, required=True),
        Text("question", rules.QUESTION_MAX, required=True),
        Raw(
            "contact",
            {
                "type": ["object", "null"],
                "properties": {
                    "channel": {"type": "string", "enum": list(rules.CHANNELS)},
                    "phone": {"type": "string", "maxLength": rules.CONTACT_TEXT_MAX},
                    "time": {"type": "string", "maxLength": rules.CONTACT_TEXT_MAX},
                },
            },
        ),
        Raw(
            "attachment_ids",
            {"type": ["array", "null"], "items": {"type": "integer"}, "maxItems": 20},
        ),
    ),
)
MOVE = Body(
    "SecondOpinionStatusRequest",
    (
        Raw("status", {"type": "string", "enum": list(rules.STATUSES)}, required=True),
        Text("note", rules.NOTE_MAX),
    ),
)
STATUS = ChoiceParam("status", rules.STATUSES)
LIMIT, OFFSET = IntParam("limit", 50, lo=1, hi=200), IntParam("offset", 0, hi=10**6)


def _tz() -> ZoneInfo:
    return ZoneInfo(current_app.config["CLINIC_TIMEZONE"])


@api.post("/second-opinions")
@documented(
    json_response(ref("SecondOpinion"), "Submitted"), status=201, errors=(403, 404, 409), body=REQUEST
)
def request_opinion():
    """Request a second opinion for yourself or a dependant: the condition (ICD-10 code and text),
    the question, contact preferences, documents chosen from the e-card (``attachment_ids``).

    201 ``{id, status: "submitted", contact_due_at, ...}``: a curator contacts you within one business
    day (Russian production calendar). 409 ``opinion_already_given`` for the same condition
    (ICD-10 three-character category) of the same patient under the same contract."""
    data = REQUEST.read()
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
        body = opinions.opinion_json(s, opinion, now())
    return jsonify(body), 201


@api.get("/second-opinions")
@documented(json_response(array_of("SecondOpinion")), errors=(403,), query=(STATUS, LIMIT, OFFSET))
def list_opinions():
    """Members: their own requests and their dependants'; curators: all (overdue first)."""
    with audited("second_opinion", "read") as ctx:
        s = db_session()
        items = opinions.list_for(
            s, ctx["actor"], status=STATUS.read(), limit=LIMIT.read(), offset=OFFSET.read()
        )
        body = [opinions.opinion_json(s, o, now()) for o in items]
    return jsonify(body)


@api.get("/second-opinions/<int:opinion_id>")
@documented(json_response(ref("SecondOpinion")))
def get_opinion(opinion_id: int):
    """One request with its documents and history (its member, or a curator)."""
    with audited("second_opinion", "read", object_id=opinion_id) as ctx:
        opinion = opinions.get_for(db_session(), ctx["actor"], opinion_id)
        ctx["patient_id"] = opinion.patient_id
        body = opinions.opinion_json(db_session(), opinion, now())
    return jsonify(body)


@api.post("/second-opinions/<int:opinion_id>/status")
@documented(json_response(ref("SecondOpinion")), errors=(403, 409), body=MOVE)
def move_opinion(opinion_id: int):
    """Curators: one step forward (submitted → contacted → in_review → report_issued → closed) with
    an optional ``note``; 409 ``bad_transition`` otherwise, 409 ``report_missing`` to issue a report
    that was not uploaded."""
    with audited("second_opinion", "write", object_id=opinion_id) as ctx:
        data = MOVE.read()
        with database().transaction() as s:
            opinion = opinions.move(
                s, ctx["actor"], opinion_id, data.get("status"), data.get("note"), now=now()
            )
            ctx["patient_id"] = opinion.patient_id
            body = opinions.opinion_json(s, opinion, now())
    return jsonify(body)


@api.post("/second-opinions/<int:opinion_id>/documents")
@documented(
    json_response(ref("Attachment"), "Stored"), status=201, errors=(409, 413, 415, 503), multipart=True
)
def upload_opinion_document(opinion_id: int):
    """Add a document (multipart field ``file``): the member's results while the request is open; a
    curator's upload is the expert's report (it lands in the patient's e-card). Checked as every
    upload is (type from the bytes, PDFs without scripts, size)."""
    limit = max_upload()
    with audited("attachment", "write", object_id=f"opinion:{opinion_id}") as ctx:
        reader = file_reader(limit)
        row = opinions.upload_document(
            database(),
            current_app.extensions["telemed.storage"],
            ctx["actor"],
            opinion_id,
            stream=reader,
            filename=reader.filename,
            max_size=limit,
            now=now(),
        )
        ctx["patient_id"], ctx["object_id"] = row.patient_id, row.id
    return jsonify(attachment_json(row, with_hash=True)), 201
