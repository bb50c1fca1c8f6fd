"""Writing, signing and correcting the medical conclusion of a consultation.

Only the consultation's doctor writes. A signed conclusion is read-only: the signature stores
who, when and the SHA-256 of the canonical content; corrections are addenda. Patients and
guardians see the conclusion once it is signed.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from telemed import errors, inputs
from telemed.auth import second_factor
from telemed.auth.actor import Actor
from telemed.auth.models import User
from telemed.auth.passwords import Passwords
from telemed.members.models import fold
from telemed.records import access, icd10, referrals
from telemed.records.models import Addendum, Conclusion
from telemed.scheduling import notices
from telemed.scheduling import service as scheduling
from telemed.scheduling.models import Consultation, Status
from telemed.translatable import _l

TEXT_FIELDS = ("complaints", "anamnesis", "objective", "recommendations", "follow_up")
TEXT_MAX = 10_000
DIAGNOSIS_TEXT_MAX = 1000
REASON_MAX = 1000  # an addendum's reason


def consultation_for_doctor(session: Session, actor: Actor, consultation_id: int) -> Consultation:
    """The consultation if the actor is its doctor; ``NotFound`` for strangers, ``NotPermitted`` for the patient."""
    c = scheduling.get_for(session, actor, consultation_id, lock=True)
    if not access.may_write_conclusion(actor, c):
        raise errors.NotPermitted(_l("Only the consultation's doctor writes the conclusion."))
    return c


def _text(data: dict, name: str, max_len: int = TEXT_MAX) -> str:
    value = data.get(name, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise errors.ValidationFailed(
            _l("'%(name)s' must be text of at most %(max_len)s characters.", name=name, max_len=max_len),
            details={"field": name},
        )
    return inputs.clean_text(value, name, max_len=max_len)


def clean_diagnosis(value: object) -> tuple[str | None, str]:
    """``{icd10, text}`` → (canonical ICD-10 code or None, text); the code must be in the ICD-10 list."""
    if value is None:
        return None, ""
    if not isinstance(value, dict):
        raise errors.ValidationFailed(
            _l("'diagnosis' must be {icd10, text}."), details={"field": "diagnosis"}
        )
    text = _text(value, "text", DIAGNOSIS_TEXT_MAX)
    raw = value.get("icd10")
    if raw in (None, ""):
        return None, text
    code = icd10.normalize_code(raw) if isinstance(raw, str) else None
    if code is None or not icd10.is_valid_code(code):
        raise errors.ValidationFailed(
            _l("'diagnosis.icd10' is not a code of the ICD-10 list."), details={"field": "diagnosis.icd10"}
        )
    if not text:
        entry = icd10.lookup(code)
        text = entry.title if entry else ""
    return code, text


def clean_content(data: dict) -> dict:
    content: dict[str, Any] = {name: _text(data, name) for name in TEXT_FIELDS}
    content["diagnosis_icd10"], content["diagnosis_text"] = clean_diagnosis(data.get("diagnosis"))
    content["referrals"] = referrals.clean(data.get("referrals"))
    return content


def _stored_content(c: Conclusion) -> dict:
    """The content as stored: what the signature's hash covers (legacy string referrals as they are)."""
    return {name: getattr(c, name) for name in TEXT_FIELDS} | {
        "diagnosis": {"icd10": c.diagnosis_icd10, "text": c.diagnosis_text},
        "referrals": list(c.referrals or []),
    }


def content_of(c: Conclusion) -> dict:
    """The content in the API's shape: referrals as ``{kind, code, specialty, note, title}``."""
    return _stored_content(c) | {"referrals": [referrals.describe(r) for r in c.referrals or []]}


