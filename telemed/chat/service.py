"""Chat of a consultation: messages and read marks.

Only the consultation's parties read or write (``scheduling.service.get_for``; anyone else gets
``NotFound``); when it is writable is ``chat.access``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session, selectinload

from telemed import errors, inputs
from telemed.auth import service as auth_service
from telemed.auth.actor import Actor
from telemed.chat import access
from telemed.chat.models import Message, ReadMark
from telemed.db import ID_MAX
from telemed.documents.models import Attachment
from telemed.documents.store import attachment_json
from telemed.scheduling import service as scheduling
from telemed.scheduling.models import Consultation
from telemed.translatable import _l

TEXT_MAX = 4000
ATTACHMENTS_MAX = 10
HISTORY_DEFAULT = 50
HISTORY_MAX = 500


def consultation_for_chat(
    session: Session, actor: Actor, consultation_id: int, *, lock: bool = False
) -> Consultation:
    """The consultation if the actor is its patient, guardian or doctor; else ``NotFound``."""
    return scheduling.get_for(session, actor, consultation_id, lock=lock)


def clean_text(text: object) -> str:
    """Validate a message text: a string of at most ``TEXT_MAX`` characters (``inputs.clean_text``)."""
    if text is None:
        return ""
    if not isinstance(text, str):
        raise errors.ValidationFailed(_l("'text' must be a string."), details={"field": "text"})
    return inputs.clean_text(text, "text", max_len=TEXT_MAX)


def clean_ids(value: object, field: str = "attachment_ids") -> list[int]:
    if value is None:
        return []
    if (
        not isinstance(value, list)
        or len(value) > ATTACHMENTS_MAX
        or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value)
    ):
        raise errors.ValidationFailed(
            _l(
                "'%(field)s' must be a list of at most %(limit)s ids.",
                field=field,
                limit=ATTACHMENTS_MAX,
            ),
            details={"field": field},
        )
    return list(dict.fromkeys(value))


@dataclass(frozen=True)
class Draft:
    """A message someone asks to send: who, to which consultation, and the fields as received."""

    actor: Actor
    consultation_id: int
    text: object
    attachment_ids: object = None


def post_message(
    session: Session,
    actor: Actor,
    consultation_id: int,
    *,
    text: object,
    attachment_ids: object,
    now: datetime,
    open_hours: int,
) -> dict:
    """Store one message (text and/or the actor's own unsent attachments of this consultation).

    Returns its wire payload (``message_json``); raises the refusal (``NotFound`` to a stranger,
    ``ChatReadOnly``, ``ValidationFailed``).
    """
    result = store_messages(
        session, [Draft(actor, consultation_id, text, attachment_ids)], now=now, open_hours=open_hours
    )[0]
    if isinstance(result, errors.DomainError):
        raise result
    return result


def store_messages(
    session: Session,
    drafts: Sequence[Draft],
    *,
    now: datetime,
    open_hours: int,
    consent_version: str | None = None,
) -> list[dict | errors.DomainError]:
    """Store a batch of messages: one access check and one insert for the whole batch.

    Returns, per draft and in order, its wire payload or the ``DomainError`` that refuses it; each
    draft is judged on its own by the rules of ``post_message`` and a refused one writes nothing.
    With ``consent_version``, a member without a standing consent to it is refused
    (``ConsentRequired``).
    Message ids follow the drafts' order. The caller commits (a group commit when batching).
    """
    results: list[dict | errors.DomainError | None] = [None] * len(drafts)
    valid: list[tuple[int, Draft, str, list[int]]] = []
    for i, d in enumerate(drafts):
        try:
            valid.append((i, d, clean_text(d.text), clean_ids(d.attachment_ids)))
        except errors.DomainError as exc:
            results[i] = exc
    states = scheduling.states_for_many(session, [(d.actor.id, d.consultation_id) for _, d, _, _ in valid])
    unconsented = (
        auth_service.members_without_consent(session, {d.actor.id for _, d, _, _ in valid}, consent_version)
        if consent_version is not None
        else set()
    )
    accepted: list[tuple[int, Draft, str, list[Attachment]]] = []
    claimed: set[int] = set()
    for i, d, body, ids in valid:
        try:
            state = states.get((d.actor.id, d.consultation_id))
            if state is None:
                raise errors.NotFound(_l("Consultation not found."))
            if d.actor.id in unconsented:
                raise errors.ConsentRequired()
            access.require_writable(state, now, open_hours)
            attachments = _claim_attachments(session, d, ids, claimed)
            if not body and not attachments:
                raise errors.ValidationFailed(
                    _l("A message needs text or an attachment."), details={"field": "text"}
                )
            accepted.append((i, d, body, attachments))
        except errors.DomainError as exc:
            results[i] = exc
    if not accepted:
        return _answered(results)
    message_ids = (
        session.connection()
        .scalars(
            _INSERT_RETURNING_IDS,
            [
                {
                    "consultation_id": d.consultation_id,
                    "author_id": d.actor.id,
                    "text": body,
                    "created_at": now,
                }
                for _, d, body, _ in accepted
            ],
        )
        .all()
    )
    for (i, d, body, attachments), message_id in zip(accepted, message_ids, strict=True):
        for a in attachments:
            a.message_id = message_id
        results[i] = {
            "id": message_id,
            "consultation_id": d.consultation_id,
            "author": {"id": d.actor.id, "name": d.actor.name, "role": d.actor.role},
            "text": body,
            "attachments": [attachment_json(a) for a in attachments],
            "created_at": now.isoformat(timespec="seconds"),
        }
    session.flush()
    return _answered(results)


def _answered(results: list[dict | errors.DomainError | None]) -> list[dict | errors.DomainError]:
    assert all(r is not None for r in results), "every draft is answered"
    return [r for r in results if r is not None]


_MESSAGES = cast(Table, Message.__table__)
_INSERT_RETURNING_IDS = insert(_MESSAGES).returning(_MESSAGES.c.id, sort_by_parameter_order=True)


def _claim_attachments(session: Session, d: Draft, ids: list[int], claimed: set[int]) -> list[Attachment]:
    """The sender's own unsent attachments of this consultation, locked; each claimed once per batch."""
    if not ids:
        return []
    if not all(inputs.is_id(i) for i in ids):  # beyond the id column's range: no such attachment
        raise errors.ValidationFailed(
            _l("Unknown or already sent attachment."), details={"field": "attachment_ids"}
        )
    attachments = list(
        session.scalars(
            select(Attachment)
            .where(
                Attachment.id.in_(ids),
                Attachment.consultation_id == d.consultation_id,
                Attachment.uploaded_by_id == d.actor.id,
                Attachment.message_id.is_(None),
            )
            .order_by(Attachment.id)
            .with_for_update()
        )
    )
    if len(attachments) != len(ids) or claimed.intersection(ids):
        raise errors.ValidationFailed(
            _l("Unknown or already sent attachment."), details={"field": "attachment_ids"}
        )
    claimed.update(ids)
    return attachments


def history(
    session: Session,
    actor: Actor,
    consultation_id: int,
    *,
    after: int | None = None,
    limit: int = HISTORY_DEFAULT,
) -> list[Message]:
    """Messages in id order: the last ``limit``, or the first ``limit`` after id ``after``."""
    c = consultation_for_chat(session, actor, consultation_id)
    if after is not None:
        after = min(after, ID_MAX)  # no message has a larger id
    query = (
        select(Message)
        .where(Message.consultation_id == c.id)
        .options(selectinload(Message.author), selectinload(Message.attachments))
    )
    if after is None:
        rows = list(session.scalars(query.order_by(Message.id.desc()).limit(limit)))
        return rows[::-1]
    return list(session.scalars(query.where(Message.id > after).order_by(Message.id).limit(limit)))


def mark_read(session: Session, actor: Actor, consultation_id: int, up_to_id: int, *, now: datetime) -> int:
    """Move the actor's read mark forward to ``up_to_id`` (a message of this chat); returns the mark."""
    c = consultation_for_chat(session, actor, consultation_id)
    exists = up_to_id <= ID_MAX and session.scalar(
        select(Message.id).where(Message.id == up_to_id, Message.consultation_id == c.id)
    )
    if not exists:
        raise errors.ValidationFailed(
            _l("'up_to_id' is not a message of this chat."), details={"field": "up_to_id"}
        )
    mark = session.get(ReadMark, (c.id, actor.id), with_for_update=True)
    if mark is None:
        mark = ReadMark(consultation_id=c.id, user_id=actor.id, message_id=up_to_id, updated_at=now)
        session.add(mark)
    elif up_to_id > mark.message_id:
        mark.message_id, mark.updated_at = up_to_id, now
    session.flush()
    return mark.message_id


def read_marks(session: Session, consultation_id: int) -> dict[int, int]:
    rows = session.execute(
        select(ReadMark.user_id, ReadMark.message_id).where(ReadMark.consultation_id == consultation_id)
    )
    return dict(rows.all())  # Row objects are (user_id, message_id) pairs


def message_json(m: Message) -> dict:
    """The wire shape of a message (socket event and REST)."""
    return {
        "id": m.id,
        "consultation_id": m.consultation_id,
        "author": {"id": m.author.id, "name": m.author.full_name, "role": m.author.role},
        "text": m.text,
        "attachments": [attachment_json(a) for a in m.attachments],
        "created_at": m.created_at.isoformat(timespec="seconds"),
    }
