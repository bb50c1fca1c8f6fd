"""Second medical opinion requests: the member's request, its documents, the curators' handling,
and the worker's escalation of requests nobody contacted in time.

Who: a member requests for themselves or a dependant (``members.may_act_for``) and sees those
requests; curators see and move all; anyone else gets ``NotFound`` for one request and
``NotPermitted`` for the list.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from telemed import errors, inputs
from telemed.auth import service as auth_service
from telemed.auth.actor import Actor
from telemed.auth.models import User
from telemed.auth.roles import Role
from telemed.db import Database
from telemed.documents.models import Attachment
from telemed.documents.store import Owner, store_document
from telemed.members import service as members
from telemed.members.models import Patient
from telemed.notifications import service as notifications
from telemed.opinions import business_days, rules
from telemed.opinions.models import OpinionDocument, OpinionEvent, SecondOpinion
from telemed.records import icd10
from telemed.storage import Readable, Storage
from telemed.translatable import _l


def _text(data: dict, name: str, max_len: int, *, required: bool) -> str:
    value = data.get(name)
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise errors.ValidationFailed(_l("'%(name)s' must be text.", name=name), details={"field": name})
    value = inputs.clean_text(value, name, max_len=max_len)
    if required and not value:
        raise errors.ValidationFailed(_l("'%(name)s' is required.", name=name), details={"field": name})
    return value


def _contact(value: object) -> dict:
    """``{channel: phone | chat | email, phone?, time?}`` (absent: by phone at any time)."""
    if value is None:
        return {"channel": "phone"}
    if not isinstance(value, dict) or value.get("channel", "phone") not in rules.CHANNELS:
        raise errors.ValidationFailed(
            _l("'contact' must be {channel: phone, chat or email, phone?, time?}."),
            details={"field": "contact"},
        )
    out = {"channel": value.get("channel", "phone")}
    for name in ("phone", "time"):
        if value.get(name) is not None:
            out[name] = _text(value, name, rules.CONTACT_TEXT_MAX, required=False)
    return out


def _patient_for_member(session: Session, actor: Actor, patient_id: object) -> Patient:
    if not actor.is_member:
        raise errors.NotPermitted(_l("Members request second opinions for themselves or their dependants."))
    if patient_id is None:
        own = members.own_patient(session, actor.id)
        if own is None:
            raise errors.ValidationFailed(_l("Choose the patient."), details={"field": "patient_id"})
        return own
    if isinstance(patient_id, bool) or not isinstance(patient_id, int):
        raise errors.ValidationFailed(_l("'patient_id' must be an id."), details={"field": "patient_id"})
    patient = session.get(Patient, patient_id)
    if patient is None or not members.may_act_for(session, actor.id, patient):
        raise errors.NotFound(_l("Patient not found."))
    return patient


def request_opinion(
    session: Session, actor: Actor, data: dict, *, now: datetime, tz: ZoneInfo, consent_version: str
) -> SecondOpinion:
    """``POST /second-opinions``: ``{patient_id?, icd10, condition, question, contact?, attachment_ids?}``.

    The contact deadline is one business day (``business_days.contact_deadline``). 409
    ``opinion_already_given`` for a second request on the same ICD-10 category for the patient
    under the same contract; 422 ``policy_inactive`` without an active policy today."""
    patient = _patient_for_member(session, actor, data.get("patient_id"))
    auth_service.require_consent(session, actor, consent_version)
    raw = data.get("icd10")
    code = icd10.normalize_code(raw) if isinstance(raw, str) else None
    if code is None or not icd10.is_valid_code(code):
        raise errors.ValidationFailed(
            _l("'icd10' is not a code of the ICD-10 list."), details={"field": "icd10"}
        )
    condition = _text(data, "condition", rules.CONDITION_MAX, required=True)
    question = _text(data, "question", rules.QUESTION_MAX, required=True)
    contact = _contact(data.get("contact"))
    chosen = _chosen_documents(session, patient.id, data.get("attachment_ids"))
    policy = members.active_policy(session, patient.id, now.astimezone(tz).date())
    if policy is None:
        raise errors.PolicyInactive()
    opinion = SecondOpinion(
        patient_id=patient.id,
        contract_id=policy.contract_id,
        requested_by_id=actor.id,
        icd10=code,
        icd10_category=rules.category(code),
        condition=condition,
        question=question,
        contact=contact,
        status="submitted",
        created_at=now,
        updated_at=now,
        contact_due_at=business_days.contact_deadline(now, tz),
    )
    try:
        with session.begin_nested():
            session.add(opinion)
            session.flush()
    except IntegrityError:
        raise errors.OpinionAlreadyGiven() from None
    session.add_all(OpinionDocument(opinion_id=opinion.id, attachment_id=a) for a in chosen)
    session.add(OpinionEvent(opinion_id=opinion.id, status="submitted", actor_id=actor.id, at=now))
    session.flush()
    return opinion


def _chosen_documents(session: Session, patient_id: int, ids: object) -> list[int]:
    """Documents of the patient's e-card chosen for the request (``attachment_ids``)."""
    if ids is None:
        return []
    if not isinstance(ids, list) or len(ids) > 20 or not all(type(i) is int for i in ids):
        raise errors.ValidationFailed(
            _l("'attachment_ids' must be a list of at most 20 ids."), details={"field": "attachment_ids"}
        )
    wanted = set(ids)
    found = set(
        session.scalars(
            select(Attachment.id).where(Attachment.id.in_(wanted), Attachment.patient_id == patient_id)
        )
    )
    if found != wanted:
        raise errors.ValidationFailed(
            _l("Choose documents of this patient's medical record."), details={"field": "attachment_ids"}
        )
    return sorted(wanted)


