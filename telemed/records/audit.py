"""Append to, verify and read the e-card audit log (no Flask here).

Keyed hash chain. Row *n* stores ``prev_hash`` (the ``hash`` of row *n-1*, or 64 zeros for the
first row), ``key_id`` (``audit_keys.key_id`` of the key that chained it) and ``hash =
HMAC-SHA256(key, prev_hash + canonical(row))`` as lowercase hex, where ``canonical(row)`` is the
UTF-8 encoding of ``json.dumps(fields, sort_keys=True, separators=(",", ":"),
ensure_ascii=False)`` over exactly these keys: ``id``, ``at``, ``actor_id``, ``actor_role``,
``patient_id``, ``object_type``, ``object_id``, ``action``, ``outcome``, ``client_addr``,
``key_id`` (integers as JSON numbers, missing values as ``null``, ``at`` as UTC
``YYYY-MM-DDTHH:MM:SS.ffffffZ``). ``prev_hash`` is prefixed as its 64 hex characters. Rows
written before the chain was keyed (``key_id`` NULL) were chained with plain SHA-256 over the
same fields without ``key_id``; they may only precede the keyed ones.

Verification walks rows in ``id`` order and so detects a modified row (hash mismatch, and without
the key nobody can compute a matching one), a row removed from or inserted into the middle, or
rows reordered (prev_hash mismatch). The newest rows are covered by the signed checkpoints of
``audit_anchor``, which also find a truncated tail.

Append-only: this module has no update or delete path; the ORM guards live in ``audit_models``
and the database refuses UPDATE, DELETE (and on PostgreSQL TRUNCATE) itself: triggers created by
migration 0011.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from telemed.auth.actor import Actor
from telemed.db import Database
from telemed.records.audit_keys import AuditKeys, UnknownKey
from telemed.records.audit_models import (
    ACTIONS,
    ANONYMOUS,
    GENESIS_HASH,
    OBJECT_TYPES,
    OUTCOMES,
    SYSTEM,
    AuditEvent,
)

__all__ = [
    "VerifyResult",
    "access_log",
    "actor_names",
    "append",
    "canonical",
    "chain_hash",
    "record",
    "verify_chain",
]

#: Key of the PostgreSQL transaction-level advisory lock that serializes appends.
PG_LOCK_KEY = 0x7E1E_A0D1_0000_0001
_FIELDS = (
    "id",
    "at",
    "actor_id",
    "actor_role",
    "patient_id",
    "object_type",
    "object_id",
    "action",
    "outcome",
    "client_addr",
)
_BATCH = 1000


def canonical(fields: dict) -> bytes:
    """The canonical bytes of a row's fields (see the module docstring)."""
    values = {k: fields[k] for k in _FIELDS}
    values["at"] = values["at"].astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if fields.get("key_id") is not None:
        values["key_id"] = fields["key_id"]
    return json.dumps(values, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def chain_hash(prev_hash: str, fields: dict, keys: AuditKeys) -> str:
    """The row's link: HMAC under the key ``fields["key_id"]`` names (``UnknownKey`` when it is
    not configured), or plain SHA-256 for a row chained before keys (``key_id`` None)."""
    message = prev_hash.encode("ascii") + canonical(fields)
    if fields.get("key_id") is None:
        return hashlib.sha256(message).hexdigest()
    return keys.mac(fields["key_id"], message)


def record(
    db: Database,
    keys: AuditKeys,
    *,
    actor: Actor | None,
    patient_id: int | None,
    object_type: str,
    object_id: str | int | None,
    action: str,
    outcome: str,
    client_addr: str | None,
    now: datetime,
) -> AuditEvent:
    """Append one event in its own write transaction and return it (detached).

    Being separate from the caller's transaction, a denied attempt stays logged
    when the caller rolls back. On SQLite call it *outside* any write
    transaction of your own in the same thread (it would wait for your lock).
    See ``append`` for the rest.
    """
    with db.transaction() as s:
        return append(
            s,
            keys,
            actor=actor,
            patient_id=patient_id,
            object_type=object_type,
            object_id=object_id,
            action=action,
            outcome=outcome,
            client_addr=client_addr,
            now=now,
        )


def append(
    session: Session,
    keys: AuditKeys,
    *,
    actor: Actor | None,
    patient_id: int | None,
    object_type: str,
    object_id: str | int | None,
    action: str,
    outcome: str,
    client_addr: str | None,
    now: datetime,
    system: bool = False,
) -> AuditEvent:
    """Append one event in the caller's write transaction (it commits or rolls back with it).

    For a step that must be logged exactly when it happens (the worker's escalations). Appends
    are serialized (PostgreSQL transaction-level advisory lock, held until the caller commits;
    SQLite write transactions are ``BEGIN IMMEDIATE``) so the chain never forks; under that lock
    the id is assigned as the newest id + 1 (it is part of the hash, so it is known before the
    INSERT; the database sequence is not used). So that logging never fails on hostile input,
    ``object_id`` and ``client_addr`` are cut to 64 characters and a ``patient_id`` outside the
    column's 32-bit range is stored as ``None``. ``actor`` None is an anonymous attempt, or with
    ``system`` a step of the system's own. Raises ``ValueError`` for an unknown vocabulary value
    or a naive ``now``.
    """
    if object_type not in OBJECT_TYPES or action not in ACTIONS or outcome not in OUTCOMES:
        raise ValueError(f"bad audit event: {object_type}/{action}/{outcome}")
    if now.tzinfo is None:
        raise ValueError("naive datetime given to the audit log")
    fields = {
        "at": now.astimezone(UTC),
        "actor_id": actor.id if actor else None,
        "actor_role": actor.role if actor else (SYSTEM if system else ANONYMOUS),
        "patient_id": patient_id if isinstance(patient_id, int) and -(2**31) <= patient_id < 2**31 else None,
        "object_type": object_type,
        "object_id": None if object_id is None else str(object_id)[:64],
        "action": action,
        "outcome": outcome,
        "client_addr": None if client_addr is None else client_addr[:64],
        "key_id": keys.current_id,
    }
    if session.get_bind().dialect.name != "sqlite":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_LOCK_KEY})
    newest = select(AuditEvent.id, AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)
    last = session.execute(newest).first()
    prev_hash = last.hash if last else GENESIS_HASH
    fields["id"] = last.id + 1 if last else 1
    event = AuditEvent(**fields, prev_hash=prev_hash, hash=chain_hash(prev_hash, fields, keys))
    session.add(event)
    session.flush()
    return event


