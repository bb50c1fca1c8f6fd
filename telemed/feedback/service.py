"""Rating a consultation («Оценка обращения»), the doctor's summary, and the curators' complaints.

Who: the patient (or a guardian) rates a consultation of theirs once it has ended, and may change
the rating for 7 days; doctors see their average and count only, never who rated; curators list
and handle complaints. Anyone else gets ``NotFound`` (a consultation) or ``NotPermitted`` (the
complaints).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from telemed import errors, inputs
from telemed.auth.actor import Actor
from telemed.auth.models import User
from telemed.catalog.models import Doctor
from telemed.feedback import rules
from telemed.feedback.models import Complaint, Rating
from telemed.members import service as members
from telemed.members.models import Patient
from telemed.scheduling import service as scheduling
from telemed.scheduling.models import Consultation
from telemed.translatable import _l
from telemed.video.models import RoomJoin


def _consultation_for_member(session: Session, actor: Actor, consultation_id: int) -> Consultation:
    """The consultation if the actor is the patient or a guardian; ``NotFound`` otherwise."""
    c = scheduling.get_for(session, actor, consultation_id)  # NotFound unless party to it
    if not actor.is_member or not members.may_act_for(session, actor.id, c.patient):
        raise errors.NotFound(_l("Consultation not found."))
    return c


def _doctor_joined(session: Session, c: Consultation) -> bool:
    if c.doctor is None:
        return False
    return (
        session.scalar(
            select(RoomJoin.first_at).where(
                RoomJoin.consultation_id == c.id, RoomJoin.user_id == c.doctor.user_id
            )
        )
        is not None
    )


def rating_json(c: Consultation, rating: Rating | None, complaint: Complaint | None, now: datetime) -> dict:
    """The consultation's details and its rating (``happened`` null: not rated yet)."""
    return {
        "consultation": {
            "id": c.id,
            "date": c.starts_at.isoformat(timespec="seconds"),
            "doctor": {"id": c.doctor.id, "name": c.doctor.full_name} if c.doctor else None,
            "specialty": c.specialty_code,
            "kind": c.mode,  # urgent (the 24/7 queue) or planned
            "status": c.status,
        },
        "happened": rating.happened if rating else None,
        "credible": rating.credible if rating else None,
        "doctor_score": rating.doctor_score if rating else None,
        "service_score": rating.service_score if rating else None,
        "comment": rating.comment if rating else "",
        "rated_at": rating.created_at.isoformat(timespec="seconds") if rating else None,
        "editable_until": (rating.created_at + rules.EDIT_WINDOW).isoformat(timespec="seconds")
        if rating
        else None,
        "can_rate": rules.has_ended(c.status, c.ends_at, now)
        and rules.editable(rating.created_at if rating else None, now),
        "complaint": {"id": complaint.id, "status": complaint.status} if complaint else None,
    }


def _complaint_of(session: Session, consultation_id: int) -> Complaint | None:
    return session.scalar(select(Complaint).where(Complaint.consultation_id == consultation_id))


def rating_for(session: Session, actor: Actor, consultation_id: int, *, now: datetime) -> dict:
    """``GET .../rating``: the patient's or guardian's view."""
    c = _consultation_for_member(session, actor, consultation_id)
    rating = session.scalar(select(Rating).where(Rating.consultation_id == c.id))
    return rating_json(c, rating, _complaint_of(session, c.id), now)


def _score(data: dict, name: str) -> int | None:
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value not in rules.SCORES:
        raise errors.ValidationFailed(
            _l("'%(name)s' must be a whole number from 1 to 5.", name=name), details={"field": name}
        )
    return value


def read_rating(data: dict) -> tuple[str, int | None, int | None, str]:
    """``{happened, doctor_score?, service_score?, comment?}`` checked; ``ValidationFailed`` otherwise."""
    happened = data.get("happened")
    if happened not in rules.HAPPENED:
        raise errors.ValidationFailed(
            _l("'happened' must be one of %(choices)s.", choices=", ".join(rules.HAPPENED)),
            details={"field": "happened"},
        )
    comment = data.get("comment")
    if comment is None:
        comment = ""
    if not isinstance(comment, str):
        raise errors.ValidationFailed(_l("'comment' must be text."), details={"field": "comment"})
    comment = inputs.clean_text(comment, "comment", max_len=rules.COMMENT_MAX)
    return happened, _score(data, "doctor_score"), _score(data, "service_score"), comment