def content_hash(c: Conclusion) -> str:
    """SHA-256 of the canonical JSON (sorted keys, no spaces, UTF-8) of the stored content and the
    consultation id. Referrals enter as stored (``referrals.clean``'s shape, or the plain strings of
    rows signed before), so a signature made before referrals were structured still verifies."""
    canonical = json.dumps(
        {"consultation_id": c.consultation_id, **_stored_content(c)},
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def signature_valid(c: Conclusion) -> bool:
    """Whether a signed conclusion's content still hashes to the signed ``content_sha256``."""
    return c.content_sha256 is not None and content_hash(c) == c.content_sha256


def save_draft(
    session: Session, actor: Actor, consultation_id: int, data: dict, *, now: datetime
) -> Conclusion:
    """Create or replace the draft; ``ConclusionSigned`` once signed."""
    content = clean_content(data)
    c = consultation_for_doctor(session, actor, consultation_id)
    if c.status in (Status.CANCELLED, Status.NO_SHOW):
        raise errors.Conflict(_l("A cancelled or missed consultation has no conclusion."))
    conclusion = session.scalar(
        select(Conclusion).where(Conclusion.consultation_id == c.id).with_for_update()
    )
    if conclusion is None:
        conclusion = Conclusion(consultation_id=c.id, patient_id=c.patient_id)
        session.add(conclusion)
    elif conclusion.signed_at is not None:
        raise errors.ConclusionSigned()
    for name, value in content.items():
        setattr(conclusion, name, value)
    conclusion.search_text = fold(
        " ".join(
            [
                content["diagnosis_text"],
                content["complaints"],
                content["recommendations"],
                *referrals.search_words(content["referrals"]),
            ]
        )
    )
    conclusion.updated_at = now
    session.flush()
    return conclusion


def sign(
    session: Session,
    passwords: Passwords,
    actor: Actor,
    consultation_id: int,
    password: str,
    code: str | None,
    *,
    now: datetime,
) -> Conclusion:
    """Sign with the doctor's password and a current code of their authenticator (used up): records
    who, when and the content hash; completes the consultation. 403 ``invalid_password``, then 403
    ``invalid_otp`` for a missing, wrong or used code.

    ``ConsultationNotStarted`` before the consultation has started (``access.has_started``).
    Completing it leaves its video room open until the room's window ends (``video.access``)."""
    c = consultation_for_doctor(session, actor, consultation_id)
    if not access.has_started(c, now):
        raise errors.ConsultationNotStarted()
    conclusion = session.scalar(
        select(Conclusion).where(Conclusion.consultation_id == c.id).with_for_update()
    )
    if conclusion is None:
        raise errors.ValidationFailed(_l("Write the conclusion before signing it."))
    if conclusion.signed_at is not None:
        raise errors.ConclusionSigned(_l("The conclusion is already signed."))
    if not conclusion.diagnosis_text:
        raise errors.ValidationFailed(
            _l("A conclusion needs a diagnosis before it is signed."), details={"field": "diagnosis"}
        )
    user = session.get(User, actor.id)
    if user is None or not passwords.verify(user.password_hash, password):
        raise errors.InvalidPassword()
    try:
        second_factor.verify(session, user.id, code, now=now)
    except (errors.OtpRequired, errors.InvalidOtp):
        raise errors.SigningOtpInvalid() from None
    conclusion.signed_at, conclusion.signed_by_id = now, actor.id
    conclusion.content_sha256 = content_hash(conclusion)
    issued = referrals.issue_for(session, conclusion, now)
    scheduling.mark_completed(session, c, now=now)
    notices.tell_member(session, c, "conclusion_signed", now=now, once=True)
    if issued:  # «направление выдано»: the member's list of referrals, with one-tap booking
        notices.tell_member(session, c, "referral_issued", now=now, once=True, path=referrals.LIST_PATH)
    return conclusion


def add_addendum(
    session: Session, actor: Actor, consultation_id: int, *, text: object, reason: object, now: datetime
) -> Addendum:
    """Append a correction to a signed conclusion (the signed text itself never changes)."""
    data = {"text": text, "reason": reason}
    body, why = _text(data, "text"), _text(data, "reason", REASON_MAX)
    if not body or not why:
        raise errors.ValidationFailed(_l("An addendum needs a text and a reason."), details={"field": "text"})
    c = consultation_for_doctor(session, actor, consultation_id)
    conclusion = session.scalar(select(Conclusion).where(Conclusion.consultation_id == c.id))
    if conclusion is None or conclusion.signed_at is None:
        raise errors.NotSigned(_l("Addenda are added to a signed conclusion; edit the draft instead."))
    addendum = Addendum(
        conclusion_id=conclusion.id, author_id=actor.id, text=body, reason=why, created_at=now
    )
    session.add(addendum)
    session.flush()
    return addendum


def conclusion_for(session: Session, actor: Actor, consultation_id: int) -> tuple[Consultation, Conclusion]:
    """The conclusion as the actor may see it: the doctor sees the draft, the patient only the signed one."""
    c = scheduling.get_for(session, actor, consultation_id)
    conclusion = session.scalar(select(Conclusion).where(Conclusion.consultation_id == c.id))
    if conclusion is None or not access.may_read_conclusion(
        actor, c, signed=conclusion.signed_at is not None
    ):
        raise errors.NotFound(_l("There is no signed conclusion yet."))
    return c, conclusion


def conclusion_json(c: Conclusion) -> dict:
    return {
        "id": c.id,
        "consultation_id": c.consultation_id,
        **content_of(c),
        "status": "signed" if c.signed_at else "draft",
        "updated_at": c.updated_at.isoformat(timespec="seconds"),
        "signed_at": c.signed_at.isoformat(timespec="seconds") if c.signed_at else None,
        "signed_by": {"id": c.signed_by.id, "name": c.signed_by.full_name} if c.signed_by else None,
        "content_sha256": c.content_sha256,
        "addenda": [
            {
                "id": a.id,
                "text": a.text,
                "reason": a.reason,
                "author": {"id": a.author.id, "name": a.author.full_name},
                "created_at": a.created_at.isoformat(timespec="seconds"),
            }
            for a in c.addenda
        ],
        "notice": "Sick-leave certificates, certificates and prescriptions are issued in the clinic, not remotely.",
    }
