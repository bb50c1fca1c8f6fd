"""Signed checkpoints of the audit chain in object storage, and the verification that uses them
(no Flask here).

A checkpoint records the chain's head (``head_id``, ``head_hash``), how many events it covers
(``count``) and when it was taken (``at``), numbered ``seq`` 1, 2, 3… and linked to the previous
checkpoint (``prev``: SHA-256 of that checkpoint's stored bytes). It is signed with Ed25519
(``audit_keys``) and stored as ``audit-checkpoints/<seq, 12 digits>.json`` beside the uploads,
outside the database: someone able to rewrite the database cannot rewrite what a checkpoint
covers, nor remove the newest events unnoticed. (In production the bucket keeps checkpoints
immutable: S3 Object Lock or versioning, see the README.)

``write_checkpoint`` is the worker's job (safe in several copies: one lock in the database, and a
checkpoint is written only when due and the chain moved). ``verify`` checks the chain and every
checkpoint: a rewritten or deleted event, a removed tail, a forged, altered or missing checkpoint,
and events older than three intervals that no checkpoint covers (the checkpoints stopped or the
newest were deleted).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from telemed.db import Database
from telemed.errors import NotFound
from telemed.records.audit import VerifyResult, verify_chain
from telemed.records.audit_keys import AuditKeys, UnknownKey, signature_valid
from telemed.records.audit_models import AuditEvent
from telemed.storage.base import Storage

FOLDER = "audit-checkpoints"
VERSION = 1
#: Key of the PostgreSQL transaction-level advisory lock that serializes checkpoint writers.
PG_LOCK_KEY = 0x7E1E_A0D1_0000_0002
STALE_AFTER = 3  # intervals: events older than this must be covered by a checkpoint


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _canonical(values: dict) -> bytes:
    return json.dumps(values, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def key_of(seq: int) -> str:
    return f"{FOLDER}/{seq:012d}.json"


@dataclass(frozen=True)
class Checkpoint:
    """One stored checkpoint, as read back (``raw``: its stored bytes)."""

    seq: int
    head_id: int
    head_hash: str
    count: int
    at: datetime
    prev: str | None
    key_id: str
    public_key: str
    signature: str
    raw: bytes

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.raw).hexdigest()

    def signed_part(self) -> bytes:
        return _canonical(
            {
                "version": VERSION,
                "seq": self.seq,
                "head_id": self.head_id,
                "head_hash": self.head_hash,
                "count": self.count,
                "at": _stamp(self.at),
                "prev": self.prev,
                "key_id": self.key_id,
                "public_key": self.public_key,
            }
        )


class BadCheckpoint(ValueError):
    """A stored checkpoint cannot be read as one."""


def parse(raw: bytes) -> Checkpoint:
    try:
        data = json.loads(raw)
        at = datetime.strptime(data["at"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
        return Checkpoint(
            seq=int(data["seq"]),
            head_id=int(data["head_id"]),
            head_hash=str(data["head_hash"]),
            count=int(data["count"]),
            at=at,
            prev=None if data["prev"] is None else str(data["prev"]),
            key_id=str(data["key_id"]),
            public_key=str(data["public_key"]),
            signature=str(data["signature"]),
            raw=raw,
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise BadCheckpoint(str(exc)) from exc


def checkpoints(storage: Storage) -> list[Checkpoint]:
    """Every stored checkpoint, by ``seq`` (``BadCheckpoint`` for one that is not readable)."""
    found = []
    for key in storage.list_named(FOLDER):
        try:
            found.append(parse(storage.read_named(key)))
        except NotFound:  # removed while listing
            continue
    return sorted(found, key=lambda c: c.seq)


def _latest(storage: Storage) -> Checkpoint | None:
    keys = storage.list_named(FOLDER)
    return parse(storage.read_named(keys[-1])) if keys else None


def write_checkpoint(
    db: Database, storage: Storage, keys: AuditKeys, *, now: datetime, interval: timedelta
) -> Checkpoint | None:
    """Write the next checkpoint if one is due (none yet, or the latest is ``interval`` old) and
    the chain has grown since; return it, or None. Writers are serialized by a database lock, so
    several workers never write the same ``seq`` twice. ``StorageUnavailable`` propagates (the
    next run tries again)."""
    with db.transaction() as s:
        if s.get_bind().dialect.name != "sqlite":
            s.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_LOCK_KEY})
        # SQLite: this first statement opens the write transaction (BEGIN IMMEDIATE): the lock
        head = s.execute(
            select(AuditEvent.id, AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)
        ).first()
        latest = _latest(storage)
        if latest is not None and latest.at + interval > now:
            return None
        if head is None or (latest is not None and latest.head_id == head.id):
            return None
        count = int(
            s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.id <= head.id)) or 0
        )
        seq = 1 if latest is None else latest.seq + 1
        unsigned = {
            "version": VERSION,
            "seq": seq,
            "head_id": head.id,
            "head_hash": head.hash,
            "count": count,
            "at": _stamp(now),
            "prev": None if latest is None else latest.digest,
            "key_id": keys.current_id,
            "public_key": keys.public_key(keys.current_id),
        }
        _, signature = keys.sign(_canonical(unsigned))
        raw = _canonical({**unsigned, "signature": signature})
        storage.put_named(key_of(seq), raw, content_type="application/json")
        return parse(raw)


@dataclass(frozen=True)
class AnchoredResult:
    """The chain's verification and the checkpoints': ``ok`` only when both hold."""

    chain: VerifyResult
    checkpoints: int
    ok: bool
    reason: str
    public_keys: tuple[str, ...] = ()


def verify(
    session: Session, storage: Storage, keys: AuditKeys, *, now: datetime, interval: timedelta
) -> AnchoredResult:
    """Verify the chain and every checkpoint against it (see the module docstring)."""
    try:
        stored = checkpoints(storage)
    except BadCheckpoint as exc:
        return AnchoredResult(verify_chain(session, keys), 0, False, f"a checkpoint is unreadable: {exc}")
    chain = verify_chain(session, keys, watch={c.head_id for c in stored})

    def fail(reason: str) -> AnchoredResult:
        return AnchoredResult(chain, len(stored), False, reason)

    if not chain.ok:
        return fail(f"audit chain broken at event {chain.first_bad_id}: {chain.reason}")
    previous: Checkpoint | None = None
    for number, cp in enumerate(stored, start=1):
        if cp.seq != number:
            return fail(f"checkpoint {number} is missing (the next stored one is {cp.seq})")
        if cp.prev != (previous.digest if previous else None):
            return fail(f"checkpoint {cp.seq} does not follow checkpoint {number - 1} (one was altered)")
        try:
            expected_key = keys.public_key(cp.key_id)
        except UnknownKey:
            return fail(f"checkpoint {cp.seq} was signed with key {cp.key_id}, which TELEMED_AUDIT_KEY lacks")
        if cp.public_key != expected_key or not signature_valid(
            cp.public_key, cp.signed_part(), cp.signature
        ):
            return fail(f"checkpoint {cp.seq} has no valid signature (it was forged or altered)")
        if cp.head_id > chain.last_id:
            return fail(
                f"events removed: the log ends at event {chain.last_id}, "
                f"but checkpoint {cp.seq} covers events up to {cp.head_id}"
            )
        if chain.seen.get(cp.head_id) != (cp.head_hash, cp.count):
            return fail(f"checkpoint {cp.seq} does not match event {cp.head_id} (the log was rewritten)")
        previous = cp
    covered = previous.head_id if previous else 0
    uncovered = session.scalar(select(func.min(AuditEvent.at)).where(AuditEvent.id > covered))
    if uncovered is not None and uncovered < now - STALE_AFTER * interval:
        return fail(
            f"no checkpoint covers the events after event {covered} (the oldest of {_stamp(uncovered)}): "
            "checkpoints are missing (deleted, or no worker writes them)"
        )
    publics = tuple(sorted({c.public_key for c in stored}))
    return AnchoredResult(chain, len(stored), True, "ok", publics)