def rate(session: Session, actor: Actor, consultation_id: int, data: dict, *, now: datetime) -> dict:
    """``PUT .../rating``: give or change the rating.

    409 ``consultation_not_ended`` before the consultation has ended (or when cancelled); 409
    ``rating_closed`` 7 days after it was first given. "The doctor did not come" is checked against
    the room's join records (``credible``); on a psychologist consultation a credible one gives the
    contract's quota back. A low score or a visit that did not happen opens a complaint (one per
    consultation)."""
    happened, doctor_score, service_score, comment = read_rating(data)
    c = _consultation_for_member(session, actor, consultation_id)
    if not rules.has_ended(c.status, c.ends_at, now):
        raise errors.ConsultationNotEnded()
    rating = session.scalar(select(Rating).where(Rating.consultation_id == c.id).with_for_update())
    if rating is not None and not rules.editable(rating.created_at, now):
        raise errors.RatingClosed()
    if rating is None:
        rating = Rating(consultation_id=c.id, patient_id=c.patient_id, doctor_id=c.doctor_id, created_at=now)
        session.add(rating)
    rating.rated_by_id = actor.id
    rating.happened, rating.doctor_score, rating.service_score = happened, doctor_score, service_score
    rating.comment, rating.updated_at = comment, now
    rating.credible = rules.credible(happened, _doctor_joined(session, c))
    c.doctor_absent_at = (
        (c.doctor_absent_at or now)
        if rules.returns_quota(c.specialty_code, happened, rating.credible)
        else None
    )
    complaint = _complaint_of(session, c.id)
    reason = rules.complaint_reason(happened, doctor_score, service_score)
    if reason is not None and complaint is None:
        complaint = Complaint(
            consultation_id=c.id, patient_id=c.patient_id, reason=reason, opened_at=now, updated_at=now
        )
        session.add(complaint)
    session.flush()
    return rating_json(c, rating, complaint, now)


def doctor_summary(session: Session, actor: Actor) -> dict:
    """A doctor's average score and how many gave one (visits that happened only); never who."""
    if not actor.is_doctor:
        raise errors.NotPermitted(_l("Only doctors have a rating."))
    average, count = session.execute(
        select(func.avg(Rating.doctor_score), func.count(Rating.doctor_score))
        .join(Doctor, Doctor.id == Rating.doctor_id)
        .where(Doctor.user_id == actor.id, Rating.happened == "yes", Rating.doctor_score.is_not(None))
    ).one()
    return {"average": round(float(average), 2) if average is not None else None, "count": int(count)}


# --- complaints (the curator service) --------------------------------------------------------------------


def _require_curator(actor: Actor) -> None:
    if not actor.is_curator:
        raise errors.NotPermitted(_l("Only the curator service handles complaints."))


def _complaint_json(row) -> dict:
    complaint, rating, c, patient, doctor_name, curator_name = row
    return {
        "id": complaint.id,
        "status": complaint.status,
        "reason": complaint.reason,
        "opened_at": complaint.opened_at.isoformat(timespec="seconds"),
        "updated_at": complaint.updated_at.isoformat(timespec="seconds"),
        "closed_at": complaint.closed_at.isoformat(timespec="seconds") if complaint.closed_at else None,
        "note": complaint.note,
        "curator": {"id": complaint.curator_id, "name": curator_name} if complaint.curator_id else None,
        "consultation": {
            "id": c.id,
            "date": c.starts_at.isoformat(timespec="seconds"),
            "specialty": c.specialty_code,
            "kind": c.mode,
            "doctor": doctor_name,
        },
        "patient": {"id": patient.id, "name": patient.full_name},
        "rating": {
            "happened": rating.happened,
            "credible": rating.credible,
            "doctor_score": rating.doctor_score,
            "service_score": rating.service_score,
            "comment": rating.comment,
        }
        if rating
        else None,
    }


def _complaints_query():
    curator = User.__table__.alias("curator")
    return (
        select(Complaint, Rating, Consultation, Patient, Doctor.full_name, curator.c.full_name)
        .join(Consultation, Consultation.id == Complaint.consultation_id)
        .join(Patient, Patient.id == Complaint.patient_id)
        .outerjoin(Rating, Rating.consultation_id == Complaint.consultation_id)
        .outerjoin(Doctor, Doctor.id == Consultation.doctor_id)
        .outerjoin(curator, curator.c.id == Complaint.curator_id)
    )


def complaints(
    session: Session, actor: Actor, *, status: str | None = None, limit: int = 50, offset: int = 0
) -> list[dict]:
    """Curators: complaints, oldest open first (``status`` filters); 403 to everyone else."""
    _require_curator(actor)
    query = _complaints_query()
    if status is not None:
        query = query.where(Complaint.status == status)
    order = (Complaint.status == "closed", Complaint.opened_at, Complaint.id)
    return [_complaint_json(r) for r in session.execute(query.order_by(*order).limit(limit).offset(offset))]


def move_complaint(
    session: Session, actor: Actor, complaint_id: int, status: object, note: object, *, now: datetime
) -> dict:
    """Curators take a complaint (``in_progress``) or close it, with a note of what was done.

    409 ``bad_transition`` for any other move (``rules.TRANSITIONS``)."""
    _require_curator(actor)
    if status not in rules.COMPLAINT_STATUSES:
        raise errors.ValidationFailed(
            _l("'status' must be one of %(choices)s.", choices=", ".join(rules.COMPLAINT_STATUSES)),
            details={"field": "status"},
        )
    if note is not None and not isinstance(note, str):
        raise errors.ValidationFailed(_l("'note' must be text."), details={"field": "note"})
    text = inputs.clean_text(note or "", "note", max_len=rules.NOTE_MAX)
    complaint = session.scalar(select(Complaint).where(Complaint.id == complaint_id).with_for_update())
    if complaint is None:
        raise errors.NotFound(_l("Complaint not found."))
    if not rules.may_move(complaint.status, str(status)):
        raise errors.BadTransition()
    complaint.status, complaint.curator_id, complaint.updated_at = str(status), actor.id, now
    if text:
        complaint.note = text
    if status == "closed":
        complaint.closed_at = now
    session.flush()
    return _complaint_json(session.execute(_complaints_query().where(Complaint.id == complaint.id)).one())