def _visible(session: Session, actor: Actor, opinion_id: int, *, lock: bool = False) -> SecondOpinion:
    query = select(SecondOpinion).where(SecondOpinion.id == opinion_id)
    opinion = session.scalar(query.with_for_update() if lock else query)
    if opinion is None:
        raise errors.NotFound(_l("Second opinion request not found."))
    if actor.is_curator:
        return opinion
    patient = session.get(Patient, opinion.patient_id)
    if not actor.is_member or patient is None or not members.may_act_for(session, actor.id, patient):
        raise errors.NotFound(_l("Second opinion request not found."))
    return opinion


def get_for(session: Session, actor: Actor, opinion_id: int) -> SecondOpinion:
    """The request if the actor acts for its patient or is a curator, else ``NotFound``."""
    return _visible(session, actor, opinion_id)


def list_for(
    session: Session, actor: Actor, *, status: str | None = None, limit: int = 50, offset: int = 0
) -> list[SecondOpinion]:
    """Members: their own and their dependants'; curators: all, overdue and oldest first."""
    query = select(SecondOpinion)
    if actor.is_member:
        ids = [p.id for p in members.bookable_patients(session, actor.id)]
        query = query.where(SecondOpinion.patient_id.in_(ids)).order_by(SecondOpinion.created_at.desc())
    elif actor.is_curator:
        query = query.order_by(
            SecondOpinion.status == "closed", SecondOpinion.contact_due_at, SecondOpinion.id
        )
    else:
        raise errors.NotPermitted(_l("Second opinions are the member's and the curator service's."))
    if status is not None:
        query = query.where(SecondOpinion.status == status)
    return list(session.scalars(query.order_by(SecondOpinion.id.desc()).limit(limit).offset(offset)))


def _report_ids(session: Session, opinion_ids: list[int]) -> dict[int, int]:
    """Each request's latest document uploaded by a curator: the expert's report."""
    rows = session.execute(
        select(Attachment.opinion_id, Attachment.id)
        .join(User, User.id == Attachment.uploaded_by_id)
        .where(Attachment.opinion_id.in_(opinion_ids), User.role == Role.CURATOR)
        .order_by(Attachment.id)
    )
    return {opinion_id: attachment_id for opinion_id, attachment_id in rows if opinion_id is not None}


def move(
    session: Session, actor: Actor, opinion_id: int, status: object, note: object, *, now: datetime
) -> SecondOpinion:
    """Curators move a request one step (submitted → contacted → in_review → report_issued →
    closed); 409 ``bad_transition`` otherwise, 409 ``report_missing`` to issue a report not uploaded."""
    if not actor.is_curator:
        raise errors.NotPermitted(_l("Only the curator service moves second opinion requests."))
    if status not in rules.STATUSES:
        raise errors.ValidationFailed(
            _l("'status' must be one of %(choices)s.", choices=", ".join(rules.STATUSES)),
            details={"field": "status"},
        )
    text = _text({"note": note}, "note", rules.NOTE_MAX, required=False)
    opinion = _visible(session, actor, opinion_id, lock=True)
    if not rules.may_move(opinion.status, str(status)):
        raise errors.BadTransition()
    if status == "report_issued" and opinion.id not in _report_ids(session, [opinion.id]):
        raise errors.ReportMissing()
    opinion.status, opinion.updated_at, opinion.curator_id = str(status), now, actor.id
    if status == "contacted":
        opinion.contacted_at = now
    session.add(OpinionEvent(opinion_id=opinion.id, status=str(status), note=text, actor_id=actor.id, at=now))
    session.flush()
    notice = notifications.Notice(
        user_id=opinion.requested_by_id,
        kind="opinion_status",
        params={"opinion_id": opinion.id, "status": opinion.status, "path": f"/second-opinions/{opinion.id}"},
        dedupe_key=f"opinion_status:{opinion.id}:{opinion.status}",
    )
    notifications.notify(session, [notice], now=now)
    return opinion


