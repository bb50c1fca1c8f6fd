"""Tell users what happened: one call writes the notifications, their e-mails and their live events.

``notify`` runs in the transaction of the event that causes it, so a notification exists exactly
when its cause committed: the in-app row, the e-mail in the outbox (``mail_outbox``, sent by
``telemed worker``, see ``notifications.mailer``) and the Socket.IO ``notification`` event to the
user's connections (``notify.outbox``). A notice with a ``dedupe_key`` is written at most once,
whoever writes it and however often (two workers sending one reminder): the key is unique and a
second insert does nothing.

Each user chooses channels per kind (``preferences``); no choice means on. E-mail needs an address.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from telemed import errors
from telemed.auth import invitations
from telemed.auth.models import User
from telemed.notifications import kinds
from telemed.notifications.models import MailMessage, Notification, NotificationPreference
from telemed.notify.models import OutboxEvent
from telemed.translatable import _l

EVENT = "notification"  # the Socket.IO event to the user's connections
LIST_MAX = 100


@dataclass(frozen=True)
class Reader:
    """How a user reads: language and time zone (their profile's, else the service's defaults)."""

    locale: str = "ru"
    tz: str = "Europe/Moscow"


DEFAULT_READER = Reader()


@dataclass(frozen=True)
class Notice:
    """One notification to write: to whom, what, about which consultation, at most once per key."""

    user_id: int
    kind: str
    params: Mapping[str, Any] = field(default_factory=dict)
    consultation_id: int | None = None
    dedupe_key: str | None = None


def configure(default: Reader) -> None:
    """Set the service's language and zone (``TELEMED_DEFAULT_LOCALE``, ``TELEMED_CLINIC_TIMEZONE``)."""
    global DEFAULT_READER
    DEFAULT_READER = default


def reader_of(user: User | None, default: Reader | None = None) -> Reader:
    """The user's language and zone, falling back to ``default`` (the service's) for what their
    profile lacks."""
    default = default or DEFAULT_READER
    if user is None:
        return default
    return Reader(locale=user.locale or default.locale, tz=user.timezone or default.tz)


def enabled_channels(session: Session, user_ids: Iterable[int], kind_names: Iterable[str]) -> dict:
    """``{(user_id, kind, channel): enabled}`` for the choices users made (absent: on)."""
    ids, names = set(user_ids), set(kind_names)
    if not ids:
        return {}
    rows = session.execute(
        select(
            NotificationPreference.user_id,
            NotificationPreference.kind,
            NotificationPreference.channel,
            NotificationPreference.enabled,
        ).where(NotificationPreference.user_id.in_(ids), NotificationPreference.kind.in_(names))
    )
    return {(u, k, c): e for u, k, c, e in rows}


def _insert(session: Session):
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


def notify(
    session: Session, notices: Sequence[Notice], *, now: datetime, default: Reader | None = None
) -> list[int]:
    """Write ``notices`` into the caller's transaction; returns the ids of the notifications
    written (a notice whose ``dedupe_key`` exists already, or whose user turned both channels of
    its kind off, writes nothing)."""
    if not notices:
        return []
    user_ids = {n.user_id for n in notices}
    users = {u.id: u for u in session.scalars(select(User).where(User.id.in_(user_ids), User.is_active))}
    chosen = enabled_channels(session, user_ids, {n.kind for n in notices})
    rows = []
    for n in notices:
        if n.kind not in kinds.KINDS:
            raise ValueError(f"unknown notification kind {n.kind!r}")
        user = users.get(n.user_id)
        if user is None:
            continue
        in_app = chosen.get((n.user_id, n.kind, "in_app"), True)
        email = chosen.get((n.user_id, n.kind, "email"), True) and bool(user.email)
        if not (in_app or email):
            continue
        rows.append(
            {
                "user_id": n.user_id,
                "kind": n.kind,
                "params": dict(n.params),
                "consultation_id": n.consultation_id,
                "dedupe_key": n.dedupe_key,
                "in_app": in_app,
                "created_at": now,
            }
        )
    if not rows:
        return []
    statement = (
        _insert(session)(Notification)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(
            Notification.id,
            Notification.user_id,
            Notification.kind,
            Notification.params,
            Notification.consultation_id,
            Notification.dedupe_key,
            Notification.in_app,
        )
    )
    written = session.execute(statement, rows).all()
    mails, events = [], []
    for nid, user_id, kind, params, consultation_id, _key, in_app in written:
        user = users[user_id]
        if user.email and chosen.get((user_id, kind, "email"), True):
            mails.append(
                {
                    "notification_id": nid,
                    "to_addr": user.email,
                    "created_at": now,
                    "due_at": now,
                    "attempts": 0,
                }
            )
        if in_app:
            reader = reader_of(user, default)
            payload = {
                "id": nid,
                "kind": kind,
                "title": kinds.title(kind, params, locale=reader.locale, tz=reader.tz),
                "created_at": now.isoformat(),
                "read_at": None,
                "consultation_id": consultation_id,
            }
            events.append({"created_at": now, "event": EVENT, "room": f"user:{user_id}", "payload": payload})
    if mails:
        session.execute(insert(MailMessage), mails)
    if events:
        session.execute(insert(OutboxEvent), events)
    return [w[0] for w in written]


