"""API: the member's confirmation and rating of a consultation, a doctor's own rating, and the
curator service's complaints."""

from __future__ import annotations

from flask import jsonify

from telemed.api import api
from telemed.api.contract import Body, ChoiceParam, IntParam, Raw, Text, documented
from telemed.api.openapi_parts import array_of, json_response, ref
from telemed.auth.web import current_actor
from telemed.feedback import rules
from telemed.feedback import service as feedback
from telemed.records.audit_web import audited
from telemed.web import database, db_session, now

_SCORE = {"type": ["integer", "null"], "minimum": 1, "maximum": 5}
RATING = Body(
    "RatingRequest",
    (
        Raw("happened", {"type": "string", "enum": list(rules.HAPPENED)}, required=True),
        Raw("doctor_score", _SCORE),
        Raw("service_score", _SCORE),
        Text("comment", rules.COMMENT_MAX),
    ),
)
COMPLAINT_MOVE = Body(
    "ComplaintStatusRequest",
    (
        Raw("status", {"type": "string", "enum": ["in_progress", "closed"]}, required=True),
        Text("note", rules.NOTE_MAX, description="What was done (kept with the complaint)"),
    ),
)
COMPLAINT_STATUS = ChoiceParam("status", rules.COMPLAINT_STATUSES)
LIMIT, OFFSET = IntParam("limit", 50, lo=1, hi=200), IntParam("offset", 0, hi=10**6)


@api.get("/consultations/<int:consultation_id>/rating")
@documented(json_response(ref("Rating")))
def get_rating(consultation_id: int):
    """The consultation's details (date, doctor, specialty, kind) and the member's rating
    (``happened`` null: not rated yet; ``can_rate``: it may be given or changed now). The patient
    and a guardian only."""
    return jsonify(feedback.rating_for(db_session(), current_actor(), consultation_id, now=now()))


@api.put("/consultations/<int:consultation_id>/rating")
@documented(json_response(ref("Rating")), errors=(409,), body=RATING)
def put_rating(consultation_id: int):
    """Confirm the visit (``happened``: ``yes``, ``doctor_absent``, ``connection_failed``) and rate
    the doctor and the service (1–5, optional) with a comment; changeable for 7 days.

    409 ``consultation_not_ended`` before it has ended (or when cancelled), 409 ``rating_closed``
    after 7 days. A score of 2 or lower, or a visit that did not happen, opens a complaint for the
    curator service; a credible "the doctor did not come" (no doctor entered the room) on a
    psychologist consultation gives the quota back."""
    data = RATING.read()
    with database().transaction() as s:
        body = feedback.rate(s, current_actor(), consultation_id, data, now=now())
    return jsonify(body)


@api.get("/me/rating")
@documented(json_response(ref("DoctorRating")), errors=(403,))
def my_rating():
    """A doctor's average score and how many scored (visits that happened); never who rated."""
    return jsonify(feedback.doctor_summary(db_session(), current_actor()))


@api.get("/complaints")
@documented(json_response(array_of("Complaint")), errors=(403,), query=(COMPLAINT_STATUS, LIMIT, OFFSET))
def list_complaints():
    """The curator service's complaints, open ones first, oldest first (curators only; 403
    ``forbidden`` for everyone else)."""
    with audited("complaint", "read") as ctx:
        status, limit, offset = COMPLAINT_STATUS.read(), LIMIT.read(), OFFSET.read()
        items = feedback.complaints(db_session(), ctx["actor"], status=status, limit=limit, offset=offset)
    return jsonify(items)


@api.post("/complaints/<int:complaint_id>/status")
@documented(json_response(ref("Complaint")), errors=(403, 409), body=COMPLAINT_MOVE)
def move_complaint(complaint_id: int):
    """A curator takes a complaint (``in_progress``) or closes it (``closed``), with a ``note``;
    409 ``bad_transition`` otherwise (open → in_progress → closed, or open → closed)."""
    with audited("complaint", "write", object_id=complaint_id) as ctx:
        data = COMPLAINT_MOVE.read()
        with database().transaction() as s:
            body = feedback.move_complaint(
                s, ctx["actor"], complaint_id, data.get("status"), data.get("note"), now=now()
            )
            ctx["patient_id"] = body["patient"]["id"]
    return jsonify(body)