@dataclass(frozen=True)
class VerifyResult:
    """``checked`` counts the rows found good before the first bad one (all rows when ``ok``);
    ``last_id`` is the newest row's id (0 for an empty log) and ``seen`` the hashes of the rows
    ``verify_chain`` was asked to ``watch`` (those that exist), each with its position in the
    chain (1 = the first event)."""

    ok: bool
    checked: int
    first_bad_id: int | None
    reason: str
    last_id: int = 0
    seen: dict[int, tuple[str, int]] = field(default_factory=dict)


def verify_chain(session: Session, keys: AuditKeys, *, watch: Collection[int] = ()) -> VerifyResult:
    """Walk the whole log in ``id`` order, streaming, and stop at the first broken link."""
    table = AuditEvent.__table__
    rows = session.execute(select(*table.c).order_by(table.c.id).execution_options(yield_per=_BATCH))
    expected, checked, keyed, last_id = GENESIS_HASH, 0, False, 0
    seen: dict[int, tuple[str, int]] = {}

    def broken(row_id: int, reason: str) -> VerifyResult:
        rows.close()
        return VerifyResult(False, checked, row_id, reason, last_id, seen)

    for row in rows:
        fields = row._asdict()
        if row.prev_hash != expected:
            return broken(
                row.id,
                "prev_hash does not match the previous event's hash (an event was removed, inserted or reordered)",
            )
        if row.key_id is None and keyed:
            return broken(row.id, "an unkeyed event after keyed ones (the event was rewritten)")
        try:
            good = chain_hash(row.prev_hash, fields, keys) == row.hash
        except UnknownKey:
            return broken(
                row.id, f"the event was chained with key {row.key_id}, which TELEMED_AUDIT_KEY lacks"
            )
        if not good:
            return broken(row.id, "hash does not match the event's contents (the event was modified)")
        keyed = keyed or row.key_id is not None
        expected, checked, last_id = row.hash, checked + 1, row.id
        if row.id in watch:
            seen[row.id] = (row.hash, checked)
    return VerifyResult(True, checked, None, "ok", last_id, seen)


def actor_names(session: Session, events: list[AuditEvent]) -> dict[int, str]:
    """The names of the events' actors (one query), by user id."""
    from telemed.auth.models import User

    ids = {e.actor_id for e in events if e.actor_id is not None}
    if not ids:
        return {}
    rows = session.execute(select(User.id, User.full_name).where(User.id.in_(ids)))
    return dict(rows.all())


def access_log(session: Session, patient_id: int, *, limit: int = 50, offset: int = 0) -> list[AuditEvent]:
    """Every logged access to the patient's e-card, allowed and denied, by anyone, newest first.

    No filtering by who asked (the patient, a guardian, staff): the caller
    decides what to show, checks the right to see it, and logs that read itself
    (``object_type="access_log"``).
    """
    query = (
        select(AuditEvent)
        .where(AuditEvent.patient_id == patient_id)
        .order_by(AuditEvent.id.desc())
        .limit(max(limit, 0))
        .offset(max(offset, 0))
    )
    return list(session.scalars(query))