def _own(user_id: int) -> Select:
    return select(Notification).where(Notification.user_id == user_id, Notification.in_app.is_(True))


def list_for(
    session: Session, user_id: int, *, limit: int = 50, before: int | None = None
) -> list[Notification]:
    """The user's in-app notifications, newest first; ``before``: only those with a smaller id."""
    query = _own(user_id).order_by(Notification.id.desc()).limit(min(limit, LIST_MAX))
    if before is not None:
        query = query.where(Notification.id < before)
    return list(session.scalars(query))


def unread_count(session: Session, user_id: int) -> int:
    """How many of the user's in-app notifications are unread (the bell's badge)."""
    query = select(func.count()).select_from(_own(user_id).where(Notification.read_at.is_(None)).subquery())
    return int(session.scalar(query) or 0)


def mark_read(session: Session, user_id: int, notification_id: int, *, now: datetime) -> Notification:
    """Mark one of the user's notifications read (again: keeps the first time); ``NotFound``
    for anyone else's, so ids tell strangers nothing."""
    n = session.scalar(_own(user_id).where(Notification.id == notification_id).with_for_update())
    if n is None:
        raise errors.NotFound(_l("No such notification."))
    if n.read_at is None:
        n.read_at = now
    return n


def mark_all_read(session: Session, user_id: int, *, now: datetime) -> int:
    """Mark all of the user's notifications read; returns how many were unread."""
    result = session.execute(
        update(Notification)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
        .values(read_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def as_json(n: Notification, reader: Reader) -> dict[str, Any]:
    """``{id, kind, title, created_at, read_at, consultation_id}`` in the reader's language."""
    return {
        "id": n.id,
        "kind": n.kind,
        "title": kinds.title(n.kind, n.params or {}, locale=reader.locale, tz=reader.tz),
        "created_at": n.created_at.isoformat(),
        "read_at": n.read_at.isoformat() if n.read_at else None,
        "consultation_id": n.consultation_id,
    }


def preferences(session: Session, user_id: int) -> dict[str, dict[str, bool]]:
    """``{kind: {in_app, email}}`` for every kind, the defaults (on) filled in."""
    chosen = enabled_channels(session, [user_id], kinds.CHOOSABLE)
    return {k: {c: chosen.get((user_id, k, c), True) for c in kinds.CHANNELS} for k in kinds.CHOOSABLE}


def set_preferences(session: Session, user_id: int, data: object) -> dict[str, dict[str, bool]]:
    """Apply ``{kind: {in_app?: bool, email?: bool}}`` (kinds and channels left out keep their
    choice); 422 ``validation_failed`` for an unknown kind or channel or a non-boolean."""
    if not isinstance(data, dict):
        raise errors.ValidationFailed(_l("Send {kind: {in_app, email}}."))
    for kind, channels in data.items():
        if kind not in kinds.CHOOSABLE or not isinstance(channels, dict):
            raise errors.ValidationFailed(_l("Unknown notification kind."), details={"field": str(kind)})
        for channel, value in channels.items():
            if channel not in kinds.CHANNELS or not isinstance(value, bool):
                raise errors.ValidationFailed(
                    _l("Each channel is in_app or email, set to true or false."),
                    details={"field": f"{kind}.{channel}"},
                )
    for kind, channels in data.items():
        for channel, value in channels.items():
            row = session.get(NotificationPreference, (user_id, kind, channel))
            if row is None:
                session.add(
                    NotificationPreference(user_id=user_id, kind=kind, channel=channel, enabled=value)
                )
            else:
                row.enabled = value
    session.flush()
    return preferences(session, user_id)


def recipients(*user_ids: int | None) -> list[int]:
    """The distinct users among ``user_ids`` (None left out), in order."""
    return list(dict.fromkeys(u for u in user_ids if u is not None))


@invitations.invited.connect
def _invite(
    _sender: object, *, session: Session, pairs: Sequence[tuple[int, int]], now: datetime, **_kw
) -> None:
    """Invitations were written: each user gets an ``invite`` notification (its e-mail carries the
    one-time link, minted when it is sent)."""
    notify(
        session,
        [Notice(u, "invite", {"invitation_id": i}, dedupe_key=f"invite:{i}") for u, i in pairs],
        now=now,
    )
