"""Video room services: presence, starting the consultation, validating and routing signals."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from telemed import errors
from telemed.auth.actor import Actor
from telemed.auth.models import User
from telemed.scheduling import notices
from telemed.scheduling.access import is_doctor_of
from telemed.scheduling.models import Consultation, Status
from telemed.translatable import _l
from telemed.video import access
from telemed.video.models import RoomJoin, RoomPresence

SIGNAL_TYPES = ("offer", "answer", "candidate", "bye", "restart")
SDP_MAX = 20_000
CANDIDATE_MAX = 1_000
PC_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
SDP_MID_MAX = 64
SDP_MLINE_INDEX_MAX = 63
UFRAG_MAX = 256
# What no signaling text may hold (a regular-expression character range): control characters (an
# SDP's lines end in CR LF, so those two and tab pass) and lone surrogates. One-line fields (the
# candidate's) hold no line break either.
CONTROL_CHARS = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff"
_CONTROL = re.compile(f"[{CONTROL_CHARS}]")
_LINE_BREAK = re.compile(r"[\r\n]")


def room_state(c: Consultation, now: datetime, early_minutes: int) -> bool:
    return access.room_open(
        status=c.status, starts_at=c.starts_at, ends_at=c.ends_at, now=now, early_minutes=early_minutes
    )


def enter(
    session: Session,
    actor: Actor,
    c: Consultation,
    sid: str,
    *,
    process_id: str,
    now: datetime,
    early_minutes: int,
) -> bool:
    """Record the connection (held by the serving process ``process_id``) as present; the doctor
    entering an open room starts the consultation, and the member hears it once
    (``doctor_in_room``)."""
    is_open = room_state(c, now, early_minutes)
    if session.get(RoomPresence, (sid, c.id)) is None:
        session.add(
            RoomPresence(
                sid=sid,
                consultation_id=c.id,
                user_id=actor.id,
                joined_at=now,
                process_id=process_id,
                seen_at=now,
            )
        )
    if session.get(RoomJoin, (c.id, actor.id)) is None:
        try:
            with session.begin_nested():  # the same user joining from two devices at once
                session.add(RoomJoin(consultation_id=c.id, user_id=actor.id, first_at=now))
        except IntegrityError:
            pass
    if is_open and is_doctor_of(actor, c):
        notices.tell_member(session, c, "doctor_in_room", now=now, once=True)
    if access.should_start(role_is_doctor=is_doctor_of(actor, c), status=c.status, is_open=is_open):
        c.status = Status.IN_PROGRESS
    session.flush()
    return is_open


def leave(session: Session, sid: str, consultation_id: int | None = None) -> list[int]:
    """Forget a connection (in one room, or everywhere); returns the consultations it left."""
    query = select(RoomPresence.consultation_id).where(RoomPresence.sid == sid)
    stmt = delete(RoomPresence).where(RoomPresence.sid == sid)
    if consultation_id is not None:
        query = query.where(RoomPresence.consultation_id == consultation_id)
        stmt = stmt.where(RoomPresence.consultation_id == consultation_id)
    left = list(session.scalars(query))
    session.execute(stmt)
    return left


def participants(session: Session, consultation_id: int) -> list[dict]:
    """The distinct users present, in order of arrival: ``[{id, role, name}]``."""
    rows = session.execute(
        select(User.id, User.role, User.full_name)
        .join(RoomPresence, RoomPresence.user_id == User.id)
        .where(RoomPresence.consultation_id == consultation_id)
        .order_by(RoomPresence.joined_at, RoomPresence.sid)
    ).all()
    seen: dict[int, dict] = {}
    for uid, role, name in rows:
        seen.setdefault(uid, {"id": uid, "role": role, "name": name})
    return list(seen.values())


def peer_sids(session: Session, consultation_id: int, sender_id: int) -> list[str]:
    """The connections of the other participant(s) of the room."""
    return list(
        session.scalars(
            select(RoomPresence.sid).where(
                RoomPresence.consultation_id == consultation_id, RoomPresence.user_id != sender_id
            )
        )
    )


def clean_signal(data: dict) -> dict:
    """Validate a ``signal`` payload; returns the fields to relay (nothing else passes through)."""
    kind = data.get("type")
    if kind not in SIGNAL_TYPES:
        raise errors.ValidationFailed(
            _l("'type' must be one of %(choices)s.", choices=", ".join(SIGNAL_TYPES)),
            details={"field": "type"},
        )
    out: dict = {"type": kind}
    if kind in ("offer", "answer"):
        sdp = data.get("sdp")
        if not isinstance(sdp, str) or not sdp.startswith("v=0") or len(sdp) > SDP_MAX:
            raise errors.ValidationFailed(
                _l("'sdp' must be an SDP text of at most %(limit)s characters.", limit=SDP_MAX),
                details={"field": "sdp"},
            )
        if _CONTROL.search(sdp):
            raise errors.ValidationFailed(
                _l("'%(field)s' contains control characters.", field="sdp"), details={"field": "sdp"}
            )
        out["sdp"] = sdp
    elif kind == "candidate":
        out["candidate"] = _clean_candidate(data.get("candidate"))
    elif kind == "restart" and data.get("sdp") is not None:
        raise errors.ValidationFailed(_l("'restart' carries no SDP."), details={"field": "sdp"})
    for field in ("pc", "to_pc"):  # optional peer-connection ids, so a client can tell stale signals
        value = data.get(field)
        if value is None:
            continue
        if not isinstance(value, str) or not PC_ID_RE.match(value):
            raise errors.ValidationFailed(
                _l("'%(field)s' must be 1-64 letters, digits, '-' or '_'.", field=field),
                details={"field": field},
            )
        out[field] = value
    return out


def _clean_candidate(value: object) -> dict | None:
    """An RTCIceCandidateInit (``None`` or an empty candidate marks the end of candidates)."""
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) - {
        "candidate",
        "sdpMid",
        "sdpMLineIndex",
        "usernameFragment",
    }:
        raise errors.ValidationFailed(
            _l("'candidate' must be an RTCIceCandidateInit object."), details={"field": "candidate"}
        )
    text, mid, index, ufrag = (
        value.get(k) for k in ("candidate", "sdpMid", "sdpMLineIndex", "usernameFragment")
    )
    if (
        not isinstance(text, str)
        or len(text) > CANDIDATE_MAX
        or (text and not text.startswith("candidate:"))
        or _unsafe_line(text)
    ):
        raise errors.ValidationFailed(
            _l("'candidate.candidate' is not an ICE candidate line."), details={"field": "candidate"}
        )
    if mid is not None and (not isinstance(mid, str) or len(mid) > SDP_MID_MAX or _unsafe_line(mid)):
        raise errors.ValidationFailed(_l("'candidate.sdpMid' is invalid."), details={"field": "candidate"})
    if index is not None and (
        isinstance(index, bool) or not isinstance(index, int) or not 0 <= index <= SDP_MLINE_INDEX_MAX
    ):
        raise errors.ValidationFailed(
            _l("'candidate.sdpMLineIndex' is invalid."), details={"field": "candidate"}
        )
    if ufrag is not None and (not isinstance(ufrag, str) or len(ufrag) > UFRAG_MAX or _unsafe_line(ufrag)):
        raise errors.ValidationFailed(
            _l("'candidate.usernameFragment' is invalid."), details={"field": "candidate"}
        )
    return {
        "candidate": text,
        "sdpMid": mid,
        "sdpMLineIndex": index,
        **({"usernameFragment": ufrag} if ufrag else {}),
    }


def _unsafe_line(text: str) -> bool:
    """A one-line signaling field holding a control character, a line break or a lone surrogate."""
    return bool(_CONTROL.search(text) or _LINE_BREAK.search(text))