def check_can_upload(session: Session, actor: Actor, opinion_id: int) -> int:
    """The request's patient id if the actor may add a document now: the member while it is open,
    a curator (the expert's report) until it is closed; else ``NotFound`` / ``Conflict``."""
    opinion = _visible(session, actor, opinion_id)
    if not rules.takes_documents(opinion.status, by_curator=actor.is_curator):
        raise errors.Conflict(_l("The request no longer takes documents."))
    return opinion.patient_id


def upload_document(
    db: Database,
    storage: Storage,
    actor: Actor,
    opinion_id: int,
    *,
    stream: Readable,
    filename: str,
    max_size: int,
    now: datetime,
) -> Attachment:
    """Store a document of the request (``check_can_upload`` before the bytes are read and again in
    the row's transaction); it belongs to the patient's e-card (``documents.store``)."""
    with db.session() as s:
        check_can_upload(s, actor, opinion_id)

    def owner(s: Session) -> Owner:
        patient_id = check_can_upload(s, actor, opinion_id)
        return {"patient_id": patient_id, "consultation_id": None, "visit_id": None, "opinion_id": opinion_id}

    return store_document(
        db,
        storage,
        stream=stream,
        filename=filename,
        max_size=max_size,
        uploaded_by=actor.id,
        now=now,
        owner=owner,
    )


def may_read_document(session: Session, actor: Actor, attachment: Attachment) -> bool:
    """Curators read the documents of the requests they handle (uploads and chosen ones)."""
    if not actor.is_curator:
        return False
    if attachment.opinion_id is not None:
        return True
    return (
        session.scalar(
            select(OpinionDocument.opinion_id).where(OpinionDocument.attachment_id == attachment.id).limit(1)
        )
        is not None
    )


def escalate_overdue(session: Session, *, now: datetime) -> list[int]:
    """Mark requests nobody contacted by their deadline as escalated (once each, safe with several
    workers: the UPDATE claims them); returns their ids."""
    claimed = (
        session.execute(
            update(SecondOpinion)
            .where(
                SecondOpinion.status == "submitted",
                SecondOpinion.escalated_at.is_(None),
                SecondOpinion.contact_due_at < now,
            )
            .values(escalated_at=now)
            .returning(SecondOpinion.id)
            .execution_options(synchronize_session=False)
        )
        .scalars()
        .all()
    )
    session.add_all(OpinionEvent(opinion_id=i, status="escalated", actor_id=None, at=now) for i in claimed)
    session.flush()
    return list(claimed)


def anything_overdue(session: Session, *, now: datetime) -> bool:
    """Whether ``escalate_overdue`` has work (a read: an idle worker takes no write lock)."""
    return (
        session.scalar(
            select(SecondOpinion.id)
            .where(
                SecondOpinion.status == "submitted",
                SecondOpinion.escalated_at.is_(None),
                SecondOpinion.contact_due_at < now,
            )
            .limit(1)
        )
        is not None
    )


def opinion_json(session: Session, opinion: SecondOpinion, now: datetime) -> dict:
    """A request with its documents and history."""
    patient = session.get(Patient, opinion.patient_id)
    uploads = list(
        session.scalars(select(Attachment).where(Attachment.opinion_id == opinion.id).order_by(Attachment.id))
    )
    chosen = list(
        session.scalars(
            select(Attachment)
            .join(OpinionDocument, OpinionDocument.attachment_id == Attachment.id)
            .where(OpinionDocument.opinion_id == opinion.id)
            .order_by(Attachment.id)
        )
    )
    report_id = _report_ids(session, [opinion.id]).get(opinion.id)
    events = session.scalars(
        select(OpinionEvent).where(OpinionEvent.opinion_id == opinion.id).order_by(OpinionEvent.id)
    )

    def doc(a: Attachment, kind: str) -> dict:
        return {
            "id": a.id,
            "filename": a.filename,
            "content_type": a.content_type,
            "size": a.size,
            "kind": kind,
        }

    return {
        "id": opinion.id,
        "patient": {"id": opinion.patient_id, "name": patient.full_name if patient else None},
        "icd10": opinion.icd10,
        "condition": opinion.condition,
        "question": opinion.question,
        "contact": opinion.contact,
        "status": opinion.status,
        "created_at": opinion.created_at.isoformat(timespec="seconds"),
        "updated_at": opinion.updated_at.isoformat(timespec="seconds"),
        "contact_due_at": opinion.contact_due_at.isoformat(timespec="seconds"),
        "contacted_at": opinion.contacted_at.isoformat(timespec="seconds") if opinion.contacted_at else None,
        "overdue": opinion.contacted_at is None and now > opinion.contact_due_at,
        "escalated_at": opinion.escalated_at.isoformat(timespec="seconds") if opinion.escalated_at else None,
        "documents": [doc(a, "report" if a.id == report_id else "upload") for a in uploads]
        + [doc(a, "from_record") for a in chosen],
        "report": {"id": report_id} if report_id and opinion.status in ("report_issued", "closed") else None,
        "history": [
            {"status": e.status, "at": e.at.isoformat(timespec="seconds"), "note": e.note} for e in events
        ],
    }
